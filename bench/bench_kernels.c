/* Times each fast kernel against its scalar reference at realistic sizes (LeNet-5 and
 * a SimpleNet-like 64->128 3x3 convolution, batch 100), and compares three layouts for
 * the convolution's im2col + sgemm.  Not part of `make test`.  Build and run from the
 * repository root:
 *
 *   gcc -std=c11 -D_GNU_SOURCE -O3 -march=native -fno-math-errno -Iruntime \
 *       -o /tmp/bench_kernels bench/bench_kernels.c runtime/kernels/*.c \
 *       runtime/core/*.c common/settings.c common/suggest.c -lopenblas -lm -lpthread
 *   OPENBLAS_CORETYPE=SkylakeX /tmp/bench_kernels [substring of the rows to run]
 *
 * (Debian's OpenBLAS picks slow Haswell kernels on AVX-512 AMD CPUs unless told
 * SkylakeX.)  Each timing is the best of several runs; the reference kernels run on a
 * smaller batch where they are slow, and rates are per unit of work, so the speed-up
 * is fast rate / reference rate.  Rates: GFLOP/s for convolution and dense (2 flops
 * per multiply-add), G elements/s (of the largest tensor touched) for the rest. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "netc_rt.h"

static rt_rng rng;
static const char *only;  /* argv[1]: run only the rows whose label contains it */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *random_floats(size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof(float));
    if (!x) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * rt_rng_uniform(&rng) - 1.0f;
    return x;
}

/* One kernel invocation to time; ctx carries its arguments and the batch size. */
typedef void (*bench_fn)(void *ctx, int fast);

/* Best time of repeated calls: at least 3 runs and about 0.3 s (one run if the first
 * takes longer than 1 s). */
static double best_time(bench_fn f, void *ctx, int fast)
{
    double best = 1e30, total = 0.0;
    for (int rep = 0; rep < 100 && (rep < 3 || total < 0.3); rep++) {
        double t0 = now();
        f(ctx, fast);
        double t = now() - t0;
        total += t;
        if (t < best)
            best = t;
        if (rep == 0 && t > 1.0)
            break;
    }
    return best;
}

/* work_fast, work_ref: the units (flops or elements) that one call does at the fast
 * and the reference batch sizes. */
static void row(const char *name, const char *unit, bench_fn f, void *ctx_fast, void *ctx_ref,
                double work_fast, double work_ref)
{
    if (only && !strstr(name, only))
        return;
    double t_fast = best_time(f, ctx_fast, 1);
    double t_ref = best_time(f, ctx_ref, 0);
    double r_fast = work_fast / t_fast * 1e-9, r_ref = work_ref / t_ref * 1e-9;
    printf("%-44s %9.3f ms %8.2f %-7s | ref %8.3f %-7s | x%7.1f\n", name, t_fast * 1e3, r_fast,
           unit, r_ref, unit, r_fast / r_ref);
}

/* ---- conv2d ---- */

typedef struct {
    rt_conv_desc d;
    int N;
    float *x, *w, *b, *y, *dx, *dw, *db, *work;
} conv_ctx;

static void conv_setup(conv_ctx *c, rt_conv_desc d, int N)
{
    c->d = d;
    c->N = N;
    size_t nx = (size_t)N * d.C * d.H * d.W, nw = (size_t)d.K * d.C * d.kh * d.kw;
    size_t ny = (size_t)N * d.K * d.OH * d.OW;
    c->x = random_floats(nx);
    c->dx = random_floats(nx);
    c->w = random_floats(nw);
    c->dw = random_floats(nw);
    c->b = random_floats(d.K);
    c->db = random_floats(d.K);
    c->y = random_floats(ny);
    c->work = random_floats(rt_conv2d_workspace_floats(&d));
}

static void conv_free(conv_ctx *c)
{
    free(c->x); free(c->dx); free(c->w); free(c->dw); free(c->b); free(c->db); free(c->y);
    free(c->work);
}

static void conv_fwd(void *ctx, int fast)
{
    conv_ctx *c = ctx;
    if (fast)
        rt_conv2d_forward(c->y, c->x, c->w, c->b, c->work, c->N, &c->d, RT_FP32);
    else
        rt_conv2d_forward_ref(c->y, c->x, c->w, c->b, c->work, c->N, &c->d);
}

