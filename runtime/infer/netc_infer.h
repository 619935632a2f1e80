/* netc_infer.h -- netc's inference kernels: the one header of the dependency-free layer
 * that `netc export-c` ships beside an exported model (amalgamated, SQLite-style, into
 * netc_infer.c + netc_infer.h).
 *
 * C99; the kernels use only <stddef.h>, <stdint.h>, <string.h> and <math.h>: no malloc,
 * no stdio, no BLAS, no global or static mutable state, so they are reentrant (two
 * threads with two workspaces may run at once).  Scratch memory comes from the caller,
 * sized by the netc_conv2d_*work_floats functions; no alignment is required of any
 * pointer.
 *
 * Tensors are float32, NCHW, contiguous.  Arguments: outputs, inputs, weights, then
 * sizes.  Each kernel computes what its twin in netc's training runtime computes
 * (runtime/kernels/rt_kernels.h, the *_ref reference kernels): PyTorch's semantics.
 * Convolution and dense sum in float32 in another order than the references when a
 * SIMD path is compiled in (AVX-512, AVX2 + FMA, NEON, chosen at compile time by the
 * compiler's target macros), so they agree to about 1e-6 relative; compiled without
 * those (the portable path), every kernel adds its terms in the references' order, so
 * it gives their bits wherever the compiler does not contract a*b + c into one fused
 * multiply-add (gcc at -std=c99 does not).  Define NETC_INFER_PORTABLE to force the
 * portable path. */
#ifndef NETC_INFER_H
#define NETC_INFER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The SIMD path compiled in: "avx512", "avx2", "neon" or "portable". */
const char *netc_infer_simd(void);

/* Convolution geometry.  OH = (H + pad_t + pad_b - kh) / stride + 1, likewise OW; the
 * pads may differ per side ('same' with an even kernel pads more at bottom/right). */
typedef struct { int C, H, W, K, kh, kw, stride, pad_t, pad_l, pad_b, pad_r, OH, OW; } netc_conv_desc;

/* Pooling geometry.  Symmetric pad; PyTorch floor mode: OH = (H + 2*pad - kh)/stride + 1.
 * Max pooling needs pad <= kh/2 and pad <= kw/2 (as PyTorch), so that every window holds
 * at least one real element. */
typedef struct { int C, H, W, kh, kw, stride, pad, OH, OW; } netc_pool_desc;

/* The activation fused into conv2d and dense. */
enum { NETC_ACT_NONE, NETC_ACT_RELU };

/* conv2d: out [N,K,OH,OW] = act(conv(inp [N,C,H,W], weight [K,C,kh,kw]) + bias [K]).
 * bias may be NULL; act is NETC_ACT_NONE or NETC_ACT_RELU; work holds
 * netc_conv2d_work_floats(d) floats (contents on entry never read); the weights are
 * packed into it first.  out must not overlap inp or work. */
size_t netc_conv2d_work_floats(const netc_conv_desc *d);
void netc_conv2d(float *out, const float *inp, const float *weight, const float *bias,
                 float *work, int N, const netc_conv_desc *d, int act);

/* The same on weights packed once beforehand (at export time, say): packed
 * [C*kh*kw][K], netc_conv2d_packed_floats(d) floats, is weight [K][C*kh*kw] transposed
 * (the layout of every target and SIMD path), written by netc_conv2d_pack; work holds
 * netc_conv2d_packed_work_floats(d) floats.  All these sizes depend on the geometry
 * only, never on the target, so a planner may compute them at export time. */
size_t netc_conv2d_packed_floats(const netc_conv_desc *d);
void netc_conv2d_pack(float *packed, const float *weight, const netc_conv_desc *d);
size_t netc_conv2d_packed_work_floats(const netc_conv_desc *d);
void netc_conv2d_packed(float *out, const float *inp, const float *packed, const float *bias,
                        float *work, int N, const netc_conv_desc *d, int act);

/* Threads, optionally: netc_conv2d_packed_mt and netc_dense_mt cut their work into
 * par->tasks parts (ranges of output channels) and have the caller's parallel-for run
 * them: par->run(par->pool, task, arg, n) must call task(arg, i) once for each i in
 * [0, n), on any threads in any order, and return when all have returned.  netc starts
 * no thread of its own.  Each output is computed whole by one task, in the same order
 * as without threads, so the results are the same bits for any number of tasks.  The
 * convolution's workspace grows with the tasks:
 * netc_conv2d_packed_work_floats_mt(d, tasks) floats. */
