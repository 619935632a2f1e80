/* activation.c — the element-wise activations: relu, leaky_relu, elu, sigmoid, tanh.
 *
 * Each keeps its input's shape and calls rt_NAME_forward / rt_NAME_backward, NAME the
 * op's name, with the op's one float argument (leaky_relu's slope, elu's alpha) before
 * the element count when it has one.  The backward reads the output, except
 * leaky_relu's, which reads the input (SAVES_INPUT); every one may run in place. */
#include "ops_impl.h"

static const ArgSpec leaky_relu_args[] = { OPTIONAL("slope", A_FLOAT, 0.01), END_ARGS };
static const ArgSpec elu_args[] = { OPTIONAL("alpha", A_FLOAT, 1.0), END_ARGS };

static bool shape_same(const Graph *g, GNode *n, ShapeError *e)
{
    (void)e;
    n->out = *in_shape(g, n, 0);
    return true;
}

/* "slope, " for an activation with an argument, else "". */
static void activation_extra(EmitCtx *c, char buf[40])
{
    const ArgSpec *arg = &op_table[emit_node(c)->op].rules->args[0];
    buf[0] = 0;
    if (arg->name)
        snprintf(buf, 40, "%s, ", emit_float(c, attr_float(emit_node(c), arg->name)));
}

static void activation_forward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    char extra[40];
    activation_extra(c, extra);
    emit(c, "%s(%s, %s, %s(size_t)n * %lld);", emit_kernel(c, op_table[n->op].name), emit_out(c), emit_in(c, 0),
         extra, shape_numel(&n->out));
}

static void activation_backward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    char extra[40], din[224];
    activation_extra(c, extra);
    const char *saved = op_table[n->op].rules->saves & SAVES_INPUT ? emit_in(c, 0) : emit_out(c);
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_%s_backward(%s, %s, %s, %s(size_t)n * %lld, %s);", op_table[n->op].name, din, emit_dout(c), saved,
         extra, shape_numel(&n->out), accum);
}

/* The ONNX node of an activation: its operator, and the op's one argument (leaky_relu's
 * slope, elu's alpha) as the attribute alpha, which both ONNX operators call it. */
static void activation_onnx(OnnxCtx *c, const char *op_type)
{
    const GNode *n = onnx_node(c);
    const ArgSpec *arg = &op_table[n->op].rules->args[0];
    const char *in[1] = { onnx_in(c, 0) };
    onnx_op(c, op_type, 1, in, NULL);
    if (arg->name)
        onnx_attr_float(c, "alpha", attr_float(n, arg->name));
}

static void relu_onnx(OnnxCtx *c) { activation_onnx(c, "Relu"); }
static void leaky_relu_onnx(OnnxCtx *c) { activation_onnx(c, "LeakyRelu"); }
static void elu_onnx(OnnxCtx *c) { activation_onnx(c, "Elu"); }
static void sigmoid_onnx(OnnxCtx *c) { activation_onnx(c, "Sigmoid"); }
static void tanh_onnx(OnnxCtx *c) { activation_onnx(c, "Tanh"); }

/* An activation's entry: its arguments, what its backward reads and its ONNX node; the
 * rest is common. */
#define ACTIVATION(arg_schema, saved, more_flags, onnx_writer)                             \
    {                                                                                      \
        .min_in = 1, .max_in = 1, .args = arg_schema, .shape = shape_same, .saves = saved, \
        .flags = OPF_INPLACE | OPF_INPLACE_BWD | more_flags,                               \
        .forward = activation_forward, .backward = activation_backward,                    \
        .export = activation_forward, .onnx = onnx_writer,                                 \
    }

const OpRules relu_rules = ACTIVATION(no_args, SAVES_OUTPUT, OPF_RELU, relu_onnx);
const OpRules leaky_relu_rules = ACTIVATION(leaky_relu_args, SAVES_INPUT, 0, leaky_relu_onnx);
const OpRules elu_rules = ACTIVATION(elu_args, SAVES_OUTPUT, 0, elu_onnx);
const OpRules sigmoid_rules = ACTIVATION(no_args, SAVES_OUTPUT, 0, sigmoid_onnx);
const OpRules tanh_rules = ACTIVATION(no_args, SAVES_OUTPUT, 0, tanh_onnx);