static void conv_bwd(void *ctx, int fast)
{
    conv_ctx *c = ctx;
    if (fast)
        rt_conv2d_backward(c->dx, c->dw, c->db, c->y, c->x, c->w, c->work, c->N, &c->d, 0, RT_FP32);
    else
        rt_conv2d_backward_ref(c->dx, c->dw, c->db, c->y, c->x, c->w, c->work, c->N, &c->d, 0);
}

static double conv_flops(const rt_conv_desc *d, int N)
{
    return 2.0 * N * d->K * d->OH * d->OW * d->C * d->kh * d->kw;
}

static void bench_conv(const char *name, rt_conv_desc d, int N, int N_ref)
{
    conv_ctx fast, ref;
    conv_setup(&fast, d, N);
    conv_setup(&ref, d, N_ref);
    char label[96];
    snprintf(label, sizeof label, "conv2d fwd  %s", name);
    row(label, "GFLOP/s", conv_fwd, &fast, &ref, conv_flops(&d, N), conv_flops(&d, N_ref));
    /* The backward does twice the forward's multiply-adds (dweight and dinp). */
    snprintf(label, sizeof label, "conv2d bwd  %s", name);
    row(label, "GFLOP/s", conv_bwd, &fast, &ref, 2 * conv_flops(&d, N), 2 * conv_flops(&d, N_ref));
    conv_free(&fast);
    conv_free(&ref);
}

/* ---- convolution layouts compared (forward, bias omitted) ----
 * A: col [CKK, OHW] per image, y_n [K, OHW] = W [K, CKK] . col (what kernels.c does);
 * B: col [OHW, CKK] per image (one patch per row), t [OHW, K] = col . W^T, then t is
 *    transposed into y_n;
 * C: one col [CKK, N*OHW] for the whole batch, one sgemm t [K, N*OHW] = W . col, then
 *    t is permuted into [N, K, OHW].
 * All three use the same plain im2col loop here, so only the sgemm shape and the
 * reshuffles differ. */

static float patch_value(const float *x, const rt_conv_desc *d, int c, int i, int j, int oh,
                         int ow)
{
    int ih = oh * d->stride - d->pad_t + i, iw = ow * d->stride - d->pad_l + j;
    if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
        return 0.0f;
    return x[((size_t)c * d->H + ih) * d->W + iw];
}

/* col[(c,i,j) * ld + (oh,ow)] for one image. */
static void im2col_cols(float *col, size_t ld, const float *x, const rt_conv_desc *d)
{
    for (int c = 0; c < d->C; c++)
        for (int i = 0; i < d->kh; i++)
            for (int j = 0; j < d->kw; j++) {
                float *dst = col + (size_t)((c * d->kh + i) * d->kw + j) * ld;
                for (int oh = 0; oh < d->OH; oh++)
                    for (int ow = 0; ow < d->OW; ow++)
                        dst[oh * d->OW + ow] = patch_value(x, d, c, i, j, oh, ow);
            }
}

/* col[(oh,ow) * CKK + (c,i,j)] for one image. */
static void im2col_rows(float *col, const float *x, const rt_conv_desc *d)
{
    int CKK = d->C * d->kh * d->kw;
    for (int oh = 0; oh < d->OH; oh++)
        for (int ow = 0; ow < d->OW; ow++) {
            float *dst = col + (size_t)(oh * d->OW + ow) * CKK;
            for (int c = 0; c < d->C; c++)
                for (int i = 0; i < d->kh; i++)
                    for (int j = 0; j < d->kw; j++)
                        dst[(c * d->kh + i) * d->kw + j] = patch_value(x, d, c, i, j, oh, ow);
        }
}

typedef struct {
    conv_ctx conv;
    float *col, *tmp;  /* sized for layout C, the largest */
} layout_ctx;

static void layout_a(void *ctx, int unused)
{
    (void)unused;
    layout_ctx *l = ctx;
    const rt_conv_desc *d = &l->conv.d;
    int CKK = d->C * d->kh * d->kw, OHW = d->OH * d->OW;
    for (int n = 0; n < l->conv.N; n++) {
        im2col_cols(l->col, OHW, l->conv.x + (size_t)n * d->C * d->H * d->W, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->K, OHW, CKK, 1.0f, l->conv.w,
                    CKK, l->col, OHW, 0.0f, l->conv.y + (size_t)n * d->K * OHW, OHW);
    }
}

