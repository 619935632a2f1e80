/* codegen.c — writes a model as plain C over the runtime's kernel and core layers
 * (runtime/kernels/rt_kernels.h): the model links with -lnetcrt_kernels -lnetcrt_core
 * -lopenblas -lm and nothing else.
 *
 * NAME.h declares the parameter and state structs (one flat float array each, one
 * member per tensor, PyTorch shapes in comments), the sizes as constants
 * (NAME_ARENA_BYTES among them), the functions and the rt_model table.  NAME.c holds
 * each layer's geometry as a constant descriptor, then the functions: init (PyTorch's
 * default initialisation), train_step (forward, loss, backward, optimizer, from the
 * train plan) and evaluate (from the inference plan).
 *
 * Each function opens with a named pointer per buffer it uses, the arena base plus the
 * planner's offset, its shape and live steps in a comment (`float *conv2d_1_out =
 * (float *)(A + 0);  ... live steps 0-1`); a value living in another's memory (an
 * in-place output or input gradient, a view) gets its own name set to the owner's.
 * The calls then use the names, each step preceded by a comment with its number, the
 * layer's call with the values of its arguments and where the model makes it.  A
 * function is written to memory first: emitting its calls marks the names they use,
 * and only those are declared, so the file compiles warning-free.  The per-op calls
 * come from the emitters in the op table (ops.c); this file only walks the schedule
 * and answers their questions about buffers.  Identifiers come from layer names,
 * sanitised and made unique, so nothing in a .net file reaches the C text except as a
 * checked identifier or an escaped string. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"
#include "weights.h"

#define NSCRATCH 16

enum { VAL_OUT, VAL_GRAD };   /* a node's output or output gradient */

/* The named pointers of the function being written.  A plan buffer's name is its plan
 * name made an identifier (conv2d_1.out -> conv2d_1_out); a node whose output or
 * gradient lives in a buffer it does not own gets LAYER_out or LAYER_grad. */
typedef struct {
    char **buf;               /* per plan buffer: its name */
    const char **buf_type;    /* per plan buffer: its element type once used, else NULL */
    char *(*value)[2];        /* per node: its own name for a value in another's buffer, once used */
    bool P, G, S;             /* the parameter, gradient and state structs are used */
} Names;

struct EmitCtx {
    FILE *out;
    const Graph *g;
    const Plan *plan;
    char **ids;               /* per node: C identifier */
    int node;
    bool *written;            /* per node: its gradient has a contribution already */
    const char *indent;
    bool backward;            /* emitting a backward step */
    Names names;
    const char *params, *state;  /* export: the C expressions of the weights */
    const char *prologue;        /* export: code before the first step (the normalisation) */
    size_t mt_offset;            /* export: where the tasks' scratch starts in the workspace */
    bool par_used, mt_used;      /* export: the calls name par, the tasks' scratch */
    char scratch[NSCRATCH][192];
    int next_scratch;
};

static char *scratch(EmitCtx *c)
{
    char *s = c->scratch[c->next_scratch];
    c->next_scratch = (c->next_scratch + 1) % NSCRATCH;
    return s;
}

const GNode *emit_node(EmitCtx *c) { return &c->g->node[c->node]; }
const Graph *emit_graph(EmitCtx *c) { return c->g; }
Mode emit_mode(EmitCtx *c) { return c->plan ? c->plan->mode : MODE_TRAIN; }
const char *emit_id(EmitCtx *c) { return c->ids[c->node]; }

/* The name of plan buffer `buf`, marked used as an array of `ctype`. */
static const char *use_buffer(EmitCtx *c, int buf, const char *ctype)
{
    if (!c->names.buf_type[buf])
        c->names.buf_type[buf] = ctype;
    return c->names.buf[buf];
}

static int value_buffer(const Plan *p, int node, int role)
{
    return role == VAL_OUT ? p->node[node].out : p->node[node].grad;
}

/* Does the node's output (gradient) live in a buffer made for another value? */
static bool is_alias(const Plan *p, int node, int role)
{
    const Buffer *b = &p->buf[value_buffer(p, node, role)];
    return b->node != node || b->kind != (role == VAL_OUT ? B_ACT : B_GRAD);
}

/* The name of a node's output or output gradient; the caller's input is `x`. */
static const char *value_name(EmitCtx *c, int node, int role)
{
    int b = value_buffer(c->plan, node, role);
    if (b < 0)
        return role == VAL_OUT ? "x" : "NULL";
    const char *owner = use_buffer(c, b, "float");
    if (!is_alias(c->plan, node, role))
        return owner;
    char **name = &c->names.value[node][role];
    if (!*name) {
        *name = xcalloc(strlen(c->ids[node]) + 8, 1);
        sprintf(*name, "%s_%s", c->ids[node], role == VAL_OUT ? "out" : "grad");
    }
    return *name;
}

static const char *buffer_name(EmitCtx *c, int buf, const char *ctype)
{
    return buf < 0 ? "NULL" : use_buffer(c, buf, ctype);
}

const char *emit_in(EmitCtx *c, int k) { return value_name(c, emit_node(c)->in[k], VAL_OUT); }
const char *emit_out(EmitCtx *c) { return value_name(c, c->node, VAL_OUT); }
const char *emit_dout(EmitCtx *c) { return value_name(c, c->node, VAL_GRAD); }

const char *emit_din(EmitCtx *c, int k)
{
    int in = emit_node(c)->in[k];
    return c->plan->node[in].requires_grad ? value_name(c, in, VAL_GRAD) : "NULL";
}

