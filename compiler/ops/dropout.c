/* dropout.c — the dropout family: dropout (each value) and dropout2d (whole channels).
 *
 * In training the forward draws a bit mask from the model's RNG, one bit per value
 * (dropout2d: per channel of each image), zeroes the dropped values and scales the
 * kept ones by 1/(1-p); the mask is kept for the backward, which applies it to the
 * output gradient.  At inference dropout is the identity, so the planner makes it a
 * view of its input (OPF_VIEW_INFER) and no code is written for it. */
#include "ops_impl.h"

static const ArgSpec dropout_args[] = { OPTIONAL("p", A_FLOAT, 0.5), END_ARGS };

static bool shape_dropout(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_range(n, "p", 0, false, 1, true, e))
        return false;
    n->out = *in_shape(g, n, 0);
    return true;
}

/* The mask buffer of `bits` bits, in training only. */
static int mask_aux(Mode mode, size_t bits, const char *names[MAX_AUX], size_t bytes[MAX_AUX])
{
    if (mode != MODE_TRAIN)
        return 0;
    names[0] = "mask";
    bytes[0] = (bits + 31) / 32 * sizeof(uint32_t);
    return 1;
}

/* ---- dropout ---- */

static int dropout_aux(const Graph *g, const GNode *n, Mode mode, int batch, const char *names[MAX_AUX],
                       size_t bytes[MAX_AUX])
{
    (void)g;
    return mask_aux(mode, (size_t)shape_numel(&n->out) * (size_t)batch, names, bytes);
}

static void dropout_forward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    emit(c, "rt_dropout_forward(%s, %s, %s, &net->rng, %s, (size_t)n * %lld);", emit_out(c),
         emit_aux(c, 0, "uint32_t"), emit_in(c, 0), emit_float(c, attr_float(n, "p")), shape_numel(&n->out));
}

static void dropout_backward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_dropout_backward(%s, %s, %s, %s, (size_t)n * %lld, %s);", din, emit_dout(c),
         emit_aux(c, 0, "uint32_t"), emit_float(c, attr_float(n, "p")), shape_numel(&n->out), accum);
}

/* At inference dropout is the identity: no ONNX node (dropout2d's too). */
static void dropout_onnx(OnnxCtx *c)
{
    onnx_alias(c, 0);
}

const OpRules dropout_rules = {
    .min_in = 1, .max_in = 1, .args = dropout_args, .shape = shape_dropout,
    .flags = OPF_INPLACE | OPF_INPLACE_BWD | OPF_VIEW_INFER, .aux = dropout_aux,
    .forward = dropout_forward, .backward = dropout_backward, .onnx = dropout_onnx,
};

/* ---- dropout2d ---- */

static bool shape_dropout2d(const Graph *g, GNode *n, ShapeError *e)
{
    return need_rank3(g, n, e) && shape_dropout(g, n, e);
}

static int dropout2d_aux(const Graph *g, const GNode *n, Mode mode, int batch, const char *names[MAX_AUX],
                         size_t bytes[MAX_AUX])
{
    (void)g;
    return mask_aux(mode, (size_t)n->out.d[0] * (size_t)batch, names, bytes);
}

static void dropout2d_forward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW;
    channels_pixels(&n->out, &C, &HW);
    emit(c, "rt_dropout2d_forward(%s, %s, %s, &net->rng, %s, n, %lld, %lld);", emit_out(c),
         emit_aux(c, 0, "uint32_t"), emit_in(c, 0), emit_float(c, attr_float(n, "p")), C, HW);
}

static void dropout2d_backward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW;
    channels_pixels(&n->out, &C, &HW);
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_dropout2d_backward(%s, %s, %s, %s, n, %lld, %lld, %s);", din, emit_dout(c),
         emit_aux(c, 0, "uint32_t"), emit_float(c, attr_float(n, "p")), C, HW, accum);
}

const OpRules dropout2d_rules = {
    .min_in = 1, .max_in = 1, .args = dropout_args, .shape = shape_dropout2d,
    .flags = OPF_INPLACE | OPF_INPLACE_BWD | OPF_VIEW_INFER, .aux = dropout2d_aux,
    .forward = dropout2d_forward, .backward = dropout2d_backward, .onnx = dropout_onnx,
};
