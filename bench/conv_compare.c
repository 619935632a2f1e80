/* The convolution kernels of two versions of runtime/kernels/conv.c, side by side on the
 * shapes of the models' convolutions (batch 100, stride 1): forward, the weight gradient
 * alone (no input gradient) and the whole backward, each the best of REPS runs, in ms
 * and GFLOP/s (2 flops a multiply-add), and the ratio old / new.  Built and run by
 * bench/conv_compare.sh, which compiles conv.c of a git revision as "old_*" and the
 * working tree's as "new_*"; not part of `make test`.  Run it on a quiet host, or on one
 * thread (NETC_NUM_THREADS=1), whose figures another job on a second core barely moves. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "netc_rt.h"

typedef void (*conv_fwd_fn)(float *, const float *, const float *, const float *, float *, int,
                            const rt_conv_desc *);
typedef void (*conv_bwd_fn)(float *, float *, float *, const float *, const float *,
                            const float *, float *, int, const rt_conv_desc *, int);
typedef size_t (*conv_ws_fn)(const rt_conv_desc *);

#define CONV_VERSION(V)                                                                     \
    void V##_conv2d_forward(float *, const float *, const float *, const float *, float *, \
                            int, const rt_conv_desc *);                                    \
    void V##_conv2d_backward(float *, float *, float *, const float *, const float *,      \
                             const float *, float *, int, const rt_conv_desc *, int);      \
    size_t V##_conv2d_workspace_floats(const rt_conv_desc *);
CONV_VERSION(old)
CONV_VERSION(new)

static const struct {
    const char *name;
    int C, H, W, K, k, pad;
} shapes[] = {
    { "lenet_bn conv2d_1", 1, 28, 28, 16, 5, 2 },     { "lenet_bn conv2d_2", 16, 14, 14, 32, 5, 2 },
    { "mnist_cnn conv2d_1", 1, 28, 28, 32, 3, 0 },    { "mnist_cnn conv2d_2", 32, 13, 13, 64, 3, 0 },
    { "mnist_cnn conv2d_3", 64, 5, 5, 64, 3, 0 },     { "lenet_deep conv2d_3", 32, 7, 7, 64, 3, 1 },
    { "lenet_deep conv2d_4", 64, 3, 3, 128, 3, 1 },   { "simplenet 32->32 28x28", 32, 28, 28, 32, 3, 1 },
    { "simplenet 32->64 14x14", 32, 14, 14, 64, 3, 1 }, { "simplenet 64->64 14x14", 64, 14, 14, 64, 3, 1 },
    { "resnet 16->16 28x28", 16, 28, 28, 16, 3, 1 },  { "resnet 32->32 14x14", 32, 14, 14, 32, 3, 1 },
    { "resnet 64->64 7x7", 64, 7, 7, 64, 3, 1 },
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *random_floats(size_t n)
{
    float *p = malloc(n * sizeof(float));
    if (!p) {
        fprintf(stderr, "conv_compare: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return p;
}

typedef struct {
    conv_fwd_fn fwd;
    conv_bwd_fn bwd;
    conv_ws_fn ws;
} conv_version;

/* The best time over reps of one pass (0 forward, 1 weight gradient, 2 whole backward). */
static double best_time(conv_version v, int pass, const rt_conv_desc *d, int N, int reps)
{
    size_t nx = (size_t)N * d->C * d->H * d->W, ny = (size_t)N * d->K * d->OH * d->OW;
    size_t nw = (size_t)d->K * d->C * d->kh * d->kw;
    float *x = random_floats(nx), *dx = random_floats(nx), *y = random_floats(ny);
    float *w = random_floats(nw), *dw = random_floats(nw), *b = random_floats((size_t)d->K);
    float *work = random_floats(v.ws(d));
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = now();
        if (pass == 0)
            v.fwd(y, x, w, b, work, N, d);
        else
            v.bwd(pass == 2 ? dx : NULL, dw, b, y, x, w, work, N, d, 1);
        t = now() - t;
        if (t < best)
            best = t;
    }
    free(x); free(dx); free(y); free(w); free(dw); free(b); free(work);
    return best;
}

int main(int argc, char **argv)
{
    int N = 100, reps = argc > 1 ? atoi(argv[1]) : 5;
    conv_version old = { old_conv2d_forward, old_conv2d_backward, old_conv2d_workspace_floats };
    conv_version new = { new_conv2d_forward, new_conv2d_backward, new_conv2d_workspace_floats };
    static const char *pass_name[3] = { "forward", "weight gradient", "backward" };
    printf("| shape (batch %d) | pass | old ms | old GFLOP/s | new ms | new GFLOP/s | old / new |\n", N);
    printf("|---|---|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int k = shapes[i].k, p = shapes[i].pad;
        rt_conv_desc d = { shapes[i].C, shapes[i].H, shapes[i].W, shapes[i].K, k, k, 1, p, p, p, p, 0, 0 };
        d.OH = d.H + 2 * p - k + 1;
        d.OW = d.W + 2 * p - k + 1;
        double flops = 2.0 * N * d.K * d.OH * d.OW * (double)d.C * k * k;
        for (int pass = 0; pass < 3; pass++) {
            double f = pass == 2 ? 2 * flops : flops;
            double to = best_time(old, pass, &d, N, reps), tn = best_time(new, pass, &d, N, reps);
            printf("| %s | %s | %.3f | %.1f | %.3f | %.1f | %.2f |\n", shapes[i].name, pass_name[pass],
                   to * 1e3, f / to * 1e-9, tn * 1e3, f / tn * 1e-9, to / tn);
        }
    }
    return 0;
}
