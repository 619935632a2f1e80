/* netc runtime: the one public header of libnetcrt.a.
 *
 * Generated model code (netc compile) and the trainers (netc build) call this library;
 * it never calls back into generated code except through the rt_model table the trainer
 * receives.  Conventions, after llm.c:
 *   - tensors are float32, NCHW, batch-major, contiguous;
 *   - kernel arguments are ordered outputs, inputs, weights, then sizes/descriptors;
 *   - forward and backward kernels sit side by side; a backward kernel takes `accum`
 *     for its input gradient (0 = overwrite, 1 = add into) and always adds into
 *     parameter gradients (the caller zeroes the gradient region once per step);
 *   - no kernel allocates: workspaces are passed in, planned by the compiler;
 *   - no mutable globals: state lives in structs the caller owns.
 * The sections below are: random numbers, kernels, data/checkpoint/npz I/O. */
#ifndef NETC_RT_H
#define NETC_RT_H

#include <stddef.h>
#include <stdint.h>

/* ---- random numbers (rng.c) ----
 * PCG32 (O'Neill): small state, reproducible across platforms, saved in checkpoints. */
typedef struct { uint64_t state, inc; } rt_rng;

void     rt_rng_seed(rt_rng *r, uint64_t seed, uint64_t stream);
uint32_t rt_rng_u32(rt_rng *r);
float    rt_rng_uniform(rt_rng *r);              /* [0, 1) with 24 random bits */
float    rt_rng_normal(rt_rng *r);               /* N(0, 1), Box-Muller */
uint32_t rt_rng_below(rt_rng *r, uint32_t n);    /* unbiased integer in [0, n) */
void     rt_rng_shuffle(rt_rng *r, uint32_t *a, size_t n);

#include "rt_kernels.h"
#include "rt_io.h"

/* ---- the interface between a generated model and the runtime (net.c) ----
 * netc compile writes, per model, functions over an rt_net (the model's memory) and an
 * rt_model table describing it, so that the generic trainer, checkpoints and .npz
 * exchange work for any model without knowing its layers. */
typedef enum { RT_SGD, RT_ADAM, RT_ADAMW } rt_optimizer;

typedef struct {
    rt_optimizer optimizer;
    float lr, momentum, weight_decay, beta1, beta2, eps;
    int nesterov;
} rt_hparams;

typedef struct {
    float *params;      /* the generated NAME_params struct, as nparams floats */
    float *grads;       /* same layout as params */
    float *state;       /* NAME_state: batchnorm running statistics (nstate floats) */
    float *opt1, *opt2; /* optimizer state, same layout as params: momentum or Adam m; Adam v */
    void *arena;        /* arena_bytes, 64-byte aligned: every activation, gradient, mask */
    rt_rng rng;         /* dropout masks */
    long long t;        /* optimizer steps taken */
    rt_hparams h;
} rt_net;

/* One parameter or state tensor, named as in `netc summary` ("conv2d_1.weight"),
 * shaped as PyTorch shapes it, at `offset` floats into params (trainable) or state. */
typedef struct {
    const char *name;
    int rank;
    int shape[4];
    size_t offset;
    int trainable;
} rt_tensor_info;

typedef struct {
    const char *name;
    uint64_t hash;              /* of the model's structure, checked by checkpoints */
    int in_c, in_h, in_w;       /* input [C, H, W]; a flat input is [C, 1, 1] */
    int classes, max_batch;
    size_t nparams, nstate, arena_bytes, infer_arena_bytes;
    int ntensors;
    const rt_tensor_info *tensors;
    const char *settings;       /* the .net train section in force: "key=value" lines */
    void (*init)(rt_net *net, uint64_t seed);
    /* One optimizer step on n <= max_batch images; labels (int) or targets (soft,
     * [n, classes]); returns the mean loss; probs [n, classes] if not NULL. */
    float (*train_step)(rt_net *net, const float *x, const int32_t *labels, const float *targets, int n,
                        float *probs);
    /* Inference mode (running batchnorm statistics, no dropout); returns the mean loss
     * when labels is not NULL, else 0; probs [n, classes] if not NULL. */
    float (*evaluate)(rt_net *net, const float *x, const int32_t *labels, int n, float *probs);
} rt_model;

/* Allocates and zeroes everything a model needs; returns 0, or -1 if out of memory. */
int rt_net_alloc(rt_net *net, const rt_model *m);
void rt_net_free(rt_net *net);
/* The optimizer step over all n parameters (increments net->t first). */
void rt_optimizer_step(rt_net *net, size_t n);

#include "rt_trainer.h"
#endif
