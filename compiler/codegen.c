/* codegen.c — writes a model as plain C over the runtime (runtime/netc_rt.h).
 *
 * NAME.h declares the parameter and state structs (one flat float array each, one
 * member per tensor, PyTorch shapes in comments), the sizes as constants
 * (NAME_ARENA_BYTES among them), the functions and the rt_model table.  NAME.c holds
 * each layer's geometry as a constant descriptor, then the functions: init (PyTorch's
 * default initialisation), train_step (forward, loss, backward, optimizer, from the
 * train plan) and evaluate (from the inference plan).  Every buffer is the arena
 * base plus a literal offset chosen by the planner; every shape and loop bound is a
 * literal.  The per-op calls come from the emitters in the op table (ops.c); this
 * file only walks the schedule and answers their questions about buffers.
 * Identifiers come from layer names, sanitised and made unique, so nothing in a .net
 * file reaches the C text except as a checked identifier or an escaped string. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"

#define NSCRATCH 16

struct EmitCtx {
    FILE *out;
    const Graph *g;
    const Plan *plan;
    char **ids;               /* per node: C identifier */
    int node;
    bool *written;            /* per node: its gradient has a contribution already */
    const char *indent;
    bool backward;            /* emitting a backward step */
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

static const char *buffer_expr(EmitCtx *c, int buf, const char *ctype)
{
    char *s = scratch(c);
    if (buf < 0)
        snprintf(s, 192, "x");
    else
        snprintf(s, 192, "(%s *)(A + %zu)", ctype, c->plan->buf[buf].offset);
    return s;
}

const char *emit_in(EmitCtx *c, int k) { return buffer_expr(c, c->plan->node[emit_node(c)->in[k]].out, "float"); }
const char *emit_out(EmitCtx *c) { return buffer_expr(c, c->plan->node[c->node].out, "float"); }
const char *emit_dout(EmitCtx *c) { return buffer_expr(c, c->plan->node[c->node].grad, "float"); }

