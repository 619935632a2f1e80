/* Compute kernels: the fast versions that generated code calls.
 *
 * Threads.  The kernels split their work over the runtime's thread pool (parallel.c):
 * convolutions by slots of images (RT_CONV_SLOTS fixed ranges of the batch, each with
 * its own workspace and, for the weight gradient, its own partial sum, added in slot
 * order), dense layers by blocks of the product's larger dimension, element-wise and
 * per-channel kernels by ranges of elements, planes or channels.  Every cut depends on
 * the shapes only, or computes each output whole in one thread, so the same inputs give
 * the same bits from run to run and with any number of threads (checked on three models
 * with 1 and 2).  OpenBLAS is set to one thread when the pool has more (its own threads,
 * spinning on small per-image products, cost more than they gave), so every sgemm runs
 * in the task that calls it.
 *
 * Convolution.  Stride 1 (the models' case), with AVX-512: the image is copied once
 * into a zero-padded plane, and the forward is a direct convolution from that plane
 * (register-tiled, see its section) where it pays, else im2col from the plane (plain
 * row copies, no bounds) + one sgemm per image in the Caffe layout:
 * col [C*kh*kw, OH*OW], out_n [K, OH*OW] = weight [K, C*kh*kw] . col, which lands in
 * NCHW directly.  The backward re-runs im2col per image: dweight += dout_n . col^T
 * (sgemm, beta 1); the input gradient is the direct convolution of the padded dout_n
 * with the flipped, transposed filter where it pays, else dcol = weight^T . dout_n and
 * col2im.  Other strides use the bounds-checked im2col and col2im; a 1x1 stride-1
 * unpadded convolution skips im2col (the image already is its col matrix).  Which path
 * pays was measured (docs/performance.md); docs/kernels.md has the layouts compared.
 *
 * Everything else is written as simple loops that gcc and clang vectorise at -O3
 * -march=native without -ffast-math: no branches inside the inner loops (selects
 * instead), loop-invariant tests such as `accum` hoisted out, and reductions written
 * with 16 independent partial sums (a float reduction is otherwise not reordered, so it
 * stays scalar).  exp/tanh use a branch-free Cephes-style polynomial that vectorises
 * (error within a few float ulps).  Statistics (batchnorm) sum each contiguous row in
 * float lanes and the rows in double.  Pooling goes tap by tap over output rows, with
 * AVX-512 loops for the common 2x2 stride-2 case (see its section).  This file is
 * built with -fno-math-errno, so sqrtf is an instruction and Adam vectorises.
 * kernels_ref.c holds the plain version of each kernel. */
#include <cblas.h>
#include <math.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <string.h>
#include "netc_rt.h"
#include "rt_parallel.h"

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

static void range_task(void *ctx, int t)
{
    const range_job *j = ctx;
    size_t lo = j->n * (size_t)t / (size_t)j->parts / j->align * j->align;
    size_t hi = j->n * (size_t)(t + 1) / (size_t)j->parts / j->align * j->align;
    if (t + 1 == j->parts)
        hi = j->n;
    if (lo < hi)
        j->fn(j->ctx, lo, hi);
}

static void parallel_ranges(size_t n, size_t grain, size_t align, range_fn fn, void *ctx)
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
static void copy_or_add(float *dst, const float *src, size_t n, int accum)
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
    union { int32_t i; float f; } scale = { .i = (shifted.i - 0x4B400000 + 127) << 23 };
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

/* ---- conv2d ---- */

/* A 1x1, stride-1, unpadded convolution: the image [C, H*W] is its own col matrix. */
static int conv_is_pointwise(const rt_conv_desc *d)
{
    return d->kh == 1 && d->kw == 1 && d->stride == 1 && d->pad_t == 0 && d->pad_l == 0 &&
           d->pad_b == 0 && d->pad_r == 0;
}

/* The images of a batch are split into RT_CONV_SLOTS slots (contiguous ranges, by
 * slot_range), which the pool's threads take as tasks.  The workspace holds, per slot:
 * a col matrix [CKK, OHW]; the image as a zero-padded plane xp [C, HP, WP]
 * (HP = H + pad_t + pad_b, likewise WP); and the output gradient as a zero-padded plane
 * dyp [K, H + kh - 1, W + kw - 1] (see the direct convolution below), each followed by
 * CONV_SLACK floats of room for whole-vector loads and stores; then, for every slot but
 * the first, a partial weight and bias gradient [K*CKK + K]; then, once, the weights
 * packed for the direct convolution, forward [(K + 8) * CKK] and backward
 * [(C + 8) * K*kh*kw].  All but the partial gradients are absent for a pointwise
 * convolution.  Slot 0 adds into dweight and dbias directly, the others are added in
 * afterwards in slot order, so the results depend on N and RT_CONV_SLOTS, never on the
 * thread count.  The compiler's conv2d_work (compiler/ops.c) computes the same size. */
enum { CONV_SLACK = 16 };

typedef struct {
    size_t col, xp, dyp, part, packed;   /* floats of each region, as above */
} conv_sizes;

static conv_sizes conv_sizes_of(const rt_conv_desc *d)
{
    size_t ckk = (size_t)d->C * d->kh * d->kw, taps = (size_t)d->kh * d->kw;
    conv_sizes z = { 0, 0, 0, (size_t)d->K * ckk + d->K, 0 };
    if (conv_is_pointwise(d))
        return z;
    z.col = ckk * d->OH * d->OW + CONV_SLACK;
    z.xp = (size_t)d->C * (d->H + d->pad_t + d->pad_b) * (d->W + d->pad_l + d->pad_r) + CONV_SLACK;
    z.dyp = (size_t)d->K * (d->H + d->kh - 1) * (d->W + d->kw - 1) + CONV_SLACK;
    z.packed = (size_t)(d->K + 8) * ckk + (size_t)(d->C + 8) * d->K * taps;
    return z;
}

size_t rt_conv2d_workspace_floats(const rt_conv_desc *d)
{
    conv_sizes z = conv_sizes_of(d);
    return RT_CONV_SLOTS * (z.col + z.xp + z.dyp) + (RT_CONV_SLOTS - 1) * z.part + z.packed;
}

/* Slot s's buffers in the workspace (dw and db are NULL for slot 0), and the packed
 * weights, forward (wf) and backward (wb). */
typedef struct {
    float *col, *xp, *dyp, *dw, *db, *wf, *wb;
} conv_mem;

static conv_mem conv_mem_of(float *work, const rt_conv_desc *d, int s)
{
    conv_sizes z = conv_sizes_of(d);
    size_t slot = z.col + z.xp + z.dyp;
    conv_mem m = { NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    m.col = work + (size_t)s * slot;
    m.xp = m.col + z.col;
    m.dyp = m.xp + z.xp;
    if (s > 0) {
        m.dw = work + RT_CONV_SLOTS * slot + (size_t)(s - 1) * z.part;
        m.db = m.dw + (size_t)d->K * d->C * d->kh * d->kw;
    }
    if (z.packed) {
        m.wf = work + RT_CONV_SLOTS * slot + (RT_CONV_SLOTS - 1) * z.part;
        m.wb = m.wf + (size_t)(d->K + 8) * d->C * d->kh * d->kw;
    }
    return m;
}

/* The slots used for N images (at most one per image) and slot s's images [*lo, *hi). */
static int conv_slots(int N)
{
    return N < RT_CONV_SLOTS ? N : RT_CONV_SLOTS;
}

static void slot_range(int N, int s, int *lo, int *hi)
{
    int used = conv_slots(N);
    *lo = (int)((long long)N * s / used);
    *hi = (int)((long long)N * (s + 1) / used);
}

/* The outputs o in [0, out) whose input coordinate o*stride + offset lies in [0, size),
 * as the range [*lo, *hi). */
static void valid_range(int offset, int stride, int size, int out, int *lo, int *hi)
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

/* Short rows: im2col and col2im move rows of OW floats (14 or 28 in the LeNet-sized
 * nets), where a memcpy call costs more than the copy, and gcc and clang turn plain copy
 * loops back into memcpy calls.  With AVX-512 these are 16-float vector loops with one
 * masked operation for the tail (nothing read or written outside the row); otherwise
 * plain loops. */
#if defined(__AVX512F__)
static inline __mmask16 tail_mask(int n)
{
    return (__mmask16)((1u << n) - 1u);
}

/* dst [n] = src [n]. */
static inline void copy_row(float *dst, const float *src, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
    }
}

/* dst [n] = 0. */
static inline void zero_row(float *dst, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_setzero_ps());
    if (i < n)
        _mm512_mask_storeu_ps(dst + i, tail_mask(n - i), _mm512_setzero_ps());
}

/* dst [n] += src [n]. */
static inline void add_row(float *dst, const float *src, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_add_ps(_mm512_loadu_ps(dst + i), _mm512_loadu_ps(src + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + i), _mm512_maskz_loadu_ps(m, src + i));
        _mm512_mask_storeu_ps(dst + i, m, v);
    }
}
#else
static inline void copy_row(float *dst, const float *src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = src[i];
}

static inline void zero_row(float *dst, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = 0.0f;
}

static inline void add_row(float *dst, const float *src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] += src[i];
}
#endif

/* col [C*kh*kw, OH*OW] from one image x [C,H,W]: row (c,i,j), column (oh,ow) holds
 * x[c][oh*stride - pad_t + i][ow*stride - pad_l + j], 0 outside the image.  The valid
 * range of each row is computed once, so the inner loop is a plain copy (stride 1) or a
 * strided one, framed by zeros. */
static void im2col(float *col, const float *x, const rt_conv_desc *d)
{
    int OH = d->OH, OW = d->OW, s = d->stride;
    for (int c = 0; c < d->C; c++)
        for (int i = 0; i < d->kh; i++) {
            int oh_lo, oh_hi;
            valid_range(i - d->pad_t, s, d->H, OH, &oh_lo, &oh_hi);
            for (int j = 0; j < d->kw; j++) {
                int ow_lo, ow_hi;
                valid_range(j - d->pad_l, s, d->W, OW, &ow_lo, &ow_hi);
                float *row = col + (size_t)((c * d->kh + i) * d->kw + j) * OH * OW;
                int iw0 = j - d->pad_l;
                zero_row(row, oh_lo * OW);
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *src = x + ((size_t)c * d->H + oh * s - d->pad_t + i) * d->W;
                    float *dst = row + (size_t)oh * OW;
                    zero_row(dst, ow_lo);
                    if (s == 1) {
                        copy_row(dst + ow_lo, src + ow_lo + iw0, ow_hi - ow_lo);
                    } else {
                        for (int ow = ow_lo; ow < ow_hi; ow++)
                            dst[ow] = src[ow * s + iw0];
                    }
                    zero_row(dst + ow_hi, OW - ow_hi);
                }
                zero_row(row + (size_t)oh_hi * OW, (OH - oh_hi) * OW);
            }
        }
}