static void layout_b(void *ctx, int unused)
{
    (void)unused;
    layout_ctx *l = ctx;
    const rt_conv_desc *d = &l->conv.d;
    int CKK = d->C * d->kh * d->kw, OHW = d->OH * d->OW;
    for (int n = 0; n < l->conv.N; n++) {
        im2col_rows(l->col, l->conv.x + (size_t)n * d->C * d->H * d->W, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OHW, d->K, CKK, 1.0f, l->col, CKK,
                    l->conv.w, CKK, 0.0f, l->tmp, d->K);
        float *y = l->conv.y + (size_t)n * d->K * OHW;
        for (int p = 0; p < OHW; p++)
            for (int k = 0; k < d->K; k++)
                y[(size_t)k * OHW + p] = l->tmp[(size_t)p * d->K + k];
    }
}

static void layout_c(void *ctx, int unused)
{
    (void)unused;
    layout_ctx *l = ctx;
    const rt_conv_desc *d = &l->conv.d;
    int CKK = d->C * d->kh * d->kw, OHW = d->OH * d->OW, N = l->conv.N;
    size_t ld = (size_t)N * OHW;
    for (int n = 0; n < N; n++)
        im2col_cols(l->col + (size_t)n * OHW, ld, l->conv.x + (size_t)n * d->C * d->H * d->W, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->K, (int)ld, CKK, 1.0f, l->conv.w,
                CKK, l->col, (int)ld, 0.0f, l->tmp, (int)ld);
    for (int k = 0; k < d->K; k++)
        for (int n = 0; n < N; n++)
            memcpy(l->conv.y + ((size_t)n * d->K + k) * OHW, l->tmp + k * ld + (size_t)n * OHW,
                   (size_t)OHW * sizeof(float));
}

static void bench_layouts(const char *name, rt_conv_desc d, int N)
{
    if (only && !strstr("layouts", only))
        return;
    layout_ctx l;
    conv_setup(&l.conv, d, N);
    size_t CKK = (size_t)d.C * d.kh * d.kw, OHW = (size_t)d.OH * d.OW;
    l.col = random_floats(CKK * OHW * N);
    l.tmp = random_floats((size_t)d.K * OHW * N);
    double flops = conv_flops(&d, N);
    double t_lib = best_time(conv_fwd, &l.conv, 1);
    double t_a = best_time(layout_a, &l, 1);
    double t_b = best_time(layout_b, &l, 1);
    double t_c = best_time(layout_c, &l, 1);
    printf("layouts %-22s A %7.2f ms (%6.1f GFLOP/s)  B %7.2f ms (%6.1f)  C %7.2f ms (%6.1f)"
           "  | kernels.c (A, tuned im2col) %7.2f ms (%6.1f)\n",
           name, t_a * 1e3, flops / t_a * 1e-9, t_b * 1e3, flops / t_b * 1e-9, t_c * 1e3,
           flops / t_c * 1e-9, t_lib * 1e3, flops / t_lib * 1e-9);
    conv_free(&l.conv);
    free(l.col); free(l.tmp);
}

/* ---- dense ---- */

typedef struct {
    int N, C, OC;
    float *x, *w, *b, *y, *dx, *dw, *db;
} dense_ctx;

static void dense_setup(dense_ctx *c, int N, int C, int OC)
{
    c->N = N;
    c->C = C;
    c->OC = OC;
    c->x = random_floats((size_t)N * C);
    c->dx = random_floats((size_t)N * C);
    c->w = random_floats((size_t)OC * C);
    c->dw = random_floats((size_t)OC * C);
    c->b = random_floats(OC);
    c->db = random_floats(OC);
    c->y = random_floats((size_t)N * OC);
}

static void dense_free(dense_ctx *c)
{
    free(c->x); free(c->dx); free(c->w); free(c->dw); free(c->b); free(c->db); free(c->y);
}

static void dense_fwd(void *ctx, int fast)
{
    dense_ctx *c = ctx;
    (fast ? rt_dense_forward : rt_dense_forward_ref)(c->y, c->x, c->w, c->b, c->N, c->C, c->OC);
}

static void dense_bwd(void *ctx, int fast)
{
    dense_ctx *c = ctx;
    (fast ? rt_dense_backward : rt_dense_backward_ref)(c->dx, c->dw, c->db, c->y, c->x, c->w, c->N,
                                                       c->C, c->OC, 0);
}

