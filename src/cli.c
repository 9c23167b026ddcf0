#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mxfp4-check%s%s: %s (try 'mxfp4-check%s%s --help')\n", cmd ? " " : "",
            cmd ? cmd : "", msg, cmd ? " " : "", cmd ? cmd : "");
    return EXIT_INPUT;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               const char *cmd)
{
    char opts[64];
    snprintf(opts, sizeof opts, ":%s", shortopts); /* ':' tells a missing argument apart */
    opterr = 0; /* getopt would echo the option raw: it may hold escape sequences */
    int ch = getopt_long(argc, argv, opts, longopts, NULL);
    if (ch != '?' && ch != ':')
        return ch;
    /* a long option is argv's last element taken (optopt then holds its
     * value, or 0 when unknown); a short one is optopt */
    char given[8], shown[256];
    const char *last = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    const char *text = given;
    snprintf(given, sizeof given, "-%c", optopt ? optopt : '?');
    if (!optopt)
        text = last;
    for (const struct option *o = longopts; optopt && o->name; o++)
        if (o->val == optopt && strncmp(last, "--", 2) == 0 &&
            strncmp(last + 2, o->name, strlen(o->name)) == 0)
            text = last;
    text_escape(text, shown, sizeof shown);
    if (ch == ':')
        cli_usage_error(cmd, "option '%s' needs an argument", shown);
    else
        cli_usage_error(cmd, "unknown option '%s'", shown);
    return '?';
}
