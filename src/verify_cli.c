/* `mxfp4-check verify SRC DST ...`: options, backend choice, reports. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"
#include "safetensors.h"
#include "verify.h"

static const char usage[] =
    "usage: mxfp4-check verify SRC DST [--backend auto|cuda|cpu] [--json FILE|-]\n"
    "                          [--junit FILE] [--only GLOB] [--threads N]\n"
    "                          [--quiet] [--no-progress]\n"
    "\n"
    "Prove that DST (MXFP4) is a faithful conversion of SRC (BF16): structure,\n"
    "coverage of modules_to_not_convert, numerics of every quantized tensor against\n"
    "its source, re-quantization with the reference quantizer, and a diagnosis of\n"
    "the usual exporter mistakes when a tensor is far off.\n"
    "\n"
    "  --backend B     auto (default), cpu, or cuda (an error when no GPU is usable)\n"
    "  --json FILE     the JSON report (schema mxfp4-check/verify/1); - for stdout\n"
    "  --junit FILE    a JUnit XML report for CI systems\n"
    "  --only GLOB     only source tensors whose name matches GLOB (shell glob)\n"
    "  --threads N     CPU threads (default: all cores)\n"
    "  --quiet         no human summary on stdout\n"
    "  --no-progress   no progress bar (it is drawn only when stderr is a terminal)\n"
    "  -h, --help      this help\n"
    "\n"
    "Report files are written whole or not at all, and never inside SRC or DST.\n"
    "Exit status: 0 pass, 1 the checkpoint violates the policy, 2 usage error or\n"
    "input that cannot be read or parsed.\n";

typedef struct {
    verify_opts v;
    const char *json, *junit;
    bool quiet;
} cli_opts;

static int parse_threads(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 4096)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, cli_opts *o)
{
    static const struct option longopts[] = {
        {"backend", required_argument, NULL, 'b'}, {"json", required_argument, NULL, 'j'},
        {"junit", required_argument, NULL, 'J'},   {"only", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'},
        {"no-progress", no_argument, NULL, 'P'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool progress = true;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b': o->v.backend = optarg; break;
        case 'j': o->json = optarg; break;
        case 'J': o->junit = optarg; break;
        case 'o': o->v.only = optarg; break;
        case 'q': o->quiet = true; break;
        case 'P': progress = false; break;
        case 'h': fputs(usage, stdout); return EXIT_PASS;
        case 't':
            if (parse_threads(optarg, &o->v.threads) == 0)
                break;
            fprintf(stderr, "mxfp4-check verify: --threads wants a number from 1 to 4096\n");
            return EXIT_INPUT;
        default: fputs(usage, stderr); return EXIT_INPUT;
        }
    }
    if (optind != argc - 2) {
        fprintf(stderr, "mxfp4-check verify: expected SRC and DST\n%s", usage);
        return EXIT_INPUT;
    }
    o->v.src = argv[optind];
    o->v.dst = argv[optind + 1];
    o->v.progress = progress && !o->quiet && isatty(STDERR_FILENO);
    return -1;
}

int verify_main(int argc, char **argv)
{
    cli_opts o = {.v = {.backend = "auto"}};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char err[ST_ERR_LEN];
    verify_result *r;
    if (verify_run(&o.v, &r, err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check: %s\n", err);
        return EXIT_INPUT;
    }
    rc = verify_passed(r) ? EXIT_PASS : EXIT_POLICY;
    bool report_on_stdout = (o.json && strcmp(o.json, "-") == 0) || (o.junit && strcmp(o.junit, "-") == 0);
    if (!o.quiet && !report_on_stdout)
        report_print_human(r, stdout, report_use_color(stdout));
    if ((o.json && report_write_json(r, o.json, err, sizeof err) < 0) ||
        (o.junit && report_write_junit(r, o.junit, err, sizeof err) < 0)) {
        fprintf(stderr, "mxfp4-check: %s\n", err);
        rc = EXIT_INPUT;
    }
    verify_result_free(r);
    return rc;
}
