/* Finite-difference gradient check of every backward kernel, loss and penalty, for both the
 * reference kernels and the fast ones.
 *
 * For a kernel with output y, the objective is L = sum_i y_i * r_i with r fixed
 * random weights (for a loss, L is the loss itself), summed in double.  The analytic
 * gradient is the backward kernel run with dout = r; the numeric one, for each element
 * v of each input and parameter, is the central difference
 *     (L(v + h) - L(v - h)) / ((v + h) - (v - h))    with h = EPS = 1e-2,
 * dividing by the step as actually represented in float.  Only the outputs that
 * depend on v change between the two evaluations, so float rounding stays small;
 * EPS = 1e-2 balances that rounding (about 1e-7 * |L_affected| / EPS) against the
 * truncation error of smooth kernels (about EPS^2/6 * |L'''|).
 * The error for one tensor is max|analytic - numeric| / max(max|numeric|, 1e-3); it
 * must stay under TOL = 1e-3; the errors measured are 1e-4 at most, and a wrong
 * term in a backward kernel gives errors of order 1.
 * Inputs keep away from kinks: relu-like inputs have |x| >= 0.1, and each max-pool
 * window holds distinct values at least 0.1 apart, so no perturbation of 1e-2 moves
 * an argmax.  Dropout draws its mask from the same rng state at every evaluation.
 * On a mismatch the program prints the kernel, the tensor and the max error, and exits 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netc_rt.h"

#define EPS 1e-2f
#define TOL 1e-3f

static rt_rng rng;
static int failures;

/* ---- helpers ---- */

static float uniform(float lo, float hi)
{
    return lo + (hi - lo) * rt_rng_uniform(&rng);
}

static float *alloc_floats(size_t n)
{
    float *x = calloc(n ? n : 1, sizeof(float));
    if (!x) {
        fprintf(stderr, "test_gradcheck: out of memory\n");
        exit(1);
    }
    return x;
}

static float *random_floats(size_t n, float lo, float hi)
{
    float *x = alloc_floats(n);
    for (size_t i = 0; i < n; i++)
        x[i] = uniform(lo, hi);
    return x;
}

/* Values in [-range, range] at least 0.1 from zero (away from relu/elu kinks). */
static float *random_off_zero(size_t n, float range)
{
    float *x = random_floats(n, -range, range);
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) < 0.1f)
            x[i] += x[i] < 0 ? -0.1f : 0.1f;
    return x;
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

typedef double (*objective_fn)(void *ctx);

/* Central differences of f with respect to each element of x [n], against analytic [n].
 * Returns max|analytic - numeric| / max(max|numeric|, 1e-3). */
static float fd_error(objective_fn f, void *ctx, float *x, const float *analytic, size_t n)
{
    double max_diff = 0.0, max_num = 1e-3;
    for (size_t i = 0; i < n; i++) {
        float saved = x[i];
        float up = saved + EPS, down = saved - EPS;
        x[i] = up;
        double f_up = f(ctx);
        x[i] = down;
        double f_down = f(ctx);
        x[i] = saved;
        double numeric = (f_up - f_down) / ((double)up - (double)down);
        double diff = fabs(numeric - analytic[i]);
        if (isnan(diff))
            return INFINITY;
        if (diff > max_diff)
            max_diff = diff;
        if (fabs(numeric) > max_num)
            max_num = fabs(numeric);
    }
    return (float)(max_diff / max_num);
}

/* Prints and records one tensor's result. */
static void report(const char *kernel, int fast, const char *tensor, float err)
{
    int ok = err <= TOL;
    printf("%-24s %-4s %-7s max error %.2e  (tol %.0e)  %s\n", kernel, fast ? "fast" : "ref",
           tensor, err, TOL, ok ? "ok" : "FAILED");
    if (!ok) {
        failures++;
        printf("FAIL gradcheck %s (%s) d%s: max error %.3g exceeds %.3g\n", kernel,
               fast ? "fast" : "ref", tensor, err, TOL);
    }
}

