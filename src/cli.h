/* cli.h - what every command shares: exit statuses and entry points.
 *
 * Commands parse their own options and return an exit status; only main()
 * exits. Status 2 always comes with a message on stderr naming the file, the
 * tensor and the fault. */
#ifndef MXC_CLI_H
#define MXC_CLI_H

enum {
    EXIT_PASS = 0,   /* checks passed */
    EXIT_POLICY = 1, /* the checkpoint violates the policy */
    EXIT_INPUT = 2,  /* usage error, or input that cannot be read or parsed */
};

int inspect_main(int argc, char **argv);

#endif
