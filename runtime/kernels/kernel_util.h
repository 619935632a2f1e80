/* kernel_util.h -- what the kernel files of runtime/kernels/ share; private to this layer.
 *
 * Threads.  The kernels split their work over the runtime's thread pool (core/parallel.c):
 * convolutions by slots of images (RT_CONV_SLOTS fixed ranges of the batch, each with
 * its own workspace and, for the weight gradient, its own partial sum, added in slot
 * order), dense layers by blocks of the product's larger dimension, element-wise and
 * per-channel kernels by ranges of elements, planes or channels.  Every cut depends on
 * the shapes only, or computes each output whole in one thread, so the same inputs give
 * the same bits from run to run and with any number of threads (tests/t_models_train.sh
 * checks every model of models/ with 1 and 2).  OpenBLAS is set to one thread (its own
 * threads, spinning on small per-image products, cost more than they gave, and split some
 * products into other sums), so every sgemm runs in the task that calls it.
 *
 * Everything else is written as simple loops that gcc and clang vectorise at -O3
 * -march=native without -ffast-math: no branches inside the inner loops (selects
 * instead), loop-invariant tests such as `accum` hoisted out, and reductions written
 * with 16 independent partial sums (a float reduction is otherwise not reordered, so it
 * stays scalar).  exp/tanh use a branch-free Cephes-style polynomial that vectorises
 * (error within a few float ulps).  Statistics (batchnorm) sum each contiguous row in
 * float lanes and the rows in double.  Pooling goes tap by tap over output rows, with
 * AVX-512 loops for the common 2x2 stride-2 case (see pool.c).  The fast
 * kernel files are built with -fno-math-errno, so sqrtf is an instruction and Adam vectorises.
 *
 * Each family's file (conv.c, pool.c, ...) has its plain reference twin beside it
 * (conv_ref.c, ...): the plainest correct loop for every fast kernel, with the
 * same signature and a _ref suffix.  Each one is a direct transcription of the op's
 * definition — convolution as its six nested sums with a bounds test on every tap,
 * pooling window by window, batchnorm statistics summed in double — with no BLAS, no
 * hoisting and no cleverness, so that it can be checked by eye.  test_kernels holds
 * the fast kernels to these, and test_gradcheck holds both kinds' backward kernels to
 * finite differences of their forward kernels.  Slow by design: never call these from
 * a model except to debug one. */
#ifndef NETC_KERNEL_UTIL_H
#define NETC_KERNEL_UTIL_H

#include <math.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include "rt_kernels.h"

/* ---- helpers ---- */

enum { LANES = 16 };

