/* test_infer.c -- the inference layer (runtime/infer/, netc_infer.h) held to the
 * training runtime's reference kernels (rt_*_ref, runtime/kernels/FAMILY_ref.c) on many
 * random shapes: odd sizes, pads per side, strides 1-3, kernels 1-7, batches 1-3,
 * channel counts 1-70 not multiples of the vector width, with and without bias and
 * fused ReLU, NaNs through the pools and activations.
 *
 * Every output buffer is allocated at its exact size (so ASan sees a write past it) and
 * the conv workspace is filled with NaN first (its contents on entry must not matter).
 * The error of a kernel is max |netc - ref| / max |ref| over the output (NaN must
 * meet NaN; dense divides by its largest sum of |terms| instead); the largest per
 * kernel is printed and must stay under TOL.  Built with
 * -DNETC_TEST_EXACT (gcc, portable path, no FMA contraction) every kernel must give
 * the reference's bits: the promise of netc_infer.h.
 *
 * The threaded entry points (netc_*_mt) run through a parallel-for that runs the tasks
 * last first, and must give the one-task results bit for bit.
 *
 * Usage: test_infer [CONV_CASES]   (default 300; the qemu run passes fewer)
 * Links with either libnetcrt.a or the reference files alone (the aarch64 cross test). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "infer/netc_infer.h"
#include "kernels/rt_kernels.h"
#include "check.h"

#ifdef NETC_TEST_EXACT
#define TOL 0.0
#else
#define TOL 1e-5
#endif

/* ---- random numbers and buffers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

/* An integer in [lo, hi]. */
static int rnd_int(int lo, int hi)
{
    return lo + (int)(rnd() % (uint32_t)(hi - lo + 1));
}

static float rnd_float(float lo, float hi)
{
    return lo + (hi - lo) * (float)(rnd() >> 8) / 16777216.0f;
}

/* n floats in [lo, hi]; every `nan_every`-th (0: none) is NaN. */
static float *rnd_buf(size_t n, float lo, float hi, size_t nan_every)
{
    float *x = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = nan_every && rnd() % nan_every == 0 ? NAN : rnd_float(lo, hi);
    return x;
}

static float *nan_buf(size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    return x;
}

/* ---- comparing ---- */

/* The worst error seen per kernel. */
typedef struct {
    const char *name;
    double worst;
    int cases;
} kernel_stat;

enum { K_CONV, K_DENSE, K_MAXPOOL, K_AVGPOOL, K_GAP, K_BN, K_RELU, K_LEAKY, K_ELU, K_SIGMOID,
       K_TANH, K_PAD, K_CONCAT, K_ADD, K_SOFTMAX, K_COUNT };

static kernel_stat stats[K_COUNT] = {
    {"conv2d", 0, 0}, {"dense", 0, 0}, {"maxpool2d", 0, 0}, {"avgpool2d", 0, 0},
    {"global_avgpool", 0, 0}, {"batchnorm", 0, 0}, {"relu", 0, 0}, {"leaky_relu", 0, 0},
    {"elu", 0, 0}, {"sigmoid", 0, 0}, {"tanh", 0, 0}, {"pad2d", 0, 0}, {"concat", 0, 0},
    {"add", 0, 0}, {"softmax", 0, 0},
};

/* max |got - want| / max |want| over n values; infinite where only one is NaN. */
static double rel_err(const float *got, const float *want, size_t n)
{
    double scale = 0.0, diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i]) || isnan(got[i])) {
            if (isnan(want[i]) != isnan(got[i]))
                return INFINITY;
            continue;
        }
        double a = fabs((double)want[i]);
        scale = a > scale ? a : scale;
        double e = fabs((double)got[i] - (double)want[i]);
        diff = e > diff ? e : diff;
    }
    return diff == 0.0 ? 0.0 : diff / (scale > 0.0 ? scale : 1e-30);
}

