/* Dropout and channel dropout, with masks kept as bits (scalar twins in dropout_ref.c). */
#include "kernel_util.h"

/* ---- dropout ---- */

size_t rt_dropout_mask_words(size_t n)
{
    return (n + 31) / 32;
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
/* The full mask words of draw_mask with the same bits, 32 draws a word as four vectors
 * of eight 64-bit generator states: lane j of vector v holds the state of draw 8v + j,
 * and eight steps at once are state * M^8 + inc * (M^7 + ... + 1), M = RT_RNG_MUL.  Each
 * state gives PCG32's output (XSH-RR) in its lane, and bit i of the word is set when
 * uniform = (output >> 8) * 2^-24 >= p, that is when output >> 8 >= ceil(p * 2^24),
 * which is exact.  Returns the words written; rng steps past their draws. */
static size_t draw_mask_words_avx512(uint32_t *mask, rt_rng *rng, float p, size_t n)
{
    size_t words = n / 32;
    if (words == 0)
        return 0;
    uint64_t lane[8], mul8 = 1, inc8 = 0, s = rng->state;
    for (int j = 0; j < 8; j++) {
        lane[j] = s;
        s = s * RT_RNG_MUL + rng->inc;
        inc8 = inc8 * RT_RNG_MUL + rng->inc;
        mul8 *= RT_RNG_MUL;
    }
    /* p <= 0 keeps every bit, p >= 1 (or NaN: no uniform is >= it) none */
    double at = p > 0 ? ceil((double)p * 16777216.0) : p <= 0 ? 0.0 : 16777216.0;
    const __m512i threshold = _mm512_set1_epi64((long long)at), low32 = _mm512_set1_epi64(0xFFFFFFFFLL);
    const __m512i vmul = _mm512_set1_epi64((long long)mul8), vinc = _mm512_set1_epi64((long long)inc8);
    __m512i state = _mm512_loadu_si512(lane);
    for (size_t w = 0; w < words; w++) {
        uint32_t word = 0;
        for (int v = 0; v < 4; v++) {
            __m512i xs = _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(state, 18), state), 27);
            __m512i out = _mm512_and_si512(_mm512_rorv_epi32(xs, _mm512_srli_epi64(state, 59)), low32);
            word |= (uint32_t)_mm512_cmpge_epu64_mask(_mm512_srli_epi64(out, 8), threshold) << (8 * v);
            state = _mm512_add_epi64(_mm512_mullo_epi64(state, vmul), vinc);
        }
        mask[w] = word;
    }
    _mm512_storeu_si512(lane, state);
    rng->state = lane[0];
    return words;
}
#endif

/* mask [(n+31)/32]: bit i set with probability 1 - p, one rt_rng_uniform per bit in
 * order; the AVX-512 twin above takes the whole words. */
static void draw_mask(uint32_t *mask, rt_rng *rng, float p, size_t n)
{
    size_t w = 0;
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    w = draw_mask_words_avx512(mask, rng, p, n);
#endif
    for (; w < rt_dropout_mask_words(n); w++) {
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
