/* rt_kernels.h -- the kernel layer of the runtime (runtime/kernels/): the compute kernels
 * that generated code calls, one file per family (conv.c, dense.c, pool.c, batchnorm.c,
 * dropout.c, activation.c, shape.c, loss.c, penalty.c, optim.c, init.c), each fast file with its
 * scalar reference beside it (conv_ref.c, ...).  Depends on the core layer and OpenBLAS.
 *
 * Tensors are float32 NCHW, contiguous; the batch size N is a runtime argument.
 * Arguments: outputs, inputs, weights, then sizes/descriptors; backward kernels end in
 * `accum` for the input gradient (0 = overwrite, 1 = add into) and always ADD into
 * parameter gradients.  The conv2d, dense and batchnorm backward kernels skip the input
 * gradient when given dinp == NULL (a layer fed straight by data).  Element-wise
 * kernels, forward and backward, may run in place (out == inp, dinp == dout).  No kernel
 * allocates: scratch memory comes from the caller, sized by the *_workspace_floats
 * helpers.
 * Every kernel has a plain scalar twin with the suffix _ref and the same signature,
 * declared at the end of this header; the unit tests hold the two together.
 * A generated model links with this layer and the core alone: -lopenblas -lm. */
#ifndef NETC_RT_KERNELS_H
#define NETC_RT_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "../core/rt_core.h"
#include "conv_layout.h"

/* Convolution geometry.  OH = (H + pad_t + pad_b - kh) / stride + 1, likewise OW; the
 * pads may differ per side ('same' with an even kernel pads more at bottom/right). */
typedef struct { int C, H, W, K, kh, kw, stride, pad_t, pad_l, pad_b, pad_r, OH, OW; } rt_conv_desc;

/* Pooling geometry (max and average).  Symmetric pad; PyTorch floor mode:
 * OH = (H + 2*pad - kh) / stride + 1.  Max pooling needs kh*kw <= 256 and pad <= kh/2,
 * pad <= kw/2 (as PyTorch), so every window holds at least one real element. */
typedef struct { int C, H, W, kh, kw, stride, pad, OH, OW; } rt_pool_desc;

/* conv2d: out [N,K,OH,OW] = conv(inp [N,C,H,W], weight [K,C,kh,kw]) + bias [K] (bias
 * may be NULL).  work: rt_conv2d_workspace_floats(d) floats, forward and backward alike;
 * its contents on entry are never read.  The batch is worked on in RT_CONV_SLOTS fixed
 * ranges of images, each with its own part of the workspace (layout and size:
 * conv_layout.h, which the compiler's planner includes too), so results do not depend
 * on the number of threads. */
size_t rt_conv2d_workspace_floats(const rt_conv_desc *d);
/* prec RT_BF16: the products of the direct kernels (stride-1 convolutions, conv.c) take
 * their two factors rounded to bf16 and sum them in fp32 (AVX512_BF16's vdpbf16ps); the
 * other paths, and every build without the instructions, compute in fp32
 * (rt_bf16_available says which).  The _ref twins are fp32 only. */
void rt_conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                       float *work, int N, const rt_conv_desc *d, rt_precision prec);
/* dinp [N,C,H,W] (may be NULL), dweight [K,C,kh,kw] +=, dbias [K] += (may be NULL),
 * from dout [N,K,OH,OW] and the forward's inp and weight. */
void rt_conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, float *work, int N,
                        const rt_conv_desc *d, int accum, rt_precision prec);
/* Whether this build and this CPU do bf16 products (AVX512_BF16). */
int rt_bf16_available(void);

/* dense (linear): out [N,OC] = inp [N,C] . weight [OC,C]^T + bias [OC] (bias may be NULL). */
void rt_dense_forward(float *out, const float *inp, const float *weight, const float *bias,
                      int N, int C, int OC);
/* dinp [N,C] (may be NULL), dweight [OC,C] +=, dbias [OC] += (may be NULL). */
void rt_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                       const float *inp, const float *weight, int N, int C, int OC, int accum);

/* maxpool2d: out [N,C,OH,OW]; argmax [N,C,OH,OW] holds the winner's index i*kw + j
 * within its window (padding counts as -inf; the first maximum wins, NaN propagates). */
void rt_maxpool2d_forward(float *out, uint8_t *argmax, const float *inp, int N,
                          const rt_pool_desc *d);
/* dinp [N,C,H,W] from dout [N,C,OH,OW] scattered through argmax. */
void rt_maxpool2d_backward(float *dinp, const float *dout, const uint8_t *argmax, int N,
                           const rt_pool_desc *d, int accum);

