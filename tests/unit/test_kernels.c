/* Fast kernels (kernels.c) against their scalar references (kernels_ref.c).
 *
 * Each kernel runs on many random small shapes — odd sizes, stride > 1, padding,
 * asymmetric padding, bias or none, 1x1 convolutions — and its outputs must match the
 * reference's.  Every backward kernel runs twice: accum = 0 into a gradient buffer
 * filled with NaN (so a value not overwritten shows), and accum = 1 into random
 * values; parameter gradients start random (they must be added into).  Element-wise
 * kernels also run in place.  A few known-answer cases pin the references themselves
 * to PyTorch's definitions (floor-mode pooling, count_include_pad, unbiased running
 * variance, optimizer steps worked by hand).
 *
 * Errors: err_norm is max|fast - ref| / max|ref| over a tensor (sgemm sums in a
 * different order from the reference's loops), err_elem is max |fast - ref| /
 * max(|ref|, 1e-6) element by element (for the exp-based activations).  Both must stay
 * under TOL.  Prints one line per kernel; exits 1 on any mismatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netc_rt.h"

#define TOL 1e-5f

static rt_rng rng;
static int failures;

/* ---- helpers ---- */

static int randint(int lo, int hi)
{
    return lo + (int)rt_rng_below(&rng, (uint32_t)(hi - lo + 1));
}

static float uniform(float lo, float hi)
{
    return lo + (hi - lo) * rt_rng_uniform(&rng);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "test_kernels: out of memory\n");
        exit(1);
    }
    return p;
}

static float *random_floats(size_t n, float lo, float hi)
{
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = uniform(lo, hi);
    return x;
}

static float *nan_floats(size_t n)
{
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    return x;
}

static float *copy_floats(const float *x, size_t n)
{
    float *y = xmalloc(n * sizeof(float));
    memcpy(y, x, n * sizeof(float));
    return y;
}

/* A gradient buffer for a backward call: NaN for accum 0 (must be overwritten),
 * random for accum 1 (must be added into). */
static float *grad_buffer(size_t n, int accum)
{
    return accum ? random_floats(n, -1, 1) : nan_floats(n);
}

/* max|a - b| / max(max|b|, scale); NaN in one but not the other counts as infinite
 * error, as does an infinity in one but not the other.  scale is
 * the size of the terms that made b, where b may cancel to nearly 0. */
static float err_scaled(const float *a, const float *b, size_t n, float scale)
{
    float max_diff = 0.0f, max_ref = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float diff = a[i] == b[i] ? 0.0f : fabsf(a[i] - b[i]);  /* equal infinities */
        if (isnan(diff) && !(isnan(a[i]) && isnan(b[i])))
            return INFINITY;
        if (diff > max_diff)
            max_diff = diff;
        if (isfinite(b[i]) && fabsf(b[i]) > max_ref)
            max_ref = fabsf(b[i]);
    }
    if (max_ref < scale)
        max_ref = scale;
    return max_diff / (max_ref > 1e-20f ? max_ref : 1e-20f);
}

/* max|a - b| / max|b|. */
static float err_norm(const float *a, const float *b, size_t n)
{
    return err_scaled(a, b, n, 0.0f);
}

/* max over i of |a - b| / max(|b|, 1e-6). */
static float err_elem(const float *a, const float *b, size_t n)
{
    float worst = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float diff = a[i] == b[i] ? 0.0f : fabsf(a[i] - b[i]);  /* equal infinities */
        if (isnan(diff) && !(isnan(a[i]) && isnan(b[i])))
            return INFINITY;
        float e = diff / (fabsf(b[i]) > 1e-6f ? fabsf(b[i]) : 1e-6f);
        if (e > worst)
            worst = e;
    }
    return worst;
}

/* |a - b| relative to max(|b|, 1), for a scalar such as a loss. */
static float err_scalar(float a, float b)
{
    float diff = fabsf(a - b);
    return isnan(diff) ? INFINITY : diff / fmaxf(fabsf(b), 1.0f);
}

/* Records err against TOL for kernel `what` on shape `shape`; keeps the worst. */
static void check(const char *what, const char *shape, float err, float *worst)
{
    if (!(err <= TOL)) {
        failures++;
        printf("FAIL %s %s: error %.3g > %.3g\n", what, shape, err, TOL);
    }
    if (err > *worst || isnan(err))
        *worst = err;
}

static void report(const char *kernel, int cases, float worst)
{
    printf("%-22s %3d cases  worst error %.2e  (tol %.0e)  %s\n", kernel, cases, worst, TOL,
           worst <= TOL ? "ok" : "FAILED");
}

/* Checks a known value; for the hand-worked cases. */
static void expect(const char *what, float got, float want, float tol)
{
    if (!(fabsf(got - want) <= tol)) {
        failures++;
        printf("FAIL %s: got %.9g, want %.9g\n", what, got, want);
    }
}

/* ---- conv2d ---- */

static void random_conv_desc(rt_conv_desc *d, int pointwise)
{
    do {
        d->C = randint(1, 4);
        d->H = randint(1, 9);
        d->W = randint(1, 9);
        d->K = randint(1, 5);
        d->kh = pointwise ? 1 : randint(1, 4);
        d->kw = pointwise ? 1 : randint(1, 4);
        d->stride = pointwise ? 1 : randint(1, 3);
        d->pad_t = pointwise ? 0 : randint(0, 2);
        d->pad_l = pointwise ? 0 : randint(0, 2);
        d->pad_b = pointwise ? 0 : randint(0, 2);
        d->pad_r = pointwise ? 0 : randint(0, 2);
    } while (d->H + d->pad_t + d->pad_b < d->kh || d->W + d->pad_l + d->pad_r < d->kw);
    d->OH = (d->H + d->pad_t + d->pad_b - d->kh) / d->stride + 1;
    d->OW = (d->W + d->pad_l + d->pad_r - d->kw) / d->stride + 1;
}

/* One convolution checked against the reference: forward, and backward with and
 * without the input gradient, each with accum off and on. */
static void conv_case(rt_conv_desc d, int N, int has_bias, float *worst_out)
{
    float worst = *worst_out;
    {
        char shape[160];
        snprintf(shape, sizeof shape,
                 "N=%d C=%d H=%d W=%d K=%d k=%dx%d stride=%d pad t%d l%d b%d r%d bias=%d", N, d.C,
                 d.H, d.W, d.K, d.kh, d.kw, d.stride, d.pad_t, d.pad_l, d.pad_b, d.pad_r,
                 has_bias);
        size_t nx = (size_t)N * d.C * d.H * d.W, nw = (size_t)d.K * d.C * d.kh * d.kw;
        size_t ny = (size_t)N * d.K * d.OH * d.OW;
        float *x = random_floats(nx, -1, 1), *w = random_floats(nw, -1, 1);
        float *b = has_bias ? random_floats(d.K, -1, 1) : NULL;
        float *work = nan_floats(rt_conv2d_workspace_floats(&d));
        float *y = nan_floats(ny), *y_ref = nan_floats(ny);
        rt_conv2d_forward(y, x, w, b, work, N, &d, RT_FP32);
        rt_conv2d_forward_ref(y_ref, x, w, b, NULL, N, &d);
        check("conv2d forward", shape, err_norm(y, y_ref, ny), &worst);

        float *dy = random_floats(ny, -1, 1);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(nx, accum), *dx_ref = copy_floats(dx, nx);
            float *dw = random_floats(nw, -1, 1), *dw_ref = copy_floats(dw, nw);
            float *db = random_floats(d.K, -1, 1), *db_ref = copy_floats(db, d.K);
            rt_conv2d_backward(dx, dw, has_bias ? db : NULL, dy, x, w, work, N, &d, accum, RT_FP32);
            rt_conv2d_backward_ref(dx_ref, dw_ref, has_bias ? db_ref : NULL, dy, x, w, NULL, N,
                                   &d, accum);
            check("conv2d backward dinp", shape, err_norm(dx, dx_ref, nx), &worst);
            check("conv2d backward dweight", shape, err_norm(dw, dw_ref, nw), &worst);
            check("conv2d backward dbias", shape, err_norm(db, db_ref, d.K), &worst);
            /* No input gradient: dweight must come out the same. */
            memcpy(dw, dw_ref, nw * sizeof(float));
            rt_conv2d_backward(NULL, dw, NULL, dy, x, w, work, N, &d, accum, RT_FP32);
            rt_conv2d_backward_ref(NULL, dw_ref, NULL, dy, x, w, NULL, N, &d, accum);
            check("conv2d backward dinp=NULL", shape, err_norm(dw, dw_ref, nw), &worst);
            free(dx); free(dx_ref); free(dw); free(dw_ref); free(db); free(db_ref);
        }
        free(x); free(w); free(b); free(work); free(y); free(y_ref); free(dy);
    }
    *worst_out = worst;
}