/* ---- conv2d ---- */

typedef struct {
    int fast, N;
    rt_conv_desc d;
    float *x, *w, *b, *y, *r, *work;
} conv_case;

static size_t conv_out_size(const conv_case *c)
{
    return (size_t)c->N * c->d.K * c->d.OH * c->d.OW;
}

static double conv_objective(void *ctx)
{
    conv_case *c = ctx;
    if (c->fast)
        rt_conv2d_forward(c->y, c->x, c->w, c->b, c->work, c->N, &c->d, RT_FP32);
    else
        rt_conv2d_forward_ref(c->y, c->x, c->w, c->b, c->work, c->N, &c->d);
    return dot(c->y, c->r, conv_out_size(c));
}

static void check_conv2d(int fast, const char *label, rt_conv_desc d, int N)
{
    conv_case c = {fast, N, d, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)N * d.C * d.H * d.W, nw = (size_t)d.K * d.C * d.kh * d.kw;
    c.x = random_floats(nx, -1, 1);
    c.w = random_floats(nw, -1, 1);
    c.b = random_floats(d.K, -1, 1);
    c.y = alloc_floats(conv_out_size(&c));
    c.r = random_floats(conv_out_size(&c), -1, 1);
    c.work = alloc_floats(rt_conv2d_workspace_floats(&d));
    float *dx = alloc_floats(nx), *dw = alloc_floats(nw), *db = alloc_floats(d.K);
    if (fast)
        rt_conv2d_backward(dx, dw, db, c.r, c.x, c.w, c.work, N, &d, 0, RT_FP32);
    else
        rt_conv2d_backward_ref(dx, dw, db, c.r, c.x, c.w, c.work, N, &d, 0);
    char name[64];
    snprintf(name, sizeof name, "conv2d %s", label);
    report(name, fast, "inp", fd_error(conv_objective, &c, c.x, dx, nx));
    report(name, fast, "weight", fd_error(conv_objective, &c, c.w, dw, nw));
    report(name, fast, "bias", fd_error(conv_objective, &c, c.b, db, d.K));
    free(c.x); free(c.w); free(c.b); free(c.y); free(c.r); free(c.work);
    free(dx); free(dw); free(db);
}

/* ---- dense ---- */

typedef struct {
    int fast, N, C, OC;
    float *x, *w, *b, *y, *r;
} dense_case;

static double dense_objective(void *ctx)
{
    dense_case *c = ctx;
    (c->fast ? rt_dense_forward : rt_dense_forward_ref)(c->y, c->x, c->w, c->b, c->N, c->C, c->OC);
    return dot(c->y, c->r, (size_t)c->N * c->OC);
}

static void check_dense(int fast)
{
    dense_case c = {fast, 3, 7, 5, NULL, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)c.N * c.C, nw = (size_t)c.OC * c.C, ny = (size_t)c.N * c.OC;
    c.x = random_floats(nx, -1, 1);
    c.w = random_floats(nw, -1, 1);
    c.b = random_floats(c.OC, -1, 1);
    c.y = alloc_floats(ny);
    c.r = random_floats(ny, -1, 1);
    float *dx = alloc_floats(nx), *dw = alloc_floats(nw), *db = alloc_floats(c.OC);
    (fast ? rt_dense_backward : rt_dense_backward_ref)(dx, dw, db, c.r, c.x, c.w, c.N, c.C, c.OC, 0);
    report("dense", fast, "inp", fd_error(dense_objective, &c, c.x, dx, nx));
    report("dense", fast, "weight", fd_error(dense_objective, &c, c.w, dw, nw));
    report("dense", fast, "bias", fd_error(dense_objective, &c, c.b, db, c.OC));
    free(c.x); free(c.w); free(c.b); free(c.y); free(c.r); free(dx); free(dw); free(db);
}

/* ---- pooling ---- */

typedef struct {
    int fast, N, max;  /* max: max pooling, else average */
    rt_pool_desc d;
    float *x, *y, *r;
    uint8_t *argmax;
} pool_case;

