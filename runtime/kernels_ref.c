/* Reference kernels: the plainest correct loop for every kernel of kernels.c, with the
 * same signature and a _ref suffix.  Each one is a direct transcription of the op's
 * definition — convolution as its six nested sums with a bounds test on every tap,
 * pooling window by window, batchnorm statistics summed in double — with no BLAS, no
 * hoisting and no cleverness, so that it can be checked by eye.  test_kernels holds
 * the fast kernels to these, and test_gradcheck holds both kinds' backward kernels to
 * finite differences of their forward kernels.  Slow by design: never call these from
 * a model except to debug one. */
#include <math.h>
#include <string.h>
#include "netc_rt.h"

/* Zeroes a gradient that is to be overwritten (accum == 0); all the backward loops
 * below then add into it. */
static void zero_unless_accum(float *x, size_t n, int accum)
{
    if (!accum)
        memset(x, 0, n * sizeof(float));
}

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

/* ---- dense ---- */

/* out [N,OC], inp [N,C], weight [OC,C], bias [OC] or NULL. */
void rt_dense_forward_ref(float *out, const float *inp, const float *weight,
                          const float *bias, int N, int C, int OC)
{
    for (int n = 0; n < N; n++)
        for (int oc = 0; oc < OC; oc++) {
            float s = bias ? bias[oc] : 0.0f;
            for (int c = 0; c < C; c++)
                s += inp[(size_t)n * C + c] * weight[(size_t)oc * C + c];
            out[(size_t)n * OC + oc] = s;
        }
}

/* dinp [N,C] or NULL, dweight [OC,C] +=, dbias [OC] += or NULL, dout [N,OC], inp [N,C],
 * weight [OC,C]. */
void rt_dense_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, int N, int C, int OC,
                           int accum)
{
    if (dinp)
        zero_unless_accum(dinp, (size_t)N * C, accum);
    for (int n = 0; n < N; n++)
        for (int oc = 0; oc < OC; oc++) {
            float g = dout[(size_t)n * OC + oc];
            if (dbias)
                dbias[oc] += g;
            for (int c = 0; c < C; c++) {
                dweight[(size_t)oc * C + c] += g * inp[(size_t)n * C + c];
                if (dinp)
                    dinp[(size_t)n * C + c] += g * weight[(size_t)oc * C + c];
            }
        }
}

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

/* ---- batchnorm ---- */

/* out [N,C,HW], mean [C], invstd [C], running_mean [C], running_var [C] (updated),
 * inp [N,C,HW], gamma [C], beta [C]. */
void rt_batchnorm_forward_ref(float *out, float *mean, float *invstd, float *running_mean,
                              float *running_var, const float *inp, const float *gamma,
                              const float *beta, int N, int C, int HW, float momentum,
                              float eps)
{
    double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double sum = 0.0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++)
                sum += inp[((size_t)n * C + c) * HW + i];
        double mu = sum / M;
        double ss = 0.0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                double dx = inp[((size_t)n * C + c) * HW + i] - mu;
                ss += dx * dx;
            }
        double var = ss / M;
        double unbiased = M > 1 ? ss / (M - 1) : var;
        mean[c] = (float)mu;
        invstd[c] = (float)(1.0 / sqrt(var + eps));
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * (float)mu;
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)unbiased;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t x = ((size_t)n * C + c) * HW + i;
                out[x] = (inp[x] - mean[c]) * invstd[c] * gamma[c] + beta[c];
            }
    }
}

/* out [N,C,HW], inp [N,C,HW], gamma, beta, running_mean, running_var [C]. */
void rt_batchnorm_forward_eval_ref(float *out, const float *inp, const float *gamma,
                                   const float *beta, const float *running_mean,
                                   const float *running_var, int N, int C, int HW, float eps)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++) {
                size_t x = ((size_t)n * C + c) * HW + i;
                out[x] = (inp[x] - running_mean[c]) / sqrtf(running_var[c] + eps) * gamma[c] +
                         beta[c];
            }
}

/* dinp [N,C,HW], dgamma [C] +=, dbeta [C] +=, dout [N,C,HW], inp [N,C,HW], mean [C],
 * invstd [C], gamma [C].  With xhat = (x - mean)*invstd and sums over the channel:
 * dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)). */
void rt_batchnorm_backward_ref(float *dinp, float *dgamma, float *dbeta, const float *dout,
                               const float *inp, const float *mean, const float *invstd,
                               const float *gamma, int N, int C, int HW, int accum)
{
    double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t x = ((size_t)n * C + c) * HW + i;
                sum_dy += dout[x];
                sum_dy_xhat += dout[x] * (inp[x] - mean[c]) * invstd[c];
            }
        dbeta[c] += (float)sum_dy;
        dgamma[c] += (float)sum_dy_xhat;
        if (!dinp)
            continue;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t x = ((size_t)n * C + c) * HW + i;
                double xhat = (inp[x] - mean[c]) * invstd[c];
                float dx = (float)(gamma[c] * invstd[c] / M *
                                   (M * dout[x] - sum_dy - xhat * sum_dy_xhat));
                dinp[x] = accum ? dinp[x] + dx : dx;
            }
    }
}

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

