/* dense.c -- netc_dense: one dot product per output, eight outputs at a time.
 *
 * Weight [OC,C] rows are contiguous, so each output is a dot product of the input row
 * with a weight row.  Eight rows go together: each input vector loaded serves eight
 * products, whose eight independent chains of adds hide the FMA latency, and eight
 * weight streams keep enough reads in flight (at batch 1 a large layer is bound by
 * memory bandwidth: 8 rows ran SimpleNet's 3136->512 in 82 us where 4 took 92 and 2
 * took 111).  With a SIMD path each product is a vector of partial sums, summed across
 * lanes at the end and added to the bias.  The portable path adds bias + the terms in
 * order, as rt_dense_forward_ref does. */
#include "netc_infer.h"
#include "infer_simd.h"

enum { NETC_DENSE_ROWS = 8 };

#if NETC_VW > 1
/* out[r] += x . w[r] (r < rows, each w[r] a row of C floats), in vector partial sums. */
NETC_INLINE void netc_dense_dots(float *out, const float *x, const float *w, size_t C, int rows)
{
    netc_vf acc[NETC_DENSE_ROWS];
    for (int r = 0; r < rows; r++)
        acc[r] = netc_vf_set1(0.0f);
    size_t c = 0;
    for (; c + NETC_VW <= C; c += NETC_VW) {
        netc_vf xv = netc_vf_load(x + c);
        for (int r = 0; r < rows; r++)
            acc[r] = netc_vf_fma(netc_vf_load(w + (size_t)r * C + c), xv, acc[r]);
    }
    for (int r = 0; r < rows; r++) {
        float s = netc_vf_sum(acc[r]);
        for (size_t t = c; t < C; t++)
            s += x[t] * w[(size_t)r * C + t];
        out[r] += s;
    }
}
#else
/* out[r] += x . w[r], the terms added to out[r] one by one, in order. */
NETC_INLINE void netc_dense_dots(float *out, const float *x, const float *w, size_t C, int rows)
{
    float acc[NETC_DENSE_ROWS];
    for (int r = 0; r < rows; r++)
        acc[r] = out[r];
    for (size_t c = 0; c < C; c++)
        for (int r = 0; r < rows; r++)
            acc[r] += x[c] * w[(size_t)r * C + c];
    for (int r = 0; r < rows; r++)
        out[r] = acc[r];
}
#endif

/* out [N,OC], inp [N,C], weight [OC,C], bias [OC] or NULL. */
void netc_dense(float *out, const float *inp, const float *weight, const float *bias,
                int N, int C, int OC, int act)
{
    size_t nc = (size_t)C, noc = (size_t)OC;
    for (size_t n = 0; n < (size_t)N; n++) {
        const float *x = inp + n * nc;
        float *y = out + n * noc;
        for (size_t o = 0; o < noc; o++)
            y[o] = bias ? bias[o] : 0.0f;
        for (size_t o = 0; o < noc; o += NETC_DENSE_ROWS) {
            int rows = noc - o < NETC_DENSE_ROWS ? (int)(noc - o) : NETC_DENSE_ROWS;
            if (rows == NETC_DENSE_ROWS)
                netc_dense_dots(y + o, x, weight + o * nc, nc, NETC_DENSE_ROWS);
            else
                netc_dense_dots(y + o, x, weight + o * nc, nc, rows);
        }
        if (act == NETC_ACT_RELU)
            for (size_t o = 0; o < noc; o++)
                y[o] = y[o] > 0.0f ? y[o] : 0.0f;
    }
}
