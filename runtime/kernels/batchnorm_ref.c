/* Reference batchnorm kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in batchnorm.c by test_kernels). */
#include "kernel_util.h"

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