/* x [C,H,W] += col2im(col [C*kh*kw, OH*OW]): the adjoint of im2col. */
static void col2im_add(float *x, const float *col, const rt_conv_desc *d)
{
    int OH = d->OH, OW = d->OW, s = d->stride;
    for (int c = 0; c < d->C; c++)
        for (int i = 0; i < d->kh; i++) {
            int oh_lo, oh_hi;
            valid_range(i - d->pad_t, s, d->H, OH, &oh_lo, &oh_hi);
            for (int j = 0; j < d->kw; j++) {
                int ow_lo, ow_hi;
                valid_range(j - d->pad_l, s, d->W, OW, &ow_lo, &ow_hi);
                const float *row = col + (size_t)((c * d->kh + i) * d->kw + j) * OH * OW;
                int iw0 = j - d->pad_l;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    float *dst = x + ((size_t)c * d->H + oh * s - d->pad_t + i) * d->W;
                    const float *src = row + (size_t)oh * OW;
                    if (s == 1) {
                        add_row(dst + ow_lo + iw0, src + ow_lo, ow_hi - ow_lo);
                    } else {
                        for (int ow = ow_lo; ow < ow_hi; ow++)
                            dst[ow * s + iw0] += src[ow];
                    }
                }
            }
        }
}

/* Zero-padded planes: p [C, HP, WP] holds x [C, H, W] at row `top`, column `left` of
 * each plane, zeros elsewhere. */
typedef struct {
    int C, H, W, top, left, HP, WP;
} plane_geom;

/* ---- direct convolution (stride 1, AVX-512 only) ----
 * A stride-1 convolution reads, for filter tap (c, i, j) and output row oh, the OW
 * consecutive floats at (c, oh + i, j) of the zero-padded input plane, so it needs no
 * im2col: a tile of outputs (MR output channels x NV vectors of 16 output pixels, each
 * vector a stretch of one output row) keeps its MR*NV sums in registers while the loop
 * over the taps loads NV vectors from the plane, broadcasts MR weights and does MR*NV
 * fused multiply-adds.  The weights are packed once per call as [M/MR][taps][MR], so
 * the broadcasts read consecutive floats.  Rows up to 16 wide take 3 rows per tile
 * (MR = 8, 24 sums), up to 32 wide 2 rows of 2 vectors (MR = 6), up to 48 one row of
 * 3, up to 64 one of 4; a tile's last rows repeat the plane's last row when OH runs
 * out (same sums, stored twice), so no tile overlaps another.  The lanes past OW read
 * whatever follows in the plane (within its slack) and are never stored.  Each output
 * is one sum over the taps in their natural order, the same for every tiling.
 *
 * The input gradient of a stride-1 convolution is the same operation: a convolution of
 * dout, padded by kh - 1 - pad_t above (and so on), with the filter flipped and its two
 * channel axes swapped.  The weight gradient stays im2col + sgemm. */

/* One direct convolution: output y [M, OH, OW] (+)= conv(planes x [C, HP, WP],
 * packed weights wpk) + bias [M] (or NULL). */
typedef struct {
    const float *x, *wpk, *bias, *init;
    float *y;
    int C, HP, WP, kh, kw, M, OH, OW, accum;
} direct_conv;

/* Rows per tile and MR for an output row of OW floats; 0 rows: not handled here. */
static int direct_rows(int OW, int *mr)
{
    int vectors = (OW + 15) / 16;
    *mr = vectors == 1 || vectors == 3 ? 8 : 6;
    switch (vectors) {
    case 1: return 3;
    case 2: return 2;
    case 3: case 4: return 1;
    default: return 0;
    }
}

/* wpk [ceil(M/MR)][C*kh*kw][MR] from weights in PyTorch's order, as a direct
 * convolution with M outputs over C input channels sees them: weight (m, c, i, j) at
 * w[m*sm + c*sc + i*si + j*sj]; zeros past M. */
static void direct_pack(float *wpk, const float *w, int M, int C, int kh, int kw, int mr,
                        ptrdiff_t sm, ptrdiff_t sc, ptrdiff_t si, ptrdiff_t sj)
{
    size_t taps = (size_t)C * kh * kw;
    for (int m0 = 0; m0 < M; m0 += mr)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++) {
                    float *dst = wpk + (size_t)m0 * taps + (((size_t)c * kh + i) * kw + j) * mr;
                    for (int m = 0; m < mr; m++)
                        dst[m] = m0 + m < M ? w[(m0 + m) * sm + c * sc + i * si + j * sj] : 0.0f;
                }
}

#if defined(__AVX512F__)
/* Whether the direct convolution pays, for an output [M, *, OW] summed over `taps`
 * products (C*kh*kw): measured against im2col + sgemm (docs/performance.md), it wins or
 * ties where at least 7/8 of the vector lanes are used (OW of 14-16, 28-32, 42-48,
 * 56-64), there are at least 8 outputs channels (MR = 6 or 8) and at least 64 taps (a
 * short sum leaves the tile's setup and masked stores dominant: im2col + sgemm was
 * twice as fast on 1-channel 3x3 and 5x5 inputs). */
static int direct_fits(int M, int OW, int taps)
{
    int vectors = (OW + 15) / 16;
    return M >= 8 && taps >= 64 && vectors <= 4 && 8 * OW >= 7 * 16 * vectors;
}

static inline __attribute__((always_inline)) void direct_tile(const direct_conv *p, int mr, int nv,
                                                              int m0, const int *xo, const int *yo,
                                                              const __mmask16 *mk)
{
    __m512 acc[8][4];
    int mv = p->M - m0 < mr ? p->M - m0 : mr;
    size_t OHW = (size_t)p->OH * p->OW;
    for (int m = 0; m < mr; m++)
        for (int v = 0; v < nv; v++) {
            __m512 a = _mm512_setzero_ps();
            if (p->bias && m < mv)
                a = _mm512_set1_ps(p->bias[m0 + m]);
            if (p->accum && m < mv)
                a = _mm512_maskz_loadu_ps(mk[v], p->y + (m0 + m) * OHW + yo[v]);
            acc[m][v] = a;
        }
    const float *w = p->wpk + (size_t)(m0 / mr) * mr * p->C * p->kh * p->kw;
    for (int c = 0; c < p->C; c++)
        for (int i = 0; i < p->kh; i++) {
            const float *row = p->x + ((size_t)c * p->HP + i) * p->WP;
            for (int j = 0; j < p->kw; j++, w += mr) {
                __m512 xv[4];
                for (int v = 0; v < nv; v++)
                    xv[v] = _mm512_loadu_ps(row + j + xo[v]);
                for (int m = 0; m < mr; m++) {
                    __m512 wv = _mm512_set1_ps(w[m]);
                    for (int v = 0; v < nv; v++)
                        acc[m][v] = _mm512_fmadd_ps(wv, xv[v], acc[m][v]);
                }
            }
        }
    for (int m = 0; m < mr; m++)
        if (m < mv)
            for (int v = 0; v < nv; v++)
                _mm512_mask_storeu_ps(p->y + (m0 + m) * OHW + yo[v], mk[v], acc[m][v]);
}

static void direct_tile_8x3(const direct_conv *p, int m0, const int *xo, const int *yo,
                            const __mmask16 *mk)
{
    direct_tile(p, 8, 3, m0, xo, yo, mk);
}

static void direct_tile_6x4(const direct_conv *p, int m0, const int *xo, const int *yo,
                            const __mmask16 *mk)
{
    direct_tile(p, 6, 4, m0, xo, yo, mk);
}

/* The whole output of one image, tile by tile. */
static void direct_run(const direct_conv *p)
{
    int mr, rows = direct_rows(p->OW, &mr);
    int vectors = (p->OW + 15) / 16, nv = rows * vectors;
    for (int oh0 = 0; oh0 < p->OH; oh0 += rows) {
        int xo[4], yo[4];
        __mmask16 mk[4];
        for (int r = 0; r < rows; r++)
            for (int v = 0; v < vectors; v++) {
                int oh = oh0 + r < p->OH ? oh0 + r : p->OH - 1, ow = 16 * v;
                xo[r * vectors + v] = oh * p->WP + ow;
                yo[r * vectors + v] = oh * p->OW + ow;
                mk[r * vectors + v] = tail_mask(p->OW - ow < 16 ? p->OW - ow : 16);
            }
        for (int m0 = 0; m0 < p->M; m0 += mr) {
            if (nv == 3)
                direct_tile_8x3(p, m0, xo, yo, mk);
            else
                direct_tile_6x4(p, m0, xo, yo, mk);
        }
    }
}

/* p = 0, borders included; nothing writes them afterwards but zeros. */
static void plane_clear(float *p, const plane_geom *g)
{
    size_t n = (size_t)g->C * g->HP * g->WP;
    for (size_t i = 0; i < n; i += 16)
        _mm512_storeu_ps(p + i, _mm512_setzero_ps());
}

/* p's interior = x.  Each row goes in whole vectors whose lanes past W are zeros (loaded
 * masked), so its spill lands in the border, or in the next row, written after it. */
static void plane_fill(float *p, const float *x, const plane_geom *g)
{
    for (int c = 0; c < g->C; c++)
        for (int h = 0; h < g->H; h++) {
            const float *src = x + ((size_t)c * g->H + h) * g->W;
            float *dst = p + ((size_t)c * g->HP + h + g->top) * g->WP + g->left;
            for (int w = 0; w < g->W; w += 16)
                _mm512_storeu_ps(dst + w, _mm512_maskz_loadu_ps(tail_mask(g->W - w < 16 ? g->W - w : 16), src + w));
        }
}

/* col [C*kh*kw, OH*OW] from the padded image (stride 1): row (c,i,j) is, output row by
 * output row, the OW floats at (c, oh + i, j) of the plane, copied in whole vectors
 * whose spill lands in the next output row, written after it (or in the slack). */