/* ---- activations: all [n] ---- */

void rt_relu_forward_ref(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void rt_relu_backward_ref(float *dinp, const float *dout, const float *out, size_t n,
                          int accum)
{
    for (size_t i = 0; i < n; i++) {
        float g = out[i] > 0.0f ? dout[i] : 0.0f;
        dinp[i] = accum ? dinp[i] + g : g;
    }
}

void rt_leaky_relu_forward_ref(float *out, const float *inp, float slope, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : slope * inp[i];
}

void rt_leaky_relu_backward_ref(float *dinp, const float *dout, const float *x, float slope,
                                size_t n, int accum)
{
    for (size_t i = 0; i < n; i++) {
        float g = x[i] > 0.0f ? dout[i] : slope * dout[i];
        dinp[i] = accum ? dinp[i] + g : g;
    }
}

void rt_elu_forward_ref(float *out, const float *inp, float alpha, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : alpha * expm1f(inp[i]);
}

/* For x <= 0, out = alpha*(exp(x) - 1), so d out/dx = alpha*exp(x) = out + alpha. */
void rt_elu_backward_ref(float *dinp, const float *dout, const float *out, float alpha,
                         size_t n, int accum)
{
    for (size_t i = 0; i < n; i++) {
        float g = out[i] > 0.0f ? dout[i] : dout[i] * (out[i] + alpha);
        dinp[i] = accum ? dinp[i] + g : g;
    }
}

void rt_sigmoid_forward_ref(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + expf(-inp[i]));
}

void rt_sigmoid_backward_ref(float *dinp, const float *dout, const float *out, size_t n,
                             int accum)
{
    for (size_t i = 0; i < n; i++) {
        float g = dout[i] * out[i] * (1.0f - out[i]);
        dinp[i] = accum ? dinp[i] + g : g;
    }
}

void rt_tanh_forward_ref(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(inp[i]);
}

void rt_tanh_backward_ref(float *dinp, const float *dout, const float *out, size_t n,
                          int accum)
{
    for (size_t i = 0; i < n; i++) {
        float g = dout[i] * (1.0f - out[i] * out[i]);
        dinp[i] = accum ? dinp[i] + g : g;
    }
}

/* ---- shape ops ---- */

/* out [N,C,H+2p,W+2p], inp [N,C,H,W]. */
void rt_pad2d_forward_ref(float *out, const float *inp, int N, int C, int H, int W, int p)
{
    int PH = H + 2 * p, PW = W + 2 * p;
    for (int nc = 0; nc < N * C; nc++)
        for (int h = 0; h < PH; h++)
            for (int w = 0; w < PW; w++) {
                int ih = h - p, iw = w - p;
                int inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                out[((size_t)nc * PH + h) * PW + w] =
                    inside ? inp[((size_t)nc * H + ih) * W + iw] : 0.0f;
            }
}

/* dinp [N,C,H,W], dout [N,C,H+2p,W+2p]. */
void rt_pad2d_backward_ref(float *dinp, const float *dout, int N, int C, int H, int W, int p,
                           int accum)
{
    int PH = H + 2 * p, PW = W + 2 * p;
    for (int nc = 0; nc < N * C; nc++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++) {
                size_t x = ((size_t)nc * H + h) * W + w;
                float g = dout[((size_t)nc * PH + h + p) * PW + w + p];
                dinp[x] = accum ? dinp[x] + g : g;
            }
}

/* out [N,sum C_i,HW], inps[i] [N,C_i,HW]. */
void rt_concat_forward_ref(float *out, const float *const *inps, const int *channels,
                           int n_inp, int N, int HW)
{
    int C_out = 0;
    for (int t = 0; t < n_inp; t++)
        C_out += channels[t];
    for (int n = 0; n < N; n++) {
        int c_offset = 0;
        for (int t = 0; t < n_inp; t++) {
            for (int c = 0; c < channels[t]; c++)
                for (int i = 0; i < HW; i++)
                    out[((size_t)n * C_out + c_offset + c) * HW + i] =
                        inps[t][((size_t)n * channels[t] + c) * HW + i];
            c_offset += channels[t];
        }
    }
}

/* dinp [N,C_in,HW], dout [N,C_out,HW]; dinp is channels [c_offset, c_offset+C_in). */
void rt_concat_backward_ref(float *dinp, const float *dout, int N, int C_out, int c_offset,
                            int C_in, int HW, int accum)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C_in; c++)
            for (int i = 0; i < HW; i++) {
                size_t x = ((size_t)n * C_in + c) * HW + i;
                float g = dout[((size_t)n * C_out + c_offset + c) * HW + i];
                dinp[x] = accum ? dinp[x] + g : g;
            }
}

