/* penalty.c -- the per-layer regularisers' loss terms: conv2d's and dense's `l2`, `l1`,
 * `bias_l2` and `bias_l1`, Keras's kernel_regularizer and bias_regularizer.
 *
 * Each kernel returns its term of the loss for one parameter tensor w [n] and, given a
 * gradient (training), adds the term's derivative into it, as the backward kernels add
 * into parameter gradients; evaluate passes NULL.  l2: lambda * sum w^2 (Keras's L2,
 * no 1/2), gradient 2 lambda w; l1: lambda * sum |w|, subgradient lambda sign(w), 0 at
 * 0.  The sum runs over chunks of CHUNK values, each in LANES float partial sums (the
 * loop vectorises), the chunks in double, so the term keeps float precision at any
 * size; the gradient is exactly the reference's (one multiply-add per value).  One
 * thread: a pass over the weights costs little beside a layer's forward. */
#include "kernel_util.h"

enum { CHUNK = 4096 };

/* Sum of w^2 over w [n]; grad [n] += twice * w when grad is given. */
static float l2_chunk(float *grad, const float *w, size_t n, float twice)
{
    if (grad)
        for (size_t i = 0; i < n; i++)
            grad[i] += twice * w[i];
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += w[i + l] * w[i + l];
    float s = 0.0f;
    for (; i < n; i++)
        s += w[i] * w[i];
    for (int l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

/* Sum of |w| over w [n]; grad [n] += lambda * sign(w) (0 at 0) when grad is given. */
static float l1_chunk(float *grad, const float *w, size_t n, float lambda)
{
    if (grad)
        for (size_t i = 0; i < n; i++)
            grad[i] += w[i] > 0.0f ? lambda : w[i] < 0.0f ? -lambda : 0.0f;
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += fabsf(w[i + l]);
    float s = 0.0f;
    for (; i < n; i++)
        s += fabsf(w[i]);
    for (int l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

typedef float (*chunk_fn)(float *grad, const float *w, size_t n, float k);

/* scale * (the sum of chunk() over w [n], chunk by chunk). */
static float chunked(chunk_fn chunk, float *grad, const float *w, size_t n, float k, float scale)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        sum += chunk(grad ? grad + i : NULL, w + i, m, k);
    }
    return (float)(scale * sum);
}

float rt_l2_penalty(float *grad, const float *w, size_t n, float lambda)
{
    return chunked(l2_chunk, grad, w, n, 2.0f * lambda, lambda);
}

float rt_l1_penalty(float *grad, const float *w, size_t n, float lambda)
{
    return chunked(l1_chunk, grad, w, n, lambda, lambda);
}
