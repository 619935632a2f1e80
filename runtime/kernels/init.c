/* Parameter initialisation: PyTorch's defaults, drawn from a seeded PCG32. */
#include "kernel_util.h"

/* ---- initialisation ---- */

void rt_init_uniform(float *x, rt_rng *rng, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rt_rng_uniform(rng);
}

void rt_init_conv2d(float *weight, float *bias, rt_rng *rng, const rt_conv_desc *d)
{
    int fan_in = d->C * d->kh * d->kw;
    float bound = 1.0f / sqrtf((float)fan_in);
    rt_init_uniform(weight, rng, (size_t)d->K * fan_in, -bound, bound);
    if (bias)
        rt_init_uniform(bias, rng, (size_t)d->K, -bound, bound);
}

void rt_init_dense(float *weight, float *bias, rt_rng *rng, int C, int OC)
{
    float bound = 1.0f / sqrtf((float)C);
    rt_init_uniform(weight, rng, (size_t)OC * C, -bound, bound);
    if (bias)
        rt_init_uniform(bias, rng, (size_t)OC, -bound, bound);
}

void rt_init_batchnorm(float *gamma, float *beta, float *running_mean, float *running_var,
                       int C)
{
    for (int c = 0; c < C; c++) {
        gamma[c] = 1.0f;
        beta[c] = 0.0f;
        running_mean[c] = 0.0f;
        running_var[c] = 1.0f;
    }
}
