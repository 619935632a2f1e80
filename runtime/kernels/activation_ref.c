/* Reference activation kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in activation.c by test_kernels). */
#include "kernel_util.h"

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