/* avgpool2d, count_include_pad=True: every window divides by kh*kw. */
void rt_avgpool2d_forward(float *out, const float *inp, int N, const rt_pool_desc *d);
void rt_avgpool2d_backward(float *dinp, const float *dout, int N, const rt_pool_desc *d,
                           int accum);

/* global average pool: out [N,C] = mean over HW of inp [N,C,HW]. */
void rt_global_avgpool_forward(float *out, const float *inp, int N, int C, int HW);
void rt_global_avgpool_backward(float *dinp, const float *dout, int N, int C, int HW,
                                int accum);

/* batchnorm over inp [N,C,HW] (HW = 1 for [N,C]); M = N*HW values per channel.
 * Training forward: normalises with the batch mean and biased variance, saves mean [C]
 * and invstd [C] = 1/sqrt(var + eps) for the backward, and updates the running stats as
 * PyTorch does: running = (1 - momentum)*running + momentum*batch, where the variance
 * folded into running_var is the unbiased one (var*M/(M-1); var itself when M == 1). */
void rt_batchnorm_forward(float *out, float *mean, float *invstd, float *running_mean,
                          float *running_var, const float *inp, const float *gamma,
                          const float *beta, int N, int C, int HW, float momentum, float eps);
/* Evaluation forward: normalises with running_mean and running_var. */
void rt_batchnorm_forward_eval(float *out, const float *inp, const float *gamma,
                               const float *beta, const float *running_mean,
                               const float *running_var, int N, int C, int HW, float eps);
/* Training-mode backward: dinp [N,C,HW], dgamma [C] +=, dbeta [C] +=. */
void rt_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *invstd,
                           const float *gamma, int N, int C, int HW, int accum);

/* dropout: keeps each of n values with probability 1 - p and scales it by 1/(1 - p)
 * (p >= 1 drops everything).  mask: rt_dropout_mask_words(n) words, bit i of word i/32
 * set where value i was kept; one rt_rng_uniform draw per value, in order. */
size_t rt_dropout_mask_words(size_t n);
void rt_dropout_forward(float *out, uint32_t *mask, const float *inp, rt_rng *rng, float p,
                        size_t n);
void rt_dropout_backward(float *dinp, const float *dout, const uint32_t *mask, float p,
                         size_t n, int accum);
/* dropout2d: drops whole channels of inp [N,C,HW]; mask has N*C bits (channel n*C + c). */
void rt_dropout2d_forward(float *out, uint32_t *mask, const float *inp, rt_rng *rng, float p,
                          int N, int C, int HW);
void rt_dropout2d_backward(float *dinp, const float *dout, const uint32_t *mask, float p,
                           int N, int C, int HW, int accum);

/* Activations over n values.  The backward kernels of relu, elu, sigmoid and tanh read
 * the forward OUTPUT, so the input need not be kept.  leaky_relu's backward takes x,
 * which may be the forward input or, for slope >= 0, its output (same sign). */
void rt_relu_forward(float *out, const float *inp, size_t n);
void rt_relu_backward(float *dinp, const float *dout, const float *out, size_t n, int accum);
void rt_leaky_relu_forward(float *out, const float *inp, float slope, size_t n);
void rt_leaky_relu_backward(float *dinp, const float *dout, const float *x, float slope,
                            size_t n, int accum);
/* elu: x > 0 ? x : alpha*(exp(x) - 1); alpha > 0. */
void rt_elu_forward(float *out, const float *inp, float alpha, size_t n);
void rt_elu_backward(float *dinp, const float *dout, const float *out, float alpha, size_t n,
                     int accum);
void rt_sigmoid_forward(float *out, const float *inp, size_t n);
void rt_sigmoid_backward(float *dinp, const float *dout, const float *out, size_t n, int accum);
void rt_tanh_forward(float *out, const float *inp, size_t n);
void rt_tanh_backward(float *dinp, const float *dout, const float *out, size_t n, int accum);

/* pad2d: out [N,C,H+2p,W+2p] is inp [N,C,H,W] with p zeros on all four sides. */
void rt_pad2d_forward(float *out, const float *inp, int N, int C, int H, int W, int p);
void rt_pad2d_backward(float *dinp, const float *dout, int N, int C, int H, int W, int p,
                       int accum);

/* concat along channels: out [N,sum C_i,HW] from n_inp inputs inps[i] [N,C_i,HW], where
 * C_i = channels[i].  The backward is one call per input: dinp [N,C_in,HW] is the slice
 * of dout [N,C_out,HW] starting at channel c_offset, so each input has its own accum. */
void rt_concat_forward(float *out, const float *const *inps, const int *channels, int n_inp,
                       int N, int HW);
void rt_concat_backward(float *dinp, const float *dout, int N, int C_out, int c_offset,
                        int C_in, int HW, int accum);

