/* Compute kernels: the fast versions that generated code calls.
 *
 * Convolution is im2col + one OpenBLAS sgemm per image, in the Caffe layout:
 * col [C*kh*kw, OH*OW] (one row per filter tap, one column per output pixel), and
 * out_n [K, OH*OW] = weight [K, C*kh*kw] . col.  The product lands directly in NCHW, so
 * there is no transpose, and the weight needs no reordering.  Measured against the
 * other layouts (bench/bench_kernels.c, docs/kernels.md): the transposed layout
 * col [OH*OW, C*kh*kw] needs a transpose of every output and was slower, and one
 * im2col over the whole batch with a single large sgemm was no faster while its
 * workspace grows with N and its output still needs a permute.  A 1x1 stride-1
 * unpadded convolution skips im2col (the image already is its col matrix).  The
 * backward re-runs im2col per image: dweight += dout_n . col^T (sgemm, beta 1), then
 * dcol = weight^T . dout_n (sgemm into the same workspace) and col2im adds dcol into
 * dinp.  Dense layers are one sgemm over the whole batch each way.
 *
 * Everything else is written as simple loops that gcc and clang vectorise at -O3
 * -march=native without -ffast-math: no branches inside the inner loops (selects
 * instead), loop-invariant tests such as `accum` hoisted out, and reductions written
 * with 16 independent partial sums (a float reduction is otherwise not reordered, so it
 * stays scalar).  exp/tanh use a branch-free Cephes-style polynomial that vectorises
 * (error within a few float ulps).  Statistics (batchnorm) sum each contiguous row in
 * float lanes and the rows in double.  Pooling goes tap by tap over output rows (see its
 * section).  sqrtf stays scalar under gcc (it may set errno), which bounds Adam.
 * kernels_ref.c holds the plain version of each kernel. */
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "netc_rt.h"

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

size_t rt_conv2d_workspace_floats(const rt_conv_desc *d)
{
    if (conv_is_pointwise(d))
        return 0;
    return (size_t)d->C * d->kh * d->kw * d->OH * d->OW;
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

/* col [C*kh*kw, OH*OW] from one image x [C,H,W]: row (c,i,j), column (oh,ow) holds
 * x[c][oh*stride - pad_t + i][ow*stride - pad_l + j], 0 outside the image.  The valid
 * range of each row is computed once, so the inner loop is a plain copy. */
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
                memset(row, 0, (size_t)oh_lo * OW * sizeof(float));
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *src = x + ((size_t)c * d->H + oh * s - d->pad_t + i) * d->W;
                    float *dst = row + (size_t)oh * OW;
                    int iw0 = j - d->pad_l;
                    for (int ow = 0; ow < ow_lo; ow++)
                        dst[ow] = 0.0f;
                    if (s == 1) {
                        memcpy(dst + ow_lo, src + ow_lo + iw0, (size_t)(ow_hi - ow_lo) * sizeof(float));
                    } else {
                        for (int ow = ow_lo; ow < ow_hi; ow++)
                            dst[ow] = src[ow * s + iw0];
                    }
                    for (int ow = ow_hi; ow < OW; ow++)
                        dst[ow] = 0.0f;
                }
                memset(row + (size_t)oh_hi * OW, 0, (size_t)(OH - oh_hi) * OW * sizeof(float));
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
                        for (int ow = ow_lo; ow < ow_hi; ow++)
                            dst[ow + iw0] += src[ow];
                    } else {
                        for (int ow = ow_lo; ow < ow_hi; ow++)
                            dst[ow * s + iw0] += src[ow];
                    }
                }
            }
        }
}

/* out [N,K,OH,OW], inp [N,C,H,W], weight [K,C,kh,kw], bias [K] or NULL,
 * work [rt_conv2d_workspace_floats(d)]. */
void rt_conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                       float *work, int N, const rt_conv_desc *d)
{
    int CKK = d->C * d->kh * d->kw, OHW = d->OH * d->OW;
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * d->C * d->H * d->W;
        float *y = out + (size_t)n * d->K * OHW;
        const float *col = x;
        if (!conv_is_pointwise(d)) {
            im2col(work, x, d);
            col = work;
        }
        float beta = 0.0f;
        if (bias) {
            for (int k = 0; k < d->K; k++)
                for (int o = 0; o < OHW; o++)
                    y[(size_t)k * OHW + o] = bias[k];
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->K, OHW, CKK, 1.0f, weight, CKK,
                    col, OHW, beta, y, OHW);
    }
}

/* dinp [N,C,H,W] or NULL, dweight [K,C,kh,kw] +=, dbias [K] += or NULL,
 * dout [N,K,OH,OW], inp [N,C,H,W], weight [K,C,kh,kw], work as for the forward. */
