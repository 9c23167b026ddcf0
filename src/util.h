/* util.h - allocation that cannot fail silently, checked arithmetic, and
 * opening the files of a checkpoint without waiting on them.
 *
 * Out of memory is not an input error: x* functions print and abort. Sizes
 * from files never reach them unchecked (see the ckd_* helpers). */
#ifndef MXC_UTIL_H
#define MXC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows *items (of *cap elements of size sz) so that it holds at least need. */
void xgrow(void *items_ptr, size_t *cap, size_t need, size_t sz);

/* The directory part of path: "." when it has no slash, "/" for "/x".
 * Caller frees. */
char *util_dirname(const char *path);

/* Seconds on the monotonic clock, for durations. */
double util_now_seconds(void);

/* Opens path read-only (O_CLOEXEC) when it is a regular file. The open itself
 * is O_NONBLOCK, so a FIFO or a device planted in a checkpoint is refused
 * instead of blocking until a writer comes; O_NONBLOCK is cleared again once
 * fstat has shown a regular file. Returns the descriptor with *sb filled, or
 * -1 with why set to "not a regular file" or "cannot open: <strerror>"
 * (UTIL_WHY_LEN bytes hold either). */
#define UTIL_WHY_LEN 128
int util_open_regular(const char *path, struct stat *sb, char *why, size_t whylen);

/* pread until len bytes are in buf, retrying short reads and EINTR. Returns
 * the bytes read (fewer than len only at end of file), or -1 on error. */
ssize_t util_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* Checked arithmetic: false on overflow, result untouched then. */
static inline bool ckd_add_u64(uint64_t *r, uint64_t a, uint64_t b)
{
    return !__builtin_add_overflow(a, b, r);
}
static inline bool ckd_mul_u64(uint64_t *r, uint64_t a, uint64_t b)
{
    return !__builtin_mul_overflow(a, b, r);
}

#endif