static size_t pool_out_size(const pool_case *c)
{
    return (size_t)c->N * c->d.C * c->d.OH * c->d.OW;
}

static double pool_objective(void *ctx)
{
    pool_case *c = ctx;
    if (c->max)
        (c->fast ? rt_maxpool2d_forward : rt_maxpool2d_forward_ref)(c->y, c->argmax, c->x, c->N,
                                                                    &c->d);
    else
        (c->fast ? rt_avgpool2d_forward : rt_avgpool2d_forward_ref)(c->y, c->x, c->N, &c->d);
    return dot(c->y, c->r, pool_out_size(c));
}

static void check_pool(int fast, int max, const char *label, rt_pool_desc d)
{
    pool_case c = {fast, 2, max, d, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)c.N * d.C * d.H * d.W, ny = pool_out_size(&c);
    /* A shuffled ramp 0, 0.1, 0.2, ...: distinct values 0.1 apart. */
    uint32_t *perm = malloc(nx * sizeof(uint32_t));
    c.x = alloc_floats(nx);
    for (size_t i = 0; i < nx; i++)
        perm[i] = (uint32_t)i;
    rt_rng_shuffle(&rng, perm, nx);
    for (size_t i = 0; i < nx; i++)
        c.x[i] = 0.1f * (float)perm[i] - 0.05f * (float)nx;
    c.y = alloc_floats(ny);
    c.r = random_floats(ny, -1, 1);
    c.argmax = malloc(ny);
    pool_objective(&c);
    float *dx = alloc_floats(nx);
    if (max)
        (fast ? rt_maxpool2d_backward : rt_maxpool2d_backward_ref)(dx, c.r, c.argmax, c.N, &d, 0);
    else
        (fast ? rt_avgpool2d_backward : rt_avgpool2d_backward_ref)(dx, c.r, c.N, &d, 0);
    char name[64];
    snprintf(name, sizeof name, "%s %s", max ? "maxpool2d" : "avgpool2d", label);
    report(name, fast, "inp", fd_error(pool_objective, &c, c.x, dx, nx));
    free(perm); free(c.x); free(c.y); free(c.r); free(c.argmax); free(dx);
}

typedef struct {
    int fast, N, C, HW;
    float *x, *y, *r;
} gap_case;

static double gap_objective(void *ctx)
{
    gap_case *c = ctx;
    (c->fast ? rt_global_avgpool_forward : rt_global_avgpool_forward_ref)(c->y, c->x, c->N, c->C,
                                                                          c->HW);
    return dot(c->y, c->r, (size_t)c->N * c->C);
}

static void check_global_avgpool(int fast)
{
    gap_case c = {fast, 2, 3, 5 * 7, NULL, NULL, NULL};
    size_t nx = (size_t)c.N * c.C * c.HW;
    c.x = random_floats(nx, -1, 1);
    c.y = alloc_floats((size_t)c.N * c.C);
    c.r = random_floats((size_t)c.N * c.C, -1, 1);
    float *dx = alloc_floats(nx);
    (fast ? rt_global_avgpool_backward : rt_global_avgpool_backward_ref)(dx, c.r, c.N, c.C, c.HW, 0);
    report("global_avgpool", fast, "inp", fd_error(gap_objective, &c, c.x, dx, nx));
    free(c.x); free(c.y); free(c.r); free(dx);
}

/* ---- batchnorm (training mode) ---- */

typedef struct {
    int fast, N, C, HW;
    float *x, *gamma, *beta, *y, *r, *mean, *invstd, *running_mean, *running_var;
} bn_case;

static double bn_objective(void *ctx)
{
    bn_case *c = ctx;
    (c->fast ? rt_batchnorm_forward : rt_batchnorm_forward_ref)(
        c->y, c->mean, c->invstd, c->running_mean, c->running_var, c->x, c->gamma, c->beta, c->N,
        c->C, c->HW, 0.1f, 1e-5f);
    return dot(c->y, c->r, (size_t)c->N * c->C * c->HW);
}

