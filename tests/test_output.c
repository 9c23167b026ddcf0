/* test_output.c - where `verify` reports and command output go, run as a user
 * and a CI gate run it: a report path that is a character device, a FIFO
 * (with and without a reader, and a pipe from a process substitution), a
 * symlink (to a file, dangling, to a directory, into DST), a directory, a
 * socket or a block device; two reports named the same file; and stdout that
 * cannot be written (a full device).
 *
 * The real /dev is never written through a path: device nodes (1,3 = null,
 * 1,7 = full, a block node that is never opened) are made with mknod in the
 * test's temp directory; when its filesystem is mounted nodev, a private mount
 * namespace with a tmpfs is tried, else the test is skipped with the reason.
 * Only stdout of a run is redirected to the system's /dev/full by the shell,
 * which writes nothing anywhere. The fixture is read-only; every report goes
 * to the temp directory. */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_check.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outfile.h"
#include "runner.h"

#define FIXTURE_SET "seedconv-small"
#define DST_CONFIG "config.json"
#define TENSOR "model.layers.0.mlp.experts.down_proj"
#define MAX_ARGS 24
#define FIFO_TIMEOUT_S 30   /* a run that waits on a FIFO forever fails here */
#define READER_ALARM_S 60   /* a FIFO reader nobody writes to ends itself */
#define NULL_MAJOR 1
#define NULL_MINOR 3
#define FULL_MINOR 7
#define LOOP_MAJOR 7        /* the block node is made, never opened */
#define NO_READER "no process is reading the FIFO"
#define ENOSPC_TEXT "No space left on device"
#define STDOUT_ENOSPC "cannot write to standard output: " ENOSPC_TEXT

/* ---- paths and running ----------------------------------------------------- */

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

static const char *fixture(const char *which)
{
    static char src[RUN_PATH_MAX], dst[RUN_PATH_MAX];
    char *buf = strcmp(which, "bf16") == 0 ? src : dst;
    snprintf(buf, RUN_PATH_MAX, "%s/%s/%s", env_or_fail("MXC_FIXTURES"), FIXTURE_SET, which);
    return buf;
}
#define SRC fixture("bf16")
#define DST fixture("mxfp4")

static void path_in(char *out, const char *dir, const char *name)
{
    assert_int_equal(run_join(out, RUN_PATH_MAX, dir, name), 0);
}

static void assert_no_sanitizer_report(const run_result *r)
{
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("sanitizer report:\n%s", r->err);
}

static int run_argv(run_result *r, const char *const *argv, unsigned timeout_s)
{
    if (run_cmd(argv, timeout_s, r) != 0)
        fail_msg("%s %s: did not exit normally (signal %d, timed out %d)\nstderr: %s", argv[0],
                 argv[1] ? argv[1] : "", r->signal, r->timed_out, r->err);
    assert_no_sanitizer_report(r);
    return r->status;
}

/* argv after the first n given entries, from the NULL-terminated list ap. */
static int run_va(run_result *r, const char **argv, int n, const char *first, va_list ap)
{
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(n <= MAX_ARGS);
        argv[n++] = a;
    }
    argv[n] = NULL;
    return run_argv(r, argv, FIFO_TIMEOUT_S);
}

/* $MXC_BIN with the NULL-terminated arguments; stdout and stderr captured. */
static int mxc(run_result *r, const char *first, ...)
{
    const char *argv[MAX_ARGS + 2] = {env_or_fail("MXC_BIN")};
    va_list ap;
    va_start(ap, first);
    int rc = run_va(r, argv, 1, first, ap);
    va_end(ap);
    return rc;
}

/* The same under `sh -c SCRIPT sh ARG BIN ARGS...`: the script redirects and
 * execs "$@" after taking ARG from $1. */
static int mxc_sh(run_result *r, const char *script, const char *arg, const char *first, va_list ap)
{
    const char *argv[MAX_ARGS + 2] = {"/bin/sh", "-c", script, "sh", arg, env_or_fail("MXC_BIN")};
    return run_va(r, argv, 6, first, ap);
}

/* stdout redirected to the file `out`. */
static int mxc_to(run_result *r, const char *out, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = mxc_sh(r, "o=$1; shift; exec \"$@\" > \"$o\"", out, first, ap);
    va_end(ap);
    return rc;
}

/* stderr appended to the file `log`. */
static int mxc_err_to(run_result *r, const char *log, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = mxc_sh(r, "o=$1; shift; exec \"$@\" 2>> \"$o\"", log, first, ap);
    va_end(ap);
    return rc;
}

