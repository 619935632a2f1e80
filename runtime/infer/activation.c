/* activation.c -- element-wise activations, in place allowed.
 *
 * The definitions of runtime/kernels/activation_ref.c, value for value (libm's expf,
 * expm1f and tanhf).  relu and leaky_relu are selects, which compilers vectorise. */
#include <math.h>
#include "netc_infer.h"

/* out [n], inp [n] for each. */
void netc_relu(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void netc_leaky_relu(float *out, const float *inp, float slope, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : slope * inp[i];
}

void netc_elu(float *out, const float *inp, float alpha, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : alpha * expm1f(inp[i]);
}

void netc_sigmoid(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + expf(-inp[i]));
}

void netc_tanh(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(inp[i]);
}
