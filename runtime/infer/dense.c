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

/* Outputs [o_lo, o_hi) of out [N,OC] (o_lo a multiple of NETC_DENSE_ROWS). */
typedef struct {
    float *out;
    const float *inp, *weight, *bias;
    size_t C, OC;
    int N, act, tasks;
} netc_dense_job;

static void netc_dense_range(const netc_dense_job *jb, size_t o_lo, size_t o_hi)
{
    size_t nc = jb->C, noc = jb->OC;
    for (size_t n = 0; n < (size_t)jb->N; n++) {
        const float *x = jb->inp + n * nc;
        float *y = jb->out + n * noc;
        for (size_t o = o_lo; o < o_hi; o++)
            y[o] = jb->bias ? jb->bias[o] : 0.0f;
        for (size_t o = o_lo; o < o_hi; o += NETC_DENSE_ROWS) {
            int rows = o_hi - o < NETC_DENSE_ROWS ? (int)(o_hi - o) : NETC_DENSE_ROWS;
            if (rows == NETC_DENSE_ROWS)
                netc_dense_dots(y + o, x, jb->weight + o * nc, nc, NETC_DENSE_ROWS);
            else
                netc_dense_dots(y + o, x, jb->weight + o * nc, nc, rows);
        }
        if (jb->act == NETC_ACT_RELU)
            for (size_t o = o_lo; o < o_hi; o++)
                y[o] = y[o] > 0.0f ? y[o] : 0.0f;
    }
}

/* Task t of jb->tasks: its share of the blocks of NETC_DENSE_ROWS outputs. */
static void netc_dense_task(void *arg, int t)
{
    const netc_dense_job *jb = arg;
    size_t blocks = (jb->OC + NETC_DENSE_ROWS - 1) / NETC_DENSE_ROWS;
    size_t o_lo = blocks * (size_t)t / (size_t)jb->tasks * NETC_DENSE_ROWS;
    size_t o_hi = blocks * (size_t)(t + 1) / (size_t)jb->tasks * NETC_DENSE_ROWS;
    netc_dense_range(jb, o_lo, o_hi < jb->OC ? o_hi : jb->OC);
}

/* out [N,OC], inp [N,C], weight [OC,C], bias [OC] or NULL. */
void netc_dense_mt(float *out, const float *inp, const float *weight, const float *bias,
                   int N, int C, int OC, int act, const netc_parallel *par)
{
    netc_dense_job jb = { out, inp, weight, bias, (size_t)C, (size_t)OC, N, act, 1 };
    if (par && par->tasks > 1) {
        jb.tasks = par->tasks;
        par->run(par->pool, netc_dense_task, &jb, jb.tasks);
    } else {
        netc_dense_task(&jb, 0);
    }
}

void netc_dense(float *out, const float *inp, const float *weight, const float *bias,
                int N, int C, int OC, int act)
{
    netc_dense_mt(out, inp, weight, bias, N, C, OC, act, NULL);
}