/* stdout closed. */
static int mxc_no_stdout(run_result *r, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = mxc_sh(r, "shift; exec \"$@\" >&-", "-", first, ap);
    va_end(ap);
    return rc;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Refused before any work (SPEC §2: output paths are checked first): exit 2,
 * one line on stderr holding `has`, and no summary on stdout. */
static void assert_refused_early(const run_result *r, int rc, const char *has)
{
    if (rc != 2)
        fail_msg("exit %d, expected 2\nstdout: %s\nstderr: %s", rc, r->out, r->err);
    assert_contains(r->err, has);
    if (count_lines(r->err) != 1)
        fail_msg("expected one line on stderr:\n%s", r->err);
    if (r->out_len != 0)
        fail_msg("the run went ahead before refusing its output path; stdout:\n%s", r->out);
}

static char *slurp(const char *path)
{
    char *text = NULL;
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    return text;
}

/* Entries of dir other than . and .. (a left-over temporary file shows). */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static mode_t lmode(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        fail_msg("%s: %s", path, strerror(errno));
    return sb.st_mode;
}

static void assert_json_report(const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *report = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!report)
        fail_msg("not a JSON report:\n%s", text);
    assert_string_equal(str_member(report, "schema"), "mxfp4-check/verify/1");
    assert_string_equal(str_member(report, "result"), "pass");
    for (; end < text + len; end++)
        if (!strchr(" \t\r\n", *end))
            fail_msg("more than the JSON report: \"%s\"", end);
    cJSON_Delete(report);
}

static void assert_junit_report(const char *text)
{
    assert_true(strncmp(text, "<?xml", 5) == 0);
    assert_contains(text, "</testsuites>");
}

/* ---- temp directories and device nodes ----------------------------------- */

static bool mounted_tmpfs; /* a private tmpfs over the temp dir, unmounted in teardown */

static int tmp_setup(void **state)
{
    return run_tmpdir_setup(state, "output");
}

static int tmp_teardown(void **state)
{
    if (mounted_tmpfs && umount2(*state, MNT_DETACH) == 0)
        mounted_tmpfs = false;
    return run_tmpdir_teardown(state);
}

/* Writes one byte to path: 0, or the errno of the open or the write. */
static int probe_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = write(fd, "x", 1) == 1 ? 0 : errno;
    close(fd);
    return e;
}

static int make_nodes(const char *null_path, const char *full_path)
{
    unlink(null_path);
    unlink(full_path);
    if (mknod(null_path, S_IFCHR | 0666, makedev(NULL_MAJOR, NULL_MINOR)) != 0 ||
        mknod(full_path, S_IFCHR | 0666, makedev(NULL_MAJOR, FULL_MINOR)) != 0)
        return errno;
    return 0;
}

/* DIR/null and DIR/full as working character devices, or a skip saying why
 * not. A nodev mount makes them unusable: then a private mount namespace gets
 * a tmpfs over DIR (the runs of the binary inherit it). */
static void device_nodes(const char *dir, char *null_path, char *full_path)
{
    path_in(null_path, dir, "null");
    path_in(full_path, dir, "full");
    int e = make_nodes(null_path, full_path);
    if (e) {
        print_message("mknod: %s (device nodes need root or CAP_MKNOD)\n", strerror(e));
        skip();
    }
    if (probe_write(null_path) == 0 && probe_write(full_path) == ENOSPC)
        return;
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "mode=0700") != 0) {
        print_message("%s is mounted nodev and no private tmpfs can be mounted: %s\n", dir, strerror(errno));
        skip();
    }
    mounted_tmpfs = true;
    if ((e = make_nodes(null_path, full_path)) != 0 || probe_write(null_path) != 0 ||
        probe_write(full_path) != ENOSPC) {
        print_message("device nodes do not work even on a private tmpfs (%s)\n", strerror(e));
        skip();
    }
}

static void assert_char_device(const char *path, unsigned minor_no)
{
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    if (!S_ISCHR(sb.st_mode))
        fail_msg("%s is no longer a character device (mode %o)", path, (unsigned)sb.st_mode);
    assert_int_equal(major(sb.st_rdev), NULL_MAJOR);
    assert_int_equal(minor(sb.st_rdev), minor_no);
}

/* ---- character devices ------------------------------------------------------ */

/* A report to a null device is written through it; the node stays. */
static void test_report_to_null_device(void **state)
{
    char null_path[RUN_PATH_MAX], full_path[RUN_PATH_MAX];
    device_nodes(*state, null_path, full_path);
    run_result r;
    int rc = mxc(&r, "verify", SRC, DST, "--json", null_path, "--quiet", NULL);
    if (rc != 0)
        fail_msg("--json NULLDEV: exit %d\n%s", rc, r.err);
    run_result_free(&r);
    assert_char_device(null_path, NULL_MINOR);
    rc = mxc(&r, "verify", SRC, DST, "--junit", null_path, "--quiet", NULL);
    if (rc != 0)
        fail_msg("--junit NULLDEV: exit %d\n%s", rc, r.err);
    run_result_free(&r);
    /* two reports to one device do not overwrite each other: not "the same file" */
    rc = mxc(&r, "verify", SRC, DST, "--json", null_path, "--junit", null_path, "--quiet", NULL);
    if (rc != 0)
        fail_msg("--json NULLDEV --junit NULLDEV: exit %d\n%s", rc, r.err);
    run_result_free(&r);
    assert_char_device(null_path, NULL_MINOR);
    assert_int_equal(dir_entries(*state), 2); /* null and full: no temporary file */
}

