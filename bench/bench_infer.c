/* bench_infer.c -- batch-1 latency of the inference layer (runtime/infer/) against the
 * training runtime's fast kernels (rt_conv2d_forward & co., OpenBLAS and the thread
 * pool), kernel by kernel at the layer shapes of LeNetBN, SimpleNet, the Keras CNN,
 * LeNetDeep, ResNetSmall (strided, 1x1) and InceptionSmall, then LeNetBN and SimpleNet
 * whole, each as the straight sequence of calls an exported model makes (random
 * weights; the shapes and the work are what count).  Not part of `make test`.  From the
 * repository root, after make:
 *
 *   gcc -std=c11 -O3 -march=native -Iruntime -o /tmp/bench_infer bench/bench_infer.c \
 *       runtime/infer/*.c build/libnetcrt.a -lopenblas -lm -lpthread
 *   NETC_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX /tmp/bench_infer [substring]
 *
 * Each figure is the median of repeated calls (about 0.2 s of them), in microseconds.
 * "LeNetBN, BN folded" is the network with each batchnorm folded into the conv before
 * it (what an exporter can do with trained statistics), so that bias + ReLU fuse into
 * the convolution; "SimpleNet" moves each ReLU that follows a max pool before it (the
 * same values: max pooling commutes with ReLU) to fuse it too.  Convolutions run on
 * weights packed once (netc_conv2d_packed), as an exported model has them; the rows
 * "packed per call" time netc_conv2d, which packs PyTorch's layout on every call. */
#define _POSIX_C_SOURCE 199309L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "infer/netc_infer.h"
#include "netc_rt.h"
#include "spin_pool.h"

static const char *only;

