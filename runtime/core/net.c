/* net.c — the memory of a generated model (rt_net).
 * Parameters, gradients and optimizer state share one layout, so the optimizer is
 * one flat loop (rt_optimizer_step, kernels/optim.c) over all of them.  A new net's
 * optimizer is the train settings' default (common/settings.def) until the trainer sets
 * its own. */
#include <stdlib.h>
#include <string.h>
#include "rt_core.h"
#include "../../common/settings.h"

/* rt_optimizer is the optimizer setting's enum, value for value (rt_config_hparams casts). */
_Static_assert(RT_SGD == (int)OPTIMIZER_SGD && RT_ADAM == (int)OPTIMIZER_ADAM && RT_ADAMW == (int)OPTIMIZER_ADAMW,
               "rt_optimizer and the optimizer words of common/settings.def differ");

static float default_of(setting_id id)
{
    return strtof(setting_specs[id].def, NULL);
}

static rt_hparams default_hparams(void)
{
    const setting_spec *opt = &setting_specs[SETTING_optimizer];
    return (rt_hparams){
        .optimizer = (rt_optimizer)setting_word_index(opt, opt->def),
        .lr = default_of(SETTING_lr),
        .momentum = default_of(SETTING_momentum),
        .weight_decay = default_of(SETTING_weight_decay),
        .beta1 = default_of(SETTING_beta1),
        .beta2 = default_of(SETTING_beta2),
        .eps = default_of(SETTING_eps),
        .nesterov = strcmp(setting_specs[SETTING_nesterov].def, "true") == 0,
    };
}

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
    net->h = default_hparams();
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
