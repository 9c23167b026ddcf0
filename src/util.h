/* util.h - allocation that cannot fail silently, and checked arithmetic.
 *
 * Out of memory is not an input error: x* functions print and abort. Sizes
 * from files never reach them unchecked (see the ckd_* helpers). */
#ifndef MXC_UTIL_H
#define MXC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows *items (of *cap elements of size sz) so that it holds at least need. */
void xgrow(void *items_ptr, size_t *cap, size_t need, size_t sz);

/* Seconds on the monotonic clock, for durations. */
double util_now_seconds(void);

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