/* The node whose gradient a view's gradient is (flatten passes it straight through). */
static int gradient_owner(const EmitCtx *c, int node)
{
    while (plan_is_view(c->plan, node))
        node = c->g->node[node].in[0];
    return node;
}

/* Gradients are tracked per node, not per buffer: an in-place backward overwrites its
 * output gradient's buffer with a fresh input gradient, which is a first write. */
int emit_accum(EmitCtx *c, int k)
{
    int in = emit_node(c)->in[k];
    if (!c->plan->node[in].requires_grad)
        return 0;
    int owner = gradient_owner(c, in);
    int was = c->written[owner];
    c->written[owner] = true;
    return was;
}

static const ParamInfo *find_param(const GNode *n, const char *suffix)
{
    for (int p = 0; p < n->nparam; p++)
        if (strcmp(n->param[p].suffix, suffix) == 0)
            return &n->param[p];
    return NULL;
}

/* BASE->LAYER_SUFFIX, a tensor of the params (P), gradients (G) or state (S) struct. */
static const char *member(EmitCtx *c, char base, bool *used, const char *suffix)
{
    if (!find_param(emit_node(c), suffix))
        return "NULL";
    *used = true;
    char *s = scratch(c);
    snprintf(s, 192, "%c->%s_%s", base, emit_id(c), suffix);
    return s;
}

const char *emit_param(EmitCtx *c, const char *suffix) { return member(c, 'P', &c->names.P, suffix); }
const char *emit_pgrad(EmitCtx *c, const char *suffix) { return member(c, 'G', &c->names.G, suffix); }
const char *emit_state(EmitCtx *c, const char *suffix) { return member(c, 'S', &c->names.S, suffix); }

long long emit_param_numel(EmitCtx *c, const char *suffix)
{
    const ParamInfo *p = find_param(emit_node(c), suffix);
    return p ? param_numel(p) : 0;
}

const char *emit_aux(EmitCtx *c, int k, const char *ctype)
{
    return buffer_name(c, c->plan->node[c->node].aux[k], ctype);
}

const char *emit_work(EmitCtx *c)
{
    const NodePlan *np = &c->plan->node[c->node];
    return buffer_name(c, c->backward ? np->work_bwd : np->work, "float");
}

const char *emit_parallel(EmitCtx *c)
{
    c->par_used = true;
    return "par";
}

const char *emit_export_work(EmitCtx *c)
{
    char *s = scratch(c);
    c->mt_used = true;
    snprintf(s, 192, "%s ? taskwork : %s", emit_parallel(c), emit_work(c));
    return s;
}

const char *emit_kernel(EmitCtx *c, const char *base)
{
    char *s = scratch(c);
    if (emit_mode(c) == MODE_EXPORT)
        snprintf(s, 192, "netc_%s", base);
    else
        snprintf(s, 192, "rt_%s_forward", base);
    return s;
}

const char *emit_desc_type(EmitCtx *c, const char *base)
{
    char *s = scratch(c);
    snprintf(s, 192, "%s_%s_desc", emit_mode(c) == MODE_EXPORT ? "netc" : "rt", base);
    return s;
}

/* The node that reads node i's output, when exactly one does (-1 otherwise). */
static int only_reader(const Graph *g, int i)
{
    int reader = -1;
    for (int j = i + 1; j < g->n; j++)
        for (int k = 0; k < g->node[j].nin; k++)
            if (g->node[j].in[k] == i) {
                if (reader >= 0)
                    return -1;
                reader = j;
            }
    return reader;
}

static unsigned flags_of(const Graph *g, int i)
{
    return op_table[g->node[i].op].rules->flags;
}

int export_folded_bn(const Graph *g, const Plan *p, int i)
{
    int r = only_reader(g, i);
    if (p->mode != MODE_EXPORT || r < 0 || r == g->output || !(flags_of(g, i) & OPF_TAKES_BN) ||
        !(flags_of(g, r) & OPF_BN_FOLDS))
        return -1;
    return p->node[r].out == p->node[i].out ? r : -1;
}

/* The OPF_RELU node fused into node i's export call, or -1: past the batchnorm folded
 * in, the readers one by one while each is the only one and a view or an op that
 * commutes with relu, up to a relu working in place. */
static int fused_relu(const EmitCtx *c, int i)
{
    const Graph *g = c->g;
    const Plan *p = c->plan;
    if (p->mode != MODE_EXPORT || !(flags_of(g, i) & OPF_TAKES_RELU))
        return -1;
    int at = export_folded_bn(g, p, i);
    at = at >= 0 ? at : i;
    for (int r = only_reader(g, at); r >= 0 && r != g->output; at = r, r = only_reader(g, r)) {
        if (flags_of(g, r) & OPF_RELU)
            return p->node[r].out == p->node[at].out ? r : -1;
        if (!plan_is_view(p, r) && !(flags_of(g, r) & OPF_COMMUTES_RELU))
            return -1;
    }
    return -1;
}

/* The OPF_MAX_POOL node fused into node i's export call, or -1: node i applies a relu
 * (fused_relu), and past the batchnorm folded in, the relu if it comes first (in
 * place) and views (dropout), its only reader is a 2x2 stride-2 unpadded max pooling. */
static int fused_pool(const EmitCtx *c, int i)
{
    const Graph *g = c->g;
    if (c->plan->mode != MODE_EXPORT || !(flags_of(g, i) & OPF_TAKES_POOL) || fused_relu(c, i) < 0)
        return -1;
    int at = export_folded_bn(g, c->plan, i);
    at = at >= 0 ? at : i;
    int r = only_reader(g, at), relu = fused_relu(c, i);
    while (r >= 0 && r != g->output && (r == relu || plan_is_view(c->plan, r)))
        r = only_reader(g, r);
    if (r < 0 || r == g->output || !(flags_of(g, r) & OPF_MAX_POOL))
        return -1;
    const GNode *n = &g->node[r];
    bool two_by_two = attr_int(n, "kernel") == 2 && attr_int(n, "stride") == 2 && attr_int(n, "pad") == 0;
    return two_by_two ? r : -1;
}