/* Shapes on the direct weight gradient's path (conv_layout.h's rt_conv_wgrad_direct):
 * output channels that are not a multiple of 16 (one vector, two, two and a half, three),
 * output rows that are not a multiple of 16, and batches over several slots. */
/* A batch of N images and a stride-1 convolution with a square k x k filter, `pad` on
 * every side. */
typedef struct {
    int N, C, H, W, K, k, pad;
} conv_shape;

static rt_conv_desc conv_shape_desc(conv_shape s)
{
    rt_conv_desc d = { s.C, s.H, s.W, s.K, s.k, s.k, 1, s.pad, s.pad, s.pad, s.pad,
                       s.H + 2 * s.pad - s.k + 1, s.W + 2 * s.pad - s.k + 1 };
    return d;
}

static const conv_shape conv_wgrad_shapes[] = {
    { 9, 3, 14, 14, 20, 5, 2 }, { 5, 2, 28, 28, 16, 5, 2 }, { 6, 4, 13, 11, 40, 3, 0 },
    { 4, 5, 7, 7, 33, 3, 1 },   { 3, 4, 9, 9, 48, 5, 1 },   { 7, 16, 6, 6, 64, 3, 1 },
    { 2, 3, 5, 5, 7, 5, 2 },
};

/* ---- conv2d with bf16 factors ---- */

/* f rounded to bf16, to nearest even (as vcvtneps2bf16 does; no NaNs or denormals here). */
static float bf16_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float *bf16_copy(const float *x, size_t n)
{
    float *r = copy_floats(x, n);
    for (size_t i = 0; i < n; i++)
        r[i] = bf16_round(r[i]);
    return r;
}

/* Shapes that all three direct kernels take (forward, input and weight gradient), so
 * that with RT_BF16 every product has bf16 factors: an odd channel count (a pair with a
 * zero), an odd output width (a pixel pair with a zero), 5x5 and 3x3, K past a vector,
 * and rows that only bf16 takes direct (the Keras CNN's 13 -> 11). */
static const conv_shape conv_bf16_shapes[] = {
    { 5, 16, 14, 14, 32, 5, 2 }, { 6, 9, 28, 28, 20, 3, 1 }, { 3, 8, 15, 15, 16, 3, 1 },
    { 4, 12, 16, 16, 40, 5, 2 }, { 3, 32, 13, 13, 64, 3, 0 },
};

/* RT_BF16 against the fp32 reference on the factors rounded to bf16 (x and w forward, dy
 * and w for the input gradient, dy and x for the weight gradient): the same products,
 * summed in another order.  Where the CPU has no AVX512_BF16, RT_BF16 must give fp32's
 * bits.  Either way the result must differ from fp32's (but for the fallback), so the
 * check cannot pass by running fp32. */
static void test_conv2d_bf16(void)
{
    float worst = 0.0f, least_change = INFINITY;
    int listed = (int)(sizeof conv_bf16_shapes / sizeof conv_bf16_shapes[0]), have = rt_bf16_available();
    for (int i = 0; i < listed; i++) {
        rt_conv_desc d = conv_shape_desc(conv_bf16_shapes[i]);
        int k = d.kh, p = d.pad_t, N = conv_bf16_shapes[i].N;
        char shape[160];
        snprintf(shape, sizeof shape, "bf16 N=%d C=%d H=%d W=%d K=%d k=%dx%d pad %d", N, d.C, d.H, d.W, d.K, k,
                 k, p);
        size_t nx = (size_t)N * d.C * d.H * d.W, nw = (size_t)d.K * d.C * k * k;
        size_t ny = (size_t)N * d.K * d.OH * d.OW;
        float *x = random_floats(nx, -1, 1), *w = random_floats(nw, -1, 1), *b = random_floats(d.K, -1, 1);
        float *dy = random_floats(ny, -1, 1);
        float *xr = bf16_copy(x, nx), *wr = bf16_copy(w, nw), *dyr = bf16_copy(dy, ny);
        float *work = nan_floats(rt_conv2d_workspace_floats(&d));
        float *y = nan_floats(ny), *y_ref = nan_floats(ny), *y32 = nan_floats(ny);
        float *dx = nan_floats(nx), *dx_ref = nan_floats(nx), *dx32 = nan_floats(nx);
        float *dw = calloc(nw, sizeof(float)), *dw_ref = calloc(nw, sizeof(float)), *dw32 = calloc(nw, sizeof(float));
        float *db = calloc((size_t)d.K, sizeof(float)), *db_ref = calloc((size_t)d.K, sizeof(float));
        float *dwx = calloc(nw, sizeof(float));
        rt_conv2d_forward(y, x, w, b, work, N, &d, RT_BF16);
        rt_conv2d_forward(y32, x, w, b, work, N, &d, RT_FP32);
        rt_conv2d_backward(dx, dw, db, dy, x, w, work, N, &d, 0, RT_BF16);
        rt_conv2d_backward(dx32, dw32, NULL, dy, x, w, work, N, &d, 0, RT_FP32);
        if (have) {
            rt_conv2d_forward_ref(y_ref, xr, wr, b, NULL, N, &d);
            rt_conv2d_backward_ref(dx_ref, dwx, NULL, dyr, x, wr, NULL, N, &d, 0);   /* dx: dy, w */
            rt_conv2d_backward_ref(NULL, dw_ref, db_ref, dyr, xr, w, NULL, N, &d, 0); /* dw: dy, x */
            check("conv2d bf16 forward", shape, err_norm(y, y_ref, ny), &worst);
            check("conv2d bf16 dinp", shape, err_norm(dx, dx_ref, nx), &worst);
            check("conv2d bf16 dweight", shape, err_norm(dw, dw_ref, nw), &worst);
            float change[3] = { err_norm(y, y32, ny), err_norm(dx, dx32, nx), err_norm(dw, dw32, nw) };
            for (int t = 0; t < 3; t++)
                if (change[t] < least_change)
                    least_change = change[t];
        } else {
            check("conv2d bf16 fallback forward", shape, memcmp(y, y32, ny * sizeof(float)) ? 1.0f : 0.0f, &worst);
            check("conv2d bf16 fallback dinp", shape, memcmp(dx, dx32, nx * sizeof(float)) ? 1.0f : 0.0f, &worst);
            check("conv2d bf16 fallback dweight", shape, memcmp(dw, dw32, nw * sizeof(float)) ? 1.0f : 0.0f,
                  &worst);
        }
        free(x); free(w); free(b); free(dy); free(xr); free(wr); free(dyr); free(work); free(y); free(y_ref);
        free(y32); free(dx); free(dx_ref); free(dx32); free(dw); free(dw_ref); free(dw32); free(db); free(db_ref);
        free(dwx);
    }
    if (have && !(least_change > 1e-4f)) {
        failures++;
        printf("FAIL conv2d bf16: a result within %.3g of fp32's: bf16 factors not used\n", least_change);
    }
    report(have ? "conv2d bf16" : "conv2d bf16 (fallback)", listed, worst);
}

