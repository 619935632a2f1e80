/* pool.c — the pooling family: maxpool2d, avgpool2d, global_avgpool.
 *
 * The window pools share their arguments (stride defaults to the kernel), their shape
 * rule (PyTorch floor mode, a symmetric pad of at most half the kernel, windows of at
 * most 16x16) and a descriptor with the geometry; max pooling keeps a one-byte argmax
 * per output for its backward, average pooling keeps nothing.  global_avgpool takes
 * [C, H, W] to [C]. */
#include "ops_impl.h"

static const ArgSpec pool_args[] = {
    REQUIRED("kernel", A_INT), { "stride", A_INT, false, 0, "kernel", false },
    OPTIONAL("pad", A_INT, 0), END_ARGS,
};

static bool shape_pool(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_rank3(g, n, e) || !need_positive(n, "kernel", e) || !need_positive(n, "stride", e))
        return false;
    const Shape *in = in_shape(g, n, 0);
    long long k = attr_int(n, "kernel"), s = attr_int(n, "stride"), p = attr_int(n, "pad");
    const char *name = op_table[n->op].name;
    if (p < 0 || 2 * p > k)
        return shape_fail(e, op_arg_index(&op_table[n->op], "pad"), -1,
                          "%s: 'pad' must be between 0 and half the kernel (%lld), got %lld", name, k / 2, p);
    if (k > in->d[1] + 2 * p || k > in->d[2] + 2 * p)
        return shape_fail(e, op_arg_index(&op_table[n->op], "kernel"), 0,
                          "%s: kernel %lld is larger than its padded input %lldx%lld", name, k, in->d[1] + 2 * p,
                          in->d[2] + 2 * p);
    if (k * k > 256)
        return shape_fail(e, op_arg_index(&op_table[n->op], "kernel"), -1,
                          "%s: kernel %lld is too large (at most 16x16 windows are supported)", name, k);
    n->out = shape3(in->d[0], window_out(in->d[1], p, p, k, s), window_out(in->d[2], p, p, k, s));
    return true;
}

/* The geometry as an rt_pool_desc (runtime/kernels/rt_kernels.h) or, exported, a
 * netc_pool_desc (runtime/infer/netc_infer.h), by field name. */
static void pool_decl(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    const Shape *in = in_shape(emit_graph(c), n, 0);
    long long k = attr_int(n, "kernel");
    emit(c, "static const %s %s_desc = {", emit_desc_type(c, "pool"), emit_id(c));
    emit(c, "    .C = %lld, .H = %lld, .W = %lld, .kh = %lld, .kw = %lld, .stride = %lld, .pad = %lld, .OH = %lld, "
            ".OW = %lld,", in->d[0], in->d[1], in->d[2], k, k, attr_int(n, "stride"), attr_int(n, "pad"),
         n->out.d[1], n->out.d[2]);
    emit(c, "};");
}

/* ---- maxpool2d ---- */

static int maxpool_aux(const Graph *g, const GNode *n, Mode mode, int batch, const char *names[MAX_AUX],
                       size_t bytes[MAX_AUX])
{
    (void)g;
    (void)mode;
    names[0] = "argmax";
    bytes[0] = (size_t)shape_numel(&n->out) * (size_t)batch;
    return 1;
}

static void maxpool_forward(EmitCtx *c)
{
    emit(c, "rt_maxpool2d_forward(%s, %s, %s, n, &%s_desc);", emit_out(c), emit_aux(c, 0, "uint8_t"), emit_in(c, 0),
         emit_id(c));
}

static void maxpool_backward(EmitCtx *c)
{
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_maxpool2d_backward(%s, %s, %s, n, &%s_desc, %s);", din, emit_dout(c), emit_aux(c, 0, "uint8_t"),
         emit_id(c), accum);
}

/* Exported: no argmax (there is no backward). */
static void maxpool_export(EmitCtx *c)
{
    emit(c, "netc_maxpool2d(%s, %s, n, &%s_desc);", emit_out(c), emit_in(c, 0), emit_id(c));
}

