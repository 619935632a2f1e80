/* model_only.c -- a generated model used with nothing but the runtime's core and kernel
 * layers, as a program that ships a model links it (tests/t_layers.sh):
 *
 *   cc -Iruntime -IDIR -DMODEL=M_model model_only.c DIR/M.c \
 *      build/libnetcrt_kernels.a build/libnetcrt_core.a -lopenblas -lm
 *
 * That it links at all is most of the test: no data set, checkpoint, zlib, libzip or
 * libpng symbol may be needed.  It then takes 30 Adam steps on one fixed random batch
 * and requires every loss to be finite and the last step's training loss to be below
 * the first's (a model fits 4 images), so that what linked also runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "kernels/rt_kernels.h"

#ifndef MODEL
#error "compile with -DMODEL=prefix_model (the generated rt_model)"
#endif
extern const rt_model MODEL;

int main(void)
{
    const rt_model *m = &MODEL;
    enum { N = 4, STEPS = 30 };
    size_t image = (size_t)m->in_c * (size_t)m->in_h * (size_t)m->in_w;
    float *x = malloc(N * image * sizeof(float));
    int32_t labels[N];
    rt_net net;
    if (!x || rt_net_alloc(&net, m)) {
        fprintf(stderr, "%s: out of memory\n", m->name);
        return 1;
    }
    rt_rng rng;
    rt_rng_seed(&rng, 7, 1);
    for (size_t i = 0; i < N * image; i++)
        x[i] = rt_rng_normal(&rng);
    for (int i = 0; i < N; i++)
        labels[i] = (int32_t)((unsigned)i % (unsigned)m->classes);
    m->init(&net, 1);
    rt_rng_seed(&net.rng, 1, 2);   /* dropout masks */
    float first = 0, last = 0;
    for (int s = 0; s < STEPS; s++) {
        last = m->train_step(&net, x, labels, NULL, N, NULL);
        if (s == 0)
            first = last;
    }
    float infer = m->evaluate(&net, x, labels, N, NULL);
    rt_net_free(&net);
    free(x);
    printf("%s: training loss %.4f -> %.4f in %d steps; inference loss %.4f\n", m->name, first, last, STEPS,
           infer);
    if (!isfinite(first) || !isfinite(last) || !isfinite(infer) || !(last < first)) {
        fprintf(stderr, "%s: the training loss did not fall\n", m->name);
        return 1;
    }
    return 0;
}
