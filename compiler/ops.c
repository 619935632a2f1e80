/* ops.c — the op table: for each op of ops.def, its argument schema, shape rule,
 * parameter shapes and FLOP count, side by side.
 *
 * A shape rule reads its input shapes and arguments (already type-checked by the
 * elaborator against the schema), writes the node's output shape, and on failure
 * returns false with a message, the argument to blame and the input whose definition
 * deserves a note; the caller prints it at the node's source location.
 * Parameter shapes follow PyTorch (conv weight [out, in, kh, kw], dense [out, in]),
 * so names and shapes line up with state_dict() for weight exchange. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"

/* ---- argument schemas ---- */

#define REQUIRED(name, type) { name, type, true, 0, NULL }
#define OPTIONAL(name, type, def) { name, type, false, def, NULL }
#define END_ARGS { NULL, A_INT, false, 0, NULL }

static const ArgSpec no_args[] = { END_ARGS };
static const ArgSpec conv2d_args[] = {
    REQUIRED("out", A_INT), REQUIRED("kernel", A_INT), OPTIONAL("stride", A_INT, 1),
    OPTIONAL("pad", A_PAD, 0), OPTIONAL("bias", A_BOOL, 1), END_ARGS,
};
static const ArgSpec pool_args[] = {
    REQUIRED("kernel", A_INT), { "stride", A_INT, false, 0, "kernel" },
    OPTIONAL("pad", A_INT, 0), END_ARGS,
};
static const ArgSpec batchnorm_args[] = {
    OPTIONAL("eps", A_FLOAT, 1e-5), OPTIONAL("momentum", A_FLOAT, 0.1), END_ARGS,
};
static const ArgSpec dropout_args[] = { OPTIONAL("p", A_FLOAT, 0.5), END_ARGS };
static const ArgSpec leaky_args[] = { OPTIONAL("slope", A_FLOAT, 0.01), END_ARGS };
static const ArgSpec elu_args[] = { OPTIONAL("alpha", A_FLOAT, 1.0), END_ARGS };
static const ArgSpec dense_args[] = { REQUIRED("out", A_INT), OPTIONAL("bias", A_BOOL, 1), END_ARGS };
static const ArgSpec pad_args[] = { REQUIRED("p", A_INT), END_ARGS };

/* ---- helpers ---- */

int op_arg_index(const OpInfo *op, const char *name)
{
    for (int i = 0; op->args[i].name; i++)
        if (strcmp(op->args[i].name, name) == 0)
            return i;
    return -1;
}

static int arg_index_or_die(const GNode *n, const char *arg)
{
    int i = op_arg_index(&op_table[n->op], arg);
    if (i < 0) {
        fprintf(stderr, "netc: internal error: op %s has no argument '%s'\n", op_table[n->op].name, arg);
        abort();
    }
    return i;
}

long long attr_int(const GNode *n, const char *arg) { return n->attr[arg_index_or_die(n, arg)].i; }
double attr_float(const GNode *n, const char *arg) { return n->attr[arg_index_or_die(n, arg)].f; }
bool attr_is_same(const GNode *n, const char *arg) { return n->attr[arg_index_or_die(n, arg)].pad_same; }

static const Shape *in_shape(const Graph *g, const GNode *n, int i) { return &g->node[n->in[i]].out; }

