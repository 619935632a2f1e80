/* Batch normalisation, training and inference (scalar twins in batchnorm_ref.c).
 * Statistics sum each contiguous row in float lanes and the rows in double. */
#include "kernel_util.h"

/* ---- batchnorm ---- */

/* The [N,C] case (HW = 1).  A channel's values lie C apart there, so the per-channel
 * loops of the general case would stride through memory a value at a time; these sweep
 * the rows instead, vectorised across a block of up to BN_BLOCK channels whose sums
 * (in double, as the reference's) live on the stack. */
enum { BN_BLOCK = 256 };

static void batchnorm_forward_flat(float *out, float *mean, float *invstd, float *running_mean,
                                   float *running_var, const float *inp, const float *gamma,
                                   const float *beta, int N, int C, float momentum, float eps)
{
    double mu[BN_BLOCK], ss[BN_BLOCK];
    float m[BN_BLOCK], a[BN_BLOCK], b[BN_BLOCK];
    for (int c0 = 0; c0 < C; c0 += BN_BLOCK) {
        int len = C - c0 < BN_BLOCK ? C - c0 : BN_BLOCK;
        for (int k = 0; k < len; k++) {
            mu[k] = 0.0;
            ss[k] = 0.0;
        }
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C + c0;
            for (int k = 0; k < len; k++)
                mu[k] += x[k];
        }
        for (int k = 0; k < len; k++)
            mu[k] /= N;
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C + c0;
            for (int k = 0; k < len; k++)
                ss[k] += (x[k] - mu[k]) * (x[k] - mu[k]);
        }
        for (int k = 0; k < len; k++) {
            int c = c0 + k;
            double var = ss[k] / N;
            double unbiased = N > 1 ? ss[k] / (N - 1) : var;
            float is = (float)(1.0 / sqrt(var + eps));
            mean[c] = (float)mu[k];
            m[k] = mean[c];
            invstd[c] = is;
            running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
            running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)unbiased;
            a[k] = is * gamma[c];
            b[k] = beta[c];
        }
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C + c0;
            float *y = out + (size_t)n * C + c0;
            for (int k = 0; k < len; k++)
                y[k] = (x[k] - m[k]) * a[k] + b[k];
        }
    }
}

static void batchnorm_backward_flat(float *dinp, float *dgamma, float *dbeta, const float *dout,
                                    const float *inp, const float *mean, const float *invstd,
                                    const float *gamma, int N, int C, int accum)
{
    double sum_dy[BN_BLOCK], sum_dy_dev[BN_BLOCK];
    float k1[BN_BLOCK], k2[BN_BLOCK], k3[BN_BLOCK];
    for (int c0 = 0; c0 < C; c0 += BN_BLOCK) {
        int len = C - c0 < BN_BLOCK ? C - c0 : BN_BLOCK;
        const float *mu = mean + c0;
        for (int k = 0; k < len; k++) {
            sum_dy[k] = 0.0;
            sum_dy_dev[k] = 0.0;
        }
        for (int n = 0; n < N; n++) {
            const float *dy = dout + (size_t)n * C + c0, *x = inp + (size_t)n * C + c0;
            for (int k = 0; k < len; k++) {
                sum_dy[k] += dy[k];
                sum_dy_dev[k] += dy[k] * (x[k] - mu[k]);
            }
        }
        for (int k = 0; k < len; k++) {
            int c = c0 + k;
            double sum_dy_xhat = sum_dy_dev[k] * invstd[c];
            dbeta[c] += (float)sum_dy[k];
            dgamma[c] += (float)sum_dy_xhat;
            k1[k] = gamma[c] * invstd[c];
            k2[k] = (float)(-k1[k] * invstd[c] * sum_dy_xhat / N);
            k3[k] = (float)(-k1[k] * sum_dy[k] / N);
        }
        if (!dinp)
            continue;
        for (int n = 0; n < N; n++) {
            const float *dy = dout + (size_t)n * C + c0, *x = inp + (size_t)n * C + c0;
            float *dx = dinp + (size_t)n * C + c0;
            if (accum)
                for (int k = 0; k < len; k++)
                    dx[k] += k1[k] * dy[k] + k2[k] * (x[k] - mu[k]) + k3[k];
            else
                for (int k = 0; k < len; k++)
                    dx[k] = k1[k] * dy[k] + k2[k] * (x[k] - mu[k]) + k3[k];
        }
    }
}

