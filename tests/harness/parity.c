/* parity.c -- one netc-compiled model against a PyTorch golden (tests/golden/MODEL.npz,
 * written by tests/golden/make_golden.py), run by tests/t_parity.sh:
 *
 *   netc compile models/M.net -o DIR --name M --batch 8
 *   cc -std=c11 -Iruntime -IDIR -DMODEL=M_model parity.c DIR/M.c build/libnetcrt.a ...
 *   ./parity tests/golden/M.npz [-v] [--dump OUT.npz]
 *
 * It loads the golden's starting parameters and batchnorm state into the rt_net by
 * tensor name (the rt_model's tensors table), sets Adam with the golden's
 * hyper-parameters, seeds net->rng with the golden's dropout seed (make_golden.py replays
 * the same PCG32 stream, so the dropout masks are netc's own) and poisons the arena with
 * NaNs (nothing may rely on rt_net_alloc's zeroes).  Then, for each of the golden's 3
 * steps, it runs train_step on the golden batch and compares the loss, the
 * probabilities, every parameter gradient and every parameter and running statistic
 * after the step with PyTorch's.
 *
 * Steps 2 and 3 are teacher-forced: before step k the harness puts PyTorch's state after
 * step k-1 back into the net (parameters, running statistics, Adam's m and v, t = k-1),
 * so that each step is compared from the same starting point.  Left to run freely, the
 * two trajectories part for a reason that is no error of either: Adam's first step moves
 * every weight by ~lr whatever the size of its gradient, so a weight whose gradient is
 * rounding noise (|g| ~ 1e-7 max|g|) takes a step of noisy size -- ~1e-5 apart between
 * two correct float32 implementations -- and one ReLU input that such a difference
 * pushes across zero changes the next gradients by percents (seen on resnet_small: a
 * 1e-5 change of one conv2d_12 weight changes the step-2 gradients by 2e-3, a jump, not
 * a slope).  The parameters after each step are PyTorch's Adam applied to PyTorch's
 * gradients: for the tensors whose values after the last step the golden stores, the
 * harness checks that it reproduces them (to 1e-9 + 2 float32 ulps); for simplenet's
 * dense_1.weight, whose gradients the golden stores as BATCH outer-product factors, that
 * is how its values after each step are known at all.
 *
 * Exit 0 if everything is within tolerance, 1 on any mismatch, 2 if the golden does not
 * fit the model or cannot be read.
 *
 * Tolerances.  The golden is PyTorch computed in float64 and rounded to float32, so it is
 * the exact answer to within float32 rounding; what netc may differ by is its own float32
 * rounding, with accumulation orders (BLAS GEMMs, lane-split sums, double-precision
 * batchnorm sums) unlike PyTorch's.  PyTorch's own float32 run differs from the float64
 * golden by at most 2.4e-6 in the loss, 1e-6 in the logits, 3.3e-6 x max|grad| in a
 * gradient tensor (make_golden.py --check-f32 prints these); netc's largest errors are
 * of the same size.  The bounds below leave 10-100x that margin and are still far below
 * any real error (a wrong term in a gradient is O(1) relative; a sample dropped from a
 * sum is 1/8 of it):
 *   loss (each step)       |d| <= 1e-5 + 1e-5 |loss|
 *   probabilities          |d| <= 1e-5 + 1e-4 p        (softmax of the golden logits)
 *   centred log-probs      |d| <= 1e-4                 (log p - mean log p vs logits - mean)
 *   gradients, per tensor  |d| <= 1e-4 max|g| + 1e-3 |g|   (max|g| over that tensor: a
 *                          GEMM's rounding error scales with the sums' magnitudes, not
 *                          with the one element)
 *   after each Adam step   |d| <= 2e-5 + 1e-4 |w|      (2% of one lr = 1e-3 step), except:
 *     - an element whose golden gradient at that step is no larger than its gradient
 *       tolerance (and not exactly 0): Adam divides by sqrt(v), so the size of its step
 *       is set by rounding noise; it is held only to Adam's step bound, |d| <= 2.02 lr
 *       (a bias-corrected Adam step moves a value by at most ~1.01 lr for t <= 3).  At
 *       most 5% of a tensor may be exempt; all are counted and printed;
 *     - tensors with a "tol_after/NAME" array in the golden (a bias right before a
 *       training-mode batchnorm, whose exact gradient is 0): |d| <= that value; their
 *       gradients are held to "tol_grad.../NAME" (README.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netc_rt.h"

#ifndef MODEL
#error "compile with -DMODEL=prefix_model (the generated rt_model)"
#endif
extern const rt_model MODEL;

#define LOSS_ATOL 1e-5
#define LOSS_RTOL 1e-5
#define PROB_ATOL 1e-5
#define PROB_RTOL 1e-4
#define LOGP_ATOL 1e-4
#define GRAD_SCALED_ATOL 1e-4
#define GRAD_RTOL 1e-3
#define AFTER_ATOL 2e-5
#define AFTER_RTOL 1e-4
/* The harness's Adam (on float32-stored golden gradients) against PyTorch's (on float64
 * ones): 1e-6 of one lr step, plus 2 float32 ulps. */
