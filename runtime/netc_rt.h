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

#endif
