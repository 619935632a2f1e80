/* Reference loss kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in loss.c by test_kernels). */
#include "kernel_util.h"

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
