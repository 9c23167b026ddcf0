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
void *xmalloc_pages(size_t n); /* page-aligned (for buffers pinned later); free() it */
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
 * fstat has shown a regular file. Returns the descriptor with *sb filled;
 * UTIL_NOT_REGULAR with why "not a regular file" (a finding for some
 * callers); or -1 with why "cannot open: <strerror>" (UTIL_WHY_LEN bytes hold
 * either, and any message of util_pread_exact). */
#define UTIL_WHY_LEN 128
#define UTIL_NOT_REGULAR (-2)
int util_open_regular(const char *path, struct stat *sb, char *why, size_t whylen);

/* Exactly len bytes at off into buf, retrying short reads and EINTR: the one
 * way files are read, so that every caller names a fault the same way.
 * Returns 0, or -1 with why telling the two faults apart: "read failed at
 * byte B: <strerror>" (EIO, ENOMEM, ...), or "file ended early at byte B (N
 * bytes wanted from byte O)" when the file is shorter than the caller was
 * told (by fstat or a header); never a short read taken for the whole. */
int util_pread_exact(int fd, void *buf, size_t len, uint64_t off, char *why, size_t whylen);

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