static void check_batchnorm(int fast, int N, int C, int HW)
{
    bn_case c = {fast, N, C, HW, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)N * C * HW;
    c.x = random_floats(nx, -2, 2);
    c.gamma = random_floats(C, 0.5f, 1.5f);
    c.beta = random_floats(C, -1, 1);
    c.y = alloc_floats(nx);
    c.r = random_floats(nx, -1, 1);
    c.mean = alloc_floats(C);
    c.invstd = alloc_floats(C);
    c.running_mean = alloc_floats(C);
    c.running_var = alloc_floats(C);
    bn_objective(&c);
    float *dx = alloc_floats(nx), *dg = alloc_floats(C), *db = alloc_floats(C);
    (fast ? rt_batchnorm_backward : rt_batchnorm_backward_ref)(dx, dg, db, c.r, c.x, c.mean,
                                                               c.invstd, c.gamma, N, C, HW, 0);
    const char *name = HW == 1 ? "batchnorm [N,C]" : "batchnorm [N,C,HW]";
    report(name, fast, "inp", fd_error(bn_objective, &c, c.x, dx, nx));
    report(name, fast, "gamma", fd_error(bn_objective, &c, c.gamma, dg, C));
    report(name, fast, "beta", fd_error(bn_objective, &c, c.beta, db, C));
    free(c.x); free(c.gamma); free(c.beta); free(c.y); free(c.r); free(c.mean); free(c.invstd);
    free(c.running_mean); free(c.running_var); free(dx); free(dg); free(db);
}

/* ---- dropout ---- */

typedef struct {
    int fast, channels;  /* channels: dropout2d */
    int N, C, HW;
    float p;
    rt_rng rng0;  /* every evaluation draws the same mask */
    float *x, *y, *r;
    uint32_t *mask;
} dropout_case;

static double dropout_objective(void *ctx)
{
    dropout_case *c = ctx;
    rt_rng r = c->rng0;
    size_t n = (size_t)c->N * c->C * c->HW;
    if (c->channels)
        (c->fast ? rt_dropout2d_forward : rt_dropout2d_forward_ref)(c->y, c->mask, c->x, &r, c->p,
                                                                    c->N, c->C, c->HW);
    else
        (c->fast ? rt_dropout_forward : rt_dropout_forward_ref)(c->y, c->mask, c->x, &r, c->p, n);
    return dot(c->y, c->r, n);
}

static void check_dropout(int fast, int channels)
{
    dropout_case c = {fast, channels, 2, 5, 6, 0.3f, rng, NULL, NULL, NULL, NULL};
    size_t n = (size_t)c.N * c.C * c.HW;
    c.x = random_floats(n, -1, 1);
    c.y = alloc_floats(n);
    c.r = random_floats(n, -1, 1);
    c.mask = calloc(rt_dropout_mask_words(n), sizeof(uint32_t));
    dropout_objective(&c);
    float *dx = alloc_floats(n);
    if (channels)
        (fast ? rt_dropout2d_backward : rt_dropout2d_backward_ref)(dx, c.r, c.mask, c.p, c.N, c.C,
                                                                   c.HW, 0);
    else
        (fast ? rt_dropout_backward : rt_dropout_backward_ref)(dx, c.r, c.mask, c.p, n, 0);
    report(channels ? "dropout2d" : "dropout", fast, "inp",
           fd_error(dropout_objective, &c, c.x, dx, n));
    free(c.x); free(c.y); free(c.r); free(c.mask); free(dx);
}

/* ---- activations ---- */

enum act { RELU, LEAKY_RELU, ELU, SIGMOID, TANH };
static const char *const act_names[] = {"relu", "leaky_relu", "elu", "sigmoid", "tanh"};

typedef struct {
    int fast;
    enum act act;
    size_t n;
    float *x, *y, *r;
} act_case;