/* The arguments of a batchnorm kernel, for its range function over channels (or, in
 * evaluation, planes (n, c)). */
typedef struct {
    float *out, *mean, *invstd, *running_mean, *running_var, *dgamma, *dbeta;
    const float *inp, *dout, *gamma, *beta, *cmean, *cinvstd;
    int N, C, HW, accum;
    float momentum, eps;
} bn_job;

/* Channels below this many values per thread run in one thread. */
static size_t bn_grain(int N, int HW)
{
    size_t per_channel = (size_t)N * HW;
    return per_channel >= GRAIN ? 1 : GRAIN / (per_channel ? per_channel : 1);
}

/* Training forward of channels [lo, hi): the mean, then the sum of squared deviations
 * (two passes, as exact as the reference), then out = (x - mean)*a + beta (not x*a + b
 * with b folded: that cancels where |mean| >> std). */
static void batchnorm_forward_channels(void *ctx, size_t lo, size_t hi)
{
    const bn_job *j = ctx;
    int N = j->N, C = j->C, HW = j->HW;
    float momentum = j->momentum;
    double M = (double)N * HW;
    for (size_t c = lo; c < hi; c++) {
        double sum = 0.0;
        for (int n = 0; n < N; n++)
            sum += sum_lanes(j->inp + ((size_t)n * C + c) * HW, HW);
        float mu = (float)(sum / M);
        double ss = 0.0;
        for (int n = 0; n < N; n++)
            ss += sumsq_dev_lanes(j->inp + ((size_t)n * C + c) * HW, mu, HW);
        double var = ss / M;
        double unbiased = M > 1 ? ss / (M - 1) : var;
        float is = (float)(1.0 / sqrt(var + j->eps));
        j->mean[c] = mu;
        j->invstd[c] = is;
        j->running_mean[c] = (1.0f - momentum) * j->running_mean[c] + momentum * mu;
        j->running_var[c] = (1.0f - momentum) * j->running_var[c] + momentum * (float)unbiased;
        float a = is * j->gamma[c];
        float b = j->beta[c];
        for (int n = 0; n < N; n++) {
            const float *x = j->inp + ((size_t)n * C + c) * HW;
            float *y = j->out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                y[i] = (x[i] - mu) * a + b;
        }
    }
}

/* out [N,C,HW], mean [C], invstd [C], running_mean [C], running_var [C] (updated),
 * inp [N,C,HW], gamma [C], beta [C].  Channels are independent, so they are spread
 * over the threads whole. */
void rt_batchnorm_forward(float *out, float *mean, float *invstd, float *running_mean,
                          float *running_var, const float *inp, const float *gamma,
                          const float *beta, int N, int C, int HW, float momentum, float eps)
{
    if (HW == 1) {
        batchnorm_forward_flat(out, mean, invstd, running_mean, running_var, inp, gamma, beta, N,
                               C, momentum, eps);
        return;
    }
    bn_job j = { .out = out, .mean = mean, .invstd = invstd, .running_mean = running_mean,
                 .running_var = running_var, .inp = inp, .gamma = gamma, .beta = beta, .N = N,
                 .C = C, .HW = HW, .momentum = momentum, .eps = eps };
    parallel_ranges((size_t)C, bn_grain(N, HW), 1, batchnorm_forward_channels, &j);
}

