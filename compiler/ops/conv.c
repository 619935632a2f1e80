/* conv.c — the convolution family: conv2d.
 *
 * Everything about the op in one place: its arguments, the shape rule (PyTorch floor
 * mode; `pad = same` as Keras: out = ceil(in / stride), the odd pixel at the
 * bottom/right), the weight [out, in, kh, kw] and bias in PyTorch's order, FLOPs, the
 * runtime's workspace, and the emitters: a descriptor with the geometry, PyTorch's
 * default initialisation, im2col + sgemm forward, a backward that reads the input,
 * and the weight's and bias's regularisers (ops.c). */
#include <stdlib.h>
#include "ops_impl.h"
#include "../../runtime/infer/netc_infer.h"
#include "../../runtime/kernels/conv_layout.h"

static const ArgSpec conv2d_args[] = {
    REQUIRED("out", A_INT), REQUIRED("kernel", A_INT), OPTIONAL("stride", A_INT, 1),
    OPTIONAL("pad", A_PAD, 0), OPTIONAL("bias", A_BOOL, 1), REGULARISER_ARGS END_ARGS,
};

void conv_padding(const GNode *n, const Shape *in, int pad[4])
{
    long long k = attr_int(n, "kernel"), s = attr_int(n, "stride");
    if (!attr_is_same(n, "pad")) {
        long long p = attr_int(n, "pad");
        pad[0] = pad[1] = pad[2] = pad[3] = (int)p;
        return;
    }
    /* Keras/TensorFlow 'same': out = ceil(in / stride); the odd pixel goes bottom/right. */
    for (int axis = 0; axis < 2; axis++) {
        long long size = in->d[1 + axis];
        long long out = (size + s - 1) / s;
        long long total = (out - 1) * s + k - size;
        if (total < 0)
            total = 0;
        pad[axis] = (int)(total / 2);          /* top, left */
        pad[2 + axis] = (int)(total - total / 2); /* bottom, right */
    }
}

static bool shape_conv2d(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_rank3(g, n, e) || !need_positive(n, "out", e) || !need_positive(n, "kernel", e) ||
        !need_positive(n, "stride", e) || !need_regularisers(n, e))
        return false;
    const Shape *in = in_shape(g, n, 0);
    if (!attr_is_same(n, "pad") && attr_int(n, "pad") < 0)
        return shape_fail(e, op_arg_index(&op_table[n->op], "pad"), -1, "conv2d: 'pad' must be >= 0, got %lld",
                          attr_int(n, "pad"));
    int pad[4];
    conv_padding(n, in, pad);
    long long k = attr_int(n, "kernel"), s = attr_int(n, "stride");
    long long ph = in->d[1] + pad[0] + pad[2], pw = in->d[2] + pad[1] + pad[3];
    if (k > ph || k > pw)
        return shape_fail(e, op_arg_index(&op_table[n->op], "kernel"), 0,
                          "conv2d: kernel %lld is larger than its padded input %lldx%lld", k, ph, pw);
    n->out = shape3(attr_int(n, "out"), window_out(in->d[1], pad[0], pad[2], k, s),
                    window_out(in->d[2], pad[1], pad[3], k, s));
    return true;
}

static void params_conv2d(const Graph *g, GNode *n)
{
    long long k = attr_int(n, "kernel");
    long long w[4] = { attr_int(n, "out"), in_shape(g, n, 0)->d[0], k, k };
    add_param(n, "weight", true, 4, w);
    if (attr_int(n, "bias"))
        add_param(n, "bias", true, 1, w);
}

static long long flops_conv2d(const Graph *g, const GNode *n)
{
    long long k = attr_int(n, "kernel");
    long long macs = mul_sat(mul_sat(shape_numel(&n->out), in_shape(g, n, 0)->d[0]), k * k);
    return mul_sat(2, macs);
}

/* The workspace rt_conv2d_forward and _backward carve up, in bytes: the runtime's own
 * layout (runtime/kernels/conv_layout.h), so the planner reserves exactly what the kernel
 * uses (tests/unit/test_conv_layout.c checks every convolution of models/). */
