/* outfile.c - see outfile.h. */
#define _GNU_SOURCE /* fopencookie */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "text.h"
#include "util.h"

#define SHOWN 512 /* an escaped path in a message */
#define WHY_LEN 256
#define OUTFILE_STREAM_BUFFER (1u << 20)

typedef enum {
    OF_NONE,    /* not resolved yet */
    OF_FD,      /* an inherited descriptor: 1 or 2, never closed here */
    OF_STREAM,  /* a FIFO or a character device, opened and written through */
    OF_REPLACE, /* a regular file (or none yet): temporary file + rename */
} of_kind;

struct outfile {
    of_kind kind;
    char *path;       /* as given */
    char *real;       /* outfile_real_path, or NULL */
    char *dir, *base; /* OF_REPLACE: the real directory and the name in it */
    bool link;        /* path itself is a symbolic link */
    bool exists;      /* OF_REPLACE: there is a file to replace */
    bool fifo;        /* OF_STREAM: a FIFO, not a character device */
    dev_t dev;        /* identity: the file; for a new file, its directory */
    ino_t ino;
    mode_t perm;      /* OF_REPLACE: permission bits of the file replaced */
    int fd;           /* OF_FD: 1 or 2; else ours once opened (the directory for OF_REPLACE), or -1 */
    bool committed;
    int tmp_fd;       /* OF_REPLACE between outfile_begin and outfile_finish, else -1 */
    char tmp[NAME_MAX + 1];
    int error;        /* errno of the first failed write of the stream, or 0 */
};

/* ---- messages -------------------------------------------------------------- */

static int fail(const outfile *o, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "cannot write 'P': <why>", or "... to standard output" for "-". */
static int fail(const outfile *o, char *err, size_t errlen, const char *fmt, ...)
{
    char why[WHY_LEN], shown[SHOWN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const char *stream = o->kind == OF_FD ? (o->fd == STDOUT_FILENO ? "standard output" : "standard error") : NULL;
    if (strcmp(o->path, OUTFILE_STDOUT) == 0)
        snprintf(err, errlen, "cannot write to standard output: %s", why);
    else if (stream)
        snprintf(err, errlen, "cannot write '%s' (%s): %s", text_escape(o->path, shown, sizeof shown), stream,
                 why);
    else
        snprintf(err, errlen, "cannot write '%s': %s", text_escape(o->path, shown, sizeof shown), why);
    return -1;
}

static const char *type_name(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a file";
}

/* ---- looking at the path ------------------------------------------------------ */

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

/* Standard output or error when it is this regular file or pipe, else -1.
 * (A character device is opened by its path: a terminal shows both streams.) */
static int std_fd_of(const struct stat *sb)
{
    static const int fds[] = {STDOUT_FILENO, STDERR_FILENO};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        struct stat fs;
        if (fstat(fds[i], &fs) == 0 && fs.st_dev == sb->st_dev && fs.st_ino == sb->st_ino &&
            (S_ISREG(fs.st_mode) || S_ISFIFO(fs.st_mode)))
            return fds[i];
    }
    return -1;
}

static void set_identity(outfile *o, const struct stat *sb)
{
    o->dev = sb->st_dev;
    o->ino = sb->st_ino;
}

/* The real directory of o->real's file, or of path's when it is new. */
static int resolve_dir(outfile *o, const char *path, char *err, size_t errlen)
{
    char *dir = util_dirname(path), shown[SHOWN];
    o->dir = realpath(dir, NULL);
    int e = errno;
    int rc = o->dir ? 0 : fail(o, err, errlen, "directory '%s': %s", text_escape(dir, shown, sizeof shown),
                               strerror(e));
    free(dir);
    return rc;
}

/* Nothing there yet: a new file in an existing directory. */
static int new_file(outfile *o, char *err, size_t errlen)
{
    const char *base = base_of(o->path);
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return fail(o, err, errlen, "not a file name");
    if (resolve_dir(o, o->path, err, errlen) < 0)
        return -1;
    struct stat sb;
    if (stat(o->dir, &sb) < 0)
        return fail(o, err, errlen, "%s", strerror(errno));
    set_identity(o, &sb);
    o->base = xstrdup(base);
    o->real = join(o->dir, base);
    o->kind = OF_REPLACE;
    return 0;
}

/* A regular file, reached directly or through links: replaced in its own
 * directory, so a link stays a link. */
static int replace_file(outfile *o, const struct stat *sb, char *err, size_t errlen)
{
    if (o->link) {
        o->real = realpath(o->path, NULL);
        if (!o->real)
            return fail(o, err, errlen, "%s", strerror(errno));
        if (resolve_dir(o, o->real, err, errlen) < 0)
            return -1;
        o->base = xstrdup(base_of(o->real));
    } else {
        if (resolve_dir(o, o->path, err, errlen) < 0)
            return -1;
        o->base = xstrdup(base_of(o->path));
        o->real = join(o->dir, o->base);
    }
    set_identity(o, sb);
    o->perm = sb->st_mode & 0777;
    o->exists = true;
    o->kind = OF_REPLACE;
    return 0;
}

static int classify(outfile *o, char *err, size_t errlen)
{
    struct stat sb;
    if (lstat(o->path, &sb) < 0)
        return errno == ENOENT ? new_file(o, err, errlen) : fail(o, err, errlen, "%s", strerror(errno));
    if (S_ISLNK(sb.st_mode)) {
        o->link = true;
        if (stat(o->path, &sb) < 0)
            return fail(o, err, errlen, "%s",
                        errno == ENOENT ? "is a dangling symbolic link" : strerror(errno));
    }
    if (S_ISREG(sb.st_mode) || S_ISFIFO(sb.st_mode)) {
        int fd = std_fd_of(&sb);
        if (fd >= 0) {
            o->kind = OF_FD;
            o->fd = fd;
            o->real = realpath(o->path, NULL);
            return 0;
        }
    }
    if (S_ISREG(sb.st_mode))
        return replace_file(o, &sb, err, errlen);
    if (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode)) {
        o->kind = OF_STREAM;
        o->fifo = S_ISFIFO(sb.st_mode);
        set_identity(o, &sb);
        o->real = realpath(o->path, NULL); /* NULL for a pipe without a name */
        return 0;
    }
    return fail(o, err, errlen, "is %s%s", o->link ? "a symbolic link to " : "", type_name(sb.st_mode));
}

