/* penalty_check.c — the per-layer regularisers' place in the loss, through generated code.
 *
 * Built against two compilations of one model (tests/t_regularisers.sh): PLAIN with
 * every regulariser off and REG with some on, each term given on the command line as
 * TENSOR KIND LAMBDA (kind l2 or l1: the weight's or the bias's term alike).  Both are
 * initialised with the same seed and trained one step at lr = 0 (SGD, no weight decay),
 * so the parameters stay put.  Then, with the terms computed here by hand from the
 * weights in double (l2: lambda sum w^2, l1: lambda sum |w|, Keras's definitions):
 *   - the two models have the same structure hash and the same initial weights
 *     (a regulariser changes no parameter, so a checkpoint fits both);
 *   - train_step's loss (hard labels, and soft targets) is PLAIN's plus the terms;
 *   - each parameter gradient is PLAIN's plus 2 lambda w (l2), lambda sign(w) (l1),
 *     for the tensors named, and PLAIN's exactly for the others;
 *   - evaluate's loss with labels is PLAIN's plus the terms, and 0 without labels.
 * Tolerance: 2e-6 relative to the loss (float32 sums), 1e-6 on a gradient entry.
 * Exits 1 on any mismatch, saying which. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netc_rt.h"

extern const rt_model PLAIN, REG;

#define MAX_TERMS 16

typedef struct {
    const rt_tensor_info *t;
    int l1;
    float lambda;
} term;

static int failures;

static void fail(const char *what, const char *detail, double got, double want)
{
    failures++;
    printf("FAIL %s%s: got %.9g, want %.9g\n", what, detail, got, want);
}

static size_t numel(const rt_tensor_info *t)
{
    size_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= (size_t)t->shape[d];
    return n;
}

static const rt_tensor_info *tensor_named(const char *name)
{
    for (int i = 0; i < REG.ntensors; i++)
        if (strcmp(REG.tensors[i].name, name) == 0 && REG.tensors[i].trainable)
            return &REG.tensors[i];
    return NULL;
}

/* The terms' sum over the weights w, as Keras defines them. */
static double penalty(const term *terms, int nterms, const float *w)
{
    double sum = 0;
    for (int k = 0; k < nterms; k++) {
        const float *p = w + terms[k].t->offset;
        double s = 0;
        for (size_t i = 0; i < numel(terms[k].t); i++)
            s += terms[k].l1 ? fabs((double)p[i]) : (double)p[i] * p[i];
        sum += terms[k].lambda * s;
    }
    return sum;
}

/* The gradient the terms add to parameter i. */
static double penalty_grad(const term *terms, int nterms, const float *w, size_t i)
{
    double g = 0;
    for (int k = 0; k < nterms; k++) {
        size_t lo = terms[k].t->offset;
        if (i < lo || i >= lo + numel(terms[k].t))
            continue;
        if (terms[k].l1)
            g += w[i] > 0 ? terms[k].lambda : w[i] < 0 ? -terms[k].lambda : 0;
        else
            g += 2.0 * terms[k].lambda * w[i];
    }
    return g;
}

static void expect_loss(const char *what, float reg, float plain, double terms)
{
    double want = (double)plain + terms;
    if (!(fabs(reg - want) <= 2e-6 * fmax(fabs(want), 1.0)))
        fail(what, " loss", reg, want);
}

static void check_step(rt_net *plain, rt_net *reg, const term *terms, int nterms, const float *x,
                       const int32_t *labels, const float *targets, int n, const char *what)
{
    float lp = PLAIN.train_step(plain, x, labels, targets, n, NULL);
    float lr = REG.train_step(reg, x, labels, targets, n, NULL);
    double pen = penalty(terms, nterms, reg->params);
    printf("%s: train_step loss %.7g without, %.7g with the regularisers; their terms by hand %.7g\n", what, lp, lr,
           pen);
    if (!(pen > 1e-3))
        fail(what, ": the terms are too small to test", pen, 1e-3);
    expect_loss(what, lr, lp, pen);
    for (size_t i = 0; i < REG.nparams; i++) {
        double want = plain->grads[i] + penalty_grad(terms, nterms, reg->params, i);
        if (!(fabs(reg->grads[i] - want) <= 1e-6)) {
            char at[48];
            snprintf(at, sizeof at, " gradient [%zu]", i);
            fail(what, at, reg->grads[i], want);
        }
    }
}