#define ADAM_REF_ATOL 1e-9
#define ADAM_REF_RTOL 2.4e-7
#define MAX_EXEMPT_SHARE 0.05   /* at most 5% of a tensor's values may use the step bound */

static int verbose;
static const char *golden_path;

/* ---- golden arrays ---- */

typedef struct {
    float *data;
    int ndim;
    size_t shape[RT_NPY_MAX_DIMS];
    size_t count;
} arr;

/* Reads array NAME; returns 0, or -1 (err filled) when absent or unreadable. */
static int get(rt_npz *z, const char *name, arr *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    if (rt_npz_shape(z, name, &a->ndim, a->shape, err, errlen))
        return -1;
    a->count = 1;
    for (int i = 0; i < a->ndim; i++)
        a->count *= a->shape[i];
    a->data = malloc(a->count ? a->count * sizeof(float) : sizeof(float));
    if (!a->data) {
        snprintf(err, errlen, "out of memory for %s", name);
        return -1;
    }
    if (rt_npz_read_f32(z, name, a->data, a->ndim, a->shape, err, errlen)) {
        free(a->data);
        a->data = NULL;
        return -1;
    }
    return 0;
}

static arr must(rt_npz *z, const char *name)
{
    char err[512];
    arr a;
    if (get(z, name, &a, err, sizeof err)) {
        fprintf(stderr, "parity: %s: %s\n", golden_path, err);
        exit(2);
    }
    return a;
}

static void need_count(const arr *a, const char *name, size_t count)
{
    if (a->count != count) {
        fprintf(stderr, "parity: %s: %s has %zu values, expected %zu\n", golden_path, name,
                a->count, count);
        exit(2);
    }
}

static size_t tensor_count(const rt_tensor_info *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (size_t)t->shape[i];
    return n;
}

/* ---- comparisons ---- */

typedef struct {
    const char *what;
    const char *got_label;      /* who computed `got`: NULL = netc */
    double max_abs, max_scaled, worst_ratio;   /* scaled: |d| / max|want| of the tensor */
    const char *max_abs_name, *worst_name;
    size_t values, exempt, tensors, failed;
    double max_exempt;          /* max |d| over the values held to the step bound only */
    double special_abs;         /* max |d| over the tensors with a tolerance of their own */
} check;

/* Compares got[i] with want[i], i < n: |d| <= tol_i where tol_i = atol + scaled_atol *
 * max|want| + rtol |want_i|, or bound_i (if exempt != NULL and exempt[i]).  Prints the
 * first offenders; returns the number of values out of tolerance. */