/* Records and checks one case of kernel k, whose error is e. */
static void record(int k, double e, const char *what)
{
    stats[k].cases++;
    if (e > stats[k].worst)
        stats[k].worst = e;
    CHECK(e <= TOL, "%s: %s: relative error %.3g > %.3g", stats[k].name, what, e, TOL);
}

static void compare(int k, const float *got, const float *want, size_t n, const char *what)
{
    record(k, rel_err(got, want, n), what);
}

/* ---- threads ---- */

/* A parallel-for that runs the tasks one by one, last first: any task that wrote outside
 * its share (a spilling row copy, say) would then clobber a task run before it. */
static void run_reversed(void *pool, netc_task_fn task, void *arg, int n)
{
    (void)pool;
    for (int i = n - 1; i >= 0; i--)
        task(arg, i);
}

/* ---- conv2d ---- */

/* One convolution case: netc_conv2d against rt_conv2d_forward_ref (+ relu_ref). */
static void conv_case(int N, int C, int H, int W, int K, int kh, int kw, int stride, int pt,
                      int pl, int pb, int pr, int bias, int act)
{
    int OH = (H + pt + pb - kh) / stride + 1, OW = (W + pl + pr - kw) / stride + 1;
    rt_conv_desc rd = { C, H, W, K, kh, kw, stride, pt, pl, pb, pr, OH, OW };
    netc_conv_desc nd = { C, H, W, K, kh, kw, stride, pt, pl, pb, pr, OH, OW };
    size_t nin = (size_t)N * C * H * W, nout = (size_t)N * K * OH * OW;
    size_t nw = (size_t)K * C * kh * kw;
    float *x = rnd_buf(nin, -1, 1, 0), *w = rnd_buf(nw, -1, 1, 0), *b = rnd_buf((size_t)K, -1, 1, 0);
    float *want = malloc(nout * sizeof(float)), *got = nan_buf(nout);
    float *work = nan_buf(netc_conv2d_work_floats(&nd));
    rt_conv2d_forward_ref(want, x, w, bias ? b : NULL, NULL, N, &rd);
    if (act == NETC_ACT_RELU)
        rt_relu_forward_ref(want, want, nout);
    netc_conv2d(got, x, w, bias ? b : NULL, work, N, &nd, act);
    char what[160];
    snprintf(what, sizeof what, "N%d C%d %dx%d K%d k%dx%d s%d pad t%d l%d b%d r%d bias%d act%d", N, C,
             H, W, K, kh, kw, stride, pt, pl, pb, pr, bias, act);
    compare(K_CONV, got, want, nout, what);
    /* the same on weights packed beforehand, with the smaller workspace */
    float *packed = nan_buf(netc_conv2d_packed_floats(&nd));
    float *pwork = nan_buf(netc_conv2d_packed_work_floats(&nd)), *pgot = nan_buf(nout);
    netc_conv2d_pack(packed, w, &nd);
    netc_conv2d_packed(pgot, x, packed, bias ? b : NULL, pwork, N, &nd, act);
    compare(K_CONV, pgot, want, nout, what);
    /* cut into 2-6 tasks: the same bits */
    int tasks = 2 + (int)(rnd() % 5);
    netc_parallel par = { run_reversed, NULL, tasks };
    float *twork = nan_buf(netc_conv2d_packed_work_floats_mt(&nd, tasks)), *tgot = nan_buf(nout);
    netc_conv2d_packed_mt(tgot, x, packed, bias ? b : NULL, twork, N, &nd, act, &par);
    CHECK(memcmp(tgot, pgot, nout * sizeof(float)) == 0, "conv2d in %d tasks differs: %s", tasks, what);
    /* relu + 2x2 max pool fused (in 1 and in `tasks` tasks): the bits of relu'd conv2d
     * then netc_maxpool2d */
    if (OH >= 2 && OW >= 2) {
        netc_pool_desc pd = { K, OH, OW, 2, 2, 2, 0, OH / 2, OW / 2 };
        size_t npool = (size_t)N * K * (OH / 2) * (OW / 2);
        float *relu = nan_buf(nout), *pwant = nan_buf(npool), *fgot = nan_buf(npool), *scratch = nan_buf(nout);
        netc_conv2d_packed(relu, x, packed, bias ? b : NULL, pwork, N, &nd, NETC_ACT_RELU);
        netc_maxpool2d(pwant, relu, N, &pd);
        netc_conv2d_packed_pool_mt(fgot, scratch, x, packed, bias ? b : NULL, pwork, N, &nd, &pd, NULL);
        CHECK(memcmp(fgot, pwant, npool * sizeof(float)) == 0, "conv2d + relu + max pool fused differs: %s", what);
        netc_conv2d_packed_pool_mt(fgot, scratch, x, packed, bias ? b : NULL, twork, N, &nd, &pd, &par);
        CHECK(memcmp(fgot, pwant, npool * sizeof(float)) == 0, "fused conv2d + pool in %d tasks differs: %s", tasks,
              what);
        /* out in the input's bytes, as a memory plan may place it */
        float *shared = nan_buf(nin > npool ? nin : npool);
        memcpy(shared, x, nin * sizeof(float));
        netc_conv2d_packed_pool_mt(shared, scratch, shared, packed, bias ? b : NULL, twork, N, &nd, &pd, &par);
        CHECK(memcmp(shared, pwant, npool * sizeof(float)) == 0, "fused conv2d + pool over its input differs: %s",
              what);
        free(relu); free(pwant); free(fgot); free(scratch); free(shared);
    }
    free(x); free(w); free(b); free(want); free(got); free(work);
    free(packed); free(pwork); free(pgot); free(twork); free(tgot);
}