static void im2col_plane(float *col, const float *xp, const plane_geom *g, const rt_conv_desc *d)
{
    int OH = d->OH, OW = d->OW;
    for (int c = 0; c < d->C; c++)
        for (int i = 0; i < d->kh; i++)
            for (int j = 0; j < d->kw; j++) {
                float *row = col + (size_t)((c * d->kh + i) * d->kw + j) * OH * OW;
                const float *base = xp + ((size_t)c * g->HP + i) * g->WP + j;
                for (int oh = 0; oh < OH; oh++)
                    for (int ow = 0; ow < OW; ow += 16)
                        _mm512_storeu_ps(row + (size_t)oh * OW + ow, _mm512_loadu_ps(base + (size_t)oh * g->WP + ow));
            }
}

#else
/* Without AVX-512: no direct convolution (direct_run is never called), and the padded
 * planes and their im2col in plain loops. */
static int direct_fits(int M, int OW, int taps)
{
    (void)M;
    (void)OW;
    (void)taps;
    return 0;
}

static void direct_run(const direct_conv *p)
{
    (void)p;
}

static void plane_clear(float *p, const plane_geom *g)
{
    memset(p, 0, (size_t)g->C * g->HP * g->WP * sizeof(float));
}

static void plane_fill(float *p, const float *x, const plane_geom *g)
{
    for (int c = 0; c < g->C; c++)
        for (int h = 0; h < g->H; h++)
            copy_row(p + ((size_t)c * g->HP + h + g->top) * g->WP + g->left,
                     x + ((size_t)c * g->H + h) * g->W, g->W);
}

static void im2col_plane(float *col, const float *xp, const plane_geom *g, const rt_conv_desc *d)
{
    int OH = d->OH, OW = d->OW;
    for (int c = 0; c < d->C; c++)
        for (int i = 0; i < d->kh; i++)
            for (int j = 0; j < d->kw; j++) {
                float *row = col + (size_t)((c * d->kh + i) * d->kw + j) * OH * OW;
                const float *base = xp + ((size_t)c * g->HP + i) * g->WP + j;
                for (int oh = 0; oh < OH; oh++)
                    copy_row(row + (size_t)oh * OW, base + (size_t)oh * g->WP, OW);
            }
}
#endif

/* Stride 1 (and not pointwise): im2col goes through the padded plane. */
static int conv_is_stride1(const rt_conv_desc *d)
{
    return d->stride == 1 && !conv_is_pointwise(d);
}

/* The direct forward applies: stride 1, and direct_fits. */
static int conv_direct_forward(const rt_conv_desc *d)
{
    return conv_is_stride1(d) && direct_fits(d->K, d->OW, d->C * d->kh * d->kw);
}

/* The direct input gradient applies: stride 1, direct_fits, and no pad as wide as the
 * filter (the padding of dout would be negative). */
static int conv_direct_backward(const rt_conv_desc *d)
{
    return conv_is_stride1(d) && direct_fits(d->C, d->W, d->K * d->kh * d->kw) &&
           d->pad_t < d->kh && d->pad_b < d->kh && d->pad_l < d->kw && d->pad_r < d->kw;
}

/* The padded-image geometry of the input (xp) and of the output gradient (dyp). */
static plane_geom conv_xp_geom(const rt_conv_desc *d)
{
    plane_geom g = { d->C, d->H, d->W, d->pad_t, d->pad_l, d->H + d->pad_t + d->pad_b,
                     d->W + d->pad_l + d->pad_r };
    return g;
}

static plane_geom conv_dyp_geom(const rt_conv_desc *d)
{
    plane_geom g = { d->K, d->OH, d->OW, d->kh - 1 - d->pad_t, d->kw - 1 - d->pad_l,
                     d->H + d->kh - 1, d->W + d->kw - 1 };
    return g;
}

/* What a convolution task needs: the kernel's arguments. */
typedef struct {
    float *out, *dinp, *dweight, *dbias, *work;
    const float *inp, *weight, *bias, *dout;
    int N, accum;
    const rt_conv_desc *d;
} conv_job;

/* Forward of slot s's images: the direct convolution, or im2col and
 * y_n [K, OHW] = weight . col_n (+ bias, pre-filled) by sgemm. */
static void conv_forward_slot(void *ctx, int s)
{
    const conv_job *j = ctx;
    const rt_conv_desc *d = j->d;
    int CKK = d->C * d->kh * d->kw, OHW = d->OH * d->OW, lo, hi;
    conv_mem m = conv_mem_of(j->work, d, s);
    plane_geom g = conv_xp_geom(d);
    slot_range(j->N, s, &lo, &hi);
    if (conv_direct_forward(d)) {
        plane_clear(m.xp, &g);
        direct_conv p = { .x = m.xp, .wpk = m.wf, .bias = j->bias, .C = d->C, .HP = g.HP,
                          .WP = g.WP, .kh = d->kh, .kw = d->kw, .M = d->K, .OH = d->OH,
                          .OW = d->OW };
        for (int n = lo; n < hi; n++) {
            plane_fill(m.xp, j->inp + (size_t)n * d->C * d->H * d->W, &g);
            p.y = j->out + (size_t)n * d->K * OHW;
            direct_run(&p);
        }
        return;
    }
    int stride1 = conv_is_stride1(d);
    if (stride1)
        plane_clear(m.xp, &g);
    for (int n = lo; n < hi; n++) {
        const float *x = j->inp + (size_t)n * d->C * d->H * d->W;
        float *y = j->out + (size_t)n * d->K * OHW;
        const float *b = x;
        if (stride1) {
            plane_fill(m.xp, x, &g);
            im2col_plane(m.col, m.xp, &g, d);
            b = m.col;
        } else if (!conv_is_pointwise(d)) {
            im2col(m.col, x, d);
            b = m.col;
        }
        float beta = 0.0f;
        if (j->bias) {
            for (int k = 0; k < d->K; k++)
                for (int o = 0; o < OHW; o++)
                    y[(size_t)k * OHW + o] = j->bias[k];
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->K, OHW, CKK, 1.0f, j->weight,
                    CKK, b, OHW, beta, y, OHW);
    }
}

/* out [N,K,OH,OW], inp [N,C,H,W], weight [K,C,kh,kw], bias [K] or NULL,
 * work [rt_conv2d_workspace_floats(d)]. */
void rt_conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                       float *work, int N, const rt_conv_desc *d)
{
    if (conv_direct_forward(d)) {
        int mr;
        direct_rows(d->OW, &mr);
        int CKK = d->C * d->kh * d->kw;
        direct_pack(conv_mem_of(work, d, 0).wf, weight, d->K, d->C, d->kh, d->kw, mr, CKK,
                    d->kh * d->kw, d->kw, 1);
    }
    conv_job j = { .out = out, .work = work, .inp = inp, .weight = weight, .bias = bias, .N = N,
                   .d = d };
    rt_parallel_for(conv_slots(N), conv_forward_slot, &j);
}

/* Backward of slot s's images: for each, im2col, dweight += dy_n . col^T, dbias += row
 * sums of dy_n, then the input gradient: the direct convolution of the padded dy_n, or
 * dcol = weight^T . dy_n (into the col matrix) and col2im into dx_n.  Slots after the
 * first accumulate into their partial gradients, which the first image overwrites
 * (beta 0), so the workspace's old contents never matter. */
static void conv_backward_slot(void *ctx, int s)
{
    const conv_job *j = ctx;
    const rt_conv_desc *d = j->d;
    int CKK = d->C * d->kh * d->kw, OHW = d->OH * d->OW, CHW = d->C * d->H * d->W, lo, hi;
    int pointwise = conv_is_pointwise(d), stride1 = conv_is_stride1(d);
    int direct = j->dinp && conv_direct_backward(d);
    conv_mem m = conv_mem_of(j->work, d, s);
    float *dw = s > 0 ? m.dw : j->dweight, *db = s > 0 ? m.db : j->dbias;
    plane_geom gx = conv_xp_geom(d), gy = conv_dyp_geom(d);
    direct_conv p = { .x = m.dyp, .wpk = m.wb, .C = d->K, .HP = gy.HP, .WP = gy.WP, .kh = d->kh,
                      .kw = d->kw, .M = d->C, .OH = d->H, .OW = d->W, .accum = j->accum };
    if (stride1)
        plane_clear(m.xp, &gx);
    if (direct)
        plane_clear(m.dyp, &gy);
    slot_range(j->N, s, &lo, &hi);
    for (int n = lo; n < hi; n++) {
        const float *x = j->inp + (size_t)n * CHW;
        const float *dy = j->dout + (size_t)n * d->K * OHW;
        const float *b = x;
        if (stride1) {
            plane_fill(m.xp, x, &gx);
            im2col_plane(m.col, m.xp, &gx, d);
            b = m.col;
        } else if (!pointwise) {
            im2col(m.col, x, d);
            b = m.col;
        }
        int fresh = s > 0 && n == lo;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->K, CKK, OHW, 1.0f, dy, OHW, b,
                    OHW, fresh ? 0.0f : 1.0f, dw, CKK);
        if (j->dbias)
            for (int k = 0; k < d->K; k++)
                db[k] = (fresh ? 0.0f : db[k]) + sum_lanes(dy + (size_t)k * OHW, OHW);
        if (!j->dinp)
            continue;
        float *dx = j->dinp + (size_t)n * CHW;
        if (direct) {
            plane_fill(m.dyp, dy, &gy);
            p.y = dx;
            direct_run(&p);
        } else if (pointwise) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d->C, OHW, d->K, 1.0f, j->weight,
                        CKK, dy, OHW, j->accum ? 1.0f : 0.0f, dx, OHW);
        } else {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, OHW, d->K, 1.0f, j->weight,
                        CKK, dy, OHW, 0.0f, m.col, OHW);
            if (!j->accum)
                memset(dx, 0, (size_t)CHW * sizeof(float));
            col2im_add(dx, m.col, d);
        }
    }
}

/* dinp [N,C,H,W] or NULL, dweight [K,C,kh,kw] +=, dbias [K] += or NULL,
 * dout [N,K,OH,OW], inp [N,C,H,W], weight [K,C,kh,kw], work as for the forward. */