static float *random_floats(size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof(float));
    if (!x) {
        fprintf(stderr, "bench_infer: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    return x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*bench_fn)(void *ctx);

/* Median time of one call, in microseconds. */
static double median_us(bench_fn f, void *ctx)
{
    enum { MAXREP = 20000 };
    static double t[MAXREP];
    int n = 0;
    double total = 0.0;
    for (int w = 0; w < 20; w++)
        f(ctx);
    while (n < MAXREP && (n < 30 || total < 0.2)) {
        double t0 = rt_clock_seconds();
        f(ctx);
        t[n] = rt_clock_seconds() - t0;
        total += t[n++];
    }
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    return t[n / 2] * 1e6;
}

static void row(const char *name, bench_fn fn, void *netc_ctx, bench_fn fr, void *rt_ctx)
{
    if (only && !strstr(name, only))
        return;
    double a = median_us(fn, netc_ctx), b = fr ? median_us(fr, rt_ctx) : 0.0;
    if (fr)
        printf("%-46s netc_infer %8.1f us   rt %8.1f us   x%.2f\n", name, a, b, b / a);
    else
        printf("%-46s netc_infer %8.1f us\n", name, a);
}

/* ---- one convolution ---- */

typedef struct {
    netc_conv_desc nd;
    rt_conv_desc rd;
    float *x, *w, *packed, *b, *y, *work, *rwork;
    int act;
    const netc_parallel *par;  /* NULL: the calling thread alone */
} conv_ctx;

/* The weights packed once, as an exported model has them. */
static void conv_netc(void *p)
{
    conv_ctx *c = p;
    netc_conv2d_packed_mt(c->y, c->x, c->packed, c->b, c->work, 1, &c->nd, c->act, c->par);
}

/* PyTorch's layout, packed on every call. */
static void conv_netc_unpacked(void *p)
{
    conv_ctx *c = p;
    netc_conv2d(c->y, c->x, c->w, c->b, c->work, 1, &c->nd, c->act);
}

static void conv_rt(void *p)
{
    conv_ctx *c = p;
    rt_conv2d_forward(c->y, c->x, c->w, c->b, c->rwork, 1, &c->rd, RT_FP32);
    if (c->act)
        rt_relu_forward(c->y, c->y, (size_t)c->rd.K * c->rd.OH * c->rd.OW);
}

static conv_ctx conv_make(int C, int H, int K, int k, int stride, int pad, int act)
{
    int O = (H + 2 * pad - k) / stride + 1;
    conv_ctx c;
    netc_conv_desc nd = { C, H, H, K, k, k, stride, pad, pad, pad, pad, O, O };
    rt_conv_desc rd = { C, H, H, K, k, k, stride, pad, pad, pad, pad, O, O };
    c.nd = nd;
    c.rd = rd;
    c.x = random_floats((size_t)C * H * H);
    c.w = random_floats((size_t)K * C * k * k);
    c.b = random_floats((size_t)K);
    c.y = random_floats((size_t)K * O * O);
    size_t wf = netc_conv2d_work_floats(&nd), wmt = netc_conv2d_packed_work_floats_mt(&nd, MAX_TASKS);
    c.work = random_floats(wf > wmt ? wf : wmt);
    c.par = NULL;
    c.packed = random_floats(netc_conv2d_packed_floats(&nd));
    netc_conv2d_pack(c.packed, c.w, &nd);
    c.rwork = random_floats(rt_conv2d_workspace_floats(&rd));
    c.act = act;
    return c;
}

static void conv_row(const char *name, int C, int H, int K, int k, int stride, int pad, int act)
{
    conv_ctx c = conv_make(C, H, K, k, stride, pad, act);
    char label[96];
    double gflop = 2e-9 * K * C * k * k * c.nd.OH * c.nd.OW;
    snprintf(label, sizeof label, "%s (%.1f MFLOP)", name, gflop * 1e3);
    row(label, conv_netc, &c, conv_rt, &c);
    snprintf(label, sizeof label, "%s, packed per call", name);
    row(label, conv_netc_unpacked, &c, NULL, NULL);
}

/* ---- dense, pool, batchnorm ---- */

typedef struct {
    int C, OC, act;
    float *x, *w, *b, *y;
    const netc_parallel *par;
} dense_ctx;

static void dense_netc(void *p)
{
    dense_ctx *c = p;
    netc_dense_mt(c->y, c->x, c->w, c->b, 1, c->C, c->OC, c->act, c->par);
}

static void dense_rt(void *p)
{
    dense_ctx *c = p;
    rt_dense_forward(c->y, c->x, c->w, c->b, 1, c->C, c->OC);
}

static void dense_row(const char *name, int C, int OC)
{
    dense_ctx c = { C, OC, NETC_ACT_NONE, random_floats((size_t)C), random_floats((size_t)OC * C),
                    random_floats((size_t)OC), random_floats((size_t)OC), NULL };
    row(name, dense_netc, &c, dense_rt, &c);
}

typedef struct {
    netc_pool_desc nd;
    rt_pool_desc rd;
    float *x, *y;
    uint8_t *argmax;
} pool_ctx;

static void pool_netc(void *p)
{
    pool_ctx *c = p;
    netc_maxpool2d(c->y, c->x, 1, &c->nd);
}

static void pool_rt(void *p)
{
    pool_ctx *c = p;
    rt_maxpool2d_forward(c->y, c->argmax, c->x, 1, &c->rd);
}

static void pool_row(const char *name, int C, int H)
{
    pool_ctx c;
    netc_pool_desc nd = { C, H, H, 2, 2, 2, 0, H / 2, H / 2 };
    rt_pool_desc rd = { C, H, H, 2, 2, 2, 0, H / 2, H / 2 };
    c.nd = nd;
    c.rd = rd;
    c.x = random_floats((size_t)C * H * H);
    c.y = random_floats((size_t)C * H * H);
    c.argmax = malloc((size_t)C * H * H);
    row(name, pool_netc, &c, pool_rt, &c);
}

typedef struct {
    int C, HW;
    float *x, *y, *g, *b, *m, *v;
} bn_ctx;

static void bn_netc(void *p)
{
    bn_ctx *c = p;
    netc_batchnorm(c->y, c->x, c->g, c->b, c->m, c->v, 1, c->C, c->HW, 1e-5f);
}

static void bn_rt(void *p)
{
    bn_ctx *c = p;
    rt_batchnorm_forward_eval(c->y, c->x, c->g, c->b, c->m, c->v, 1, c->C, c->HW, 1e-5f);
}

static void bn_row(const char *name, int C, int HW)
{
    bn_ctx c = { C, HW, random_floats((size_t)C * HW), random_floats((size_t)C * HW),
                 random_floats((size_t)C), random_floats((size_t)C), random_floats((size_t)C),
                 random_floats((size_t)C) };
    for (int i = 0; i < C; i++)
        c.v[i] = c.v[i] * c.v[i] + 0.1f;
    row(name, bn_netc, &c, bn_rt, &c);
}

/* ---- whole networks at batch 1 ---- */

/* A layer of a network: a conv (with BN or not after it, ReLU fused or not, max pool
 * after or not), or a dense layer. */
typedef struct {
    conv_ctx conv;
    bn_ctx bn;
    pool_ctx pool;
    dense_ctx dense;
    int is_dense, has_bn, has_pool, relu_after;
} layer;

typedef struct {
    layer l[8];
    int n, classes;
    float *x, *probs;
} net;

static void net_conv(net *t, int C, int H, int K, int k, int pad, int bn, int fuse_relu, int pool)
{
    layer *l = &t->l[t->n++];
    memset(l, 0, sizeof *l);
    l->conv = conv_make(C, H, K, k, 1, pad, fuse_relu ? NETC_ACT_RELU : NETC_ACT_NONE);
    l->has_bn = bn;
    l->relu_after = !fuse_relu;
    if (bn) {
        bn_ctx c = { K, H * H, l->conv.y, l->conv.y, random_floats((size_t)K), random_floats((size_t)K),
                     random_floats((size_t)K), random_floats((size_t)K) };
        for (int i = 0; i < K; i++)
            c.v[i] = c.v[i] * c.v[i] + 0.1f;
        l->bn = c;
    }
    l->has_pool = pool;
    if (pool) {
        int O = l->conv.nd.OH;
        netc_pool_desc nd = { K, O, O, 2, 2, 2, 0, O / 2, O / 2 };
        l->pool.nd = nd;
        l->pool.y = random_floats((size_t)K * O * O);
    }
}

static void net_dense(net *t, int C, int OC, int relu)
{
    layer *l = &t->l[t->n++];
    memset(l, 0, sizeof *l);
    dense_ctx c = { C, OC, relu ? NETC_ACT_RELU : NETC_ACT_NONE, NULL, random_floats((size_t)OC * C),
                    random_floats((size_t)OC), random_floats((size_t)OC), NULL };
    l->dense = c;
    l->is_dense = 1;
    t->classes = OC;
}

/* Chains the layers: each reads the previous one's output. */
static void net_link(net *t, int in_floats)
{
    t->x = random_floats((size_t)in_floats);
    const float *prev = t->x;
    for (int i = 0; i < t->n; i++) {
        layer *l = &t->l[i];
        if (l->is_dense) {
            l->dense.x = (float *)prev;
            prev = l->dense.y;
        } else {
            l->conv.x = (float *)prev;
            prev = l->has_pool ? l->pool.y : l->conv.y;
        }
    }
    t->probs = random_floats((size_t)t->classes);
}

static void net_run(void *p)
{
    net *t = p;
    const float *last = NULL;
    for (int i = 0; i < t->n; i++) {
        layer *l = &t->l[i];
        if (l->is_dense) {
            dense_netc(&l->dense);
            last = l->dense.y;
            continue;
        }
        conv_netc(&l->conv);
        size_t n = (size_t)l->conv.nd.K * l->conv.nd.OH * l->conv.nd.OW;
        if (l->has_bn)
            bn_netc(&l->bn);
        if (l->relu_after)
            netc_relu(l->conv.y, l->conv.y, n);
        if (l->has_pool)
            netc_maxpool2d(l->pool.y, l->conv.y, 1, &l->pool.nd);
    }
    netc_softmax(t->probs, last, 1, t->classes);
}

/* Every layer of t runs through par (NULL: one thread). */
static void net_threads(net *t, const netc_parallel *par)
{
    for (int i = 0; i < t->n; i++) {
        t->l[i].conv.par = par;
        t->l[i].dense.par = par;
    }
}

static void bench_nets(void)
{
    static net lenet, folded, simple;
    net_conv(&lenet, 1, 28, 16, 5, 2, 1, 0, 1);
    net_conv(&lenet, 16, 14, 32, 5, 2, 1, 0, 1);
    net_dense(&lenet, 32 * 7 * 7, 10, 0);
    net_link(&lenet, 28 * 28);
    row("LeNetBN, batch 1, whole network", net_run, &lenet, NULL, NULL);
    net_conv(&folded, 1, 28, 16, 5, 2, 0, 1, 1);
    net_conv(&folded, 16, 14, 32, 5, 2, 0, 1, 1);
    net_dense(&folded, 32 * 7 * 7, 10, 0);
    net_link(&folded, 28 * 28);
    row("LeNetBN, BN folded, batch 1, whole network", net_run, &folded, NULL, NULL);
    net_conv(&simple, 1, 28, 32, 3, 1, 0, 1, 0);
    net_conv(&simple, 32, 28, 32, 3, 1, 0, 1, 1);
    net_conv(&simple, 32, 14, 64, 3, 1, 0, 1, 0);
    net_conv(&simple, 64, 14, 64, 3, 1, 0, 1, 1);
    net_dense(&simple, 64 * 7 * 7, 512, 1);  /* its batchnorm [N,512] folded in */
    net_dense(&simple, 512, 10, 0);
    net_link(&simple, 28 * 28);
    row("SimpleNet, batch 1, whole network", net_run, &simple, NULL, NULL);
    static spin_pool sp;
    spin_worker w[MAX_TASKS - 1];
    spin_start(&sp, w, 2);
    netc_parallel par = { spin_run, &sp, 2 };
    net_threads(&lenet, &par);
    net_threads(&folded, &par);
    net_threads(&simple, &par);
    row("LeNetBN, 2 threads", net_run, &lenet, NULL, NULL);
    row("LeNetBN, BN folded, 2 threads", net_run, &folded, NULL, NULL);
    row("SimpleNet, 2 threads", net_run, &simple, NULL, NULL);
    spin_stop(&sp);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    printf("netc_infer SIMD path: %s; batch 1; median of repeated calls\n", netc_infer_simd());
    conv_row("LeNetBN conv1 1->16 5x5 p2 28x28", 1, 28, 16, 5, 1, 2, 0);
    conv_row("LeNetBN conv2 16->32 5x5 p2 14x14", 16, 14, 32, 5, 1, 2, 0);
    conv_row("SimpleNet conv1 1->32 3x3 p1 28x28 +relu", 1, 28, 32, 3, 1, 1, 1);
    conv_row("SimpleNet conv2 32->32 3x3 p1 28x28", 32, 28, 32, 3, 1, 1, 0);
    conv_row("SimpleNet conv3 32->64 3x3 p1 14x14 +relu", 32, 14, 64, 3, 1, 1, 1);
    conv_row("SimpleNet conv4 64->64 3x3 p1 14x14", 64, 14, 64, 3, 1, 1, 0);
    conv_row("KerasCNN conv1 1->32 3x3 28x28 +relu", 1, 28, 32, 3, 1, 0, 1);
    conv_row("KerasCNN conv2 32->64 3x3 13x13", 32, 13, 64, 3, 1, 0, 0);
    conv_row("KerasCNN conv3 64->64 3x3 5x5", 64, 5, 64, 3, 1, 0, 0);
    conv_row("LeNetDeep conv3 32->64 3x3 p1 7x7", 32, 7, 64, 3, 1, 1, 0);
    conv_row("LeNetDeep conv4 64->128 3x3 p1 3x3", 64, 3, 128, 3, 1, 1, 0);
    conv_row("ResNetSmall 16->16 3x3 p1 28x28", 16, 28, 16, 3, 1, 1, 0);
    conv_row("ResNetSmall 16->32 3x3 s2 p1 28x28", 16, 28, 32, 3, 2, 1, 0);
    conv_row("ResNetSmall 16->32 1x1 s2 28x28", 16, 28, 32, 1, 2, 0, 0);
    conv_row("ResNetSmall 32->32 3x3 p1 14x14", 32, 14, 32, 3, 1, 1, 0);
    conv_row("ResNetSmall 32->64 3x3 s2 p1 14x14", 32, 14, 64, 3, 2, 1, 0);
    conv_row("ResNetSmall 32->64 1x1 s2 14x14", 32, 14, 64, 1, 2, 0, 0);
    conv_row("ResNetSmall 64->64 3x3 p1 7x7", 64, 7, 64, 3, 1, 1, 0);
    conv_row("InceptionSmall 32->24 1x1 14x14", 32, 14, 24, 1, 1, 0, 0);
    conv_row("InceptionSmall 24->48 3x3 p1 14x14", 24, 14, 48, 3, 1, 1, 0);
    conv_row("InceptionSmall 8->16 5x5 p2 14x14", 8, 14, 16, 5, 1, 2, 0);
    dense_row("LeNetBN fc 1568->10", 1568, 10);
    dense_row("SimpleNet dense 3136->512", 3136, 512);
    dense_row("SimpleNet dense 512->10", 512, 10);
    pool_row("maxpool 2x2 32x28x28", 32, 28);
    pool_row("maxpool 2x2 16x28x28", 16, 28);
    bn_row("batchnorm 16x28x28", 16, 28 * 28);
    bn_row("batchnorm 32x14x14", 32, 14 * 14);
    bench_nets();
    return 0;
}