/* Evaluation forward of planes [lo, hi) of [N*C, HW]. */
static void batchnorm_eval_planes(void *ctx, size_t lo, size_t hi)
{
    const bn_job *j = ctx;
    int C = j->C, HW = j->HW;
    for (size_t nc = lo; nc < hi; nc++) {
        size_t c = nc % (size_t)C;
        float a = j->gamma[c] / sqrtf(j->running_var[c] + j->eps);
        float b = j->beta[c], mu = j->running_mean[c];
        const float *x = j->inp + nc * HW;
        float *y = j->out + nc * HW;
        for (int i = 0; i < HW; i++)
            y[i] = (x[i] - mu) * a + b;
    }
}

/* out [N,C,HW], inp [N,C,HW], gamma, beta, running_mean, running_var [C]. */
void rt_batchnorm_forward_eval(float *out, const float *inp, const float *gamma,
                               const float *beta, const float *running_mean,
                               const float *running_var, int N, int C, int HW, float eps)
{
    bn_job j = { .out = out, .running_mean = (float *)running_mean,
                 .running_var = (float *)running_var, .inp = inp, .gamma = gamma, .beta = beta,
                 .N = N, .C = C, .HW = HW, .eps = eps };
    parallel_ranges((size_t)N * C, HW >= GRAIN ? 1 : GRAIN / HW, 1, batchnorm_eval_planes, &j);
}

/* Training backward of channels [lo, hi).  With sums over the channel,
 * dx = k*dy + k2*(x - mean) + k3 where k = gamma*invstd, k2 = -k*invstd*sum(dy*xhat)/M,
 * k3 = -k*sum(dy)/M. */
static void batchnorm_backward_channels(void *ctx, size_t lo, size_t hi)
{
    const bn_job *j = ctx;
    int N = j->N, C = j->C, HW = j->HW;
    const float *mean = j->cmean, *invstd = j->cinvstd;
    double M = (double)N * HW;
    for (size_t c = lo; c < hi; c++) {
        double sum_dy = 0.0, sum_dy_dev = 0.0;
        for (int n = 0; n < N; n++) {
            size_t row = ((size_t)n * C + c) * HW;
            sum_dy += sum_lanes(j->dout + row, HW);
            sum_dy_dev += dot_dev_lanes(j->dout + row, j->inp + row, mean[c], HW);
        }
        double sum_dy_xhat = sum_dy_dev * invstd[c];
        j->dbeta[c] += (float)sum_dy;
        j->dgamma[c] += (float)sum_dy_xhat;
        if (!j->out)
            continue;
        float k = j->gamma[c] * invstd[c];
        float k2 = (float)(-k * invstd[c] * sum_dy_xhat / M);
        float k3 = (float)(-k * sum_dy / M);
        float mu = mean[c];
        for (int n = 0; n < N; n++) {
            size_t row = ((size_t)n * C + c) * HW;
            const float *dy = j->dout + row, *x = j->inp + row;
            float *dx = j->out + row;
            if (j->accum)
                for (int i = 0; i < HW; i++)
                    dx[i] += k * dy[i] + k2 * (x[i] - mu) + k3;
            else
                for (int i = 0; i < HW; i++)
                    dx[i] = k * dy[i] + k2 * (x[i] - mu) + k3;
        }
    }
}

/* dinp [N,C,HW] or NULL, dgamma [C] +=, dbeta [C] +=, dout [N,C,HW], inp [N,C,HW],
 * mean [C], invstd [C], gamma [C]; channels spread over the threads whole. */
void rt_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *invstd,
                           const float *gamma, int N, int C, int HW, int accum)
{
    if (HW == 1) {
        batchnorm_backward_flat(dinp, dgamma, dbeta, dout, inp, mean, invstd, gamma, N, C, accum);
        return;
    }
    bn_job j = { .out = dinp, .dgamma = dgamma, .dbeta = dbeta, .inp = inp, .dout = dout,
                 .gamma = gamma, .cmean = mean, .cinvstd = invstd, .N = N, .C = C, .HW = HW,
                 .accum = accum };
    parallel_ranges((size_t)C, bn_grain(N, HW), 1, batchnorm_backward_channels, &j);
}
