/* Reference dense kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in dense.c by test_kernels). */
#include "kernel_util.h"

/* ---- dense ---- */

/* out [N,OC], inp [N,C], weight [OC,C], bias [OC] or NULL. */
void rt_dense_forward_ref(float *out, const float *inp, const float *weight,
                          const float *bias, int N, int C, int OC)
{
    for (int n = 0; n < N; n++)
        for (int oc = 0; oc < OC; oc++) {
            float s = bias ? bias[oc] : 0.0f;
            for (int c = 0; c < C; c++)
                s += inp[(size_t)n * C + c] * weight[(size_t)oc * C + c];
            out[(size_t)n * OC + oc] = s;
        }
}

/* dinp [N,C] or NULL, dweight [OC,C] +=, dbias [OC] += or NULL, dout [N,OC], inp [N,C],
 * weight [OC,C]. */
void rt_dense_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, int N, int C, int OC,
                           int accum)
{
    if (dinp)
        zero_unless_accum(dinp, (size_t)N * C, accum);
    for (int n = 0; n < N; n++)
        for (int oc = 0; oc < OC; oc++) {
            float g = dout[(size_t)n * OC + oc];
            if (dbias)
                dbias[oc] += g;
            for (int c = 0; c < C; c++) {
                dweight[(size_t)oc * C + c] += g * inp[(size_t)n * C + c];
                if (dinp)
                    dinp[(size_t)n * C + c] += g * weight[(size_t)oc * C + c];
            }
        }
}