void rt_conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, float *work, int N,
                        const rt_conv_desc *d, int accum)
{
    int CKK = d->C * d->kh * d->kw, OHW = d->OH * d->OW, CHW = d->C * d->H * d->W;
    int pointwise = conv_is_pointwise(d);
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * CHW;
        const float *dy = dout + (size_t)n * d->K * OHW;
        const float *col = x;
        if (!pointwise) {
            im2col(work, x, d);
            col = work;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->K, CKK, OHW, 1.0f, dy, OHW, col,
                    OHW, 1.0f, dweight, CKK);
        if (dbias)
            for (int k = 0; k < d->K; k++)
                dbias[k] += sum_lanes(dy + (size_t)k * OHW, OHW);
        if (!dinp)
            continue;
        float *dx = dinp + (size_t)n * CHW;
        if (pointwise) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d->C, OHW, d->K, 1.0f, weight,
                        CKK, dy, OHW, accum ? 1.0f : 0.0f, dx, OHW);
        } else {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, OHW, d->K, 1.0f, weight,
                        CKK, dy, OHW, 0.0f, work, OHW);
            if (!accum)
                memset(dx, 0, (size_t)CHW * sizeof(float));
            col2im_add(dx, work, d);
        }
    }
}

/* ---- dense ---- */

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
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, beta,
                out, OC);
}

/* dinp [N,C] or NULL, dweight [OC,C] +=, dbias [OC] += or NULL, dout [N,OC], inp [N,C],
 * weight [OC,C]. */
void rt_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                       const float *inp, const float *weight, int N, int C, int OC, int accum)
{
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C,
                    accum ? 1.0f : 0.0f, dinp, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f,
                dweight, C);
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

/* The common 2x2, stride-2, unpadded case, one plane: every window lies inside the
 * image, so each output is four loads and three selects.  The selects are written as
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

/* out [N,C,OH,OW], argmax [N,C,OH,OW], inp [N,C,H,W]. */
void rt_maxpool2d_forward(float *out, uint8_t *argmax, const float *inp, int N,
                          const rt_pool_desc *d)
{
    if (d->kh == 2 && d->kw == 2 && d->stride == 2 && d->pad == 0) {
        for (size_t nc = 0; nc < (size_t)N * d->C; nc++)
            maxpool_2x2s2(out + nc * d->OH * d->OW, argmax + nc * d->OH * d->OW,
                          inp + nc * d->H * d->W, d->W, d->OH, d->OW);
        return;
    }
    int H = d->H, W = d->W, OH = d->OH, OW = d->OW, s = d->stride;
    tap_ranges taps;
    tap_ranges_init(&taps, d);
    float best[POOL_CHUNK];
    int32_t at[POOL_CHUNK];
    for (size_t nc = 0; nc < (size_t)N * d->C; nc++) {
        const float *x = inp + nc * H * W;
        float *y = out + nc * OH * OW;
        uint8_t *a = argmax + nc * OH * OW;
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
                    for (int j = 0; j < d->kw; j++) {
                        int lo, hi, tap = i * d->kw + j;
                        tap_range(&taps, d, j, ow0, len, &lo, &hi);
                        if (s == 1)
                            max_tap(best, at, x + (size_t)ih * W, j - d->pad, 1, lo, hi, ow0, tap);
                        else if (s == 2)
                            max_tap(best, at, x + (size_t)ih * W, j - d->pad, 2, lo, hi, ow0, tap);
                        else
                            max_tap(best, at, x + (size_t)ih * W, j - d->pad, s, lo, hi, ow0, tap);
                    }
                }
                for (int k = 0; k < len; k++) {
                    y[oh * OW + ow0 + k] = best[k];
                    a[oh * OW + ow0 + k] = (uint8_t)at[k];
                }
            }
    }
}

/* dinp [N,C,H,W], dout [N,C,OH,OW], argmax [N,C,OH,OW].  The window index decodes
 * through a table of offsets i*W + j built once per call. */
void rt_maxpool2d_backward(float *dinp, const float *dout, const uint8_t *argmax, int N,
                           const rt_pool_desc *d, int accum)
{
    int H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    int offset[256];
    for (int a = 0; a < d->kh * d->kw && a < 256; a++)
        offset[a] = (a / d->kw) * W + a % d->kw;
    if (!accum)
        memset(dinp, 0, (size_t)N * d->C * H * W * sizeof(float));
    for (size_t nc = 0; nc < (size_t)N * d->C; nc++) {
        float *dx = dinp + nc * H * W;
        const float *dy = dout + nc * OH * OW;
        const uint8_t *a = argmax + nc * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int corner = (oh * d->stride - d->pad) * W + ow * d->stride - d->pad;
                dx[corner + offset[a[oh * OW + ow]]] += dy[oh * OW + ow];
            }
    }
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

