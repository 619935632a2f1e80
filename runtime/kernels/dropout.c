/* Dropout and channel dropout, with masks kept as bits (scalar twins in dropout_ref.c). */
#include "kernel_util.h"

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
