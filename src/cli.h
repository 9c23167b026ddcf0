/* cli.h - what every command shares: exit statuses and entry points.
 *
 * Commands parse their own options and return an exit status; only main()
 * exits. Status 2 always comes with a message on stderr naming the file, the
 * tensor and the fault. */
#ifndef MXC_CLI_H
#define MXC_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

enum {
    EXIT_PASS = 0,   /* checks passed */
    EXIT_POLICY = 1, /* the checkpoint violates the policy */
    EXIT_INPUT = 2,  /* usage error, or input that cannot be read or parsed */
};

int inspect_main(int argc, char **argv);
int rules_main(int argc, char **argv);
int report_main(int argc, char **argv);
/* `mxfp4-check tui` (tui/loop.c: the one entry point src/ knows of tui/). */
int tui_main(int argc, char **argv);

/* The policy of a run: the built-in default, each --rules file in order,
 * then for --strict the built-in strict, last, with every warning an error. Problems go to stderr (FILE:LINE:COL: ...);
 * returns -1 then. */
struct policy;
int rules_policy_load(const char *const *files, size_t n, bool strict, struct policy **out);

/* A usage error, always one line on stderr: "mxfp4-check CMD: MESSAGE (try
 * 'mxfp4-check CMD --help')" (cmd NULL for the top level). The message must
 * hold escaped text only. Returns EXIT_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long for a command, without getopt's own messages (they echo argv
 * raw, escape sequences and all): an unknown option or a missing argument is
 * reported with cli_usage_error, escaped, and '?' returned. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               const char *cmd);

#endif
