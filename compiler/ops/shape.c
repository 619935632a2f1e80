/* shape.c — the ops that move data rather than compute on it: input, flatten, pad,
 * add, concat and softmax.
 *
 * input is the graph's input (its shape comes from the `input` declaration) and
 * softmax is folded into the loss step, so neither has a runtime call of its own.
 * flatten is a view: the same memory and the same gradient as its input.  pad writes
 * a zero border; add and concat take any number of inputs (same shape; same shape
 * outside the channel axis) and hand each input its share of the gradient. */
#include "ops_impl.h"

static const ArgSpec pad_args[] = { REQUIRED("p", A_INT), END_ARGS };

/* ---- input ---- */

static bool shape_input(const Graph *g, GNode *n, ShapeError *e)
{
    (void)g;
    (void)n;
    (void)e;
    return true;   /* set by the input declaration */
}

const OpRules input_rules = {
    .min_in = 0, .max_in = 0, .args = no_args, .shape = shape_input,
    .flags = OPF_GRAPH_INPUT,
};

/* ---- flatten ---- */

static bool shape_flatten(const Graph *g, GNode *n, ShapeError *e)
{
    (void)e;
    n->out = shape1(shape_numel(in_shape(g, n, 0)));
    return true;
}

/* ONNX Flatten to [N, features]; a flat input is already that. */
static void flatten_onnx(OnnxCtx *c)
{
    const char *in[1] = { onnx_in(c, 0) };
    if (onnx_graph(c)->node[onnx_node(c)->in[0]].out.rank == 1) {
        onnx_alias(c, 0);
        return;
    }
    onnx_op(c, "Flatten", 1, in, NULL);
    onnx_attr_int(c, "axis", 1);
}

const OpRules flatten_rules = {
    .min_in = 1, .max_in = 1, .args = no_args, .shape = shape_flatten,
    .flags = OPF_VIEW, .onnx = flatten_onnx,
};

/* ---- pad ---- */

static bool shape_pad(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_rank3(g, n, e))
        return false;
    long long p = attr_int(n, "p");
    if (p < 0)
        return shape_fail(e, 0, -1, "pad: 'p' must be >= 0, got %lld", p);
    const Shape *in = in_shape(g, n, 0);
    n->out = shape3(in->d[0], in->d[1] + 2 * p, in->d[2] + 2 * p);
    return true;
}

static void pad_forward(EmitCtx *c)
{
    const Shape *in = in_shape(emit_graph(c), emit_node(c), 0);
    emit(c, "%s(%s, %s, n, %lld, %lld, %lld, %lld);", emit_kernel(c, "pad2d"), emit_out(c), emit_in(c, 0), in->d[0],
         in->d[1], in->d[2], attr_int(emit_node(c), "p"));
}

static void pad_backward(EmitCtx *c)
{
    const Shape *in = in_shape(emit_graph(c), emit_node(c), 0);
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_pad2d_backward(%s, %s, n, %lld, %lld, %lld, %lld, %s);", din, emit_dout(c), in->d[0], in->d[1],
         in->d[2], attr_int(emit_node(c), "p"), accum);
}

/* ONNX Pad with zeros: p rows and columns on each side of H and W, as an int64 input
 * (begins of N, C, H, W, then their ends). */
static void pad_onnx(OnnxCtx *c)
{
    long long p = attr_int(onnx_node(c), "p");
    const char *in[2] = { onnx_in(c, 0), onnx_ints(c, "pads", 8, (long long[]){ 0, 0, p, p, 0, 0, p, p }) };
    onnx_op(c, "Pad", 2, in, NULL);
}

const OpRules pad_rules = {
    .min_in = 1, .max_in = 1, .args = pad_args, .shape = shape_pad,
    .forward = pad_forward, .backward = pad_backward, .export = pad_forward, .onnx = pad_onnx,
};

/* ---- add and concat ---- */

/* The inputs of an n-ary op as an array, inside the step's braces:
 *     const float *const in[2] = { a, b }; */
static void emit_input_array(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    char line[2048];
    size_t used = (size_t)snprintf(line, sizeof line, "    const float *const in[%d] = { ", n->nin);
    for (int k = 0; k < n->nin && used < sizeof line; k++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s", k ? ", " : "", emit_in(c, k));
    emit(c, "%s };", line);
}

static bool same_shape(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->d[i] != b->d[i])
            return false;
    return true;
}

static bool shape_add(const Graph *g, GNode *n, ShapeError *e)
{
    char a[64], b[64];
    for (int i = 1; i < n->nin; i++)
        if (!same_shape(in_shape(g, n, 0), in_shape(g, n, i)))
            return shape_fail(e, -1, i, "add: operand %d has shape %s but operand 1 has %s", i + 1,
                              shape_str(in_shape(g, n, i), a), shape_str(in_shape(g, n, 0), b));
    n->out = *in_shape(g, n, 0);
    return true;
}