static bool fail(ShapeError *e, int arg, int note_input, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool fail(ShapeError *e, int arg, int note_input, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->arg = arg;
    e->note_input = note_input;
    return false;
}

const char *shape_str(const Shape *s, char buf[64])
{
    int len = snprintf(buf, 64, "[");
    for (int i = 0; i < s->rank; i++)
        len += snprintf(buf + len, 64 - len, "%s%lld", i ? ", " : "", s->d[i]);
    snprintf(buf + len, 64 - len, "]");
    return buf;
}

/* Products saturate at LLONG_MAX so an absurd shape reads as "too large", never wraps. */
static long long mul_sat(long long a, long long b)
{
    long long r;
    return __builtin_mul_overflow(a, b, &r) ? __LONG_LONG_MAX__ : r;
}

long long shape_numel(const Shape *s)
{
    long long n = 1;
    for (int i = 0; i < s->rank; i++)
        n = mul_sat(n, s->d[i]);
    return n;
}

long long param_numel(const ParamInfo *p)
{
    long long n = 1;
    for (int i = 0; i < p->rank; i++)
        n = mul_sat(n, p->d[i]);
    return n;
}

static Shape shape3(long long c, long long h, long long w) { return (Shape){ 3, { c, h, w } }; }
static Shape shape1(long long c) { return (Shape){ 1, { c, 0, 0 } }; }

static bool need_rank3(const Graph *g, const GNode *n, ShapeError *e)
{
    char buf[64];
    const Shape *s = in_shape(g, n, 0);
    if (s->rank == 3)
        return true;
    return fail(e, -1, 0, "%s expects a [C, H, W] input, got %s", op_table[n->op].name, shape_str(s, buf));
}

static bool need_positive(const GNode *n, const char *arg, ShapeError *e)
{
    if (attr_int(n, arg) > 0)
        return true;
    return fail(e, op_arg_index(&op_table[n->op], arg), -1, "%s: '%s' must be positive, got %lld",
                op_table[n->op].name, arg, attr_int(n, arg));
}

static void add_param(GNode *n, const char *suffix, bool trainable, int rank, const long long *d)
{
    ParamInfo *p = &n->param[n->nparam++];
    p->suffix = suffix;
    p->trainable = trainable;
    p->rank = rank;
    for (int i = 0; i < rank; i++)
        p->d[i] = d[i];
}

/* ---- geometry shared by the shape rules and code generation ---- */

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

/* Output size of a window sliding over `size` (PyTorch floor mode). */
static long long window_out(long long size, long long pad_before, long long pad_after, long long k, long long s)
{
    return (size + pad_before + pad_after - k) / s + 1;
}

/* ---- shape rules ---- */

static bool shape_input(const Graph *g, GNode *n, ShapeError *e)
{
    (void)g;
    (void)n;
    (void)e;
    return true;   /* set by the input declaration */
}

static bool shape_same(const Graph *g, GNode *n, ShapeError *e)
{
    (void)e;
    n->out = *in_shape(g, n, 0);
    return true;
}

static bool shape_conv2d(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_rank3(g, n, e) || !need_positive(n, "out", e) || !need_positive(n, "kernel", e) ||
        !need_positive(n, "stride", e))
        return false;
    const Shape *in = in_shape(g, n, 0);
    if (!attr_is_same(n, "pad") && attr_int(n, "pad") < 0)
        return fail(e, op_arg_index(&op_table[n->op], "pad"), -1, "conv2d: 'pad' must be >= 0, got %lld",
                    attr_int(n, "pad"));
    int pad[4];
    conv_padding(n, in, pad);
    long long k = attr_int(n, "kernel"), s = attr_int(n, "stride");
    long long ph = in->d[1] + pad[0] + pad[2], pw = in->d[2] + pad[1] + pad[3];
    if (k > ph || k > pw)
        return fail(e, op_arg_index(&op_table[n->op], "kernel"), 0,
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

static bool shape_pool(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_rank3(g, n, e) || !need_positive(n, "kernel", e) || !need_positive(n, "stride", e))
        return false;
    const Shape *in = in_shape(g, n, 0);
    long long k = attr_int(n, "kernel"), s = attr_int(n, "stride"), p = attr_int(n, "pad");
    const char *name = op_table[n->op].name;
    if (p < 0 || 2 * p > k)
        return fail(e, op_arg_index(&op_table[n->op], "pad"), -1,
                    "%s: 'pad' must be between 0 and half the kernel (%lld), got %lld", name, k / 2, p);
    if (k > in->d[1] + 2 * p || k > in->d[2] + 2 * p)
        return fail(e, op_arg_index(&op_table[n->op], "kernel"), 0,
                    "%s: kernel %lld is larger than its padded input %lldx%lld", name, k, in->d[1] + 2 * p,
                    in->d[2] + 2 * p);
    if (k * k > 256)
        return fail(e, op_arg_index(&op_table[n->op], "kernel"), -1,
                    "%s: kernel %lld is too large (at most 16x16 windows are supported)", name, k);
    n->out = shape3(in->d[0], window_out(in->d[1], p, p, k, s), window_out(in->d[2], p, p, k, s));
    return true;
}

static bool shape_global_avgpool(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_rank3(g, n, e))
        return false;
    n->out = shape1(in_shape(g, n, 0)->d[0]);
    return true;
}