static size_t conv2d_work(const Graph *g, const GNode *n)
{
    const Shape *in = in_shape(g, n, 0);
    int pad[4];
    conv_padding(n, in, pad);
    size_t k = (size_t)attr_int(n, "kernel");
    rt_conv_sizes z = rt_conv_sizes_of((size_t)in->d[0], (size_t)in->d[1], (size_t)in->d[2], (size_t)n->out.d[0], k,
                                       k, (size_t)attr_int(n, "stride"), (size_t)pad[0], (size_t)pad[1],
                                       (size_t)pad[2], (size_t)pad[3], (size_t)n->out.d[1], (size_t)n->out.d[2]);
    return rt_conv_sizes_total(z) * sizeof(float);
}

/* The layer's geometry for the exported kernels (runtime/infer). */
static netc_conv_desc export_desc(const Graph *g, const GNode *n)
{
    const Shape *in = in_shape(g, n, 0);
    int pad[4];
    conv_padding(n, in, pad);
    int k = (int)attr_int(n, "kernel");
    return (netc_conv_desc){ .C = (int)in->d[0], .H = (int)in->d[1], .W = (int)in->d[2], .K = (int)n->out.d[0],
                             .kh = k, .kw = k, .stride = (int)attr_int(n, "stride"), .pad_t = pad[0],
                             .pad_l = pad[1], .pad_b = pad[2], .pad_r = pad[3], .OH = (int)n->out.d[1],
                             .OW = (int)n->out.d[2] };
}

/* The workspace netc_conv2d_packed needs, in bytes: the exported kernel's own answer,
 * so the planner and the kernel cannot disagree. */
static size_t conv2d_export_work(const Graph *g, const GNode *n)
{
    netc_conv_desc d = export_desc(g, n);
    return netc_conv2d_packed_work_floats(&d) * sizeof(float);
}

/* On T tasks: the padded plane, shared, and each task's tile buffer (the kernel's
 * netc_conv2d_packed_work_floats_mt, affine in the tasks). */
static void conv2d_export_work_mt(const Graph *g, const GNode *n, size_t *fixed, size_t *per_task)
{
    netc_conv_desc d = export_desc(g, n);
    size_t one = netc_conv2d_packed_work_floats_mt(&d, 1), two = netc_conv2d_packed_work_floats_mt(&d, 2);
    *per_task = (two - one) * sizeof(float);
    *fixed = one * sizeof(float) - *per_task;
}

/* The weight packed once, at export, as netc_conv2d_packed reads it (same size). */
static void conv2d_export_pack(const Graph *g, const GNode *n, int param, float *data)
{
    if (strcmp(n->param[param].suffix, "weight") != 0)
        return;
    netc_conv_desc d = export_desc(g, n);
    size_t floats = netc_conv2d_packed_floats(&d);
    if (floats != (size_t)param_numel(&n->param[param])) {
        fprintf(stderr, "netc: internal error: packed conv2d weights change size\n");
        exit(2);
    }
    float *packed = xcalloc(floats, sizeof *packed);
    netc_conv2d_pack(packed, data, &d);
    memcpy(data, packed, floats * sizeof *packed);
    free(packed);
}

/* The geometry as an rt_conv_desc (runtime/kernels/rt_kernels.h) or, exported, a
 * netc_conv_desc (runtime/infer/netc_infer.h), by field name. */
static void conv2d_decl(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    const Shape *in = in_shape(emit_graph(c), n, 0);
    int pad[4];
    conv_padding(n, in, pad);
    long long k = attr_int(n, "kernel");
    emit(c, "static const %s %s_desc = {", emit_desc_type(c, "conv"), emit_id(c));
    emit(c, "    .C = %lld, .H = %lld, .W = %lld, .K = %lld, .kh = %lld, .kw = %lld, .stride = %lld,", in->d[0],
         in->d[1], in->d[2], n->out.d[0], k, k, attr_int(n, "stride"));
    emit(c, "    .pad_t = %d, .pad_l = %d, .pad_b = %d, .pad_r = %d, .OH = %lld, .OW = %lld,", pad[0], pad[1], pad[2],
         pad[3], n->out.d[1], n->out.d[2]);
    emit(c, "};");
}