/* The layers of the seed networks (LeNetBN, SimpleNet, the Keras CNNs), then random
 * shapes whose reference costs at most ~1.5M multiply-adds each. */
static void test_conv(int cases)
{
    conv_case(1, 1, 28, 28, 16, 5, 5, 1, 2, 2, 2, 2, 1, NETC_ACT_NONE);
    conv_case(1, 16, 14, 14, 32, 5, 5, 1, 2, 2, 2, 2, 1, NETC_ACT_NONE);
    conv_case(1, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, NETC_ACT_RELU);
    conv_case(1, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, NETC_ACT_NONE);
    conv_case(1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, NETC_ACT_NONE);
    conv_case(1, 96, 7, 7, 96, 3, 3, 1, 1, 1, 1, 1, 1, NETC_ACT_NONE);
    conv_case(2, 32, 13, 13, 64, 3, 3, 1, 0, 0, 0, 0, 1, NETC_ACT_RELU);
    conv_case(1, 16, 9, 9, 24, 3, 3, 2, 1, 1, 1, 1, 0, NETC_ACT_RELU);
    conv_case(3, 17, 8, 11, 5, 1, 1, 1, 0, 0, 0, 0, 1, NETC_ACT_RELU);
    conv_case(1, 3, 10, 12, 7, 2, 2, 1, 0, 0, 1, 1, 1, NETC_ACT_NONE);  /* 'same', even k */
    conv_case(2, 8, 9, 33, 48, 3, 3, 1, 1, 1, 1, 1, 1, NETC_ACT_RELU);  /* rows of 3 tiles */
    conv_case(1, 4, 6, 6, 16, 3, 3, 1, 0, 0, 0, 0, 1, NETC_ACT_NONE);  /* 36 taps, OW 4 */
    conv_case(1, 16, 28, 28, 32, 3, 3, 2, 1, 1, 1, 1, 0, NETC_ACT_NONE);  /* ResNetSmall, strided */
    conv_case(2, 32, 14, 14, 64, 1, 1, 2, 0, 0, 0, 0, 0, NETC_ACT_NONE);  /* 1x1 s2: no plane */
    conv_case(1, 56, 14, 14, 32, 1, 1, 1, 0, 0, 0, 0, 1, NETC_ACT_RELU);  /* 1x1 s1: no plane */
    conv_case(2, 5, 11, 13, 16, 3, 2, 3, 0, 0, 0, 0, 1, NETC_ACT_RELU);  /* s3, unpadded */
    for (int t = 0; t < cases; t++) {
        int N, C, H, W, K, kh, kw, s, pt, pl, pb, pr;
        long cost;
        do {
            N = rnd_int(1, 3);
            kh = rnd_int(1, 7);
            kw = rnd() % 3 ? kh : rnd_int(1, 7);
            s = rnd() % 2 ? 1 : rnd_int(2, 3);
            pt = rnd_int(0, kh - 1);
            pb = rnd() % 2 ? pt : rnd_int(0, kh - 1);
            pl = rnd_int(0, kw - 1);
            pr = rnd() % 2 ? pl : rnd_int(0, kw - 1);
            H = rnd_int(kh - pt - pb > 1 ? kh - pt - pb : 1, 20);
            W = rnd_int(kw - pl - pr > 1 ? kw - pl - pr : 1, 20);
            C = rnd_int(1, 70);
            K = rnd_int(1, 70);
            long OH = (H + pt + pb - kh) / s + 1, OW = (W + pl + pr - kw) / s + 1;
            cost = (long)N * C * K * kh * kw * OH * OW;
        } while (cost > 1500000);
        conv_case(N, C, H, W, K, kh, kw, s, pt, pl, pb, pr, (int)(rnd() % 4 != 0),
                  rnd() % 2 ? NETC_ACT_RELU : NETC_ACT_NONE);
    }
}