static bool check_range(const GNode *n, const char *arg, double lo, bool lo_open, double hi, bool hi_open,
                        ShapeError *e)
{
    double v = attr_float(n, arg);
    bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok)
        return true;
    return fail(e, op_arg_index(&op_table[n->op], arg), -1, "%s: '%s' must be in %c%g, %g%c, got %g",
                op_table[n->op].name, arg, lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']', v);
}

static bool shape_batchnorm(const Graph *g, GNode *n, ShapeError *e)
{
    if (!check_range(n, "eps", 0, true, 1, false, e) || !check_range(n, "momentum", 0, false, 1, false, e))
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

static bool shape_dropout(const Graph *g, GNode *n, ShapeError *e)
{
    if (!check_range(n, "p", 0, false, 1, true, e))
        return false;
    n->out = *in_shape(g, n, 0);
    return true;
}

static bool shape_dropout2d(const Graph *g, GNode *n, ShapeError *e)
{
    return need_rank3(g, n, e) && shape_dropout(g, n, e);
}

static bool shape_dense(const Graph *g, GNode *n, ShapeError *e)
{
    char buf[64];
    const Shape *in = in_shape(g, n, 0);
    if (in->rank != 1)
        return fail(e, -1, 0, "dense expects a flat input [features], got %s; insert flatten() before it",
                    shape_str(in, buf));
    if (!need_positive(n, "out", e))
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

static bool shape_flatten(const Graph *g, GNode *n, ShapeError *e)
{
    (void)e;
    n->out = shape1(shape_numel(in_shape(g, n, 0)));
    return true;
}

static bool shape_pad(const Graph *g, GNode *n, ShapeError *e)
{
    if (!need_rank3(g, n, e))
        return false;
    long long p = attr_int(n, "p");
    if (p < 0)
        return fail(e, 0, -1, "pad: 'p' must be >= 0, got %lld", p);
    const Shape *in = in_shape(g, n, 0);
    n->out = shape3(in->d[0], in->d[1] + 2 * p, in->d[2] + 2 * p);
    return true;
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
            return fail(e, -1, i, "add: operand %d has shape %s but operand 1 has %s", i + 1,
                        shape_str(in_shape(g, n, i), a), shape_str(in_shape(g, n, 0), b));
    n->out = *in_shape(g, n, 0);
    return true;
}

static bool shape_concat(const Graph *g, GNode *n, ShapeError *e)
{
    char a[64], b[64];
    const Shape *first = in_shape(g, n, 0);
    long long channels = 0;
    for (int i = 0; i < n->nin; i++) {
        const Shape *s = in_shape(g, n, i);
        bool fits = s->rank == first->rank && (s->rank == 1 || (s->d[1] == first->d[1] && s->d[2] == first->d[2]));
        if (!fits)
            return fail(e, -1, i, "concat: operand %d has shape %s, which does not match operand 1's %s "
                        "outside the channel axis", i + 1, shape_str(s, a), shape_str(first, b));
        channels += s->d[0];
    }
    n->out = *first;
    n->out.d[0] = channels;
    return true;
}

static bool shape_softmax(const Graph *g, GNode *n, ShapeError *e)
{
    char buf[64];
    const Shape *in = in_shape(g, n, 0);
    if (in->rank != 1)
        return fail(e, -1, 0, "softmax expects a flat input [classes], got %s; insert flatten() and dense()",
                    shape_str(in, buf));
    n->out = *in;
    return true;
}


/* ---- lowering rules: what each op's backward reads, and the runtime
 * calls its forward, backward and initialisation emit (see codegen.c) ---- */

static long long in_numel(EmitCtx *c, int k)
{
    const GNode *n = emit_node(c);
    return shape_numel(&emit_graph(c)->node[n->in[k]].out);
}

/* Channels and pixels per channel of a [C, H, W] or [C] tensor. */
static void channels_pixels(const Shape *s, long long *C, long long *HW)
{
    *C = s->d[0];
    *HW = s->rank == 3 ? s->d[1] * s->d[2] : 1;
}

/* The input gradient argument pair "din, accum" of input k. */
static const char *din_accum(EmitCtx *c, int k, char buf[224])
{
    const char *din = emit_din(c, k);
    int accum = strcmp(din, "NULL") == 0 ? 0 : emit_accum(c, k);
    snprintf(buf, 224, "%s", din);
    return accum ? "1" : "0";
}

/* conv2d: im2col + sgemm in the runtime; the backward reads the input. */
static void conv2d_decl(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    const Shape *in = &emit_graph(c)->node[n->in[0]].out;
    int pad[4];
    conv_padding(n, in, pad);
    long long k = attr_int(n, "kernel");
    emit(c, "static const rt_conv_desc %s_desc = { %lld, %lld, %lld, %lld, %lld, %lld, %lld, %d, %d, %d, %d, %lld, %lld };",
         emit_id(c), in->d[0], in->d[1], in->d[2], n->out.d[0], k, k, attr_int(n, "stride"), pad[0], pad[1], pad[2],
         pad[3], n->out.d[1], n->out.d[2]);
}

/* rt_conv2d_workspace_floats (runtime/kernels.c), in bytes: per slot of images an im2col
 * matrix [C*k*k, OH*OW], the zero-padded input [C, H+pads, W+pads] and the zero-padded
 * output gradient [K, H+k-1, W+k-1], each followed by CONV_SLACK floats; for every slot
 * but the first a partial weight and bias gradient [K*C*k*k + K]; once, the packed
 * weights [(K+8)*C*k*k + (C+8)*K*k*k].  All but the partial gradients are absent for a
 * pointwise convolution.  CONV_SLOTS and CONV_SLACK are the runtime's RT_CONV_SLOTS
 * and CONV_SLACK. */
enum { CONV_SLOTS = 4, CONV_SLACK = 16 };

static size_t conv2d_work(const Graph *g, const GNode *n)
{
    const Shape *in = &g->node[n->in[0]].out;
    int pad[4];
    conv_padding(n, in, pad);
    long long k = attr_int(n, "kernel");
    bool pointwise = k == 1 && attr_int(n, "stride") == 1 && !pad[0] && !pad[1] && !pad[2] && !pad[3];
    long long C = in->d[0], H = in->d[1], W = in->d[2], K = n->out.d[0];
    long long ckk = C * k * k;
    long long col = ckk * n->out.d[1] * n->out.d[2] + CONV_SLACK;
    long long xp = C * (H + pad[0] + pad[2]) * (W + pad[1] + pad[3]) + CONV_SLACK;
    long long dyp = K * (H + k - 1) * (W + k - 1) + CONV_SLACK;
    long long slot = pointwise ? 0 : col + xp + dyp;
    long long part = K * ckk + K;
    long long packed = pointwise ? 0 : (K + 8) * ckk + (C + 8) * K * k * k;
    return (size_t)(CONV_SLOTS * slot + (CONV_SLOTS - 1) * part + packed) * sizeof(float);
}

static void conv2d_init(EmitCtx *c)
{
    emit(c, "rt_init_conv2d(%s, %s, &rng, &%s_desc);", emit_param(c, "weight"), emit_param(c, "bias"), emit_id(c));
}

static void conv2d_forward(EmitCtx *c)
{
    emit(c, "rt_conv2d_forward(%s, %s, %s, %s, %s, n, &%s_desc);", emit_out(c), emit_in(c, 0),
         emit_param(c, "weight"), emit_param(c, "bias"), emit_work(c), emit_id(c));
}

static void conv2d_backward(EmitCtx *c)
{
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_conv2d_backward(%s, %s, %s, %s, %s, %s, %s, n, &%s_desc, %s);", din, emit_pgrad(c, "weight"),
         emit_pgrad(c, "bias"), emit_dout(c), emit_in(c, 0), emit_param(c, "weight"), emit_work(c), emit_id(c), accum);
}

static const OpRules conv2d_rules = {
    .saves = SAVES_INPUT, .work = conv2d_work, .decl = conv2d_decl, .init = conv2d_init,
    .forward = conv2d_forward, .backward = conv2d_backward,
};

/* dense: one sgemm over the batch; the backward reads the input. */
static void dense_init(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    emit(c, "rt_init_dense(%s, %s, &rng, %lld, %lld);", emit_param(c, "weight"), emit_param(c, "bias"),
         in_numel(c, 0), n->out.d[0]);
}

static void dense_forward(EmitCtx *c)
{
    emit(c, "rt_dense_forward(%s, %s, %s, %s, n, %lld, %lld);", emit_out(c), emit_in(c, 0), emit_param(c, "weight"),
         emit_param(c, "bias"), in_numel(c, 0), emit_node(c)->out.d[0]);
}

static void dense_backward(EmitCtx *c)
{
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_dense_backward(%s, %s, %s, %s, %s, %s, n, %lld, %lld, %s);", din, emit_pgrad(c, "weight"),
         emit_pgrad(c, "bias"), emit_dout(c), emit_in(c, 0), emit_param(c, "weight"), in_numel(c, 0),
         emit_node(c)->out.d[0], accum);
}