int outfile_resolve(const char *path, outfile **out, char *err, size_t errlen)
{
    *out = NULL;
    outfile *o = xcalloc(1, sizeof *o);
    o->path = xstrdup(path);
    o->fd = -1;
    o->tmp_fd = -1;
    int rc = 0;
    if (strcmp(path, OUTFILE_STDOUT) == 0) {
        o->kind = OF_FD;
        o->fd = STDOUT_FILENO;
    } else
        rc = classify(o, err, errlen);
    if (rc < 0) {
        outfile_close(o);
        return -1;
    }
    *out = o;
    return 0;
}

const char *outfile_path(const outfile *o)
{
    return o->path;
}

const char *outfile_real_path(const outfile *o)
{
    return o->real;
}

bool outfile_via_link(const outfile *o)
{
    return o->link;
}

bool outfile_is_stdout(const outfile *o)
{
    return o && o->kind == OF_FD && o->fd == STDOUT_FILENO;
}

bool outfile_same(const outfile *a, const outfile *b)
{
    if (!a || !b)
        return false;
    if (a->kind == OF_FD || b->kind == OF_FD)
        return a->kind == b->kind && a->fd == b->fd;
    if (a->kind != b->kind || (a->kind == OF_STREAM && !(a->fifo && b->fifo)))
        return false;
    if (a->kind == OF_REPLACE && (!a->exists || !b->exists)) /* identity is the directory + name */
        return !a->exists && !b->exists && a->dev == b->dev && a->ino == b->ino && strcmp(a->base, b->base) == 0;
    return a->dev == b->dev && a->ino == b->ino;
}

/* ---- opening ---------------------------------------------------------------- */

/* O_NONBLOCK: opening a FIFO nobody reads fails (ENXIO) instead of waiting,
 * and a device with a slow open (a serial line) cannot hang the run. */
