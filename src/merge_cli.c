/* `mxfp4-check merge PART.json... [--json FILE] ...`: the partial reports of
 * `verify --shard I/N` joined into the whole run's reports (SPEC §10). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "merge.h"
#include "outfile.h"
#include "report.h"
#include "report_read.h"
#include "text.h"
#include "util.h"

static const char usage[] =
    "usage: mxfp4-check merge PART.json... [--json FILE|-] [--junit FILE]\n"
    "                         [--markdown FILE] [--quiet]\n"
    "\n"
    "Join the partial reports of `verify --shard I/N` (every part 0..N-1 of one\n"
    "plan, in any order) into the reports of the whole run: the same findings,\n"
    "tensors and statistics as one verify of the whole checkpoint. Each part is\n"
    "checked as untrusted input; a part missing or given twice, or one of another\n"
    "plan, checkpoint, policy or version, is refused.\n"
    "\n"
    "  --json FILE      the merged JSON report; - for stdout\n"
    "  --junit FILE     JUnit XML for CI systems\n"
    "  --markdown FILE  a short Markdown summary\n"
    "  --quiet          no summary on stdout; errors and the RESULT line on stderr\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 pass, 1 the checkpoint violates the policy, 2 usage error, a\n"
    "part that cannot be read or does not fit, or a part that stopped on input it\n"
    "could not read (its fault is the merged report's finding).\n";

static void print_summary(const verify_result *r, bool brief, int *rc)
{
    if (brief) {
        report_print_brief(r, stderr, report_use_color(stderr));
        return;
    }
    int width = isatty(STDOUT_FILENO) || getenv("COLUMNS") ? text_terminal_columns(STDOUT_FILENO) : 0;
    outfile_text sink;
    char err[512];
    FILE *o = outfile_text_open(&sink, STDOUT_FILENO);
    report_print_human(r, o, report_use_color(stdout), width);
    if (outfile_text_close(o, &sink, err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check merge: %s\n", err);
        *rc = EXIT_INPUT;
    }
}

/* Reads every part (each error names its file). */
static int read_parts(char **paths, size_t n, merge_part *parts)
{
    char err[1024];
    for (size_t i = 0; i < n; i++) {
        parts[i].name = paths[i];
        if (report_read(paths[i], paths[i], &parts[i].r, err, sizeof err) < 0) {
            fprintf(stderr, "mxfp4-check merge: %s\n", err);
            return -1;
        }
    }
    return 0;
}

/* The report options come from the writers' table (report.h), so each
 * format verify can write, merge can too. */
#define OPT_REPORT 1000

int merge_main(int argc, char **argv)
{
    struct option longopts[REPORT_FORMAT_COUNT + 3] = {
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
    };
    for (int f = 0; f < REPORT_FORMAT_COUNT; f++)
        longopts[2 + f] = (struct option){report_format_option((report_format)f) + 2, required_argument, NULL,
                                          OPT_REPORT + f};
    report_targets out = {0};
    bool quiet = false;
    int ch;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "hq", longopts, "merge")) != -1) {
        if (ch >= OPT_REPORT && ch < OPT_REPORT + REPORT_FORMAT_COUNT) {
            out.path[ch - OPT_REPORT] = optarg;
            continue;
        }
        switch (ch) {
        case 'q': quiet = true; break;
        case 'h': fputs(usage, stdout); return EXIT_PASS;
        default: return EXIT_INPUT;
        }
    }
    if (optind >= argc)
        return cli_usage_error("merge", "expected the partial reports PART.json...");
    size_t n = (size_t)(argc - optind);
    merge_part *parts = xcalloc(n, sizeof *parts);
    verify_result *m = NULL;
    int rc = EXIT_INPUT;
    if (read_parts(argv + optind, n, parts) == 0) {
        char err[1024];
        merge_outcome got = merge_results(parts, n, &m, err, sizeof err);
        if (got == MERGE_REFUSED)
            fprintf(stderr, "mxfp4-check merge: %s\n", err);
        else
            rc = got == MERGE_FAULT ? EXIT_INPUT : verify_passed(m) ? EXIT_PASS : EXIT_POLICY;
    }
    for (size_t i = 0; i < n; i++)
        verify_result_free(parts[i].r);
    free(parts);
    if (m) {
        out.inputs = (const char *const *)(argv + optind); /* never written over */
        out.ninputs = n;
        if (report_targets_open(&out, m->src, m->dst, "merge") < 0 || report_targets_write(&out, m, "merge") < 0)
            rc = EXIT_INPUT;
        else
            print_summary(m, quiet || report_targets_stdout(&out) || rc == EXIT_INPUT, &rc);
        report_targets_close(&out);
        verify_result_free(m);
    }
    return rc;
}