bool emit_fused_pool(EmitCtx *c, const char **out, const char **id)
{
    int pool = fused_pool(c, c->node);
    if (pool < 0)
        return false;
    int self = c->node;
    c->node = pool;
    *out = emit_out(c);
    *id = emit_id(c);
    c->node = self;
    return true;
}

const char *emit_fused_act(EmitCtx *c)
{
    return fused_relu(c, c->node) >= 0 ? "NETC_ACT_RELU" : "NETC_ACT_NONE";
}

const char *emit_fused_bias(EmitCtx *c)
{
    int bn = export_folded_bn(c->g, c->plan, c->node);
    if (bn < 0)
        return emit_param(c, "bias");
    int self = c->node;
    c->node = bn;
    const char *bias = emit_param(c, "bias");
    c->node = self;
    return bias;
}

/* The node whose export call does node i's work (a relu it applies, a batchnorm
 * folded into its weights, a max pooling it takes), or -1. */
static int done_by(const EmitCtx *c, int i)
{
    for (int j = 0; j < i; j++)
        if (fused_relu(c, j) == i || export_folded_bn(c->g, c->plan, j) == i || fused_pool(c, j) == i)
            return j;
    return -1;
}

const char *float_literal(double v, char buf[32])
{
    snprintf(buf, 28, "%.9g", v);
    if (!strpbrk(buf, ".en"))
        strcat(buf, ".0");
    strcat(buf, "f");
    return buf;
}

const char *emit_float(EmitCtx *c, double v)
{
    return float_literal(v, scratch(c));
}

void emit(EmitCtx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(c->indent, c->out);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
    fputc('\n', c->out);
}

/* ---- identifiers ---- */

static char *sanitize(const char *name)
{
    size_t len = strlen(name);
    char *s = xcalloc(len + 2, 1);
    size_t j = 0;
    if (!isalpha((unsigned char)name[0]) && name[0] != '_')
        s[j++] = 'l';
    for (size_t i = 0; i < len; i++)
        s[j++] = isalnum((unsigned char)name[i]) ? name[i] : '_';
    return s;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A set of the identifiers given so far: open addressing over a power-of-two table at
 * most half full, so that making n unique ids is O(n), not n^2 comparisons. */
typedef struct {
    const char **slot;
    size_t mask;
} IdSet;

static const char **id_slot(const IdSet *set, const char *id)
{
    size_t h = (size_t)fnv1a(0xcbf29ce484222325ULL, id, strlen(id)) & set->mask;
    while (set->slot[h] && strcmp(set->slot[h], id) != 0)
        h = (h + 1) & set->mask;
    return &set->slot[h];
}

char **make_ids(const Graph *g)
{
    char **ids = xcalloc((size_t)g->n + 1, sizeof *ids);
    IdSet set = { .mask = 63 };
    while (set.mask < 2 * (size_t)g->n)
        set.mask = 2 * set.mask + 1;
    set.slot = xcalloc(set.mask + 1, sizeof *set.slot);
    for (int i = 0; i < g->n; i++) {
        char *base = sanitize(g->node[i].name);
        ids[i] = xstrdup(base);
        for (int k = 2; *id_slot(&set, ids[i]); k++) {
            free(ids[i]);
            ids[i] = xcalloc(strlen(base) + 16, 1);
            sprintf(ids[i], "%s_%d", base, k);
        }
        *id_slot(&set, ids[i]) = ids[i];
        free(base);
    }
    free(set.slot);
    return ids;
}

void free_ids(const Graph *g, char **ids)
{
    for (int i = 0; i < g->n; i++)
        free(ids[i]);
    free(ids);
}

/* ---- model facts ---- */

/* A hash of everything that fixes the parameter layout: ops, shapes, parameters. */
uint64_t structure_hash(const Graph *g)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < g->n; i++) {
        const GNode *n = &g->node[i];
        h = fnv1a(h, op_table[n->op].name, strlen(op_table[n->op].name));
        h = fnv1a(h, n->name, strlen(n->name));
        h = fnv1a(h, n->out.d, sizeof n->out.d);
        for (int p = 0; p < n->nparam; p++) {
            h = fnv1a(h, n->param[p].suffix, strlen(n->param[p].suffix));
            h = fnv1a(h, n->param[p].d, sizeof n->param[p].d);
        }
    }
    return h;
}

/* The prefix in capitals, as the macros spell it. */
void macro_name(const char *prefix, char *buf, size_t len)
{
    size_t i = 0;
    for (; prefix[i] && i + 1 < len; i++)
        buf[i] = (char)toupper((unsigned char)prefix[i]);
    buf[i] = 0;
}

void print_macro_name(FILE *out, const char *prefix)
{
    for (const char *p = prefix; *p; p++)
        fputc(toupper((unsigned char)*p), out);
}

static const char *dims_text(const ParamInfo *p, char *buf, size_t len)
{
    size_t used = 0;
    for (int i = 0; i < p->rank && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? ", " : "", p->d[i]);
    return buf;
}