static int open_stream(outfile *o, char *err, size_t errlen)
{
    int fd = open(o->path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail(o, err, errlen, "%s",
                    errno == ENXIO && o->fifo ? "no process is reading the FIFO" : strerror(errno));
    struct stat sb;
    int flags;
    if (fstat(fd, &sb) < 0 || !(S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode))) {
        close(fd); /* swapped for a regular file since it was looked at: nothing written */
        return fail(o, err, errlen, "changed while it was being opened");
    }
    if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        return fail(o, err, errlen, "%s", strerror(e));
    }
    o->fd = fd;
    return 0;
}

/* The directory is held open, so the file is created and renamed in the very
 * directory that was checked, wherever its path leads by then. */
static int open_dir(outfile *o, char *err, size_t errlen)
{
    int fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail(o, err, errlen, "%s", strerror(errno));
    /* the real ids (this is no set-id program): the kernel's own check, which
     * also sees a read-only mount (EROFS) */
    if (faccessat(fd, ".", W_OK | X_OK, 0) < 0) {
        int e = errno;
        char shown[SHOWN];
        close(fd);
        return fail(o, err, errlen, "directory '%s': %s", text_escape(o->dir, shown, sizeof shown), strerror(e));
    }
    struct stat sb;
    bool there = fstatat(fd, o->base, &sb, AT_SYMLINK_NOFOLLOW) == 0;
    if (there ? !S_ISREG(sb.st_mode) : errno != ENOENT) {
        int e = errno;
        close(fd);
        return there ? fail(o, err, errlen, "changed while it was being opened")
                     : fail(o, err, errlen, "%s", strerror(e));
    }
    o->fd = fd;
    return 0;
}

int outfile_open(outfile *o, char *err, size_t errlen)
{
    if (o->kind == OF_FD || o->fd >= 0)
        return 0;
    return o->kind == OF_STREAM ? open_stream(o, err, errlen) : open_dir(o, err, errlen);
}

/* ---- writing ---------------------------------------------------------------- */

/* Every byte or -1 with errno; EINTR retried, and EAGAIN waited out (an
 * inherited descriptor may be non-blocking). */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                return -1;
            continue;
        }
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* write_all with SIGPIPE held: a reader that went away is an error to
 * report (EPIPE), not the end of the process. The SIGPIPE that write raised
 * is taken before the mask is restored. */
static int write_stream(int fd, const char *buf, size_t len)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    int rc = write_all(fd, buf, len), e = errno;
    if (rc < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return rc;
}

/* ".NAME.XXXXXX" beside the target, created exclusively (never a file or a
 * link someone else put there). */