/* ---- dense ---- */

static void dense_case(int N, int C, int OC, int bias, int act)
{
    float *x = rnd_buf((size_t)N * C, -1, 1, 0), *w = rnd_buf((size_t)OC * C, -1, 1, 0);
    float *b = rnd_buf((size_t)OC, -1, 1, 0);
    float *want = malloc((size_t)N * OC * sizeof(float)), *got = nan_buf((size_t)N * OC);
    rt_dense_forward_ref(want, x, w, bias ? b : NULL, N, C, OC);
    if (act == NETC_ACT_RELU)
        rt_relu_forward_ref(want, want, (size_t)N * OC);
    netc_dense(got, x, w, bias ? b : NULL, N, C, OC, act);
    char what[80];
    snprintf(what, sizeof what, "N%d C%d OC%d bias%d act%d", N, C, OC, bias, act);
    /* A dot product's rounding error is relative to the sum of its terms' magnitudes,
     * not to its value (which may cancel to nearly 0): the error is max |netc - ref|
     * over the largest such sum, |bias| + sum |x*w|, of the output. */
    float *ax = malloc((size_t)N * C * sizeof(float)), *aw = malloc((size_t)OC * C * sizeof(float));
    float *ab = malloc((size_t)OC * sizeof(float)), *mag = malloc((size_t)N * OC * sizeof(float));
    for (size_t i = 0; i < (size_t)N * C; i++)
        ax[i] = fabsf(x[i]);
    for (size_t i = 0; i < (size_t)OC * C; i++)
        aw[i] = fabsf(w[i]);
    for (size_t i = 0; i < (size_t)OC; i++)
        ab[i] = fabsf(b[i]);
    rt_dense_forward_ref(mag, ax, aw, bias ? ab : NULL, N, C, OC);
    double scale = 0.0, diff = 0.0;
    for (size_t i = 0; i < (size_t)N * OC; i++) {
        scale = mag[i] > scale ? mag[i] : scale;
        double e = isnan(got[i]) ? INFINITY : fabs((double)got[i] - (double)want[i]);
        diff = e > diff ? e : diff;
    }
    record(K_DENSE, diff == 0.0 ? 0.0 : diff / scale, what);
    int tasks = 2 + (int)(rnd() % 5);
    netc_parallel par = { run_reversed, NULL, tasks };
    float *tgot = nan_buf((size_t)N * OC);
    netc_dense_mt(tgot, x, w, bias ? b : NULL, N, C, OC, act, &par);
    CHECK(memcmp(tgot, got, (size_t)N * OC * sizeof(float)) == 0, "dense in %d tasks differs: %s", tasks, what);
    float *packed = nan_buf((size_t)OC * C), *pgot = nan_buf((size_t)N * OC);
    netc_dense_pack(packed, w, C, OC);
    netc_dense_packed(pgot, x, packed, bias ? b : NULL, N, C, OC, act);
    CHECK(memcmp(pgot, got, (size_t)N * OC * sizeof(float)) == 0, "dense with packed weights differs: %s", what);
    netc_dense_packed_mt(tgot, x, packed, bias ? b : NULL, N, C, OC, act, &par);
    CHECK(memcmp(tgot, got, (size_t)N * OC * sizeof(float)) == 0, "packed dense in %d tasks differs: %s", tasks, what);
    free(packed); free(pgot);
    free(tgot);
    free(x); free(w); free(b); free(want); free(got); free(ax); free(aw); free(ab); free(mag);
}