static const OpRules dense_rules = {
    .saves = SAVES_INPUT, .init = dense_init, .forward = dense_forward, .backward = dense_backward,
};

/* Pooling: max keeps a one-byte argmax per output for its backward; avg keeps nothing. */
static void pool_decl(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    const Shape *in = &emit_graph(c)->node[n->in[0]].out;
    long long k = attr_int(n, "kernel");
    emit(c, "static const rt_pool_desc %s_desc = { %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld };",
         emit_id(c), in->d[0], in->d[1], in->d[2], k, k, attr_int(n, "stride"), attr_int(n, "pad"), n->out.d[1],
         n->out.d[2]);
}

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

static const OpRules maxpool2d_rules = {
    .aux = maxpool_aux, .decl = pool_decl, .forward = maxpool_forward, .backward = maxpool_backward,
};

static void avgpool_forward(EmitCtx *c)
{
    emit(c, "rt_avgpool2d_forward(%s, %s, n, &%s_desc);", emit_out(c), emit_in(c, 0), emit_id(c));
}

static void avgpool_backward(EmitCtx *c)
{
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_avgpool2d_backward(%s, %s, n, &%s_desc, %s);", din, emit_dout(c), emit_id(c), accum);
}

static const OpRules avgpool2d_rules = {
    .decl = pool_decl, .forward = avgpool_forward, .backward = avgpool_backward,
};

