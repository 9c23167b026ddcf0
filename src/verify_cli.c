/* `mxfp4-check verify SRC DST ...`: options, backend choice, reports. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "outfile.h"
#include "policy.h"
#include "backend.h"
#include "report.h"
#include "safetensors.h"
#include "shard.h"
#include "text.h"
#include "util.h"
#include "verify.h"
#if MXC_HAVE_MPI
#include "mpi_run.h"
#endif

#define SHOWN 512 /* an escaped path in a message */

static const char usage[] =
    "usage: mxfp4-check verify SRC DST [--rules FILE]... [--strict]\n"
    "                          [--backend auto|cuda|cpu] [--json FILE|-]\n"
    "                          [--junit FILE] [--markdown FILE] [--html FILE]\n"
    "                          [--sha256] [--only GLOB] [--shard I/N|auto]\n"
    "                          [--threads N] [--gpus all|N|LIST] [--quiet]\n"
    "                          [--no-progress]\n"
    "\n"
    "Prove that DST (MXFP4) is a faithful conversion of SRC (BF16): structure,\n"
    "coverage of modules_to_not_convert, numerics of every quantized tensor against\n"
    "its source, re-quantization with the reference quantizer, and a diagnosis of\n"
    "the usual exporter mistakes when a tensor is far off.\n"
    "\n"
    "  --rules FILE    a YAML rule file (SPEC §7), after the built-in default;\n"
    "                  repeatable, applied in order (`mxfp4-check rules --help`)\n"
    "  --strict        the built-in strict policy: codes and scales bit-exact with\n"
    "                  the reference quantizer, every warning an error\n"
    "  --backend B     auto (default), cpu, or cuda (an error when no GPU is usable)\n"
    "  --json FILE     the JSON report (schema mxfp4-check/verify/1); - for stdout\n"
    "  --junit FILE    a JUnit XML report for CI systems\n"
    "  --markdown FILE a short Markdown summary (CI step summaries, merge requests)\n"
    "  --html FILE     one self-contained HTML page (no script, no network): charts\n"
    "                  per tensor family across layers, scale histograms, coverage,\n"
    "                  findings with their rules, waivers, provenance\n"
    "  --sha256        size and SHA-256 of every file of SRC and DST in the JSON\n"
    "                  manifest (without it: names and sizes only)\n"
    "  --only GLOB     only source tensors whose name matches GLOB (shell glob)\n"
    "  --shard I/N     verify part I (from 0) of N of a plan made from the headers\n"
    "                  (SPEC §10) and write a partial report; `mxfp4-check merge`\n"
    "                  joins the parts; auto: I and N from OpenMPI, PMI or Slurm,\n"
    "                  and the GPU from the rank on the host\n"
    "  --threads N     CPU threads that compare (default: with the CPU backend, the\n"
    "                  three quarters of the cores that its readers leave)\n"
    "  --gpus G        GPUs that share the work: all (default), the first N, or a\n"
    "                  list such as 0,2 (one other device: CUDA_VISIBLE_DEVICES)\n"
    "  --quiet         no summary on stdout; errors and the RESULT line still go\n"
    "                  to stderr\n"
    "  --no-progress   no progress bar (it is drawn only when stderr is a terminal)\n"
    "  -h, --help      this help\n"
    "\n"
    "Report files are written whole or not at all, and never inside SRC or DST;\n"
    "a FIFO or a device (/dev/stdout, >(cmd)) is written through. Every output\n"
    "path is checked before the work starts. When SRC or DST cannot be read, the\n"
    "reports asked for are still written, with the fault as an input.unreadable\n"
    "finding (exit 2).\n"
    "Exit status: 0 pass, 1 the checkpoint violates the policy, 2 usage error or\n"
    "input that cannot be read or parsed.\n";

#define MAX_RULE_FILES 64

typedef struct {
    verify_opts v;
    report_targets out;
    bool quiet, strict;
    bool shard_given;         /* --shard I/N (not auto) */
    const char *rules[MAX_RULE_FILES];
    size_t nrules;
} cli_opts;

/* The finding ids, their default severities and meanings, from the one
 * table (finding.h). */
static void print_finding_ids(FILE *out)
{
    fputs("\nFinding ids (default severity; rule files change it):\n", out);
    for (size_t i = 0; i < finding_kind_count(); i++) {
        const finding_kind *k = finding_kind_at(i);
        fprintf(out, "  %-28s %-5s  %s\n", k->id, severity_name(k->default_sev), k->meaning);
    }
}