/* out [n], inps[i] [n]. */
void rt_add_forward_ref(float *out, const float *const *inps, int n_inp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = 0.0f;
        for (int t = 0; t < n_inp; t++)
            s += inps[t][i];
        out[i] = s;
    }
}

/* dinp [n], dout [n]. */
void rt_add_backward_ref(float *dinp, const float *dout, size_t n, int accum)
{
    for (size_t i = 0; i < n; i++)
        dinp[i] = accum ? dinp[i] + dout[i] : dout[i];
}

/* ---- softmax and losses ---- */

/* probs [N,K], logits [N,K]. */
void rt_softmax_forward_ref(float *probs, const float *logits, int N, int K)
{
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * K;
        float *p = probs + (size_t)n * K;
        float max = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > max)
                max = z[k];
        float sum = 0.0f;
        for (int k = 0; k < K; k++) {
            p[k] = expf(z[k] - max);
            sum += p[k];
        }
        for (int k = 0; k < K; k++)
            p[k] /= sum;
    }
}

/* log of the softmax denominator of row z [K], shifted: log(sum exp(z - max)) + max. */
static float logsumexp_ref(const float *z, int K)
{
    float max = z[0];
    for (int k = 1; k < K; k++)
        if (z[k] > max)
            max = z[k];
    float sum = 0.0f;
    for (int k = 0; k < K; k++)
        sum += expf(z[k] - max);
    return logf(sum) + max;
}

/* probs [N,K], logits [N,K], labels [N]; returns mean loss. */
float rt_softmax_xent_forward_ref(float *probs, const float *logits, const int32_t *labels,
                                  int N, int K)
{
    rt_softmax_forward_ref(probs, logits, N, K);
    double loss = 0.0;
    for (int n = 0; n < N; n++) {
        if (labels[n] < 0 || labels[n] >= K)
            return NAN;
        const float *z = logits + (size_t)n * K;
        loss += logsumexp_ref(z, K) - z[labels[n]];
    }
    return (float)(loss / N);
}

/* dlogits [N,K], probs [N,K], labels [N]. */
void rt_softmax_xent_backward_ref(float *dlogits, const float *probs, const int32_t *labels,
                                  int N, int K, int accum)
{
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            size_t x = (size_t)n * K + k;
            float g = (probs[x] - (k == labels[n] ? 1.0f : 0.0f)) / (float)N;
            dlogits[x] = accum ? dlogits[x] + g : g;
        }
}

/* probs [N,K], logits [N,K], targets [N,K]; returns mean loss. */
float rt_softmax_xent_soft_forward_ref(float *probs, const float *logits,
                                       const float *targets, int N, int K)
{
    rt_softmax_forward_ref(probs, logits, N, K);
    double loss = 0.0;
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * K;
        float lse = logsumexp_ref(z, K);
        for (int k = 0; k < K; k++)
            loss -= targets[(size_t)n * K + k] * (z[k] - lse);
    }
    return (float)(loss / N);
}

/* dlogits [N,K], probs [N,K], targets [N,K]. */
void rt_softmax_xent_soft_backward_ref(float *dlogits, const float *probs,
                                       const float *targets, int N, int K, int accum)
{
    for (size_t x = 0; x < (size_t)N * K; x++) {
        float g = (probs[x] - targets[x]) / (float)N;
        dlogits[x] = accum ? dlogits[x] + g : g;
    }
}

/* ---- optimizers: param, buf/m/v, grad all [n] ---- */

void rt_sgd_update_ref(float *param, float *buf, const float *grad, size_t n, float lr,
                       float momentum, float dampening, float weight_decay, int nesterov,
                       int t)
{
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        if (momentum != 0.0f) {
            if (t == 1)
                buf[i] = g;
            else
                buf[i] = momentum * buf[i] + (1.0f - dampening) * g;
            if (nesterov)
                g = g + momentum * buf[i];
            else
                g = buf[i];
        }
        param[i] -= lr * g;
    }
}

void rt_adam_update_ref(float *param, float *m, float *v, const float *grad, size_t n,
                        float lr, float beta1, float beta2, float eps, float weight_decay,
                        int t)
{
    double bias_correction1 = 1.0 - pow(beta1, t);
    double bias_correction2 = 1.0 - pow(beta2, t);
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * g;
        v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
        float m_hat = (float)(m[i] / bias_correction1);
        float v_hat = (float)(v[i] / bias_correction2);
        param[i] -= lr * m_hat / (sqrtf(v_hat) + eps);
    }
}

void rt_adamw_update_ref(float *param, float *m, float *v, const float *grad, size_t n,
                         float lr, float beta1, float beta2, float eps, float weight_decay,
                         int t)
{
    for (size_t i = 0; i < n; i++)
        param[i] -= lr * weight_decay * param[i];
    rt_adam_update_ref(param, m, v, grad, n, lr, beta1, beta2, eps, 0.0f, t);
}