/* A full device: ENOSPC is an error naming the path, exit 2; the node stays. */
static void test_report_to_full_device(void **state)
{
    char null_path[RUN_PATH_MAX], full_path[RUN_PATH_MAX];
    device_nodes(*state, null_path, full_path);
    const char *opt[] = {"--json", "--junit"};
    for (size_t i = 0; i < 2; i++) {
        run_result r;
        int rc = mxc(&r, "verify", SRC, DST, opt[i], full_path, "--quiet", NULL);
        if (rc != 2)
            fail_msg("%s FULLDEV: exit %d, expected 2\nstderr: %s", opt[i], rc, r.err);
        assert_contains(r.err, full_path);
        assert_contains(r.err, ENOSPC_TEXT);
        run_result_free(&r);
        assert_char_device(full_path, FULL_MINOR);
    }
    assert_int_equal(dir_entries(*state), 2);
}

/* A symlink to a character device is written through as well. */
static void test_symlink_to_device(void **state)
{
    char null_path[RUN_PATH_MAX], full_path[RUN_PATH_MAX], link[RUN_PATH_MAX];
    device_nodes(*state, null_path, full_path);
    path_in(link, *state, "full-link");
    assert_int_equal(symlink(full_path, link), 0);
    run_result r;
    int rc = mxc(&r, "verify", SRC, DST, "--json", link, "--quiet", NULL);
    if (rc != 2)
        fail_msg("--json LINK-TO-FULL: exit %d, expected 2\nstderr: %s", rc, r.err);
    assert_contains(r.err, ENOSPC_TEXT);
    run_result_free(&r);
    assert_true(S_ISLNK(lmode(link)));
    assert_char_device(full_path, FULL_MINOR);
}

/* ---- FIFOs and pipes -------------------------------------------------------- */

/* In the child: copies the FIFO (opened as in) to out until every writer
 * has gone. A FIFO opened non-blocking reports no hang-up before its first
 * writer came (Linux), so poll waits for the run instead of seeing EOF. */
static void copy_fifo(int in, int out)
{
    char buf[65536];
    for (;;) {
        struct pollfd p = {.fd = in, .events = POLLIN};
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        ssize_t n = read(in, buf, sizeof buf);
        if (n == 0)
            _exit(0);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            _exit(1);
        if (n > 0 && write(out, buf, (size_t)n) != n)
            _exit(1);
    }
}

/* A child that reads the FIFO at path to its end into the file out. It is a
 * reader (the FIFO open'ed) by the time this returns, so the run under test
 * finds it there. */