/* Writes one struct with a member per parameter (trainable or state). */
int write_struct(FILE *out, const Graph *g, char **ids, const char *prefix, const char *what, bool trainable)
{
    int count = 0;
    fprintf(out, "typedef struct {\n");
    for (int i = 0; i < g->n; i++)
        for (int p = 0; p < g->node[i].nparam; p++) {
            const ParamInfo *pi = &g->node[i].param[p];
            if (pi->trainable != trainable)
                continue;
            char dims[96];
            fprintf(out, "    float %s_%s[%lld]; /* [%s] */\n", ids[i], pi->suffix, param_numel(pi),
                    dims_text(pi, dims, sizeof dims));
            count++;
        }
    if (!count)
        fprintf(out, "    float unused; /* this model has no %s */\n", what);
    fprintf(out, "} %s_%s;\n\n", prefix, what);
    return count;
}

static int classes_of(const Graph *g)
{
    return (int)g->node[g->output].out.d[0];
}

static void write_header(FILE *out, const Graph *g, char **ids, const char *prefix, const Plan *train,
                         const Plan *infer, int max_batch)
{
    const Shape *in = &g->node[g->input].out;
    fprintf(out, "/* %s.h — generated by netc from model %s; do not edit. */\n", prefix, g->model_name);
    fprintf(out, "#ifndef ");
    print_macro_name(out, prefix);
    fprintf(out, "_H\n#define ");
    print_macro_name(out, prefix);
    fprintf(out, "_H\n\n#include <stdint.h>\n#include \"kernels/rt_kernels.h\"\n\n");
    struct {
        const char *name;
        long long value;
    } consts[] = {
        { "MAX_BATCH", max_batch },
        { "IN_C", in->d[0] },
        { "IN_H", in->rank == 3 ? in->d[1] : 1 },
        { "IN_W", in->rank == 3 ? in->d[2] : 1 },
        { "CLASSES", classes_of(g) },
        { "NPARAMS", graph_params(g, true) },
        { "NSTATE", graph_params(g, false) },
        { "ARENA_BYTES", (long long)train->arena },
        { "INFER_ARENA_BYTES", (long long)infer->arena },
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
        fprintf(out, "#define ");
        print_macro_name(out, prefix);
        fprintf(out, "_%s %lld\n", consts[i].name, consts[i].value);
    }
    fprintf(out, "\n");
    write_struct(out, g, ids, prefix, "params", true);
    write_struct(out, g, ids, prefix, "state", false);
    fprintf(out, "void %s_init(rt_net *net, uint64_t seed);\n", prefix);
    fprintf(out, "float %s_train_step(rt_net *net, const float *x, const int32_t *labels, const float *targets, "
                 "int n, float *probs);\n", prefix);
    fprintf(out, "float %s_evaluate(rt_net *net, const float *x, const int32_t *labels, int n, float *probs);\n",
            prefix);
    fprintf(out, "extern const rt_model %s_model;\n\n#endif\n", prefix);
}

/* ---- buffer names and their declarations ---- */

/* Names every plan buffer.  They cannot clash: layer identifiers are unique, and no
 * suffix (out, grad, work, work_bwd, argmax, mask, mean, invstd) ends with `_` and
 * another, so LAYER_SUFFIX determines both; loss_probs has no layer. */
static void names_begin(EmitCtx *c)
{
    const Plan *p = c->plan;
    Names *nm = &c->names;
    *nm = (Names){ 0 };
    nm->buf = xcalloc((size_t)p->nbuf + 1, sizeof *nm->buf);
    nm->buf_type = xcalloc((size_t)p->nbuf + 1, sizeof *nm->buf_type);
    nm->value = xcalloc((size_t)c->g->n, sizeof *nm->value);
    for (int b = 0; b < p->nbuf; b++) {
        const Buffer *x = &p->buf[b];
        if (x->node < 0) {
            nm->buf[b] = sanitize(x->name);
            continue;
        }
        const char *suffix = x->name + strlen(c->g->node[x->node].name) + 1;
        nm->buf[b] = xcalloc(strlen(c->ids[x->node]) + strlen(suffix) + 2, 1);
        sprintf(nm->buf[b], "%s_%s", c->ids[x->node], suffix);
    }
}

static void names_end(EmitCtx *c)
{
    Names *nm = &c->names;
    for (int b = 0; b < c->plan->nbuf; b++)
        free(nm->buf[b]);
    for (int i = 0; i < c->g->n; i++) {
        free(nm->value[i][VAL_OUT]);
        free(nm->value[i][VAL_GRAD]);
    }
    free(nm->buf);
    free(nm->buf_type);
    free(nm->value);
    *nm = (Names){ 0 };
}

/* "[n, 16, 28, 28]": a tensor of the batch. */
static const char *batch_shape(const Shape *s, char buf[72])
{
    char dims[64];
    shape_str(s, dims);
    snprintf(buf, 72, "[n%s%s", s->rank ? ", " : "", dims + 1);
    return buf;
}

typedef struct {
    const Buffer *buf;
    int index;
} ByOffset;

static int by_offset(const void *a, const void *b)
{
    const ByOffset *x = a, *y = b;
    if (x->buf->offset != y->buf->offset)
        return x->buf->offset < y->buf->offset ? -1 : 1;
    if (x->buf->first != y->buf->first)
        return x->buf->first - y->buf->first;
    return x->index - y->index;
}

/* For each used buffer, one other used buffer whose bytes it shares (-1: none): a sweep
 * in offset order, keeping the buffer reaching furthest so far. */