typedef void (*netc_task_fn)(void *arg, int i);
typedef struct {
    void (*run)(void *pool, netc_task_fn task, void *arg, int n);
    void *pool;
    int tasks;
} netc_parallel;
size_t netc_conv2d_packed_work_floats_mt(const netc_conv_desc *d, int tasks);
void netc_conv2d_packed_mt(float *out, const float *inp, const float *packed, const float *bias,
                           float *work, int N, const netc_conv_desc *d, int act,
                           const netc_parallel *par);
/* relu(conv2d) then max pooling (pool, of the convolution's output): out
 * [N,K,pool->OH,pool->OW], the same bits as the three layers one after another.  A 2x2
 * stride-2 unpadded pool is taken as the channel tiles are stored; either way conv_out
 * [N,K,OH,OW] is the call's scratch (its contents on return unspecified), and out is
 * written only after inp and work are read, so it may share bytes with them (as the
 * plan of the three layers allows), but not with conv_out. */
void netc_conv2d_packed_pool_mt(float *out, float *conv_out, const float *inp, const float *packed,
                                const float *bias, float *work, int N, const netc_conv_desc *d,
                                const netc_pool_desc *pool, const netc_parallel *par);

/* dense: out [N,OC] = act(inp [N,C] . weight [OC,C]^T + bias [OC]); bias may be NULL.
 * out must not overlap inp. */
void netc_dense(float *out, const float *inp, const float *weight, const float *bias,
                int N, int C, int OC, int act);
void netc_dense_mt(float *out, const float *inp, const float *weight, const float *bias,
                   int N, int C, int OC, int act, const netc_parallel *par);
/* The same with the weights packed once beforehand: packed [OC*C] = netc_dense_pack's
 * rearrangement of weight [OC,C]; the same bits as netc_dense. */
void netc_dense_pack(float *packed, const float *weight, int C, int OC);
void netc_dense_packed(float *out, const float *inp, const float *packed, const float *bias,
                       int N, int C, int OC, int act);
void netc_dense_packed_mt(float *out, const float *inp, const float *packed, const float *bias,
                          int N, int C, int OC, int act, const netc_parallel *par);

/* maxpool2d: out [N,C,OH,OW] from inp [N,C,H,W]; padding counts as -inf, NaN
 * propagates. */
void netc_maxpool2d(float *out, const float *inp, int N, const netc_pool_desc *d);

/* avgpool2d, count_include_pad=True: out [N,C,OH,OW], every window divided by kh*kw. */
void netc_avgpool2d(float *out, const float *inp, int N, const netc_pool_desc *d);

/* global average pool: out [N,C] = mean over HW of inp [N,C,HW]. */
void netc_global_avgpool(float *out, const float *inp, int N, int C, int HW);

/* batchnorm with running statistics (evaluation): out [N,C,HW] =
 * (inp - mean) / sqrtf(var + eps) * gamma + beta, per channel; gamma, beta, mean,
 * var [C].  HW = 1 for [N,C].  In place allowed (out == inp). */
void netc_batchnorm(float *out, const float *inp, const float *gamma, const float *beta,
                    const float *mean, const float *var, int N, int C, int HW, float eps);

/* Activations over n values; in place allowed (out == inp).
 * relu: max(x, 0); leaky_relu: x > 0 ? x : slope*x; elu: x > 0 ? x : alpha*expm1f(x);
 * sigmoid: 1/(1 + expf(-x)); tanh: tanhf(x). */
void netc_relu(float *out, const float *inp, size_t n);
void netc_leaky_relu(float *out, const float *inp, float slope, size_t n);
void netc_elu(float *out, const float *inp, float alpha, size_t n);
void netc_sigmoid(float *out, const float *inp, size_t n);
void netc_tanh(float *out, const float *inp, size_t n);

/* pad2d: out [N,C,H+2p,W+2p] is inp [N,C,H,W] with p zeros on all four sides. */
void netc_pad2d(float *out, const float *inp, int N, int C, int H, int W, int p);

/* concat along channels: out [N,sum C_i,HW] from n_inp inputs inps[i] [N,C_i,HW],
 * C_i = channels[i]. */
void netc_concat(float *out, const float *const *inps, const int *channels, int n_inp,
                 int N, int HW);

/* add: out [n] = inps[0] + inps[1] + ... (n_inp >= 1 inputs [n], added in order; out
 * may be one of them). */
void netc_add(float *out, const float *const *inps, int n_inp, size_t n);

/* softmax over the rows of logits [N,K] into probs [N,K] (max subtracted first); in
 * place allowed. */
void netc_softmax(float *probs, const float *logits, int N, int K);

#ifdef __cplusplus
}
#endif

#endif