void rt_conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, float *work, int N,
                        const rt_conv_desc *d, int accum)
{
    if (dinp && conv_direct_backward(d)) {
        /* The flipped filter with its channel axes swapped: output c, input k, tap
         * (i, j) is weight (k, c, kh-1-i, kw-1-j). */
        int mr, taps = d->kh * d->kw;
        direct_rows(d->W, &mr);
        const float *corner = weight + (size_t)(d->kh - 1) * d->kw + d->kw - 1;
        direct_pack(conv_mem_of(work, d, 0).wb, corner, d->C, d->K, d->kh, d->kw, mr, taps,
                    (ptrdiff_t)d->C * taps, -d->kw, -1);
    }
    conv_job j = { .dinp = dinp, .dweight = dweight, .dbias = dbias, .work = work, .inp = inp,
                   .weight = weight, .dout = dout, .N = N, .accum = accum, .d = d };
    int slots = conv_slots(N);
    rt_parallel_for(slots, conv_backward_slot, &j);
    size_t nw = (size_t)d->K * d->C * d->kh * d->kw;
    for (int s = 1; s < slots; s++) {
        conv_mem m = conv_mem_of(work, d, s);
        for (size_t i = 0; i < nw; i++)
            dweight[i] += m.dw[i];
        if (dbias)
            for (int k = 0; k < d->K; k++)
                dbias[k] += m.db[k];
    }
}

/* ---- dense ----
 * One sgemm over the batch each way, cut along the larger dimension of the product (so
 * the operand that is split is the larger one, and each task packs only its share of
 * it) into GEMM_BLOCKS blocks of at least 64 rows or columns, which the threads take as
 * tasks.  The cut depends on the shape only: OpenBLAS picks its kernel by the size of
 * the call (small products take another summation order), so a cut by thread count
 * would change the last bits with the thread count. */
enum { GEMM_BLOCKS = 4 };

typedef struct {
    CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb, ldc, parts, split_n;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

/* Block t of the product: rows (or columns) [t*len/parts, (t+1)*len/parts), rounded to 16. */
static void gemm_block(void *ctx, int t)
{
    const gemm_job *g = ctx;
    int len = g->split_n ? g->N : g->M;
    int lo = (int)((long long)len * t / g->parts) / 16 * 16;
    int hi = t + 1 == g->parts ? len : (int)((long long)len * (t + 1) / g->parts) / 16 * 16;
    if (hi <= lo)
        return;
    const float *A = g->A, *B = g->B;
    float *C = g->C;
    int M = g->M, N = g->N;
    if (g->split_n) {
        B += g->tb == CblasNoTrans ? (size_t)lo : (size_t)lo * g->ldb;
        C += lo;
        N = hi - lo;
    } else {
        A += g->ta == CblasNoTrans ? (size_t)lo * g->lda : (size_t)lo;
        C += (size_t)lo * g->ldc;
        M = hi - lo;
    }
    cblas_sgemm(CblasRowMajor, g->ta, g->tb, M, N, g->K, g->alpha, A, g->lda, B, g->ldb, g->beta,
                C, g->ldc);
}

/* cblas_sgemm (row-major) in blocks over the pool; small products run in one call. */
static void parallel_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K,
                           float alpha, const float *A, int lda, const float *B, int ldb,
                           float beta, float *C, int ldc)
{
    gemm_job g = { ta, tb, M, N, K, lda, ldb, ldc, GEMM_BLOCKS, N > M, alpha, beta, A, B, C };
    int len = g.split_n ? N : M;
    if ((double)M * N * K < 1e6)
        g.parts = 1;
    if (g.parts > len / 64)
        g.parts = len / 64;
    if (g.parts < 2) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    rt_parallel_for(g.parts, gemm_block, &g);
}

/* out [N,OC], inp [N,C], weight [OC,C], bias [OC] or NULL. */
void rt_dense_forward(float *out, const float *inp, const float *weight, const float *bias,
                      int N, int C, int OC)
{
    float beta = 0.0f;
    if (bias) {
        for (int n = 0; n < N; n++)
            memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    parallel_sgemm(CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, beta, out, OC);
}

/* dinp [N,C] or NULL, dweight [OC,C] +=, dbias [OC] += or NULL, dout [N,OC], inp [N,C],
 * weight [OC,C]. */
void rt_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                       const float *inp, const float *weight, int N, int C, int OC, int accum)
{
    if (dinp)
        parallel_sgemm(CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C,
                       accum ? 1.0f : 0.0f, dinp, C);
    parallel_sgemm(CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    if (dbias)
        for (int n = 0; n < N; n++)
            for (int oc = 0; oc < OC; oc++)
                dbias[oc] += dout[(size_t)n * OC + oc];
}

/* ---- pooling ----
 * Pooling runs tap by tap, like im2col: for an output row and one tap (i, j) of the
 * window, one pass over the outputs whose tap lies inside the image (ranges computed
 * once per call), so the inner loop is a branch-free strided read.  Max pooling keeps
 * the running best and its tap in selects, visiting taps in the reference's order, so
 * the first maximum wins and NaN propagates; the running values of up to POOL_CHUNK
 * outputs live on the stack.  The helpers are inlined with stride 1 and 2 as
 * constants, which lets the compiler vectorise those (the common) cases. */

enum { POOL_CHUNK = 256 };

/* One tap of max pooling over outputs [lo, hi) of a row: best/at are indexed from ow0;
 * at < 0 means no tap seen yet. */
static inline void max_tap(float *best, int32_t *at, const float *row, int offset, int stride,
                           int lo, int hi, int ow0, int tap)
{
    for (int ow = lo; ow < hi; ow++) {
        float v = row[ow * stride + offset];
        int k = ow - ow0;
        int take = v > best[k] || isnan(v) || at[k] < 0;
        best[k] = take ? v : best[k];
        at[k] = take ? tap : at[k];
    }
}

/* One tap of average pooling: acc [k] += row[ow*stride + offset]. */
static inline void sum_tap(float *acc, const float *row, int offset, int stride, int lo, int hi,
                           int ow0)
{
    for (int ow = lo; ow < hi; ow++)
        acc[ow - ow0] += row[ow * stride + offset];
}

/* The adjoint: row[ow*stride + offset] += g[ow]*scale. */
static inline void scatter_tap(float *row, const float *g, float scale, int offset, int stride,
                               int lo, int hi)
{
    for (int ow = lo; ow < hi; ow++)
        row[ow * stride + offset] += g[ow] * scale;
}

/* For each tap column j < kw (the first POOL_TAPS of them), the outputs [lo, hi) whose
 * tap lies inside the row: computed once per call, as valid_range divides. */
enum { POOL_TAPS = 256 };

typedef struct { int lo[POOL_TAPS], hi[POOL_TAPS]; } tap_ranges;

static void tap_ranges_init(tap_ranges *t, const rt_pool_desc *d)
{
    for (int j = 0; j < d->kw && j < POOL_TAPS; j++)
        valid_range(j - d->pad, d->stride, d->W, d->OW, &t->lo[j], &t->hi[j]);
}

/* [*lo, *hi): the outputs of the chunk [ow0, ow0 + len) whose tap j lies inside the row. */
static void tap_range(const tap_ranges *t, const rt_pool_desc *d, int j, int ow0, int len,
                      int *lo, int *hi)
{
    if (j < POOL_TAPS) {
        *lo = t->lo[j];
        *hi = t->hi[j];
    } else {
        valid_range(j - d->pad, d->stride, d->W, d->OW, lo, hi);
    }
    *lo = *lo < ow0 ? ow0 : *lo;
    *hi = *hi > ow0 + len ? ow0 + len : *hi;
    if (*hi < *lo)
        *hi = *lo;
}

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
/* With AVX-512, 16 outputs at a time: the two input rows' 32 values each are split into
 * even and odd columns (one permute each), giving the window's four taps as four
 * vectors, combined in the reference's order with the same rule (take v where v > best
 * or v is NaN); the winning taps are narrowed to bytes.  n <= 16 outputs, from rows r0,
 * r1 at column 0 of the block; masked loads and stores touch nothing past 2n inputs or
 * n outputs. */
static inline void max_2x2_x16(float *y, uint8_t *a, const float *r0, const float *r1, int n)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int n0 = 2 * n < 16 ? 2 * n : 16;
    __mmask16 m0 = tail_mask(n0), m1 = tail_mask(2 * n - n0);
    __m512 a0 = _mm512_maskz_loadu_ps(m0, r0), a1 = _mm512_maskz_loadu_ps(m1, r0 + 16);
    __m512 b0 = _mm512_maskz_loadu_ps(m0, r1), b1 = _mm512_maskz_loadu_ps(m1, r1 + 16);
    __m512 tap[4] = { _mm512_permutex2var_ps(a0, even, a1), _mm512_permutex2var_ps(a0, odd, a1),
                      _mm512_permutex2var_ps(b0, even, b1), _mm512_permutex2var_ps(b0, odd, b1) };
    __m512 best = tap[0];
    __m512i at = _mm512_setzero_si512();
    for (int t = 1; t < 4; t++) {
        __mmask16 take = _mm512_cmp_ps_mask(tap[t], best, _CMP_GT_OQ) |
                         _mm512_cmp_ps_mask(tap[t], tap[t], _CMP_UNORD_Q);
        best = _mm512_mask_mov_ps(best, take, tap[t]);
        at = _mm512_mask_mov_epi32(at, take, _mm512_set1_epi32(t));
    }
    __mmask16 m = tail_mask(n);
    _mm512_mask_storeu_ps(y, m, best);
    _mm_mask_storeu_epi8(a, m, _mm512_cvtepi32_epi8(at));
}

static void maxpool_2x2s2(float *y, uint8_t *a, const float *x, int W, int OH, int OW)
{
    for (int oh = 0; oh < OH; oh++) {
        const float *r0 = x + (size_t)2 * oh * W, *r1 = r0 + W;
        for (int ow = 0; ow < OW; ow += 16)
            max_2x2_x16(y + (size_t)oh * OW + ow, a + (size_t)oh * OW + ow, r0 + 2 * ow, r1 + 2 * ow,
                        OW - ow < 16 ? OW - ow : 16);
    }
}

/* The adjoint for one plane: every input of a window gets dy or 0 by its tap, written
 * (accum 0) or added; windows do not overlap.  The odd last row or column that no window
 * covers is left alone (the caller zeroes it for accum 0). */