static int *sharing_partners(EmitCtx *c)
{
    const Plan *p = c->plan;
    int *partner = xcalloc((size_t)p->nbuf + 1, sizeof *partner);
    ByOffset *order = xcalloc((size_t)p->nbuf + 1, sizeof *order);
    int n = 0;
    for (int b = 0; b < p->nbuf; b++) {
        partner[b] = -1;
        if (c->names.buf_type[b])
            order[n++] = (ByOffset){ &p->buf[b], b };
    }
    qsort(order, (size_t)n, sizeof *order, by_offset);
    const Buffer *reach = NULL;
    int reach_index = -1;
    for (int i = 0; i < n; i++) {
        const Buffer *x = order[i].buf;
        if (reach && reach->offset + reach->bytes > x->offset)
            partner[order[i].index] = reach_index;
        if (!reach || x->offset + x->bytes > reach->offset + reach->bytes) {
            reach = x;
            reach_index = order[i].index;
        }
    }
    free(order);
    return partner;
}

/* A plan buffer's comment: its shape (or bytes), live steps, and a buffer sharing its bytes. */
static void buffer_note(EmitCtx *c, int b, int partner, char *note, size_t len)
{
    const Plan *p = c->plan;
    const Buffer *x = &p->buf[b];
    char what[72], steps[48], bytes[32];
    if (x->kind == B_ACT || x->kind == B_GRAD)
        batch_shape(&c->g->node[x->node].out, what);
    else if (x->kind == B_PROBS)
        batch_shape(&c->g->node[p->logits].out, what);
    else
        snprintf(what, sizeof what, "%s bytes", commas((long long)x->bytes, bytes));
    if (x->first == x->last)
        snprintf(steps, sizeof steps, "live step %d", x->first);
    else
        snprintf(steps, sizeof steps, "live steps %d-%d", x->first, x->last);
    int used = snprintf(note, len, "%s, %s", what, steps);
    if (partner >= 0 && used > 0 && (size_t)used < len)
        snprintf(note + used, len - (size_t)used, "; shares bytes with %s", c->names.buf[partner]);
}

/* One declaration line, its comment aligned. */
static void declare(FILE *out, const char *decl, const char *note)
{
    fprintf(out, "    %-56s /* %s */\n", decl, note);
}

/* The pointers the function's calls used: the structs, then each plan buffer in plan
 * order, then the values living in another's buffer. */
static void write_declarations(EmitCtx *c, FILE *out, const char *prefix)
{
    const Plan *p = c->plan;
    const Names *nm = &c->names;
    bool arena = false;
    for (int b = 0; b < p->nbuf; b++)
        arena |= nm->buf_type[b] != NULL;
    bool exporting = p->mode == MODE_EXPORT;
    if (nm->P && exporting)
        fprintf(out, "    const %s_params *P = %s;\n", prefix, c->params);
    else if (nm->P)
        fprintf(out, "    %s_params *P = (%s_params *)net->params;\n", prefix, prefix);
    if (nm->G)
        fprintf(out, "    %s_params *G = (%s_params *)net->grads;\n", prefix, prefix);
    if (nm->S && exporting)
        fprintf(out, "    const %s_state *S = %s;\n", prefix, c->state);
    else if (nm->S)
        fprintf(out, "    %s_state *S = (%s_state *)net->state;\n", prefix, prefix);
    if (!arena)
        return;
    fprintf(out, "    unsigned char *A = (unsigned char *)%s;\n", exporting ? "workspace" : "net->arena");
    int *partner = sharing_partners(c);
    char decl[320], note[320];
    if (exporting && c->mt_used) {
        snprintf(decl, sizeof decl, "float *taskwork = (float *)(A + %zu);", c->mt_offset);
        declare(out, decl, "the convolutions' scratch on par's tasks (predict_mt)");
    }
    for (int b = 0; b < p->nbuf; b++) {
        const char *type = nm->buf_type[b];
        if (!type)
            continue;
        snprintf(decl, sizeof decl, "%s *%s = (%s *)(A + %zu);", type, nm->buf[b], type, p->buf[b].offset);
        buffer_note(c, b, partner[b], note, sizeof note);
        declare(out, decl, note);
    }
    free(partner);
    for (int i = 0; i < c->g->n; i++)
        for (int role = VAL_OUT; role <= VAL_GRAD; role++) {
            if (!nm->value[i][role])
                continue;
            const char *owner = nm->buf[value_buffer(p, i, role)];
            snprintf(decl, sizeof decl, "float *%s = %s;", nm->value[i][role], owner);
            snprintf(note, sizeof note, "%s %s", plan_is_view(p, i) ? "a view of" : "in place over", owner);
            declare(out, decl, note);
        }
}

/* ---- functions ---- */

