/* report_file.c - where reports go: paths checked before any work, never
 * inside SRC or DST, each file written whole or not at all (outfile.h), and
 * the one table of report formats that verify, report and merge share. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_common.h"
#include "text.h"

/* ---- writing files --------------------------------------------------------- */

/* The directory a checkpoint path stands for, resolved: itself, or the
 * directory of a single-file checkpoint. NULL when it cannot be resolved. */
static char *checkpoint_root(const char *p)
{
    char *real = p ? realpath(p, NULL) : NULL;
    struct stat st;
    if (!real || stat(real, &st) < 0 || S_ISDIR(st.st_mode))
        return real;
    char *d = util_dirname(real);
    free(real);
    return d;
}

/* Whether path lies in the directory root: some directory on its way up is
 * root itself, by identity (device and inode), so another spelling of it - a
 * bind mount, a second mount of the same volume - is seen too. */
static bool path_inside(const char *path, const char *root)
{
    struct stat r;
    if (stat(root, &r) < 0)
        return false;
    char *d = util_dirname(path);
    bool inside = false;
    for (;;) {
        struct stat st;
        if (stat(d, &st) == 0 && st.st_dev == r.st_dev && st.st_ino == r.st_ino) {
            inside = true;
            break;
        }
        if (strcmp(d, "/") == 0 || strcmp(d, ".") == 0)
            break;
        char *up = util_dirname(d);
        free(d);
        d = up;
    }
    free(d);
    return inside;
}

/* Nothing is ever written inside a checkpoint (SPEC §2), wherever the path
 * leads: "..", links to a directory or to a file. */
static int refuse_inside(const outfile *o, const char *src, const char *dst, char *err, size_t errlen)
{
    const char *real = outfile_real_path(o);
    const char *roots[2] = {src, dst}, *what[2] = {"source", "converted"};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0 && real; i++) {
        char *root = checkpoint_root(roots[i]);
        if (root && path_inside(real, root)) {
            char shown[REPORT_SHOWN], root_shown[REPORT_SHOWN], real_shown[REPORT_SHOWN], via[REPORT_SHOWN + 32] = "";
            if (outfile_via_link(o))
                snprintf(via, sizeof via, " (a link to '%s')", text_escape(real, real_shown, sizeof real_shown));
            snprintf(err, errlen, "refusing to write report '%s'%s inside the %s checkpoint '%s'",
                     text_escape(outfile_path(o), shown, sizeof shown), via, what[i],
                     text_escape(roots[i], root_shown, sizeof root_shown));
            rc = -1;
        }
        free(root);
    }
    return rc;
}

int report_resolve_file(const char *path, const char *src, const char *dst, outfile **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    outfile *o;
    if (outfile_resolve(path, &o, err, errlen) < 0)
        return -1;
    if (refuse_inside(o, src, dst, err, errlen) < 0) {
        outfile_close(o);
        return -1;
    }
    *out = o;
    return 0;
}

/* Streams a report into o (a report on a million tensors is not held in
 * memory whole). */
static int emit_to(outfile *o, report_emit emit, const verify_result *r, char *err, size_t errlen)
{
    FILE *f = outfile_begin(o, err, errlen);
    if (!f)
        return -1;
    int emitted = emit(f, r), e = errno;
    int rc = outfile_finish(o, f, err, errlen);
    if (rc == 0 && emitted < 0) { /* out of memory building a piece: nothing kept */
        char shown[REPORT_SHOWN];
        snprintf(err, errlen, "cannot write report '%s': %s",
                 text_escape(outfile_path(o), shown, sizeof shown), strerror(e));
        return -1;
    }
    return rc;
}

/* The one table of report formats: the option that asks for each and its
 * writer. verify, report and merge all go through it. */
static const struct {
    const char *option;
    report_emit emit;
} formats[REPORT_FORMAT_COUNT] = {
    [REPORT_JSON] = {"--json", report_emit_json},
    [REPORT_JUNIT] = {"--junit", report_emit_junit},
    [REPORT_MARKDOWN] = {"--markdown", report_emit_markdown},
    [REPORT_HTML] = {"--html", report_emit_html},
};

