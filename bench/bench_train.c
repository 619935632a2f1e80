/* bench_train.c -- throughput of one netc-compiled model's train_step and evaluate, on
 * random in-memory data, for bench/bench_export.sh (which compiles the model, builds this
 * file against it with -DMODEL=NAME_model) or alone.
 *
 *   bench_train train BATCH STEPS WARMUP    img/s of STEPS train_steps at BATCH
 *   bench_train infer BATCH IMAGES WARMUP   img/s of evaluate over IMAGES images in
 *                                           batches of BATCH (the last one partial)
 *
 * What is timed matches the PyTorch peer script (torch_peer.py train/infer) as closely
 * as the two allow: Adam at lr
 * 1e-3, one optimizer step per batch, each batch a different slice of a pool of
 * POOL_IMAGES random images in [0, 1) with random labels (PyTorch's script indexes a
 * random permutation of Fashion-MNIST; data values do not change the work), probs not
 * copied out.  WARMUP untimed steps (or images, for infer) come first.  Prints one line:
 *   MODE batch=B img_per_s=R seconds=S loss=L
 * The loss is printed so a broken build (NaN) is seen; nothing else is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netc_rt.h"

extern const rt_model MODEL;

enum { POOL_IMAGES = 4096 };

static void usage(void)
{
    fprintf(stderr, "usage: bench_train train|infer BATCH COUNT WARMUP\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc != 5)
        usage();
    int train = strcmp(argv[1], "train") == 0;
    if (!train && strcmp(argv[1], "infer") != 0)
        usage();
    int batch = atoi(argv[2]);
    long count = atol(argv[3]), warmup = atol(argv[4]);
    if (batch < 1 || batch > MODEL.max_batch || batch > POOL_IMAGES || count < 1 || warmup < 0) {
        fprintf(stderr, "bench_train: batch must lie in 1..%d, counts positive\n", MODEL.max_batch);
        return 2;
    }
    size_t img = (size_t)MODEL.in_c * MODEL.in_h * MODEL.in_w;
    float *x = malloc(POOL_IMAGES * img * sizeof(float));
    int32_t *labels = malloc(POOL_IMAGES * sizeof(int32_t));
    rt_net net;
    if (!x || !labels || rt_net_alloc(&net, &MODEL) != 0) {
        fprintf(stderr, "bench_train: out of memory\n");
        return 1;
    }
    rt_rng rng;
    rt_rng_seed(&rng, 42, 1);
    for (size_t i = 0; i < POOL_IMAGES * img; i++)
        x[i] = rt_rng_uniform(&rng);
    for (int i = 0; i < POOL_IMAGES; i++)
        labels[i] = (int32_t)rt_rng_below(&rng, (uint32_t)MODEL.classes);
    MODEL.init(&net, 1234);
    net.h = (rt_hparams){ RT_ADAM, 1e-3f, 0.0f, 0.0f, 0.9f, 0.999f, 1e-8f, 0 };

    /* The batch starting at image `at` of the pool (wrapping to 0 when it would run past). */
    int at = 0;
    float loss = 0.0f;
    double t0 = 0.0;
    long images = 0;
    if (train) {
        for (long s = 0; s < warmup + count; s++) {
            if (s == warmup)
                t0 = rt_clock_seconds();
            if (at + batch > POOL_IMAGES)
                at = 0;
            loss = MODEL.train_step(&net, x + (size_t)at * img, labels + at, NULL, batch, NULL);
            at += batch;
        }
        images = count * batch;
    } else {
        for (int pass = 0; pass < 2; pass++) {
            long total = pass == 0 ? warmup : count;
            if (pass == 1)
                t0 = rt_clock_seconds();
            for (long done = 0; done < total;) {
                int n = total - done < batch ? (int)(total - done) : batch;
                if (at + n > POOL_IMAGES)
                    at = 0;
                loss = MODEL.evaluate(&net, x + (size_t)at * img, labels + at, n, NULL);
                at += n;
                done += n;
            }
        }
        images = count;
    }
    double dt = rt_clock_seconds() - t0;
    printf("%s batch=%d img_per_s=%.1f seconds=%.3f loss=%.4f\n", argv[1], batch,
           (double)images / dt, dt, loss);
    rt_net_free(&net);
    free(x);
    free(labels);
    return 0;
}