static void bench_dense(int N, int C, int OC)
{
    dense_ctx c;
    dense_setup(&c, N, C, OC);
    double flops = 2.0 * N * C * OC;
    char label[96];
    snprintf(label, sizeof label, "dense fwd   %d -> %d, batch %d", C, OC, N);
    row(label, "GFLOP/s", dense_fwd, &c, &c, flops, flops);
    snprintf(label, sizeof label, "dense bwd   %d -> %d, batch %d", C, OC, N);
    row(label, "GFLOP/s", dense_bwd, &c, &c, 2 * flops, 2 * flops);
    dense_free(&c);
}

/* ---- the other kernels over one [N,C,H,W] tensor ---- */

typedef struct {
    int N, C, H, W;
    rt_pool_desc pool;
    float *x, *y, *dx, *dy, *gamma, *beta, *mean, *invstd, *rm, *rv, *m, *v;
    uint8_t *argmax;
    uint32_t *mask;
    int32_t *labels;
} tensor_ctx;

static size_t tensor_size(const tensor_ctx *t)
{
    return (size_t)t->N * t->C * t->H * t->W;
}

static void tensor_setup(tensor_ctx *t, int N, int C, int H, int W)
{
    t->N = N;
    t->C = C;
    t->H = H;
    t->W = W;
    size_t n = tensor_size(t);
    t->x = random_floats(n);
    t->y = random_floats(n);
    t->dx = random_floats(n);
    t->dy = random_floats(n);
    t->m = random_floats(n);
    t->v = random_floats(n);
    for (size_t i = 0; i < n; i++)
        t->v[i] = fabsf(t->v[i]);
    t->gamma = random_floats(C);
    t->beta = random_floats(C);
    t->mean = random_floats(C);
    t->invstd = random_floats(C);
    t->rm = random_floats(C);
    t->rv = random_floats(C);
    for (int c = 0; c < C; c++)
        t->rv[c] = 1.0f + fabsf(t->rv[c]);
    t->argmax = calloc(n, 1);
    t->mask = calloc(rt_dropout_mask_words(n), sizeof(uint32_t));
    t->labels = calloc((size_t)N, sizeof(int32_t));
    for (int i = 0; i < N; i++)
        t->labels[i] = (int32_t)rt_rng_below(&rng, (uint32_t)(C * H * W));
}

static void tensor_free(tensor_ctx *t)
{
    free(t->x); free(t->y); free(t->dx); free(t->dy); free(t->m); free(t->v); free(t->gamma);
    free(t->beta); free(t->mean); free(t->invstd); free(t->rm); free(t->rv); free(t->argmax);
    free(t->mask); free(t->labels);
}

static void maxpool_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_maxpool2d_forward : rt_maxpool2d_forward_ref)(t->y, t->argmax, t->x, t->N, &t->pool);
}

static void maxpool_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_maxpool2d_backward : rt_maxpool2d_backward_ref)(t->dx, t->dy, t->argmax, t->N,
                                                               &t->pool, 0);
}

static void avgpool_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_avgpool2d_forward : rt_avgpool2d_forward_ref)(t->y, t->x, t->N, &t->pool);
}

static void avgpool_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_avgpool2d_backward : rt_avgpool2d_backward_ref)(t->dx, t->dy, t->N, &t->pool, 0);
}

static void gap_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_global_avgpool_forward : rt_global_avgpool_forward_ref)(t->y, t->x, t->N, t->C,
                                                                       t->H * t->W);
}

static void gap_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_global_avgpool_backward : rt_global_avgpool_backward_ref)(t->dx, t->dy, t->N, t->C,
                                                                         t->H * t->W, 0);
}

static void bn_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_batchnorm_forward : rt_batchnorm_forward_ref)(t->y, t->mean, t->invstd, t->rm, t->rv,
                                                             t->x, t->gamma, t->beta, t->N, t->C,
                                                             t->H * t->W, 0.1f, 1e-5f);
}

static void bn_eval(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_batchnorm_forward_eval : rt_batchnorm_forward_eval_ref)(
        t->y, t->x, t->gamma, t->beta, t->rm, t->rv, t->N, t->C, t->H * t->W, 1e-5f);
}

static void bn_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_batchnorm_backward : rt_batchnorm_backward_ref)(t->dx, t->m, t->v, t->dy, t->x,
                                                               t->mean, t->invstd, t->gamma, t->N,
                                                               t->C, t->H * t->W, 0);
}

static void dropout_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_dropout_forward : rt_dropout_forward_ref)(t->y, t->mask, t->x, &rng, 0.5f,
                                                         tensor_size(t));
}

