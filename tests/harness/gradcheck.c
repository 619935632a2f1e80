/* gradcheck.c — finite-difference check of a whole generated model's gradients.
 *
 * Built against one model's generated C (-DMODEL=prefix_model).  The model trains with
 * SGD at lr = 0, so a train_step computes the loss and the analytic parameter
 * gradients without moving anything; the dropout RNG is reset before every step so
 * each evaluation sees the same masks.  For every trainable tensor, up to PER_TENSOR
 * entries are perturbed by +-H and the central difference (L(p+h) - L(p-h)) / 2h is
 * compared with the analytic gradient.  Both integer labels and soft (MixUp-style)
 * targets are checked, at a partial batch (n < max batch).
 *
 * Tolerance: |numeric - analytic| <= ATOL + RTOL * max(|numeric|, |analytic|).  The
 * loss is float32 (~1e-7 relative rounding), so with H = 1e-3 the numeric derivative
 * carries ~2e-4 absolute noise; ATOL = 5e-4 covers it, and RTOL = 2e-2 covers the
 * O(H^2) truncation error of smooth ops.  Inputs are continuous random values, so a
 * perturbation crossing a relu kink or a max-pool tie is rare; the check allows none
 * of them unless the same entry also fails at H/4 (a kink moves with H, a wrong
 * gradient does not).  Exit status 1 on any failure, with the tensor and entry. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netc_rt.h"

extern const rt_model MODEL;

#define H 1e-3f
#define ATOL 5e-4
#define RTOL 2e-2
#define PER_TENSOR 24

static float loss_at(rt_net *net, const rt_rng *rng0, const float *x, const int32_t *labels, const float *targets,
                     int n)
{
    net->rng = *rng0;
    return MODEL.train_step(net, x, labels, targets, n, NULL);
}

static double numeric(rt_net *net, const rt_rng *rng0, float *p, float h, const float *x, const int32_t *labels,
                      const float *targets, int n)
{
    float saved = *p;
    *p = saved + h;
    double lp = loss_at(net, rng0, x, labels, targets, n);
    *p = saved - h;
    double lm = loss_at(net, rng0, x, labels, targets, n);
    *p = saved;
    return (lp - lm) / (2.0 * h);
}

static bool close_enough(double num, double ana)
{
    double scale = fabs(num) > fabs(ana) ? fabs(num) : fabs(ana);
    return fabs(num - ana) <= ATOL + RTOL * scale;
}

static int check(rt_net *net, const float *x, const int32_t *labels, const float *targets, int n, const char *what)
{
    rt_rng rng0;
    rt_rng_seed(&rng0, 7, 3);
    loss_at(net, &rng0, x, labels, targets, n);
    float *grad = malloc(MODEL.nparams * sizeof *grad);
    memcpy(grad, net->grads, MODEL.nparams * sizeof *grad);
    int failures = 0, checked = 0;
    double worst = 0;
    for (int t = 0; t < MODEL.ntensors; t++) {
        const rt_tensor_info *ti = &MODEL.tensors[t];
        if (!ti->trainable)
            continue;
        size_t count = 1;
        for (int d = 0; d < ti->rank; d++)
            count *= (size_t)ti->shape[d];
        size_t step = count > PER_TENSOR ? count / PER_TENSOR : 1;
        for (size_t e = 0; e < count; e += step) {
            float *p = net->params + ti->offset + e;
            double ana = grad[ti->offset + e];
            double num = numeric(net, &rng0, p, H, x, labels, targets, n);
            checked++;
            double err = fabs(num - ana);
            if (!close_enough(num, ana)) {
                double num2 = numeric(net, &rng0, p, H / 4, x, labels, targets, n);
                if (close_enough(num2, ana))
                    continue;   /* a kink inside [p - H, p + H], not a wrong gradient */
                failures++;
                fprintf(stderr, "FAIL %s %s[%zu]: analytic %.6g numeric %.6g (h/4: %.6g)\n", what, ti->name, e, ana,
                        num, num2);
            }
            if (err > worst)
                worst = err;
        }
    }
    printf("%s %s: %d gradient entries checked, worst |numeric - analytic| %.3g, %d failures\n", MODEL.name, what,
           checked, worst, failures);
    free(grad);
    return failures;
}

int main(void)
{
    rt_net net;
    if (rt_net_alloc(&net, &MODEL) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    MODEL.init(&net, 42);
    net.h = (rt_hparams){ .optimizer = RT_SGD, .lr = 0.0f };
    int n = MODEL.max_batch > 1 ? MODEL.max_batch - 1 : 1;   /* a partial batch */
    size_t in = (size_t)MODEL.in_c * MODEL.in_h * MODEL.in_w;
    float *x = malloc((size_t)n * in * sizeof *x);
    float *targets = malloc((size_t)n * MODEL.classes * sizeof *targets);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    rt_rng rng;
    rt_rng_seed(&rng, 1234, 1);
    for (size_t i = 0; i < (size_t)n * in; i++)
        x[i] = 2.0f * rt_rng_uniform(&rng) - 1.0f;
    for (int i = 0; i < n; i++) {
        labels[i] = (int32_t)rt_rng_below(&rng, (uint32_t)MODEL.classes);
        float lam = rt_rng_uniform(&rng);   /* a MixUp-like pair of classes */
        int other = (int)rt_rng_below(&rng, (uint32_t)MODEL.classes);
        for (int k = 0; k < MODEL.classes; k++)
            targets[(size_t)i * MODEL.classes + k] = 0.0f;
        targets[(size_t)i * MODEL.classes + labels[i]] += lam;
        targets[(size_t)i * MODEL.classes + other] += 1.0f - lam;
    }
    int failures = check(&net, x, labels, NULL, n, "hard labels");
    failures += check(&net, x, NULL, targets, n, "soft targets");
    free(x);
    free(targets);
    free(labels);
    rt_net_free(&net);
    return failures ? 1 : 0;
}