static size_t compare(check *c, const char *name, const float *got, const float *want,
                      size_t n, double atol, double scaled_atol, double rtol,
                      const unsigned char *exempt, double bound, int special)
{
    double wmax = 0;
    for (size_t i = 0; i < n; i++)
        wmax = fmax(wmax, fabs((double)want[i]));
    double t_abs = 0, t_ratio = 0, t_ex = 0;
    size_t bad = 0, nex = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d == d))
            d = INFINITY;   /* NaN in netc's output */
        double tol = atol + scaled_atol * wmax + rtol * fabs((double)want[i]);
        if (exempt && exempt[i]) {
            tol = bound;
            nex++;
            t_ex = fmax(t_ex, d);
        } else
            t_abs = fmax(t_abs, d);
        double r = d / tol;
        t_ratio = fmax(t_ratio, r);
        if (!(d <= tol)) {
            if (bad < 5)
                printf("  MISMATCH %s %s[%zu]: %s %.9g, golden %.9g, |d| %.3g > tol %.3g%s\n",
                       c->what, name, i, c->got_label ? c->got_label : "netc", (double)got[i],
                       (double)want[i], d, tol,
                       exempt && exempt[i] ? " (noisy-gradient bound)" : "");
            bad++;
        }
    }
    if (bad > 5)
        printf("  MISMATCH %s %s: %zu of %zu values out of tolerance\n", c->what, name, bad, n);
    if (exempt && nex > MAX_EXEMPT_SHARE * (double)n + 2) {
        printf("  MISMATCH %s %s: %zu of %zu values have a noisy golden gradient (> %.0f%%); "
               "the gradient check should have failed\n",
               c->what, name, nex, n, 100 * MAX_EXEMPT_SHARE);
        bad++;
    }
    if (verbose)
        printf("    %-6s %-28s n %8zu  max|d| %.3e  max|d|/max|g| %.3e  worst |d|/tol %.3f%s\n",
               c->what, name, n, t_abs, wmax > 0 ? t_abs / wmax : t_abs, t_ratio,
               nex ? "  (exempt values below)" : "");
    if (special) {
        c->special_abs = fmax(c->special_abs, t_abs);
        printf("%-6s %s: max |d| %.3e, tolerance %.3g (its own: README)\n", c->what, name, t_abs,
               atol);
    } else {
        if (t_abs > c->max_abs) {
            c->max_abs = t_abs;
            c->max_abs_name = name;
        }
        if (wmax > 0 && t_abs / wmax > c->max_scaled)
            c->max_scaled = t_abs / wmax;
    }
    c->max_exempt = fmax(c->max_exempt, t_ex);
    if (t_ratio > c->worst_ratio) {
        c->worst_ratio = t_ratio;
        c->worst_name = name;
    }
    c->values += n;
    c->exempt += nex;
    c->tensors++;
    c->failed += bad != 0;
    return bad;
}

static void report(const check *c)
{
    printf("%-6s %s %3zu tensors %8zu values: max |d| %.3e (%s), max |d|/max|golden| %.3e, "
           "worst |d|/tol %.3f (%s)",
           c->what, c->failed ? "FAIL" : "ok  ", c->tensors, c->values, c->max_abs,
           c->max_abs_name ? c->max_abs_name : "-", c->max_scaled, c->worst_ratio,
           c->worst_name ? c->worst_name : "-");
    if (c->exempt)
        printf("; %zu values held to the noisy-gradient bound only, max |d| %.3e", c->exempt,
               c->max_exempt);
    printf("\n");
}

static void softmax_row(double *p, const float *z, int k)
{
    double mx = z[0], s = 0;
    for (int j = 1; j < k; j++)
        mx = fmax(mx, z[j]);
    for (int j = 0; j < k; j++)
        s += p[j] = exp((double)z[j] - mx);
    for (int j = 0; j < k; j++)
        p[j] /= s;
}


/* The golden gradient of tensor ti at step k (1-based) into g (double, the tensor's
 * values): stored as "grad/NAME" (k = 1) or "gradK/NAME", or as outer-product factors
 * "gradfK/NAME.{dy,x}_{hi,lo}" ([B, out] and [B, in], each value hi + lo), g = dy^T x. */