static void dropout_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_dropout_backward : rt_dropout_backward_ref)(t->dx, t->dy, t->mask, 0.5f,
                                                           tensor_size(t), 0);
}

static void dropout2d_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_dropout2d_forward : rt_dropout2d_forward_ref)(t->y, t->mask, t->x, &rng, 0.5f, t->N,
                                                             t->C, t->H * t->W);
}

static void relu_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_relu_forward : rt_relu_forward_ref)(t->y, t->x, tensor_size(t));
}

static void relu_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_relu_backward : rt_relu_backward_ref)(t->dx, t->dy, t->y, tensor_size(t), 0);
}

static void leaky_relu_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_leaky_relu_forward : rt_leaky_relu_forward_ref)(t->y, t->x, 0.01f, tensor_size(t));
}

static void elu_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_elu_forward : rt_elu_forward_ref)(t->y, t->x, 1.0f, tensor_size(t));
}

static void elu_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_elu_backward : rt_elu_backward_ref)(t->dx, t->dy, t->y, 1.0f, tensor_size(t), 0);
}

static void sigmoid_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_sigmoid_forward : rt_sigmoid_forward_ref)(t->y, t->x, tensor_size(t));
}

static void sigmoid_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_sigmoid_backward : rt_sigmoid_backward_ref)(t->dx, t->dy, t->y, tensor_size(t), 0);
}

static void tanh_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_tanh_forward : rt_tanh_forward_ref)(t->y, t->x, tensor_size(t));
}

static void tanh_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_tanh_backward : rt_tanh_backward_ref)(t->dx, t->dy, t->y, tensor_size(t), 0);
}

static void pad_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    /* y is large enough: it is as big as x, and x's H, W here are 2 less than it holds. */
    (fast ? rt_pad2d_forward : rt_pad2d_forward_ref)(t->y, t->x, t->N, t->C, t->H - 2, t->W - 2, 1);
}

static void pad_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_pad2d_backward : rt_pad2d_backward_ref)(t->dx, t->dy, t->N, t->C, t->H - 2, t->W - 2,
                                                       1, 0);
}

static void concat_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    int half = t->C / 2, channels[2] = {half, half};
    const float *inps[2] = {t->x, t->dx};
    (fast ? rt_concat_forward : rt_concat_forward_ref)(t->y, inps, channels, 2, t->N, t->H * t->W);
}

static void add_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    const float *inps[2] = {t->x, t->dx};
    (fast ? rt_add_forward : rt_add_forward_ref)(t->y, inps, 2, tensor_size(t));
}

static void xent_fwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_softmax_xent_forward : rt_softmax_xent_forward_ref)(t->y, t->x, t->labels, t->N,
                                                                   t->C * t->H * t->W);
}

static void xent_bwd(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_softmax_xent_backward : rt_softmax_xent_backward_ref)(t->dx, t->y, t->labels, t->N,
                                                                     t->C * t->H * t->W, 0);
}

static void sgd_step(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_sgd_update : rt_sgd_update_ref)(t->x, t->m, t->dy, tensor_size(t), 1e-3f, 0.9f, 0,
                                               5e-4f, 1, 2);
}

static void adam_step(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_adam_update : rt_adam_update_ref)(t->x, t->m, t->v, t->dy, tensor_size(t), 1e-3f,
                                                 0.9f, 0.999f, 1e-8f, 0, 2);
}

static void adamw_step(void *ctx, int fast)
{
    tensor_ctx *t = ctx;
    (fast ? rt_adamw_update : rt_adamw_update_ref)(t->x, t->m, t->v, t->dy, tensor_size(t), 1e-3f,
                                                   0.9f, 0.999f, 1e-8f, 1e-2f, 2);
}

