/* norm.c -- batchnorm with running statistics (inference).
 *
 * Per channel, sqrtf(var + eps) is computed once and each value is then
 * (x - mean) / that * gamma + beta: the expression of rt_batchnorm_forward_eval_ref,
 * operation for operation, so the results are its bits.  The loop over a plane has no
 * branch and vectorises. */
#include <math.h>
#include "netc_infer.h"

/* out [N,C,HW], inp [N,C,HW], gamma, beta, mean, var [C]. */
void netc_batchnorm(float *out, const float *inp, const float *gamma, const float *beta,
                    const float *mean, const float *var, int N, int C, int HW, float eps)
{
    size_t hw = (size_t)HW;
    for (size_t n = 0; n < (size_t)N; n++)
        for (size_t c = 0; c < (size_t)C; c++) {
            float m = mean[c], sd = sqrtf(var[c] + eps), g = gamma[c], b = beta[c];
            const float *x = inp + (n * (size_t)C + c) * hw;
            float *y = out + (n * (size_t)C + c) * hw;
            for (size_t i = 0; i < hw; i++)
                y[i] = (x[i] - m) / sd * g + b;
        }
}