static void test_dense(void)
{
    dense_case(1, 864, 512, 1, NETC_ACT_NONE);
    dense_case(1, 512, 10, 1, NETC_ACT_NONE);
    dense_case(1, 1568, 10, 1, NETC_ACT_NONE);
    for (int t = 0; t < 120; t++)
        dense_case(rnd_int(1, 3), rnd_int(1, 900), rnd_int(1, 70), (int)(rnd() % 4 != 0),
                   rnd() % 2 ? NETC_ACT_RELU : NETC_ACT_NONE);
}

/* ---- pooling ---- */

/* A random pooling geometry; pad <= k/2 as PyTorch requires. */
static rt_pool_desc rnd_pool(void)
{
    rt_pool_desc d;
    d.kh = rnd_int(1, 4);
    d.kw = rnd() % 3 ? d.kh : rnd_int(1, 4);
    d.stride = rnd_int(1, 3);
    int pmax = (d.kh < d.kw ? d.kh : d.kw) / 2;
    d.pad = rnd_int(0, pmax);
    d.C = rnd_int(1, 40);
    d.H = rnd_int(d.kh, 19);
    d.W = rnd_int(d.kw, 19);
    d.OH = (d.H + 2 * d.pad - d.kh) / d.stride + 1;
    d.OW = (d.W + 2 * d.pad - d.kw) / d.stride + 1;
    return d;
}

static void pool_case(rt_pool_desc rd, int N, int max)
{
    netc_pool_desc nd = { rd.C, rd.H, rd.W, rd.kh, rd.kw, rd.stride, rd.pad, rd.OH, rd.OW };
    size_t nin = (size_t)N * rd.C * rd.H * rd.W, nout = (size_t)N * rd.C * rd.OH * rd.OW;
    float *x = rnd_buf(nin, -2, 2, max ? 97 : 0);
    float *want = malloc(nout * sizeof(float)), *got = nan_buf(nout);
    uint8_t *argmax = malloc(nout);
    char what[120];
    snprintf(what, sizeof what, "N%d C%d %dx%d k%dx%d s%d p%d", N, rd.C, rd.H, rd.W, rd.kh, rd.kw,
             rd.stride, rd.pad);
    if (max) {
        rt_maxpool2d_forward_ref(want, argmax, x, N, &rd);
        netc_maxpool2d(got, x, N, &nd);
    } else {
        rt_avgpool2d_forward_ref(want, x, N, &rd);
        netc_avgpool2d(got, x, N, &nd);
    }
    compare(max ? K_MAXPOOL : K_AVGPOOL, got, want, nout, what);
    free(x); free(want); free(got); free(argmax);
}

