/* rt_core.h -- the core layer of the runtime (runtime/core/): what every other layer and
 * every generated model stands on.  Depends on nothing but libc, pthreads and OpenBLAS's
 * thread setting.
 *
 * Conventions, after llm.c:
 *   - tensors are float32, NCHW, batch-major, contiguous;
 *   - no mutable globals but the thread pool: state lives in structs the caller owns;
 *   - a function that can fail returns non-zero and writes one line naming the file and
 *     the problem into the caller's err[errlen] (rt_fail).
 * Sections: random numbers (rng.c), the model interface (net.c), the thread pool
 * (parallel.c), error messages (fail.c). */
#ifndef NETC_RT_CORE_H
#define NETC_RT_CORE_H

#include <stddef.h>
#include <stdint.h>

/* ---- random numbers (rng.c) ----
 * PCG32 (O'Neill): small state, reproducible across platforms, saved in checkpoints. */
typedef struct { uint64_t state, inc; } rt_rng;
#define RT_RNG_MUL 6364136223846793005ULL        /* a step: state = state * RT_RNG_MUL + inc */

void     rt_rng_seed(rt_rng *r, uint64_t seed, uint64_t stream);
uint32_t rt_rng_u32(rt_rng *r);
float    rt_rng_uniform(rt_rng *r);              /* [0, 1) with 24 random bits */
float    rt_rng_normal(rt_rng *r);               /* N(0, 1), Box-Muller */
uint32_t rt_rng_below(rt_rng *r, uint32_t n);    /* unbiased integer in [0, n) */
#define RT_RNG_MAX_REJECTS 64                     /* draws rt_rng_below makes at most */
void     rt_rng_shuffle(rt_rng *r, uint32_t *a, size_t n);

/* ---- the interface between a generated model and the runtime (net.c) ----
 * netc compile writes, per model, functions over an rt_net (the model's memory) and an
 * rt_model table describing it, so that the generic trainer, checkpoints and .npz
 * exchange work for any model without knowing its layers. */
typedef enum { RT_SGD, RT_ADAM, RT_ADAMW } rt_optimizer;

/* The precision of the convolutions' products (rt_kernels.h): fp32, or bf16 factors
 * summed in fp32 (train setting precision). */
typedef enum { RT_FP32, RT_BF16 } rt_precision;

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
    rt_precision precision; /* of the convolutions, set by the trainer (0: fp32) */
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
     * [n, classes]); returns the mean loss (with the layers' regularisers: l2 = ...);
     * probs [n, classes] if not NULL. */
    float (*train_step)(rt_net *net, const float *x, const int32_t *labels, const float *targets, int n,
                        float *probs);
    /* Inference mode (running batchnorm statistics, no dropout); returns the mean loss
     * (with the regularisers, as train_step) when labels is not NULL, else 0; probs
     * [n, classes] if not NULL. */
    float (*evaluate)(rt_net *net, const float *x, const int32_t *labels, int n, float *probs);
} rt_model;

/* Allocates and zeroes everything a model needs; returns 0, or -1 if out of memory. */
int rt_net_alloc(rt_net *net, const rt_model *m);
void rt_net_free(rt_net *net);

/* ---- the thread pool (parallel.c), used by the kernels ----
 * The kernels' signatures carry no context, so the threads are one process-wide pool,
 * started on first use and never stopped: the caller plus rt_parallel_threads() - 1
 * helpers.  The pool holds no numerical state; how a kernel splits its work into tasks
 * decides its results, never which thread runs which task, so results do not depend on
 * scheduling.  Starting, it sets OpenBLAS to one thread, so that sgemm calls made from
 * tasks do not each start OpenBLAS's own threads, and so that a one-thread pool is one
 * thread: OpenBLAS's threads split some products differently, and gave other bits. */

/* Threads the pool runs tasks on, the caller included: NETC_NUM_THREADS from the
 * environment when set (1..RT_MAX_THREADS), else the CPUs this process may run on. */
enum { RT_MAX_THREADS = 64 };
int rt_parallel_threads(void);

/* Runs fn(ctx, task) for every task in [0, ntasks), spread over the pool (the caller
 * takes tasks too), and returns when all have finished.  Tasks must be independent.
 * Runs them in order in the caller when ntasks < 2, when the pool has one thread, when
 * called from inside a task, or while another thread's call holds the pool. */
void rt_parallel_for(int ntasks, void (*fn)(void *ctx, int task), void *ctx);

/* ---- error messages (fail.c) ----
 * Writes the message into err[errlen] (when err is not NULL) and returns -1, so that a
 * reader can say `return rt_fail(err, errlen, "%s: truncated", path);`. */
int rt_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
