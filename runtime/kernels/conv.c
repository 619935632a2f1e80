/* conv2d: the fast forward and backward kernels (scalar twins in conv_ref.c).
 *
 * Convolution.  Stride 1 (the models' case), with AVX-512: the image is copied once
 * into a zero-padded plane, and the forward is a direct convolution from that plane
 * (register-tiled, see its section) where it pays, else im2col from the plane (plain
 * row copies, no bounds) + one sgemm per image in the Caffe layout:
 * col [C*kh*kw, OH*OW], out_n [K, OH*OW] = weight [K, C*kh*kw] . col, which lands in
 * NCHW directly.  The weight gradient of a stride-1 3x3 or 5x5 convolution is summed
 * directly from the plane (its section); otherwise the backward re-runs im2col per
 * image: dweight += dout_n . col^T (sgemm, beta 1).  The input gradient is the direct
 * convolution of the padded dout_n with the flipped, transposed filter where it pays,
 * else dcol = weight^T . dout_n and col2im.  Other strides use the bounds-checked im2col and col2im; a 1x1 stride-1
 * unpadded convolution skips im2col (the image already is its col matrix).  Which path
 * pays was measured (docs/performance.md); docs/kernels.md has the layouts compared.
 */
#include <cblas.h>
#include "kernel_util.h"

/* ---- conv2d ---- */

/* A 1x1, stride-1, unpadded convolution: the image [C, H*W] is its own col matrix. */
static int conv_is_pointwise(const rt_conv_desc *d)
{
    return d->kh == 1 && d->kw == 1 && d->stride == 1 && d->pad_t == 0 && d->pad_l == 0 &&
           d->pad_b == 0 && d->pad_r == 0;
}

/* The workspace's layout and size: conv_layout.h.  Slot 0 adds into dweight and dbias
 * directly, the other slots' partial gradients are added in afterwards in slot order, so
 * the results depend on N and RT_CONV_SLOTS, never on the thread count. */
static rt_conv_sizes conv_sizes_of_desc(const rt_conv_desc *d)
{
    return rt_conv_sizes_of((size_t)d->C, (size_t)d->H, (size_t)d->W, (size_t)d->K, (size_t)d->kh, (size_t)d->kw,
                         (size_t)d->stride, (size_t)d->pad_t, (size_t)d->pad_l, (size_t)d->pad_b, (size_t)d->pad_r,
                         (size_t)d->OH, (size_t)d->OW);
}

size_t rt_conv2d_workspace_floats(const rt_conv_desc *d)
{
    return rt_conv_sizes_total(conv_sizes_of_desc(d));
}

/* Slot s's buffers in the workspace (dw and db are NULL for slot 0), and the packed
 * weights, forward (wf) and backward (wb). */
typedef struct {
    float *col, *xp, *dyp, *dyT, *dwT, *dw, *db, *wf, *wb;
} conv_mem;