static void act_forward(act_case *c)
{
    switch (c->act) {
    case RELU:
        (c->fast ? rt_relu_forward : rt_relu_forward_ref)(c->y, c->x, c->n);
        break;
    case LEAKY_RELU:
        (c->fast ? rt_leaky_relu_forward : rt_leaky_relu_forward_ref)(c->y, c->x, 0.1f, c->n);
        break;
    case ELU:
        (c->fast ? rt_elu_forward : rt_elu_forward_ref)(c->y, c->x, 1.5f, c->n);
        break;
    case SIGMOID:
        (c->fast ? rt_sigmoid_forward : rt_sigmoid_forward_ref)(c->y, c->x, c->n);
        break;
    case TANH:
        (c->fast ? rt_tanh_forward : rt_tanh_forward_ref)(c->y, c->x, c->n);
        break;
    }
}

static double act_objective(void *ctx)
{
    act_case *c = ctx;
    act_forward(c);
    return dot(c->y, c->r, c->n);
}

/* The backward reads the forward output y (leaky_relu: the input x). */
static void act_backward(act_case *c, float *dx)
{
    switch (c->act) {
    case RELU:
        (c->fast ? rt_relu_backward : rt_relu_backward_ref)(dx, c->r, c->y, c->n, 0);
        break;
    case LEAKY_RELU:
        (c->fast ? rt_leaky_relu_backward : rt_leaky_relu_backward_ref)(dx, c->r, c->x, 0.1f, c->n, 0);
        break;
    case ELU:
        (c->fast ? rt_elu_backward : rt_elu_backward_ref)(dx, c->r, c->y, 1.5f, c->n, 0);
        break;
    case SIGMOID:
        (c->fast ? rt_sigmoid_backward : rt_sigmoid_backward_ref)(dx, c->r, c->y, c->n, 0);
        break;
    case TANH:
        (c->fast ? rt_tanh_backward : rt_tanh_backward_ref)(dx, c->r, c->y, c->n, 0);
        break;
    }
}

static void check_activation(int fast, enum act act)
{
    act_case c = {fast, act, 37, NULL, NULL, NULL};
    c.x = random_off_zero(c.n, 3);
    c.y = alloc_floats(c.n);
    c.r = random_floats(c.n, -1, 1);
    act_forward(&c);
    float *dx = alloc_floats(c.n);
    act_backward(&c, dx);
    report(act_names[act], fast, "inp", fd_error(act_objective, &c, c.x, dx, c.n));
    free(c.x); free(c.y); free(c.r); free(dx);
}

/* ---- shape ops ---- */

typedef struct {
    int fast, N, C, H, W, p;
    float *x, *y, *r;
} pad_case;

static double pad_objective(void *ctx)
{
    pad_case *c = ctx;
    (c->fast ? rt_pad2d_forward : rt_pad2d_forward_ref)(c->y, c->x, c->N, c->C, c->H, c->W, c->p);
    return dot(c->y, c->r, (size_t)c->N * c->C * (c->H + 2 * c->p) * (c->W + 2 * c->p));
}

static void check_pad2d(int fast)
{
    pad_case c = {fast, 2, 2, 3, 4, 2, NULL, NULL, NULL};
    size_t nx = (size_t)c.N * c.C * c.H * c.W;
    size_t ny = (size_t)c.N * c.C * (c.H + 2 * c.p) * (c.W + 2 * c.p);
    c.x = random_floats(nx, -1, 1);
    c.y = alloc_floats(ny);
    c.r = random_floats(ny, -1, 1);
    float *dx = alloc_floats(nx);
    (fast ? rt_pad2d_backward : rt_pad2d_backward_ref)(dx, c.r, c.N, c.C, c.H, c.W, c.p, 0);
    report("pad2d", fast, "inp", fd_error(pad_objective, &c, c.x, dx, nx));
    free(c.x); free(c.y); free(c.r); free(dx);
}

/* concat and add over three inputs; the backward is one call per input. */
enum { N_INP = 3 };