/* Appends printf-style text to buf, never past len. */
static void add_text(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_text(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static void add_attr_text(char *buf, size_t len, const ArgSpec *spec, const Attr *a)
{
    switch (spec->type) {
    case A_INT: add_text(buf, len, "%lld", a->i); break;
    case A_FLOAT: add_text(buf, len, "%.9g", a->f); break;
    case A_BOOL: add_text(buf, len, "%s", a->i ? "true" : "false"); break;
    case A_PAD:
        if (a->pad_same)
            add_text(buf, len, "same");
        else
            add_text(buf, len, "%lld", a->i);
        break;
    case A_STR: add_text(buf, len, "\"\""); break;
    }
}

/* The layer's call with its arguments' values, in the language's chain form:
 * `conv2d_1 = x -> conv2d(16, 5, pad = 2)`, `add_1 = add(relu_2, conv2d_3)`.  The
 * arguments written in the source are shown, the required ones positionally and the
 * optional ones as keywords. */
static void call_text(const Graph *g, const GNode *n, char *buf, size_t len)
{
    const OpInfo *op = &op_table[n->op];
    snprintf(buf, len, "%s = ", n->name);
    if (n->nin == 1)
        add_text(buf, len, "%s -> ", g->node[n->in[0]].name);
    add_text(buf, len, "%s(", op->name);
    int shown = 0;
    for (int k = 0; k < n->nin && n->nin > 1; k++)
        add_text(buf, len, "%s%s", shown++ ? ", " : "", g->node[n->in[k]].name);
    for (int i = 0; op->rules->args[i].name; i++) {
        if (!n->attr[i].given)
            continue;
        add_text(buf, len, "%s", shown++ ? ", " : "");
        if (!op->rules->args[i].required)
            add_text(buf, len, "%s = ", op->rules->args[i].name);
        add_attr_text(buf, len, &op->rules->args[i], &n->attr[i]);
    }
    add_text(buf, len, ")");
}

/* Where the model makes the layer: its call, or the model's call of the block that
 * made it — `lenet_bn.net:12:12 in lenet_stage`. */
static void site_text(const GNode *n, char *buf, size_t len)
{
    const Loc *at = &n->site;
    const char *file = at->file ? at->file->name : "?";
    const char *slash = strrchr(file, '/');
    snprintf(buf, len, "%s:%d:%d", slash ? slash + 1 : file, at->line, at->col);
    bool in_block = at->file && (at->off != n->loc.off || at->file != n->loc.file);
    if (in_block && at->end > at->off)
        add_text(buf, len, " in %.*s", at->end - at->off, at->file->text + at->off);
}

static void step_comment(EmitCtx *c, int step)
{
    const GNode *n = emit_node(c);
    char call[512], shape[72], site[256];
    call_text(c->g, n, call, sizeof call);
    site_text(n, site, sizeof site);
    fprintf(c->out, "    /* step %d: %s -> %s  %s */\n", step, call, batch_shape(&n->out, shape), site);
}

/* A stream writing into *text, or the end of netc. */
static FILE *open_memory(char **text, size_t *len)
{
    FILE *f = open_memstream(text, len);
    if (!f) {
        perror("netc: open_memstream");
        exit(2);
    }
    return f;
}

/* The loss terms of the layers' regularisers (each op's penalty emitter), as lines at
 * `indent`; NULL when no layer has any. */
static char *penalty_text(EmitCtx *c, const char *indent)
{
    FILE *out = c->out;
    const char *outer = c->indent;
    char *text = NULL;
    size_t len = 0;
    c->out = open_memory(&text, &len);
    c->indent = indent;
    for (int i = 0; i < c->g->n; i++) {
        c->node = i;
        const OpRules *k = op_table[c->g->node[i].op].rules;
        if (k->penalty)
            k->penalty(c);
    }
    fclose(c->out);
    c->out = out;
    c->indent = outer;
    if (len == 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* The loss step: softmax cross-entropy on the logits, then the layers' regularisers,
 * which are part of the loss in both functions (evaluate's as Keras's val_loss), their
 * gradients added into G in training. */
static void emit_loss(EmitCtx *c, int step, bool train)
{
    const Plan *p = c->plan;
    int k = classes_of(c->g);
    const char *logits = value_name(c, p->logits, VAL_OUT);
    const char *probs = use_buffer(c, p->probs, "float");
    char *terms = penalty_text(c, train ? "    " : "        ");
    fprintf(c->out, "    /* step %d: loss, softmax cross-entropy on the logits of %s */\n", step, c->ids[p->logits]);
    if (!train) {
        emit(c, "float loss = 0.0f;");
        emit(c, "if (labels)");
        emit(c, "    loss = rt_softmax_xent_forward(%s, %s, labels, n, %d);", probs, logits, k);
        emit(c, "else");
        emit(c, "    rt_softmax_forward(%s, %s, n, %d);", probs, logits, k);
    } else {
        const char *dlogits = value_name(c, p->logits, VAL_GRAD);
        emit(c, "float loss;");
        emit(c, "if (labels) {");
        emit(c, "    loss = rt_softmax_xent_forward(%s, %s, labels, n, %d);", probs, logits, k);
        emit(c, "    rt_softmax_xent_backward(%s, %s, labels, n, %d, 0);", dlogits, probs, k);
        emit(c, "} else {");
        emit(c, "    loss = rt_softmax_xent_soft_forward(%s, %s, targets, n, %d);", probs, logits, k);
        emit(c, "    rt_softmax_xent_soft_backward(%s, %s, targets, n, %d, 0);", dlogits, probs, k);
        emit(c, "}");
        c->written[gradient_owner(c, p->logits)] = true;
    }
    if (terms && train) {
        fprintf(c->out, "    /* the layers' regularisers: their penalties on the loss, their gradients into G */\n");
        fputs(terms, c->out);
    } else if (terms) {
        fprintf(c->out, "    /* the layers' regularisers: their penalties on the loss, as in training */\n");
        emit(c, "if (labels) {");
        fputs(terms, c->out);
        emit(c, "}");
    }
    free(terms);
    emit(c, "if (probs)");
    emit(c, "    memcpy(probs, %s, (size_t)n * %d * sizeof(float));", probs, k);
}

/* Walks a plan's schedule, letting each op's emitters write its calls. */
static void emit_schedule(EmitCtx *c)
{
    const Plan *p = c->plan;
    bool train = p->mode == MODE_TRAIN;
    c->written = xcalloc((size_t)c->g->n + 1, sizeof *c->written);
    if (train) {
        fprintf(c->out, "    memset(G, 0, sizeof *G);\n");
        c->names.G = true;
    }
    for (int s = 0; s < p->nstep; s++) {
        const Step *st = &p->step[s];
        c->node = st->node;
        c->backward = st->kind == STEP_BWD;
        const OpRules *k = st->node >= 0 ? op_table[c->g->node[st->node].op].rules : NULL;
        switch (st->kind) {
        case STEP_FWD:
            step_comment(c, s);
            if (plan_is_view(p, st->node))
                fprintf(c->out, "    /* a view of its input: no code */\n");
            else
                k->forward(c);
            break;
        case STEP_LOSS:
            emit_loss(c, s, train);
            break;
        case STEP_BWD: {
            bool code = k->backward && !plan_is_view(p, st->node);
            fprintf(c->out, "    /* step %d: backward of %s%s */\n", s, emit_id(c), code ? "" : ", a view: no code");
            if (code)
                k->backward(c);
            break;
        }
        case STEP_OPT:
            fprintf(c->out, "    /* step %d: optimizer over all %lld parameters */\n", s, graph_params(c->g, true));
            emit(c, "rt_optimizer_step(net, %lld);", graph_params(c->g, true));
            break;
        }
    }
    fprintf(c->out, "    return loss;\n");
    free(c->written);
    c->written = NULL;
}

static void emit_init(EmitCtx *c)
{
    fprintf(c->out, "    rt_rng rng;\n    rt_rng_seed(&rng, seed, 0);\n");
    for (int i = 0; i < c->g->n; i++) {
        c->node = i;
        const OpRules *k = op_table[c->g->node[i].op].rules;
        if (k->init)
            k->init(c);
    }
}

/* Writes one function: its body goes to memory first, so that the declarations above
 * it are exactly the names its calls used.  A batch outside 1..max returns NaN before
 * touching memory: the caller sees a loss that is not a number, never an overrun of
 * the arena planned for the maximum batch. */
static void write_function(EmitCtx *c, const char *prefix, const char *signature, const char *guard,
                           void (*body)(EmitCtx *c))
{
    FILE *out = c->out;
    char *text = NULL;
    size_t len = 0;
    names_begin(c);
    c->out = open_memory(&text, &len);
    body(c);
    fclose(c->out);
    c->out = out;
    fprintf(out, "%s\n{\n%s", signature, guard ? guard : "");
    write_declarations(c, out, prefix);
    if (c->plan->mode == MODE_EXPORT && !c->par_used)
        fprintf(out, "    (void)par;\n");
    else if (!c->names.P && !c->names.S && !guard && c->plan->mode != MODE_EXPORT)
        fprintf(out, "    (void)net;\n");
    fprintf(out, "\n%s}\n\n", text);
    free(text);
    names_end(c);
}

/* Each op's file-scope declarations (its descriptor), then a blank line. */
static void emit_decls(EmitCtx *c)
{
    for (int i = 0; i < c->g->n; i++) {
        c->node = i;
        const OpRules *k = op_table[c->g->node[i].op].rules;
        if (k->decl)
            k->decl(c);
    }
    fprintf(c->out, "\n");
}

/* The exported predict's body: the prologue (the normalisation, when the model was
 * trained with one), each forward step's export call, the softmax into probs. */
static void emit_export_schedule(EmitCtx *c)
{
    const Plan *p = c->plan;
    if (c->prologue)
        fprintf(c->out, "%s", c->prologue);
    for (int s = 0; s < p->nstep; s++) {
        const Step *st = &p->step[s];
        c->node = st->node;
        if (st->kind == STEP_LOSS) {
            fprintf(c->out, "    /* step %d: the probabilities, softmax of the logits of %s */\n", s, c->ids[p->logits]);
            emit(c, "netc_softmax(probs, %s, n, %d);", value_name(c, p->logits, VAL_OUT), classes_of(c->g));
            continue;
        }
        step_comment(c, s);
        const GNode *n = emit_node(c);
        int fused_into = done_by(c, st->node);
        if (fused_into >= 0)
            fprintf(c->out, "    /* %s by %s's call: no code */\n",
                    flags_of(c->g, st->node) & OPF_BN_FOLDS ? "folded into the weights and bias" : "applied",
                    c->ids[fused_into]);
        else if (plan_is_view(p, st->node) || !op_table[n->op].rules->export)
            fprintf(c->out, "    /* a view of its input: no code */\n");
        else
            op_table[n->op].rules->export(c);
    }
    fprintf(c->out, "    return 0;\n");
}

void write_export_code(FILE *out, const Graph *g, char **ids, const Plan *p, const char *prefix,
                       const ExportCode *x)
{
    EmitCtx c = { .out = out, .g = g, .ids = ids, .plan = p, .indent = "", .params = x->params, .state = x->state,
                  .prologue = x->norm, .mt_offset = x->mt_offset };
    emit_decls(&c);
    c.indent = "    ";
    char signature[512];
    snprintf(signature, sizeof signature, "static int %s_run(%s, const netc_parallel *par)", prefix, x->args);
    fprintf(out, "/* The inference plan, its convolutions and dense layers cut into par's tasks (par NULL:\n"
                 " * all in the calling thread, each in its planned scratch); %s_predict and\n"
                 " * %s_predict_mt check the arguments first. */\n", prefix, prefix);
    write_function(&c, prefix, signature, NULL, emit_export_schedule);
}

static void write_source(FILE *out, const Graph *g, char **ids, const char *prefix, const Plan *train,
                         const Plan *infer, int max_batch)
{
    EmitCtx c = { .out = out, .g = g, .ids = ids, .plan = train, .indent = "" };
    fprintf(out, "/* %s.c — generated by netc from model %s; do not edit.\n", prefix, g->model_name);
    fprintf(out, " * Train arena %zu bytes (lower bound %zu), inference arena %zu bytes, batch <= %d.\n",
            train->arena, train->lower_bound, infer->arena, max_batch);
    fprintf(out, " * Each function names its buffers in the arena A (the planner's offsets, `netc plan`),\n"
                 " * with the steps of its schedule during which each is live. */\n");
    fprintf(out, "#include <math.h>\n#include <stddef.h>\n#include <string.h>\n#include \"%s.h\"\n\n", prefix);
    fprintf(out, "_Static_assert(sizeof(%s_params) == ", prefix);
    print_macro_name(out, prefix);
    fprintf(out, "_NPARAMS * sizeof(float), \"params are one flat array\");\n\n");

    emit_decls(&c);

    c.indent = "    ";
    char sig[512], guard[96];
    snprintf(guard, sizeof guard, "    if (n < 1 || n > %d)\n        return NAN;\n", max_batch);
    snprintf(sig, sizeof sig, "void %s_init(rt_net *net, uint64_t seed)", prefix);
    write_function(&c, prefix, sig, NULL, emit_init);
    snprintf(sig, sizeof sig, "float %s_train_step(rt_net *net, const float *x, const int32_t *labels, "
                              "const float *targets, int n, float *probs)", prefix);
    write_function(&c, prefix, sig, guard, emit_schedule);
    c.plan = infer;
    snprintf(sig, sizeof sig, "float %s_evaluate(rt_net *net, const float *x, const int32_t *labels, int n, "
                              "float *probs)", prefix);
    write_function(&c, prefix, sig, guard, emit_schedule);
}

void write_string_literal(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n\"\n    \"", out);
        else if (ch < 0x20 || ch >= 0x7f)
            fprintf(out, "\\%03o", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

/* One row of the model's tensor table, in walk_tensors' order (the checkpoints'). */
typedef struct {
    FILE *out;
    char **ids;
    const char *prefix;
    int count;
} TensorRows;

static void tensor_row(const Graph *g, int i, int p, size_t offset, void *ctx)
{
    (void)offset;
    TensorRows *r = ctx;
    const ParamInfo *pi = &g->node[i].param[p];
    int t = pi->trainable ? 1 : 0;
    fprintf(r->out, "    { \"%s.%s\", %d, { ", g->node[i].name, pi->suffix, pi->rank);
    for (int d = 0; d < 4; d++)
        fprintf(r->out, "%s%lld", d ? ", " : "", d < pi->rank ? pi->d[d] : 0);
    fprintf(r->out, " }, offsetof(%s_%s, %s_%s) / sizeof(float), %d },\n", r->prefix, t ? "params" : "state",
            r->ids[i], pi->suffix, t);
    r->count++;
}

static void write_model_table(FILE *out, const Graph *g, char **ids, const char *prefix, const char *settings)
{
    fprintf(out, "static const rt_tensor_info %s_tensors[] = {\n", prefix);
    TensorRows rows = { out, ids, prefix, 0 };
    walk_tensors(g, tensor_row, &rows);
    int count = rows.count;
    if (!count)
        fprintf(out, "    { \"\", 0, { 0, 0, 0, 0 }, 0, 0 },\n");
    fprintf(out, "};\n\nconst rt_model %s_model = {\n", prefix);
    fprintf(out, "    .name = \"%s\",\n    .hash = 0x%016llxULL,\n", g->model_name,
            (unsigned long long)structure_hash(g));
    const char *fields[] = { "in_c", "IN_C", "in_h", "IN_H", "in_w", "IN_W", "classes", "CLASSES",
                             "max_batch", "MAX_BATCH", "nparams", "NPARAMS", "nstate", "NSTATE",
                             "arena_bytes", "ARENA_BYTES", "infer_arena_bytes", "INFER_ARENA_BYTES" };
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f += 2) {
        fprintf(out, "    .%s = ", fields[f]);
        print_macro_name(out, prefix);
        fprintf(out, "_%s,\n", fields[f + 1]);
    }
    fprintf(out, "    .ntensors = %d,\n    .tensors = %s_tensors,\n    .settings = ", count, prefix);
    write_string_literal(out, settings);
    fprintf(out, ",\n    .init = %s_init,\n    .train_step = %s_train_step,\n    .evaluate = %s_evaluate,\n};\n",
            prefix, prefix, prefix);
}

/* DIR/NAME, without doubling a slash DIR already ends with. */
FILE *open_output(const char *dir, const char *name, char *path, size_t len)
{
    size_t dlen = strlen(dir);
    snprintf(path, len, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/", name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "netc: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

bool close_output(FILE *f, const char *path)
{
    if (!f || fclose(f) == 0)
        return true;
    fprintf(stderr, "netc: cannot write %s: %s\n", path, strerror(errno));
    return false;
}

int generate_c(const Graph *g, const char *dir, const char *prefix, int max_batch)
{
    char **ids = make_ids(g);
    Plan *train = plan_build(g, MODE_TRAIN, max_batch);
    Plan *infer = plan_build(g, MODE_INFER, max_batch);
    char hpath[4096], cpath[4096];
    int rc = 0;
    char *settings = settings_text(g);
    char name[80];
    snprintf(name, sizeof name, "%s.h", prefix);
    FILE *h = open_output(dir, name, hpath, sizeof hpath);
    snprintf(name, sizeof name, "%s.c", prefix);
    FILE *c = h ? open_output(dir, name, cpath, sizeof cpath) : NULL;
    if (!h || !c) {
        rc = 2;
    } else {
        write_header(h, g, ids, prefix, train, infer, max_batch);
        write_source(c, g, ids, prefix, train, infer, max_batch);
        write_model_table(c, g, ids, prefix, settings);
    }
    if (!close_output(h, hpath) || !close_output(c, cpath))
        rc = 2;
    free(settings);
    free_ids(g, ids);
    plan_free(train);
    plan_free(infer);
    return rc;
}