static conv_mem conv_mem_of(float *work, const rt_conv_desc *d, int s)
{
    rt_conv_sizes z = conv_sizes_of_desc(d);
    size_t slot = rt_conv_slot_floats(z);
    conv_mem m = { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    m.col = work + (size_t)s * slot;
    m.xp = m.col + z.col;
    m.dyp = m.xp + z.xp;
    m.dyT = m.dyp + z.dyp;
    m.dwT = m.dyT + rt_conv_k_padded((size_t)d->K) * d->OH * d->OW;
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

/* Short rows: im2col and col2im move rows of OW floats (14 or 28 in the LeNet-sized
 * nets), where a memcpy call costs more than the copy, and gcc and clang turn plain copy
 * loops back into memcpy calls.  With AVX-512 these are 16-float vector loops with one
 * masked operation for the tail (nothing read or written outside the row); otherwise
 * plain loops. */
#if defined(__AVX512F__)
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
 * channel axes swapped.  The weight gradient has a direct kernel of its own, below. */

/* One direct convolution: output y [M, OH, OW] (+)= conv(planes x [C, HP, WP],
 * packed weights wpk) + bias [M] (or NULL). */
typedef struct {
    const float *x, *wpk, *bias, *init;
    float *y;
    int C, HP, WP, kh, kw, M, OH, OW, accum;
    int bf16; /* x holds channel pairs and wpk weight pairs as bf16 (bf16_pair_plane_fill) */
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

/* One image's weight gradient, summed into dwT (the direct weight gradient, below). */
typedef struct {
    const float *xp, *dyT;
    float *dwT;
    int C, HP, WP, OH, OW, kh, Kp;
    int bf16; /* xp is the bf16 row plane and dyT the bf16 pixel pairs (bf16 section) */
} wgrad_image;

#if defined(__AVX512F__)
#if defined(__AVX512BF16__)
/* ---- bf16 factors (precision = bf16, AVX512_BF16 only) ----
 * vdpbf16ps adds to each fp32 lane the two products of a pair of bf16 numbers held in the
 * 32-bit lanes of its two operands; a bf16 number is a float's upper 16 bits, rounded to
 * nearest even (vcvtneps2bf16), and the product of two is exact in fp32.  So the direct
 * kernels take their factors in pairs along the sum: the forward and the input gradient
 * pairs of channels (a plane of channel pairs, and weight pairs), the weight gradient
 * pairs of neighbouring output pixels (dy's pixel pairs, and the input's row plane, read
 * two columns at once).  Their sums stay fp32, in the same order as fp32's but two
 * terms at a time. */

/* 16 floats as bf16, each in the low half of its 32-bit lane. */
static inline __m512i bf16_low(__m512 v)
{
    return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v));
}

/* Lane l: bf16 (a [l]) in its low half, bf16 (b [l]) in its high half. */
static inline __m512i bf16_pair(__m512 a, __m512 b)
{
    return _mm512_or_si512(bf16_low(a), _mm512_slli_epi32(bf16_low(b), 16));
}

/* The bf16 pair (a, b) as one 32-bit word, rounded as bf16_pair rounds. */
static uint32_t bf16_pair_word(float a, float b)
{
    return (uint32_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(bf16_pair(_mm512_set1_ps(a), _mm512_set1_ps(b))));
}

/* p [ceil(C/2)][HP][WP] 32-bit words: the planes of channels 2c and 2c + 1 of x as bf16
 * pairs, at row `top`, column `left`; the borders (zeros) are plane_clear's.  Rows go in
 * whole vectors as plane_fill's do. */
static void bf16_pair_plane_fill(float *p, const float *x, const plane_geom *g)
{
    size_t HW = (size_t)g->H * g->W;
    for (int c = 0; c < g->C; c += 2)
        for (int h = 0; h < g->H; h++) {
            const float *a = x + ((size_t)c * g->H + h) * g->W, *b = a + HW;
            float *dst = p + ((size_t)(c / 2) * g->HP + h + g->top) * g->WP + g->left;
            for (int w = 0; w < g->W; w += 16) {
                __mmask16 m = tail_mask(g->W - w < 16 ? g->W - w : 16);
                __m512 hi = c + 1 < g->C ? _mm512_maskz_loadu_ps(m, b + w) : _mm512_setzero_ps();
                _mm512_storeu_si512(dst + w, bf16_pair(_mm512_maskz_loadu_ps(m, a + w), hi));
            }
        }
}

/* direct_pack's layout with bf16 pairs of input channels: wpk [ceil(M/MR)][ceil(C/2)*kh*kw][MR]
 * words, each weight (m, 2c, i, j) in the low half and (m, 2c + 1, i, j) in the high. */
static void bf16_direct_pack(float *wpk, const float *w, int M, int C, int kh, int kw, int mr,
                             ptrdiff_t sm, ptrdiff_t sc, ptrdiff_t si, ptrdiff_t sj)
{
    size_t taps = (size_t)(C + 1) / 2 * kh * kw;
    for (int m0 = 0; m0 < M; m0 += mr)
        for (int c = 0; c < C; c += 2)
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++) {
                    uint32_t word[8];
                    for (int m = 0; m < mr; m++) {
                        float lo = 0.0f, hi = 0.0f;
                        if (m0 + m < M) {
                            const float *at = w + (m0 + m) * sm + c * sc + i * si + j * sj;
                            lo = at[0];
                            hi = c + 1 < C ? at[sc] : 0.0f;
                        }
                        word[m] = bf16_pair_word(lo, hi);
                    }
                    memcpy(wpk + (size_t)m0 * taps + (((size_t)(c / 2) * kh + i) * kw + j) * mr, word,
                           (size_t)mr * sizeof word[0]);
                }
}

/* The input's row plane for the weight gradient: xb [C][HP][WP + 1] bf16 (16-bit), at
 * row `top`, column `left`, zeros elsewhere (plane_clear's; the extra column lets a pixel
 * pair's second tap stay in its row). */