static void test_conv2d(void)
{
    float worst = 0.0f;
    int cases = 80, listed = (int)(sizeof conv_wgrad_shapes / sizeof conv_wgrad_shapes[0]);
    for (int it = 0; it < cases; it++) {
        rt_conv_desc d;
        random_conv_desc(&d, it % 5 == 0);
        conv_case(d, randint(1, 3), it % 3 != 0, &worst);
    }
    for (int i = 0; i < listed; i++) {
        conv_case(conv_shape_desc(conv_wgrad_shapes[i]), conv_wgrad_shapes[i].N, i % 2, &worst);
    }
    report("conv2d", cases + listed, worst);

    /* Known answers: x = 1..9 in 3x3, a 2x2 kernel of ones. */
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, bias[1] = {0.5f};
    float y[9];
    rt_conv_desc valid = {1, 3, 3, 1, 2, 2, 1, 0, 0, 0, 0, 2, 2};
    rt_conv2d_forward_ref(y, x, w, bias, NULL, 1, &valid);
    expect("conv2d valid [0]", y[0], 12.5f, 0); expect("conv2d valid [3]", y[3], 28.5f, 0);
    /* 'same' with an even kernel: the extra row and column of zeros at bottom/right. */
    rt_conv_desc same = {1, 3, 3, 1, 2, 2, 1, 0, 0, 1, 1, 3, 3};
    rt_conv2d_forward_ref(y, x, w, NULL, NULL, 1, &same);
    expect("conv2d same [0,2]", y[2], 3 + 6, 0); expect("conv2d same [2,2]", y[8], 9, 0);
    expect("conv2d same [2,0]", y[6], 7 + 8, 0);
}

/* ---- dense ---- */

static void test_dense(void)
{
    float worst = 0.0f;
    int cases = 40;
    for (int it = 0; it < cases; it++) {
        int N = randint(1, 9), C = randint(1, 40), OC = randint(1, 20), has_bias = it % 3 != 0;
        char shape[80];
        snprintf(shape, sizeof shape, "N=%d C=%d OC=%d bias=%d", N, C, OC, has_bias);
        size_t nx = (size_t)N * C, nw = (size_t)OC * C, ny = (size_t)N * OC;
        float *x = random_floats(nx, -1, 1), *w = random_floats(nw, -1, 1);
        float *b = has_bias ? random_floats(OC, -1, 1) : NULL;
        float *y = nan_floats(ny), *y_ref = nan_floats(ny);
        rt_dense_forward(y, x, w, b, N, C, OC);
        rt_dense_forward_ref(y_ref, x, w, b, N, C, OC);
        check("dense forward", shape, err_norm(y, y_ref, ny), &worst);
        float *dy = random_floats(ny, -1, 1);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(nx, accum), *dx_ref = copy_floats(dx, nx);
            float *dw = random_floats(nw, -1, 1), *dw_ref = copy_floats(dw, nw);
            float *db = random_floats(OC, -1, 1), *db_ref = copy_floats(db, OC);
            rt_dense_backward(dx, dw, has_bias ? db : NULL, dy, x, w, N, C, OC, accum);
            rt_dense_backward_ref(dx_ref, dw_ref, has_bias ? db_ref : NULL, dy, x, w, N, C, OC,
                                  accum);
            check("dense backward dinp", shape, err_norm(dx, dx_ref, nx), &worst);
            check("dense backward dweight", shape, err_norm(dw, dw_ref, nw), &worst);
            check("dense backward dbias", shape, err_norm(db, db_ref, OC), &worst);
            memcpy(dw, dw_ref, nw * sizeof(float));
            rt_dense_backward(NULL, dw, NULL, dy, x, w, N, C, OC, accum);
            rt_dense_backward_ref(NULL, dw_ref, NULL, dy, x, w, N, C, OC, accum);
            check("dense backward dinp=NULL", shape, err_norm(dw, dw_ref, nw), &worst);
            free(dx); free(dx_ref); free(dw); free(dw_ref); free(db); free(db_ref);
        }
        free(x); free(w); free(b); free(y); free(y_ref); free(dy);
    }
    report("dense", cases, worst);
}

/* ---- pooling ---- */

static void random_pool_desc(rt_pool_desc *d)
{
    do {
        d->C = randint(1, 3);
        d->H = randint(1, 11);
        d->W = randint(1, 11);
        d->kh = randint(1, 4);
        d->kw = randint(1, 4);
        d->stride = randint(1, 3);
        d->pad = randint(0, 2);
    } while (d->pad > d->kh / 2 || d->pad > d->kw / 2 || d->H + 2 * d->pad < d->kh ||
             d->W + 2 * d->pad < d->kw);
    d->OH = (d->H + 2 * d->pad - d->kh) / d->stride + 1;
    d->OW = (d->W + 2 * d->pad - d->kw) / d->stride + 1;
}

static void test_pooling(void)
{
    float worst_max = 0.0f, worst_avg = 0.0f, worst_global = 0.0f;
    int cases = 60;
    for (int it = 0; it < cases; it++) {
        rt_pool_desc d;
        random_pool_desc(&d);
        if (it % 15 == 0) {  /* rows wider than the 256-output chunks */
            d.W = randint(520, 700);
            d.OW = (d.W + 2 * d.pad - d.kw) / d.stride + 1;
        }
        if (it % 3 == 1) {  /* the 2x2 stride-2 unpadded special case, odd sizes too */
            d.kh = d.kw = d.stride = 2;
            d.pad = 0;
            d.H = randint(2, 11);
            d.W = it % 5 == 0 ? randint(16, 40) : randint(2, 11);
            d.OH = d.H / 2;
            d.OW = d.W / 2;
        }
        int N = randint(1, 3);
        char shape[120];
        snprintf(shape, sizeof shape, "N=%d C=%d H=%d W=%d k=%dx%d stride=%d pad=%d", N, d.C, d.H,
                 d.W, d.kh, d.kw, d.stride, d.pad);
        size_t nx = (size_t)N * d.C * d.H * d.W, ny = (size_t)N * d.C * d.OH * d.OW;
        /* Coarse values so that windows hold ties: the first maximum must win in both. */
        float *x = random_floats(nx, -1, 1);
        for (size_t i = 0; i < nx; i++)
            x[i] = roundf(x[i] * 3.0f);
        /* Special values: -inf must still lose to nothing but padding, NaN must win. */
        if (it % 4 == 1)
            for (size_t i = 0; i < nx; i += 3)
                x[i] = -INFINITY;
        if (it % 4 == 2)
            x[rt_rng_below(&rng, (uint32_t)nx)] = NAN;
        float *y = nan_floats(ny), *y_ref = nan_floats(ny);
        uint8_t *a = xmalloc(ny), *a_ref = xmalloc(ny);
        rt_maxpool2d_forward(y, a, x, N, &d);
        rt_maxpool2d_forward_ref(y_ref, a_ref, x, N, &d);
        check("maxpool2d forward", shape, err_norm(y, y_ref, ny), &worst_max);
        if (memcmp(a, a_ref, ny) != 0) {
            failures++;
            printf("FAIL maxpool2d argmax differs %s\n", shape);
        }
        float *dy = random_floats(ny, -1, 1);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(nx, accum), *dx_ref = copy_floats(dx, nx);
            rt_maxpool2d_backward(dx, dy, a, N, &d, accum);
            rt_maxpool2d_backward_ref(dx_ref, dy, a_ref, N, &d, accum);
            check("maxpool2d backward", shape, err_norm(dx, dx_ref, nx), &worst_max);
            free(dx); free(dx_ref);
        }

        rt_avgpool2d_forward(y, x, N, &d);
        rt_avgpool2d_forward_ref(y_ref, x, N, &d);
        check("avgpool2d forward", shape, err_norm(y, y_ref, ny), &worst_avg);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(nx, accum), *dx_ref = copy_floats(dx, nx);
            rt_avgpool2d_backward(dx, dy, N, &d, accum);
            rt_avgpool2d_backward_ref(dx_ref, dy, N, &d, accum);
            check("avgpool2d backward", shape, err_norm(dx, dx_ref, nx), &worst_avg);
            free(dx); free(dx_ref);
        }

        int HW = randint(1, 600);  /* past the 16-lane blocks */
        size_t ng = (size_t)N * d.C * HW;
        float *g = random_floats(ng, -1, 1), *gy = nan_floats(N * d.C), *gy_ref = nan_floats(N * d.C);
        rt_global_avgpool_forward(gy, g, N, d.C, HW);
        rt_global_avgpool_forward_ref(gy_ref, g, N, d.C, HW);
        /* A mean of terms in [-1, 1] may cancel to nearly 0: scale by their mean size, 0.5. */
        check("global_avgpool forward", shape, err_scaled(gy, gy_ref, N * d.C, 0.5f), &worst_global);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(ng, accum), *dx_ref = copy_floats(dx, ng);
            rt_global_avgpool_backward(dx, dy, N, d.C, HW, accum);
            rt_global_avgpool_backward_ref(dx_ref, dy, N, d.C, HW, accum);
            check("global_avgpool backward", shape, err_norm(dx, dx_ref, ng), &worst_global);
            free(dx); free(dx_ref);
        }
        free(x); free(y); free(y_ref); free(a); free(a_ref); free(dy); free(g); free(gy);
        free(gy_ref);
    }
    report("maxpool2d", cases, worst_max);
    report("avgpool2d", cases, worst_avg);
    report("global_avgpool", cases, worst_global);

    /* Known answers.  Floor mode: H = W = 5, k = 2, stride 2 gives 2x2 (the last row and
     * column are dropped). */
    float x[25], y[9];
    uint8_t a[9];
    for (int i = 0; i < 25; i++)
        x[i] = (float)((i * 7) % 25);  /* a permutation of 0..24 */
    rt_pool_desc floor_mode = {1, 5, 5, 2, 2, 2, 0, 2, 2};
    rt_maxpool2d_forward_ref(y, a, x, 1, &floor_mode);
    /* window (0,0) holds x[0,1,5,6] = 0,7,10,17 -> 17 at index 3 */
    expect("maxpool floor-mode value", y[0], 17, 0); expect("maxpool argmax", a[0], 3, 0);
    /* Padding counts as -inf: all-negative input, pad 1, k 3: the max is a real value. */
    float neg[4] = {-4, -3, -2, -1};
    rt_pool_desc padded = {1, 2, 2, 3, 3, 1, 1, 2, 2};
    rt_maxpool2d_forward_ref(y, a, neg, 1, &padded);
    expect("maxpool padding is -inf", y[0], -1, 0); expect("maxpool padded argmax", a[0], 8, 0);
    /* count_include_pad: a 2x2 of ones, k 3, pad 1, stride 1: each window sees 4 of 9. */
    float ones[4] = {1, 1, 1, 1};
    rt_avgpool2d_forward_ref(y, ones, 1, &padded);
    expect("avgpool count_include_pad", y[0], 4.0f / 9.0f, 1e-7f);
}

