/* Reference dropout kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in dropout.c by test_kernels). */
#include "kernel_util.h"

/* ---- dropout ---- */

/* out [n], mask [(n+31)/32], inp [n]. */
void rt_dropout_forward_ref(float *out, uint32_t *mask, const float *inp, rt_rng *rng,
                            float p, size_t n)
{
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    memset(mask, 0, rt_dropout_mask_words(n) * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        if (rt_rng_uniform(rng) >= p) {
            mask[i / 32] |= 1u << (i % 32);
            out[i] = inp[i] * scale;
        } else {
            out[i] = 0.0f;
        }
    }
}

/* dinp [n], dout [n], mask [(n+31)/32]. */
void rt_dropout_backward_ref(float *dinp, const float *dout, const uint32_t *mask, float p,
                             size_t n, int accum)
{
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (size_t i = 0; i < n; i++) {
        float g = (mask[i / 32] >> (i % 32)) & 1u ? dout[i] * scale : 0.0f;
        dinp[i] = accum ? dinp[i] + g : g;
    }
}

/* out [N,C,HW], mask [(N*C+31)/32], inp [N,C,HW]. */
void rt_dropout2d_forward_ref(float *out, uint32_t *mask, const float *inp, rt_rng *rng,
                              float p, int N, int C, int HW)
{
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    memset(mask, 0, rt_dropout_mask_words((size_t)N * C) * sizeof(uint32_t));
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        int keep = rt_rng_uniform(rng) >= p;
        if (keep)
            mask[nc / 32] |= 1u << (nc % 32);
        for (int i = 0; i < HW; i++)
            out[nc * HW + i] = keep ? inp[nc * HW + i] * scale : 0.0f;
    }
}

/* dinp [N,C,HW], dout [N,C,HW], mask [(N*C+31)/32]. */
void rt_dropout2d_backward_ref(float *dinp, const float *dout, const uint32_t *mask, float p,
                               int N, int C, int HW, int accum)
{
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        for (int i = 0; i < HW; i++) {
            size_t x = nc * HW + i;
            float g = (mask[nc / 32] >> (nc % 32)) & 1u ? dout[x] * scale : 0.0f;
            dinp[x] = accum ? dinp[x] + g : g;
        }
}