static pid_t start_reader(const char *path, const char *out)
{
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        alarm(READER_ALARM_S);
        int in = open(path, O_RDONLY | O_NONBLOCK), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0)
            _exit(1);
        close(ready[1]); /* the parent reads EOF: go */
        copy_fifo(in, o);
    }
    close(ready[1]);
    char c;
    while (read(ready[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(ready[0]);
    return pid;
}

static void reap_reader(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the FIFO reader failed (status %d)", status);
}

/* With a reader, the report goes through the FIFO whole; the FIFO stays. */
static void test_report_to_fifo(void **state)
{
    char fifo[RUN_PATH_MAX], got[RUN_PATH_MAX];
    path_in(fifo, *state, "fifo");
    path_in(got, *state, "got");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *opt[] = {"--json", "--junit"};
    for (size_t i = 0; i < 2; i++) {
        pid_t reader = start_reader(fifo, got);
        run_result r;
        int rc = mxc(&r, "verify", SRC, DST, opt[i], fifo, "--quiet", NULL);
        if (rc != 0) {
            kill(reader, SIGKILL);
            waitpid(reader, NULL, 0);
            fail_msg("%s FIFO: exit %d\nstderr: %s", opt[i], rc, r.err);
        }
        run_result_free(&r);
        reap_reader(reader);
        assert_true(S_ISFIFO(lmode(fifo)));
        char *text = slurp(got);
        if (i == 0)
            assert_json_report(text, strlen(text));
        else
            assert_junit_report(text);
        free(text);
    }
    assert_int_equal(dir_entries(*state), 2);
}

/* No reader: an error before any work, not a hang and not a file. */
static void test_fifo_without_reader(void **state)
{
    char fifo[RUN_PATH_MAX];
    path_in(fifo, *state, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    run_result r;
    int rc = mxc(&r, "verify", SRC, DST, "--junit", fifo, "--no-progress", NULL);
    assert_refused_early(&r, rc, NO_READER);
    assert_contains(r.err, fifo);
    run_result_free(&r);
    assert_true(S_ISFIFO(lmode(fifo)));
    assert_int_equal(dir_entries(*state), 1);
}

/* bash's >(cat > FILE): the report path is /dev/fd/N, a pipe. */
static void test_process_substitution(void **state)
{
    char got[RUN_PATH_MAX];
    path_in(got, *state, "got.json");
    const char *argv[] = {"bash", "-c",
                          "\"$1\" verify \"$2\" \"$3\" --json >(cat > \"$4\") --quiet; rc=$?; wait $!; exit $rc",
                          "bash", env_or_fail("MXC_BIN"), SRC, DST, got, NULL};
    run_result r;
    int rc = run_argv(&r, argv, FIFO_TIMEOUT_S);
    if (rc != 0)
        fail_msg("--json >(cat): exit %d\nstderr: %s", rc, r.err);
    run_result_free(&r);
    char *text = slurp(got);
    assert_json_report(text, strlen(text));
    free(text);
}

/* A path that leads to the pipe stdout already is: the report alone on
 * stdout, as with "-" (the link is ours, never /dev/stdout itself). */
static void test_path_to_stdout(void **state)
{
    char link[RUN_PATH_MAX];
    path_in(link, *state, "stdout-link");
    assert_int_equal(symlink("/proc/self/fd/1", link), 0);
    run_result r;
    int rc = mxc(&r, "verify", SRC, DST, "--json", link, "--no-progress", NULL);
    if (rc != 0)
        fail_msg("--json LINK-TO-STDOUT: exit %d\nstderr: %s", rc, r.err);
    assert_json_report(r.out, r.out_len);
    run_result_free(&r);
    assert_true(S_ISLNK(lmode(link)));
}

/* ---- symlinks, directories, sockets ----------------------------------------- */

/* A symlink to a regular file: the target is replaced, the link stays a link
 * and no temporary file is left on either side. */
static void test_symlink_to_file(void **state)
{
    char sub[RUN_PATH_MAX], target[RUN_PATH_MAX], link[RUN_PATH_MAX], link2[RUN_PATH_MAX];
    path_in(sub, *state, "sub");
    path_in(target, sub, "report.json");
    path_in(link, *state, "link.json");
    path_in(link2, *state, "link2.json");
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(run_write_file(target, "old\n"), 0);
    assert_int_equal(symlink("sub/report.json", link), 0); /* relative to the link's directory */
    assert_int_equal(symlink("link.json", link2), 0);      /* a chain of two */
    const char *paths[] = {link, link2};
    for (size_t i = 0; i < 2; i++) {
        run_result r;
        int rc = mxc(&r, "verify", SRC, DST, "--json", paths[i], "--quiet", NULL);
        if (rc != 0)
            fail_msg("--json %s: exit %d\nstderr: %s", paths[i], rc, r.err);
        run_result_free(&r);
        assert_true(S_ISLNK(lmode(link)) && S_ISLNK(lmode(link2)));
        assert_true(S_ISREG(lmode(target)));
        char *text = slurp(target);
        assert_json_report(text, strlen(text));
        free(text);
        assert_int_equal(run_write_file(target, "old\n"), 0);
    }
    assert_int_equal(dir_entries(sub), 1);
    assert_int_equal(dir_entries(*state), 3);
}

static void test_dangling_symlink(void **state)
{
    char link[RUN_PATH_MAX], target[RUN_PATH_MAX];
    path_in(link, *state, "link.json");
    path_in(target, *state, "nowhere.json");
    assert_int_equal(symlink("nowhere.json", link), 0);
    run_result r;
    int rc = mxc(&r, "verify", SRC, DST, "--json", link, "--no-progress", NULL);
    assert_refused_early(&r, rc, "dangling symbolic link");
    assert_contains(r.err, link);
    run_result_free(&r);
    assert_true(S_ISLNK(lmode(link)));
    assert_int_equal(access(target, F_OK), -1);
    assert_int_equal(dir_entries(*state), 1);
}

static void test_symlink_to_directory(void **state)
{
    char sub[RUN_PATH_MAX], link[RUN_PATH_MAX];
    path_in(sub, *state, "sub");
    path_in(link, *state, "link.json");
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(symlink("sub", link), 0);
    run_result r;
    int rc = mxc(&r, "verify", SRC, DST, "--junit", link, "--no-progress", NULL);
    assert_refused_early(&r, rc, "directory");
    assert_contains(r.err, link);
    run_result_free(&r);
    assert_true(S_ISLNK(lmode(link)));
    assert_int_equal(dir_entries(sub), 0);
}

static void test_directory(void **state)
{
    char sub[RUN_PATH_MAX], slash[RUN_PATH_MAX];
    path_in(sub, *state, "sub.json");
    path_in(slash, *state, "sub.json/");
    assert_int_equal(mkdir(sub, 0755), 0);
    const char *paths[] = {sub, slash};
    for (size_t i = 0; i < 2; i++) {
        run_result r;
        int rc = mxc(&r, "verify", SRC, DST, "--json", paths[i], "--no-progress", NULL);
        assert_refused_early(&r, rc, "is a directory");
        char want[RUN_PATH_MAX + 64];
        snprintf(want, sizeof want, "mxfp4-check verify: cannot write '%s': is a directory\n", paths[i]);
        assert_string_equal(r.err, want);
        run_result_free(&r);
    }
    assert_int_equal(dir_entries(sub), 0);
}

static void test_socket(void **state)
{
    char path[RUN_PATH_MAX];
    path_in(path, *state, "sock");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        print_message("temp dir path too long for a socket: %s\n", path);
        skip();
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&addr, sizeof addr), 0);
    run_result r;
    int rc = mxc(&r, "verify", SRC, DST, "--json", path, "--no-progress", NULL);
    close(s);
    assert_refused_early(&r, rc, "is a socket");
    run_result_free(&r);
    assert_true(S_ISSOCK(lmode(path)));
}

static void test_block_device(void **state)
{
    char path[RUN_PATH_MAX];
    path_in(path, *state, "blk");
    if (mknod(path, S_IFBLK | 0600, makedev(LOOP_MAJOR, 0)) != 0) {
        print_message("mknod of a block node: %s (needs root or CAP_MKNOD)\n", strerror(errno));
        skip();
    }
    run_result r;
    int rc = mxc(&r, "verify", SRC, DST, "--junit", path, "--no-progress", NULL);
    assert_refused_early(&r, rc, "is a block device");
    run_result_free(&r);
    assert_true(S_ISBLK(lmode(path)));
}

/* The inside-SRC/DST refusal applies to where a symlink leads. */
static void test_symlink_into_dst(void **state)
{
    char dst[RUN_PATH_MAX], config[RUN_PATH_MAX], link[RUN_PATH_MAX];
    path_in(dst, *state, "dst");
    path_in(config, dst, DST_CONFIG);
    path_in(link, *state, "report.json");
    assert_int_equal(run_copy_dir(DST, dst), 0);
    assert_int_equal(symlink(config, link), 0);
    char *before = slurp(config);
    run_result r;
    int rc = mxc(&r, "verify", SRC, dst, "--json", link, "--no-progress", NULL);
    assert_refused_early(&r, rc, "refusing");
    run_result_free(&r);
    char *after = slurp(config);
    assert_string_equal(after, before);
    free(before);
    free(after);
    assert_true(S_ISLNK(lmode(link)));
}

/* DST seen through a bind mount is still DST: the refusal compares
 * directories by identity, not by spelling. Needs a private mount namespace
 * (root, unshare). */
static void test_bind_mount_of_dst(void **state)
{
    char dst[RUN_PATH_MAX], alias[RUN_PATH_MAX], report[RUN_PATH_MAX], inner[RUN_PATH_MAX];
    path_in(dst, *state, "dst");
    path_in(alias, *state, "alias");
    path_in(report, alias, "r.json");
    path_in(inner, dst, "r.json");
    assert_int_equal(run_copy_dir(DST, dst), 0);
    assert_int_equal(mkdir(alias, 0755), 0);
    char script[6 * RUN_PATH_MAX + 128];
    snprintf(script, sizeof script, "mount --bind '%s' '%s' || exit 77; exec '%s' verify '%s' '%s' --json '%s' --no-progress",
             dst, alias, getenv("MXC_BIN"), SRC, dst, report);
    const char *argv[] = {"unshare", "-m", "sh", "-c", script, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    if (r.status == 77 || (r.status == 1 && strstr(r.err, "unshare"))) {
        run_result_free(&r);
        fprintf(stderr, "skipped: no private mount namespace here (needs root and unshare)\n");
        skip();
    }
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "inside the converted checkpoint"));
    run_result_free(&r);
    struct stat sb;
    assert_int_equal(stat(inner, &sb), -1); /* nothing written into DST */
}