const char *report_format_option(report_format f)
{
    return formats[f].option;
}

int report_write_to(report_format f, const verify_result *r, outfile *o, char *err, size_t errlen)
{
    return emit_to(o, formats[f].emit, r, err, errlen);
}

int report_write(report_format f, const verify_result *r, const char *path, char *err, size_t errlen)
{
    outfile *o;
    if (report_resolve_file(path, r->src, r->dst, &o, err, errlen) < 0)
        return -1;
    int rc = outfile_open(o, err, errlen) < 0 ? -1 : report_write_to(f, r, o, err, errlen);
    outfile_close(o);
    return rc;
}

int report_write_json_to(const verify_result *r, outfile *o, char *err, size_t errlen)
{
    return report_write_to(REPORT_JSON, r, o, err, errlen);
}

int report_write_json(const verify_result *r, const char *path, char *err, size_t errlen)
{
    return report_write(REPORT_JSON, r, path, err, errlen);
}

int report_write_junit_to(const verify_result *r, outfile *o, char *err, size_t errlen)
{
    return report_write_to(REPORT_JUNIT, r, o, err, errlen);
}

int report_write_junit(const verify_result *r, const char *path, char *err, size_t errlen)
{
    return report_write(REPORT_JUNIT, r, path, err, errlen);
}

/* ---- the reports of one command line ---------------------------------------- */

static int refuse_same(const char *cmd, const report_targets *t, report_format a, report_format b)
{
    if (!outfile_same(t->file[a], t->file[b]))
        return 0;
    if (outfile_is_stdout(t->file[a])) {
        fprintf(stderr, "mxfp4-check %s: %s and %s both write to standard output\n", cmd, formats[a].option,
                formats[b].option);
    } else {
        char x[REPORT_SHOWN], y[REPORT_SHOWN];
        fprintf(stderr, "mxfp4-check %s: %s '%s' and %s '%s' are the same file\n", cmd, formats[a].option,
                text_escape(t->path[a], x, sizeof x), formats[b].option, text_escape(t->path[b], y, sizeof y));
    }
    return -1;
}

int report_targets_open(report_targets *t, const char *src, const char *dst, const char *cmd)
{
    char err[REPORT_SHOWN * 4];
    for (int f = 0; f < REPORT_FORMAT_COUNT; f++) {
        if (t->path[f] && report_resolve_file(t->path[f], src, dst, &t->file[f], err, sizeof err) < 0) {
            fprintf(stderr, "mxfp4-check %s: %s\n", cmd, err);
            return -1;
        }
    }
    /* every path is compared before anything is opened, so a FIFO named
     * twice is not opened at all */
    for (int a = 0; a < REPORT_FORMAT_COUNT; a++)
        for (int b = a + 1; b < REPORT_FORMAT_COUNT; b++)
            if (refuse_same(cmd, t, (report_format)a, (report_format)b) < 0)
                return -1;
    for (int f = 0; f < REPORT_FORMAT_COUNT; f++) {
        if (t->file[f] && outfile_open(t->file[f], err, sizeof err) < 0) {
            fprintf(stderr, "mxfp4-check %s: %s\n", cmd, err);
            return -1;
        }
    }
    return 0;
}

int report_targets_write(const report_targets *t, const verify_result *r, const char *cmd)
{
    char err[REPORT_SHOWN * 4];
    int rc = 0;
    for (int f = 0; f < REPORT_FORMAT_COUNT; f++) { /* each attempted: one failing costs CI only itself */
        if (t->file[f] && report_write_to((report_format)f, r, t->file[f], err, sizeof err) < 0) {
            fprintf(stderr, "mxfp4-check %s: %s\n", cmd, err);
            rc = -1;
        }
    }
    return rc;
}

bool report_targets_stdout(const report_targets *t)
{
    for (int f = 0; f < REPORT_FORMAT_COUNT; f++)
        if (outfile_is_stdout(t->file[f]))
            return true;
    return false;
}

void report_targets_close(report_targets *t)
{
    for (int f = 0; f < REPORT_FORMAT_COUNT; f++) {
        outfile_close(t->file[f]);
        t->file[f] = NULL;
    }
}