typedef struct {
    int fast, concat, N, HW;
    int channels[N_INP];
    float *inp[N_INP], *y, *r;
    size_t n_out;
} merge_case;

static double merge_objective(void *ctx)
{
    merge_case *c = ctx;
    const float *inps[N_INP] = {c->inp[0], c->inp[1], c->inp[2]};
    if (c->concat)
        (c->fast ? rt_concat_forward : rt_concat_forward_ref)(c->y, inps, c->channels, N_INP, c->N,
                                                              c->HW);
    else
        (c->fast ? rt_add_forward : rt_add_forward_ref)(c->y, inps, N_INP, c->n_out);
    return dot(c->y, c->r, c->n_out);
}

static void check_merge(int fast, int concat)
{
    merge_case c = {fast, concat, 2, 6, {2, 1, 3}, {NULL, NULL, NULL}, NULL, NULL, 0};
    size_t sizes[N_INP];
    int C_out = 0;
    for (int t = 0; t < N_INP; t++) {
        sizes[t] = (size_t)c.N * (concat ? c.channels[t] : 2) * c.HW;
        c.inp[t] = random_floats(sizes[t], -1, 1);
        C_out += c.channels[t];
    }
    c.n_out = concat ? (size_t)c.N * C_out * c.HW : sizes[0];
    c.y = alloc_floats(c.n_out);
    c.r = random_floats(c.n_out, -1, 1);
    int c_offset = 0;
    for (int t = 0; t < N_INP; t++) {
        float *dx = alloc_floats(sizes[t]);
        if (concat)
            (fast ? rt_concat_backward : rt_concat_backward_ref)(dx, c.r, c.N, C_out, c_offset,
                                                                 c.channels[t], c.HW, 0);
        else
            (fast ? rt_add_backward : rt_add_backward_ref)(dx, c.r, sizes[t], 0);
        char tensor[16];
        snprintf(tensor, sizeof tensor, "inp%d", t);
        report(concat ? "concat" : "add", fast, tensor,
               fd_error(merge_objective, &c, c.inp[t], dx, sizes[t]));
        c_offset += c.channels[t];
        free(dx);
    }
    for (int t = 0; t < N_INP; t++)
        free(c.inp[t]);
    free(c.y); free(c.r);
}

/* ---- losses ---- */

typedef struct {
    int fast, N, K;
    const int32_t *labels;   /* integer labels, or */
    const float *targets;    /* soft targets */
    float *z, *probs;
} xent_case;

static double xent_objective(void *ctx)
{
    xent_case *c = ctx;
    if (c->labels)
        return (c->fast ? rt_softmax_xent_forward : rt_softmax_xent_forward_ref)(
            c->probs, c->z, c->labels, c->N, c->K);
    return (c->fast ? rt_softmax_xent_soft_forward : rt_softmax_xent_soft_forward_ref)(
        c->probs, c->z, c->targets, c->N, c->K);
}

static void check_xent(int fast, int soft)
{
    enum { N = 4, K = 5 };
    int32_t labels[N] = {0, 3, 4, 3};
    float targets[N * K];
    for (int n = 0; n < N; n++) {
        float s = 0.0f;
        for (int k = 0; k < K; k++) {
            targets[n * K + k] = uniform(0, 1);
            s += targets[n * K + k];
        }
        for (int k = 0; k < K; k++)
            targets[n * K + k] /= s;
    }
    xent_case c = {fast, N, K, soft ? NULL : labels, soft ? targets : NULL, NULL, NULL};
    c.z = random_floats(N * K, -3, 3);
    c.probs = alloc_floats(N * K);
    xent_objective(&c);
    float *dz = alloc_floats(N * K);
    if (soft)
        (fast ? rt_softmax_xent_soft_backward : rt_softmax_xent_soft_backward_ref)(dz, c.probs,
                                                                                   targets, N, K, 0);
    else
        (fast ? rt_softmax_xent_backward : rt_softmax_xent_backward_ref)(dz, c.probs, labels, N, K,
                                                                         0);
    report(soft ? "softmax_xent_soft" : "softmax_xent", fast, "logits",
           fd_error(xent_objective, &c, c.z, dz, N * K));
    free(c.z); free(c.probs); free(dz);
}