/* A directory that does not exist, or a report inside DST: refused before the
 * verification runs (issue 13: 14.6 s of work, then the refusal). */
static void test_checked_before_work(void **state)
{
    char nowhere[RUN_PATH_MAX], dst[RUN_PATH_MAX], inside[RUN_PATH_MAX];
    path_in(nowhere, *state, "no/such/dir/r.json");
    path_in(dst, *state, "dst");
    path_in(inside, dst, "report.json");
    assert_int_equal(run_copy_dir(DST, dst), 0);
    run_result r;
    int rc = mxc(&r, "verify", SRC, dst, "--json", nowhere, "--no-progress", NULL);
    assert_refused_early(&r, rc, nowhere);
    run_result_free(&r);
    rc = mxc(&r, "verify", SRC, dst, "--junit", inside, "--no-progress", NULL);
    assert_refused_early(&r, rc, "refusing");
    run_result_free(&r);
    assert_int_equal(access(inside, F_OK), -1);
}

/* ---- the same file twice ----------------------------------------------------- */

static void test_same_file_twice(void **state)
{
    char sub[RUN_PATH_MAX], x[RUN_PATH_MAX], dotted[RUN_PATH_MAX], up[RUN_PATH_MAX];
    char lnk[RUN_PATH_MAX], hard[RUN_PATH_MAX], fresh[RUN_PATH_MAX], fresh2[RUN_PATH_MAX];
    path_in(sub, *state, "sub");
    path_in(x, sub, "x.json");
    path_in(dotted, sub, "./x.json");
    path_in(up, *state, "sub/../sub/x.json");
    path_in(lnk, *state, "link.json");
    path_in(hard, *state, "hard.json");
    path_in(fresh, sub, "new.xml");
    path_in(fresh2, *state, "sub/./new.xml");
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(run_write_file(x, "old\n"), 0);
    assert_int_equal(symlink(x, lnk), 0);
    assert_int_equal(link(x, hard), 0);
    const char *pairs[][2] = {{x, x}, {x, dotted}, {up, x}, {lnk, x}, {x, hard}, {fresh, fresh2}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        run_result r;
        int rc = mxc(&r, "verify", SRC, DST, "--json", pairs[i][0], "--junit", pairs[i][1], "--no-progress",
                     NULL);
        assert_refused_early(&r, rc, "same file");
        run_result_free(&r);
    }
    char *text = slurp(x);
    assert_string_equal(text, "old\n");
    free(text);
    assert_int_equal(access(fresh, F_OK), -1);
    assert_int_equal(dir_entries(sub), 1);
}