static void maxpool_2x2s2_backward(float *dx, const float *dy, const uint8_t *a, int W, int OH,
                                   int OW, int accum)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow += 16) {
            int n = OW - ow < 16 ? OW - ow : 16;
            int n0 = 2 * n < 16 ? 2 * n : 16;
            __mmask16 m = tail_mask(n), m0 = tail_mask(n0), m1 = tail_mask(2 * n - n0);
            __m512 g = _mm512_maskz_loadu_ps(m, dy + (size_t)oh * OW + ow);
            __m512i t = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, a + (size_t)oh * OW + ow));
            for (int r = 0; r < 2; r++) {
                __m512 e = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(t, _mm512_set1_epi32(2 * r)), g);
                __m512 o = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(t, _mm512_set1_epi32(2 * r + 1)), g);
                float *row = dx + (size_t)(2 * oh + r) * W + 2 * ow;
                __m512 v0 = _mm512_permutex2var_ps(e, lo, o), v1 = _mm512_permutex2var_ps(e, hi, o);
                if (accum) {
                    v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
                    v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
                }
                _mm512_mask_storeu_ps(row, m0, v0);
                _mm512_mask_storeu_ps(row + 16, m1, v1);
            }
        }
}
#else
/* Without AVX-512: the common 2x2, stride-2, unpadded case, one plane: every window lies
 * inside the image, so each output is four loads and three selects.  The selects are written as
 * bit masks, and the row is cut into blocks of 8 outputs: rows are short (14 for
 * 28x28 input), too short for gcc's 16-wide vector loop, and gcc compiles plain
 * `take ? v : best` on scalars to branches, which mispredict on every other value
 * (about 3x faster than the plain loop with gcc 12 in bench_kernels). */
static inline uint32_t bits_of(float f)
{
    union { float f; uint32_t u; } x = { .f = f };
    return x.u;
}

static inline float float_of(uint32_t u)
{
    union { uint32_t u; float f; } x = { .u = u };
    return x.f;
}

/* One output of 2x2 max pooling: rows r0, r1 at column 2*ow.  take is all ones where
 * v > best or v is NaN (v != v), the reference's rule. */
static inline void max_2x2(float *y, uint8_t *a, const float *r0, const float *r1, int ow)
{
    float best = r0[2 * ow], v;
    uint32_t at = 0, take;
    v = r0[2 * ow + 1];
    take = -(uint32_t)((v > best) | (v != v));
    best = float_of((bits_of(v) & take) | (bits_of(best) & ~take));
    at = (at & ~take) | (1u & take);
    v = r1[2 * ow];
    take = -(uint32_t)((v > best) | (v != v));
    best = float_of((bits_of(v) & take) | (bits_of(best) & ~take));
    at = (at & ~take) | (2u & take);
    v = r1[2 * ow + 1];
    take = -(uint32_t)((v > best) | (v != v));
    best = float_of((bits_of(v) & take) | (bits_of(best) & ~take));
    at = (at & ~take) | (3u & take);
    y[ow] = best;
    a[ow] = (uint8_t)at;
}

static void maxpool_2x2s2(float *y, uint8_t *a, const float *x, int W, int OH, int OW)
{
    for (int oh = 0; oh < OH; oh++) {
        const float *r0 = x + (size_t)2 * oh * W, *r1 = r0 + W;
        float *yr = y + (size_t)oh * OW;
        uint8_t *ar = a + (size_t)oh * OW;
        int ow = 0;
        for (; ow + 8 <= OW; ow += 8)
            for (int l = 0; l < 8; l++)
                max_2x2(yr, ar, r0, r1, ow + l);
        for (; ow < OW; ow++)
            max_2x2(yr, ar, r0, r1, ow);
    }
}
#endif

static int pool_is_2x2s2(const rt_pool_desc *d)
{
    return d->kh == 2 && d->kw == 2 && d->stride == 2 && d->pad == 0;
}

/* The arguments of a pooling kernel, for its range function over planes (n, c). */
typedef struct {
    float *y;
    uint8_t *argmax;
    const float *x, *g;
    const uint8_t *at;
    const rt_pool_desc *d;
    int accum;
} pool_job;

/* Planes below this many output values per thread run in one thread. */
static size_t pool_grain(const rt_pool_desc *d)
{
    size_t per_plane = (size_t)d->H * d->W;
    return per_plane >= GRAIN ? 1 : GRAIN / (per_plane ? per_plane : 1);
}

/* Max pooling of planes [lo, hi): the 2x2 stride-2 loop, or the general tap-by-tap one. */
static void maxpool_forward_planes(void *ctx, size_t lo, size_t hi)
{
    const pool_job *j = ctx;
    const rt_pool_desc *d = j->d;
    int H = d->H, W = d->W, OH = d->OH, OW = d->OW, s = d->stride;
    if (pool_is_2x2s2(d)) {
        for (size_t nc = lo; nc < hi; nc++)
            maxpool_2x2s2(j->y + nc * OH * OW, j->argmax + nc * OH * OW, j->x + nc * H * W, W, OH, OW);
        return;
    }
    tap_ranges taps;
    tap_ranges_init(&taps, d);
    float best[POOL_CHUNK];
    int32_t at[POOL_CHUNK];
    for (size_t nc = lo; nc < hi; nc++) {
        const float *x = j->x + nc * H * W;
        float *y = j->y + nc * OH * OW;
        uint8_t *a = j->argmax + nc * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow0 = 0; ow0 < OW; ow0 += POOL_CHUNK) {
                int len = OW - ow0 < POOL_CHUNK ? OW - ow0 : POOL_CHUNK;
                for (int k = 0; k < len; k++) {
                    best[k] = -INFINITY;
                    at[k] = -1;
                }
                for (int i = 0; i < d->kh; i++) {
                    int ih = oh * s - d->pad + i;
                    if (ih < 0 || ih >= H)
                        continue;
                    for (int jj = 0; jj < d->kw; jj++) {
                        int tlo, thi, tap = i * d->kw + jj;
                        tap_range(&taps, d, jj, ow0, len, &tlo, &thi);
                        if (s == 1)
                            max_tap(best, at, x + (size_t)ih * W, jj - d->pad, 1, tlo, thi, ow0, tap);
                        else if (s == 2)
                            max_tap(best, at, x + (size_t)ih * W, jj - d->pad, 2, tlo, thi, ow0, tap);
                        else
                            max_tap(best, at, x + (size_t)ih * W, jj - d->pad, s, tlo, thi, ow0, tap);
                    }
                }
                for (int k = 0; k < len; k++) {
                    y[oh * OW + ow0 + k] = best[k];
                    a[oh * OW + ow0 + k] = (uint8_t)at[k];
                }
            }
    }
}

/* out [N,C,OH,OW], argmax [N,C,OH,OW], inp [N,C,H,W]. */
void rt_maxpool2d_forward(float *out, uint8_t *argmax, const float *inp, int N,
                          const rt_pool_desc *d)
{
    pool_job j = { .y = out, .argmax = argmax, .x = inp, .d = d };
    parallel_ranges((size_t)N * d->C, pool_grain(d), 1, maxpool_forward_planes, &j);
}

/* The scatter through argmax for planes [lo, hi); the window index decodes through a
 * table of offsets i*W + j. */
static void maxpool_backward_planes(void *ctx, size_t lo, size_t hi)
{
    const pool_job *j = ctx;
    const rt_pool_desc *d = j->d;
    int H = d->H, W = d->W, OH = d->OH, OW = d->OW;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    if (pool_is_2x2s2(d)) {
        for (size_t nc = lo; nc < hi; nc++) {
            float *dx = j->y + nc * H * W;
            if (!j->accum && (H != 2 * OH || W != 2 * OW))
                memset(dx, 0, (size_t)H * W * sizeof(float));
            maxpool_2x2s2_backward(dx, j->g + nc * OH * OW, j->at + nc * OH * OW, W, OH, OW, j->accum);
        }
        return;
    }
#endif
    int offset[256];
    for (int a = 0; a < d->kh * d->kw && a < 256; a++)
        offset[a] = (a / d->kw) * W + a % d->kw;
    for (size_t nc = lo; nc < hi; nc++) {
        float *dx = j->y + nc * H * W;
        const float *dy = j->g + nc * OH * OW;
        const uint8_t *a = j->at + nc * OH * OW;
        if (!j->accum)
            memset(dx, 0, (size_t)H * W * sizeof(float));
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int corner = (oh * d->stride - d->pad) * W + ow * d->stride - d->pad;
                dx[corner + offset[a[oh * OW + ow]]] += dy[oh * OW + ow];
            }
    }
}

/* dinp [N,C,H,W], dout [N,C,OH,OW], argmax [N,C,OH,OW]. */
void rt_maxpool2d_backward(float *dinp, const float *dout, const uint8_t *argmax, int N,
                           const rt_pool_desc *d, int accum)
{
    pool_job j = { .y = dinp, .g = dout, .at = argmax, .d = d, .accum = accum };
    parallel_ranges((size_t)N * d->C, pool_grain(d), 1, maxpool_backward_planes, &j);
}

/* out [N,C,OH,OW], inp [N,C,H,W]; divides by kh*kw (count_include_pad). */
void rt_avgpool2d_forward(float *out, const float *inp, int N, const rt_pool_desc *d)
{
    int H = d->H, W = d->W, OH = d->OH, OW = d->OW, s = d->stride;
    tap_ranges taps;
    tap_ranges_init(&taps, d);
    float inv = 1.0f / (float)(d->kh * d->kw);
    float acc[POOL_CHUNK];
    for (size_t nc = 0; nc < (size_t)N * d->C; nc++) {
        const float *x = inp + nc * H * W;
        float *y = out + nc * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow0 = 0; ow0 < OW; ow0 += POOL_CHUNK) {
                int len = OW - ow0 < POOL_CHUNK ? OW - ow0 : POOL_CHUNK;
                for (int k = 0; k < len; k++)
                    acc[k] = 0.0f;
                for (int i = 0; i < d->kh; i++) {
                    int ih = oh * s - d->pad + i;
                    if (ih < 0 || ih >= H)
                        continue;
                    for (int j = 0; j < d->kw; j++) {
                        int lo, hi;
                        tap_range(&taps, d, j, ow0, len, &lo, &hi);
                        if (s == 1)
                            sum_tap(acc, x + (size_t)ih * W, j - d->pad, 1, lo, hi, ow0);
                        else if (s == 2)
                            sum_tap(acc, x + (size_t)ih * W, j - d->pad, 2, lo, hi, ow0);
                        else
                            sum_tap(acc, x + (size_t)ih * W, j - d->pad, s, lo, hi, ow0);
                    }
                }
                for (int k = 0; k < len; k++)
                    y[oh * OW + ow0 + k] = acc[k] * inv;
            }
    }
}

