/* mxfp4-check: proves an MXFP4 checkpoint is a faithful conversion of its
 * BF16 source. main() dispatches to the commands (cli.h) and owns the
 * standard streams: closed ones are guarded first, and whatever a command
 * wrote to stdout is checked last (`> /dev/full` is exit 2, not a pass). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "outfile.h"
#include "text.h"
#include "verify.h"

static const char usage[] =
    "usage: mxfp4-check COMMAND [ARGS]\n"
    "\n"
    "  verify SRC DST [options]                prove DST is a faithful MXFP4 conversion of SRC\n"
    "  inspect PATH [--json] [--tensor NAME]   what a checkpoint holds\n"
    "  rules check|print|explain ...           rule files: lint, built-ins, which rule decides\n"
    "  report REPORT.json [--junit F] ...      render a saved JSON report again\n"
    "  merge PART.json... [--json F] ...       join the partial reports of verify --shard\n"
    "  tui [SRC] DST [--report FILE.json]      browse shards, weight map, tensors, findings\n"
    "  --help | --version\n"
    "\n"
    "Run `mxfp4-check COMMAND --help` for a command's options; `man mxfp4-check`\n"
    "for everything. Exit status: 0 pass, 1 policy violated, 2 usage error or\n"
    "unreadable input.\n";

static void print_version(void)
{
    printf("mxfp4-check %s\n", MXC_VERSION);
    if (backend_cuda_built())
        printf("backends: cpu, cuda (%d device%s)\n", backend_cuda_devices(),
               backend_cuda_devices() == 1 ? "" : "s");
    else
        printf("backends: cpu (built without CUDA)\n");
    printf("scale-out: %s\n", MXC_HAVE_MPI ? "MPI (mpirun -n R mxfp4-check verify ...), --shard I/N, merge"
                                           : "--shard I/N, merge (built without MPI)");
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(NULL, "expected a command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return EXIT_PASS;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        print_version();
        return EXIT_PASS;
    }
    if (strcmp(cmd, "verify") == 0)
        return verify_main(argc - 1, argv + 1);
    if (strcmp(cmd, "inspect") == 0)
        return inspect_main(argc - 1, argv + 1);
    if (strcmp(cmd, "rules") == 0)
        return rules_main(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return report_main(argc - 1, argv + 1);
    if (strcmp(cmd, "merge") == 0)
        return merge_main(argc - 1, argv + 1);
    if (strcmp(cmd, "tui") == 0)
        return tui_main(argc - 1, argv + 1);
    char shown[256];
    return cli_usage_error(NULL, "unknown command '%s'", text_escape(cmd, shown, sizeof shown));
}

int main(int argc, char **argv)
{
    outfile_guard_std_fds();
    int rc = dispatch(argc, argv);
    char err[256];
    if (outfile_flush_stdout(err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check: %s\n", err);
        rc = EXIT_INPUT;
    }
    /* everything is written and closed: the CUDA runtime's own teardown at
     * exit (tens of milliseconds destroying a context) would only add to
     * the run's time, and the driver frees it all with the process */
    if (backend_cuda_started()) {
        fflush(stderr);
        _exit(rc);
    }
    return rc;
}