static void add_forward(EmitCtx *c)
{
    emit(c, "{");
    emit_input_array(c);
    emit(c, "    %s(%s, in, %d, (size_t)n * %lld);", emit_kernel(c, "add"), emit_out(c), emit_node(c)->nin,
         shape_numel(&emit_node(c)->out));
    emit(c, "}");
}

static void add_backward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    for (int k = 0; k < n->nin; k++) {
        char din[224];
        const char *accum = din_accum(c, k, din);
        if (strcmp(din, "NULL") != 0)
            emit(c, "rt_add_backward(%s, %s, (size_t)n * %lld, %s);", din, emit_dout(c), shape_numel(&n->out), accum);
    }
}

/* ONNX Add is binary: a chain of them, summing the inputs in their order as the
 * runtime's add does; the partial sums are LAYER_sum1, LAYER_sum2, ... */
static void add_onnx(OnnxCtx *c)
{
    int nin = onnx_node(c)->nin;
    const char *in[2] = { onnx_in(c, 0), NULL };
    for (int k = 1; k < nin; k++) {
        char suffix[32];
        snprintf(suffix, sizeof suffix, "sum%d", k);
        in[1] = onnx_in(c, k);
        const char *out = k + 1 < nin ? onnx_temp(c, suffix) : NULL;
        onnx_op(c, "Add", 2, in, out);
        in[0] = out;
    }
}

const OpRules add_rules = {
    .min_in = 2, .max_in = -1, .args = no_args, .shape = shape_add,
    .flags = OPF_INPLACE,
    .forward = add_forward, .backward = add_backward, .export = add_forward, .onnx = add_onnx,
};

static bool shape_concat(const Graph *g, GNode *n, ShapeError *e)
{
    char a[64], b[64];
    const Shape *first = in_shape(g, n, 0);
    long long channels = 0;
    for (int i = 0; i < n->nin; i++) {
        const Shape *s = in_shape(g, n, i);
        bool fits = s->rank == first->rank && (s->rank == 1 || (s->d[1] == first->d[1] && s->d[2] == first->d[2]));
        if (!fits)
            return shape_fail(e, -1, i, "concat: operand %d has shape %s, which does not match operand 1's %s "
                              "outside the channel axis", i + 1, shape_str(s, a), shape_str(first, b));
        channels += s->d[0];
    }
    n->out = *first;
    n->out.d[0] = channels;
    return true;
}

static void concat_forward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW;
    channels_pixels(&n->out, &C, &HW);
    char channels[512];
    size_t used = 0;
    for (int k = 0; k < n->nin && used < sizeof channels; k++)
        used += (size_t)snprintf(channels + used, sizeof channels - used, "%s%lld", k ? ", " : "",
                                 in_shape(emit_graph(c), n, k)->d[0]);
    emit(c, "{");
    emit_input_array(c);
    emit(c, "    static const int channels[%d] = { %s };", n->nin, channels);
    emit(c, "    %s(%s, in, channels, %d, n, %lld);", emit_kernel(c, "concat"), emit_out(c), n->nin, HW);
    emit(c, "}");
}

static void concat_backward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW, offset = 0;
    channels_pixels(&n->out, &C, &HW);
    for (int k = 0; k < n->nin; k++) {
        long long ck = in_shape(emit_graph(c), n, k)->d[0];
        char din[224];
        const char *accum = din_accum(c, k, din);
        if (strcmp(din, "NULL") != 0)
            emit(c, "rt_concat_backward(%s, %s, n, %lld, %lld, %lld, %lld, %s);", din, emit_dout(c), C, offset, ck,
                 HW, accum);
        offset += ck;
    }
}

/* ONNX Concat on the channel axis, 1 after the batch. */
static void concat_onnx(OnnxCtx *c)
{
    const GNode *n = onnx_node(c);
    const char *in[MAX_INPUTS];
    for (int k = 0; k < n->nin; k++)
        in[k] = onnx_in(c, k);
    onnx_op(c, "Concat", n->nin, in, NULL);
    onnx_attr_int(c, "axis", 1);
}

const OpRules concat_rules = {
    .min_in = 2, .max_in = -1, .args = no_args, .shape = shape_concat,
    .forward = concat_forward, .backward = concat_backward, .export = concat_forward, .onnx = concat_onnx,
};

/* ---- softmax ---- */

static bool shape_softmax(const Graph *g, GNode *n, ShapeError *e)
{
    char buf[64];
    const Shape *in = in_shape(g, n, 0);
    if (in->rank != 1)
        return shape_fail(e, -1, 0, "softmax expects a flat input [classes], got %s; insert flatten() and dense()",
                          shape_str(in, buf));
    n->out = *in;
    return true;
}

const OpRules softmax_rules = {
    .min_in = 1, .max_in = 1, .args = no_args, .shape = shape_softmax,
    .flags = OPF_IN_LOSS,
};