/* dinp [N,C,H,W], dout [N,C,OH,OW]. */
void rt_avgpool2d_backward(float *dinp, const float *dout, int N, const rt_pool_desc *d,
                           int accum)
{
    int H = d->H, W = d->W, OH = d->OH, OW = d->OW, s = d->stride;
    tap_ranges taps;
    tap_ranges_init(&taps, d);
    float inv = 1.0f / (float)(d->kh * d->kw);
    if (!accum)
        memset(dinp, 0, (size_t)N * d->C * H * W * sizeof(float));
    for (size_t nc = 0; nc < (size_t)N * d->C; nc++) {
        float *dx = dinp + nc * H * W;
        const float *dy = dout + nc * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int i = 0; i < d->kh; i++) {
                int ih = oh * s - d->pad + i;
                if (ih < 0 || ih >= H)
                    continue;
                for (int j = 0; j < d->kw; j++) {
                    int lo, hi;
                    tap_range(&taps, d, j, 0, OW, &lo, &hi);
                    if (s == 1)
                        scatter_tap(dx + (size_t)ih * W, dy + (size_t)oh * OW, inv, j - d->pad, 1, lo, hi);
                    else
                        scatter_tap(dx + (size_t)ih * W, dy + (size_t)oh * OW, inv, j - d->pad, s, lo, hi);
                }
            }
    }
}

/* out [N,C], inp [N,C,HW]. */
void rt_global_avgpool_forward(float *out, const float *inp, int N, int C, int HW)
{
    float inv = 1.0f / (float)HW;
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        out[nc] = sum_lanes(inp + nc * HW, HW) * inv;
}

/* dinp [N,C,HW], dout [N,C]. */
void rt_global_avgpool_backward(float *dinp, const float *dout, int N, int C, int HW,
                                int accum)
{
    float inv = 1.0f / (float)HW;
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        float g = dout[nc] * inv;
        float *dx = dinp + nc * HW;
        if (accum)
            for (int i = 0; i < HW; i++)
                dx[i] += g;
        else
            for (int i = 0; i < HW; i++)
                dx[i] = g;
    }
}

/* ---- batchnorm ---- */

/* The [N,C] case (HW = 1).  A channel's values lie C apart there, so the per-channel
 * loops of the general case would stride through memory a value at a time; these sweep
 * the rows instead, vectorised across a block of up to BN_BLOCK channels whose sums
 * (in double, as the reference's) live on the stack. */
enum { BN_BLOCK = 256 };

static void batchnorm_forward_flat(float *out, float *mean, float *invstd, float *running_mean,
                                   float *running_var, const float *inp, const float *gamma,
                                   const float *beta, int N, int C, float momentum, float eps)
{
    double mu[BN_BLOCK], ss[BN_BLOCK];
    float m[BN_BLOCK], a[BN_BLOCK], b[BN_BLOCK];
    for (int c0 = 0; c0 < C; c0 += BN_BLOCK) {
        int len = C - c0 < BN_BLOCK ? C - c0 : BN_BLOCK;
        for (int k = 0; k < len; k++) {
            mu[k] = 0.0;
            ss[k] = 0.0;
        }
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C + c0;
            for (int k = 0; k < len; k++)
                mu[k] += x[k];
        }
        for (int k = 0; k < len; k++)
            mu[k] /= N;
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C + c0;
            for (int k = 0; k < len; k++)
                ss[k] += (x[k] - mu[k]) * (x[k] - mu[k]);
        }
        for (int k = 0; k < len; k++) {
            int c = c0 + k;
            double var = ss[k] / N;
            double unbiased = N > 1 ? ss[k] / (N - 1) : var;
            float is = (float)(1.0 / sqrt(var + eps));
            mean[c] = (float)mu[k];
            m[k] = mean[c];
            invstd[c] = is;
            running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
            running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)unbiased;
            a[k] = is * gamma[c];
            b[k] = beta[c];
        }
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C + c0;
            float *y = out + (size_t)n * C + c0;
            for (int k = 0; k < len; k++)
                y[k] = (x[k] - m[k]) * a[k] + b[k];
        }
    }
}

static void batchnorm_backward_flat(float *dinp, float *dgamma, float *dbeta, const float *dout,
                                    const float *inp, const float *mean, const float *invstd,
                                    const float *gamma, int N, int C, int accum)
{
    double sum_dy[BN_BLOCK], sum_dy_dev[BN_BLOCK];
    float k1[BN_BLOCK], k2[BN_BLOCK], k3[BN_BLOCK];
    for (int c0 = 0; c0 < C; c0 += BN_BLOCK) {
        int len = C - c0 < BN_BLOCK ? C - c0 : BN_BLOCK;
        const float *mu = mean + c0;
        for (int k = 0; k < len; k++) {
            sum_dy[k] = 0.0;
            sum_dy_dev[k] = 0.0;
        }
        for (int n = 0; n < N; n++) {
            const float *dy = dout + (size_t)n * C + c0, *x = inp + (size_t)n * C + c0;
            for (int k = 0; k < len; k++) {
                sum_dy[k] += dy[k];
                sum_dy_dev[k] += dy[k] * (x[k] - mu[k]);
            }
        }
        for (int k = 0; k < len; k++) {
            int c = c0 + k;
            double sum_dy_xhat = sum_dy_dev[k] * invstd[c];
            dbeta[c] += (float)sum_dy[k];
            dgamma[c] += (float)sum_dy_xhat;
            k1[k] = gamma[c] * invstd[c];
            k2[k] = (float)(-k1[k] * invstd[c] * sum_dy_xhat / N);
            k3[k] = (float)(-k1[k] * sum_dy[k] / N);
        }
        if (!dinp)
            continue;
        for (int n = 0; n < N; n++) {
            const float *dy = dout + (size_t)n * C + c0, *x = inp + (size_t)n * C + c0;
            float *dx = dinp + (size_t)n * C + c0;
            if (accum)
                for (int k = 0; k < len; k++)
                    dx[k] += k1[k] * dy[k] + k2[k] * (x[k] - mu[k]) + k3[k];
            else
                for (int k = 0; k < len; k++)
                    dx[k] = k1[k] * dy[k] + k2[k] * (x[k] - mu[k]) + k3[k];
        }
    }
}

/* The arguments of a batchnorm kernel, for its range function over channels (or, in
 * evaluation, planes (n, c)). */
typedef struct {
    float *out, *mean, *invstd, *running_mean, *running_var, *dgamma, *dbeta;
    const float *inp, *dout, *gamma, *beta, *cmean, *cinvstd;
    int N, C, HW, accum;
    float momentum, eps;
} bn_job;

/* Channels below this many values per thread run in one thread. */
static size_t bn_grain(int N, int HW)
{
    size_t per_channel = (size_t)N * HW;
    return per_channel >= GRAIN ? 1 : GRAIN / (per_channel ? per_channel : 1);
}

/* Training forward of channels [lo, hi): the mean, then the sum of squared deviations
 * (two passes, as exact as the reference), then out = (x - mean)*a + beta (not x*a + b
 * with b folded: that cancels where |mean| >> std). */
static void batchnorm_forward_channels(void *ctx, size_t lo, size_t hi)
{
    const bn_job *j = ctx;
    int N = j->N, C = j->C, HW = j->HW;
    float momentum = j->momentum;
    double M = (double)N * HW;
    for (size_t c = lo; c < hi; c++) {
        double sum = 0.0;
        for (int n = 0; n < N; n++)
            sum += sum_lanes(j->inp + ((size_t)n * C + c) * HW, HW);
        float mu = (float)(sum / M);
        double ss = 0.0;
        for (int n = 0; n < N; n++)
            ss += sumsq_dev_lanes(j->inp + ((size_t)n * C + c) * HW, mu, HW);
        double var = ss / M;
        double unbiased = M > 1 ? ss / (M - 1) : var;
        float is = (float)(1.0 / sqrt(var + j->eps));
        j->mean[c] = mu;
        j->invstd[c] = is;
        j->running_mean[c] = (1.0f - momentum) * j->running_mean[c] + momentum * mu;
        j->running_var[c] = (1.0f - momentum) * j->running_var[c] + momentum * (float)unbiased;
        float a = is * j->gamma[c];
        float b = j->beta[c];
        for (int n = 0; n < N; n++) {
            const float *x = j->inp + ((size_t)n * C + c) * HW;
            float *y = j->out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                y[i] = (x[i] - mu) * a + b;
        }
    }
}

/* out [N,C,HW], mean [C], invstd [C], running_mean [C], running_var [C] (updated),
 * inp [N,C,HW], gamma [C], beta [C].  Channels are independent, so they are spread
 * over the threads whole. */
void rt_batchnorm_forward(float *out, float *mean, float *invstd, float *running_mean,
                          float *running_var, const float *inp, const float *gamma,
                          const float *beta, int N, int C, int HW, float momentum, float eps)
{
    if (HW == 1) {
        batchnorm_forward_flat(out, mean, invstd, running_mean, running_var, inp, gamma, beta, N,
                               C, momentum, eps);
        return;
    }
    bn_job j = { .out = out, .mean = mean, .invstd = invstd, .running_mean = running_mean,
                 .running_var = running_var, .inp = inp, .gamma = gamma, .beta = beta, .N = N,
                 .C = C, .HW = HW, .momentum = momentum, .eps = eps };
    parallel_ranges((size_t)C, bn_grain(N, HW), 1, batchnorm_forward_channels, &j);
}

/* Evaluation forward of planes [lo, hi) of [N*C, HW]. */
static void batchnorm_eval_planes(void *ctx, size_t lo, size_t hi)
{
    const bn_job *j = ctx;
    int C = j->C, HW = j->HW;
    for (size_t nc = lo; nc < hi; nc++) {
        size_t c = nc % (size_t)C;
        float a = j->gamma[c] / sqrtf(j->running_var[c] + j->eps);
        float b = j->beta[c], mu = j->running_mean[c];
        const float *x = j->inp + nc * HW;
        float *y = j->out + nc * HW;
        for (int i = 0; i < HW; i++)
            y[i] = (x[i] - mu) * a + b;
    }
}

/* out [N,C,HW], inp [N,C,HW], gamma, beta, running_mean, running_var [C]. */
void rt_batchnorm_forward_eval(float *out, const float *inp, const float *gamma,
                               const float *beta, const float *running_mean,
                               const float *running_var, int N, int C, int HW, float eps)
{
    bn_job j = { .out = out, .running_mean = (float *)running_mean,
                 .running_var = (float *)running_var, .inp = inp, .gamma = gamma, .beta = beta,
                 .N = N, .C = C, .HW = HW, .eps = eps };
    parallel_ranges((size_t)N * C, HW >= GRAIN ? 1 : GRAIN / HW, 1, batchnorm_eval_planes, &j);
}

