/* `mxfp4-check report REPORT.json ...`: a saved JSON report rendered again
 * (SPEC §9), through the same writers as verify's. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "outfile.h"
#include "report.h"
#include "report_read.h"
#include "text.h"

static const char usage[] =
    "usage: mxfp4-check report REPORT.json [--json FILE|-] [--junit FILE]\n"
    "                          [--html FILE] [--markdown FILE] [--quiet]\n"
    "\n"
    "Render a JSON report that verify (or merge) wrote: the summary for people on\n"
    "stdout, and each report file asked for, from the saved report alone (no\n"
    "checkpoint is read). The report is checked as untrusted input: its verdict\n"
    "and counts must follow from its findings.\n"
    "\n"
    "  --json FILE      the report again (normalised); - for stdout\n"
    "  --junit FILE     JUnit XML for CI systems\n"
    "  --html FILE      one self-contained HTML page with charts\n"
    "  --markdown FILE  a short Markdown summary\n"
    "  --quiet          no summary on stdout; errors and the RESULT line on stderr\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 the report passes, 1 it fails, 2 usage error, a report that\n"
    "cannot be read, or a report file that cannot be written.\n";

int report_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", required_argument, NULL, 'j'},     {"junit", required_argument, NULL, 'J'},
        {"markdown", required_argument, NULL, 'm'}, {"quiet", no_argument, NULL, 'q'},
        {"html", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    report_targets out = {0};
    bool quiet = false;
    int ch;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "hq", longopts, "report")) != -1) {
        switch (ch) {
        case 'j': out.path[REPORT_JSON] = optarg; break;
        case 'J': out.path[REPORT_JUNIT] = optarg; break;
        case 'm': out.path[REPORT_MARKDOWN] = optarg; break;
        case 'T': out.path[REPORT_HTML] = optarg; break;
        case 'q': quiet = true; break;
        case 'h': fputs(usage, stdout); return EXIT_PASS;
        default: return EXIT_INPUT;
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("report", "expected one REPORT.json");
    const char *path = argv[optind];
    char err[1024];
    verify_result *r;
    if (report_read(path, path, &r, err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check report: %s\n", err);
        return EXIT_INPUT;
    }
    int rc = report_targets_open(&out, r->src, r->dst, "report") < 0 ? EXIT_INPUT
             : verify_passed(r)                                    ? EXIT_PASS
                                                                   : EXIT_POLICY;
    if (rc != EXIT_INPUT && report_targets_write(&out, r, "report") < 0)
        rc = EXIT_INPUT;
    if (rc != EXIT_INPUT) {
        if (quiet || report_targets_stdout(&out)) {
            report_print_brief(r, stderr, report_use_color(stderr));
        } else {
            int width = isatty(STDOUT_FILENO) || getenv("COLUMNS") ? text_terminal_columns(STDOUT_FILENO) : 0;
            outfile_text sink;
            FILE *o = outfile_text_open(&sink, STDOUT_FILENO);
            report_print_human(r, o, report_use_color(stdout), width);
            if (outfile_text_close(o, &sink, err, sizeof err) < 0) {
                fprintf(stderr, "mxfp4-check report: %s\n", err);
                rc = EXIT_INPUT;
            }
        }
    }
    report_targets_close(&out);
    verify_result_free(r);
    return rc;
}
