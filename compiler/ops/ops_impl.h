/* ops_impl.h — what the op family files share, private to compiler/ops/.
 *
 * Each family file (conv.c, pool.c, norm.c, dropout.c, activation.c, dense.c,
 * shape.c) defines, for each of its ops, one OpRules entry naming that op's argument
 * schema, shape rule, parameter and FLOP rules, planning facts, gradient rule and
 * emitters, all static functions of the same file; the entries are what the file
 * exports (conv.c also conv_padding, for netc.h).  ops.c builds the table from
 * ops.def and holds the helpers declared here: shape-rule checks and failures,
 * parameter shapes, and the emitters' common pieces. */
#ifndef NETC_OPS_IMPL_H
#define NETC_OPS_IMPL_H

#include <stdint.h>
#include <string.h>
#include "netc.h"

/* Every op's entry, defined in its family file. */
#define OP(id, name, rules) extern const OpRules rules;
#include "ops.def"
#undef OP

/* ---- argument schemas ---- */

#define REQUIRED(name, type) { name, type, true, 0, NULL, false }
#define OPTIONAL(name, type, def) { name, type, false, def, NULL, false }
#define KEYWORD(name, type, def) { name, type, false, def, NULL, true }
#define END_ARGS { NULL, A_INT, false, 0, NULL, false }
/* The per-layer regularisers of a layer with a weight and a bias (conv2d, dense), one
 * X(argument, the parameter it acts on, its kernel rt_KIND_penalty) each: a factor
 * >= 0, 0 (off) by default, keyword only; Keras's kernel_regularizer and
 * bias_regularizer.  REGULARISER_ARGS are their entries in an argument schema, each
 * with its comma: `..., REGULARISER_ARGS END_ARGS`. */
#define REGULARISERS(X) \
    X("l2", "weight", "l2") X("l1", "weight", "l1") X("bias_l2", "bias", "l2") X("bias_l1", "bias", "l1")
#define REGULARISER_ARG(arg, param, kind) KEYWORD(arg, A_FLOAT, 0),
#define REGULARISER_ARGS REGULARISERS(REGULARISER_ARG)

extern const ArgSpec no_args[];

/* ---- shape rules ---- */

static inline const Shape *in_shape(const Graph *g, const GNode *n, int i) { return &g->node[n->in[i]].out; }
static inline Shape shape3(long long c, long long h, long long w) { return (Shape){ 3, { c, h, w } }; }
static inline Shape shape1(long long c) { return (Shape){ 1, { c, 0, 0 } }; }

/* Products saturate at LLONG_MAX so an absurd shape reads as "too large", never wraps. */
long long mul_sat(long long a, long long b);

/* Fills e (message, argument to blame or -1, input to note or -1); returns false. */
bool shape_fail(ShapeError *e, int arg, int note_input, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Each returns true when the input / argument is fit, else fails e with the reason. */
bool need_rank3(const Graph *g, const GNode *n, ShapeError *e);
bool need_positive(const GNode *n, const char *arg, ShapeError *e);
/* The float argument lies in [lo, hi], each end open (excluded) when its flag says so. */
bool need_range(const GNode *n, const char *arg, double lo, bool lo_open, double hi, bool hi_open, ShapeError *e);
/* Output size of a window sliding over `size` (PyTorch floor mode). */
long long window_out(long long size, long long pad_before, long long pad_after, long long k, long long s);
/* The REGULARISER_ARGS are finite and >= 0, and a bias factor has a bias to act on. */
bool need_regularisers(const GNode *n, ShapeError *e);
/* Appends a parameter of shape d[rank] to n->param. */
void add_param(GNode *n, const char *suffix, bool trainable, int rank, const long long *d);

/* ---- emitters ---- */

/* Channels and pixels per channel of a [C, H, W] or [C] tensor. */
void channels_pixels(const Shape *s, long long *C, long long *HW);
/* Copies input k's gradient expression to buf ("NULL" when it needs none) and returns
 * the accumulate flag the runtime call takes: "1" when buf already holds a gradient. */
const char *din_accum(EmitCtx *c, int k, char buf[224]);
/* The penalty emitter of a layer with REGULARISER_ARGS: one `loss += rt_l2_penalty(...)`
 * (or rt_l1_penalty) per factor set, on the weight or the bias, its gradient into G in
 * training (NULL at inference). */
void emit_penalties(EmitCtx *c);

#endif