static void global_avgpool_forward(EmitCtx *c)
{
    long long C, HW;
    channels_pixels(&emit_graph(c)->node[emit_node(c)->in[0]].out, &C, &HW);
    emit(c, "rt_global_avgpool_forward(%s, %s, n, %lld, %lld);", emit_out(c), emit_in(c, 0), C, HW);
}

static void global_avgpool_backward(EmitCtx *c)
{
    long long C, HW;
    channels_pixels(&emit_graph(c)->node[emit_node(c)->in[0]].out, &C, &HW);
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_global_avgpool_backward(%s, %s, n, %lld, %lld, %s);", din, emit_dout(c), C, HW, accum);
}

static const OpRules global_avgpool_rules = {
    .forward = global_avgpool_forward, .backward = global_avgpool_backward,
};

/* batchnorm: training keeps the batch mean and 1/std per channel, and the input. */
static int batchnorm_aux(const Graph *g, const GNode *n, Mode mode, int batch, const char *names[MAX_AUX],
                         size_t bytes[MAX_AUX])
{
    (void)g;
    (void)batch;
    if (mode == MODE_INFER)
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

static void batchnorm_forward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW;
    channels_pixels(&n->out, &C, &HW);
    if (emit_mode(c) == MODE_INFER)
        emit(c, "rt_batchnorm_forward_eval(%s, %s, %s, %s, %s, %s, n, %lld, %lld, %s);", emit_out(c),
             emit_in(c, 0), emit_param(c, "weight"), emit_param(c, "bias"), emit_state(c, "running_mean"),
             emit_state(c, "running_var"), C, HW, emit_float(c, attr_float(n, "eps")));
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

static const OpRules batchnorm_rules = {
    .saves = SAVES_INPUT, .aux = batchnorm_aux, .init = batchnorm_init, .forward = batchnorm_forward,
    .backward = batchnorm_backward,
};

/* dropout: a bit mask per value (dropout2d: per channel); identity at inference. */
static size_t mask_bytes(size_t bits) { return (bits + 31) / 32 * sizeof(uint32_t); }

static int dropout_aux(const Graph *g, const GNode *n, Mode mode, int batch, const char *names[MAX_AUX],
                       size_t bytes[MAX_AUX])
{
    (void)g;
    if (mode == MODE_INFER)
        return 0;
    names[0] = "mask";
    bytes[0] = mask_bytes((size_t)shape_numel(&n->out) * (size_t)batch);
    if (n->op == OP_DROPOUT2D)
        bytes[0] = mask_bytes((size_t)n->out.d[0] * (size_t)batch);
    return 1;
}

static void dropout_forward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW;
    channels_pixels(&n->out, &C, &HW);
    if (n->op == OP_DROPOUT2D)
        emit(c, "rt_dropout2d_forward(%s, %s, %s, &net->rng, %s, n, %lld, %lld);", emit_out(c),
             emit_aux(c, 0, "uint32_t"), emit_in(c, 0), emit_float(c, attr_float(n, "p")), C, HW);
    else
        emit(c, "rt_dropout_forward(%s, %s, %s, &net->rng, %s, (size_t)n * %lld);", emit_out(c),
             emit_aux(c, 0, "uint32_t"), emit_in(c, 0), emit_float(c, attr_float(n, "p")), shape_numel(&n->out));
}