static void conv2d_init(EmitCtx *c)
{
    emit(c, "rt_init_conv2d(%s, %s, &rng, &%s_desc);", emit_param(c, "weight"), emit_param(c, "bias"), emit_id(c));
}

/* The precision of the products: the train step's is the net's (the trainer's setting);
 * evaluation is always fp32. */
static const char *conv2d_precision(EmitCtx *c)
{
    return emit_mode(c) == MODE_TRAIN ? "net->precision" : "RT_FP32";
}

static void conv2d_forward(EmitCtx *c)
{
    emit(c, "rt_conv2d_forward(%s, %s, %s, %s, %s, n, &%s_desc, %s);", emit_out(c), emit_in(c, 0),
         emit_param(c, "weight"), emit_param(c, "bias"), emit_work(c), emit_id(c), conv2d_precision(c));
}

static void conv2d_backward(EmitCtx *c)
{
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_conv2d_backward(%s, %s, %s, %s, %s, %s, %s, n, &%s_desc, %s, %s);", din,
         emit_pgrad(c, "weight"), emit_pgrad(c, "bias"), emit_dout(c), emit_in(c, 0), emit_param(c, "weight"),
         emit_work(c), emit_id(c), accum, conv2d_precision(c));
}

/* Exported: with the relu and the 2x2 max pooling after it in the same call where
 * emit_fused_pool finds them (the convolution's own output then only the fallback's
 * scratch). */
static void conv2d_export(EmitCtx *c)
{
    const char *pool_out, *pool_id;
    if (emit_fused_pool(c, &pool_out, &pool_id))
        emit(c, "netc_conv2d_packed_pool_mt(%s, %s, %s, %s, %s, %s, n, &%s_desc, &%s_desc, %s);", pool_out,
             emit_out(c), emit_in(c, 0), emit_param(c, "weight"), emit_fused_bias(c), emit_export_work(c),
             emit_id(c), pool_id, emit_parallel(c));
    else
        emit(c, "netc_conv2d_packed_mt(%s, %s, %s, %s, %s, n, &%s_desc, %s, %s);", emit_out(c), emit_in(c, 0),
             emit_param(c, "weight"), emit_fused_bias(c), emit_export_work(c), emit_id(c), emit_fused_act(c),
             emit_parallel(c));
}

/* ONNX Conv: the weight [out, in, kh, kw] as trained, the bias when it has one, and
 * the padding resolved to top, left, bottom, right (ONNX's pads order). */
static void conv2d_onnx(OnnxCtx *c)
{
    const GNode *n = onnx_node(c);
    long long k = attr_int(n, "kernel"), s = attr_int(n, "stride");
    int pad[4];
    conv_padding(n, &onnx_graph(c)->node[n->in[0]].out, pad);
    const char *in[3] = { onnx_in(c, 0), onnx_param(c, "weight"), onnx_param(c, "bias") };
    onnx_op(c, "Conv", attr_int(n, "bias") ? 3 : 2, in, NULL);
    onnx_attr_ints(c, "kernel_shape", 2, (long long[]){ k, k });
    onnx_attr_ints(c, "strides", 2, (long long[]){ s, s });
    onnx_attr_ints(c, "pads", 4, (long long[]){ pad[0], pad[1], pad[2], pad[3] });
}

const OpRules conv2d_rules = {
    .min_in = 1, .max_in = 1, .args = conv2d_args, .shape = shape_conv2d, .params = params_conv2d,
    .flops = flops_conv2d,
    .saves = SAVES_INPUT, .flags = OPF_TAKES_RELU | OPF_TAKES_BN | OPF_TAKES_POOL, .work = conv2d_work,
    .decl = conv2d_decl, .init = conv2d_init, .forward = conv2d_forward, .backward = conv2d_backward,
    .penalty = emit_penalties,
    .export = conv2d_export, .export_work = conv2d_export_work, .export_work_mt = conv2d_export_work_mt,
    .onnx = conv2d_onnx,
    .export_pack = conv2d_export_pack,
};