/* Two reports on stdout would mix JSON and XML. */
static void test_two_reports_on_stdout(void **state)
{
    char link[RUN_PATH_MAX];
    path_in(link, *state, "stdout-link");
    assert_int_equal(symlink("/proc/self/fd/1", link), 0);
    run_result r;
    int rc = mxc(&r, "verify", SRC, DST, "--json", "-", "--junit", "-", NULL);
    assert_refused_early(&r, rc, "standard output");
    run_result_free(&r);
    rc = mxc(&r, "verify", SRC, DST, "--junit", link, "--json", "-", NULL);
    assert_refused_early(&r, rc, "standard output");
    run_result_free(&r);
}

/* ---- stdout that cannot be written --------------------------------------------- */

static void expect_stdout_full(const char *what, int rc, const run_result *r)
{
    if (rc != 2)
        fail_msg("%s > /dev/full: exit %d, expected 2\nstderr: %s", what, rc, r->err);
    assert_contains(r->err, STDOUT_ENOSPC);
}

static void test_verify_stdout_full(void **state)
{
    (void)state;
    run_result r;
    int rc = mxc_to(&r, "/dev/full", "verify", SRC, DST, "--no-progress", NULL);
    expect_stdout_full("verify", rc, &r);
    run_result_free(&r);
    rc = mxc_to(&r, "/dev/full", "verify", SRC, DST, "--json", "-", NULL);
    if (rc != 2)
        fail_msg("verify --json - > /dev/full: exit %d\n%s", rc, r.err);
    assert_contains(r.err, ENOSPC_TEXT);
    run_result_free(&r);
    /* --quiet writes nothing to stdout: nothing to fail */
    assert_int_equal(mxc_to(&r, "/dev/full", "verify", SRC, DST, "--quiet", NULL), 0);
    run_result_free(&r);
}

static void test_inspect_stdout_full(void **state)
{
    (void)state;
    run_result r;
    int rc = mxc_to(&r, "/dev/full", "inspect", DST, NULL);
    expect_stdout_full("inspect", rc, &r);
    run_result_free(&r);
    rc = mxc_to(&r, "/dev/full", "inspect", "--json", DST, NULL);
    expect_stdout_full("inspect --json", rc, &r);
    run_result_free(&r);
    rc = mxc_to(&r, "/dev/full", "inspect", "--tensor", TENSOR, DST, NULL);
    expect_stdout_full("inspect --tensor", rc, &r);
    run_result_free(&r);
    rc = mxc_to(&r, "/dev/full", "inspect", "--json", "--tensor", TENSOR, DST, NULL);
    expect_stdout_full("inspect --json --tensor", rc, &r);
    run_result_free(&r);
}

