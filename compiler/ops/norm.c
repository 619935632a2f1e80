/* norm.c — the normalisation family: batchnorm.
 *
 * Per-channel batch normalisation over [C, H, W] or [C]: a weight and bias (trainable)
 * and the running mean and variance (state) of C values each, in PyTorch's names and
 * momentum convention.  Training uses the batch statistics and keeps the batch mean
 * and 1/std per channel, and the input, for the backward; inference uses the running
 * statistics. */
#include "ops_impl.h"

static const ArgSpec batchnorm_args[] = {
    OPTIONAL("eps", A_FLOAT, 1e-5), OPTIONAL("momentum", A_FLOAT, 0.1), END_ARGS,
};

static bool shape_batchnorm(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_range(n, "eps", 0, true, 1, false, e) || !need_range(n, "momentum", 0, false, 1, false, e))
        return false;
    n->out = *in_shape(g, n, 0);
    return true;
}

static void params_batchnorm(const Graph *g, GNode *n)
{
    long long c[1] = { in_shape(g, n, 0)->d[0] };
    add_param(n, "weight", true, 1, c);
    add_param(n, "bias", true, 1, c);
    add_param(n, "running_mean", false, 1, c);
    add_param(n, "running_var", false, 1, c);
}

static int batchnorm_aux(const Graph *g, const GNode *n, Mode mode, int batch, const char *names[MAX_AUX],
                         size_t bytes[MAX_AUX])
{
    (void)g;
    (void)batch;
    if (mode != MODE_TRAIN)
        return 0;
    names[0] = "mean";
    names[1] = "invstd";
    bytes[0] = bytes[1] = (size_t)n->out.d[0] * sizeof(float);
    return 2;
}

static void batchnorm_init(EmitCtx *c)
{
    emit(c, "rt_init_batchnorm(%s, %s, %s, %s, %lld);", emit_param(c, "weight"), emit_param(c, "bias"),
         emit_state(c, "running_mean"), emit_state(c, "running_var"), emit_node(c)->out.d[0]);
}

/* Inference, in the training runtime (rt_batchnorm_forward_eval) or exported
 * (netc_batchnorm): the same arguments. */
static void batchnorm_inference(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW;
    channels_pixels(&n->out, &C, &HW);
    emit(c, "%s(%s, %s, %s, %s, %s, %s, n, %lld, %lld, %s);",
         emit_mode(c) == MODE_EXPORT ? "netc_batchnorm" : "rt_batchnorm_forward_eval", emit_out(c), emit_in(c, 0),
         emit_param(c, "weight"), emit_param(c, "bias"), emit_state(c, "running_mean"), emit_state(c, "running_var"),
         C, HW, emit_float(c, attr_float(n, "eps")));
}

static void batchnorm_forward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW;
    channels_pixels(&n->out, &C, &HW);
    if (emit_mode(c) == MODE_INFER)
        batchnorm_inference(c);
    else
        emit(c, "rt_batchnorm_forward(%s, %s, %s, %s, %s, %s, %s, %s, n, %lld, %lld, %s, %s);", emit_out(c),
             emit_aux(c, 0, "float"), emit_aux(c, 1, "float"), emit_state(c, "running_mean"),
             emit_state(c, "running_var"), emit_in(c, 0), emit_param(c, "weight"), emit_param(c, "bias"), C, HW,
             emit_float(c, attr_float(n, "momentum")), emit_float(c, attr_float(n, "eps")));
}

static void batchnorm_backward(EmitCtx *c)
{
    long long C, HW;
    channels_pixels(&emit_node(c)->out, &C, &HW);
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_batchnorm_backward(%s, %s, %s, %s, %s, %s, %s, %s, n, %lld, %lld, %s);", din,
         emit_pgrad(c, "weight"), emit_pgrad(c, "bias"), emit_dout(c), emit_in(c, 0), emit_aux(c, 0, "float"),
         emit_aux(c, 1, "float"), emit_param(c, "weight"), C, HW, accum);
}

/* ONNX BatchNormalization in inference form: the running statistics, over [N, C, H, W]
 * or [N, C]. */
static void batchnorm_onnx(OnnxCtx *c)
{
    const char *in[5] = { onnx_in(c, 0), onnx_param(c, "weight"), onnx_param(c, "bias"),
                          onnx_param(c, "running_mean"), onnx_param(c, "running_var") };
    onnx_op(c, "BatchNormalization", 5, in, NULL);
    onnx_attr_float(c, "epsilon", attr_float(onnx_node(c), "eps"));
}

const OpRules batchnorm_rules = {
    .min_in = 1, .max_in = 1, .args = batchnorm_args, .shape = shape_batchnorm, .params = params_batchnorm,
    .saves = SAVES_INPUT, .flags = OPF_BN_FOLDS | OPF_INPLACE_EXPORT, .aux = batchnorm_aux,
    .init = batchnorm_init, .forward = batchnorm_forward, .backward = batchnorm_backward,
    .export = batchnorm_inference, .onnx = batchnorm_onnx,
};
