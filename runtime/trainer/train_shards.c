/* train_shards.c — one optimizer step on a batch computed as S shards (setting `shards`),
 * spread over the ranks of an MPI run: data-parallel training with the same bits on any
 * number of ranks dividing S, one process included.
 *
 * A batch of n images is cut into S contiguous shards, shard s the images
 * [n*s/S, n*(s+1)/S); rank r computes shards [r*S/R, (r+1)*S/R).  Every shard starts
 * from the same weights, optimizer state, batch-norm statistics and a dropout stream of
 * its own (stream s of a key drawn once a step from net->rng), and runs the model's
 * train_step on its images alone; its gradients, batch-norm statistics, loss and
 * probabilities go into the shard's block, and the weights and optimizer state are put
 * back (train_step also stepped them).  An allgather gives every rank every block in
 * shard order, and each rank then sums them in shard order, each weighed by its share
 * of the batch (n_s / n): the gradient of the batch's mean loss, the statistics'
 * average, the loss.  Then one optimizer step on that gradient.  So what a rank
 * computes never depends on which rank computes the other shards, and the sum's order
 * is fixed: R ranks give the bits of one process with the same S.
 *
 * S = 1 (the default without MPI) never comes here: the trainer calls train_step as it
 * always has.  S > 1 is not the same arithmetic as S = 1: batch norm normalises each
 * shard by its own statistics (as PyTorch's DistributedDataParallel without SyncBatchNorm
 * does), and the dense kernels sum over the images inside one sgemm, whose order a
 * split cannot reproduce.  docs/mpi.md says this. */
#include <stdlib.h>
#include <string.h>
#include "rt_trainer.h"

/* A shard's block: gradients [P], statistics [Q], loss, stop flag, probabilities [smax, K]. */
static size_t block_floats(const rt_model *m, int shards)
{
    size_t smax = ((size_t)m->max_batch + (size_t)shards - 1) / (size_t)shards;
    return m->nparams + m->nstate + 2 + smax * (size_t)m->classes;
}

int rt_shards_init(rt_shards *sh, const rt_model *m, const rt_ranks *ranks, int shards, char *err, size_t errlen)
{
    memset(sh, 0, sizeof *sh);
    if (shards < 1 || shards % ranks->size != 0)   /* the trainer has said why (choose_shards) */
        return rt_fail(err, errlen, "shards %d: not a multiple of the %d ranks", shards, ranks->size);
    sh->m = m;
    sh->ranks = ranks;
    sh->shards = shards;
    sh->block = block_floats(m, shards);
    size_t local = (size_t)(shards / ranks->size);
    sh->snap = malloc((3 * m->nparams + m->nstate + 1) * sizeof(float));
    sh->mine = calloc(local * sh->block, sizeof(float));
    sh->all = calloc((size_t)shards * sh->block, sizeof(float));
    if (!sh->snap || !sh->mine || !sh->all) {
        rt_shards_free(sh);
        return rt_fail(err, errlen, "out of memory for %d shards of the batch", shards);
    }
    return 0;
}

void rt_shards_free(rt_shards *sh)
{
    free(sh->snap);
    free(sh->mine);
    free(sh->all);
    sh->snap = sh->mine = sh->all = NULL;
}

/* What train_step changes besides the gradients: weights, optimizer state, statistics. */
static void snapshot(const rt_shards *sh, const rt_net *net)
{
    size_t P = sh->m->nparams, Q = sh->m->nstate;
    memcpy(sh->snap, net->params, P * sizeof(float));
    memcpy(sh->snap + P, net->opt1, P * sizeof(float));
    memcpy(sh->snap + 2 * P, net->opt2, P * sizeof(float));
    if (Q > 0)
        memcpy(sh->snap + 3 * P, net->state, Q * sizeof(float));
}

