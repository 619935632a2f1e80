/* dense.c -- netc_dense: one dot product per output, eight outputs at a time.
 *
 * Weight [OC,C] rows are contiguous, so each output is a dot product of the input row
 * with a weight row.  Eight rows go together: each input vector loaded serves eight
 * products, whose eight independent chains of adds hide the FMA latency, and eight
 * weight streams keep enough reads in flight (at batch 1 a large layer is bound by
 * memory bandwidth: 8 rows ran SimpleNet's 3136->512 in 82 us where 4 took 92 and 2
 * took 111).  With a SIMD path each product is a vector of partial sums, summed across
 * lanes at the end and added to the bias.  The portable path adds bias + the terms in
 * order, as rt_dense_forward_ref does.  Exported models take the weights packed
 * (netc_dense_pack): each block of eight rows interleaved 16 terms at a time, so that
 * the eight streams become one, read front to back (the same sums in the same order,
 * so the same bits as unpacked). */
#include "netc_infer.h"
#include "infer_simd.h"

enum { NETC_DENSE_ROWS = 8, NETC_DENSE_CHUNK = 16 };

/* Where a block of up to NETC_DENSE_ROWS weight rows keeps weight (r, c): chunk
 * c / CHUNK of the rows' full chunks at w + r*row + (c / CHUNK)*chunk + c % CHUNK,
 * the rows' last C % CHUNK terms at w + tail + r*tail_row + c % CHUNK.  Unpacked
 * ([OC,C] as given): row = tail_row = C, chunk = CHUNK, tail = C - C % CHUNK.  Packed
 * (netc_dense_pack): a block's full chunks interleaved, chunk by chunk, then its rows'
 * tails, so that a block is one stream read front to back. */
typedef struct {
    size_t row, chunk, tail, tail_row;
} netc_dense_layout;

static netc_dense_layout netc_dense_layout_of(size_t C, int rows, int packed)
{
    size_t full = C / NETC_DENSE_CHUNK, rest = C % NETC_DENSE_CHUNK;
    netc_dense_layout plain = { C, NETC_DENSE_CHUNK, full * NETC_DENSE_CHUNK, C };
    netc_dense_layout block = { NETC_DENSE_CHUNK, (size_t)rows * NETC_DENSE_CHUNK,
                                full * (size_t)rows * NETC_DENSE_CHUNK, rest };
    return packed ? block : plain;
}

#if NETC_VW > 1
/* out[r] += x . w[r] (r < rows, laid out as lo says), in vector partial sums, each
 * chunk's vectors in order, then the tail term by term. */
NETC_INLINE void netc_dense_dots(float *out, const float *x, const float *w, size_t C, int rows,
                                 const netc_dense_layout *lo)
{
    netc_vf acc[NETC_DENSE_ROWS];
    for (int r = 0; r < rows; r++)
        acc[r] = netc_vf_set1(0.0f);
    size_t full = C / NETC_DENSE_CHUNK;
    for (size_t k = 0; k < full; k++) {
        const float *wk = w + k * lo->chunk;
        for (size_t v = 0; v < NETC_DENSE_CHUNK; v += NETC_VW) {
            netc_vf xv = netc_vf_load(x + k * NETC_DENSE_CHUNK + v);
            for (int r = 0; r < rows; r++)
                acc[r] = netc_vf_fma(netc_vf_load(wk + (size_t)r * lo->row + v), xv, acc[r]);
        }
    }
    for (int r = 0; r < rows; r++) {
        float s = netc_vf_sum(acc[r]);
        const float *t = w + lo->tail + (size_t)r * lo->tail_row;
        for (size_t c = full * NETC_DENSE_CHUNK; c < C; c++)
            s += x[c] * t[c - full * NETC_DENSE_CHUNK];
        out[r] += s;
    }
}
#else
/* out[r] += x . w[r], the terms added to out[r] one by one, in order. */
NETC_INLINE void netc_dense_dots(float *out, const float *x, const float *w, size_t C, int rows,
                                 const netc_dense_layout *lo)
{
    float acc[NETC_DENSE_ROWS];
    size_t full = C / NETC_DENSE_CHUNK;
    for (int r = 0; r < rows; r++)
        acc[r] = out[r];
    for (size_t c = 0; c < C; c++) {
        size_t k = c / NETC_DENSE_CHUNK, q = c % NETC_DENSE_CHUNK;
        for (int r = 0; r < rows; r++)
            acc[r] += x[c] * (k < full ? w[(size_t)r * lo->row + k * lo->chunk + q]
                                       : w[lo->tail + (size_t)r * lo->tail_row + q]);
    }
    for (int r = 0; r < rows; r++)
        out[r] = acc[r];
}
#endif