/* SPEC §4's bound, from the engine's own sizes. */
static void print_memory(FILE *out)
{
    uint64_t slab = engine_slab_bytes_from_env(), cpu, one, many, gpu;
    engine_memory_bounds(slab, 0, &cpu, &gpu);
    engine_memory_bounds(slab, 1, &one, &gpu);
    engine_memory_bounds(slab, 64, &many, &gpu);
    fprintf(out, "\nMemory, whatever the checkpoint's size (data in flight, %.0f MiB slabs): at most\n"
                 "%.0f MiB of host memory with the CPU backend, %.0f MiB with one GPU, %.0f MiB with\n"
                 "any number, and %.0f MiB on each GPU; plus what grows with the number of tensors\n"
                 "(headers and plan) and the CUDA runtime's own.\n",
            slab / 1048576.0, cpu / 1048576.0, one / 1048576.0, many / 1048576.0, gpu / 1048576.0);
}

/* Today in UTC, for waiver expiry. */
static void today_utc(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static int parse_threads(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 4096)
        return -1;
    *out = (int)v;
    return 0;
}

static const char *env_of(const char *name)
{
    return getenv(name);
}

/* GPUs of this host, without starting CUDA (which reads CUDA_VISIBLE_DEVICES
 * once, when it starts): the driver's device nodes. */
static unsigned host_gpus(void)
{
    unsigned n = 0;
    char path[32];
    for (unsigned i = 0; i < 64; i++) {
        snprintf(path, sizeof path, "/dev/nvidia%u", i);
        n += access(path, F_OK) == 0;
    }
    return n;
}

/* --shard auto: the part from the launcher, and one GPU per rank on a host
 * (before any CUDA call, so the backend sees only that one). */
static int shard_auto(cli_opts *o)
{
    char err[256], gpu[64];
    int local;
    if (shard_from_env(env_of, &o->v.shard, &local, err, sizeof err) < 0)
        return cli_usage_error("verify", "%s", err);
    if (local >= 0 && backend_cuda_built() &&
        shard_gpu_for_rank(getenv("CUDA_VISIBLE_DEVICES"), host_gpus(), (unsigned)local, gpu, sizeof gpu))
        setenv("CUDA_VISIBLE_DEVICES", gpu, 1);
    return -1;
}

static int parse_shard(const char *text, cli_opts *o)
{
    char err[256];
    if (strcmp(text, "auto") == 0)
        return shard_auto(o);
    if (shard_parse(text, &o->v.shard, err, sizeof err) < 0)
        return cli_usage_error("verify", "%s", err);
    o->shard_given = true;
    return -1;
}

static int parse_args(int argc, char **argv, cli_opts *o)
{
    static const struct option longopts[] = {
        {"backend", required_argument, NULL, 'b'}, {"json", required_argument, NULL, 'j'},
        {"junit", required_argument, NULL, 'J'},   {"only", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'},
        {"no-progress", no_argument, NULL, 'P'},   {"help", no_argument, NULL, 'h'},
        {"rules", required_argument, NULL, 'r'},   {"strict", no_argument, NULL, 'S'},
        {"markdown", required_argument, NULL, 'm'}, {"sha256", no_argument, NULL, 'H'},
        {"html", required_argument, NULL, 'T'},    {"gpus", required_argument, NULL, 'g'},
        {"shard", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    bool progress = true;
    int ch, rc;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "hq", longopts, "verify")) != -1) {
        switch (ch) {
        case 'b':
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "cpu") != 0 && strcmp(optarg, "cuda") != 0) {
                char shown[SHOWN];
                return cli_usage_error("verify", "--backend: '%s' is not one of auto, cuda, cpu",
                                       text_escape(optarg, shown, sizeof shown));
            }
            o->v.backend = optarg;
            break;
        case 'g': o->v.gpus = optarg; break;
        case 'j': o->out.path[REPORT_JSON] = optarg; break;
        case 'J': o->out.path[REPORT_JUNIT] = optarg; break;
        case 'm': o->out.path[REPORT_MARKDOWN] = optarg; break;
        case 'T': o->out.path[REPORT_HTML] = optarg; break;
        case 'H': o->v.sha256 = true; break;
        case 'o': o->v.only = optarg; break;
        case 's':
            if ((rc = parse_shard(optarg, o)) >= 0)
                return rc;
            break;
        case 'q': o->quiet = true; break;
        case 'P': progress = false; break;
        case 'h':
            fputs(usage, stdout);
            print_memory(stdout);
            print_finding_ids(stdout);
            return EXIT_PASS;
        case 'r':
            if (o->nrules == MAX_RULE_FILES)
                return cli_usage_error("verify", "at most %d --rules files", MAX_RULE_FILES);
            o->rules[o->nrules++] = optarg;
            break;
        case 'S': o->strict = true; break;
        case 't':
            if (parse_threads(optarg, &o->v.threads) == 0)
                break;
            return cli_usage_error("verify", "--threads wants a number from 1 to 4096");
        default: return EXIT_INPUT; /* cli_getopt said why */
        }
    }
    if (optind != argc - 2)
        return cli_usage_error("verify", "expected SRC and DST");
    o->v.src = argv[optind];
    o->v.dst = argv[optind + 1];
    o->v.progress = progress && !o->quiet && isatty(STDERR_FILENO);
    return -1;
}

