/* Max, average and global average pooling (scalar twins in pool_ref.c). */
#include "kernel_util.h"

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