/* add: out [n] = sum of n_inp >= 1 inputs inps[i] [n] (out may be one of them).  The backward
 * is one call per input: dinp = dout (a copy, or added in with accum). */
void rt_add_forward(float *out, const float *const *inps, int n_inp, size_t n);
void rt_add_backward(float *dinp, const float *dout, size_t n, int accum);

/* softmax over the rows of logits [N,K], for inference output. */
void rt_softmax_forward(float *probs, const float *logits, int N, int K);

/* Softmax cross-entropy, numerically stable.  The forward writes probs [N,K] and returns
 * the mean loss over the batch; the backward writes dlogits = (probs - target)/N.
 * Integer labels [N] must lie in [0, K): the forward returns NaN if one does not.
 * Soft targets [N,K] are rows of probabilities summing to 1. */
float rt_softmax_xent_forward(float *probs, const float *logits, const int32_t *labels,
                              int N, int K);
void rt_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *labels,
                              int N, int K, int accum);
float rt_softmax_xent_soft_forward(float *probs, const float *logits, const float *targets,
                                   int N, int K);
void rt_softmax_xent_soft_backward(float *dlogits, const float *probs, const float *targets,
                                   int N, int K, int accum);

/* The per-layer regularisers (conv2d's and dense's l2, l1, bias_l2, bias_l1; Keras's
 * kernel_regularizer and bias_regularizer): each returns its loss term for a parameter
 * tensor w [n] and adds the term's gradient into grad [n] (NULL: none, at inference).
 * l2: lambda * sum w^2 (no 1/2, as Keras), grad += 2 lambda w.  l1: lambda * sum |w|,
 * grad += lambda sign(w) (0 at 0). */
float rt_l2_penalty(float *grad, const float *w, size_t n, float lambda);
float rt_l1_penalty(float *grad, const float *w, size_t n, float lambda);

/* Optimizers: one flat loop over n parameters, with torch.optim semantics; t is the step
 * number, starting at 1.  SGD: g = grad + weight_decay*param; with momentum, buf = g on
 * the first step, else buf = momentum*buf + (1 - dampening)*g; the update direction is
 * g + momentum*buf (nesterov, which torch allows only with dampening 0) or buf; without
 * momentum (0) it is g and buf is unused (may be NULL). */
void rt_sgd_update(float *param, float *buf, const float *grad, size_t n, float lr,
                   float momentum, float dampening, float weight_decay, int nesterov, int t);
/* Adam: g = grad + weight_decay*param (L2); m, v: first and second moments; bias
 * corrected with 1 - beta^t. */
void rt_adam_update(float *param, float *m, float *v, const float *grad, size_t n, float lr,
                    float beta1, float beta2, float eps, float weight_decay, int t);
/* AdamW: param *= 1 - lr*weight_decay first (decoupled), then Adam without L2. */
void rt_adamw_update(float *param, float *m, float *v, const float *grad, size_t n, float lr,
                     float beta1, float beta2, float eps, float weight_decay, int t);
/* The optimizer step of net->h over all n parameters (increments net->t first). */
void rt_optimizer_step(rt_net *net, size_t n);

/* Initialisation matching PyTorch's defaults, drawing from rng in order (weight first).
 * conv/linear: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (this is
 * kaiming_uniform(a=sqrt(5)) for the weight); fan_in = C*kh*kw or C.  bias may be NULL.
 * batchnorm: gamma 1, beta 0, running mean 0, running var 1. */
void rt_init_uniform(float *x, rt_rng *rng, size_t n, float lo, float hi);
void rt_init_conv2d(float *weight, float *bias, rt_rng *rng, const rt_conv_desc *d);
void rt_init_dense(float *weight, float *bias, rt_rng *rng, int C, int OC);
void rt_init_batchnorm(float *gamma, float *beta, float *running_mean, float *running_var,
                       int C);

/* ---- reference kernels (*_ref.c): same contracts, simplest loops ---- */
void rt_conv2d_forward_ref(float *out, const float *inp, const float *weight,
                           const float *bias, float *work, int N, const rt_conv_desc *d);
void rt_conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, float *work, int N,
                            const rt_conv_desc *d, int accum);
void rt_dense_forward_ref(float *out, const float *inp, const float *weight,
                          const float *bias, int N, int C, int OC);
void rt_dense_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, int N, int C, int OC,
                           int accum);
void rt_maxpool2d_forward_ref(float *out, uint8_t *argmax, const float *inp, int N,
                              const rt_pool_desc *d);
void rt_maxpool2d_backward_ref(float *dinp, const float *dout, const uint8_t *argmax, int N,
                               const rt_pool_desc *d, int accum);