/* ONNX MaxPool or AveragePool: the window, the stride, the same pad on every side; the
 * average over the whole window, padding included (PyTorch's count_include_pad). */
static void pool_onnx(OnnxCtx *c, const char *op_type, bool average)
{
    const GNode *n = onnx_node(c);
    long long k = attr_int(n, "kernel"), s = attr_int(n, "stride"), p = attr_int(n, "pad");
    const char *in[1] = { onnx_in(c, 0) };
    onnx_op(c, op_type, 1, in, NULL);
    onnx_attr_ints(c, "kernel_shape", 2, (long long[]){ k, k });
    onnx_attr_ints(c, "strides", 2, (long long[]){ s, s });
    onnx_attr_ints(c, "pads", 4, (long long[]){ p, p, p, p });
    if (average)
        onnx_attr_int(c, "count_include_pad", 1);
}

static void maxpool_onnx(OnnxCtx *c)
{
    pool_onnx(c, "MaxPool", false);
}

const OpRules maxpool2d_rules = {
    .min_in = 1, .max_in = 1, .args = pool_args, .shape = shape_pool,
    .flags = OPF_COMMUTES_RELU | OPF_MAX_POOL, .aux = maxpool_aux,
    .decl = pool_decl, .forward = maxpool_forward, .backward = maxpool_backward, .export = maxpool_export,
    .onnx = maxpool_onnx,
};

/* ---- avgpool2d ---- */

static void avgpool_forward(EmitCtx *c)
{
    emit(c, "%s(%s, %s, n, &%s_desc);", emit_kernel(c, "avgpool2d"), emit_out(c), emit_in(c, 0), emit_id(c));
}

static void avgpool_backward(EmitCtx *c)
{
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_avgpool2d_backward(%s, %s, n, &%s_desc, %s);", din, emit_dout(c), emit_id(c), accum);
}

static void avgpool_onnx(OnnxCtx *c)
{
    pool_onnx(c, "AveragePool", true);
}

const OpRules avgpool2d_rules = {
    .min_in = 1, .max_in = 1, .args = pool_args, .shape = shape_pool,
    .decl = pool_decl, .forward = avgpool_forward, .backward = avgpool_backward, .export = avgpool_forward,
    .onnx = avgpool_onnx,
};

/* ---- global_avgpool ---- */

static bool shape_global_avgpool(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_rank3(g, n, e))
        return false;
    n->out = shape1(in_shape(g, n, 0)->d[0]);
    return true;
}

static void global_avgpool_forward(EmitCtx *c)
{
    long long C, HW;
    channels_pixels(in_shape(emit_graph(c), emit_node(c), 0), &C, &HW);
    emit(c, "%s(%s, %s, n, %lld, %lld);", emit_kernel(c, "global_avgpool"), emit_out(c), emit_in(c, 0), C, HW);
}

static void global_avgpool_backward(EmitCtx *c)
{
    long long C, HW;
    channels_pixels(in_shape(emit_graph(c), emit_node(c), 0), &C, &HW);
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_global_avgpool_backward(%s, %s, n, %lld, %lld, %s);", din, emit_dout(c), C, HW, accum);
}

/* ONNX GlobalAveragePool gives [N, C, 1, 1]; a Flatten makes it netc's [N, C]. */
static void global_avgpool_onnx(OnnxCtx *c)
{
    const char *in[1] = { onnx_in(c, 0) }, *pooled[1] = { onnx_temp(c, "pooled") };
    onnx_op(c, "GlobalAveragePool", 1, in, pooled[0]);
    onnx_op(c, "Flatten", 1, pooled, NULL);
    onnx_attr_int(c, "axis", 1);
}

const OpRules global_avgpool_rules = {
    .min_in = 1, .max_in = 1, .args = no_args, .shape = shape_global_avgpool,
    .forward = global_avgpool_forward, .backward = global_avgpool_backward, .export = global_avgpool_forward,
    .onnx = global_avgpool_onnx,
};