/* The summary for people on stdout, every write checked. */
static int print_summary(const verify_result *r)
{
    bool color = report_use_color(stdout);
    /* a terminal's width; through a pipe, COLUMNS when set, else no limit */
    int width = isatty(STDOUT_FILENO) || getenv("COLUMNS") ? text_terminal_columns(STDOUT_FILENO) : 0;
    outfile_text sink;
    FILE *out = outfile_text_open(&sink, STDOUT_FILENO);
    report_print_human(r, out, color, width);
    char err[ST_ERR_LEN];
    if (outfile_text_close(out, &sink, err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check verify: %s\n", err);
        return -1;
    }
    return 0;
}

static int run(cli_opts *o)
{
    char err[ST_ERR_LEN], today[11];
    verify_result *r;
    policy *p;
    if (rules_policy_load(o->rules, o->nrules, o->strict, &p) < 0)
        return EXIT_INPUT;
    today_utc(today);
    o->v.policy = p;
    o->v.today = today;
    int ran = verify_run(&o->v, &r, err, sizeof err);
    int rc = ran < 0 ? EXIT_INPUT : verify_passed(r) ? EXIT_PASS : EXIT_POLICY;
    if (ran < 0) { /* the error, and the RESULT line SPEC §9 asks for even with --quiet */
        fprintf(stderr, "mxfp4-check verify: %s\n", err);
        report_print_result(r, stderr, report_use_color(stderr));
    }
    /* the files first: a reader of stdout that goes away (`| head`) ends the
     * process by SIGPIPE, and the reports must be complete by then; a run
     * that stopped still writes them, with its fault (SPEC §2) */
    if (report_targets_write(&o->out, r, "verify") < 0)
        rc = EXIT_INPUT;
    if (ran == 0) {
        if (o->quiet)
            report_print_brief(r, stderr, report_use_color(stderr));
        else if (report_targets_stdout(&o->out))
            report_print_brief(r, stderr, report_use_color(stderr));
        else if (print_summary(r) < 0)
            rc = EXIT_INPUT;
    }
    verify_result_free(r);
    policy_free(p);
    return rc;
}

int verify_main(int argc, char **argv)
{
    /* getopt permutes argv: the report records the command line as given */
    char **given = xcalloc((size_t)argc + 1, sizeof *given);
    memcpy(given, argv, sizeof *given * (size_t)argc);
    cli_opts o = {.v = {.backend = "auto", .argv = given, .argc = argc}};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) {
        free(given);
        return rc;
    }
#if MXC_HAVE_MPI
    if (mpi_run_launched()) { /* mpirun: one part per rank, the GPU from the local rank */
        rc = o.shard_given ? cli_usage_error("verify", "under mpirun the part is the rank's: leave out "
                                                        "--shard I/N (or give --shard auto)")
                           : shard_auto(&o);
        if (rc < 0)
            rc = mpi_run_verify(&o.v, &o.out, o.rules, o.nrules, o.strict, o.quiet);
        free(given);
        return rc;
    }
#endif
    rc = report_targets_open(&o.out, o.v.src, o.v.dst, "verify") < 0 ? EXIT_INPUT : run(&o);
    report_targets_close(&o.out);
    free(given);
    return rc;
}
