/* faultshim.c - an LD_PRELOAD library for the fault-injection tests
 * (tests/test_faults.c): it makes one chosen read of a chosen file fail the
 * way a failing disk, a starved kernel or a signal would, so that the tests
 * run the real binary, unchanged, against a fault at every read it makes.
 *
 * Configured by the environment, read once at load:
 *   MXC_FAULT_FILE  substring of the path of the files whose reads count
 *                   (the path as /proc/self/fd shows it: absolute, resolved)
 *   MXC_FAULT_NTH   which counted read fails, from 1; 0 or unset: none
 *   MXC_FAULT_KIND  eio | enomem | eintr | short | eof
 *   MXC_FAULT_LOG   a file that gets one line per counted read,
 *                   "read N PATH", and "fault KIND N PATH" for the one
 *                   that was made to fail: the tests count reads with it,
 *                   and check that the fault they asked for did happen.
 *
 * "short" reads half of what was asked (a read of one byte cannot be
 * shortened and is left alone, and logged as not injected); "eof" returns 0
 * without reading, as at the end of the file; the others return -1 with that
 * errno. Only the one read fails: a caller that retries gets the file.
 *
 * The read calls of the program are interposed (read, pread, pread64); reads
 * inside libc (stdio) are not, and mxfp4-check reads files with pread only.
 * Nothing here allocates or takes a lock, so it is safe in any thread. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define SHIM_PATH_MAX 4096

typedef enum { KIND_NONE, KIND_EIO, KIND_ENOMEM, KIND_EINTR, KIND_SHORT, KIND_EOF } fault_kind;

static const char *const kind_names[] = {
    [KIND_NONE] = "none", [KIND_EIO] = "eio",     [KIND_ENOMEM] = "enomem",
    [KIND_EINTR] = "eintr", [KIND_SHORT] = "short", [KIND_EOF] = "eof",
};

static const char *g_file;        /* NULL: the shim is idle */
static unsigned long g_nth;
static fault_kind g_kind;
static int g_log = -1;
static atomic_ulong g_count;

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pread64_fn)(int, void *, size_t, off64_t);
static read_fn real_read;
static pread_fn real_pread;
static pread64_fn real_pread64;

static fault_kind parse_kind(const char *s)
{
    for (size_t i = 1; s && i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (strcmp(s, kind_names[i]) == 0)
            return (fault_kind)i;
    return KIND_NONE;
}

__attribute__((constructor)) static void shim_init(void)
{
    real_read = (read_fn)dlsym(RTLD_NEXT, "read");
    real_pread = (pread_fn)dlsym(RTLD_NEXT, "pread");
    real_pread64 = (pread64_fn)dlsym(RTLD_NEXT, "pread64");
    const char *file = getenv("MXC_FAULT_FILE"), *nth = getenv("MXC_FAULT_NTH");
    const char *log = getenv("MXC_FAULT_LOG");
    g_nth = nth ? strtoul(nth, NULL, 10) : 0;
    g_kind = parse_kind(getenv("MXC_FAULT_KIND"));
    if (log && *log)
        g_log = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    g_file = file && *file ? file : NULL;
}

/* Whether reads of fd count, with its path in path. */
static int counted(int fd, char *path, size_t len)
{
    if (!g_file)
        return 0;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, len - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    return strstr(path, g_file) != NULL;
}

/* One line to the log; a single write to an O_APPEND file, so the lines of
 * reader threads do not interleave. */
static void log_line(const char *what, unsigned long n, const char *path)
{
    if (g_log < 0)
        return;
    char line[SHIM_PATH_MAX + 64];
    int len = snprintf(line, sizeof line, "%s %lu %s\n", what, n, path);
    if (len > 0 && (size_t)len < sizeof line && write(g_log, line, (size_t)len) < 0)
        return; /* a test that misses the line fails on its own */
}

/* Decides the fate of one read of fd: 0 to do it as asked (with *count
 * possibly halved), or 1 with *ret (and errno) set to what the call returns. */
static int fault(int fd, size_t *count, ssize_t *ret)
{
    char path[SHIM_PATH_MAX];
    if (!counted(fd, path, sizeof path))
        return 0;
    unsigned long n = atomic_fetch_add(&g_count, 1) + 1;
    log_line("read", n, path);
    if (n != g_nth || g_kind == KIND_NONE)
        return 0;
    char what[32];
    snprintf(what, sizeof what, "fault %s", kind_names[g_kind]);
    switch (g_kind) {
    case KIND_SHORT:
        if (*count < 2) {
            log_line("not-injected short", n, path);
            return 0;
        }
        *count /= 2;
        log_line(what, n, path);
        return 0;
    case KIND_EOF:
        *ret = 0;
        break;
    default:
        *ret = -1;
        errno = g_kind == KIND_EIO ? EIO : g_kind == KIND_ENOMEM ? ENOMEM : EINTR;
        break;
    }
    int saved = errno;
    log_line(what, n, path);
    errno = saved;
    return 1;
}

ssize_t read(int fd, void *buf, size_t count)
{
    ssize_t ret;
    if (fault(fd, &count, &ret))
        return ret;
    return real_read(fd, buf, count);
}

ssize_t pread(int fd, void *buf, size_t count, off_t off)
{
    ssize_t ret;
    if (fault(fd, &count, &ret))
        return ret;
    return real_pread(fd, buf, count, off);
}

ssize_t pread64(int fd, void *buf, size_t count, off64_t off)
{
    ssize_t ret;
    if (fault(fd, &count, &ret))
        return ret;
    return real_pread64(fd, buf, count, off);
}