static void golden_grad(rt_npz *z, const rt_tensor_info *ti, int k, double *g)
{
    char name[300], err[512];
    size_t cnt = tensor_count(ti);
    if (k == 1)
        snprintf(name, sizeof name, "grad/%s", ti->name);
    else
        snprintf(name, sizeof name, "grad%d/%s", k, ti->name);
    arr a;
    if (!get(z, name, &a, err, sizeof err)) {
        need_count(&a, name, cnt);
        for (size_t i = 0; i < cnt; i++)
            g[i] = a.data[i];
        free(a.data);
        return;
    }
    if (ti->rank != 2) {
        fprintf(stderr, "parity: %s: no %s\n", golden_path, name);
        exit(2);
    }
    arr f[4];
    const char *part[4] = { "dy_hi", "dy_lo", "x_hi", "x_lo" };
    for (int j = 0; j < 4; j++) {
        snprintf(name, sizeof name, "gradf%d/%s.%s", k, ti->name, part[j]);
        f[j] = must(z, name);
        if (f[j].ndim != 2 || f[j].shape[1] != (size_t)ti->shape[j < 2 ? 0 : 1] ||
            f[j].shape[0] != f[0].shape[0]) {
            fprintf(stderr, "parity: %s: %s is not [B, %d]\n", golden_path, name,
                    ti->shape[j < 2 ? 0 : 1]);
            exit(2);
        }
    }
    size_t B = f[0].shape[0], O = (size_t)ti->shape[0], I = (size_t)ti->shape[1];
    for (size_t i = 0; i < cnt; i++)
        g[i] = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t o = 0; o < O; o++) {
            double dy = (double)f[0].data[b * O + o] + (double)f[1].data[b * O + o];
            double *row = g + o * I;
            const float *xh = f[2].data + b * I, *xl = f[3].data + b * I;
            for (size_t i = 0; i < I; i++)
                row[i] += dy * ((double)xh[i] + (double)xl[i]);
        }
    for (int j = 0; j < 4; j++)
        free(f[j].data);
}

