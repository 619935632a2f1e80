/* dense.c — the fully connected family: dense (alias linear).
 *
 * [features] to [out] through a weight [out, in] and a bias [out] in PyTorch's order;
 * one sgemm over the batch in the runtime, PyTorch's default initialisation, a
 * backward that reads the input, and the weight's and bias's regularisers (ops.c). */
#include <stdlib.h>
#include <string.h>
#include "ops_impl.h"
#include "../../runtime/infer/netc_infer.h"

static const ArgSpec dense_args[] = {
    REQUIRED("out", A_INT), OPTIONAL("bias", A_BOOL, 1), REGULARISER_ARGS END_ARGS,
};

static bool shape_dense(const Graph *g, GNode *n, ShapeError *e)
{
    char buf[64];
    const Shape *in = in_shape(g, n, 0);
    if (in->rank != 1)
        return shape_fail(e, -1, 0, "dense expects a flat input [features], got %s; insert flatten() before it",
                          shape_str(in, buf));
    if (!need_positive(n, "out", e) || !need_regularisers(n, e))
        return false;
    n->out = shape1(attr_int(n, "out"));
    return true;
}

static void params_dense(const Graph *g, GNode *n)
{
    long long w[2] = { attr_int(n, "out"), in_shape(g, n, 0)->d[0] };
    add_param(n, "weight", true, 2, w);
    if (attr_int(n, "bias"))
        add_param(n, "bias", true, 1, w);
}

static long long flops_dense(const Graph *g, const GNode *n)
{
    return mul_sat(2, mul_sat(attr_int(n, "out"), in_shape(g, n, 0)->d[0]));
}

static long long in_features(EmitCtx *c) { return in_shape(emit_graph(c), emit_node(c), 0)->d[0]; }

static void dense_init(EmitCtx *c)
{
    emit(c, "rt_init_dense(%s, %s, &rng, %lld, %lld);", emit_param(c, "weight"), emit_param(c, "bias"),
         in_features(c), emit_node(c)->out.d[0]);
}

static void dense_forward(EmitCtx *c)
{
    emit(c, "rt_dense_forward(%s, %s, %s, %s, n, %lld, %lld);", emit_out(c), emit_in(c, 0), emit_param(c, "weight"),
         emit_param(c, "bias"), in_features(c), emit_node(c)->out.d[0]);
}

static void dense_backward(EmitCtx *c)
{
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_dense_backward(%s, %s, %s, %s, %s, %s, n, %lld, %lld, %s);", din, emit_pgrad(c, "weight"),
         emit_pgrad(c, "bias"), emit_dout(c), emit_in(c, 0), emit_param(c, "weight"), in_features(c),
         emit_node(c)->out.d[0], accum);
}

/* Exported, the weight is netc_dense_pack's layout (one stream per block of rows). */
static void dense_export_pack(const Graph *g, const GNode *n, int param, float *data)
{
    if (strcmp(n->param[param].suffix, "weight") != 0)
        return;
    int C = (int)in_shape(g, n, 0)->d[0], OC = (int)n->out.d[0];
    size_t floats = (size_t)C * (size_t)OC;
    float *packed = xcalloc(floats, sizeof *packed);
    netc_dense_pack(packed, data, C, OC);
    memcpy(data, packed, floats * sizeof *packed);
    free(packed);
}

static void dense_export(EmitCtx *c)
{
    emit(c, "netc_dense_packed_mt(%s, %s, %s, %s, n, %lld, %lld, %s, %s);", emit_out(c), emit_in(c, 0),
         emit_param(c, "weight"), emit_fused_bias(c), in_features(c), emit_node(c)->out.d[0], emit_fused_act(c),
         emit_parallel(c));
}

/* ONNX Gemm: x [N, in] times the weight [out, in] transposed, plus the bias. */
static void dense_onnx(OnnxCtx *c)
{
    const char *in[3] = { onnx_in(c, 0), onnx_param(c, "weight"), onnx_param(c, "bias") };
    onnx_op(c, "Gemm", attr_int(onnx_node(c), "bias") ? 3 : 2, in, NULL);
    onnx_attr_int(c, "transB", 1);
}

const OpRules dense_rules = {
    .min_in = 1, .max_in = 1, .args = dense_args, .shape = shape_dense, .params = params_dense, .flops = flops_dense,
    .saves = SAVES_INPUT, .flags = OPF_TAKES_RELU | OPF_TAKES_BN,
    .init = dense_init, .forward = dense_forward, .backward = dense_backward, .penalty = emit_penalties,
    .export = dense_export, .export_pack = dense_export_pack, .onnx = dense_onnx,
};