static void test_help_stdout_full(void **state)
{
    (void)state;
    run_result r;
    int rc = mxc_to(&r, "/dev/full", "--help", NULL);
    expect_stdout_full("--help", rc, &r);
    run_result_free(&r);
    rc = mxc_to(&r, "/dev/full", "--version", NULL);
    expect_stdout_full("--version", rc, &r);
    run_result_free(&r);
    rc = mxc_to(&r, "/dev/full", "verify", "--help", NULL);
    expect_stdout_full("verify --help", rc, &r);
    run_result_free(&r);
}

/* A regular file that already is stderr (`2>> ci.log`): the report is
 * appended through the descriptor, the log is not replaced behind the shell. */
static void test_path_to_stderr_file(void **state)
{
    char log[RUN_PATH_MAX], link[RUN_PATH_MAX];
    path_in(log, *state, "ci.log");
    path_in(link, *state, "stderr-link");
    assert_int_equal(run_write_file(log, "previous\n"), 0);
    assert_int_equal(symlink("/proc/self/fd/2", link), 0);
    struct stat before, after;
    assert_int_equal(stat(log, &before), 0);
    run_result r;
    int rc = mxc_err_to(&r, log, "verify", SRC, DST, "--junit", link, "--quiet", NULL);
    if (rc != 0)
        fail_msg("--junit LINK-TO-STDERR: exit %d", rc);
    run_result_free(&r);
    assert_int_equal(stat(log, &after), 0);
    assert_true(after.st_ino == before.st_ino);
    char *text = slurp(log);
    assert_true(strncmp(text, "previous\n", 9) == 0);
    assert_junit_report(text + 9);
    free(text);
    assert_true(S_ISLNK(lmode(link)));
}

/* stdout closed: a report opened early must not take descriptor 1 (the
 * summary would land in it); writing the summary is the error instead. */
static void test_closed_stdout(void **state)
{
    char fifo[RUN_PATH_MAX], got[RUN_PATH_MAX];
    path_in(fifo, *state, "fifo");
    path_in(got, *state, "got");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t reader = start_reader(fifo, got);
    run_result r;
    int rc = mxc_no_stdout(&r, "verify", SRC, DST, "--json", fifo, "--no-progress", NULL);
    if (rc != 2) {
        kill(reader, SIGKILL);
        waitpid(reader, NULL, 0);
        fail_msg("--json FIFO >&-: exit %d, expected 2\nstderr: %s", rc, r.err);
    }
    assert_contains(r.err, "cannot write to standard output: Bad file descriptor");
    run_result_free(&r);
    reap_reader(reader);
    char *text = slurp(got);
    assert_json_report(text, strlen(text));
    free(text);
    /* nothing for stdout: nothing to fail */
    assert_int_equal(mxc_no_stdout(&r, "verify", SRC, DST, "--quiet", NULL), 0);
    run_result_free(&r);
    rc = mxc_no_stdout(&r, "verify", SRC, DST, "--json", "-", NULL);
    assert_int_equal(rc, 2);
    assert_contains(r.err, "standard output");
    run_result_free(&r);
}

/* A report replaced keeps the permission bits of the file it replaces (a
 * private 0600 report does not become world-readable). */
static void test_replace_keeps_mode(void **state)
{
    char path[RUN_PATH_MAX];
    path_in(path, *state, "private.json");
    assert_int_equal(run_write_file(path, "old\n"), 0);
    assert_int_equal(chmod(path, 0600), 0);
    run_result r;
    assert_int_equal(mxc(&r, "verify", SRC, DST, "--json", path, "--quiet", NULL), 0);
    run_result_free(&r);
    assert_int_equal(lmode(path) & 07777, 0600);
    char *text = slurp(path);
    assert_json_report(text, strlen(text));
    free(text);
    assert_int_equal(dir_entries(*state), 1);
}

/* A reader of stdout that goes away (`| head`) ends the run by SIGPIPE, as
 * for any Unix tool; the report files are complete by then. */
static void test_stdout_reader_gone(void **state)
{
    char json[RUN_PATH_MAX];
    path_in(json, *state, "r.json");
    const char *argv[] = {"bash", "-c", "\"$@\" | exit 0; exit ${PIPESTATUS[0]}", "bash", env_or_fail("MXC_BIN"),
                          "verify", SRC, DST, "--json", json, "--no-progress", NULL};
    run_result r;
    int rc = run_argv(&r, argv, FIFO_TIMEOUT_S);
    if (rc != 0 && rc != 128 + SIGPIPE)
        fail_msg("verify | exit 0: status %d\nstderr: %s", rc, r.err);
    run_result_free(&r);
    char *text = slurp(json);
    assert_json_report(text, strlen(text));
    free(text);
}

