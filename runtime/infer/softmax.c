/* softmax.c -- row softmax for the model's output probabilities.
 *
 * rt_softmax_forward_ref's steps: the row's maximum, expf(z - max) summed in order,
 * then one division per value; in place allowed. */
#include <math.h>
#include "netc_infer.h"

/* probs [N,K], logits [N,K]. */
void netc_softmax(float *probs, const float *logits, int N, int K)
{
    size_t k = (size_t)K;
    for (size_t n = 0; n < (size_t)N; n++) {
        const float *z = logits + n * k;
        float *p = probs + n * k;
        float max = z[0];
        for (size_t i = 1; i < k; i++)
            if (z[i] > max)
                max = z[i];
        float sum = 0.0f;
        for (size_t i = 0; i < k; i++) {
            p[i] = expf(z[i] - max);
            sum += p[i];
        }
        for (size_t i = 0; i < k; i++)
            p[i] /= sum;
    }
}
