/* eval_xform.c — evaluation on transformed data: each example augmented, or MixUp'ed
 * with a partner, as `eval --augment-rotate 25`, `eval --mixup ALPHA` and the training
 * loop's mixed-validation accuracy (eval_mixup) ask.
 *
 * The random numbers come from two streams of the given seed, one for augmentation and
 * one for mixing, drawn batch by batch in the set's order, so a result repeats exactly
 * for a seed (and a program: the batches are the model's max_batch).  Mixing pairs
 * example i with example perm[i] of one shuffle of the set (the same pairs as two
 * independently shuffled streams, notebook 000's generator) with its own lambda ~
 * Beta(alpha, alpha); the image is lambda * x_i + (1 - lambda) * x_partner.  The loss is
 * the cross-entropy against the mixed one-hot labels, the accuracy counts the label
 * weighing more (Keras's categorical accuracy on one-hot mixtures), and the confusion
 * matrix uses that label as the true class.  Without a transform this is
 * rt_trainer_evaluate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rt_trainer.h"

/* Random streams of the seed (train_data.c uses 1, train_loop.c 2 to 4). */
#define STREAM_EVAL_AUGMENT 5
#define STREAM_EVAL_MIXUP 6

typedef struct {
    float *x, *x2, *probs, *lam;
    int32_t *labels, *labels2;
    uint32_t *bidx, *pidx, *perm;
} xform_buffers;

static void buffers_free(xform_buffers *b)
{
    free(b->x);
    free(b->x2);
    free(b->probs);
    free(b->lam);
    free(b->labels);
    free(b->labels2);
    free(b->bidx);
    free(b->pidx);
    free(b->perm);
}

static int buffers_alloc(xform_buffers *b, const rt_model *m, size_t n)
{
    size_t B = (size_t)m->max_batch, F = (size_t)m->in_c * m->in_h * m->in_w;
    memset(b, 0, sizeof *b);
    b->x = malloc(B * F * sizeof(float));
    b->x2 = malloc(B * F * sizeof(float));
    b->probs = malloc(B * (size_t)m->classes * sizeof(float));
    b->lam = malloc(B * sizeof(float));
    b->labels = malloc(B * sizeof(int32_t));
    b->labels2 = malloc(B * sizeof(int32_t));
    b->bidx = malloc(B * sizeof(uint32_t));
    b->pidx = malloc(B * sizeof(uint32_t));
    b->perm = malloc((n ? n : 1) * sizeof(uint32_t));
    return b->x && b->x2 && b->probs && b->lam && b->labels && b->labels2 && b->bidx && b->pidx && b->perm ? 0 : -1;
}

static void augment_batch(const rt_augment *a, float *x, size_t bn, size_t F, rt_rng *r)
{
    for (size_t i = 0; a && rt_augment_active(a) && i < bn; i++)
        rt_augment_image(a, x + i * F, r);
}

static double neg_log(float p)
{
    return -log(p > 1e-30f ? (double)p : 1e-30);
}

int rt_trainer_evaluate_xformed(const rt_model *m, rt_net *net, const rt_batch_xform *xf, const rt_dataset *ds,
                                const uint32_t *idx, size_t n, const rt_eval_xform *t, double *loss, double *acc,
                                uint64_t *confusion, char *err, size_t errlen)
{
    size_t F = (size_t)m->in_c * m->in_h * m->in_w, K = (size_t)m->classes;
    int mixing = t->mixup > 0;
    xform_buffers b;
    if (buffers_alloc(&b, m, n)) {
        buffers_free(&b);
        return rt_fail(err, errlen, "out of memory for the evaluation buffers");
    }
    rt_rng raug, rmix;
    rt_rng_seed(&raug, t->seed, STREAM_EVAL_AUGMENT);
    rt_rng_seed(&rmix, t->seed, STREAM_EVAL_MIXUP);
    for (size_t i = 0; i < n; i++)
        b.perm[i] = (uint32_t)i;
    if (mixing)
        rt_rng_shuffle(&rmix, b.perm, n);
    double loss_sum = 0;
    size_t correct = 0;
    int rc = 0;
    for (size_t pos = 0; pos < n && rc == 0;) {
        size_t bn = n - pos < (size_t)m->max_batch ? n - pos : (size_t)m->max_batch;
        for (size_t i = 0; i < bn; i++) {
            b.bidx[i] = idx ? idx[pos + i] : (uint32_t)(pos + i);
            b.pidx[i] = idx ? idx[b.perm[pos + i]] : b.perm[pos + i];
        }
        if (rt_batch_fill(xf, ds, b.bidx, bn, b.x, b.labels, err, errlen) ||
            (mixing && rt_batch_fill(xf, ds, b.pidx, bn, b.x2, b.labels2, err, errlen))) {
            rc = -1;
            break;
        }
        augment_batch(t->aug, b.x, bn, F, &raug);
        if (mixing) {
            augment_batch(t->aug, b.x2, bn, F, &raug);
            rt_mixup_pairs(b.x, NULL, b.lam, b.x2, b.labels, b.labels2, (int)bn, F, (int)K, t->mixup, 0, &rmix);
        }
        float l = m->evaluate(net, b.x, mixing ? NULL : b.labels, (int)bn, b.probs);
        for (size_t i = 0; i < bn; i++) {
            const float *p = b.probs + i * K;
            int pred = rt_argmax(p, (int)K), want = b.labels[i];
            if (mixing) {
                loss_sum += b.lam[i] * neg_log(p[b.labels[i]]) + (1.0 - b.lam[i]) * neg_log(p[b.labels2[i]]);
                want = b.lam[i] < 0.5f ? b.labels2[i] : b.labels[i];
            }
            correct += pred == want;
            if (confusion)
                confusion[(size_t)want * K + (size_t)pred]++;
        }
        if (!mixing)
            loss_sum += (double)l * (double)bn;
        pos += bn;
    }
    buffers_free(&b);
    *loss = n ? loss_sum / (double)n : 0;
    *acc = n ? (double)correct / (double)n : 0;
    return rc;
}
