/* pool.c -- max, average and global average pooling.
 *
 * Window by window, as rt_*pool2d_forward_ref: the rows and columns of the window that
 * fall inside the image are computed once per output (no test per tap), and the taps
 * are visited in row-major order, so the first maximum wins and the average adds its
 * terms in the reference's order.  Max pooling takes each output row's inner outputs
 * (those whose window lies within the image's columns) with no window arithmetic (16
 * at a time at stride 1 with AVX-512), and only the clipped ends window by window: a
 * window's geometry per output cost InceptionSmall's 3x3 stride-1 pools 4x the time.  The common 2x2 stride-2 unpadded max pool has its
 * own loop: with AVX-512, 16 outputs at a time; otherwise branch-free selects. */
#include <math.h>
#include <stddef.h>
#include "netc_infer.h"
#include "infer_simd.h"

/* The part of output (oh, ow)'s window inside the image: rows [i_lo, i_hi) and columns
 * [j_lo, j_hi) of the window, whose tap (i, j) is x[at + i*W + j]. */
typedef struct {
    int i_lo, i_hi, j_lo, j_hi;
    ptrdiff_t at;
} netc_window;

static netc_window netc_window_of(const netc_pool_desc *d, int oh, int ow)
{
    netc_window w;
    int ih = oh * d->stride - d->pad, iw = ow * d->stride - d->pad;
    w.i_lo = ih < 0 ? -ih : 0;
    w.i_hi = ih + d->kh > d->H ? d->H - ih : d->kh;
    w.j_lo = iw < 0 ? -iw : 0;
    w.j_hi = iw + d->kw > d->W ? d->W - iw : d->kw;
    w.at = (ptrdiff_t)ih * d->W + iw;
    return w;
}

/* Tap (i, j) of window w in plane x. */
static float netc_tap(const float *x, const netc_window *w, int W, int i, int j)
{
    return x[w->at + (ptrdiff_t)i * W + j];
}

/* v if it beats best (greater, or NaN), else best: one select, no branch (`|`, not
 * `||`), so that loops of it vectorise. */
static float netc_max_nan(float best, float v)
{
    return ((v > best) | (v != v)) ? v : best;
}

#if defined(NETC_SIMD_AVX512)
/* best, or v where v beats it (greater, or NaN), lane by lane. */
NETC_INLINE __m512 netc_max_nan16(__m512 best, __m512 v)
{
    __mmask16 k = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_mask_blend_ps(k, best, v);
}

/* out [OH,OW] = 2x2 stride-2 maxima of one plane x [H,W], 16 outputs at a time: two
 * permutes split the 32 floats of each input row into the windows' left and right
 * taps, taken in the reference's order; loads and the store are masked at the row's
 * end, so nothing outside the rows is touched. */
static void netc_maxpool_2x2(float *out, const float *x, const netc_pool_desc *d)
{
    size_t W = (size_t)d->W, OW = (size_t)d->OW;
    __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (size_t oh = 0; oh < (size_t)d->OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
        for (size_t ow = 0; ow < OW; ow += 16) {
            size_t n = OW - ow < 16 ? OW - ow : 16;
            __mmask16 lo = netc_mask_first(2 * n), hi = netc_mask_first(2 * n > 16 ? 2 * n - 16 : 0);
            __m512 a0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * ow), a1 = _mm512_maskz_loadu_ps(hi, r0 + 2 * ow + 16);
            __m512 b0 = _mm512_maskz_loadu_ps(lo, r1 + 2 * ow), b1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * ow + 16);
            __m512 m = netc_max_nan16(_mm512_permutex2var_ps(a0, even, a1), _mm512_permutex2var_ps(a0, odd, a1));
            m = netc_max_nan16(m, _mm512_permutex2var_ps(b0, even, b1));
            m = netc_max_nan16(m, _mm512_permutex2var_ps(b0, odd, b1));
            _mm512_mask_storeu_ps(out + oh * OW + ow, netc_mask_first(n), m);
        }
    }
}
#else
/* out [OH,OW] = 2x2 stride-2 maxima of one plane x [H,W]. */
static void netc_maxpool_2x2(float *out, const float *x, const netc_pool_desc *d)
{
    size_t W = (size_t)d->W, OW = (size_t)d->OW;
    for (size_t oh = 0; oh < (size_t)d->OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
        float *o = out + oh * OW;
        for (size_t ow = 0; ow < OW; ow++) {
            float m = netc_max_nan(r0[2 * ow], r0[2 * ow + 1]);
            m = netc_max_nan(m, r1[2 * ow]);
            o[ow] = netc_max_nan(m, r1[2 * ow + 1]);
        }
    }
}
#endif

/* out [OH,OW] = the maxima of output row oh's windows at columns [ow_lo, ow_hi), window
 * by window. */
static void netc_maxpool_windows(float *out, const float *x, const netc_pool_desc *d, int oh,
                                 int ow_lo, int ow_hi)
{
    for (int ow = ow_lo; ow < ow_hi; ow++) {
        netc_window w = netc_window_of(d, oh, ow);
        float best = netc_tap(x, &w, d->W, w.i_lo, w.j_lo);
        for (int i = w.i_lo; i < w.i_hi; i++)
            for (int j = w.j_lo; j < w.j_hi; j++)
                best = netc_max_nan(best, netc_tap(x, &w, d->W, i, j));
        out[(size_t)oh * (size_t)d->OW + (size_t)ow] = best;
    }
}

