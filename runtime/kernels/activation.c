/* Element-wise activations, forward and backward, in place or not (scalar twins in
 * activation_ref.c). */
#include "kernel_util.h"

/* ---- activations: all [n]; each backward is two loops so `accum` is not tested per
 * element ---- */

/* The arguments of an element-wise kernel, for its range function. */
typedef struct {
    float *y;
    const float *a, *b;
    int accum;
} ew_job;

static void relu_forward_range(void *ctx, size_t lo, size_t hi)
{
    const ew_job *j = ctx;
    float *out = j->y;
    const float *inp = j->a;
    for (size_t i = lo; i < hi; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void rt_relu_forward(float *out, const float *inp, size_t n)
{
    ew_job j = { out, inp, NULL, 0 };
    parallel_ranges(n, GRAIN, 16, relu_forward_range, &j);
}

static void relu_backward_range(void *ctx, size_t lo, size_t hi)
{
    const ew_job *j = ctx;
    float *dinp = j->y;
    const float *dout = j->a, *out = j->b;
    if (j->accum)
        for (size_t i = lo; i < hi; i++)
            dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
    else
        for (size_t i = lo; i < hi; i++)
            dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void rt_relu_backward(float *dinp, const float *dout, const float *out, size_t n, int accum)
{
    ew_job j = { dinp, dout, out, accum };
    parallel_ranges(n, GRAIN, 16, relu_backward_range, &j);
}

void rt_leaky_relu_forward(float *out, const float *inp, float slope, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : slope * inp[i];
}

void rt_leaky_relu_backward(float *dinp, const float *dout, const float *x, float slope,
                            size_t n, int accum)
{
    if (accum)
        for (size_t i = 0; i < n; i++)
            dinp[i] += x[i] > 0.0f ? dout[i] : slope * dout[i];
    else
        for (size_t i = 0; i < n; i++)
            dinp[i] = x[i] > 0.0f ? dout[i] : slope * dout[i];
}

void rt_elu_forward(float *out, const float *inp, float alpha, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float neg = alpha * expm1_fast(inp[i]);
        out[i] = inp[i] > 0.0f ? inp[i] : neg;
    }
}

/* For x <= 0, out = alpha*(exp(x) - 1), so d out/dx = out + alpha. */
void rt_elu_backward(float *dinp, const float *dout, const float *out, float alpha, size_t n,
                     int accum)
{
    if (accum)
        for (size_t i = 0; i < n; i++)
            dinp[i] += out[i] > 0.0f ? dout[i] : dout[i] * (out[i] + alpha);
    else
        for (size_t i = 0; i < n; i++)
            dinp[i] = out[i] > 0.0f ? dout[i] : dout[i] * (out[i] + alpha);
}

void rt_sigmoid_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + exp_fast(-inp[i]));
}

void rt_sigmoid_backward(float *dinp, const float *dout, const float *out, size_t n, int accum)
{
    if (accum)
        for (size_t i = 0; i < n; i++)
            dinp[i] += dout[i] * out[i] * (1.0f - out[i]);
    else
        for (size_t i = 0; i < n; i++)
            dinp[i] = dout[i] * out[i] * (1.0f - out[i]);
}

void rt_tanh_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tanh_fast(inp[i]);
}

void rt_tanh_backward(float *dinp, const float *dout, const float *out, size_t n, int accum)
{
    if (accum)
        for (size_t i = 0; i < n; i++)
            dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
    else
        for (size_t i = 0; i < n; i++)
            dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
}