static void bf16_row_plane_fill(float *p, const float *x, const plane_geom *g)
{
    uint16_t *base = (uint16_t *)(void *)p;
    for (int c = 0; c < g->C; c++)
        for (int h = 0; h < g->H; h++) {
            const float *src = x + ((size_t)c * g->H + h) * g->W;
            uint16_t *dst = base + ((size_t)c * g->HP + h + g->top) * (g->WP + 1) + g->left;
            for (int w = 0; w < g->W; w += 16) {
                __mmask16 m = tail_mask(g->W - w < 16 ? g->W - w : 16);
                __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + w));
                _mm256_mask_storeu_epi16(dst + w, m, (__m256i)v);
            }
        }
}

/* dyT [OH*OW][Kp] floats -> [OH][ceil(OW/2)][Kp] bf16 pairs of pixels (2q low, 2q + 1
 * high, 0 past OW), in place: each pair lands at or before the first row it reads. */
static void bf16_pair_dy(float *dyT, int OH, int OW, int Kp)
{
    int OWp = (OW + 1) / 2;
    for (int oh = 0; oh < OH; oh++)
        for (int q = 0; q < OWp; q++) {
            const float *a = dyT + ((size_t)oh * OW + 2 * q) * Kp;
            float *dst = dyT + ((size_t)oh * OWp + q) * Kp;
            for (int k = 0; k < Kp; k += 16) {
                __m512 hi = 2 * q + 1 < OW ? _mm512_loadu_ps(a + Kp + k) : _mm512_setzero_ps();
                _mm512_storeu_si512(dst + k, bf16_pair(_mm512_loadu_ps(a + k), hi));
            }
        }
}

int rt_bf16_available(void)
{
    return __builtin_cpu_supports("avx512bf16");
}
#define BF16_BUILT 1
#else
#define BF16_BUILT 0
int rt_bf16_available(void)
{
    return 0;
}
#endif

/* Whether the direct convolution pays, for an output [M, *, OW] summed over `taps`
 * products (C*kh*kw): measured against im2col + sgemm (docs/performance.md), it wins or
 * ties where at least 7/8 of the vector lanes are used (OW of 14-16, 28-32, 42-48,
 * 56-64), there are at least 8 outputs channels (MR = 6 or 8) and at least 64 taps (a
 * short sum leaves the tile's setup and masked stores dominant: im2col + sgemm was
 * twice as fast on 1-channel 3x3 and 5x5 inputs).  With bf16 factors, which do twice the
 * work an instruction, 5/8 of the lanes pay (OW of 10-16: the Keras CNN's 11- and
 * 13-pixel rows; bench/conv_compare.sh). */
static int direct_fits(int M, int OW, int taps, int bf16)
{
    int vectors = (OW + 15) / 16;
    return M >= 8 && taps >= 64 && vectors <= 4 && 8 * OW >= (bf16 ? 5 : 7) * 16 * vectors;
}

static inline __attribute__((always_inline)) void direct_tile(const direct_conv *p, int mr, int nv, int bf16,
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
    int planes = bf16 ? (p->C + 1) / 2 : p->C; /* bf16: channel pairs */
    const float *w = p->wpk + (size_t)(m0 / mr) * mr * planes * p->kh * p->kw;
    for (int c = 0; c < planes; c++)
        for (int i = 0; i < p->kh; i++) {
            const float *row = p->x + ((size_t)c * p->HP + i) * p->WP;
            for (int j = 0; j < p->kw; j++, w += mr) {
                __m512 xv[4];
                for (int v = 0; v < nv; v++)
                    xv[v] = _mm512_loadu_ps(row + j + xo[v]);
                for (int m = 0; m < mr; m++) {
                    __m512 wv = _mm512_set1_ps(w[m]);
                    for (int v = 0; v < nv; v++)
#if BF16_BUILT
                        acc[m][v] = bf16 ? _mm512_dpbf16_ps(acc[m][v], (__m512bh)xv[v], (__m512bh)wv)
                                         : _mm512_fmadd_ps(wv, xv[v], acc[m][v]);
#else
                        acc[m][v] = _mm512_fmadd_ps(wv, xv[v], acc[m][v]);
#endif
                }
            }
        }
    for (int m = 0; m < mr; m++)
        if (m < mv)
            for (int v = 0; v < nv; v++)
                _mm512_mask_storeu_ps(p->y + (m0 + m) * OHW + yo[v], mk[v], acc[m][v]);
}