/* ---- regularisers ---- */

typedef struct {
    int fast, l1;
    size_t n;
    float *w, lambda;
} penalty_case;

static double penalty_objective(void *ctx)
{
    penalty_case *c = ctx;
    if (c->l1)
        return (c->fast ? rt_l1_penalty : rt_l1_penalty_ref)(NULL, c->w, c->n, c->lambda);
    return (c->fast ? rt_l2_penalty : rt_l2_penalty_ref)(NULL, c->w, c->n, c->lambda);
}

/* The loss term is its own objective; l1's weights keep away from its kink at 0. */
static void check_penalty(int fast, int l1)
{
    enum { N = 37 };
    penalty_case c = {fast, l1, N, random_off_zero(N, 2), 0.3f};
    float *dw = alloc_floats(N);
    memset(dw, 0, N * sizeof *dw);
    if (l1)
        (fast ? rt_l1_penalty : rt_l1_penalty_ref)(dw, c.w, N, c.lambda);
    else
        (fast ? rt_l2_penalty : rt_l2_penalty_ref)(dw, c.w, N, c.lambda);
    report(l1 ? "l1_penalty" : "l2_penalty", fast, "w", fd_error(penalty_objective, &c, c.w, dw, N));
    free(c.w); free(dw);
}

int main(void)
{
    rt_rng_seed(&rng, 2024, 7);
    for (int fast = 0; fast <= 1; fast++) {
        /* C H W K kh kw stride pad_t pad_l pad_b pad_r OH OW */
        check_conv2d(fast, "3x3 pad 1", (rt_conv_desc){2, 5, 6, 3, 3, 3, 1, 1, 1, 1, 1, 5, 6}, 2);
        check_conv2d(fast, "3x2 stride 2 asym", (rt_conv_desc){2, 7, 6, 3, 3, 2, 2, 0, 1, 2, 0, 4, 3}, 2);
        check_conv2d(fast, "2x2 same", (rt_conv_desc){1, 4, 4, 2, 2, 2, 1, 0, 0, 1, 1, 4, 4}, 1);
        check_conv2d(fast, "1x1", (rt_conv_desc){3, 3, 4, 2, 1, 1, 1, 0, 0, 0, 0, 3, 4}, 2);
        check_dense(fast);
        /* C H W kh kw stride pad OH OW */
        check_pool(fast, 1, "2x2 s2", (rt_pool_desc){2, 5, 6, 2, 2, 2, 0, 2, 3});
        check_pool(fast, 1, "3x3 s2 pad 1", (rt_pool_desc){2, 5, 5, 3, 3, 2, 1, 3, 3});
        check_pool(fast, 0, "2x2 s2", (rt_pool_desc){2, 5, 6, 2, 2, 2, 0, 2, 3});
        check_pool(fast, 0, "3x3 s2 pad 1", (rt_pool_desc){2, 5, 5, 3, 3, 2, 1, 3, 3});
        check_global_avgpool(fast);
        check_batchnorm(fast, 3, 2, 10);
        check_batchnorm(fast, 6, 3, 1);
        check_dropout(fast, 0);
        check_dropout(fast, 1);
        for (int act = RELU; act <= TANH; act++)
            check_activation(fast, (enum act)act);
        check_pad2d(fast);
        check_merge(fast, 1);
        check_merge(fast, 0);
        check_xent(fast, 0);
        check_xent(fast, 1);
        check_penalty(fast, 0);
        check_penalty(fast, 1);
    }
    if (failures) {
        printf("test_gradcheck: %d gradient(s) FAILED\n", failures);
        return 1;
    }
    printf("test_gradcheck: every backward kernel matches finite differences (eps %g, tol %g)\n",
           EPS, TOL);
    return 0;
}
