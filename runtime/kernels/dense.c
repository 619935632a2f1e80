/* dense: one sgemm over the batch, split by blocks of the product's larger dimension
 * (scalar twins in dense_ref.c). */
#include <cblas.h>
#include "kernel_util.h"

/* ---- dense ----
 * One sgemm over the batch each way, cut along the larger dimension of the product (so
 * the operand that is split is the larger one, and each task packs only its share of
 * it) into GEMM_BLOCKS blocks of at least 64 rows or columns, which the threads take as
 * tasks.  The cut depends on the shape only: OpenBLAS picks its kernel by the size of
 * the call (small products take another summation order), so a cut by thread count
 * would change the last bits with the thread count. */
enum { GEMM_BLOCKS = 4 };

typedef struct {
    CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb, ldc, parts, split_n;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

/* Block t of the product: rows (or columns) [t*len/parts, (t+1)*len/parts), rounded to 16. */
static void gemm_block(void *ctx, int t)
{
    const gemm_job *g = ctx;
    int len = g->split_n ? g->N : g->M;
    int lo = (int)((long long)len * t / g->parts) / 16 * 16;
    int hi = t + 1 == g->parts ? len : (int)((long long)len * (t + 1) / g->parts) / 16 * 16;
    if (hi <= lo)
        return;
    const float *A = g->A, *B = g->B;
    float *C = g->C;
    int M = g->M, N = g->N;
    if (g->split_n) {
        B += g->tb == CblasNoTrans ? (size_t)lo : (size_t)lo * g->ldb;
        C += lo;
        N = hi - lo;
    } else {
        A += g->ta == CblasNoTrans ? (size_t)lo * g->lda : (size_t)lo;
        C += (size_t)lo * g->ldc;
        M = hi - lo;
    }
    cblas_sgemm(CblasRowMajor, g->ta, g->tb, M, N, g->K, g->alpha, A, g->lda, B, g->ldb, g->beta,
                C, g->ldc);
}

/* cblas_sgemm (row-major) in blocks over the pool; small products run in one call. */
static void parallel_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K,
                           float alpha, const float *A, int lda, const float *B, int ldb,
                           float beta, float *C, int ldc)
{
    gemm_job g = { ta, tb, M, N, K, lda, ldb, ldc, GEMM_BLOCKS, N > M, alpha, beta, A, B, C };
    int len = g.split_n ? N : M;
    if ((double)M * N * K < 1e6)
        g.parts = 1;
    if (g.parts > len / 64)
        g.parts = len / 64;
    if (g.parts < 2) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    rt_parallel_for(g.parts, gemm_block, &g);
}

/* out [N,OC], inp [N,C], weight [OC,C], bias [OC] or NULL. */
void rt_dense_forward(float *out, const float *inp, const float *weight, const float *bias,
                      int N, int C, int OC)
{
    float beta = 0.0f;
    if (bias) {
        for (int n = 0; n < N; n++)
            memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    parallel_sgemm(CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, beta, out, OC);
}

/* dinp [N,C] or NULL, dweight [OC,C] +=, dbias [OC] += or NULL, dout [N,OC], inp [N,C],
 * weight [OC,C]. */
void rt_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                       const float *inp, const float *weight, int N, int C, int OC, int accum)
{
    if (dinp)
        parallel_sgemm(CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C,
                       accum ? 1.0f : 0.0f, dinp, C);
    parallel_sgemm(CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    if (dbias)
        for (int n = 0; n < N; n++)
            for (int oc = 0; oc < OC; oc++)
                dbias[oc] += dout[(size_t)n * OC + oc];
}