/* The tiles used: MR output channels x NV vectors, each with fp32 and bf16 factors. */
#define DIRECT_TILE(MR, NV)                                                                 \
    static void direct_tile_##MR##x##NV(const direct_conv *p, int m0, const int *xo,        \
                                        const int *yo, const __mmask16 *mk)                 \
    {                                                                                       \
        if (p->bf16)                                                                        \
            direct_tile(p, MR, NV, 1, m0, xo, yo, mk);                                      \
        else                                                                                \
            direct_tile(p, MR, NV, 0, m0, xo, yo, mk);                                      \
    }
DIRECT_TILE(8, 3)
DIRECT_TILE(6, 4)
#undef DIRECT_TILE

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

/* ---- direct weight gradient (stride 1, 3x3 or 5x5, AVX-512 only) ----
 * dW [k][c][i][j] is the sum over the images and output pixels (oh, ow) of
 * dy [k][oh][ow] * xp [c][oh + i][ow + j].  It is vectorised over the output channels k:
 * dy_n is transposed once per image into dyT [OH*OW][Kp] (zeros past K; 16x16 blocks
 * transposed in registers), and the gradient is summed transposed, in dwT [C*kh*kw][Kp],
 * over the slot's images.  A tile keeps KV vectors of 16 output channels x RI filter rows
 * x kw taps of one input channel in registers (2 x 9, 1 x 9, 2 x 10, 2 x 5 or 1 x 25 sums); for each output
 * pixel it loads KV vectors of dyT, broadcasts the RI*kw plane values under its taps and
 * does KV*RI*kw fused multiply-adds, loading and storing the sums once per image.  Every
 * sum runs over the slot's images in order and their pixels in order: the same bits for
 * any thread count.  At the slot's end dwT is transposed into the slot's gradient. */

/* The 16 rows r [0..15] become its 16 columns: r [i] [j] goes to r [j] [i]. */
static inline void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 16; g += 4)
        for (int h = 0; h < 2; h++) {
            __m512d a = _mm512_castps_pd(t[g + h]), b = _mm512_castps_pd(t[g + h + 2]);
            u[g + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            u[g + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        }
    /* u [4g + m]'s 128-bit lane L holds rows 4g..4g+3 of column 4L + m. */
    for (int m = 0; m < 4; m++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x44);
        __m512 v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xEE);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x44);
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xEE);
        r[m] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        r[4 + m] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        r[8 + m] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        r[12 + m] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
}

/* dyT [OHW][Kp] = dy [K][OHW] transposed, zeros in the columns past K. */
static void wgrad_transpose_dy(float *dyT, const float *dy, int K, int Kp, int OHW)
{
    for (int k0 = 0; k0 < Kp; k0 += 16)
        for (int p0 = 0; p0 < OHW; p0 += 16) {
            int np = OHW - p0 < 16 ? OHW - p0 : 16;
            __mmask16 mk = tail_mask(np);
            __m512 r[16];
            for (int k = 0; k < 16; k++)
                r[k] = k0 + k < K ? _mm512_maskz_loadu_ps(mk, dy + (size_t)(k0 + k) * OHW + p0)
                                  : _mm512_setzero_ps();
            transpose16(r);
            for (int p = 0; p < np; p++)
                _mm512_storeu_ps(dyT + (size_t)(p0 + p) * Kp + k0, r[p]);
        }
}

