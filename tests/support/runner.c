/* runner.c - see runner.h. */
#define _XOPEN_SOURCE 700 /* nftw, FTW_PHYS */
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define REAP_POLL_MS 10 /* between waitpid checks once both pipes are closed, without a pidfd */
#define NFTW_FDS 32

/* ---- capturing output ---------------------------------------------------- */

typedef struct {
    int fd;          /* -1 once EOF was read */
    char **buf;
    size_t *len;
    size_t cap;
} sink;

/* Reads what is available on s->fd into its buffer (kept NUL-terminated). */
static int sink_read(sink *s)
{
    if (s->cap - *s->len < READ_CHUNK + 1) {
        size_t cap = s->cap * 2 > *s->len + READ_CHUNK + 1 ? s->cap * 2 : *s->len + READ_CHUNK + 1;
        char *p = realloc(*s->buf, cap);
        if (!p)
            return -1;
        *s->buf = p;
        s->cap = cap;
    }
    ssize_t n = read(s->fd, *s->buf + *s->len, READ_CHUNK);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    if (n == 0) {
        close(s->fd);
        s->fd = -1;
        return 0;
    }
    *s->len += (size_t)n;
    (*s->buf)[*s->len] = '\0';
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- running ------------------------------------------------------------- */

/* In the child: stdin from /dev/null, stdout/stderr to the pipes, own process
 * group (so a timeout kills grandchildren too), then exec. Never returns. */
static void child_exec(const char *const *argv, int out_w, int err_w)
{
    setpgid(0, 0);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
        dup2(err_w, STDERR_FILENO) < 0)
        _exit(127);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
}

static int make_pipe(int p[2])
{
    p[0] = p[1] = -1;
    if (pipe(p) < 0)
        return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

static void kill_child(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

/* A descriptor (close-on-exec) that becomes readable when the child pid
 * exits (Linux 5.3), or -1. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* Waits at most ms for the child to exit: on its pidfd (woken the moment it
 * exits), else by sleeping REAP_POLL_MS. */
static void await_exit(int pidfd, long long ms)
{
    if (pidfd >= 0) {
        struct pollfd pf = {.fd = pidfd, .events = POLLIN};
        poll(&pf, 1, ms > 1000 ? 1000 : (int)ms);
    } else
        sleep_ms(ms < REAP_POLL_MS ? (long)ms : REAP_POLL_MS);
}

/* Reads both pipes until EOF and reaps the child, killing it at the
 * deadline. Returns 0 when reaped in time (wstatus set), -1 otherwise. */
static int collect(pid_t pid, int pidfd, sink *s, long long deadline, int *wstatus, bool *timed_out)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            *timed_out = true;
            break;
        }
        if (s[0].fd < 0 && s[1].fd < 0) {
            pid_t w = waitpid(pid, wstatus, WNOHANG);
            if (w == pid)
                return 0;
            if (w < 0 && errno != EINTR)
                return -1;
            await_exit(pidfd, left);
            continue;
        }
        struct pollfd pf[2];
        nfds_t n = 0;
        sink *which[2];
        for (int i = 0; i < 2; i++)
            if (s[i].fd >= 0) {
                pf[n] = (struct pollfd){.fd = s[i].fd, .events = POLLIN};
                which[n++] = &s[i];
            }
        int r = poll(pf, n, left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno != EINTR)
            break;
        for (nfds_t i = 0; r > 0 && i < n; i++)
            if (pf[i].revents && sink_read(which[i]) < 0)
                goto fail;
    }
fail:
    kill_child(pid);
    while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR)
        ;
    return -1;
}