/* ---- batchnorm ---- */

static void test_batchnorm(void)
{
    float worst = 0.0f;
    int cases = 40;
    const float momentum = 0.1f, eps = 1e-5f;
    for (int it = 0; it < cases; it++) {
        int N = randint(1, 5), C = randint(1, 6), HW = it % 4 == 0 ? 1 : randint(1, 70);
        if (it % 8 == 0)
            C = randint(257, 600);  /* more channels than one block of the [N,C] case */
        if (N * HW == 1)
            N = 2;
        char shape[80];
        snprintf(shape, sizeof shape, "N=%d C=%d HW=%d", N, C, HW);
        size_t nx = (size_t)N * C * HW;
        /* An offset mean, to exercise the two-pass variance. */
        float *x = random_floats(nx, 2, 5);
        float *gamma = random_floats(C, 0.5f, 1.5f), *beta = random_floats(C, -1, 1);
        float *rm = random_floats(C, -1, 1), *rv = random_floats(C, 0.5f, 2);
        float *rm_ref = copy_floats(rm, C), *rv_ref = copy_floats(rv, C);
        float *y = nan_floats(nx), *y_ref = nan_floats(nx);
        float *mean = nan_floats(C), *mean_ref = nan_floats(C);
        float *invstd = nan_floats(C), *invstd_ref = nan_floats(C);
        rt_batchnorm_forward(y, mean, invstd, rm, rv, x, gamma, beta, N, C, HW, momentum, eps);
        rt_batchnorm_forward_ref(y_ref, mean_ref, invstd_ref, rm_ref, rv_ref, x, gamma, beta, N,
                                 C, HW, momentum, eps);
        check("batchnorm forward", shape, err_norm(y, y_ref, nx), &worst);
        check("batchnorm mean", shape, err_norm(mean, mean_ref, C), &worst);
        check("batchnorm invstd", shape, err_norm(invstd, invstd_ref, C), &worst);
        check("batchnorm running_mean", shape, err_norm(rm, rm_ref, C), &worst);
        check("batchnorm running_var", shape, err_norm(rv, rv_ref, C), &worst);

        rt_batchnorm_forward_eval(y, x, gamma, beta, rm, rv, N, C, HW, eps);
        rt_batchnorm_forward_eval_ref(y_ref, x, gamma, beta, rm, rv, N, C, HW, eps);
        check("batchnorm forward_eval", shape, err_norm(y, y_ref, nx), &worst);

        float *dy = random_floats(nx, -1, 1);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(nx, accum), *dx_ref = copy_floats(dx, nx);
            float *dg = random_floats(C, -1, 1), *dg_ref = copy_floats(dg, C);
            float *db = random_floats(C, -1, 1), *db_ref = copy_floats(db, C);
            rt_batchnorm_backward(dx, dg, db, dy, x, mean_ref, invstd_ref, gamma, N, C, HW, accum);
            rt_batchnorm_backward_ref(dx_ref, dg_ref, db_ref, dy, x, mean_ref, invstd_ref, gamma,
                                      N, C, HW, accum);
            /* dx cancels to ~0 where M = 2 (xhat = +-1 whatever x is): measure the
             * error against the size of the terms, gamma*invstd*dy. */
            float scale = 0.0f;
            for (int c = 0; c < C; c++)
                scale = fmaxf(scale, fabsf(gamma[c] * invstd_ref[c]));
            check("batchnorm backward dinp", shape, err_scaled(dx, dx_ref, nx, scale), &worst);
            /* dgamma and dbeta are sums of M = N*HW terms of size ~1 that may cancel:
             * measure against sqrt(M), the typical size of such a sum. */
            float sum_scale = sqrtf((float)(N * HW));
            check("batchnorm backward dgamma", shape, err_scaled(dg, dg_ref, C, sum_scale), &worst);
            check("batchnorm backward dbeta", shape, err_scaled(db, db_ref, C, sum_scale), &worst);
            free(dx); free(dx_ref); free(dg); free(dg_ref); free(db); free(db_ref);
        }
        free(x); free(gamma); free(beta); free(rm); free(rv); free(rm_ref); free(rv_ref);
        free(y); free(y_ref); free(mean); free(mean_ref); free(invstd); free(invstd_ref); free(dy);
    }
    report("batchnorm", cases, worst);

    /* Known answer: one channel of 1, 2, 3, 4: mean 2.5, biased var 1.25 (normalises),
     * unbiased var 5/3 (goes into running_var). */
    float x[4] = {1, 2, 3, 4}, y[4], mean, invstd, rm = 0, rv = 1, gamma = 1, beta = 0;
    rt_batchnorm_forward_ref(y, &mean, &invstd, &rm, &rv, x, &gamma, &beta, 4, 1, 1, 0.1f, 0);
    expect("batchnorm mean", mean, 2.5f, 1e-7f);
    expect("batchnorm invstd", invstd, 1.0f / sqrtf(1.25f), 1e-6f);
    expect("batchnorm running_mean", rm, 0.25f, 1e-7f);
    expect("batchnorm running_var (unbiased)", rv, 0.9f + 0.1f * 5.0f / 3.0f, 1e-6f);
    expect("batchnorm y[0]", y[0], -1.5f / sqrtf(1.25f), 1e-6f);
}

/* ---- dropout ---- */