static void test_pool(void)
{
    rt_pool_desc two = { 32, 28, 28, 2, 2, 2, 0, 14, 14 }, odd = { 9, 7, 7, 2, 2, 2, 0, 3, 3 };
    rt_pool_desc incep = { 12, 14, 14, 3, 3, 1, 1, 14, 14 }, wide = { 3, 6, 41, 2, 2, 2, 0, 3, 20 };
    for (int max = 0; max <= 1; max++) {
        pool_case(two, 1, max);
        pool_case(odd, 2, max);
        pool_case(incep, 1, max);
        pool_case(wide, 2, max);  /* rows of more than 16 outputs */
        for (int t = 0; t < 150; t++)
            pool_case(rnd_pool(), rnd_int(1, 3), max);
    }
    for (int t = 0; t < 40; t++) {
        int N = rnd_int(1, 3), C = rnd_int(1, 70), HW = rnd_int(1, 200);
        float *x = rnd_buf((size_t)N * C * HW, -1, 1, 0);
        float *want = malloc((size_t)N * C * sizeof(float)), *got = nan_buf((size_t)N * C);
        rt_global_avgpool_forward_ref(want, x, N, C, HW);
        netc_global_avgpool(got, x, N, C, HW);
        compare(K_GAP, got, want, (size_t)N * C, "global avgpool");
        free(x); free(want); free(got);
    }
}

/* ---- batchnorm, activations, softmax ---- */

static void test_batchnorm(void)
{
    for (int t = 0; t < 60; t++) {
        int N = rnd_int(1, 3), C = rnd_int(1, 70), HW = rnd() % 4 ? rnd_int(1, 200) : 1;
        size_t n = (size_t)N * C * HW;
        float *x = rnd_buf(n, -3, 3, 0), *g = rnd_buf((size_t)C, 0.5f, 2, 0);
        float *b = rnd_buf((size_t)C, -1, 1, 0), *m = rnd_buf((size_t)C, -1, 1, 0);
        float *v = rnd_buf((size_t)C, 0.01f, 3, 0);
        float *want = malloc(n * sizeof(float)), *got = nan_buf(n);
        rt_batchnorm_forward_eval_ref(want, x, g, b, m, v, N, C, HW, 1e-5f);
        netc_batchnorm(got, x, g, b, m, v, N, C, HW, 1e-5f);
        compare(K_BN, got, want, n, "batchnorm");
        netc_batchnorm(x, x, g, b, m, v, N, C, HW, 1e-5f);
        compare(K_BN, x, want, n, "batchnorm in place");
        free(x); free(g); free(b); free(m); free(v); free(want); free(got);
    }
}

/* Each activation, out of place and in place, on values with NaNs among them. */
static void test_activations(void)
{
    for (int t = 0; t < 20; t++) {
        size_t n = (size_t)rnd_int(1, 3000);
        float *x = rnd_buf(n, -6, 6, 50), *want = malloc(n * sizeof(float));
        float *got = nan_buf(n), *inplace = malloc(n * sizeof(float));
        for (int k = K_RELU; k <= K_TANH; k++) {
            memcpy(inplace, x, n * sizeof(float));
            switch (k) {
            case K_RELU:
                rt_relu_forward_ref(want, x, n);
                netc_relu(got, x, n);
                netc_relu(inplace, inplace, n);
                break;
            case K_LEAKY:
                rt_leaky_relu_forward_ref(want, x, 0.01f, n);
                netc_leaky_relu(got, x, 0.01f, n);
                netc_leaky_relu(inplace, inplace, 0.01f, n);
                break;
            case K_ELU:
                rt_elu_forward_ref(want, x, 1.3f, n);
                netc_elu(got, x, 1.3f, n);
                netc_elu(inplace, inplace, 1.3f, n);
                break;
            case K_SIGMOID:
                rt_sigmoid_forward_ref(want, x, n);
                netc_sigmoid(got, x, n);
                netc_sigmoid(inplace, inplace, n);
                break;
            default:
                rt_tanh_forward_ref(want, x, n);
                netc_tanh(got, x, n);
                netc_tanh(inplace, inplace, n);
                break;
            }
            compare(k, got, want, n, "out of place");
            compare(k, inplace, want, n, "in place");
        }
        free(x); free(want); free(got); free(inplace);
    }
}