static inline __attribute__((always_inline)) void wgrad_tile(const wgrad_image *a, int kv, int ri, int kw,
                                                             int bf16, int k0, int c, int i0)
{
    __m512 acc[2][25];
    float *dwt = a->dwT + (size_t)(c * a->kh + i0) * kw * a->Kp + k0;
    for (int t = 0; t < ri * kw; t++)
        for (int v = 0; v < kv; v++)
            acc[v][t] = _mm512_loadu_ps(dwt + (size_t)t * a->Kp + 16 * v);
    const float *g = a->dyT + k0;
    if (!bf16) {
        const float *plane = a->xp + ((size_t)c * a->HP + i0) * a->WP;
        for (int oh = 0; oh < a->OH; oh++) {
            const float *row = plane + (size_t)oh * a->WP;
            for (int ow = 0; ow < a->OW; ow++, g += a->Kp) {
                __m512 dv[2];
                for (int v = 0; v < kv; v++)
                    dv[v] = _mm512_loadu_ps(g + 16 * v);
                for (int r = 0; r < ri; r++)
                    for (int j = 0; j < kw; j++) {
                        __m512 xv = _mm512_set1_ps(row[r * a->WP + ow + j]);
                        for (int v = 0; v < kv; v++)
                            acc[v][r * kw + j] = _mm512_fmadd_ps(dv[v], xv, acc[v][r * kw + j]);
                    }
            }
        }
    }
#if BF16_BUILT
    else {
        /* Pixel pairs: dyT's (2q, 2q + 1) against the row plane's two columns at 2q + j. */
        int WB = a->WP + 1;
        const uint16_t *plane = (const uint16_t *)(const void *)a->xp + ((size_t)c * a->HP + i0) * WB;
        for (int oh = 0; oh < a->OH; oh++) {
            const uint16_t *row = plane + (size_t)oh * WB;
            for (int ow = 0; ow < a->OW; ow += 2, g += a->Kp) {
                __m512 dv[2];
                for (int v = 0; v < kv; v++)
                    dv[v] = _mm512_loadu_ps(g + 16 * v);
                for (int r = 0; r < ri; r++)
                    for (int j = 0; j < kw; j++) {
                        int32_t pair;
                        memcpy(&pair, row + r * WB + ow + j, sizeof pair);
                        __m512bh xv = (__m512bh)_mm512_set1_epi32(pair);
                        for (int v = 0; v < kv; v++)
                            acc[v][r * kw + j] = _mm512_dpbf16_ps(acc[v][r * kw + j], (__m512bh)dv[v], xv);
                    }
            }
        }
    }
#endif
    for (int t = 0; t < ri * kw; t++)
        for (int v = 0; v < kv; v++)
            _mm512_storeu_ps(dwt + (size_t)t * a->Kp + 16 * v, acc[v][t]);
}

/* The tiles used: KV vectors x RI rows x KW taps, each with fp32 and bf16 factors (the
 * bf16 body is empty, and never asked for, where the instructions are not built in). */
#define WGRAD_TILE(KV, RI, KW)                                                              \
    static void wgrad_tile_##KV##x##RI##x##KW(const wgrad_image *a, int k0, int c, int i0) \
    {                                                                                       \
        if (a->bf16)                                                                        \
            wgrad_tile(a, KV, RI, KW, 1, k0, c, i0);                                        \
        else                                                                                \
            wgrad_tile(a, KV, RI, KW, 0, k0, c, i0);                                        \
    }
WGRAD_TILE(1, 3, 3)
WGRAD_TILE(2, 3, 3)
WGRAD_TILE(1, 5, 5)
WGRAD_TILE(2, 2, 5)
WGRAD_TILE(2, 1, 5)
#undef WGRAD_TILE

/* dwT += one image's weight gradient (its plane xp and transposed dyT), tile by tile:
 * 32 output channels at a time (16 for the last when Kp is an odd number of vectors),
 * a 3x3 filter whole, a 5x5 one two rows at a time (all five for 16 channels). */
static void wgrad_image_run(const wgrad_image *a)
{
    for (int k0 = 0, two; k0 < a->Kp; k0 += two ? 32 : 16) {
        two = a->Kp - k0 >= 32;
        for (int c = 0; c < a->C; c++) {
            if (a->kh == 3)
                (two ? wgrad_tile_2x3x3 : wgrad_tile_1x3x3)(a, k0, c, 0);
            else if (!two)
                wgrad_tile_1x5x5(a, k0, c, 0);
            else
                for (int i0 = 0; i0 < 5; i0 += 2)
                    (i0 + 2 <= 5 ? wgrad_tile_2x2x5 : wgrad_tile_2x1x5)(a, k0, c, i0);
        }
    }
}

/* Whether the weight gradient is direct: conv_layout.h's rule. */
static int conv_wgrad_direct(const rt_conv_desc *d)
{
    return rt_conv_wgrad_direct((size_t)d->C, (size_t)d->kh, (size_t)d->kw, (size_t)d->stride,
                                (size_t)d->OH, (size_t)d->OW);
}

#else
#define BF16_BUILT 0
int rt_bf16_available(void)
{
    return 0;
}

/* Without AVX-512: no direct convolution (direct_run is never called), and the padded
 * planes and their im2col in plain loops. */