static void restore(const rt_shards *sh, rt_net *net, long long t)
{
    size_t P = sh->m->nparams, Q = sh->m->nstate;
    memcpy(net->params, sh->snap, P * sizeof(float));
    memcpy(net->opt1, sh->snap + P, P * sizeof(float));
    memcpy(net->opt2, sh->snap + 2 * P, P * sizeof(float));
    if (Q > 0)
        memcpy(net->state, sh->snap + 3 * P, Q * sizeof(float));
    net->t = t;
}

/* Shard s's images [*lo, *hi) of a batch of n. */
static void shard_range(int n, int shards, int s, int *lo, int *hi)
{
    *lo = (int)((long long)n * s / shards);
    *hi = (int)((long long)n * (s + 1) / shards);
}

/* Runs this rank's shards into sh->mine. */
static void run_local(rt_shards *sh, rt_net *net, const rt_shard_batch *b, uint64_t key, int stop)
{
    const rt_model *m = sh->m;
    size_t P = m->nparams, Q = m->nstate, K = (size_t)m->classes;
    int local = sh->shards / sh->ranks->size;
    long long t = net->t;
    for (int i = 0; i < local; i++) {
        int s = sh->ranks->rank * local + i, lo, hi;
        float *blk = sh->mine + (size_t)i * sh->block;
        shard_range(b->n, sh->shards, s, &lo, &hi);
        memset(blk, 0, sh->block * sizeof(float));
        blk[P + Q + 1] = (float)stop;
        if (hi <= lo)
            continue;
        restore(sh, net, t);
        rt_rng_seed(&net->rng, key, (uint64_t)s);
        const int32_t *labels = b->labels ? b->labels + lo : NULL;
        const float *targets = b->targets ? b->targets + (size_t)lo * K : NULL;
        blk[P + Q] = m->train_step(net, b->x + (size_t)lo * b->image_floats, labels, targets, hi - lo,
                                   blk + P + Q + 2);
        memcpy(blk, net->grads, P * sizeof(float));
        if (Q > 0)
            memcpy(blk + P, net->state, Q * sizeof(float));
    }
    restore(sh, net, t);
}

/* The weighed sums of every shard's block, in shard order, into the net; the loss. */
static float combine(const rt_shards *sh, rt_net *net, const rt_shard_batch *b, float *probs, int *stop)
{
    const rt_model *m = sh->m;
    size_t P = m->nparams, Q = m->nstate, K = (size_t)m->classes;
    float loss = 0.0f;
    int first = 1;
    *stop = 0;
    for (int s = 0; s < sh->shards; s++) {
        const float *blk = sh->all + (size_t)s * sh->block;
        int lo, hi;
        shard_range(b->n, sh->shards, s, &lo, &hi);
        if (blk[P + Q + 1] != 0.0f && !*stop)
            *stop = (int)blk[P + Q + 1];
        if (hi <= lo)
            continue;
        float w = (float)(hi - lo) / (float)b->n;
        for (size_t i = 0; i < P; i++)
            net->grads[i] = first ? w * blk[i] : net->grads[i] + w * blk[i];
        for (size_t i = 0; i < Q; i++)
            net->state[i] = first ? w * blk[P + i] : net->state[i] + w * blk[P + i];
        loss = first ? w * blk[P + Q] : loss + w * blk[P + Q];
        memcpy(probs + (size_t)lo * K, blk + P + Q + 2, (size_t)(hi - lo) * K * sizeof(float));
        first = 0;
    }
    return loss;
}

int rt_shards_step(rt_shards *sh, rt_net *net, const rt_shard_batch *b, float *probs, float *loss, int *stop,
                   char *err, size_t errlen)
{
    snapshot(sh, net);
    uint64_t hi = rt_rng_u32(&net->rng), lo = rt_rng_u32(&net->rng);
    rt_rng master = net->rng;
    run_local(sh, net, b, hi << 32 | lo, *stop);
    size_t count = (size_t)(sh->shards / sh->ranks->size) * sh->block;
    if (rt_ranks_allgather(sh->ranks, sh->mine, sh->all, count, err, errlen))
        return -1;
    *loss = combine(sh, net, b, probs, stop);
    net->rng = master;
    rt_optimizer_step(net, sh->m->nparams);
    return 0;
}
