/* ops.c — the op table and what the op families share.
 *
 * The table is generated from ops.def: for each op its name and its entry (OpRules),
 * which its family file defines with everything about the op side by side: argument
 * schema, shape rule, parameters, FLOPs, what the planner keeps for the backward,
 * workspace, gradient rule and emitters.  The helpers here are the ones every family
 * uses (ops_impl.h): argument access, shape arithmetic that saturates instead of
 * wrapping, the common shape-rule checks, the emitters' gradient arguments, and the
 * per-layer regularisers that conv2d and dense share. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include "ops_impl.h"

const OpInfo op_table[OP_COUNT] = {
#define OP(id, name, rules) [OP_##id] = { name, &rules },
#include "ops.def"
#undef OP
};

static const struct { const char *alias, *name; } aliases[] = {
    { "linear", "dense" },
};

/* The graph's input is declared with `input`, never called by name. */
static bool callable(const OpInfo *op) { return !(op->rules->flags & OPF_GRAPH_INPUT); }

const OpInfo *op_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].alias) == 0)
            name = aliases[i].name;
    for (int i = 0; i < OP_COUNT; i++)
        if (callable(&op_table[i]) && strcmp(op_table[i].name, name) == 0)
            return &op_table[i];
    return NULL;
}

int op_names(const char **out, int cap)
{
    int n = 0;
    for (int i = 0; i < OP_COUNT && n < cap; i++)
        if (callable(&op_table[i]))
            out[n++] = op_table[i].name;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0] && n < cap; i++)
        out[n++] = aliases[i].alias;
    return n;
}

/* ---- arguments ---- */

const ArgSpec no_args[] = { END_ARGS };

int op_arg_index(const OpInfo *op, const char *name)
{
    for (int i = 0; op->rules->args[i].name; i++)
        if (strcmp(op->rules->args[i].name, name) == 0)
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

/* ---- shapes ---- */

const char *shape_str(const Shape *s, char buf[64])
{
    int len = snprintf(buf, 64, "[");
    for (int i = 0; i < s->rank; i++)
        len += snprintf(buf + len, 64 - len, "%s%lld", i ? ", " : "", s->d[i]);
    snprintf(buf + len, 64 - len, "]");
    return buf;
}

long long mul_sat(long long a, long long b)
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

long long window_out(long long size, long long pad_before, long long pad_after, long long k, long long s)
{
    return (size + pad_before + pad_after - k) / s + 1;
}

/* ---- shape-rule checks ---- */

bool shape_fail(ShapeError *e, int arg, int note_input, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->arg = arg;
    e->note_input = note_input;
    return false;
}

bool need_rank3(const Graph *g, const GNode *n, ShapeError *e)
{
    char buf[64];
    const Shape *s = in_shape(g, n, 0);
    if (s->rank == 3)
        return true;
    return shape_fail(e, -1, 0, "%s expects a [C, H, W] input, got %s", op_table[n->op].name, shape_str(s, buf));
}

bool need_positive(const GNode *n, const char *arg, ShapeError *e)
{
    if (attr_int(n, arg) > 0)
        return true;
    return shape_fail(e, op_arg_index(&op_table[n->op], arg), -1, "%s: '%s' must be positive, got %lld",
                      op_table[n->op].name, arg, attr_int(n, arg));
}

bool need_range(const GNode *n, const char *arg, double lo, bool lo_open, double hi, bool hi_open, ShapeError *e)
{
    double v = attr_float(n, arg);
    bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok)
        return true;
    return shape_fail(e, op_arg_index(&op_table[n->op], arg), -1, "%s: '%s' must be in %c%g, %g%c, got %g",
                      op_table[n->op].name, arg, lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']', v);
}

/* The regularisers (ops_impl.h): argument, the parameter it acts on, the kernel's penalty. */
#define REGULARISER_TERM(arg, param, kind) { arg, param, kind },
static const struct { const char *arg, *param, *kind; } regularisers[] = { REGULARISERS(REGULARISER_TERM) };
#undef REGULARISER_TERM
enum { NREGULARISERS = sizeof regularisers / sizeof regularisers[0] };

bool need_regularisers(const GNode *n, ShapeError *e)
{
    const OpInfo *op = &op_table[n->op];
    for (int r = 0; r < NREGULARISERS; r++) {
        const char *arg = regularisers[r].arg;
        double v = attr_float(n, arg);
        if (!(v >= 0 && isfinite(v)))
            return shape_fail(e, op_arg_index(op, arg), -1, "%s: '%s' must be a finite number >= 0, got %g",
                              op->name, arg, v);
        if (v > 0 && strcmp(regularisers[r].param, "bias") == 0 && !attr_int(n, "bias"))
            return shape_fail(e, op_arg_index(op, arg), -1, "%s: '%s' regularises the bias, but bias = false",
                              op->name, arg);
    }
    return true;
}

void add_param(GNode *n, const char *suffix, bool trainable, int rank, const long long *d)
{
    ParamInfo *p = &n->param[n->nparam++];
    p->suffix = suffix;
    p->trainable = trainable;
    p->rank = rank;
    for (int i = 0; i < rank; i++)
        p->d[i] = d[i];
}

/* ---- emitters ---- */

void channels_pixels(const Shape *s, long long *C, long long *HW)
{
    *C = s->d[0];
    *HW = s->rank == 3 ? s->d[1] * s->d[2] : 1;
}

const char *din_accum(EmitCtx *c, int k, char buf[224])
{
    const char *din = emit_din(c, k);
    int accum = strcmp(din, "NULL") == 0 ? 0 : emit_accum(c, k);
    snprintf(buf, 224, "%s", din);
    return accum ? "1" : "0";
}

void emit_penalties(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    bool train = emit_mode(c) == MODE_TRAIN;
    for (int r = 0; r < NREGULARISERS; r++) {
        double lambda = attr_float(n, regularisers[r].arg);
        const char *param = regularisers[r].param;
        long long numel = emit_param_numel(c, param);
        if (lambda == 0 || numel == 0)
            continue;
        emit(c, "loss += rt_%s_penalty(%s, %s, %lld, %s);  /* %s = %.9g on %s.%s */", regularisers[r].kind,
             train ? emit_pgrad(c, param) : "NULL", emit_param(c, param), numel, emit_float(c, lambda),
             regularisers[r].arg, lambda, n->name, param);
    }
}