/* out [N,C,HW], mean [C], invstd [C], running_mean [C], running_var [C] (updated),
 * inp [N,C,HW], gamma [C], beta [C].  Per channel: the mean, then the sum of squared
 * deviations (two passes, as exact as the reference), then out = (x - mean)*a + beta
 * (not x*a + b with b folded: that cancels where |mean| >> std). */
void rt_batchnorm_forward(float *out, float *mean, float *invstd, float *running_mean,
                          float *running_var, const float *inp, const float *gamma,
                          const float *beta, int N, int C, int HW, float momentum, float eps)
{
    if (HW == 1) {
        batchnorm_forward_flat(out, mean, invstd, running_mean, running_var, inp, gamma, beta, N,
                               C, momentum, eps);
        return;
    }
    double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double sum = 0.0;
        for (int n = 0; n < N; n++)
            sum += sum_lanes(inp + ((size_t)n * C + c) * HW, HW);
        float mu = (float)(sum / M);
        double ss = 0.0;
        for (int n = 0; n < N; n++)
            ss += sumsq_dev_lanes(inp + ((size_t)n * C + c) * HW, mu, HW);
        double var = ss / M;
        double unbiased = M > 1 ? ss / (M - 1) : var;
        float is = (float)(1.0 / sqrt(var + eps));
        mean[c] = mu;
        invstd[c] = is;
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mu;
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)unbiased;
        float a = is * gamma[c];
        float b = beta[c];
        for (int n = 0; n < N; n++) {
            const float *x = inp + ((size_t)n * C + c) * HW;
            float *y = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                y[i] = (x[i] - mu) * a + b;
        }
    }
}

/* out [N,C,HW], inp [N,C,HW], gamma, beta, running_mean, running_var [C]. */
void rt_batchnorm_forward_eval(float *out, const float *inp, const float *gamma,
                               const float *beta, const float *running_mean,
                               const float *running_var, int N, int C, int HW, float eps)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            float a = gamma[c] / sqrtf(running_var[c] + eps);
            float b = beta[c], mu = running_mean[c];
            const float *x = inp + ((size_t)n * C + c) * HW;
            float *y = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                y[i] = (x[i] - mu) * a + b;
        }
}

/* dinp [N,C,HW] or NULL, dgamma [C] +=, dbeta [C] +=, dout [N,C,HW], inp [N,C,HW],
 * mean [C], invstd [C], gamma [C].  With sums over the channel,
 * dx = k*dy + k2*(x - mean) + k3 where k = gamma*invstd, k2 = -k*invstd*sum(dy*xhat)/M,
 * k3 = -k*sum(dy)/M. */
void rt_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *invstd,
                           const float *gamma, int N, int C, int HW, int accum)
{
    if (HW == 1) {
        batchnorm_backward_flat(dinp, dgamma, dbeta, dout, inp, mean, invstd, gamma, N, C, accum);
        return;
    }
    double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double sum_dy = 0.0, sum_dy_dev = 0.0;
        for (int n = 0; n < N; n++) {
            size_t row = ((size_t)n * C + c) * HW;
            sum_dy += sum_lanes(dout + row, HW);
            sum_dy_dev += dot_dev_lanes(dout + row, inp + row, mean[c], HW);
        }
        double sum_dy_xhat = sum_dy_dev * invstd[c];
        dbeta[c] += (float)sum_dy;
        dgamma[c] += (float)sum_dy_xhat;
        if (!dinp)
            continue;
        float k = gamma[c] * invstd[c];
        float k2 = (float)(-k * invstd[c] * sum_dy_xhat / M);
        float k3 = (float)(-k * sum_dy / M);
        float mu = mean[c];
        for (int n = 0; n < N; n++) {
            size_t row = ((size_t)n * C + c) * HW;
            const float *dy = dout + row, *x = inp + row;
            float *dx = dinp + row;
            if (accum)
                for (int i = 0; i < HW; i++)
                    dx[i] += k * dy[i] + k2 * (x[i] - mu) + k3;
            else
                for (int i = 0; i < HW; i++)
                    dx[i] = k * dy[i] + k2 * (x[i] - mu) + k3;
        }
    }
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

void rt_relu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void rt_relu_backward(float *dinp, const float *dout, const float *out, size_t n, int accum)
{
    if (accum)
        for (size_t i = 0; i < n; i++)
            dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
    else
        for (size_t i = 0; i < n; i++)
            dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
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
 * param -= step_size * m / (sqrt(v)/sqrt(bias_correction2) + eps). */
static void adam_core(float *param, float *m, float *v, const float *grad, size_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, int t)
{
    float step_size = (float)(lr / (1.0 - pow(beta1, t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow(beta2, t));
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        m[i] += (1.0f - beta1) * (g - m[i]);
        v[i] = v[i] * beta2 + (1.0f - beta2) * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        param[i] -= step_size * (m[i] / denom);
    }
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