static void elementwise(const char *name, bench_fn f, tensor_ctx *t)
{
    char label[96];
    snprintf(label, sizeof label, "%-11s [%d,%d,%d,%d]", name, t->N, t->C, t->H, t->W);
    row(label, "Gelem/s", f, t, t, (double)tensor_size(t), (double)tensor_size(t));
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    rt_rng_seed(&rng, 1, 1);
    printf("netc kernel benchmark: fast (kernels.c) against reference (kernels_ref.c)\n");
    printf("%-44s %12s %16s | %15s | %s\n", "kernel", "fast time", "fast rate", "ref rate",
           "speed-up");

    /* C H W K kh kw stride pad_t pad_l pad_b pad_r OH OW */
    bench_conv("SimpleNet 64->128 3x3 28x28 b100", (rt_conv_desc){64, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 28, 28}, 100, 2);
    bench_conv("LeNet c1 1->6 5x5 pad 2 28x28 b100", (rt_conv_desc){1, 28, 28, 6, 5, 5, 1, 2, 2, 2, 2, 28, 28}, 100, 10);
    bench_conv("LeNet c3 6->16 5x5 14x14 b100", (rt_conv_desc){6, 14, 14, 16, 5, 5, 1, 0, 0, 0, 0, 10, 10}, 100, 10);
    bench_conv("3->32 3x3 s2 same 32x32 b100", (rt_conv_desc){3, 32, 32, 32, 3, 3, 2, 0, 0, 1, 1, 16, 16}, 100, 10);
    bench_conv("1x1 128->64 14x14 b100", (rt_conv_desc){128, 14, 14, 64, 1, 1, 1, 0, 0, 0, 0, 14, 14}, 100, 4);
    bench_dense(100, 400, 120);
    bench_dense(100, 3136, 512);

    tensor_ctx big;  /* SimpleNet-sized activation */
    tensor_setup(&big, 100, 128, 28, 28);
    big.pool = (rt_pool_desc){128, 28, 28, 2, 2, 2, 0, 14, 14};
    elementwise("maxpool2x2 f", maxpool_fwd, &big);
    elementwise("maxpool2x2 b", maxpool_bwd, &big);
    big.pool = (rt_pool_desc){128, 28, 28, 3, 3, 1, 1, 28, 28};
    elementwise("avgpool3x3 f", avgpool_fwd, &big);
    elementwise("avgpool3x3 b", avgpool_bwd, &big);
    elementwise("gap fwd", gap_fwd, &big);
    elementwise("gap bwd", gap_bwd, &big);
    elementwise("bn fwd", bn_fwd, &big);
    elementwise("bn eval", bn_eval, &big);
    elementwise("bn bwd", bn_bwd, &big);
    elementwise("dropout fwd", dropout_fwd, &big);
    elementwise("dropout bwd", dropout_bwd, &big);
    elementwise("dropout2d f", dropout2d_fwd, &big);
    elementwise("relu fwd", relu_fwd, &big);
    elementwise("relu bwd", relu_bwd, &big);
    elementwise("leaky fwd", leaky_relu_fwd, &big);
    elementwise("elu fwd", elu_fwd, &big);
    elementwise("elu bwd", elu_bwd, &big);
    elementwise("sigmoid fwd", sigmoid_fwd, &big);
    elementwise("sigmoid bwd", sigmoid_bwd, &big);
    elementwise("tanh fwd", tanh_fwd, &big);
    elementwise("tanh bwd", tanh_bwd, &big);
    elementwise("pad2d fwd", pad_fwd, &big);
    elementwise("pad2d bwd", pad_bwd, &big);
    elementwise("concat fwd", concat_fwd, &big);
    elementwise("add fwd", add_fwd, &big);
    tensor_free(&big);

    tensor_ctx flat;  /* a dense layer's activation: batchnorm [N,C] */
    tensor_setup(&flat, 100, 512, 1, 1);
    elementwise("bn fwd", bn_fwd, &flat);
    elementwise("bn bwd", bn_bwd, &flat);
    tensor_free(&flat);

    tensor_ctx logits;
    tensor_setup(&logits, 100, 1000, 1, 1);
    elementwise("xent fwd", xent_fwd, &logits);
    elementwise("xent bwd", xent_bwd, &logits);
    tensor_free(&logits);

    tensor_ctx params;  /* one million parameters */
    tensor_setup(&params, 1, 1, 1000, 1000);
    elementwise("sgd nesterov", sgd_step, &params);
    elementwise("adam", adam_step, &params);
    elementwise("adamw", adamw_step, &params);
    tensor_free(&params);

    printf("\nconvolution layouts, forward, same plain im2col for A, B, C:\n");
    bench_layouts("SimpleNet 64->128 b100", (rt_conv_desc){64, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 28, 28}, 100);
    bench_layouts("LeNet c1 b100", (rt_conv_desc){1, 28, 28, 6, 5, 5, 1, 2, 2, 2, 2, 28, 28}, 100);
    bench_layouts("LeNet c3 b100", (rt_conv_desc){6, 14, 14, 16, 5, 5, 1, 0, 0, 0, 0, 10, 10}, 100);
    return 0;
}