static void test_dropout(void)
{
    float worst = 0.0f;
    int cases = 30;
    for (int it = 0; it < cases; it++) {
        /* a long mask too (the vector draws take whole words), and p = 0.5, whose
         * p * 2^24 is whole: a uniform equal to it is kept */
        size_t n = it == 3 ? 20000 : (size_t)randint(1, 300);
        int N = randint(1, 4), C = randint(1, 40), HW = randint(1, 9);
        float p = it == 0 ? 0.0f : it == 1 ? 1.0f : it == 2 ? 0.5f : uniform(0.05f, 0.9f);
        char shape[80];
        snprintf(shape, sizeof shape, "n=%zu N=%d C=%d HW=%d p=%.3f", n, N, C, HW, p);
        float *x = random_floats(n, -1, 1), *y = nan_floats(n), *y_ref = nan_floats(n);
        size_t words = rt_dropout_mask_words(n);
        uint32_t *mask = xmalloc(words * 4), *mask_ref = xmalloc(words * 4);
        rt_rng start = rng;
        rt_rng r1 = rng, r2 = rng;
        rt_dropout_forward(y, mask, x, &r1, p, n);
        rt_dropout_forward_ref(y_ref, mask_ref, x, &r2, p, n);
        check("dropout forward", shape, err_norm(y, y_ref, n), &worst);
        if (memcmp(mask, mask_ref, words * 4) != 0 || r1.state != r2.state) {
            failures++;
            printf("FAIL dropout mask or rng state differs %s\n", shape);
        }
        float *dy = random_floats(n, -1, 1);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(n, accum), *dx_ref = copy_floats(dx, n);
            rt_dropout_backward(dx, dy, mask, p, n, accum);
            rt_dropout_backward_ref(dx_ref, dy, mask_ref, p, n, accum);
            check("dropout backward", shape, err_norm(dx, dx_ref, n), &worst);
            free(dx); free(dx_ref);
        }
        /* In place. */
        memcpy(y, x, n * sizeof(float));
        r1 = start;
        rt_dropout_forward(y, mask, y, &r1, p, n);
        check("dropout forward in place", shape, err_norm(y, y_ref, n), &worst);
        free(x); free(y); free(y_ref); free(mask); free(mask_ref); free(dy);

        size_t nx = (size_t)N * C * HW, nc_words = rt_dropout_mask_words((size_t)N * C);
        x = random_floats(nx, -1, 1); y = nan_floats(nx); y_ref = nan_floats(nx);
        mask = xmalloc(nc_words * 4); mask_ref = xmalloc(nc_words * 4);
        r1 = rng; r2 = rng;
        rt_dropout2d_forward(y, mask, x, &r1, p, N, C, HW);
        rt_dropout2d_forward_ref(y_ref, mask_ref, x, &r2, p, N, C, HW);
        check("dropout2d forward", shape, err_norm(y, y_ref, nx), &worst);
        if (memcmp(mask, mask_ref, nc_words * 4) != 0) {
            failures++;
            printf("FAIL dropout2d mask differs %s\n", shape);
        }
        dy = random_floats(nx, -1, 1);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(nx, accum), *dx_ref = copy_floats(dx, nx);
            rt_dropout2d_backward(dx, dy, mask, p, N, C, HW, accum);
            rt_dropout2d_backward_ref(dx_ref, dy, mask_ref, p, N, C, HW, accum);
            check("dropout2d backward", shape, err_norm(dx, dx_ref, nx), &worst);
            free(dx); free(dx_ref);
        }
        free(x); free(y); free(y_ref); free(mask); free(mask_ref); free(dy);
        rt_rng_u32(&rng);
    }
    report("dropout, dropout2d", cases, worst);

    /* Statistics: the kept fraction is 1 - p and kept values are scaled by 1/(1 - p). */
    size_t n = 200000;
    float p = 0.3f;
    float *x = xmalloc(n * sizeof(float)), *y = xmalloc(n * sizeof(float));
    uint32_t *mask = xmalloc(rt_dropout_mask_words(n) * 4);
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f;
    rt_dropout_forward(y, mask, x, &rng, p, n);
    size_t kept = 0, wrong = 0;
    for (size_t i = 0; i < n; i++) {
        int bit = (mask[i / 32] >> (i % 32)) & 1;
        kept += (size_t)bit;
        wrong += bit ? fabsf(y[i] - 1.0f / 0.7f) > 1e-6f : y[i] != 0.0f;
    }
    expect("dropout kept fraction", (float)kept / (float)n, 0.7f, 0.005f);
    expect("dropout values agreeing with the mask", (float)(n - wrong), (float)n, 0);
    free(x); free(y); free(mask);
}

/* ---- activations ---- */

/* relu, sigmoid and tanh take no parameter; these adapt them to the shape of
 * leaky_relu/elu so one test drives all five. */
static void relu_fwd(float *o, const float *x, float a, size_t n) { (void)a; rt_relu_forward(o, x, n); }
static void relu_fwd_ref(float *o, const float *x, float a, size_t n) { (void)a; rt_relu_forward_ref(o, x, n); }
static void relu_bwd(float *dx, const float *dy, const float *y, float a, size_t n, int acc) { (void)a; rt_relu_backward(dx, dy, y, n, acc); }
static void relu_bwd_ref(float *dx, const float *dy, const float *y, float a, size_t n, int acc) { (void)a; rt_relu_backward_ref(dx, dy, y, n, acc); }
static void sigmoid_fwd(float *o, const float *x, float a, size_t n) { (void)a; rt_sigmoid_forward(o, x, n); }
static void sigmoid_fwd_ref(float *o, const float *x, float a, size_t n) { (void)a; rt_sigmoid_forward_ref(o, x, n); }
static void sigmoid_bwd(float *dx, const float *dy, const float *y, float a, size_t n, int acc) { (void)a; rt_sigmoid_backward(dx, dy, y, n, acc); }
static void sigmoid_bwd_ref(float *dx, const float *dy, const float *y, float a, size_t n, int acc) { (void)a; rt_sigmoid_backward_ref(dx, dy, y, n, acc); }
static void tanh_fwd(float *o, const float *x, float a, size_t n) { (void)a; rt_tanh_forward(o, x, n); }
static void tanh_fwd_ref(float *o, const float *x, float a, size_t n) { (void)a; rt_tanh_forward_ref(o, x, n); }
static void tanh_bwd(float *dx, const float *dy, const float *y, float a, size_t n, int acc) { (void)a; rt_tanh_backward(dx, dy, y, n, acc); }
static void tanh_bwd_ref(float *dx, const float *dy, const float *y, float a, size_t n, int acc) { (void)a; rt_tanh_backward_ref(dx, dy, y, n, acc); }

typedef void (*act_forward)(float *out, const float *inp, float param, size_t n);
typedef void (*act_backward)(float *dinp, const float *dout, const float *saved, float param,
                             size_t n, int accum);

/* Runs one activation, fast against reference: forward, forward in place, backward with
 * accum 0 and 1, backward in place.  saved_is_input: the backward reads the forward
 * input (leaky_relu) instead of its output.  Inputs mix random values in [-range, range]
 * with the exp/tanh edge cases. */