/* Sum of x [n] in LANES independent partial sums (vectorisable). */
static inline float sum_lanes(const float *x, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += x[i + l];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i];
    for (int l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

/* Sum of (x - mu)^2 over x [n]. */
static inline float sumsq_dev_lanes(const float *x, float mu, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            float dx = x[i + l] - mu;
            acc[l] += dx * dx;
        }
    float s = 0.0f;
    for (; i < n; i++)
        s += (x[i] - mu) * (x[i] - mu);
    for (int l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

/* Sum of g * (x - mu) over g, x [n]. */
static inline float dot_dev_lanes(const float *g, const float *x, float mu, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += g[i + l] * (x[i + l] - mu);
    float s = 0.0f;
    for (; i < n; i++)
        s += g[i] * (x[i] - mu);
    for (int l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

/* fn(ctx, lo, hi) over [0, n), cut into one range per thread, each at least `grain`
 * long, with every cut on a multiple of `align` (16 for a float array: no two threads
 * write one 64-byte cache line); one call in the caller when n is too small to cut.
 * Element-wise kernels cut their elements, the others whole planes or channels, so no
 * result depends on the cut. */
typedef void (*range_fn)(void *ctx, size_t lo, size_t hi);

typedef struct {
    range_fn fn;
    void *ctx;
    size_t n, align;
    int parts;
} range_job;

static inline void range_task(void *ctx, int t)
{
    const range_job *j = ctx;
    size_t lo = j->n * (size_t)t / (size_t)j->parts / j->align * j->align;
    size_t hi = j->n * (size_t)(t + 1) / (size_t)j->parts / j->align * j->align;
    if (t + 1 == j->parts)
        hi = j->n;
    if (lo < hi)
        j->fn(j->ctx, lo, hi);
}

static inline void parallel_ranges(size_t n, size_t grain, size_t align, range_fn fn, void *ctx)
{
    size_t parts = (size_t)rt_parallel_threads();
    if (grain < align)
        grain = align;
    if (parts > n / grain)
        parts = n / grain;
    if (parts < 2) {
        fn(ctx, 0, n);
        return;
    }
    range_job j = { fn, ctx, n, align, (int)parts };
    rt_parallel_for(j.parts, range_task, &j);
}

/* Element-wise loops below this many values run in one thread. */
enum { GRAIN = 32768 };

/* dst [n] = src (accum 0) or dst += src (accum 1); dst == src with accum 0 is a no-op. */
static inline void copy_or_add(float *dst, const float *src, size_t n, int accum)
{
    if (accum) {
        for (size_t i = 0; i < n; i++)
            dst[i] += src[i];
    } else if (dst != src) {
        memmove(dst, src, n * sizeof(float));
    }
}

/* e^x, branch-free so that loops calling it vectorise: x = k ln2 + r with |r| <= ln2/2,
 * e^r by the Cephes expf polynomial, 2^k built in the exponent bits.  k is rounded by
 * adding 1.5*2^23, whose bits then hold k in their low half: gcc 12 will not vectorise
 * floorf or a float-to-int conversion without -fno-trapping-math, but it does
 * vectorise this.  x is clamped to [-87, 88], so the result is always a normal float
 * (e^-87 ~ 1.6e-38 stands in for anything smaller); NaN stays NaN.  Relative error
 * about 2e-7. */
static inline float exp_fast(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    union { float f; int32_t i; } shifted = { .f = x * 1.44269504088896341f + 12582912.0f };
    float k = shifted.f - 12582912.0f;
    float r = x - k * 0.693359375f;
    r = r + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* Shifted unsigned: a NaN x (which the clamps above let through) gives a biased
     * exponent out of range, and a signed shift of it would be undefined; the result
     * is NaN either way, since p is. */
    union { uint32_t i; float f; } scale = { .i = (uint32_t)(shifted.i - 0x4B400000 + 127) << 23 };
    return p * scale.f;
}

/* e^x - 1: a Taylor polynomial where |x| < 0.35 (where e^x - 1 would cancel), else
 * exp_fast(x) - 1.  Absolute error below 1e-7, relative below 1e-6. */
static inline float expm1_fast(float x)
{
    float t = x * (1.0f + x * (1.0f / 2 + x * (1.0f / 6 + x * (1.0f / 24 + x * (1.0f / 120 +
              x * (1.0f / 720 + x * (1.0f / 5040)))))));
    float e = exp_fast(x) - 1.0f;
    return fabsf(x) < 0.35f ? t : e;
}

/* tanh(x): the Cephes tanhf odd polynomial where |x| < 0.625, else
 * sign(x)*(1 - 2/(e^{2|x|} + 1)). */
static inline float tanh_fast(float x)
{
    float ax = fabsf(x);
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float big = 1.0f - 2.0f / (exp_fast(2.0f * ax) + 1.0f);
    big = x < 0.0f ? -big : big;
    return ax < 0.625f ? small : big;
}

/* The outputs o in [0, out) whose input coordinate o*stride + offset lies in [0, size),
 * as the range [*lo, *hi). */
static inline void valid_range(int offset, int stride, int size, int out, int *lo, int *hi)
{
    int l = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int h = size - 1 - offset < 0 ? 0 : (size - 1 - offset) / stride + 1;
    if (h > out)
        h = out;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

#if defined(__AVX512F__)
/* The mask of the first n of 16 lanes (0 <= n <= 16). */
static inline __mmask16 tail_mask(int n)
{
    return (__mmask16)((1u << n) - 1u);
}
#endif

/* Zeroes a gradient that is to be overwritten (accum == 0); all the backward loops
 * below then add into it. */
static inline void zero_unless_accum(float *x, size_t n, int accum)
{
    if (!accum)
        memset(x, 0, n * sizeof(float));
}

#endif