static void dropout_backward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW;
    channels_pixels(&n->out, &C, &HW);
    char din[224];
    const char *accum = din_accum(c, 0, din);
    if (n->op == OP_DROPOUT2D)
        emit(c, "rt_dropout2d_backward(%s, %s, %s, %s, n, %lld, %lld, %s);", din, emit_dout(c),
             emit_aux(c, 0, "uint32_t"), emit_float(c, attr_float(n, "p")), C, HW, accum);
    else
        emit(c, "rt_dropout_backward(%s, %s, %s, %s, (size_t)n * %lld, %s);", din, emit_dout(c),
             emit_aux(c, 0, "uint32_t"), emit_float(c, attr_float(n, "p")), shape_numel(&n->out), accum);
}

static const OpRules dropout_rules = {
    .flags = OPF_INPLACE | OPF_INPLACE_BWD | OPF_VIEW_INFER, .aux = dropout_aux, .forward = dropout_forward,
    .backward = dropout_backward,
};

/* Activations: one table row each; the backward reads the output (leaky_relu: the input). */
typedef struct {
    OpKind op;
    const char *fn;           /* runtime kernel stem */
    const char *arg;          /* its extra argument, or NULL */
} Activation;

static const Activation activations[] = {
    { OP_RELU, "relu", NULL },     { OP_LEAKY_RELU, "leaky_relu", "slope" }, { OP_ELU, "elu", "alpha" },
    { OP_SIGMOID, "sigmoid", NULL }, { OP_TANH, "tanh", NULL },
};

static const Activation *activation_of(const GNode *n)
{
    for (size_t i = 0; i < sizeof activations / sizeof activations[0]; i++)
        if (activations[i].op == n->op)
            return &activations[i];
    abort();
}

static void activation_extra(EmitCtx *c, const Activation *a, char buf[40])
{
    buf[0] = 0;
    if (a->arg)
        snprintf(buf, 40, "%s, ", emit_float(c, attr_float(emit_node(c), a->arg)));
}

static void activation_forward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    const Activation *a = activation_of(n);
    char extra[40];
    activation_extra(c, a, extra);
    emit(c, "rt_%s_forward(%s, %s, %s(size_t)n * %lld);", a->fn, emit_out(c), emit_in(c, 0), extra,
         shape_numel(&n->out));
}

static void activation_backward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    const Activation *a = activation_of(n);
    char extra[40], din[224];
    activation_extra(c, a, extra);
    const char *saved = n->op == OP_LEAKY_RELU ? emit_in(c, 0) : emit_out(c);
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_%s_backward(%s, %s, %s, %s(size_t)n * %lld, %s);", a->fn, din, emit_dout(c), saved, extra,
         shape_numel(&n->out), accum);
}

static const OpRules activation_rules = {
    .saves = SAVES_OUTPUT, .flags = OPF_INPLACE | OPF_INPLACE_BWD, .forward = activation_forward,
    .backward = activation_backward,
};
static const OpRules leaky_relu_rules = {
    .saves = SAVES_INPUT, .flags = OPF_INPLACE | OPF_INPLACE_BWD, .forward = activation_forward,
    .backward = activation_backward,
};