static void test_activation(const char *name, act_forward fwd, act_forward fwd_ref,
                            act_backward bwd, act_backward bwd_ref, float param,
                            int saved_is_input)
{
    static const float edges[] = {-100, -88, -87.5f, -30, -9, -1, -0.625f, -0.6f, -0.35f, -0.3f,
                                  -1e-3f, -1e-6f, 0, 1e-6f, 1e-3f, 0.3f, 0.35f, 0.6f, 0.625f, 1,
                                  9, 30, 44, 87.5f, 88, 100};
    static const size_t sizes[] = {1, 7, 16, 33, 1000, 4099};
    float worst = 0.0f;
    int cases = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++, cases++) {
        size_t n = sizes[s];
        char shape[40];
        snprintf(shape, sizeof shape, "n=%zu", n);
        float *x = random_floats(n, -6, 6);
        for (size_t i = 0; i < n && i < sizeof edges / sizeof *edges; i++)
            x[i * 7 % n] = edges[i];
        float *y = nan_floats(n), *y_ref = nan_floats(n);
        fwd(y, x, param, n);
        fwd_ref(y_ref, x, param, n);
        check(name, shape, err_elem(y, y_ref, n), &worst);
        float *y_in_place = copy_floats(x, n);
        fwd(y_in_place, y_in_place, param, n);
        check(name, shape, err_elem(y_in_place, y, n), &worst);

        const float *saved = saved_is_input ? x : y_ref;
        float *dy = random_floats(n, -1, 1);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(n, accum), *dx_ref = copy_floats(dx, n);
            bwd(dx, dy, saved, param, n, accum);
            bwd_ref(dx_ref, dy, saved, param, n, accum);
            check(name, shape, err_norm(dx, dx_ref, n), &worst);
            if (accum == 0) {
                float *dx_in_place = copy_floats(dy, n);
                bwd(dx_in_place, dx_in_place, saved, param, n, 0);
                check(name, shape, err_norm(dx_in_place, dx_ref, n), &worst);
                free(dx_in_place);
            }
            free(dx); free(dx_ref);
        }
        free(x); free(y); free(y_ref); free(y_in_place); free(dy);
    }
    report(name, cases, worst);
}

/* Every float in [-90, 90] at a step of 1/64 plus a small offset: the exp-based
 * kernels element by element. */
static void test_exp_sweep(void)
{
    size_t n = 180 * 64 + 1;
    float *x = xmalloc(n * sizeof(float)), *y = xmalloc(n * sizeof(float));
    float *y_ref = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = -90.0f + (float)i / 64.0f + 0.00390625f * (float)(i % 3);
    float worst = 0.0f;
    rt_sigmoid_forward(y, x, n); rt_sigmoid_forward_ref(y_ref, x, n);
    check("sigmoid sweep", "[-90,90]", err_elem(y, y_ref, n), &worst);
    rt_tanh_forward(y, x, n); rt_tanh_forward_ref(y_ref, x, n);
    check("tanh sweep", "[-90,90]", err_elem(y, y_ref, n), &worst);
    rt_elu_forward(y, x, 1.0f, n); rt_elu_forward_ref(y_ref, x, 1.0f, n);
    check("elu sweep", "[-90,90]", err_elem(y, y_ref, n), &worst);
    report("exp-based sweep", 3, worst);
    free(x); free(y); free(y_ref);
}

/* A NaN logit through the exp-based kernels gives NaN probabilities and a NaN loss
 * (which the trainer reports), with no undefined behaviour on the way: exp_fast once
 * shifted a signed overflowing exponent there, which the sanitized twin of this test
 * (build-san/tests/test_kernels, UBSan) aborted on. */
static void test_exp_nan(void)
{
    float z[3] = { 0.5f, NAN, -1.0f }, p[3], y[3];
    int32_t label = 0;
    float loss = rt_softmax_xent_forward(p, z, &label, 1, 3);
    rt_sigmoid_forward(y, z, 3);
    int ok = isnan(loss) && isnan(p[0]) && isnan(y[1]) && !isnan(y[0]);
    if (!ok) {
        printf("FAIL exp-based kernels on a NaN logit: loss %g, p[0] %g, sigmoid %g %g\n", (double)loss, (double)p[0],
               (double)y[0], (double)y[1]);
        failures++;
    } else {
        printf("  ok: a NaN logit gives a NaN loss and NaN probabilities, sigmoid(NaN) = NaN\n");
    }
}

/* ---- shape ops ---- */

static void test_shape_ops(void)
{
    float worst = 0.0f;
    int cases = 30;
    for (int it = 0; it < cases; it++) {
        int N = randint(1, 3), C = randint(1, 4), H = randint(1, 7), W = randint(1, 7);
        int p = randint(0, 3);
        char shape[80];
        snprintf(shape, sizeof shape, "N=%d C=%d H=%d W=%d p=%d", N, C, H, W, p);
        size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * (H + 2 * p) * (W + 2 * p);
        float *x = random_floats(nx, -1, 1), *y = nan_floats(ny), *y_ref = nan_floats(ny);
        rt_pad2d_forward(y, x, N, C, H, W, p);
        rt_pad2d_forward_ref(y_ref, x, N, C, H, W, p);
        check("pad2d forward", shape, err_norm(y, y_ref, ny), &worst);
        float *dy = random_floats(ny, -1, 1);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(nx, accum), *dx_ref = copy_floats(dx, nx);
            rt_pad2d_backward(dx, dy, N, C, H, W, p, accum);
            rt_pad2d_backward_ref(dx_ref, dy, N, C, H, W, p, accum);
            check("pad2d backward", shape, err_norm(dx, dx_ref, nx), &worst);
            free(dx); free(dx_ref);
        }
        free(x); free(y); free(y_ref); free(dy);

        /* concat of 1..4 inputs */
        int n_inp = randint(1, 4), HW = H * W, C_out = 0, channels[4];
        const float *inps[4];
        float *bufs[4];
        for (int t = 0; t < n_inp; t++) {
            channels[t] = randint(1, 4);
            bufs[t] = random_floats((size_t)N * channels[t] * HW, -1, 1);
            inps[t] = bufs[t];
            C_out += channels[t];
        }
        size_t nc = (size_t)N * C_out * HW;
        y = nan_floats(nc); y_ref = nan_floats(nc);
        rt_concat_forward(y, inps, channels, n_inp, N, HW);
        rt_concat_forward_ref(y_ref, inps, channels, n_inp, N, HW);
        check("concat forward", shape, err_norm(y, y_ref, nc), &worst);
        dy = random_floats(nc, -1, 1);
        int c_offset = 0;
        for (int t = 0; t < n_inp; t++) {
            size_t nt = (size_t)N * channels[t] * HW;
            for (int accum = 0; accum <= 1; accum++) {
                float *dx = grad_buffer(nt, accum), *dx_ref = copy_floats(dx, nt);
                rt_concat_backward(dx, dy, N, C_out, c_offset, channels[t], HW, accum);
                rt_concat_backward_ref(dx_ref, dy, N, C_out, c_offset, channels[t], HW, accum);
                check("concat backward", shape, err_norm(dx, dx_ref, nt), &worst);
                free(dx); free(dx_ref);
            }
            c_offset += channels[t];
        }
        free(y); free(y_ref); free(dy);
        for (int t = 0; t < n_inp; t++)
            free(bufs[t]);

        /* add of 1..4 inputs, long enough for several 512-float blocks; then with the
         * output aliasing the last input. */
        size_t n = (size_t)randint(1, 2000);
        for (int t = 0; t < n_inp; t++) {
            bufs[t] = random_floats(n, -1, 1);
            inps[t] = bufs[t];
        }
        y = nan_floats(n); y_ref = nan_floats(n);
        rt_add_forward(y, inps, n_inp, n);
        rt_add_forward_ref(y_ref, inps, n_inp, n);
        check("add forward", shape, err_norm(y, y_ref, n), &worst);
        rt_add_forward(bufs[n_inp - 1], inps, n_inp, n);
        check("add forward aliased", shape, err_norm(bufs[n_inp - 1], y_ref, n), &worst);
        dy = random_floats(n, -1, 1);
        for (int accum = 0; accum <= 1; accum++) {
            float *dx = grad_buffer(n, accum), *dx_ref = copy_floats(dx, n);
            rt_add_backward(dx, dy, n, accum);
            rt_add_backward_ref(dx_ref, dy, n, accum);
            check("add backward", shape, err_norm(dx, dx_ref, n), &worst);
            free(dx); free(dx_ref);
        }
        float *dx_in_place = copy_floats(dy, n);
        rt_add_backward(dx_in_place, dx_in_place, n, 0);
        check("add backward in place", shape, err_norm(dx_in_place, dy, n), &worst);
        free(dx_in_place); free(y); free(y_ref); free(dy);
        for (int t = 0; t < n_inp; t++)
            free(bufs[t]);
    }
    report("pad2d, concat, add", cases, worst);
}

/* ---- softmax and losses ---- */

