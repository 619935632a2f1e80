/* Reference pool kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in pool.c by test_kernels). */
#include "kernel_util.h"

/* ---- pooling ---- */

/* out [N,C,OH,OW], argmax [N,C,OH,OW], inp [N,C,H,W]. */
void rt_maxpool2d_forward_ref(float *out, uint8_t *argmax, const float *inp, int N,
                              const rt_pool_desc *d)
{
    for (int nc = 0; nc < N * d->C; nc++)
        for (int oh = 0; oh < d->OH; oh++)
            for (int ow = 0; ow < d->OW; ow++) {
                float best = -INFINITY;
                int best_at = -1;
                for (int i = 0; i < d->kh; i++)
                    for (int j = 0; j < d->kw; j++) {
                        int ih = oh * d->stride - d->pad + i;
                        int iw = ow * d->stride - d->pad + j;
                        if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
                            continue;
                        float v = inp[((size_t)nc * d->H + ih) * d->W + iw];
                        if (best_at < 0 || v > best || isnan(v)) {
                            best = v;
                            best_at = i * d->kw + j;
                        }
                    }
                size_t o = ((size_t)nc * d->OH + oh) * d->OW + ow;
                out[o] = best;
                argmax[o] = (uint8_t)best_at;
            }
}

/* dinp [N,C,H,W], dout [N,C,OH,OW], argmax [N,C,OH,OW]. */
void rt_maxpool2d_backward_ref(float *dinp, const float *dout, const uint8_t *argmax, int N,
                               const rt_pool_desc *d, int accum)
{
    zero_unless_accum(dinp, (size_t)N * d->C * d->H * d->W, accum);
    for (int nc = 0; nc < N * d->C; nc++)
        for (int oh = 0; oh < d->OH; oh++)
            for (int ow = 0; ow < d->OW; ow++) {
                size_t o = ((size_t)nc * d->OH + oh) * d->OW + ow;
                int ih = oh * d->stride - d->pad + argmax[o] / d->kw;
                int iw = ow * d->stride - d->pad + argmax[o] % d->kw;
                dinp[((size_t)nc * d->H + ih) * d->W + iw] += dout[o];
            }
}

/* out [N,C,OH,OW], inp [N,C,H,W]. */
void rt_avgpool2d_forward_ref(float *out, const float *inp, int N, const rt_pool_desc *d)
{
    for (int nc = 0; nc < N * d->C; nc++)
        for (int oh = 0; oh < d->OH; oh++)
            for (int ow = 0; ow < d->OW; ow++) {
                float s = 0.0f;
                for (int i = 0; i < d->kh; i++)
                    for (int j = 0; j < d->kw; j++) {
                        int ih = oh * d->stride - d->pad + i;
                        int iw = ow * d->stride - d->pad + j;
                        if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
                            continue;
                        s += inp[((size_t)nc * d->H + ih) * d->W + iw];
                    }
                out[((size_t)nc * d->OH + oh) * d->OW + ow] = s / (float)(d->kh * d->kw);
            }
}

/* dinp [N,C,H,W], dout [N,C,OH,OW]. */
void rt_avgpool2d_backward_ref(float *dinp, const float *dout, int N, const rt_pool_desc *d,
                               int accum)
{
    zero_unless_accum(dinp, (size_t)N * d->C * d->H * d->W, accum);
    for (int nc = 0; nc < N * d->C; nc++)
        for (int oh = 0; oh < d->OH; oh++)
            for (int ow = 0; ow < d->OW; ow++) {
                float g = dout[((size_t)nc * d->OH + oh) * d->OW + ow] / (float)(d->kh * d->kw);
                for (int i = 0; i < d->kh; i++)
                    for (int j = 0; j < d->kw; j++) {
                        int ih = oh * d->stride - d->pad + i;
                        int iw = ow * d->stride - d->pad + j;
                        if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
                            continue;
                        dinp[((size_t)nc * d->H + ih) * d->W + iw] += g;
                    }
            }
}

/* out [N,C], inp [N,C,HW]. */
void rt_global_avgpool_forward_ref(float *out, const float *inp, int N, int C, int HW)
{
    for (int nc = 0; nc < N * C; nc++) {
        float s = 0.0f;
        for (int i = 0; i < HW; i++)
            s += inp[(size_t)nc * HW + i];
        out[nc] = s / (float)HW;
    }
}

/* dinp [N,C,HW], dout [N,C]. */
void rt_global_avgpool_backward_ref(float *dinp, const float *dout, int N, int C, int HW,
                                    int accum)
{
    zero_unless_accum(dinp, (size_t)N * C * HW, accum);
    for (int nc = 0; nc < N * C; nc++)
        for (int i = 0; i < HW; i++)
            dinp[(size_t)nc * HW + i] += dout[nc] / (float)HW;
}