int main(int argc, char **argv)
{
    const rt_model *m = &MODEL;
    const char *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
            dump = argv[++i];
        else if (!golden_path && argv[i][0] != '-')
            golden_path = argv[i];
        else
            golden_path = NULL, i = argc;
    }
    if (!golden_path) {
        fprintf(stderr, "usage: %s GOLDEN.npz [-v] [--dump OUT.npz]\n", argv[0]);
        return 2;
    }
    char err[512];
    rt_npz z;
    if (rt_npz_open(&z, golden_path, err, sizeof err)) {
        fprintf(stderr, "parity: %s\n", err);
        return 2;
    }

    /* The batch. */
    arr x = must(&z, "x"), lab = must(&z, "labels");
    if (x.ndim != 4 || (int)x.shape[1] != m->in_c || (int)x.shape[2] != m->in_h ||
        (int)x.shape[3] != m->in_w) {
        fprintf(stderr, "parity: %s: x is not [N, %d, %d, %d]\n", golden_path, m->in_c, m->in_h,
                m->in_w);
        return 2;
    }
    int n = (int)x.shape[0];
    if (n > m->max_batch) {
        fprintf(stderr, "parity: golden batch %d > the model's max batch %d\n", n, m->max_batch);
        return 2;
    }
    need_count(&lab, "labels", (size_t)n);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    for (int i = 0; i < n; i++) {
        labels[i] = (int32_t)lab.data[i];
        if ((float)labels[i] != lab.data[i] || labels[i] < 0 || labels[i] >= m->classes) {
            fprintf(stderr, "parity: %s: label %d is %g\n", golden_path, i, (double)lab.data[i]);
            return 2;
        }
    }

    rt_net net;
    if (rt_net_alloc(&net, m)) {
        fprintf(stderr, "parity: out of memory\n");
        return 2;
    }
    /* Poison the arena: the generated code must write every activation, gradient and
     * mask before it reads it within a step, not rely on rt_net_alloc's zeroes (which
     * only the first step would see).  Every byte 0xff makes every float a NaN. */
    memset(net.arena, 0xff, m->arena_bytes > m->infer_arena_bytes ? m->arena_bytes : m->infer_arena_bytes);

    /* The starting point, by tensor name; every float of params and state must be set. */
    size_t covered[2] = { 0, 0 };
    for (int t = 0; t < m->ntensors; t++) {
        const rt_tensor_info *ti = &m->tensors[t];
        char name[300];
        size_t shape[4];
        for (int i = 0; i < ti->rank; i++)
            shape[i] = (size_t)ti->shape[i];
        snprintf(name, sizeof name, "param/%s", ti->name);
        float *dst = (ti->trainable ? net.params : net.state) + ti->offset;
        if (rt_npz_read_f32(&z, name, dst, ti->rank, shape, err, sizeof err)) {
            fprintf(stderr, "parity: netc tensor %s: %s\n", ti->name, err);
            return 2;
        }
        covered[ti->trainable ? 0 : 1] += tensor_count(ti);
    }
    arr counts = must(&z, "counts");
    need_count(&counts, "counts", 2);
    if (covered[0] != m->nparams || covered[1] != m->nstate ||
        (size_t)counts.data[0] != m->nparams || (size_t)counts.data[1] != m->nstate) {
        fprintf(stderr, "parity: netc has %zu params / %zu state (tensors table covers %zu / %zu); "
                        "the PyTorch model has %.0f / %.0f\n",
                m->nparams, m->nstate, covered[0], covered[1], (double)counts.data[0],
                (double)counts.data[1]);
        return 1;
    }

    arr adam = must(&z, "adam"), rng = must(&z, "dropout_rng"), steps_a = must(&z, "steps");
    need_count(&adam, "adam", 4);
    need_count(&rng, "dropout_rng", 2);
    need_count(&steps_a, "steps", 1);
    int steps = (int)steps_a.data[0];
    if (steps < 1 || steps > 9) {
        fprintf(stderr, "parity: %d steps\n", steps);
        return 2;
    }
    net.h = (rt_hparams){ RT_ADAM, adam.data[0], 0.0f, 0.0f, adam.data[1], adam.data[2],
                          adam.data[3], 0 };
    net.t = 0;
    rt_rng_seed(&net.rng, (uint64_t)rng.data[0], (uint64_t)rng.data[1]);
    const double lr = adam.data[0], b1 = adam.data[1], b2 = adam.data[2], eps = adam.data[3];

    printf("%s: %s, batch %d, %zu params, %zu state, %d Adam steps (lr %g), steps 2..%d "
           "teacher-forced\n", golden_path, m->name, n, m->nparams, m->nstate, steps, lr, steps);

    int K = m->classes;
    arr logits = must(&z, "logits_steps"), loss_steps = must(&z, "loss_steps");
    need_count(&logits, "logits_steps", (size_t)steps * n * K);
    need_count(&loss_steps, "loss_steps", (size_t)steps);

    /* PyTorch's trajectory, as the harness follows it: parameters (each step rounded to
     * float32, as make_golden.py does), Adam's m and v, and the gradients of a step. */
    size_t P = m->nparams;
    double *gp = malloc(P * sizeof(double)), *gm = calloc(P, sizeof(double));
    double *gv = calloc(P, sizeof(double)), *gg = malloc(P * sizeof(double));
    float *gpf = malloc(P * sizeof(float)), *ggf = malloc(P * sizeof(float));
    for (size_t i = 0; i < P; i++)
        gp[i] = gpf[i] = net.params[i];
    float *probs = malloc((size_t)n * K * sizeof(float));
    float *wantp = malloc((size_t)n * K * sizeof(float));
    float *glogp = malloc((size_t)n * K * sizeof(float)), *wlogp = malloc((size_t)n * K * sizeof(float));
    double *row = malloc((size_t)K * sizeof(double));
    unsigned char *ex = malloc(P);

    size_t bad = 0, ref_bad = 0;
    check closs = { .what = "loss" }, cprob = { .what = "probs" }, clogp = { .what = "logp" };
    check cgrad = { .what = "grad" }, cafter = { .what = "after" }, cref = { .what = "adam", .got_label = "harness" };
    /* "sK:NAME", for the reports; kept for all steps (the reports point at them). */
    char (*tname_all)[320] = calloc((size_t)steps * m->ntensors, sizeof *tname_all);

    for (int k = 1; k <= steps; k++) {
        char (*tname)[320] = tname_all + (size_t)(k - 1) * m->ntensors;
        for (int t = 0; t < m->ntensors; t++)
            snprintf(tname[t], sizeof tname[t], "s%d:%s", k, m->tensors[t].name);
        if (k > 1) {
            /* Teacher forcing: PyTorch's state after step k-1. */
            memcpy(net.params, gpf, P * sizeof(float));
            for (size_t i = 0; i < P; i++) {
                net.opt1[i] = (float)gm[i];
                net.opt2[i] = (float)gv[i];
            }
            net.t = k - 1;
            for (int t = 0; t < m->ntensors; t++) {
                const rt_tensor_info *ti = &m->tensors[t];
                if (ti->trainable)
                    continue;
                char name[300];
                size_t shape[4];
                for (int i = 0; i < ti->rank; i++)
                    shape[i] = (size_t)ti->shape[i];
                snprintf(name, sizeof name, "after%d/%s", k - 1, ti->name);
                if (rt_npz_read_f32(&z, name, net.state + ti->offset, ti->rank, shape, err, sizeof err)) {
                    fprintf(stderr, "parity: %s\n", err);
                    return 2;
                }
            }
        }

        /* The step. */
        float loss = m->train_step(&net, x.data, labels, NULL, n, probs);
        bad += compare(&closs, k == 1 ? "s1" : k == 2 ? "s2" : k == 3 ? "s3" : "s4+", &loss,
                       &loss_steps.data[k - 1], 1, LOSS_ATOL, 0, LOSS_RTOL, NULL, 0, 0);
        const float *lg = logits.data + (size_t)(k - 1) * n * K;
        for (int i = 0; i < n; i++) {
            softmax_row(row, lg + (size_t)i * K, K);
            double gmean = 0, wmean = 0;
            for (int j = 0; j < K; j++) {
                wantp[(size_t)i * K + j] = (float)row[j];
                gmean += log(fmax((double)probs[(size_t)i * K + j], 1e-300));
                wmean += lg[(size_t)i * K + j];
            }
            for (int j = 0; j < K; j++) {
                glogp[(size_t)i * K + j] = (float)(log(fmax((double)probs[(size_t)i * K + j], 1e-300)) - gmean / K);
                wlogp[(size_t)i * K + j] = (float)(lg[(size_t)i * K + j] - wmean / K);
            }
        }
        bad += compare(&cprob, k == 1 ? "s1" : k == 2 ? "s2" : "s3+", probs, wantp, (size_t)n * K,
                       PROB_ATOL, 0, PROB_RTOL, NULL, 0, 0);
        bad += compare(&clogp, k == 1 ? "s1" : k == 2 ? "s2" : "s3+", glogp, wlogp, (size_t)n * K,
                       LOGP_ATOL, 0, 0, NULL, 0, 0);

        /* Gradients. */
        for (int t = 0; t < m->ntensors; t++) {
            const rt_tensor_info *ti = &m->tensors[t];
            if (!ti->trainable)
                continue;
            size_t cnt = tensor_count(ti);
            golden_grad(&z, ti, k, gg + ti->offset);
            for (size_t i = 0; i < cnt; i++)
                ggf[ti->offset + i] = (float)gg[ti->offset + i];
            double atol = 0, scaled = GRAD_SCALED_ATOL, rtol = GRAD_RTOL;
            int special = 0;
            char name[300];
            arr tol;
            if (k == 1)
                snprintf(name, sizeof name, "tol_grad/%s", ti->name);
            else
                snprintf(name, sizeof name, "tol_grad%d/%s", k, ti->name);
            if (!get(&z, name, &tol, err, sizeof err)) {   /* a bias before batchnorm */
                atol = tol.data[0];
                scaled = rtol = 0;
                special = 1;
                free(tol.data);
            }
            bad += compare(&cgrad, tname[t], net.grads + ti->offset, ggf + ti->offset, cnt, atol,
                           scaled, rtol, NULL, 0, special);
            /* Which values have a noisy golden gradient (for the check after the step). */
            double gmax = 0;
            for (size_t i = 0; i < cnt; i++)
                gmax = fmax(gmax, fabs(gg[ti->offset + i]));
            for (size_t i = 0; i < cnt; i++) {
                double g = gg[ti->offset + i];
                ex[ti->offset + i] = g != 0 && fabs(g) <= GRAD_SCALED_ATOL * gmax + GRAD_RTOL * fabs(g);
            }
        }

        /* PyTorch's Adam step (torch.optim.Adam, single-tensor form) on PyTorch's gradients,
         * then rounded to float32 as make_golden.py rounds. */
        double bc1 = 1.0 - pow(b1, k), bc2 = 1.0 - pow(b2, k);
        for (size_t i = 0; i < P; i++) {
            gm[i] = b1 * gm[i] + (1.0 - b1) * gg[i];
            gv[i] = b2 * gv[i] + (1.0 - b2) * gg[i] * gg[i];
            double denom = sqrt(gv[i]) / sqrt(bc2) + eps;
            gpf[i] = (float)(gp[i] - (lr / bc1) * (gm[i] / denom));
            gp[i] = gpf[i];
        }

        /* Parameters and running statistics after the step. */
        for (int t = 0; t < m->ntensors; t++) {
            const rt_tensor_info *ti = &m->tensors[t];
            size_t cnt = tensor_count(ti);
            char name[300];
            double atol = AFTER_ATOL, rtol = AFTER_RTOL;
            int special = 0;
            arr tol;
            snprintf(name, sizeof name, "tol_after/%s", ti->name);
            if (!get(&z, name, &tol, err, sizeof err)) {   /* a bias before batchnorm */
                atol = tol.data[0];
                rtol = 0;
                special = 1;
                free(tol.data);
            }
            if (ti->trainable) {
                bad += compare(&cafter, tname[t], net.params + ti->offset, gpf + ti->offset, cnt,
                               atol, 0, rtol, special ? NULL : ex + ti->offset, 2.02 * lr + 1e-5,
                               special);
                if (k == steps) {
                    /* The harness's Adam against PyTorch's, where the golden has the values. */
                    snprintf(name, sizeof name, "after/%s", ti->name);
                    arr want;
                    if (!get(&z, name, &want, err, sizeof err)) {
                        need_count(&want, name, cnt);
                        size_t nb = compare(&cref, ti->name, gpf + ti->offset, want.data, cnt, ADAM_REF_ATOL,
                                            0, ADAM_REF_RTOL, NULL, 0, 0);
                        if (nb)
                            printf("  (%s: the harness's Adam does not reproduce PyTorch's %s: "
                                   "the harness or the golden is wrong)\n", golden_path, name);
                        ref_bad += nb;
                        free(want.data);
                    }
                }
            } else {
                snprintf(name, sizeof name, "after%d/%s", k, ti->name);
                arr want = must(&z, name);
                need_count(&want, name, cnt);
                bad += compare(&cafter, tname[t], net.state + ti->offset, want.data, cnt, atol, 0,
                               rtol, NULL, 0, special);
                free(want.data);
            }
        }
    }

    printf("\n");
    report(&closs);
    report(&cprob);
    report(&clogp);
    report(&cgrad);
    report(&cafter);
    if (ref_bad)
        printf("adam   FAIL: the harness's Adam on PyTorch's gradients does not reproduce "
               "PyTorch's parameters after step %d (%zu values): the golden is inconsistent\n",
               steps, ref_bad);
    else if (cref.tensors)
        printf("(the harness's Adam reproduces PyTorch's parameters after step %d: %zu tensors, "
               "max |d| %.3g)\n", steps, cref.tensors, cref.max_abs);

    if (dump) {
        /* netc's last gradients and its parameters and state after the last step. */
        rt_npz_array *a = calloc((size_t)2 * m->ntensors, sizeof *a);
        char (*names)[300] = calloc((size_t)2 * m->ntensors, sizeof *names);
        size_t na = 0;
        for (int t = 0; t < m->ntensors; t++) {
            const rt_tensor_info *ti = &m->tensors[t];
            for (int pass = 0; pass < 1 + ti->trainable; pass++) {
                snprintf(names[na], 300, "%s/%s", pass ? "grad" : "after", ti->name);
                a[na] = (rt_npz_array){ names[na],
                                        pass ? net.grads + ti->offset
                                             : (ti->trainable ? net.params : net.state) + ti->offset,
                                        ti->rank, { 0 } };
                for (int i = 0; i < ti->rank; i++)
                    a[na].shape[i] = (size_t)ti->shape[i];
                na++;
            }
        }
        if (rt_npz_write(dump, a, na, err, sizeof err))
            fprintf(stderr, "parity: %s\n", err);
        free(a);
        free(names);
    }

    printf("%s: %s\n", m->name, bad ? "MISMATCH" : ref_bad ? "golden inconsistent" : "all within tolerance");
    free(tname_all);
    free(ex);
    free(row);
    free(glogp);
    free(wlogp);
    free(wantp);
    free(probs);
    free(gp);
    free(gm);
    free(gv);
    free(gg);
    free(gpf);
    free(ggf);
    free(labels);
    free(x.data);
    free(lab.data);
    free(counts.data);
    free(adam.data);
    free(rng.data);
    free(steps_a.data);
    free(logits.data);
    free(loss_steps.data);
    rt_net_free(&net);
    rt_npz_close(&z);
    return bad ? 1 : ref_bad ? 2 : 0;
}