static void test_softmax_losses(void)
{
    float worst = 0.0f;
    int cases = 30;
    for (int it = 0; it < cases; it++) {
        int N = randint(1, 9), K = randint(1, 40);
        char shape[40];
        snprintf(shape, sizeof shape, "N=%d K=%d", N, K);
        size_t nk = (size_t)N * K;
        /* Large logits: the max subtraction must keep this finite. */
        float *z = random_floats(nk, -30, 30);
        if (it % 2)
            for (size_t i = 0; i < nk; i++)
                z[i] += 1000.0f;
        float *p = nan_floats(nk), *p_ref = nan_floats(nk);
        rt_softmax_forward(p, z, N, K);
        rt_softmax_forward_ref(p_ref, z, N, K);
        check("softmax forward", shape, err_elem(p, p_ref, nk), &worst);

        int32_t *labels = xmalloc((size_t)N * sizeof(int32_t));
        for (int n = 0; n < N; n++)
            labels[n] = randint(0, K - 1);
        float loss = rt_softmax_xent_forward(p, z, labels, N, K);
        float loss_ref = rt_softmax_xent_forward_ref(p_ref, z, labels, N, K);
        check("softmax_xent forward probs", shape, err_elem(p, p_ref, nk), &worst);
        check("softmax_xent forward loss", shape, err_scalar(loss, loss_ref), &worst);
        if (!isfinite(loss)) {
            failures++;
            printf("FAIL softmax_xent loss not finite %s\n", shape);
        }
        for (int accum = 0; accum <= 1; accum++) {
            float *g = grad_buffer(nk, accum), *g_ref = copy_floats(g, nk);
            rt_softmax_xent_backward(g, p_ref, labels, N, K, accum);
            rt_softmax_xent_backward_ref(g_ref, p_ref, labels, N, K, accum);
            check("softmax_xent backward", shape, err_norm(g, g_ref, nk), &worst);
            free(g); free(g_ref);
        }

        float *t = random_floats(nk, 0, 1);
        for (int n = 0; n < N; n++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++)
                s += t[(size_t)n * K + k];
            for (int k = 0; k < K; k++)
                t[(size_t)n * K + k] /= s;
        }
        loss = rt_softmax_xent_soft_forward(p, z, t, N, K);
        loss_ref = rt_softmax_xent_soft_forward_ref(p_ref, z, t, N, K);
        check("softmax_xent_soft forward loss", shape, err_scalar(loss, loss_ref), &worst);
        for (int accum = 0; accum <= 1; accum++) {
            float *g = grad_buffer(nk, accum), *g_ref = copy_floats(g, nk);
            rt_softmax_xent_soft_backward(g, p_ref, t, N, K, accum);
            rt_softmax_xent_soft_backward_ref(g_ref, p_ref, t, N, K, accum);
            check("softmax_xent_soft backward", shape, err_norm(g, g_ref, nk), &worst);
            free(g); free(g_ref);
        }
        free(z); free(p); free(p_ref); free(labels); free(t);
    }
    report("softmax, losses", cases, worst);

    /* Known answers: two equal logits: loss ln 2, gradient (0.5 - 1)/N at the label. */
    float z[4] = {0, 0, 5, 5}, p[4], g[4];
    int32_t labels[2] = {0, 1};
    expect("xent loss", rt_softmax_xent_forward(p, z, labels, 2, 2), logf(2.0f), 1e-6f);
    expect("xent loss ref", rt_softmax_xent_forward_ref(p, z, labels, 2, 2), logf(2.0f), 1e-6f);
    rt_softmax_xent_backward(g, p, labels, 2, 2, 0);
    expect("xent dlogits", g[0], -0.25f, 1e-7f); expect("xent dlogits", g[1], 0.25f, 1e-7f);
    int32_t bad[2] = {0, 2};
    if (!isnan(rt_softmax_xent_forward(p, z, bad, 2, 2)) ||
        !isnan(rt_softmax_xent_forward_ref(p, z, bad, 2, 2))) {
        failures++;
        printf("FAIL xent with a label out of range did not return NaN\n");
    }
}

/* ---- optimizers ---- */

