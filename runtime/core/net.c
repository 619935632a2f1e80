/* net.c — the memory of a generated model (rt_net).
 * Parameters, gradients and optimizer state share one layout, so the optimizer is
 * one flat loop (rt_optimizer_step, kernels/optim.c) over all of them. */
#include <stdlib.h>
#include <string.h>
#include "rt_core.h"

static void *zalloc_aligned(size_t bytes)
{
    size_t size = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, size ? size : 64);
    if (p)
        memset(p, 0, size ? size : 64);
    return p;
}

int rt_net_alloc(rt_net *net, const rt_model *m)
{
    memset(net, 0, sizeof *net);
    size_t pbytes = m->nparams * sizeof(float);
    size_t arena = m->arena_bytes > m->infer_arena_bytes ? m->arena_bytes : m->infer_arena_bytes;
    net->params = zalloc_aligned(pbytes);
    net->grads = zalloc_aligned(pbytes);
    net->opt1 = zalloc_aligned(pbytes);
    net->opt2 = zalloc_aligned(pbytes);
    net->state = zalloc_aligned(m->nstate * sizeof(float));
    net->arena = zalloc_aligned(arena);
    if (!net->params || !net->grads || !net->opt1 || !net->opt2 || !net->state || !net->arena) {
        rt_net_free(net);
        return -1;
    }
    net->h = (rt_hparams){ RT_ADAM, 1e-3f, 0.0f, 0.0f, 0.9f, 0.999f, 1e-8f, 0 };
    return 0;
}

void rt_net_free(rt_net *net)
{
    free(net->params);
    free(net->grads);
    free(net->opt1);
    free(net->opt2);
    free(net->state);
    free(net->arena);
    memset(net, 0, sizeof *net);
}
