/* Reference penalty kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in penalty.c by test_kernels).
 * The sums run in double. */
#include "kernel_util.h"

/* grad [n] += 2 lambda w (may be NULL), w [n]; returns lambda * sum w^2. */
float rt_l2_penalty_ref(float *grad, const float *w, size_t n, float lambda)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += (double)w[i] * (double)w[i];
        if (grad)
            grad[i] += 2.0f * lambda * w[i];
    }
    return (float)(lambda * sum);
}

/* grad [n] += lambda sign(w), 0 at 0 (may be NULL), w [n]; returns lambda * sum |w|. */
float rt_l1_penalty_ref(float *grad, const float *w, size_t n, float lambda)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += fabs((double)w[i]);
        if (grad && w[i] != 0.0f)
            grad[i] += w[i] > 0.0f ? lambda : -lambda;
    }
    return (float)(lambda * sum);
}