/* ---- the module itself --------------------------------------------------------- */

/* A reader that went away: EPIPE reported, not death by SIGPIPE, and no
 * SIGPIPE left pending. */
static void test_reader_gone(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    char path[64], err[512] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    outfile *o;
    assert_int_equal(outfile_resolve(path, &o, err, sizeof err), 0);
    assert_null(outfile_real_path(o)); /* a pipe has no name */
    assert_int_equal(outfile_open(o, err, sizeof err), 0);
    close(p[0]);
    assert_int_equal(outfile_commit(o, "{}\n", 3, err, sizeof err), -1);
    assert_contains(err, "Broken pipe");
    assert_contains(err, path);
    sigset_t pending;
    assert_int_equal(sigpending(&pending), 0);
    assert_false(sigismember(&pending, SIGPIPE));
    /* once only */
    assert_int_equal(outfile_commit(o, "{}\n", 3, err, sizeof err), -1);
    outfile_close(o);
    close(p[1]);
    outfile_close(NULL);
}

/* Same file: spellings, links, hard links, new files by directory + name;
 * "-" with "-"; never two different names or a FIFO and a file. */
static void test_same(void **state)
{
    const char *dir = *state;
    char a[RUN_PATH_MAX], a2[RUN_PATH_MAX], b[RUN_PATH_MAX], n1[RUN_PATH_MAX], n2[RUN_PATH_MAX];
    char sub[RUN_PATH_MAX], fifo[RUN_PATH_MAX], err[512];
    path_in(a, dir, "a.json");
    path_in(a2, dir, "./a.json");
    path_in(b, dir, "b.json");
    path_in(n1, dir, "new.json");
    path_in(sub, dir, "sub");
    path_in(n2, dir, "sub/../new.json");
    path_in(fifo, dir, "fifo");
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(run_write_file(a, "a"), 0);
    assert_int_equal(run_write_file(b, "b"), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = {a, a2, b, n1, n2, fifo, "-", "-"};
    outfile *o[8];
    for (int i = 0; i < 8; i++)
        if (outfile_resolve(paths[i], &o[i], err, sizeof err) != 0)
            fail_msg("%s: %s", paths[i], err);
    assert_true(outfile_same(o[0], o[1]));
    assert_false(outfile_same(o[0], o[2]));
    assert_true(outfile_same(o[3], o[4]));
    assert_false(outfile_same(o[3], o[0]));
    assert_false(outfile_same(o[5], o[0]));
    assert_true(outfile_same(o[5], o[5]));
    assert_true(outfile_same(o[6], o[7]));
    assert_true(outfile_is_stdout(o[6]) && !outfile_is_stdout(o[0]));
    assert_false(outfile_same(o[6], NULL));
    for (int i = 0; i < 8; i++)
        outfile_close(o[i]);
}

/* A write that fails half way (file size limit): the old file stays, no
 * temporary file is left. */
static void test_replace_fails_whole(void **state)
{
    char path[RUN_PATH_MAX], err[512];
    path_in(path, *state, "r.json");
    assert_int_equal(run_write_file(path, "old\n"), 0);
    outfile *o;
    assert_int_equal(outfile_resolve(path, &o, err, sizeof err), 0);
    assert_int_equal(outfile_open(o, err, sizeof err), 0);
    static char big[8192];
    memset(big, 'x', sizeof big);
    struct rlimit old, small = {64, 64};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = outfile_commit(o, big, sizeof big, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_contains(err, "File too large");
    outfile_close(o);
    char *text = slurp(path);
    assert_string_equal(text, "old\n");
    free(text);
    assert_int_equal(dir_entries(*state), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_to_null_device, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_report_to_full_device, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_to_device, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_report_to_fifo, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_without_reader, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_process_substitution, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_path_to_stdout, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_to_file, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_dangling_symlink, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_to_directory, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_directory, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_socket, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_block_device, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_into_dst, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_bind_mount_of_dst, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_checked_before_work, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_same_file_twice, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_two_reports_on_stdout, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_verify_stdout_full),
        cmocka_unit_test(test_inspect_stdout_full),
        cmocka_unit_test(test_help_stdout_full),
        cmocka_unit_test_setup_teardown(test_path_to_stderr_file, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_closed_stdout, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_replace_keeps_mode, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_stdout_reader_gone, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_reader_gone),
        cmocka_unit_test_setup_teardown(test_same, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_replace_fails_whole, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
