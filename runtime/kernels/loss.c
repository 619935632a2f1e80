/* Softmax and the cross-entropy losses, hard and soft labels (scalar twins in loss_ref.c). */
#include "kernel_util.h"

/* ---- softmax and losses ---- */

/* p [K] = softmax(z [K]); returns log(sum exp(z - max)) + max, the log-denominator. */
static float softmax_row(float *p, const float *z, int K)
{
    float max = z[0];
    for (int k = 1; k < K; k++)
        max = z[k] > max ? z[k] : max;
    for (int k = 0; k < K; k++)
        p[k] = exp_fast(z[k] - max);
    float sum = sum_lanes(p, K);
    float inv = 1.0f / sum;
    for (int k = 0; k < K; k++)
        p[k] *= inv;
    return logf(sum) + max;
}

/* probs [N,K], logits [N,K]. */
void rt_softmax_forward(float *probs, const float *logits, int N, int K)
{
    for (int n = 0; n < N; n++)
        softmax_row(probs + (size_t)n * K, logits + (size_t)n * K, K);
}

/* probs [N,K], logits [N,K], labels [N]; returns the mean loss (NaN on a bad label). */
float rt_softmax_xent_forward(float *probs, const float *logits, const int32_t *labels,
                              int N, int K)
{
    double loss = 0.0;
    int bad = 0;
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * K;
        float lse = softmax_row(probs + (size_t)n * K, z, K);
        if (labels[n] < 0 || labels[n] >= K)
            bad = 1;
        else
            loss += lse - z[labels[n]];
    }
    return bad ? NAN : (float)(loss / N);
}

/* dlogits [N,K], probs [N,K], labels [N]. */
void rt_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *labels,
                              int N, int K, int accum)
{
    float inv = 1.0f / (float)N;
    for (int n = 0; n < N; n++) {
        float *g = dlogits + (size_t)n * K;
        const float *p = probs + (size_t)n * K;
        if (accum)
            for (int k = 0; k < K; k++)
                g[k] += p[k] * inv;
        else
            for (int k = 0; k < K; k++)
                g[k] = p[k] * inv;
        if (labels[n] >= 0 && labels[n] < K)
            g[labels[n]] -= inv;
    }
}

/* probs [N,K], logits [N,K], targets [N,K]; returns the mean loss
 * sum_k -t_k*(z_k - lse). */
float rt_softmax_xent_soft_forward(float *probs, const float *logits, const float *targets,
                                   int N, int K)
{
    double loss = 0.0;
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * K, *t = targets + (size_t)n * K;
        float lse = softmax_row(probs + (size_t)n * K, z, K);
        float s = 0.0f;
        for (int k = 0; k < K; k++)
            s += t[k] * (lse - z[k]);
        loss += s;
    }
    return (float)(loss / N);
}

/* dlogits [N,K], probs [N,K], targets [N,K]. */
void rt_softmax_xent_soft_backward(float *dlogits, const float *probs, const float *targets,
                                   int N, int K, int accum)
{
    float inv = 1.0f / (float)N;
    size_t NK = (size_t)N * K;
    if (accum)
        for (size_t i = 0; i < NK; i++)
            dlogits[i] += (probs[i] - targets[i]) * inv;
    else
        for (size_t i = 0; i < NK; i++)
            dlogits[i] = (probs[i] - targets[i]) * inv;
}