/* o[q] = the maximum over the rows x kw taps whose tap (i, j) is r[i*W + j + q*s],
 * for q in [0, n), the taps in row-major order. */
static void netc_maxpool_outputs(float *o, const float *r, size_t W, int rows, int kw, size_t s, size_t n)
{
    for (size_t q = 0; q < n; q++) {
        const float *t = r + q * s;
        float best = t[0];
        for (int i = 0; i < rows; i++, t += W)
            for (int j = 0; j < kw; j++)
                best = netc_max_nan(best, t[j]);
        o[q] = best;
    }
}

#if defined(NETC_SIMD_AVX512)
/* The same at stride 1, 16 outputs at a time, the last vector masked. */
static void netc_maxpool_outputs_s1(float *o, const float *r, size_t W, int rows, int kw, size_t n)
{
    for (size_t q = 0; q < n; q += 16) {
        __mmask16 m = netc_mask_first(n - q);
        const float *t = r + q;
        __m512 best = _mm512_maskz_loadu_ps(m, t);
        for (int i = 0; i < rows; i++, t += W)
            for (int j = 0; j < kw; j++)
                best = netc_max_nan16(best, _mm512_maskz_loadu_ps(m, t + j));
        _mm512_mask_storeu_ps(o + q, m, best);
    }
}
#else
static void netc_maxpool_outputs_s1(float *o, const float *r, size_t W, int rows, int kw, size_t n)
{
    netc_maxpool_outputs(o, r, W, rows, kw, 1, n);
}
#endif

/* The same for columns [a, b), whose windows have all their columns inside the image,
 * with no window arithmetic per output (at stride 1 with AVX-512, in vectors). */
static void netc_maxpool_run(float *out, const float *x, const netc_pool_desc *d, int oh, int a, int b)
{
    netc_window w = netc_window_of(d, oh, a);
    float *o = out + (size_t)oh * (size_t)d->OW + (size_t)a;
    const float *r = x + (w.at + (ptrdiff_t)w.i_lo * d->W);  /* the first row inside */
    size_t n = (size_t)(b - a), W = (size_t)d->W;
    int rows = w.i_hi - w.i_lo;
    if (d->stride == 1)
        netc_maxpool_outputs_s1(o, r, W, rows, d->kw, n);
    else
        netc_maxpool_outputs(o, r, W, rows, d->kw, (size_t)d->stride, n);
}

/* out [OH,OW] = window maxima of one plane x [H,W]: each row's inner run of columns
 * tap by tap, its clipped ends window by window. */
static void netc_maxpool_plane(float *out, const float *x, const netc_pool_desc *d)
{
    int s = d->stride;
    int a = (d->pad + s - 1) / s;              /* first ow with ow*s - pad >= 0 */
    int b = (d->W + d->pad - d->kw) / s + 1;   /* past the last with ow*s - pad + kw <= W */
    a = a < d->OW ? a : d->OW;
    b = b < a ? a : b > d->OW ? d->OW : b;
    for (int oh = 0; oh < d->OH; oh++) {
        netc_maxpool_windows(out, x, d, oh, 0, a);
        if (a < b)
            netc_maxpool_run(out, x, d, oh, a, b);
        netc_maxpool_windows(out, x, d, oh, b, d->OW);
    }
}

/* out [N,C,OH,OW], inp [N,C,H,W]. */
void netc_maxpool2d(float *out, const float *inp, int N, const netc_pool_desc *d)
{
    size_t planes = (size_t)N * (size_t)d->C;
    size_t in_plane = (size_t)d->H * (size_t)d->W, out_plane = (size_t)d->OH * (size_t)d->OW;
    int two = d->kh == 2 && d->kw == 2 && d->stride == 2 && d->pad == 0;
    for (size_t p = 0; p < planes; p++) {
        if (two)
            netc_maxpool_2x2(out + p * out_plane, inp + p * in_plane, d);
        else
            netc_maxpool_plane(out + p * out_plane, inp + p * in_plane, d);
    }
}

/* out [N,C,OH,OW], inp [N,C,H,W]; each window's sum of its real taps / (kh*kw). */
void netc_avgpool2d(float *out, const float *inp, int N, const netc_pool_desc *d)
{
    size_t planes = (size_t)N * (size_t)d->C;
    float area = (float)(d->kh * d->kw);
    for (size_t p = 0; p < planes; p++) {
        const float *x = inp + p * (size_t)d->H * (size_t)d->W;
        float *y = out + p * (size_t)d->OH * (size_t)d->OW;
        for (int oh = 0; oh < d->OH; oh++)
            for (int ow = 0; ow < d->OW; ow++) {
                netc_window w = netc_window_of(d, oh, ow);
                float s = 0.0f;
                for (int i = w.i_lo; i < w.i_hi; i++)
                    for (int j = w.j_lo; j < w.j_hi; j++)
                        s += netc_tap(x, &w, d->W, i, j);
                y[(size_t)oh * (size_t)d->OW + (size_t)ow] = s / area;
            }
    }
}

/* out [N,C], inp [N,C,HW]. */
void netc_global_avgpool(float *out, const float *inp, int N, int C, int HW)
{
    size_t hw = (size_t)HW;
    for (size_t p = 0; p < (size_t)N * (size_t)C; p++) {
        float s = 0.0f;
        for (size_t i = 0; i < hw; i++)
            s += inp[p * hw + i];
        out[p] = s / (float)HW;
    }
}
