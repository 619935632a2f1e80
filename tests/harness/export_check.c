/* export_check.c -- a model exported by `netc export-c` against the trainer's own model
 * code on a whole test set (tests/t_export.sh):
 *
 *   netc compile M.net --name tr -o DIR        the trainer's C of the model (prefix tr)
 *   netc export-c M.net --weights CKPT -n ex -o DIR
 *   cc -Iruntime -IDIR export_check.c DIR/tr.c DIR/ex.c DIR/netc_infer.c build/libnetcrt.a ...
 *   ./export_check CKPT [--blob DIR/ex.weights] [--limit N]
 *
 * The trainer side is what `eval` does: the checkpoint's weights and settings, the test
 * images through the trainer's batch transform (normalisation), tr_evaluate.  The
 * exported side gets each image as the trainer's pixels scaled to [0, 1] and does its
 * own normalisation.  Every image must get the same top-1 class, every probability must
 * agree within 1e-5 relative (or 1e-7 absolute for the tiny ones), and the exported
 * predict must refuse a bad batch, a NULL pointer and a misaligned workspace. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netc_rt.h"
#include "tr.h"
#include "ex.h"

#define BATCH 100

static float workspace_mem[EX_WORKSPACE_BYTES / sizeof(float) + 32];

/* The first 64-byte aligned address of workspace_mem, plus `skew` bytes. */
static void *aligned_workspace(size_t skew)
{
    uintptr_t p = (uintptr_t)workspace_mem;
    return (void *)((p + 63) / 64 * 64 + skew);
}

#ifdef EX_WEIGHTS_BYTES
static float blob_mem[EX_WEIGHTS_BYTES / sizeof(float) + 1];
#define PREDICT(x, n, probs, ws) ex_predict(x, n, probs, ws, blob_mem)
#else
#define PREDICT(x, n, probs, ws) ex_predict(x, n, probs, ws)
#endif

static int fail(const char *what)
{
    fprintf(stderr, "export_check: %s\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    const rt_model *m = &tr_model;
    const char *ckpt = argc > 1 ? argv[1] : NULL;
    size_t limit = 0;
    for (int i = 2; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--limit") == 0)
            limit = (size_t)atol(argv[i + 1]);
#ifdef EX_WEIGHTS_BYTES
        else if (strcmp(argv[i], "--blob") == 0) {
            int rc = ex_weights_read(argv[i + 1], blob_mem, sizeof blob_mem);
            if (rc != EX_OK) {
                fprintf(stderr, "export_check: %s: %s\n", argv[i + 1], ex_strerror(rc));
                return 1;
            }
        }
#endif
    if (!ckpt)
        return fail("usage: export_check CKPT [--blob FILE] [--limit N]");
    char err[1024];
    rt_net net;
    rt_ckpt_info info;
    rt_data data;
    rt_batch_xform xf;
    if (rt_net_alloc(&net, m) || rt_trainer_load_weights(ckpt, m, &net, &info, err, sizeof err))
        return fail(err);
    info.cfg.test_limit = 0;
    if (rt_trainer_load_data(&data, &info.cfg, m, err, sizeof err) ||
        rt_trainer_xform(&xf, &data.test, &info.cfg, m, err, sizeof err))
        return fail(err);
    const rt_dataset *ds = &data.test;   /* all of it: a checkpoint's test_limit is ignored */
    size_t image = (size_t)m->in_c * m->in_h * m->in_w, n = limit && limit < ds->n ? limit : ds->n;
    if ((size_t)ds->C * ds->H * ds->W != image)
        return fail("the data's images are not the model's input size (padding is not compared)");
    for (int k = 0; k < EX_CLASSES; k++)
        if (strcmp(ex_class_names[k], info.class_names[k]) != 0)
            return fail("the exported class names are not the checkpoint's");

    float *x = malloc(BATCH * image * sizeof *x), *probs = malloc(BATCH * EX_CLASSES * sizeof *probs);
    float xe[EX_IN_C * EX_IN_H * EX_IN_W], pe[EX_CLASSES];
    uint32_t idx[BATCH];
    size_t top1_diff = 0, bad_prob = 0, same_bits = 0;
    double worst = 0;
    size_t batch = (size_t)m->max_batch < BATCH ? (size_t)m->max_batch : BATCH;
    for (size_t at = 0; at < n; at += batch) {
        size_t b = n - at < batch ? n - at : batch;
        for (size_t i = 0; i < b; i++)
            idx[i] = (uint32_t)(at + i);
        if (rt_batch_fill(&xf, ds, idx, b, x, NULL, err, sizeof err))
            return fail(err);
        if (isnan(m->evaluate(&net, x, NULL, (int)b, probs)))
            return fail("the trainer's evaluate refused the batch");
        for (size_t i = 0; i < b; i++) {
            const uint8_t *px = ds->pixels + (at + i) * image;
            for (size_t j = 0; j < image; j++)
                xe[j] = (float)px[j] / 255.0f;
            int rc = PREDICT(xe, 1, pe, aligned_workspace(0));
            if (rc != EX_OK) {
                fprintf(stderr, "export_check: image %zu: %s\n", at + i, ex_strerror(rc));
                return 1;
            }
            const float *pt = probs + i * EX_CLASSES;
            int bt = 0, be = 0;
            for (int k = 0; k < EX_CLASSES; k++) {
                bt = pt[k] > pt[bt] ? k : bt;
                be = pe[k] > pe[be] ? k : be;
                double diff = fabs((double)pe[k] - pt[k]), rel = diff / fmax(fabs((double)pt[k]), 1e-30);
                if (diff > 1e-7 && rel > 1e-5)
                    bad_prob++;
                if (diff > 1e-7 && rel > worst)
                    worst = rel;
            }
            top1_diff += bt != be;
            same_bits += memcmp(pt, pe, sizeof pe) == 0;
        }
    }
    /* The API's refusals. */
    int refused = PREDICT(xe, 0, pe, aligned_workspace(0)) == EX_ERR_BATCH &&
                  PREDICT(xe, EX_MAX_BATCH + 1, pe, aligned_workspace(0)) == EX_ERR_BATCH &&
                  PREDICT(NULL, 1, pe, aligned_workspace(0)) == EX_ERR_NULL &&
                  PREDICT(xe, 1, NULL, aligned_workspace(0)) == EX_ERR_NULL &&
                  PREDICT(xe, 1, pe, NULL) == EX_ERR_NULL && PREDICT(xe, 1, pe, aligned_workspace(4)) == EX_ERR_ALIGN;
    printf("%s: %zu test images: top-1 differs on %zu, %zu probabilities off by > 1e-5 relative (worst %.2e), "
           "%zu images with the trainer's bits%s\n", m->name, n, top1_diff, bad_prob, worst, same_bits,
           refused ? "" : "; a bad call was NOT refused");
    free(x);
    free(probs);
    rt_ckpt_info_free(&info);
    rt_data_free(&data);
    rt_net_free(&net);
    return top1_diff || bad_prob || !refused;
}