static int make_temp(const outfile *o, char *name, size_t len)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 48);
    for (int i = 0; i < OUTFILE_TMP_TRIES; i++) {
        char suffix[7];
        for (int k = 0; k < 6; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL; /* an LCG: O_EXCL makes it safe */
            suffix[k] = alphabet[(x >> 33) % (sizeof alphabet - 1)];
        }
        suffix[6] = '\0';
        snprintf(name, len, ".%.*s.%s", OUTFILE_TMP_BASE_MAX, o->base, suffix);
        int fd = openat(o->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* The stream's writes: every one checked, the first failure kept. Always
 * "all taken": glibc's fwrite mishandles a cookie write that returns -1
 * (it reads past the caller's buffer), and the kept errno is what counts. */
static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
    outfile *o = cookie;
    if (o->error)
        return (ssize_t)len;
    int fd = o->kind == OF_REPLACE ? o->tmp_fd : o->fd;
    int rc = o->kind == OF_REPLACE ? write_all(fd, buf, len) : write_stream(fd, buf, len);
    if (rc < 0)
        o->error = errno ? errno : EIO;
    return (ssize_t)len;
}

FILE *outfile_begin(outfile *o, char *err, size_t errlen)
{
    if (o->committed || o->fd < 0) {
        fail(o, err, errlen, "%s", o->committed ? "written twice" : "not opened");
        return NULL;
    }
    o->committed = true;
    o->error = 0;
    if (o->kind == OF_FD && fflush(o->fd == STDOUT_FILENO ? stdout : stderr) != 0) { /* what came before */
        fail(o, err, errlen, "%s", strerror(errno));
        return NULL;
    }
    if (o->kind == OF_REPLACE && (o->tmp_fd = make_temp(o, o->tmp, sizeof o->tmp)) < 0) {
        fail(o, err, errlen, "%s", strerror(errno));
        return NULL;
    }
    FILE *f = fopencookie(o, "w", (cookie_io_functions_t){.write = stream_write});
    if (!f)
        abort(); /* out of memory is not an input error */
    /* a report is written in small pieces: big writes cost fewer calls */
    setvbuf(f, NULL, _IOFBF, OUTFILE_STREAM_BUFFER);
    return f;
}

/* Puts the finished temporary file in place of the target. */
static int replace_target(outfile *o, int failed, char *err, size_t errlen)
{
    int rc = failed ? -1 : 0, e = failed;
    if (rc == 0 && ((o->exists && fchmod(o->tmp_fd, o->perm) < 0) || fsync(o->tmp_fd) < 0)) {
        rc = -1;
        e = errno;
    }
    if (close(o->tmp_fd) < 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    o->tmp_fd = -1;
    if (rc == 0 && renameat(o->fd, o->tmp, o->fd, o->base) < 0) {
        rc = -1;
        e = errno;
    }
    if (rc < 0) {
        unlinkat(o->fd, o->tmp, 0);
        return fail(o, err, errlen, "%s", strerror(e));
    }
    /* the rename itself survives a crash; EINVAL: a filesystem without it */
    if (fsync(o->fd) < 0 && errno != EINVAL)
        return fail(o, err, errlen, "%s (syncing its directory)", strerror(errno));
    return 0;
}

int outfile_finish(outfile *o, FILE *f, char *err, size_t errlen)
{
    bool closed = fclose(f) == 0;
    int failed = o->error ? o->error : closed ? 0 : EIO;
    if (o->kind == OF_REPLACE)
        return replace_target(o, failed, err, errlen);
    return failed ? fail(o, err, errlen, "%s", strerror(failed)) : 0;
}

int outfile_commit(outfile *o, const char *data, size_t len, char *err, size_t errlen)
{
    FILE *f = outfile_begin(o, err, errlen);
    if (!f)
        return -1;
    fwrite(data, 1, len, f);
    return outfile_finish(o, f, err, errlen);
}

void outfile_close(outfile *o)
{
    if (!o)
        return;
    if (o->kind != OF_FD && o->fd >= 0)
        close(o->fd);
    free(o->path);
    free(o->real);
    free(o->dir);
    free(o->base);
    free(o);
}

/* ---- the standard streams --------------------------------------------------- */

void outfile_guard_std_fds(void)
{
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* the lower ones are open, so this takes fd */
        int got = open("/dev/null", O_RDONLY);
        if (got >= 0 && got != fd)
            close(got);
    }
}

static const char *stream_name(int fd, char *buf, size_t len)
{
    if (fd == STDOUT_FILENO)
        return "standard output";
    if (fd == STDERR_FILENO)
        return "standard error";
    snprintf(buf, len, "descriptor %d", fd);
    return buf;
}

/* After the first failure the rest is dropped: it is reported once, at close. */
static ssize_t text_write(void *cookie, const char *buf, size_t len)
{
    outfile_text *t = cookie;
    if (!t->error && write_all(t->fd, buf, len) < 0)
        t->error = errno ? errno : EIO;
    return (ssize_t)len;
}

FILE *outfile_text_open(outfile_text *t, int fd)
{
    t->fd = fd;
    t->error = 0;
    FILE *f = fopencookie(t, "w", (cookie_io_functions_t){.write = text_write});
    if (!f) {
        fputs("mxfp4-check: out of memory (a text stream)\n", stderr);
        abort();
    }
    if (isatty(fd))
        setvbuf(f, NULL, _IOLBF, BUFSIZ);
    return f;
}

int outfile_text_close(FILE *f, outfile_text *t, char *err, size_t errlen)
{
    bool failed = fclose(f) != 0;
    if (!t->error && !failed)
        return 0;
    char buf[32];
    snprintf(err, errlen, "cannot write to %s: %s", stream_name(t->fd, buf, sizeof buf),
             t->error ? strerror(t->error) : "write error");
    return -1;
}

int outfile_flush_stdout(char *err, size_t errlen)
{
    errno = 0;
    bool failed = fflush(stdout) != 0;
    int e = errno;
    if (!failed && !ferror(stdout))
        return 0;
    /* an earlier write failed and took its errno with it */
    snprintf(err, errlen, "cannot write to standard output: %s", failed && e ? strerror(e) : "write error");
    return -1;
}