int run_cmd(const char *const *argv, unsigned timeout_s, run_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    r->out = calloc(1, 1);
    r->err = calloc(1, 1);
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (!r->out || !r->err || !argv || !argv[0] || make_pipe(po) < 0 || make_pipe(pe) < 0) {
        close_pair(po);
        close_pair(pe);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close_pair(po);
        close_pair(pe);
        return -1;
    }
    if (pid == 0)
        child_exec(argv, po[1], pe[1]);
    setpgid(pid, pid); /* also here: no race with the child's own setpgid */
    close(po[1]);
    close(pe[1]);
    sink s[2] = {{po[0], &r->out, &r->out_len, 1}, {pe[0], &r->err, &r->err_len, 1}};
    int wstatus = 0, pidfd = open_pidfd(pid);
    int rc = collect(pid, pidfd, s, now_ms() + (long long)timeout_s * 1000, &wstatus, &r->timed_out);
    if (pidfd >= 0)
        close(pidfd);
    for (int i = 0; i < 2; i++)
        if (s[i].fd >= 0)
            close(s[i].fd);
    if (WIFEXITED(wstatus) && rc == 0)
        r->status = WEXITSTATUS(wstatus);
    else if (WIFSIGNALED(wstatus)) {
        r->signal = WTERMSIG(wstatus);
        rc = -1;
    }
    return r->timed_out ? -1 : rc;
}

void run_result_free(run_result *r)
{
    if (!r)
        return;
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

/* ---- temp directories ---------------------------------------------------- */

int run_join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int run_mkdtemp(const char *tag, char *out, size_t outlen)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(out, outlen, "%s/mxc-%s-XXXXXX", tmp, tag ? tag : "test");
    if (n < 0 || (size_t)n >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(out) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int run_rmtree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) < 0)
        return errno == ENOENT ? 0 : -1;
    /* depth first, not following links: a symlink into a blob dir is removed,
     * never what it points to */
    return nftw(path, rm_entry, NFTW_FDS, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* ---- files --------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int run_copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        errno = e;
        return -1;
    }
    char *buf = malloc(READ_CHUNK);
    int rc = buf ? 0 : -1;
    while (rc == 0) {
        ssize_t n = read(in, buf, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -1 : 0;
            break;
        }
        rc = write_all(out, buf, (size_t)n);
    }
    free(buf);
    int e = errno;
    close(in);
    if (close(out) < 0 && rc == 0)
        return -1;
    errno = e;
    return rc;
}

int run_copy_dir(const char *src, const char *dst)
{
    if (mkdir(dst, 0755) < 0 && errno != EEXIST)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        char from[RUN_PATH_MAX], to[RUN_PATH_MAX];
        struct stat sb;
        if (run_join(from, sizeof from, src, de->d_name) < 0 ||
            run_join(to, sizeof to, dst, de->d_name) < 0) {
            rc = -1;
            break;
        }
        if (stat(from, &sb) < 0 || !S_ISREG(sb.st_mode))
            continue; /* ".", "..", subdirectories, dangling links */
        rc = run_copy_file(from, to);
    }
    int e = errno;
    closedir(d);
    errno = e;
    return rc;
}

int run_pwrite(const char *path, uint64_t off, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    const char *p = buf;
    int rc = 0;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = -1;
            break;
        }
        p += w;
        off += (uint64_t)w;
        len -= (size_t)w;
    }
    int e = errno;
    if (close(fd) < 0 && rc == 0)
        return -1;
    errno = e;
    return rc;
}

int run_read_file(const char *path, char **out, size_t *len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    char *buf = NULL;
    size_t n = 0;
    sink s = {fd, &buf, &n, 0};
    int rc = 0;
    while (rc == 0 && s.fd >= 0)
        rc = sink_read(&s);
    if (s.fd >= 0)
        close(s.fd);
    if (rc < 0) {
        free(buf);
        return -1;
    }
    if (!buf && !(buf = calloc(1, 1)))
        return -1;
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int run_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, strlen(text));
    int e = errno;
    if (close(fd) < 0 && rc == 0)
        return -1;
    errno = e;
    return rc;
}

int run_tmpdir_setup(void **state, const char *tag)
{
    char *dir = malloc(RUN_PATH_MAX);
    if (!dir || run_mkdtemp(tag, dir, RUN_PATH_MAX) != 0) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

int run_tmpdir_teardown(void **state)
{
    int rc = run_rmtree(*state);
    free(*state);
    return rc;
}