/* Outputs [o_lo, o_hi) of out [N,OC] (o_lo a multiple of NETC_DENSE_ROWS). */
typedef struct {
    float *out;
    const float *inp, *weight, *bias;
    size_t C, OC;
    int N, act, tasks, packed;
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
            /* a packed block is as tall as the rows left, whatever the range */
            size_t left = noc - o < NETC_DENSE_ROWS ? noc - o : NETC_DENSE_ROWS;
            int rows = o_hi - o < NETC_DENSE_ROWS ? (int)(o_hi - o) : NETC_DENSE_ROWS;
            netc_dense_layout lo = netc_dense_layout_of(nc, (int)left, jb->packed);
            if (rows == NETC_DENSE_ROWS)
                netc_dense_dots(y + o, x, jb->weight + o * nc, nc, NETC_DENSE_ROWS, &lo);
            else
                netc_dense_dots(y + o, x, jb->weight + o * nc, nc, rows, &lo);
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

static void netc_dense_run(netc_dense_job *jb, const netc_parallel *par)
{
    if (par && par->tasks > 1) {
        jb->tasks = par->tasks;
        par->run(par->pool, netc_dense_task, jb, jb->tasks);
    } else {
        netc_dense_task(jb, 0);
    }
}

/* out [N,OC], inp [N,C], weight [OC,C], bias [OC] or NULL. */
void netc_dense_mt(float *out, const float *inp, const float *weight, const float *bias,
                   int N, int C, int OC, int act, const netc_parallel *par)
{
    netc_dense_job jb = { out, inp, weight, bias, (size_t)C, (size_t)OC, N, act, 1, 0 };
    netc_dense_run(&jb, par);
}

/* The same with the weights packed by netc_dense_pack. */
void netc_dense_packed_mt(float *out, const float *inp, const float *packed, const float *bias,
                          int N, int C, int OC, int act, const netc_parallel *par)
{
    netc_dense_job jb = { out, inp, packed, bias, (size_t)C, (size_t)OC, N, act, 1, 1 };
    netc_dense_run(&jb, par);
}

/* packed [OC*C] = weight [OC,C] in blocks of NETC_DENSE_ROWS rows, each laid out as
 * netc_dense_layout_of says. */
void netc_dense_pack(float *packed, const float *weight, int C, int OC)
{
    size_t nc = (size_t)C, full = nc / NETC_DENSE_CHUNK;
    for (size_t o = 0; o < (size_t)OC; o += NETC_DENSE_ROWS) {
        int rows = (size_t)OC - o < NETC_DENSE_ROWS ? (int)((size_t)OC - o) : NETC_DENSE_ROWS;
        netc_dense_layout lo = netc_dense_layout_of(nc, rows, 1);
        float *b = packed + o * nc;
        for (int r = 0; r < rows; r++) {
            const float *w = weight + (o + (size_t)r) * nc;
            for (size_t c = 0; c < nc; c++) {
                size_t k = c / NETC_DENSE_CHUNK, q = c % NETC_DENSE_CHUNK;
                size_t at = k < full ? (size_t)r * lo.row + k * lo.chunk + q : lo.tail + (size_t)r * lo.tail_row + q;
                b[at] = w[c];
            }
        }
    }
}

void netc_dense(float *out, const float *inp, const float *weight, const float *bias,
                int N, int C, int OC, int act)
{
    netc_dense_mt(out, inp, weight, bias, N, C, OC, act, NULL);
}

void netc_dense_packed(float *out, const float *inp, const float *packed, const float *bias,
                       int N, int C, int OC, int act)
{
    netc_dense_packed_mt(out, inp, packed, bias, N, C, OC, act, NULL);
}