/* Training backward of channels [lo, hi).  With sums over the channel,
 * dx = k*dy + k2*(x - mean) + k3 where k = gamma*invstd, k2 = -k*invstd*sum(dy*xhat)/M,
 * k3 = -k*sum(dy)/M. */
static void batchnorm_backward_channels(void *ctx, size_t lo, size_t hi)
{
    const bn_job *j = ctx;
    int N = j->N, C = j->C, HW = j->HW;
    const float *mean = j->cmean, *invstd = j->cinvstd;
    double M = (double)N * HW;
    for (size_t c = lo; c < hi; c++) {
        double sum_dy = 0.0, sum_dy_dev = 0.0;
        for (int n = 0; n < N; n++) {
            size_t row = ((size_t)n * C + c) * HW;
            sum_dy += sum_lanes(j->dout + row, HW);
            sum_dy_dev += dot_dev_lanes(j->dout + row, j->inp + row, mean[c], HW);
        }
        double sum_dy_xhat = sum_dy_dev * invstd[c];
        j->dbeta[c] += (float)sum_dy;
        j->dgamma[c] += (float)sum_dy_xhat;
        if (!j->out)
            continue;
        float k = j->gamma[c] * invstd[c];
        float k2 = (float)(-k * invstd[c] * sum_dy_xhat / M);
        float k3 = (float)(-k * sum_dy / M);
        float mu = mean[c];
        for (int n = 0; n < N; n++) {
            size_t row = ((size_t)n * C + c) * HW;
            const float *dy = j->dout + row, *x = j->inp + row;
            float *dx = j->out + row;
            if (j->accum)
                for (int i = 0; i < HW; i++)
                    dx[i] += k * dy[i] + k2 * (x[i] - mu) + k3;
            else
                for (int i = 0; i < HW; i++)
                    dx[i] = k * dy[i] + k2 * (x[i] - mu) + k3;
        }
    }
}

/* dinp [N,C,HW] or NULL, dgamma [C] +=, dbeta [C] +=, dout [N,C,HW], inp [N,C,HW],
 * mean [C], invstd [C], gamma [C]; channels spread over the threads whole. */
void rt_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *invstd,
                           const float *gamma, int N, int C, int HW, int accum)
{
    if (HW == 1) {
        batchnorm_backward_flat(dinp, dgamma, dbeta, dout, inp, mean, invstd, gamma, N, C, accum);
        return;
    }
    bn_job j = { .out = dinp, .dgamma = dgamma, .dbeta = dbeta, .inp = inp, .dout = dout,
                 .gamma = gamma, .cmean = mean, .cinvstd = invstd, .N = N, .C = C, .HW = HW,
                 .accum = accum };
    parallel_ranges((size_t)C, bn_grain(N, HW), 1, batchnorm_backward_channels, &j);
}

/* ---- dropout ---- */

size_t rt_dropout_mask_words(size_t n)
{
    return (n + 31) / 32;
}

/* mask [(n+31)/32]: bit i set with probability 1 - p, one rt_rng_uniform per bit in
 * order (the draws cannot be vectorised; each word is built in a register). */
static void draw_mask(uint32_t *mask, rt_rng *rng, float p, size_t n)
{
    for (size_t w = 0; w < rt_dropout_mask_words(n); w++) {
        size_t bits = n - w * 32 < 32 ? n - w * 32 : 32;
        uint32_t word = 0;
        for (size_t b = 0; b < bits; b++)
            word |= (uint32_t)(rt_rng_uniform(rng) >= p) << b;
        mask[w] = word;
    }
}

static float dropout_scale(float p)
{
    return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
}

/* y [n] = (bit i of mask ? x*scale : 0), or y += that with accum; word by word. */
static void apply_mask(float *y, const float *x, const uint32_t *mask, float scale, size_t n,
                       int accum)
{
    for (size_t w = 0; w < rt_dropout_mask_words(n); w++) {
        uint32_t word = mask[w];
        size_t bits = n - w * 32 < 32 ? n - w * 32 : 32;
        float *yw = y + w * 32;
        const float *xw = x + w * 32;
        if (accum)
            for (size_t b = 0; b < bits; b++)
                yw[b] += (word >> b) & 1u ? xw[b] * scale : 0.0f;
        else
            for (size_t b = 0; b < bits; b++)
                yw[b] = (word >> b) & 1u ? xw[b] * scale : 0.0f;
    }
}

/* out [n], mask [(n+31)/32], inp [n]. */
void rt_dropout_forward(float *out, uint32_t *mask, const float *inp, rt_rng *rng, float p,
                        size_t n)
{
    draw_mask(mask, rng, p, n);
    apply_mask(out, inp, mask, dropout_scale(p), n, 0);
}

/* dinp [n], dout [n], mask [(n+31)/32]. */
void rt_dropout_backward(float *dinp, const float *dout, const uint32_t *mask, float p,
                         size_t n, int accum)
{
    apply_mask(dinp, dout, mask, dropout_scale(p), n, accum);
}

/* y [N,C,HW] = channel nc kept ? x*scale : 0 (or y += that). */
static void apply_channel_mask(float *y, const float *x, const uint32_t *mask, float scale,
                               size_t NC, int HW, int accum)
{
    for (size_t nc = 0; nc < NC; nc++) {
        float s = (mask[nc / 32] >> (nc % 32)) & 1u ? scale : 0.0f;
        float *yc = y + nc * HW;
        const float *xc = x + nc * HW;
        if (accum) {
            if (s != 0.0f)
                for (int i = 0; i < HW; i++)
                    yc[i] += xc[i] * s;
        } else if (s != 0.0f) {
            for (int i = 0; i < HW; i++)
                yc[i] = xc[i] * s;
        } else {
            memset(yc, 0, (size_t)HW * sizeof(float));
        }
    }
}

/* out [N,C,HW], mask [(N*C+31)/32], inp [N,C,HW]. */
void rt_dropout2d_forward(float *out, uint32_t *mask, const float *inp, rt_rng *rng, float p,
                          int N, int C, int HW)
{
    draw_mask(mask, rng, p, (size_t)N * C);
    apply_channel_mask(out, inp, mask, dropout_scale(p), (size_t)N * C, HW, 0);
}

/* dinp [N,C,HW], dout [N,C,HW], mask [(N*C+31)/32]. */
void rt_dropout2d_backward(float *dinp, const float *dout, const uint32_t *mask, float p,
                           int N, int C, int HW, int accum)
{
    apply_channel_mask(dinp, dout, mask, dropout_scale(p), (size_t)N * C, HW, accum);
}

/* ---- activations: all [n]; each backward is two loops so `accum` is not tested per
 * element ---- */

/* The arguments of an element-wise kernel, for its range function. */
typedef struct {
    float *y;
    const float *a, *b;
    int accum;
} ew_job;

static void relu_forward_range(void *ctx, size_t lo, size_t hi)
{
    const ew_job *j = ctx;
    float *out = j->y;
    const float *inp = j->a;
    for (size_t i = lo; i < hi; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void rt_relu_forward(float *out, const float *inp, size_t n)
{
    ew_job j = { out, inp, NULL, 0 };
    parallel_ranges(n, GRAIN, 16, relu_forward_range, &j);
}

static void relu_backward_range(void *ctx, size_t lo, size_t hi)
{
    const ew_job *j = ctx;
    float *dinp = j->y;
    const float *dout = j->a, *out = j->b;
    if (j->accum)
        for (size_t i = lo; i < hi; i++)
            dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
    else
        for (size_t i = lo; i < hi; i++)
            dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void rt_relu_backward(float *dinp, const float *dout, const float *out, size_t n, int accum)
{
    ew_job j = { dinp, dout, out, accum };
    parallel_ranges(n, GRAIN, 16, relu_backward_range, &j);
}

void rt_leaky_relu_forward(float *out, const float *inp, float slope, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : slope * inp[i];
}

void rt_leaky_relu_backward(float *dinp, const float *dout, const float *x, float slope,
                            size_t n, int accum)
{
    if (accum)
        for (size_t i = 0; i < n; i++)
            dinp[i] += x[i] > 0.0f ? dout[i] : slope * dout[i];
    else
        for (size_t i = 0; i < n; i++)
            dinp[i] = x[i] > 0.0f ? dout[i] : slope * dout[i];
}

void rt_elu_forward(float *out, const float *inp, float alpha, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float neg = alpha * expm1_fast(inp[i]);
        out[i] = inp[i] > 0.0f ? inp[i] : neg;
    }
}

/* For x <= 0, out = alpha*(exp(x) - 1), so d out/dx = out + alpha. */
void rt_elu_backward(float *dinp, const float *dout, const float *out, float alpha, size_t n,
                     int accum)
{
    if (accum)
        for (size_t i = 0; i < n; i++)
            dinp[i] += out[i] > 0.0f ? dout[i] : dout[i] * (out[i] + alpha);
    else
        for (size_t i = 0; i < n; i++)
            dinp[i] = out[i] > 0.0f ? dout[i] : dout[i] * (out[i] + alpha);
}

void rt_sigmoid_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + exp_fast(-inp[i]));
}

void rt_sigmoid_backward(float *dinp, const float *dout, const float *out, size_t n, int accum)
{
    if (accum)
        for (size_t i = 0; i < n; i++)
            dinp[i] += dout[i] * out[i] * (1.0f - out[i]);
    else
        for (size_t i = 0; i < n; i++)
            dinp[i] = dout[i] * out[i] * (1.0f - out[i]);
}

void rt_tanh_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tanh_fast(inp[i]);
}

void rt_tanh_backward(float *dinp, const float *dout, const float *out, size_t n, int accum)
{
    if (accum)
        for (size_t i = 0; i < n; i++)
            dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
    else
        for (size_t i = 0; i < n; i++)
            dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
}

/* ---- shape ops ---- */

/* out [N,C,H+2p,W+2p], inp [N,C,H,W]: zero rows above and below, and each copied row
 * framed by p zeros. */
void rt_pad2d_forward(float *out, const float *inp, int N, int C, int H, int W, int p)
{
    size_t PW = (size_t)W + 2 * p;
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const float *x = inp + nc * H * W;
        float *y = out + nc * (H + 2 * p) * PW;
        memset(y, 0, p * PW * sizeof(float));
        for (int h = 0; h < H; h++) {
            float *row = y + (h + p) * PW;
            memset(row, 0, p * sizeof(float));
            memcpy(row + p, x + (size_t)h * W, W * sizeof(float));
            memset(row + p + W, 0, p * sizeof(float));
        }
        memset(y + (H + p) * PW, 0, p * PW * sizeof(float));
    }
}

