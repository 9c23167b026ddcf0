#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "mxfp4-check: out of memory (%zu bytes)\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *xmalloc_pages(size_t n)
{
    /* large buffers in 2 MiB pages where the kernel has them: a first touch
     * (and a pinning) then costs one fault per 2 MiB, not per 4 KiB */
    size_t page = n >= ((size_t)2 << 20) ? (size_t)2 << 20 : 4096;
    size_t rounded = n ? (n + page - 1) / page * page : page;
    void *p = NULL;
    if (rounded < n || posix_memalign(&p, page, rounded) != 0)
        out_of_memory(n);
#ifdef MADV_HUGEPAGE
    if (page > 4096)
        (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory(0);
    char *s = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void xgrow(void *items_ptr, size_t *cap, size_t need, size_t sz)
{
    void **items = items_ptr;
    if (need <= *cap)
        return;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    *items = xrealloc(*items, ncap * sz);
    *cap = ncap;
}

char *util_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    char *d = xmalloc((size_t)(slash - path) + 1);
    memcpy(d, path, (size_t)(slash - path));
    d[slash - path] = '\0';
    return d;
}

double util_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int util_open_regular(const char *path, struct stat *sb, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), flags = 0;
    if (fd < 0 || fstat(fd, sb) < 0 || (flags = fcntl(fd, F_GETFL)) < 0) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
    } else if (!S_ISREG(sb->st_mode)) {
        snprintf(why, whylen, "not a regular file");
        close(fd);
        return UTIL_NOT_REGULAR;
    } else if (fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
    } else {
        return fd;
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

int util_pread_exact(int fd, void *buf, size_t len, uint64_t off, char *why, size_t whylen)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, whylen, "read failed at byte %llu: %s", (unsigned long long)(off + got),
                     strerror(errno));
            return -1;
        }
        if (n == 0) {
            snprintf(why, whylen, "file ended early at byte %llu (%zu bytes wanted from byte %llu)",
                     (unsigned long long)(off + got), len, (unsigned long long)off);
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}