int main(int argc, char **argv)
{
    term terms[MAX_TERMS];
    int nterms = 0;
    for (int a = 1; a + 2 < argc && nterms < MAX_TERMS; a += 3) {
        const rt_tensor_info *t = tensor_named(argv[a]);
        if (!t || (strcmp(argv[a + 1], "l1") != 0 && strcmp(argv[a + 1], "l2") != 0)) {
            fprintf(stderr, "penalty_check: bad term '%s %s'\n", argv[a], argv[a + 1]);
            return 2;
        }
        terms[nterms++] = (term){ t, argv[a + 1][1] == '1', strtof(argv[a + 2], NULL) };
    }
    if (nterms == 0 || argc != 1 + 3 * nterms) {
        fprintf(stderr, "usage: penalty_check TENSOR l2|l1 LAMBDA ...\n");
        return 2;
    }
    if (PLAIN.hash != REG.hash || PLAIN.nparams != REG.nparams)
        fail("structure hash", "", (double)REG.hash, (double)PLAIN.hash);
    rt_net plain, reg;
    if (rt_net_alloc(&plain, &PLAIN) || rt_net_alloc(&reg, &REG)) {
        fprintf(stderr, "penalty_check: out of memory\n");
        return 1;
    }
    PLAIN.init(&plain, 42);
    REG.init(&reg, 42);
    if (memcmp(plain.params, reg.params, REG.nparams * sizeof(float)) != 0)
        fail("initial weights", " (the same seed) differ", 1, 0);
    plain.h = reg.h = (rt_hparams){ .optimizer = RT_SGD, .lr = 0.0f };
    int n = REG.max_batch;
    size_t in = (size_t)REG.in_c * REG.in_h * REG.in_w;
    float *x = malloc((size_t)n * in * sizeof *x), *targets = calloc((size_t)n * REG.classes, sizeof *targets);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    rt_rng rng;
    rt_rng_seed(&rng, 99, 1);
    for (size_t i = 0; i < (size_t)n * in; i++)
        x[i] = rt_rng_uniform(&rng);
    for (int i = 0; i < n; i++) {
        labels[i] = (int32_t)rt_rng_below(&rng, (uint32_t)REG.classes);
        targets[(size_t)i * REG.classes + labels[i]] = 0.7f;
        targets[(size_t)i * REG.classes + (labels[i] + 1) % REG.classes] = 0.3f;
    }
    check_step(&plain, &reg, terms, nterms, x, labels, NULL, n, "hard labels");
    check_step(&plain, &reg, terms, nterms, x, NULL, targets, n, "soft targets");
    float ep = PLAIN.evaluate(&plain, x, labels, n, NULL), er = REG.evaluate(&reg, x, labels, n, NULL);
    double pen = penalty(terms, nterms, reg.params);
    printf("evaluate: loss %.7g without, %.7g with the regularisers\n", ep, er);
    expect_loss("evaluate", er, ep, pen);
    float none = REG.evaluate(&reg, x, NULL, n, NULL);
    if (none != 0.0f)
        fail("evaluate without labels", "", none, 0);
    free(x);
    free(targets);
    free(labels);
    rt_net_free(&plain);
    rt_net_free(&reg);
    printf("penalty_check: %d term(s), %s\n", nterms, failures ? "FAILED" : "the loss and gradients hold them");
    return failures ? 1 : 0;
}