/* dinp [N,C,H,W], dout [N,C,H+2p,W+2p]: the interior, row by row. */
void rt_pad2d_backward(float *dinp, const float *dout, int N, int C, int H, int W, int p,
                       int accum)
{
    size_t PW = (size_t)W + 2 * p;
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        for (int h = 0; h < H; h++)
            copy_or_add(dinp + (nc * H + h) * W, dout + (nc * (H + 2 * p) + h + p) * PW + p,
                        W, accum);
}

/* out [N,sum C_i,HW], inps[i] [N,C_i,HW]: one memcpy per image and input. */
void rt_concat_forward(float *out, const float *const *inps, const int *channels, int n_inp,
                       int N, int HW)
{
    int C_out = 0;
    for (int t = 0; t < n_inp; t++)
        C_out += channels[t];
    for (int n = 0; n < N; n++) {
        int c_offset = 0;
        for (int t = 0; t < n_inp; t++) {
            memcpy(out + ((size_t)n * C_out + c_offset) * HW,
                   inps[t] + (size_t)n * channels[t] * HW,
                   (size_t)channels[t] * HW * sizeof(float));
            c_offset += channels[t];
        }
    }
}

/* dinp [N,C_in,HW], dout [N,C_out,HW]: channels [c_offset, c_offset + C_in). */
void rt_concat_backward(float *dinp, const float *dout, int N, int C_out, int c_offset,
                        int C_in, int HW, int accum)
{
    for (int n = 0; n < N; n++)
        copy_or_add(dinp + (size_t)n * C_in * HW, dout + ((size_t)n * C_out + c_offset) * HW,
                    (size_t)C_in * HW, accum);
}

/* out [n] = sum of inps[t] [n]; out may alias any input.  One or two inputs (the
 * usual residual add) go element by element, which is safe under aliasing; more are
 * summed in blocks on the stack. */
void rt_add_forward(float *out, const float *const *inps, int n_inp, size_t n)
{
    if (n_inp == 1) {
        copy_or_add(out, inps[0], n, 0);
        return;
    }
    if (n_inp == 2) {
        const float *a = inps[0], *b = inps[1];
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] + b[i];
        return;
    }
    enum { BLOCK = 512 };
    float acc[BLOCK];
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t len = n - i0 < BLOCK ? n - i0 : BLOCK;
        memcpy(acc, inps[0] + i0, len * sizeof(float));
        for (int t = 1; t < n_inp; t++) {
            const float *x = inps[t] + i0;
            for (size_t i = 0; i < len; i++)
                acc[i] += x[i];
        }
        memcpy(out + i0, acc, len * sizeof(float));
    }
}

/* dinp [n], dout [n]. */
void rt_add_backward(float *dinp, const float *dout, size_t n, int accum)
{
    copy_or_add(dinp, dout, n, accum);
}

/* ---- softmax and losses ---- */

/* p [K] = softmax(z [K]); returns log(sum exp(z - max)) + max, the log-denominator. */
static float softmax_row(float *p, const float *z, int K)
{
    float max = z[0];
    for (int k = 1; k < K; k++)
        max = z[k] > max ? z[k] : max;
    for (int k = 0; k < K; k++)
        p[k] = exp_fast(z[k] - max);
    float sum = sum_lanes(p, K);
    float inv = 1.0f / sum;
    for (int k = 0; k < K; k++)
        p[k] *= inv;
    return logf(sum) + max;
}

/* probs [N,K], logits [N,K]. */
void rt_softmax_forward(float *probs, const float *logits, int N, int K)
{
    for (int n = 0; n < N; n++)
        softmax_row(probs + (size_t)n * K, logits + (size_t)n * K, K);
}

/* probs [N,K], logits [N,K], labels [N]; returns the mean loss (NaN on a bad label). */
float rt_softmax_xent_forward(float *probs, const float *logits, const int32_t *labels,
                              int N, int K)
{
    double loss = 0.0;
    int bad = 0;
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * K;
        float lse = softmax_row(probs + (size_t)n * K, z, K);
        if (labels[n] < 0 || labels[n] >= K)
            bad = 1;
        else
            loss += lse - z[labels[n]];
    }
    return bad ? NAN : (float)(loss / N);
}

/* dlogits [N,K], probs [N,K], labels [N]. */
void rt_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *labels,
                              int N, int K, int accum)
{
    float inv = 1.0f / (float)N;
    for (int n = 0; n < N; n++) {
        float *g = dlogits + (size_t)n * K;
        const float *p = probs + (size_t)n * K;
        if (accum)
            for (int k = 0; k < K; k++)
                g[k] += p[k] * inv;
        else
            for (int k = 0; k < K; k++)
                g[k] = p[k] * inv;
        if (labels[n] >= 0 && labels[n] < K)
            g[labels[n]] -= inv;
    }
}

/* probs [N,K], logits [N,K], targets [N,K]; returns the mean loss
 * sum_k -t_k*(z_k - lse). */
float rt_softmax_xent_soft_forward(float *probs, const float *logits, const float *targets,
                                   int N, int K)
{
    double loss = 0.0;
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * K, *t = targets + (size_t)n * K;
        float lse = softmax_row(probs + (size_t)n * K, z, K);
        float s = 0.0f;
        for (int k = 0; k < K; k++)
            s += t[k] * (lse - z[k]);
        loss += s;
    }
    return (float)(loss / N);
}

/* dlogits [N,K], probs [N,K], targets [N,K]. */
void rt_softmax_xent_soft_backward(float *dlogits, const float *probs, const float *targets,
                                   int N, int K, int accum)
{
    float inv = 1.0f / (float)N;
    size_t NK = (size_t)N * K;
    if (accum)
        for (size_t i = 0; i < NK; i++)
            dlogits[i] += (probs[i] - targets[i]) * inv;
    else
        for (size_t i = 0; i < NK; i++)
            dlogits[i] = (probs[i] - targets[i]) * inv;
}

/* ---- optimizers: param, buf/m/v, grad all [n]; the operation order follows
 * torch.optim's single-tensor code, with every branch taken outside the loop ---- */

void rt_sgd_update(float *param, float *buf, const float *grad, size_t n, float lr,
                   float momentum, float dampening, float weight_decay, int nesterov, int t)
{
    if (momentum == 0.0f) {
        for (size_t i = 0; i < n; i++)
            param[i] -= lr * (grad[i] + weight_decay * param[i]);
        return;
    }
    /* buf = g on the first step (a select, so whatever buf held is never read into it). */
    int first = t == 1;
    if (nesterov)
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] + weight_decay * param[i];
            buf[i] = first ? g : momentum * buf[i] + (1.0f - dampening) * g;
            param[i] -= lr * (g + momentum * buf[i]);
        }
    else
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] + weight_decay * param[i];
            buf[i] = first ? g : momentum * buf[i] + (1.0f - dampening) * g;
            param[i] -= lr * buf[i];
        }
}

/* Shared by Adam and AdamW: the moment updates (m by lerp, as torch does) and the step
 * param -= step_size * m / (sqrt(v)/sqrt(bias_correction2) + eps).  kernels.c is built
 * with -fno-math-errno, so sqrtf is an instruction and the loop vectorises. */
typedef struct {
    float *param, *m, *v;
    const float *grad;
    float beta1, beta2, eps, weight_decay, step_size, bc2_sqrt;
} adam_job;

static void adam_range(void *ctx, size_t lo, size_t hi)
{
    const adam_job *j = ctx;
    float *param = j->param, *m = j->m, *v = j->v;
    const float *grad = j->grad;
    float beta1 = j->beta1, beta2 = j->beta2, eps = j->eps, weight_decay = j->weight_decay;
    float step_size = j->step_size, bc2_sqrt = j->bc2_sqrt;
    for (size_t i = lo; i < hi; i++) {
        float g = grad[i] + weight_decay * param[i];
        m[i] += (1.0f - beta1) * (g - m[i]);
        v[i] = v[i] * beta2 + (1.0f - beta2) * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        param[i] -= step_size * (m[i] / denom);
    }
}

static void adam_core(float *param, float *m, float *v, const float *grad, size_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, int t)
{
    adam_job j = { param, m, v, grad, beta1, beta2, eps, weight_decay,
                   (float)(lr / (1.0 - pow(beta1, t))), (float)sqrt(1.0 - pow(beta2, t)) };
    parallel_ranges(n, GRAIN, 16, adam_range, &j);
}

void rt_adam_update(float *param, float *m, float *v, const float *grad, size_t n, float lr,
                    float beta1, float beta2, float eps, float weight_decay, int t)
{
    adam_core(param, m, v, grad, n, lr, beta1, beta2, eps, weight_decay, t);
}

void rt_adamw_update(float *param, float *m, float *v, const float *grad, size_t n, float lr,
                     float beta1, float beta2, float eps, float weight_decay, int t)
{
    float keep = 1.0f - lr * weight_decay;
    for (size_t i = 0; i < n; i++)
        param[i] *= keep;
    adam_core(param, m, v, grad, n, lr, beta1, beta2, eps, 0.0f, t);
}

/* ---- initialisation ---- */

void rt_init_uniform(float *x, rt_rng *rng, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rt_rng_uniform(rng);
}

void rt_init_conv2d(float *weight, float *bias, rt_rng *rng, const rt_conv_desc *d)
{
    int fan_in = d->C * d->kh * d->kw;
    float bound = 1.0f / sqrtf((float)fan_in);
    rt_init_uniform(weight, rng, (size_t)d->K * fan_in, -bound, bound);
    if (bias)
        rt_init_uniform(bias, rng, (size_t)d->K, -bound, bound);
}

void rt_init_dense(float *weight, float *bias, rt_rng *rng, int C, int OC)
{
    float bound = 1.0f / sqrtf((float)C);
    rt_init_uniform(weight, rng, (size_t)OC * C, -bound, bound);
    if (bias)
        rt_init_uniform(bias, rng, (size_t)OC, -bound, bound);
}

void rt_init_batchnorm(float *gamma, float *beta, float *running_mean, float *running_var,
                       int C)
{
    for (int c = 0; c < C; c++) {
        gamma[c] = 1.0f;
        beta[c] = 0.0f;
        running_mean[c] = 0.0f;
        running_var[c] = 1.0f;
    }
}