const char *emit_din(EmitCtx *c, int k)
{
    int in = emit_node(c)->in[k];
    return c->plan->node[in].requires_grad ? buffer_expr(c, c->plan->node[in].grad, "float") : "NULL";
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

static const char *member(EmitCtx *c, const char *base, const char *suffix)
{
    if (!find_param(emit_node(c), suffix))
        return "NULL";
    char *s = scratch(c);
    snprintf(s, 192, "%s->%s_%s", base, emit_id(c), suffix);
    return s;
}

const char *emit_param(EmitCtx *c, const char *suffix) { return member(c, "P", suffix); }
const char *emit_pgrad(EmitCtx *c, const char *suffix) { return member(c, "G", suffix); }
const char *emit_state(EmitCtx *c, const char *suffix) { return member(c, "S", suffix); }

const char *emit_aux(EmitCtx *c, int k, const char *ctype) { return buffer_expr(c, c->plan->node[c->node].aux[k], ctype); }

const char *emit_work(EmitCtx *c)
{
    int w = c->backward ? c->plan->node[c->node].work_bwd : c->plan->node[c->node].work;
    return w < 0 ? "NULL" : buffer_expr(c, w, "float");
}

const char *emit_float(EmitCtx *c, double v)
{
    char *s = scratch(c);
    snprintf(s, 192, "%.9g", v);
    if (!strpbrk(s, ".e"))
        strcat(s, ".0");
    strcat(s, "f");
    return s;
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

static char **make_ids(const Graph *g)
{
    char **ids = xcalloc((size_t)g->n, sizeof *ids);
    for (int i = 0; i < g->n; i++) {
        char *base = sanitize(g->node[i].name);
        ids[i] = xstrdup(base);
        for (int k = 2;; k++) {
            bool clash = false;
            for (int j = 0; j < i && !clash; j++)
                clash = strcmp(ids[j], ids[i]) == 0;
            if (!clash)
                break;
            free(ids[i]);
            ids[i] = xcalloc(strlen(base) + 16, 1);
            sprintf(ids[i], "%s_%d", base, k);
        }
        free(base);
    }
    return ids;
}

/* ---- model facts ---- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A hash of everything that fixes the parameter layout: ops, shapes, parameters. */
static uint64_t structure_hash(const Graph *g)
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

static void print_macro_name(FILE *out, const char *prefix)
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
static int write_struct(FILE *out, const Graph *g, char **ids, const char *prefix, const char *what, bool trainable)
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
    fprintf(out, "_H\n\n#include <stdint.h>\n#include \"netc_rt.h\"\n\n");
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

/* ---- functions ---- */

static void emit_comment(EmitCtx *c)
{
    const GNode *n = emit_node(c);
    char shape[64];
    fprintf(c->out, "    /* %s = %s(...) at %s:%d:%d -> %s */\n", emit_id(c), op_table[n->op].name,
            n->loc.file ? n->loc.file->name : "?", n->loc.line, n->loc.col, shape_str(&n->out, shape));
}

static void pointer_prologue(EmitCtx *c, const char *prefix);

/* A batch outside 1..max returns NaN before touching memory: the caller sees a loss that
 * is not a number, never an overrun of the arena planned for the maximum batch. */
static void function_prologue(EmitCtx *c, const char *prefix)
{
    fprintf(c->out, "    if (n < 1 || n > %d)\n        return NAN;\n", c->plan->batch);
    pointer_prologue(c, prefix);
}

static void pointer_prologue(EmitCtx *c, const char *prefix)
{
    fprintf(c->out, "    %s_params *P = (%s_params *)net->params;\n", prefix, prefix);
    fprintf(c->out, "    %s_params *G = (%s_params *)net->grads;\n", prefix, prefix);
    fprintf(c->out, "    %s_state *S = (%s_state *)net->state;\n", prefix, prefix);
    fprintf(c->out, "    unsigned char *A = (unsigned char *)net->arena;\n");
    fprintf(c->out, "    (void)P;\n    (void)G;\n    (void)S;\n    (void)A;\n");
}

static void emit_loss(EmitCtx *c, bool train)
{
    const Plan *p = c->plan;
    int k = classes_of(c->g);
    const char *logits = buffer_expr(c, p->node[p->logits].out, "float");
    const char *probs = buffer_expr(c, p->probs, "float");
    fprintf(c->out, "    /* loss: softmax cross-entropy on the logits of %s */\n", c->ids[p->logits]);
    if (!train) {
        emit(c, "float loss = 0.0f;");
        emit(c, "if (labels)");
        emit(c, "    loss = rt_softmax_xent_forward(%s, %s, labels, n, %d);", probs, logits, k);
        emit(c, "else");
        emit(c, "    rt_softmax_forward(%s, %s, n, %d);", probs, logits, k);
    } else {
        const char *dlogits = buffer_expr(c, p->node[p->logits].grad, "float");
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
    emit(c, "if (probs)");
    emit(c, "    memcpy(probs, %s, (size_t)n * %d * sizeof(float));", probs, k);
}

/* Walks a plan's schedule, letting each op's emitters write its calls. */
static void emit_schedule(EmitCtx *c)
{
    const Plan *p = c->plan;
    bool train = p->mode == MODE_TRAIN;
    c->written = xcalloc((size_t)c->g->n + 1, sizeof *c->written);
    if (train)
        fprintf(c->out, "    memset(G, 0, sizeof *G);\n");
    for (int s = 0; s < p->nstep; s++) {
        const Step *st = &p->step[s];
        c->node = st->node;
        c->backward = st->kind == STEP_BWD;
        const OpKernel *k = st->node >= 0 ? op_table[c->g->node[st->node].op].kernel : NULL;
        switch (st->kind) {
        case STEP_FWD:
            emit_comment(c);
            if (plan_is_view(p, st->node))
                fprintf(c->out, "    /* a view of its input: no code */\n");
            else
                k->forward(c);
            break;
        case STEP_LOSS:
            emit_loss(c, train);
            break;
        case STEP_BWD:
            if (!k->backward || plan_is_view(p, st->node))
                break;
            fprintf(c->out, "    /* backward of %s */\n", emit_id(c));
            k->backward(c);
            break;
        case STEP_OPT:
            fprintf(c->out, "    /* optimizer over all %lld parameters */\n", graph_params(c->g, true));
            emit(c, "rt_optimizer_step(net, %lld);", graph_params(c->g, true));
            break;
        }
    }
    free(c->written);
    c->written = NULL;
}

static void write_source(FILE *out, const Graph *g, char **ids, const char *prefix, const Plan *train,
                         const Plan *infer, int max_batch)
{
    EmitCtx c = { .out = out, .g = g, .ids = ids, .plan = train, .indent = "" };
    fprintf(out, "/* %s.c — generated by netc from model %s; do not edit.\n", prefix, g->model_name);
    fprintf(out, " * Train arena %zu bytes (lower bound %zu), inference arena %zu bytes, batch <= %d. */\n",
            train->arena, train->lower_bound, infer->arena, max_batch);
    fprintf(out, "#include <math.h>\n#include <stddef.h>\n#include <string.h>\n#include \"%s.h\"\n\n", prefix);
    fprintf(out, "_Static_assert(sizeof(%s_params) == ", prefix);
    print_macro_name(out, prefix);
    fprintf(out, "_NPARAMS * sizeof(float), \"params are one flat array\");\n\n");

    for (int i = 0; i < g->n; i++) {
        c.node = i;
        const OpKernel *k = op_table[g->node[i].op].kernel;
        if (k->decl)
            k->decl(&c);
    }

    c.indent = "    ";
    fprintf(out, "\nvoid %s_init(rt_net *net, uint64_t seed)\n{\n", prefix);
    pointer_prologue(&c, prefix);
    fprintf(out, "    rt_rng rng;\n    rt_rng_seed(&rng, seed, 0);\n");
    for (int i = 0; i < g->n; i++) {
        c.node = i;
        const OpKernel *k = op_table[g->node[i].op].kernel;
        if (k->init)
            k->init(&c);
    }
    fprintf(out, "    (void)rng;\n}\n\n");

    fprintf(out, "float %s_train_step(rt_net *net, const float *x, const int32_t *labels, const float *targets, "
                 "int n, float *probs)\n{\n", prefix);
    function_prologue(&c, prefix);
    emit_schedule(&c);
    fprintf(out, "    return loss;\n}\n\n");

    c.plan = infer;
    fprintf(out, "float %s_evaluate(rt_net *net, const float *x, const int32_t *labels, int n, float *probs)\n{\n",
            prefix);
    function_prologue(&c, prefix);
    emit_schedule(&c);
    fprintf(out, "    return loss;\n}\n\n");
}

static void write_string_literal(FILE *out, const char *s)
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

static void write_model_table(FILE *out, const Graph *g, char **ids, const char *prefix, const char *settings)
{
    fprintf(out, "static const rt_tensor_info %s_tensors[] = {\n", prefix);
    int count = 0;
    for (int t = 1; t >= 0; t--)
        for (int i = 0; i < g->n; i++)
            for (int p = 0; p < g->node[i].nparam; p++) {
                const ParamInfo *pi = &g->node[i].param[p];
                if (pi->trainable != (t == 1))
                    continue;
                fprintf(out, "    { \"%s.%s\", %d, { ", g->node[i].name, pi->suffix, pi->rank);
                for (int d = 0; d < 4; d++)
                    fprintf(out, "%s%lld", d ? ", " : "", d < pi->rank ? pi->d[d] : 0);
                fprintf(out, " }, offsetof(%s_%s, %s_%s) / sizeof(float), %d },\n", prefix, t ? "params" : "state",
                        ids[i], pi->suffix, t);
                count++;
            }
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

/* DIR/NAME.EXT, without doubling a slash DIR already ends with. */
static FILE *open_output(const char *dir, const char *prefix, const char *ext, char *path, size_t len)
{
    size_t dlen = strlen(dir);
    snprintf(path, len, "%s%s%s.%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/", prefix, ext);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "netc: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

static bool close_output(FILE *f, const char *path)
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
    FILE *h = open_output(dir, prefix, "h", hpath, sizeof hpath);
    FILE *c = h ? open_output(dir, prefix, "c", cpath, sizeof cpath) : NULL;
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
    for (int i = 0; i < g->n; i++)
        free(ids[i]);
    free(ids);
    plan_free(train);
    plan_free(infer);
    return rc;
}