static int direct_fits(int M, int OW, int taps, int bf16)
{
    (void)M;
    (void)OW;
    (void)taps;
    (void)bf16;
    return 0;
}

static void direct_run(const direct_conv *p)
{
    (void)p;
}

static int conv_wgrad_direct(const rt_conv_desc *d)
{
    (void)d;
    return 0;
}

static void wgrad_transpose_dy(float *dyT, const float *dy, int K, int Kp, int OHW)
{
    (void)dyT;
    (void)dy;
    (void)K;
    (void)Kp;
    (void)OHW;
}

static void wgrad_image_run(const wgrad_image *a)
{
    (void)a;
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

#if !BF16_BUILT
/* Without AVX512_BF16 the bf16 steps are never asked for (conv_bf16 is 0). */
static void bf16_pair_plane_fill(float *p, const float *x, const plane_geom *g)
{
    (void)p;
    (void)x;
    (void)g;
}

static void bf16_row_plane_fill(float *p, const float *x, const plane_geom *g)
{
    (void)p;
    (void)x;
    (void)g;
}

static void bf16_direct_pack(float *wpk, const float *w, int M, int C, int kh, int kw, int mr,
                             ptrdiff_t sm, ptrdiff_t sc, ptrdiff_t si, ptrdiff_t sj)
{
    direct_pack(wpk, w, M, C, kh, kw, mr, sm, sc, si, sj);
}

static void bf16_pair_dy(float *dyT, int OH, int OW, int Kp)
{
    (void)dyT;
    (void)OH;
    (void)OW;
    (void)Kp;
}
#endif

/* Whether the direct kernels take bf16 factors: asked for, and built in. */
static int conv_bf16(rt_precision prec)
{
    return BF16_BUILT && prec == RT_BF16;
}

/* Stride 1 (and not pointwise): im2col goes through the padded plane. */
static int conv_is_stride1(const rt_conv_desc *d)
{
    return d->stride == 1 && !conv_is_pointwise(d);
}

/* The direct forward applies: stride 1, and direct_fits. */
static int conv_direct_forward(const rt_conv_desc *d, int bf16)
{
    return conv_is_stride1(d) && direct_fits(d->K, d->OW, d->C * d->kh * d->kw, bf16);
}

/* The direct input gradient applies: stride 1, direct_fits, and no pad as wide as the
 * filter (the padding of dout would be negative). */
static int conv_direct_backward(const rt_conv_desc *d, int bf16)
{
    return conv_is_stride1(d) && direct_fits(d->C, d->W, d->K * d->kh * d->kw, bf16) &&
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
    int N, accum, bf16;
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
    if (conv_direct_forward(d, j->bf16)) {
        plane_clear(m.xp, &g);
        direct_conv p = { .x = m.xp, .wpk = m.wf, .bias = j->bias, .C = d->C, .HP = g.HP,
                          .WP = g.WP, .kh = d->kh, .kw = d->kw, .M = d->K, .OH = d->OH,
                          .OW = d->OW, .bf16 = j->bf16 };
        for (int n = lo; n < hi; n++) {
            const float *x = j->inp + (size_t)n * d->C * d->H * d->W;
            (j->bf16 ? bf16_pair_plane_fill : plane_fill)(m.xp, x, &g);
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
                       float *work, int N, const rt_conv_desc *d, rt_precision prec)
{
    int bf16 = conv_bf16(prec);
    if (conv_direct_forward(d, bf16)) {
        int mr;
        direct_rows(d->OW, &mr);
        int CKK = d->C * d->kh * d->kw;
        (bf16 ? bf16_direct_pack : direct_pack)(conv_mem_of(work, d, 0).wf, weight, d->K, d->C, d->kh, d->kw,
                                                mr, CKK, d->kh * d->kw, d->kw, 1);
    }
    conv_job j = { .out = out, .work = work, .inp = inp, .weight = weight, .bias = bias, .N = N,
                   .bf16 = bf16, .d = d };
    rt_parallel_for(conv_slots(N), conv_forward_slot, &j);
}

/* The slot's weight gradient from its transposed sum dwT [CKK][Kp]: dw [K][CKK] = dwT^T
 * (a slot's partial, fresh) or += dwT^T (slot 0, into dweight). */
static void wgrad_store(float *dw, const float *dwT, int K, int Kp, int CKK, int fresh)
{
    for (int k = 0; k < K; k++)
        for (int t = 0; t < CKK; t++) {
            float v = dwT[(size_t)t * Kp + k];
            dw[(size_t)k * CKK + t] = fresh ? v : dw[(size_t)k * CKK + t] + v;
        }
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
    int direct = j->dinp && conv_direct_backward(d, j->bf16), wdirect = conv_wgrad_direct(d);
    int Kp = (int)rt_conv_k_padded((size_t)d->K);
    conv_mem m = conv_mem_of(j->work, d, s);
    float *dw = s > 0 ? m.dw : j->dweight, *db = s > 0 ? m.db : j->dbias;
    plane_geom gx = conv_xp_geom(d), gy = conv_dyp_geom(d);
    direct_conv p = { .x = m.dyp, .wpk = m.wb, .C = d->K, .HP = gy.HP, .WP = gy.WP, .kh = d->kh,
                      .kw = d->kw, .M = d->C, .OH = d->H, .OW = d->W, .accum = j->accum,
                      .bf16 = j->bf16 };
    wgrad_image wg = { .xp = m.xp, .dyT = m.dyT, .dwT = m.dwT, .C = d->C, .HP = gx.HP,
                       .WP = gx.WP, .OH = d->OH, .OW = d->OW, .kh = d->kh, .Kp = Kp,
                       .bf16 = j->bf16 };
    if (stride1)
        plane_clear(m.xp, &gx);
    if (direct)
        plane_clear(m.dyp, &gy);
    if (wdirect)
        memset(m.dwT, 0, (size_t)CKK * Kp * sizeof(float));
    slot_range(j->N, s, &lo, &hi);
    for (int n = lo; n < hi; n++) {
        const float *x = j->inp + (size_t)n * CHW;
        const float *dy = j->dout + (size_t)n * d->K * OHW;
        const float *b = x;
        int fresh = s > 0 && n == lo;
        if (wdirect) {
            (j->bf16 ? bf16_row_plane_fill : plane_fill)(m.xp, x, &gx);
            wgrad_transpose_dy(m.dyT, dy, d->K, Kp, OHW);
            if (j->bf16)
                bf16_pair_dy(m.dyT, d->OH, d->OW, Kp);
            wgrad_image_run(&wg);
        } else {
            if (stride1) {
                plane_fill(m.xp, x, &gx);
                im2col_plane(m.col, m.xp, &gx, d);
                b = m.col;
            } else if (!pointwise) {
                im2col(m.col, x, d);
                b = m.col;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->K, CKK, OHW, 1.0f, dy, OHW, b,
                        OHW, fresh ? 0.0f : 1.0f, dw, CKK);
        }
        if (j->dbias)
            for (int k = 0; k < d->K; k++)
                db[k] = (fresh ? 0.0f : db[k]) + sum_lanes(dy + (size_t)k * OHW, OHW);
        if (!j->dinp)
            continue;
        float *dx = j->dinp + (size_t)n * CHW;
        if (direct) {
            (j->bf16 ? bf16_pair_plane_fill : plane_fill)(m.dyp, dy, &gy);
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
    if (wdirect)
        wgrad_store(dw, m.dwT, d->K, Kp, CKK, s > 0);
}

/* dinp [N,C,H,W] or NULL, dweight [K,C,kh,kw] +=, dbias [K] += or NULL,
 * dout [N,K,OH,OW], inp [N,C,H,W], weight [K,C,kh,kw], work as for the forward. */
void rt_conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, float *work, int N,
                        const rt_conv_desc *d, int accum, rt_precision prec)
{
    int bf16 = conv_bf16(prec);
    if (dinp && conv_direct_backward(d, bf16)) {
        /* The flipped filter with its channel axes swapped: output c, input k, tap
         * (i, j) is weight (k, c, kh-1-i, kw-1-j). */
        int mr, taps = d->kh * d->kw;
        direct_rows(d->W, &mr);
        const float *corner = weight + (size_t)(d->kh - 1) * d->kw + d->kw - 1;
        (bf16 ? bf16_direct_pack : direct_pack)(conv_mem_of(work, d, 0).wb, corner, d->C, d->K, d->kh, d->kw,
                                                mr, taps, (ptrdiff_t)d->C * taps, -d->kw, -1);
    }
    conv_job j = { .dinp = dinp, .dweight = dweight, .dbias = dbias, .work = work, .inp = inp,
                   .weight = weight, .dout = dout, .N = N, .accum = accum, .bf16 = bf16, .d = d };
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
