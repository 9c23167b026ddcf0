/* xorshift.h - the random numbers of the tests and benchmarks: Marsaglia's
 * xorshift64 (13, 7, 17), the same sequence from the same nonzero seed on
 * every machine, so a failing case can be replayed. */
#ifndef MXC_TEST_XORSHIFT_H
#define MXC_TEST_XORSHIFT_H

#include <stdint.h>

static inline uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

#endif