void rt_avgpool2d_forward_ref(float *out, const float *inp, int N, const rt_pool_desc *d);
void rt_avgpool2d_backward_ref(float *dinp, const float *dout, int N, const rt_pool_desc *d,
                               int accum);
void rt_global_avgpool_forward_ref(float *out, const float *inp, int N, int C, int HW);
void rt_global_avgpool_backward_ref(float *dinp, const float *dout, int N, int C, int HW,
                                    int accum);
void rt_batchnorm_forward_ref(float *out, float *mean, float *invstd, float *running_mean,
                              float *running_var, const float *inp, const float *gamma,
                              const float *beta, int N, int C, int HW, float momentum,
                              float eps);
void rt_batchnorm_forward_eval_ref(float *out, const float *inp, const float *gamma,
                                   const float *beta, const float *running_mean,
                                   const float *running_var, int N, int C, int HW, float eps);
void rt_batchnorm_backward_ref(float *dinp, float *dgamma, float *dbeta, const float *dout,
                               const float *inp, const float *mean, const float *invstd,
                               const float *gamma, int N, int C, int HW, int accum);
void rt_dropout_forward_ref(float *out, uint32_t *mask, const float *inp, rt_rng *rng,
                            float p, size_t n);
void rt_dropout_backward_ref(float *dinp, const float *dout, const uint32_t *mask, float p,
                             size_t n, int accum);
void rt_dropout2d_forward_ref(float *out, uint32_t *mask, const float *inp, rt_rng *rng,
                              float p, int N, int C, int HW);
void rt_dropout2d_backward_ref(float *dinp, const float *dout, const uint32_t *mask, float p,
                               int N, int C, int HW, int accum);
void rt_relu_forward_ref(float *out, const float *inp, size_t n);
void rt_relu_backward_ref(float *dinp, const float *dout, const float *out, size_t n,
                          int accum);
void rt_leaky_relu_forward_ref(float *out, const float *inp, float slope, size_t n);
void rt_leaky_relu_backward_ref(float *dinp, const float *dout, const float *x, float slope,
                                size_t n, int accum);
void rt_elu_forward_ref(float *out, const float *inp, float alpha, size_t n);
void rt_elu_backward_ref(float *dinp, const float *dout, const float *out, float alpha,
                         size_t n, int accum);
void rt_sigmoid_forward_ref(float *out, const float *inp, size_t n);
void rt_sigmoid_backward_ref(float *dinp, const float *dout, const float *out, size_t n,
                             int accum);
void rt_tanh_forward_ref(float *out, const float *inp, size_t n);
void rt_tanh_backward_ref(float *dinp, const float *dout, const float *out, size_t n,
                          int accum);
void rt_pad2d_forward_ref(float *out, const float *inp, int N, int C, int H, int W, int p);
void rt_pad2d_backward_ref(float *dinp, const float *dout, int N, int C, int H, int W, int p,
                           int accum);
void rt_concat_forward_ref(float *out, const float *const *inps, const int *channels,
                           int n_inp, int N, int HW);
void rt_concat_backward_ref(float *dinp, const float *dout, int N, int C_out, int c_offset,
                            int C_in, int HW, int accum);
void rt_add_forward_ref(float *out, const float *const *inps, int n_inp, size_t n);
void rt_add_backward_ref(float *dinp, const float *dout, size_t n, int accum);
void rt_softmax_forward_ref(float *probs, const float *logits, int N, int K);
float rt_softmax_xent_forward_ref(float *probs, const float *logits, const int32_t *labels,
                                  int N, int K);
void rt_softmax_xent_backward_ref(float *dlogits, const float *probs, const int32_t *labels,
                                  int N, int K, int accum);
float rt_softmax_xent_soft_forward_ref(float *probs, const float *logits,
                                       const float *targets, int N, int K);
void rt_softmax_xent_soft_backward_ref(float *dlogits, const float *probs,
                                       const float *targets, int N, int K, int accum);
float rt_l2_penalty_ref(float *grad, const float *w, size_t n, float lambda);
float rt_l1_penalty_ref(float *grad, const float *w, size_t n, float lambda);
void rt_sgd_update_ref(float *param, float *buf, const float *grad, size_t n, float lr,
                       float momentum, float dampening, float weight_decay, int nesterov,
                       int t);
void rt_adam_update_ref(float *param, float *m, float *v, const float *grad, size_t n,
                        float lr, float beta1, float beta2, float eps, float weight_decay,
                        int t);
void rt_adamw_update_ref(float *param, float *m, float *v, const float *grad, size_t n,
                         float lr, float beta1, float beta2, float eps, float weight_decay,
                         int t);

#endif