/* flatten is a view: same memory, same gradient. */
static const OpRules view_rules = { .flags = OPF_VIEW };

/* input and softmax are folded into the caller's data and the loss step. */
static const OpRules folded_rules = { 0 };

static void pad_forward(EmitCtx *c)
{
    const Shape *in = &emit_graph(c)->node[emit_node(c)->in[0]].out;
    emit(c, "rt_pad2d_forward(%s, %s, n, %lld, %lld, %lld, %lld);", emit_out(c), emit_in(c, 0), in->d[0], in->d[1],
         in->d[2], attr_int(emit_node(c), "p"));
}

static void pad_backward(EmitCtx *c)
{
    const Shape *in = &emit_graph(c)->node[emit_node(c)->in[0]].out;
    char din[224];
    const char *accum = din_accum(c, 0, din);
    emit(c, "rt_pad2d_backward(%s, %s, n, %lld, %lld, %lld, %lld, %s);", din, emit_dout(c), in->d[0], in->d[1],
         in->d[2], attr_int(emit_node(c), "p"), accum);
}

static const OpRules pad_rules = { .forward = pad_forward, .backward = pad_backward };

/* The inputs of an n-ary op as a C array initialiser "{ a, b, ... }". */
static void emit_input_array(EmitCtx *c, const char *name)
{
    const GNode *n = emit_node(c);
    char line[2048];
    size_t used = (size_t)snprintf(line, sizeof line, "const float *const %s[%d] = { ", name, n->nin);
    for (int k = 0; k < n->nin && used < sizeof line; k++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s", k ? ", " : "", emit_in(c, k));
    emit(c, "%s };", line);
}

static void add_forward(EmitCtx *c)
{
    emit(c, "{");
    emit_input_array(c, "    in");
    emit(c, "    rt_add_forward(%s, in, %d, (size_t)n * %lld);", emit_out(c), emit_node(c)->nin,
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

static const OpRules add_rules = { .flags = OPF_INPLACE, .forward = add_forward, .backward = add_backward };

static void concat_forward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW;
    channels_pixels(&n->out, &C, &HW);
    char channels[512];
    size_t used = 0;
    for (int k = 0; k < n->nin && used < sizeof channels; k++)
        used += (size_t)snprintf(channels + used, sizeof channels - used, "%s%lld", k ? ", " : "",
                                 emit_graph(c)->node[n->in[k]].out.d[0]);
    emit(c, "{");
    emit_input_array(c, "    in");
    emit(c, "    static const int channels[%d] = { %s };", n->nin, channels);
    emit(c, "    rt_concat_forward(%s, in, channels, %d, n, %lld);", emit_out(c), n->nin, HW);
    emit(c, "}");
}

static void concat_backward(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    long long C, HW, offset = 0;
    channels_pixels(&n->out, &C, &HW);
    for (int k = 0; k < n->nin; k++) {
        long long ck = emit_graph(c)->node[n->in[k]].out.d[0];
        char din[224];
        const char *accum = din_accum(c, k, din);
        if (strcmp(din, "NULL") != 0)
            emit(c, "rt_concat_backward(%s, %s, n, %lld, %lld, %lld, %lld, %s);", din, emit_dout(c), C, offset, ck,
                 HW, accum);
        offset += ck;
    }
}

static const OpRules concat_rules = { .forward = concat_forward, .backward = concat_backward };

/* ---- the table ---- */

const OpInfo op_table[OP_COUNT] = {
#define OP(id, name, min_in, max_in, args, shape, params, flops, rules) \
    [OP_##id] = { name, min_in, max_in, args, shape, params, flops, &rules },
#include "ops.def"
#undef OP
};

static const struct { const char *alias, *name; } aliases[] = {
    { "linear", "dense" },
};

const OpInfo *op_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].alias) == 0)
            name = aliases[i].name;
    for (int i = 0; i < OP_COUNT; i++)
        if (i != OP_INPUT && strcmp(op_table[i].name, name) == 0)
            return &op_table[i];
    return NULL;
}

int op_names(const char **out, int cap)
{
    int n = 0;
    for (int i = 0; i < OP_COUNT && n < cap; i++)
        if (i != OP_INPUT)
            out[n++] = op_table[i].name;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0] && n < cap; i++)
        out[n++] = aliases[i].alias;
    return n;
}
