/* Reference conv kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in conv.c by test_kernels). */
#include "kernel_util.h"

/* ---- conv2d ---- */

/* out [N,K,OH,OW], inp [N,C,H,W], weight [K,C,kh,kw], bias [K] or NULL; work unused. */
void rt_conv2d_forward_ref(float *out, const float *inp, const float *weight,
                           const float *bias, float *work, int N, const rt_conv_desc *d)
{
    (void)work;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < d->K; k++)
            for (int oh = 0; oh < d->OH; oh++)
                for (int ow = 0; ow < d->OW; ow++) {
                    float s = bias ? bias[k] : 0.0f;
                    for (int c = 0; c < d->C; c++)
                        for (int i = 0; i < d->kh; i++)
                            for (int j = 0; j < d->kw; j++) {
                                int ih = oh * d->stride - d->pad_t + i;
                                int iw = ow * d->stride - d->pad_l + j;
                                if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
                                    continue;
                                s += weight[((k * d->C + c) * d->kh + i) * d->kw + j] *
                                     inp[((n * d->C + c) * d->H + ih) * d->W + iw];
                            }
                    out[((n * d->K + k) * d->OH + oh) * d->OW + ow] = s;
                }
}

/* dinp [N,C,H,W] or NULL, dweight [K,C,kh,kw] +=, dbias [K] += or NULL,
 * dout [N,K,OH,OW], inp [N,C,H,W], weight [K,C,kh,kw]; work unused. */
void rt_conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, float *work, int N,
                            const rt_conv_desc *d, int accum)
{
    (void)work;
    if (dinp)
        zero_unless_accum(dinp, (size_t)N * d->C * d->H * d->W, accum);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < d->K; k++)
            for (int oh = 0; oh < d->OH; oh++)
                for (int ow = 0; ow < d->OW; ow++) {
                    float g = dout[((n * d->K + k) * d->OH + oh) * d->OW + ow];
                    if (dbias)
                        dbias[k] += g;
                    for (int c = 0; c < d->C; c++)
                        for (int i = 0; i < d->kh; i++)
                            for (int j = 0; j < d->kw; j++) {
                                int ih = oh * d->stride - d->pad_t + i;
                                int iw = ow * d->stride - d->pad_l + j;
                                if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
                                    continue;
                                size_t wi = ((size_t)(k * d->C + c) * d->kh + i) * d->kw + j;
                                size_t xi = ((size_t)(n * d->C + c) * d->H + ih) * d->W + iw;
                                dweight[wi] += g * inp[xi];
                                if (dinp)
                                    dinp[xi] += g * weight[wi];
                            }
                }
}