static void test_softmax(void)
{
    for (int t = 0; t < 40; t++) {
        int N = rnd_int(1, 3), K = rnd_int(1, 70);
        size_t n = (size_t)N * K;
        float *z = rnd_buf(n, -20, 20, 0), *want = malloc(n * sizeof(float)), *got = nan_buf(n);
        rt_softmax_forward_ref(want, z, N, K);
        netc_softmax(got, z, N, K);
        compare(K_SOFTMAX, got, want, n, "softmax");
        netc_softmax(z, z, N, K);
        compare(K_SOFTMAX, z, want, n, "softmax in place");
        free(z); free(want); free(got);
    }
}

/* ---- shape ops ---- */

static void test_shape(void)
{
    for (int t = 0; t < 40; t++) {
        int N = rnd_int(1, 3), C = rnd_int(1, 20), H = rnd_int(1, 15), W = rnd_int(1, 15);
        int p = rnd_int(0, 4);
        size_t nin = (size_t)N * C * H * W, nout = (size_t)N * C * (H + 2 * p) * (W + 2 * p);
        float *x = rnd_buf(nin, -1, 1, 0), *want = malloc(nout * sizeof(float)), *got = nan_buf(nout);
        rt_pad2d_forward_ref(want, x, N, C, H, W, p);
        netc_pad2d(got, x, N, C, H, W, p);
        compare(K_PAD, got, want, nout, "pad2d");
        free(x); free(want); free(got);
    }
    for (int t = 0; t < 40; t++) {
        int N = rnd_int(1, 3), HW = rnd_int(1, 50), n_inp = rnd_int(1, 4), total = 0;
        int channels[4];
        float *inps[4];
        for (int i = 0; i < n_inp; i++) {
            channels[i] = rnd_int(1, 30);
            total += channels[i];
            inps[i] = rnd_buf((size_t)N * channels[i] * HW, -1, 1, 0);
        }
        size_t nout = (size_t)N * total * HW;
        float *want = malloc(nout * sizeof(float)), *got = nan_buf(nout);
        rt_concat_forward_ref(want, (const float *const *)inps, channels, n_inp, N, HW);
        netc_concat(got, (const float *const *)inps, channels, n_inp, N, HW);
        compare(K_CONCAT, got, want, nout, "concat");
        size_t n = (size_t)N * channels[0] * HW;
        for (int i = 1; i < n_inp; i++)
            inps[i] = realloc(inps[i], n * sizeof(float));  /* add needs equal sizes */
        for (int i = 1; i < n_inp; i++)
            for (size_t k = 0; k < n; k++)
                inps[i][k] = rnd_float(-1, 1);
        float *sum = malloc(n * sizeof(float)), *nsum = nan_buf(n);
        rt_add_forward_ref(sum, (const float *const *)inps, n_inp, n);
        netc_add(nsum, (const float *const *)inps, n_inp, n);
        compare(K_ADD, nsum, sum, n, "add");
        netc_add(inps[0], (const float *const *)inps, n_inp, n);
        compare(K_ADD, inps[0], sum, n, "add into its first input");
        for (int i = 0; i < n_inp; i++)
            free(inps[i]);
        free(want); free(got); free(sum); free(nsum);
    }
}

int main(int argc, char **argv)
{
    int conv_cases = argc > 1 ? atoi(argv[1]) : 300;
    printf("netc_infer SIMD path: %s%s\n", netc_infer_simd(),
           TOL == 0.0 ? " (bit-identical to the references required)" : "");
    test_conv(conv_cases);
    test_dense();
    test_pool();
    test_batchnorm();
    test_activations();
    test_softmax();
    test_shape();
    for (int k = 0; k < K_COUNT; k++) {
        printf("  %-15s %4d cases, max relative error %.3g\n", stats[k].name, stats[k].cases,
               stats[k].worst);
        CHECK(stats[k].cases > 0, "%s was never tested", stats[k].name);
    }
    printf("test_infer: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