static void test_optimizers(void)
{
    float worst = 0.0f;
    int cases = 0;
    size_t n = 1003;
    for (int variant = 0; variant < 8; variant++, cases++) {
        float momentum = variant & 1 ? 0.9f : 0.0f, dampening = variant & 2 ? 0.1f : 0.0f;
        float wd = variant & 4 ? 1e-2f : 0.0f;
        int nesterov = variant == 5;
        char shape[80];
        snprintf(shape, sizeof shape, "momentum=%g dampening=%g wd=%g nesterov=%d", momentum,
                 dampening, wd, nesterov);
        float *p = random_floats(n, -1, 1), *p_ref = copy_floats(p, n);
        float *buf = nan_floats(n), *buf_ref = nan_floats(n);
        float *m = xmalloc(n * 4), *m_ref = xmalloc(n * 4), *v = xmalloc(n * 4), *v_ref = xmalloc(n * 4);
        memset(m, 0, n * 4); memset(m_ref, 0, n * 4); memset(v, 0, n * 4); memset(v_ref, 0, n * 4);
        for (int t = 1; t <= 5; t++) {
            float *g = random_floats(n, -1, 1);
            rt_sgd_update(p, buf, g, n, 0.1f, momentum, dampening, wd, nesterov, t);
            rt_sgd_update_ref(p_ref, momentum != 0.0f ? buf_ref : NULL, g, n, 0.1f, momentum,
                              dampening, wd, nesterov, t);
            free(g);
        }
        check("sgd", shape, err_norm(p, p_ref, n), &worst);
        float *q = random_floats(n, -1, 1), *q_ref = copy_floats(q, n);
        for (int t = 1; t <= 5; t++) {
            float *g = random_floats(n, -1, 1);
            if (variant & 1) {
                rt_adamw_update(q, m, v, g, n, 1e-2f, 0.9f, 0.999f, 1e-8f, wd, t);
                rt_adamw_update_ref(q_ref, m_ref, v_ref, g, n, 1e-2f, 0.9f, 0.999f, 1e-8f, wd, t);
            } else {
                rt_adam_update(q, m, v, g, n, 1e-2f, 0.9f, 0.999f, 1e-8f, wd, t);
                rt_adam_update_ref(q_ref, m_ref, v_ref, g, n, 1e-2f, 0.9f, 0.999f, 1e-8f, wd, t);
            }
            free(g);
        }
        check(variant & 1 ? "adamw" : "adam", shape, err_norm(q, q_ref, n), &worst);
        free(p); free(p_ref); free(buf); free(buf_ref); free(m); free(m_ref); free(v);
        free(v_ref); free(q); free(q_ref);
    }
    report("sgd, adam, adamw", cases, worst);

    /* Known answers, worked by hand from torch.optim's update rules, for both versions.
     * SGD momentum 0.9, lr 0.1, p = 1, grads 1 then 1: buf 1 then 1.9; p 0.9 then 0.71.
     * Nesterov: steps g + 0.9*buf = 1.9 then 2.71; p 0.81 then 0.539.
     * Weight decay 0.5 without momentum: g = 1 + 0.5*1 = 1.5, p = 0.85. */
    for (int fast = 0; fast <= 1; fast++) {
        void (*sgd)(float *, float *, const float *, size_t, float, float, float, float, int,
                    int) = fast ? rt_sgd_update : rt_sgd_update_ref;
        float p = 1, buf = 0, g = 1;
        sgd(&p, &buf, &g, 1, 0.1f, 0.9f, 0, 0, 0, 1); sgd(&p, &buf, &g, 1, 0.1f, 0.9f, 0, 0, 0, 2);
        expect("sgd momentum", p, 0.71f, 1e-6f);
        p = 1; buf = 0;
        sgd(&p, &buf, &g, 1, 0.1f, 0.9f, 0, 0, 1, 1); sgd(&p, &buf, &g, 1, 0.1f, 0.9f, 0, 0, 1, 2);
        expect("sgd nesterov", p, 0.539f, 1e-6f);
        p = 1;
        sgd(&p, NULL, &g, 1, 0.1f, 0, 0, 0.5f, 0, 1);
        expect("sgd weight decay", p, 0.85f, 1e-6f);
        /* Adam, first step: m_hat = g, v_hat = g^2, so p -= lr*g/(|g| + eps).
         * With L2 0.5 on p = 1, g = 0.5: g' = 1, p = 1 - 0.1 = 0.9 (up to eps).
         * AdamW with decay 0.5, lr 0.1: p = 1*(1 - 0.05) = 0.95, then - 0.1 -> 0.85. */
        void (*adam)(float *, float *, float *, const float *, size_t, float, float, float, float,
                     float, int) = fast ? rt_adam_update : rt_adam_update_ref;
        void (*adamw)(float *, float *, float *, const float *, size_t, float, float, float,
                      float, float, int) = fast ? rt_adamw_update : rt_adamw_update_ref;
        float m = 0, v = 0;
        p = 1; g = 0.5f;
        adam(&p, &m, &v, &g, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
        expect("adam first step", p, 0.9f, 1e-6f);
        /* Second step with the same g' = 0.5 + 0.5*0.9 = 0.95: m = 0.09 + 0.095 = 0.185,
         * v = 0.000999 + 0.001*0.9025 = 0.0019015, m_hat = 0.185/0.19,
         * v_hat = 0.0019015/0.001999. */
        adam(&p, &m, &v, &g, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 2);
        double m_hat = 0.185 / 0.19, v_hat = 0.0019015 / 0.001999;
        expect("adam second step", p, (float)(0.9 - 0.1 * m_hat / (sqrt(v_hat) + 1e-8)), 1e-6f);
        m = 0; v = 0; p = 1;
        adamw(&p, &m, &v, &g, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
        expect("adamw first step", p, 0.85f, 1e-6f);
    }
}

/* ---- regularisers ---- */

typedef float (*penalty_fn)(float *grad, const float *w, size_t n, float lambda);

/* One penalty kernel against its reference on random sizes (across CHUNK = 4096 and
 * the 16 lanes), with zeros among the weights (l1's subgradient is 0 there), the
 * gradient added into random values, and without a gradient. */
static void test_penalty(const char *name, penalty_fn fast, penalty_fn ref)
{
    static const size_t sizes[] = { 1, 15, 16, 17, 1003, 4096, 4097, 20000 };
    float worst = 0.0f;
    int cases = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++, cases++) {
        size_t n = sizes[k];
        char shape[48];
        snprintf(shape, sizeof shape, "[%zu]", n);
        float *w = random_floats(n, -1, 1);
        for (size_t i = 0; i < n; i += 7)
            w[i] = 0.0f;
        float *g = random_floats(n, -1, 1), *g_ref = copy_floats(g, n);
        float lambda = uniform(1e-4f, 0.5f);
        float loss = fast(g, w, n, lambda), loss_ref = ref(g_ref, w, n, lambda);
        check(name, shape, fabsf(loss - loss_ref) / fmaxf(loss_ref, 1e-20f), &worst);   /* relative */
        check(name, shape, err_norm(g, g_ref, n), &worst);
        check(name, shape, err_scalar(fast(NULL, w, n, lambda), loss), &worst);
        free(w); free(g); free(g_ref);
    }
    report(name, cases, worst);
}

static void test_penalties(void)
{
    test_penalty("l2_penalty", rt_l2_penalty, rt_l2_penalty_ref);
    test_penalty("l1_penalty", rt_l1_penalty, rt_l1_penalty_ref);
    /* Known answers, worked by hand (Keras's L2 and L1: no 1/2), for both versions:
     * w = [1, -2, 0, 3], lambda = 0.5.  l2: 0.5 * (1 + 4 + 0 + 9) = 7, gradient
     * 2 * 0.5 * w = w; l1: 0.5 * 6 = 3, gradient 0.5 * sign(w) = [0.5, -0.5, 0, 0.5];
     * both added into a gradient holding 1 everywhere. */
    for (int fast = 0; fast <= 1; fast++) {
        const float w[4] = { 1, -2, 0, 3 };
        const float want_l2[4] = { 2, -1, 1, 4 }, want_l1[4] = { 1.5f, 0.5f, 1, 1.5f };
        float g2[4] = { 1, 1, 1, 1 }, g1[4] = { 1, 1, 1, 1 };
        expect("l2 penalty", (fast ? rt_l2_penalty : rt_l2_penalty_ref)(g2, w, 4, 0.5f), 7, 1e-6f);
        expect("l1 penalty", (fast ? rt_l1_penalty : rt_l1_penalty_ref)(g1, w, 4, 0.5f), 3, 1e-6f);
        for (int i = 0; i < 4; i++) {
            expect("l2 penalty gradient", g2[i], want_l2[i], 0);
            expect("l1 penalty gradient", g1[i], want_l1[i], 0);
        }
    }
}

/* ---- initialisation ---- */

static void test_init(void)
{
    rt_conv_desc d = {16, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 8, 8};
    size_t nw = (size_t)32 * 16 * 9;
    float *w = nan_floats(nw), b[32];
    rt_init_conv2d(w, b, &rng, &d);
    float bound = 1.0f / sqrtf(16 * 9), lo = 1, hi = -1;
    double sum = 0, sumsq = 0;
    for (size_t i = 0; i < nw; i++) {
        lo = fminf(lo, w[i]);
        hi = fmaxf(hi, w[i]);
        sum += w[i];
        sumsq += (double)w[i] * w[i];
    }
    for (int i = 0; i < 32; i++) {
        lo = fminf(lo, b[i]);
        hi = fmaxf(hi, b[i]);
    }
    expect("conv init lower bound", lo < -bound ? 1.0f : 0.0f, 0, 0);
    expect("conv init upper bound", hi >= bound ? 1.0f : 0.0f, 0, 0);
    expect("conv init spread", hi - lo, 2 * bound, 0.01f);
    expect("conv init mean", (float)(sum / nw), 0, 0.1f * bound);
    expect("conv init variance", (float)(sumsq / nw), bound * bound / 3, 0.1f * bound * bound / 3);
    free(w);
    float dw[12], db[3];
    rt_init_dense(dw, db, &rng, 4, 3);
    for (int i = 0; i < 12; i++)
        expect("dense init bound", fabsf(dw[i]) < 0.5f ? 1.0f : 0.0f, 1, 0);
    float gamma[3], beta[3], rm[3], rv[3];
    rt_init_batchnorm(gamma, beta, rm, rv, 3);
    expect("bn init", gamma[2] + 2 * beta[2] + 4 * rm[2] + 8 * rv[2], 1 + 8, 0);
    printf("%-22s   3 cases  bounds and moments       %s\n", "init", "checked");
}

int main(void)
{
    rt_rng_seed(&rng, 12345, 1);
    test_conv2d();
    test_conv2d_bf16();
    test_dense();
    test_pooling();
    test_batchnorm();
    test_dropout();
    test_activation("relu", relu_fwd, relu_fwd_ref, relu_bwd, relu_bwd_ref, 0, 0);
    test_activation("leaky_relu", rt_leaky_relu_forward, rt_leaky_relu_forward_ref,
                    rt_leaky_relu_backward, rt_leaky_relu_backward_ref, 0.01f, 1);
    test_activation("elu", rt_elu_forward, rt_elu_forward_ref, rt_elu_backward,
                    rt_elu_backward_ref, 1.3f, 0);
    test_activation("sigmoid", sigmoid_fwd, sigmoid_fwd_ref, sigmoid_bwd, sigmoid_bwd_ref, 0, 0);
    test_activation("tanh", tanh_fwd, tanh_fwd_ref, tanh_bwd, tanh_bwd_ref, 0, 0);
    test_exp_sweep();
    test_exp_nan();
    test_shape_ops();
    test_softmax_losses();
    test_optimizers();
    test_penalties();
    test_init();
    if (failures) {
        printf("test_kernels: %d check(s) FAILED\n", failures);
        return 1;
    }
    printf("test_kernels: all fast kernels match their references\n");
    return 0;
}
