/* Seeded random numbers for the runtime: PCG32 (XSH-RR output on a 64-bit LCG).
 * Everything random in netc — initialisation, dropout masks, shuffling, augmentation —
 * draws from an rt_rng the caller owns, so a run with the same seed gives the same
 * numbers, and the state fits in a checkpoint. */
#include <math.h>
#include "rt_core.h"

void rt_rng_seed(rt_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1) | 1u;
    rt_rng_u32(r);
    r->state += seed;
    rt_rng_u32(r);
}

uint32_t rt_rng_u32(rt_rng *r)
{
    uint64_t old = r->state;
    r->state = old * RT_RNG_MUL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

float rt_rng_uniform(rt_rng *r)
{
    return (float)(rt_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

float rt_rng_normal(rt_rng *r)
{
    /* 1 - u keeps the logarithm's argument in (0, 1]. */
    float u1 = 1.0f - rt_rng_uniform(r);
    float u2 = rt_rng_uniform(r);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}

uint32_t rt_rng_below(rt_rng *r, uint32_t n)
{
    /* Lemire's rejection: discard the values that would bias the modulo.  A draw is
     * rejected with probability below 1/2, so a valid stream passes 64 in a row with
     * probability below 2^-64; a broken one (an even increment can make the state a
     * fixed point) would loop forever, so after 64 the last draw is taken as it is. */
    uint32_t threshold = (uint32_t)(-n) % n;
    uint32_t x = rt_rng_u32(r);
    for (int tries = 1; x < threshold && tries < RT_RNG_MAX_REJECTS; tries++)
        x = rt_rng_u32(r);
    return x % n;
}

void rt_rng_shuffle(rt_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        uint32_t j = rt_rng_below(r, (uint32_t)i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
