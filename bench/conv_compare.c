/* The convolution kernels of two versions of runtime/kernels/conv.c, side by side on the
 * shapes of the models' convolutions (batch 100, stride 1): forward, the weight gradient
 * alone (no input gradient) and the whole backward, each the best of REPS runs, in ms
 * and GFLOP/s (2 flops a multiply-add): the old version, the new one in fp32, the ratio
 * old / new, and, where the CPU has AVX512_BF16, the new one with bf16 factors (RT_BF16)
 * and its ratio to the new fp32.  Built and run by bench/conv_compare.sh, which compiles
 * conv.c of a git revision as "old_*" (OLD_PREC: its functions take the precision
 * argument) and the working tree's as "new_*"; not part of `make test`.  Run it on a
 * quiet host, or on one thread (NETC_NUM_THREADS=1), whose figures another job on a
 * second core barely moves. */
#include <stdio.h>
#include <stdlib.h>
#include "netc_rt.h"

#define CONV_VERSION(V)                                                                    \
    void V##_conv2d_forward();                                                             \
    void V##_conv2d_backward();                                                            \
    size_t V##_conv2d_workspace_floats(const rt_conv_desc *);                               \
    int V##_bf16_available(void);
CONV_VERSION(old)
CONV_VERSION(new)
#undef CONV_VERSION

/* The three versions timed: 0 old, 1 new fp32, 2 new bf16. */
static void forward(int v, float *y, const float *x, const float *w, const float *b, float *work, int N,
                    const rt_conv_desc *d)
{
    void (*fwd_prec)(float *, const float *, const float *, const float *, float *, int,
                     const rt_conv_desc *, rt_precision) = (void (*)())(v ? new_conv2d_forward : old_conv2d_forward);
    void (*fwd_old)(float *, const float *, const float *, const float *, float *, int, const rt_conv_desc *) =
        (void (*)())old_conv2d_forward;
    if (v == 0 && !OLD_PREC)
        fwd_old(y, x, w, b, work, N, d);
    else
        fwd_prec(y, x, w, b, work, N, d, v == 2 ? RT_BF16 : RT_FP32);
}

static void backward(int v, float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                     float *work, int N, const rt_conv_desc *d)
{
    void (*bwd_prec)(float *, float *, float *, const float *, const float *, const float *, float *, int,
                     const rt_conv_desc *, int, rt_precision) =
        (void (*)())(v ? new_conv2d_backward : old_conv2d_backward);
    void (*bwd_old)(float *, float *, float *, const float *, const float *, const float *, float *, int,
                    const rt_conv_desc *, int) = (void (*)())old_conv2d_backward;
    if (v == 0 && !OLD_PREC)
        bwd_old(dx, dw, db, dy, x, w, work, N, d, 1);
    else
        bwd_prec(dx, dw, db, dy, x, w, work, N, d, 1, v == 2 ? RT_BF16 : RT_FP32);
}

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

/* The best time over reps of one pass (0 forward, 1 weight gradient, 2 whole backward) of
 * version v. */
static double best_time(int v, int pass, const rt_conv_desc *d, int N, int reps)
{
    size_t nx = (size_t)N * d->C * d->H * d->W, ny = (size_t)N * d->K * d->OH * d->OW;
    size_t nw = (size_t)d->K * d->C * d->kh * d->kw;
    size_t nwork = v ? new_conv2d_workspace_floats(d) : old_conv2d_workspace_floats(d);
    float *x = random_floats(nx), *dx = random_floats(nx), *y = random_floats(ny);
    float *w = random_floats(nw), *dw = random_floats(nw), *b = random_floats((size_t)d->K);
    float *work = random_floats(nwork);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = rt_clock_seconds();
        if (pass == 0)
            forward(v, y, x, w, b, work, N, d);
        else
            backward(v, pass == 2 ? dx : NULL, dw, b, y, x, w, work, N, d);
        t = rt_clock_seconds() - t;
        if (t < best)
            best = t;
    }
    free(x); free(dx); free(y); free(w); free(dw); free(b); free(work);
    return best;
}

int main(int argc, char **argv)
{
    int N = 100, reps = argc > 1 ? atoi(argv[1]) : 5, bf16 = new_bf16_available();
    static const char *pass_name[3] = { "forward", "weight gradient", "backward" };
    printf("| shape (batch %d) | pass | old ms | old GFLOP/s | new ms | new GFLOP/s | old / new |%s\n", N,
           bf16 ? " bf16 ms | bf16 GFLOP/s | fp32 / bf16 |" : "");
    printf("|---|---|---:|---:|---:|---:|---:|%s\n", bf16 ? "---:|---:|---:|" : "");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int k = shapes[i].k, p = shapes[i].pad;
        rt_conv_desc d = { shapes[i].C, shapes[i].H, shapes[i].W, shapes[i].K, k, k, 1, p, p, p, p, 0, 0 };
        d.OH = d.H + 2 * p - k + 1;
        d.OW = d.W + 2 * p - k + 1;
        double flops = 2.0 * N * d.K * d.OH * d.OW * (double)d.C * k * k;
        for (int pass = 0; pass < 3; pass++) {
            double f = pass == 2 ? 2 * flops : flops;
            double to = best_time(0, pass, &d, N, reps), tn = best_time(1, pass, &d, N, reps);
            printf("| %s | %s | %.3f | %.1f | %.3f | %.1f | %.2f |", shapes[i].name, pass_name[pass], to * 1e3,
                   f / to * 1e-9, tn * 1e3, f / tn * 1e-9, to / tn);
            if (bf16) {
                double tb = best_time(2, pass, &d, N, reps);
                printf(" %.3f | %.1f | %.2f |", tb * 1e3, f / tb * 1e-9, tn / tb);
            }
            printf("\n");
        }
    }
    return 0;
}
