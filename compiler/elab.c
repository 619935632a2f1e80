/* elab.c — elaboration: runs the model's description to build the graph IR.
 *
 * The .net language is evaluated at compile time like a small interpreter: model
 * parameters (defaults, then -D overrides) are bound, statements run in order,
 * `for` loops unroll, `if` picks a branch, blocks are called like functions with
 * their own scope, and every op call adds a graph node whose shape is checked by its
 * rule in the op table.  What remains is a plain dataflow graph with constant shapes.
 *
 * Values are numbers, strings, symbols (an unbound word like `same`, accepted only
 * where an argument takes one), tensors (graph nodes), and in train settings calls and
 * lists.  An evaluation that failed yields V_NONE after reporting: a poison value that
 * propagates silently, so one mistake gives one message, while elaboration goes on, so
 * the next mistake gives its own (a call with a poisoned input still checks its other
 * arguments and makes no node; a name whose value failed is still bound, to the
 * poison).  Limits keep hostile input bounded: loop trip counts, nesting, block call
 * depth, expression depth, graph size and the total work (steps). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"

#define MAX_TRIPS 10000
#define MAX_NESTING 16
#define MAX_BLOCK_DEPTH 32
#define MAX_CALL_ARGS 32
#define MAX_EXPR_DEPTH 2000
#define MAX_STEPS 10000000

typedef struct Binding Binding;
struct Binding {
    const char *name;
    Value v;
    Loc def;
    bool used;
    Binding *next;
};

typedef struct {
    const Program *prog;
    Graph *g;
    Binding *scope;           /* innermost binding first */
    const Node *body;         /* statements of the model or block being run, for notes */
    int nesting, block_depth;
    int expr_depth;           /* expressions being evaluated, across block calls */
    long long steps;          /* statements, loop trips and evaluations so far */
    bool stopped;             /* MAX_STEPS or MAX_EXPR_DEPTH was hit: run nothing more */
    int *named, nnamed;       /* nodes whose name was written (given names, the input) */
    Binding *unused;          /* tensors never used, one per definition, warned at the end */
    int op_count[OP_COUNT];
    bool returned, has_input, has_train;
    Value ret;
} Elab;

static Value none(void) { return (Value){ .kind = V_NONE }; }

static Value eval(Elab *E, const Node *n);
static void exec(Elab *E, const Node *stmts);

static const char *kind_name(ValueKind k)
{
    static const char *const names[] = {
        [V_NONE] = "nothing", [V_INT] = "an int", [V_FLOAT] = "a float", [V_BOOL] = "a bool",
        [V_STR] = "a string", [V_SYM] = "a word", [V_TENSOR] = "a tensor", [V_CALL] = "a call",
        [V_LIST] = "a list",
    };
    return names[k];
}

/* ---- scopes ---- */

static Binding *lookup(Elab *E, const char *name)
{
    for (Binding *b = E->scope; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

/* Remembers a tensor nobody used, once per definition (a loop or block running it
 * again adds nothing); elaborate() warns about them at the end if there was no error,
 * which may be why they went unused. */
static void warn_if_unused(Elab *E, const Binding *b)
{
    if (b->v.kind != V_TENSOR || b->used)
        return;
    Binding **tail = &E->unused;
    for (; *tail; tail = &(*tail)->next)
        if ((*tail)->def.off == b->def.off)
            return;
    *tail = xcalloc(1, sizeof **tail);
    (*tail)->name = b->name;
    (*tail)->def = b->def;
}

static void bind(Elab *E, const char *name, Value v, Loc def)
{
    Binding *b = lookup(E, name);
    if (b) {
        warn_if_unused(E, b);
    } else {
        b = xcalloc(1, sizeof *b);
        b->name = name;
        b->next = E->scope;
        E->scope = b;
    }
    b->v = v;
    b->def = def;
    b->used = false;
}

/* Drops bindings down to `mark`, remembering tensors nobody used. */
static void unwind(Elab *E, Binding *mark)
{
    while (E->scope != mark) {
        Binding *b = E->scope;
        warn_if_unused(E, b);
        E->scope = b->next;
        free(b);
    }
}

/* Finds where `name` is assigned later in the statements, for a "used before" note. */
static const Node *later_definition(const Node *stmts, const char *name)
{
    for (const Node *s = stmts; s; s = s->next) {
        if ((s->kind == N_ASSIGN || s->kind == N_INPUT) && strcmp(s->name, name) == 0)
            return s;
        const Node *inner = NULL;
        if (s->kind == N_FOR || s->kind == N_IF)
            inner = later_definition(s->body, name);
        if (!inner && s->kind == N_IF)
            inner = later_definition(s->orelse, name);
        if (inner)
            return inner;
    }
    return NULL;
}

static void report_unknown_name(Elab *E, const char *name, Loc loc)
{
    const char *cands[256];
    int n = 0;
    for (Binding *b = E->scope; b && n < 256; b = b->next)
        cands[n++] = b->name;
    char msg[256];
    snprintf(msg, sizeof msg, "unknown name '%s'", name);
    did_you_mean(msg, sizeof msg, name, cands, n);
    error_at(loc, "%s", msg);
    const Node *later = later_definition(E->body, name);
    if (later)
        note_at(later->loc, "'%s' is defined only here, after its use", name);
}

/* A value where a symbol is not acceptable: report the unknown name once. */
static Value no_symbol(Elab *E, Value v)
{
    if (v.kind == V_SYM) {
        report_unknown_name(E, v.s, v.loc);
        return none();
    }
    return v;
}

/* ---- arithmetic ---- */

static bool is_number(Value v) { return v.kind == V_INT || v.kind == V_FLOAT; }
static double as_double(Value v) { return v.kind == V_INT ? (double)v.i : v.f; }

static Value int_value(long long i, Loc loc) { return (Value){ .kind = V_INT, .i = i, .loc = loc }; }
static Value float_value(double f, Loc loc) { return (Value){ .kind = V_FLOAT, .f = f, .loc = loc }; }
static Value bool_value(bool b, Loc loc) { return (Value){ .kind = V_BOOL, .i = b, .loc = loc }; }

static Value int_arith(Operator op, long long a, long long b, Loc loc)
{
    long long r = 0;
    bool overflow = false;
    switch (op) {
    case O_ADD: overflow = __builtin_add_overflow(a, b, &r); break;
    case O_SUB: overflow = __builtin_sub_overflow(a, b, &r); break;
    case O_MUL: overflow = __builtin_mul_overflow(a, b, &r); break;
    case O_MOD:
        if (b == 0) {
            error_at(loc, "modulo by zero");
            return none();
        }
        overflow = a == -__LONG_LONG_MAX__ - 1 && b == -1;
        r = overflow ? 0 : a % b;
        break;
    default: break;
    }
    if (overflow) {
        error_at(loc, "integer overflow in %lld %s %lld", a, operator_text(op), b);
        return none();
    }
    return int_value(r, loc);
}

static Value float_arith(Operator op, double a, double b, Loc loc)
{
    double r = 0;
    switch (op) {
    case O_ADD: r = a + b; break;
    case O_SUB: r = a - b; break;
    case O_MUL: r = a * b; break;
    case O_DIV:
        if (b == 0) {
            error_at(loc, "division by zero");
            return none();
        }
        r = a / b;
        break;
    case O_MOD:
        if (b == 0) {
            error_at(loc, "modulo by zero");
            return none();
        }
        r = fmod(a, b);
        break;
    default: break;
    }
    if (!isfinite(r)) {
        error_at(loc, "arithmetic result out of range");
        return none();
    }
    return float_value(r, loc);
}

static Value compare(Operator op, double a, double b, Loc loc)
{
    bool r = op == O_EQ ? a == b : op == O_NE ? a != b : op == O_LT ? a < b
           : op == O_LE ? a <= b : op == O_GT ? a > b : a >= b;
    return bool_value(r, loc);
}

static Value eval_binop(Elab *E, const Node *n)
{
    Value a = no_symbol(E, eval(E, n->lhs));
    Value b = no_symbol(E, eval(E, n->rhs));
    if (a.kind == V_NONE || b.kind == V_NONE)
        return none();
    const char *op = operator_text(n->op);
    if (n->op == O_AND || n->op == O_OR) {
        if (a.kind != V_BOOL || b.kind != V_BOOL) {
            error_at(n->loc, "'%s' needs two bools, got %s and %s", op, kind_name(a.kind), kind_name(b.kind));
            return none();
        }
        return bool_value(n->op == O_AND ? a.i && b.i : a.i || b.i, n->loc);
    }
    if (a.kind == V_TENSOR || b.kind == V_TENSOR) {
        error_at(n->loc, "'%s' works on numbers, not tensors%s", op,
                 n->op == O_ADD ? "; use add(a, b) to add tensors" : "");
        return none();
    }
    if ((n->op == O_EQ || n->op == O_NE) && a.kind == V_BOOL && b.kind == V_BOOL)
        return bool_value((a.i == b.i) == (n->op == O_EQ), n->loc);
    if (!is_number(a) || !is_number(b)) {
        error_at(n->loc, "'%s' needs numbers, got %s and %s", op, kind_name(a.kind), kind_name(b.kind));
        return none();
    }
    if (n->op >= O_EQ && n->op <= O_GE && a.kind == V_INT && b.kind == V_INT)
        return compare(n->op, a.i < b.i ? -1 : a.i > b.i, 0, n->loc);   /* exact beyond 2^53 */
    if (n->op >= O_EQ && n->op <= O_GE)
        return compare(n->op, as_double(a), as_double(b), n->loc);
    if (a.kind == V_INT && b.kind == V_INT && n->op != O_DIV)
        return int_arith(n->op, a.i, b.i, n->loc);
    return float_arith(n->op, as_double(a), as_double(b), n->loc);
}

static Value eval_unop(Elab *E, const Node *n)
{
    Value a = no_symbol(E, eval(E, n->lhs));
    if (a.kind == V_NONE)
        return none();
    if (n->op == O_NOT) {
        if (a.kind != V_BOOL) {
            error_at(n->loc, "'!' needs a bool, got %s", kind_name(a.kind));
            return none();
        }
        return bool_value(!a.i, n->loc);
    }
    if (a.kind == V_INT && a.i == -__LONG_LONG_MAX__ - 1) {
        error_at(n->loc, "integer overflow in -(%lld)", a.i);
        return none();
    }
    if (a.kind == V_INT)
        return int_value(-a.i, n->loc);
    if (a.kind == V_FLOAT)
        return float_value(-a.f, n->loc);
    error_at(n->loc, "unary '-' needs a number, got %s", kind_name(a.kind));
    return none();
}

/* ---- calls ---- */

typedef struct {
    Value v;
    const char *key;          /* NULL: positional */
    Loc key_loc;
} Arg;

typedef struct {
    Arg a[MAX_CALL_ARGS];
    int n;
    bool failed;
} ArgList;

/* Evaluates a call's arguments; the chain input, if any, comes first. */
static void eval_args(Elab *E, const Node *call, const Value *chained, ArgList *out)
{
    out->n = 0;
    out->failed = false;
    if (chained) {
        out->a[out->n++] = (Arg){ .v = *chained };
        out->failed = chained->kind == V_NONE;
    }
    for (const Node *a = call->list; a; a = a->next) {
        if (out->n == MAX_CALL_ARGS) {
            error_at(a->loc, "too many arguments (at most %d)", MAX_CALL_ARGS);
            out->failed = true;
            return;
        }
        Arg *arg = &out->a[out->n++];
        bool kw = a->kind == N_KWARG;
        *arg = (Arg){ .v = eval(E, kw ? a->lhs : a), .key = kw ? a->name : NULL, .key_loc = a->loc };
        if (arg->v.kind == V_NONE)
            out->failed = true;
    }
}

/* Converts an argument value to the type its schema names, or reports why not. */
static bool convert_arg(Elab *E, const OpInfo *op, const ArgSpec *spec, Value v, Attr *out)
{
    static const char *const type_names[] = {
        [A_INT] = "an int", [A_FLOAT] = "a number", [A_BOOL] = "true or false",
        [A_PAD] = "an int, same or valid", [A_STR] = "a string",
    };
    *out = (Attr){ .loc = v.loc, .given = true };
    if (spec->type == A_PAD && v.kind == V_SYM && (strcmp(v.s, "same") == 0 || strcmp(v.s, "valid") == 0)) {
        out->pad_same = strcmp(v.s, "same") == 0;
        return true;
    }
    if (v.kind == V_SYM && lookup(E, v.s) == NULL && spec->type != A_PAD) {
        report_unknown_name(E, v.s, v.loc);
        return false;
    }
    bool whole = v.kind == V_INT || (v.kind == V_FLOAT && v.f == floor(v.f) && fabs(v.f) < 9e15);
    long long iv = v.kind == V_INT ? v.i : (long long)v.f;
    switch (spec->type) {
    case A_INT:
    case A_PAD:
        if (!whole)
            break;
        if (iv > MAX_DIM || iv < -MAX_DIM) {
            error_at(v.loc, "%s: '%s' = %lld is out of range", op->name, spec->name, iv);
            return false;
        }
        out->i = iv;
        out->f = (double)iv;
        return true;
    case A_FLOAT:
        if (!is_number(v))
            break;
        out->f = as_double(v);
        return true;
    case A_BOOL:
        if (v.kind != V_BOOL)
            break;
        out->i = v.i;
        return true;
    case A_STR:
        break;
    }
    if (v.kind == V_SYM)
        error_at(v.loc, "%s: '%s' must be %s, not the word '%s'", op->name, spec->name, type_names[spec->type], v.s);
    else
        error_at(v.loc, "%s: '%s' must be %s, got %s", op->name, spec->name, type_names[spec->type],
                 kind_name(v.kind));
    return false;
}

/* Remembers a node whose name was written in the source, the only kind a default
 * name can collide with, so naming stays linear in the graph's size. */
static void add_named(Elab *E, int id)
{
    if ((E->nnamed & (E->nnamed - 1)) == 0)
        E->named = xrealloc(E->named, (size_t)(E->nnamed ? 2 * E->nnamed : 1) * sizeof *E->named);
    E->named[E->nnamed++] = id;
}

/* Default layer name: op_N with the first N not taken by a given name. */
static char *layer_name(Elab *E, const GNode *n)
{
    char buf[64];
    for (;;) {
        snprintf(buf, sizeof buf, "%s_%d", op_table[n->op].name, ++E->op_count[n->op]);
        bool taken = false;
        for (int i = 0; i < E->nnamed && !taken; i++)
            taken = strcmp(E->g->node[E->named[i]].name, buf) == 0;
        if (!taken)
            return xstrdup(buf);
    }
}

static bool set_given_name(Elab *E, GNode *n, const Arg *a)
{
    bool ok = a->v.kind == V_STR && a->v.s[0] && strlen(a->v.s) <= 63;
    for (const char *c = ok ? a->v.s : ""; *c && ok; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
             *c == '-';
    if (!ok) {
        error_at(a->v.loc, "'name' must be a string of 1 to 63 letters, digits, '_' or '-'");
        return false;
    }
    for (int i = 0; i < E->g->n; i++) {
        if (E->g->node[i].name && strcmp(E->g->node[i].name, a->v.s) == 0) {
            error_at(a->v.loc, "layer name '%s' is already used", a->v.s);
            note_at(E->g->node[i].loc, "by this layer");
            return false;
        }
    }
    n->name = xstrdup(a->v.s);
    add_named(E, (int)(n - E->g->node));
    return true;
}

/* ---- binding a call's arguments: one binder for ops and blocks ---- */

/* What a call's arguments bind to, in order: an op's arguments (its schema) or a
 * block's parameters; and how messages name the callee. */
typedef struct {
    const char *prefix, *name;         /* "" and "conv2d", or "block " and "res" */
    const char *slot[MAX_CALL_ARGS];   /* the arguments' or parameters' names */
    int n;
    int npositional;                   /* the first slots, which may be given positionally */
    bool op;                           /* an op: tensor inputs come first, `name` names the layer */
} Signature;

static void op_signature(const OpInfo *op, Signature *s)
{
    *s = (Signature){ .prefix = "", .name = op->name, .op = true };
    for (const ArgSpec *a = op->rules->args; a->name; a++) {
        if (!a->keyword_only)
            s->npositional = s->n + 1;
        s->slot[s->n++] = a->name;
    }
}

static void block_signature(const Node *def, Signature *s)
{
    *s = (Signature){ .prefix = "block ", .name = def->name };
    for (const Node *p = def->list; p && s->n < MAX_CALL_ARGS; p = p->next)
        s->slot[s->n++] = p->name;
    s->npositional = s->n;
}

static void report_unknown_slot(const Signature *s, const Arg *a)
{
    const char *cands[MAX_CALL_ARGS + 1];
    int n = 0;
    for (; n < s->n; n++)
        cands[n] = s->slot[n];
    if (s->op)
        cands[n++] = "name";
    char msg[256];
    snprintf(msg, sizeof msg, "%s%s has no %s '%s'", s->prefix, s->name, s->op ? "argument" : "parameter", a->key);
    did_you_mean(msg, sizeof msg, a->key, cands, n);
    error_at(a->key_loc, "%s", msg);
}

/* Binds one argument to its slot: a positional one to the next slot (*next), while
 * positional slots remain (an op's keyword-only arguments are not), a keyword to the
 * slot of that name; records it in by_slot and returns the slot.  Reports a positional
 * argument too many, an unknown keyword or a slot given twice, and returns -1.  Callers
 * bind their arguments in order, so messages come in source order. */
static int bind_arg(const Signature *s, const Arg *a, int *next, const Arg *by_slot[MAX_CALL_ARGS])
{
    int k = 0;
    if (!a->key) {
        if (*next >= s->npositional) {
            bool tensor = s->op && a->v.kind == V_TENSOR;
            int n = s->npositional;
            error_at(a->v.loc, "%s%s takes %d argument%s%s%s", s->prefix, s->name, n, n == 1 ? "" : "s",
                     s->op ? " after its input" : "", tensor ? "; tensor inputs come first" : "");
            return -1;
        }
        k = (*next)++;
    } else {
        while (k < s->n && strcmp(s->slot[k], a->key) != 0)
            k++;
        if (k == s->n) {
            report_unknown_slot(s, a);
            return -1;
        }
    }
    if (by_slot[k]) {
        error_at(a->key ? a->key_loc : a->v.loc, "%s%s: %s '%s' is given twice", s->prefix, s->name,
                 s->op ? "argument" : "parameter", s->slot[k]);
        return -1;
    }
    by_slot[k] = a;
    return k;
}

/* Binds an op call's non-tensor arguments (positional after the inputs, then keywords)
 * to its schema and converts each to its type; then fills defaults, and reports an
 * argument that is missing.  `name = "..."` names the layer (*given_name).  With
 * `poisoned` (an argument failed and was reported) a failed argument is bound but not
 * converted, and a missing one is not reported: the call is only being checked. */
static bool bind_op_args(Elab *E, const OpInfo *op, const Node *call, const ArgList *args, int first, GNode *n,
                         const Arg **given_name, bool poisoned)
{
    Signature sig;
    op_signature(op, &sig);
    const ArgSpec *spec = op->rules->args;
    const Arg *by_slot[MAX_CALL_ARGS] = { 0 };
    bool ok = true;
    int next = 0;
    for (int i = first; i < args->n; i++) {
        const Arg *a = &args->a[i];
        if (a->key && strcmp(a->key, "name") == 0) {
            *given_name = a;
            continue;
        }
        int k = bind_arg(&sig, a, &next, by_slot);
        if (k < 0) {
            ok = false;
        } else if (a->v.kind == V_NONE) {
            continue;
        } else if (a->v.kind == V_TENSOR) {
            error_at(a->v.loc, "%s: '%s' must be a number, got a tensor (tensor inputs come first)", op->name,
                     spec[k].name);
            ok = false;
        } else if (!convert_arg(E, op, &spec[k], a->v, &n->attr[k])) {
            ok = false;
        }
    }
    for (int k = 0; k < sig.n && ok && !poisoned; k++) {
        if (by_slot[k])
            continue;
        if (spec[k].required) {
            error_at(call->loc, "%s: missing argument '%s'", op->name, spec[k].name);
            ok = false;
        } else if (spec[k].same_as) {
            n->attr[k] = n->attr[op_arg_index(op, spec[k].same_as)];
            n->attr[k].given = false;
        } else {
            n->attr[k] = (Attr){ .i = (long long)spec[k].def, .f = spec[k].def };
        }
    }
    return ok;
}

static bool check_sizes(const GNode *n)
{
    char buf[64];
    for (int i = 0; i < n->out.rank; i++) {
        if (n->out.d[i] <= 0) {
            error_at(n->loc, "%s: output shape %s has a non-positive size", op_table[n->op].name,
                     shape_str(&n->out, buf));
            return false;
        }
    }
    if (shape_numel(&n->out) > MAX_DIM) {
        error_at(n->loc, "%s: output shape %s has more than 2^31-1 elements", op_table[n->op].name,
                 shape_str(&n->out, buf));
        return false;
    }
    for (int p = 0; p < n->nparam; p++) {
        if (param_numel(&n->param[p]) > MAX_DIM) {
            error_at(n->loc, "%s: parameter '%s' has more than 2^31-1 elements", op_table[n->op].name,
                     n->param[p].suffix);
            return false;
        }
    }
    return true;
}

static Value call_op(Elab *E, const OpInfo *op, const Node *call, const ArgList *args)
{
    const OpRules *r = op->rules;
    int nin = 0;
    while (nin < args->n && !args->a[nin].key && args->a[nin].v.kind == V_TENSOR)
        nin++;
    if (nin < r->min_in || (r->max_in >= 0 && nin > r->max_in) || nin > MAX_INPUTS) {
        int want = r->max_in < 0 ? r->min_in : r->max_in;
        if (r->min_in == 1 && nin == 0)
            error_at(call->loc, "%s needs a tensor input: write x -> %s(...) or %s(x, ...)", op->name, op->name,
                     op->name);
        else if (nin > MAX_INPUTS)
            error_at(call->loc, "%s takes at most %d tensor inputs, got %d", op->name, MAX_INPUTS, nin);
        else
            error_at(call->loc, "%s takes %s%d tensor input%s, got %d", op->name, r->max_in < 0 ? "at least " : "",
                     want, want == 1 ? "" : "s", nin);
        return none();
    }
    int id = graph_add(E->g, (OpKind)(op - op_table), call->loc);
    if (id < 0)
        return none();
    GNode *n = &E->g->node[id];
    n->nin = nin;
    for (int i = 0; i < nin; i++) {
        n->in[i] = args->a[i].v.node;
        n->in_loc[i] = args->a[i].v.loc;
        E->g->node[n->in[i]].nusers++;
    }
    const Arg *given_name = NULL;
    if (!bind_op_args(E, op, call, args, nin, n, &given_name, false))
        return none();
    if (given_name ? !set_given_name(E, n, given_name) : !(n->name = layer_name(E, n)))
        return none();
    ShapeError err = { .arg = -1, .note_input = -1 };
    if (!r->shape(E->g, n, &err)) {
        Loc at = err.arg >= 0 && n->attr[err.arg].given ? n->attr[err.arg].loc : n->loc;
        error_at(at, "%s", err.msg);
        if (err.note_input >= 0) {
            char buf[64];
            const GNode *src = &E->g->node[n->in[err.note_input]];
            note_at(src->loc, "%s, of shape %s, comes from here", src->name, shape_str(&src->out, buf));
        }
        return none();
    }
    if (r->params)
        r->params(E->g, n);
    if (!check_sizes(n))
        return none();
    return (Value){ .kind = V_TENSOR, .node = id, .loc = call->loc };
}

/* An op call with a poisoned argument: no node, but the arguments that did not fail
 * are bound and checked as call_op would (a failed leading argument counts as an input). */
static void check_poisoned_op(Elab *E, const OpInfo *op, const Node *call, const ArgList *args)
{
    int nin = 0;
    while (nin < args->n && !args->a[nin].key && (args->a[nin].v.kind == V_TENSOR || args->a[nin].v.kind == V_NONE))
        nin++;
    GNode scratch = { .op = (OpKind)(op - op_table), .loc = call->loc };
    const Arg *given_name = NULL;
    bind_op_args(E, op, call, args, nin, &scratch, &given_name, true);
}

static const Node *find_block(const Elab *E, const char *name)
{
    for (const Node *b = E->prog->blocks; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

static const Node *find_param(const Node *def, const char *name)
{
    for (const Node *p = def->list; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* Binds a block's parameters: positional in order, then keywords, then defaults
 * (evaluated in the block's scope, so a default may use earlier parameters). */
static bool bind_block_args(Elab *E, const Node *def, const Node *call, const ArgList *args)
{
    Signature sig;
    block_signature(def, &sig);
    const Arg *by_slot[MAX_CALL_ARGS] = { 0 };
    bool ok = true;
    int next = 0;
    for (int i = 0; i < args->n; i++)
        if (bind_arg(&sig, &args->a[i], &next, by_slot) < 0)
            ok = false;
    if (!ok)
        return false;
    const Node *p = def->list;
    for (int k = 0; k < sig.n; p = p->next, k++) {
        if (by_slot[k]) {
            bind(E, p->name, by_slot[k]->v, p->loc);
        } else if (p->lhs) {
            Value v = eval(E, p->lhs);
            if (v.kind == V_NONE)
                return false;
            bind(E, p->name, v, p->loc);
        } else {
            error_at(call->loc, "block %s: missing argument '%s'", def->name, p->name);
            note_at(p->loc, "parameter '%s' is declared here", p->name);
            return false;
        }
    }
    return true;
}

static Value call_block(Elab *E, const Node *def, const Node *call, const ArgList *args)
{
    if (E->block_depth >= MAX_BLOCK_DEPTH) {
        error_at(call->loc, "block calls nested deeper than %d (does '%s' call itself?)", MAX_BLOCK_DEPTH, def->name);
        return none();
    }
    Binding *saved_scope = E->scope;
    const Node *saved_body = E->body;
    bool saved_returned = E->returned;
    int saved_nesting = E->nesting;
    Value saved_ret = E->ret;
    E->scope = NULL;
    E->body = def->body;
    E->block_depth++;
    E->returned = false;
    E->nesting = 0;
    Value result = none();
    int first_node = E->g->n;
    if (bind_block_args(E, def, call, args)) {
        exec(E, def->body);
        if (E->returned)
            result = E->ret;
        else if (error_count() == 0)
            error_at(def->loc, "block '%s' ends without 'return'", def->name);
    }
    unwind(E, NULL);
    E->scope = saved_scope;
    E->body = saved_body;
    E->block_depth--;
    for (int i = first_node; i < E->g->n && E->block_depth == 0; i++)
        E->g->node[i].site = call->loc;   /* a call in the model: the site of all it made */
    E->returned = saved_returned;
    E->nesting = saved_nesting;
    E->ret = saved_ret;
    if (result.kind != V_NONE)
        result.loc = call->loc;
    return result;
}

static void report_unknown_callee(Elab *E, const Node *call)
{
    const char *cands[512];
    int n = op_names(cands, 256);
    for (const Node *b = E->prog->blocks; b && n < 512; b = b->next)
        cands[n++] = b->name;
    char msg[256];
    snprintf(msg, sizeof msg, "unknown op or block '%s'", call->name);
    did_you_mean(msg, sizeof msg, call->name, cands, n);
    error_at(call->loc, "%s", msg);
}

static Value eval_call(Elab *E, const Node *call, const Value *chained)
{
    const OpInfo *op = op_lookup(call->name);
    const Node *block = op ? NULL : find_block(E, call->name);
    if (!op && !block) {
        report_unknown_callee(E, call);
        return none();
    }
    ArgList *args = xcalloc(1, sizeof *args);
    eval_args(E, call, chained, args);
    /* A word where an op expects its tensor inputs is an unknown name. */
    for (int i = 0; op && i < op->rules->min_in && i < args->n; i++) {
        if (!args->a[i].key && args->a[i].v.kind == V_SYM) {
            args->a[i].v = no_symbol(E, args->a[i].v);
            args->failed = true;
        }
    }
    /* A block runs even with a poisoned argument (bound to the poison), so the
     * mistakes of its body are reported too. */
    Value v = none();
    if (op && args->failed)
        check_poisoned_op(E, op, call, args);
    else
        v = op ? call_op(E, op, call, args) : call_block(E, block, call, args);
    free(args);
    return v;
}

/* ---- expressions ---- */

/* Counts one step of work: a statement, a loop trip or an evaluation.  Past MAX_STEPS
 * it reports once and stops the elaboration, so nested loops or a block calling
 * itself twice per level cannot run for hours within the other limits. */
static bool step(Elab *E, Loc loc)
{
    if (E->stopped)
        return false;
    if (++E->steps <= MAX_STEPS)
        return true;
    error_at(loc, "elaboration stopped after %d steps; a loop or block calls run too long", MAX_STEPS);
    E->stopped = true;
    return false;
}

static Value eval_node(Elab *E, const Node *n);

/* [a, b, c]: its items evaluated in order; poisoned if one is.  A word stays a word, for
 * the setting's check to name. */
static Value eval_list(Elab *E, const Node *n)
{
    long long count = 0;
    for (const Node *item = n->list; item; item = item->next)
        count++;
    Value list = { .kind = V_LIST, .i = count, .items = xcalloc((size_t)count, sizeof(Value)), .loc = n->loc };
    long long k = 0;
    for (const Node *item = n->list; item; item = item->next) {
        list.items[k] = eval(E, item);
        if (list.items[k++].kind == V_NONE) {
            free(list.items);
            return none();
        }
    }
    return list;
}

/* Evaluates an expression; a chain nested deeper than MAX_EXPR_DEPTH (a + b + c + ...
 * or x -> f() -> g() -> ..., which the parser does not stack) is an error rather
 * than a C stack overflow. */
static Value eval(Elab *E, const Node *n)
{
    if (!step(E, n->loc))
        return none();
    if (E->expr_depth >= MAX_EXPR_DEPTH) {
        error_at(n->loc, "expression nested deeper than %d levels", MAX_EXPR_DEPTH);
        E->stopped = true;
        return none();
    }
    E->expr_depth++;
    Value v = eval_node(E, n);
    E->expr_depth--;
    return v;
}

static Value eval_node(Elab *E, const Node *n)
{
    switch (n->kind) {
    case N_INT: return int_value(n->ival, n->loc);
    case N_FLOAT: return float_value(n->fval, n->loc);
    case N_BOOL: return bool_value(n->ival, n->loc);
    case N_STR: return (Value){ .kind = V_STR, .s = n->sval, .loc = n->loc };
    case N_NAME: {
        Binding *b = lookup(E, n->name);
        if (!b)
            return (Value){ .kind = V_SYM, .s = n->name, .loc = n->loc };
        b->used = true;
        Value v = b->v;
        v.loc = n->loc;
        return v;
    }
    case N_BINOP: return eval_binop(E, n);
    case N_UNOP: return eval_unop(E, n);
    case N_CALL: return eval_call(E, n, NULL);
    case N_LIST: return eval_list(E, n);
    case N_CHAIN: {
        Value in = no_symbol(E, eval(E, n->lhs));
        if (in.kind != V_TENSOR && in.kind != V_NONE) {   /* a poisoned input: the call is still checked */
            error_at(n->loc, "'->' feeds a tensor into a call, but its left side is %s", kind_name(in.kind));
            return none();
        }
        return eval_call(E, n->rhs, &in);
    }
    default:
        error_at(n->loc, "not an expression");
        return none();
    }
}

/* Evaluates an expression that must give an int (a whole float is accepted). */
static bool eval_int(Elab *E, const Node *n, const char *what, long long *out)
{
    Value v = no_symbol(E, eval(E, n));
    if (v.kind == V_NONE)
        return false;
    if (v.kind == V_FLOAT && v.f == floor(v.f) && fabs(v.f) < 9e15) {
        *out = (long long)v.f;
        return true;
    }
    if (v.kind != V_INT) {
        error_at(v.loc, "%s must be an int, got %s", what, kind_name(v.kind));
        return false;
    }
    *out = v.i;
    return true;
}

/* ---- statements ---- */

static bool exec_input(Elab *E, const Node *s)
{
    if (E->block_depth > 0) {
        error_at(s->loc, "'input' belongs in the model, not in a block");
        return false;
    }
    if (E->has_input) {
        error_at(s->loc, "the model already has an input");
        if (E->g->input >= 0)   /* none when the first declaration failed */
            note_at(E->g->node[E->g->input].loc, "the input is declared here");
        return false;
    }
    E->has_input = true;
    Shape shape = { 0 };
    for (const Node *d = s->list; d; d = d->next) {
        long long v;
        if (!eval_int(E, d, "an input dimension", &v))
            return false;
        if (shape.rank == MAX_RANK) {
            error_at(d->loc, "an input has at most 3 dimensions [C, H, W]");
            return false;
        }
        if (v <= 0 || v > MAX_DIM) {
            error_at(d->loc, "input dimension %lld must be between 1 and 2^31-1", v);
            return false;
        }
        shape.d[shape.rank++] = v;
    }
    if (shape.rank == 2) {
        error_at(s->loc, "an input is [features] or [C, H, W]; give a channel count, e.g. [1, %lld, %lld]",
                 shape.d[0], shape.d[1]);
        return false;
    }
    if (shape_numel(&shape) > MAX_DIM) {
        error_at(s->loc, "input '%s' has more than 2^31-1 elements", s->name);
        return false;
    }
    int id = graph_add(E->g, OP_INPUT, s->loc);
    if (id < 0)
        return false;
    E->g->input = id;
    E->g->node[id].out = shape;
    E->g->node[id].name = xstrdup(s->name);
    add_named(E, id);
    bind(E, s->name, (Value){ .kind = V_TENSOR, .node = id, .loc = s->loc }, s->loc);
    return true;
}

static void exec_for(Elab *E, const Node *s)
{
    long long from, to;
    if (!eval_int(E, s->lhs, "a loop bound", &from) || !eval_int(E, s->rhs, "a loop bound", &to))
        return;
    long long trips;
    bool huge = false;
    if (__builtin_sub_overflow(to, from, &trips)) {
        huge = to > from;
        trips = huge ? __LONG_LONG_MAX__ : 0;
    }
    if (trips > MAX_TRIPS) {
        error_at(s->loc, "loop runs %s%lld times; the limit is %d", huge ? "more than " : "", trips, MAX_TRIPS);
        return;
    }
    if (E->nesting >= MAX_NESTING) {
        error_at(s->loc, "loops and ifs nested deeper than %d", MAX_NESTING);
        return;
    }
    E->nesting++;
    for (long long i = from; i < to && !E->returned && step(E, s->loc); i++) {
        bind(E, s->name, int_value(i, s->loc), s->loc);
        int before = error_count();
        exec(E, s->body);
        if (error_count() > before)
            break;   /* the same mistake would repeat on every trip */
    }
    E->nesting--;
}

static void exec_if(Elab *E, const Node *s)
{
    Value c = no_symbol(E, eval(E, s->lhs));
    if (c.kind == V_NONE)
        return;
    if (c.kind != V_BOOL) {
        error_at(c.loc, "an 'if' condition must be a bool, got %s", kind_name(c.kind));
        return;
    }
    if (!c.i && s->orelse && s->orelse->kind == N_IF && !s->orelse->next) {
        exec_if(E, s->orelse);   /* else if: the next arm, not a deeper level */
        return;
    }
    if (E->nesting >= MAX_NESTING) {
        error_at(s->loc, "loops and ifs nested deeper than %d", MAX_NESTING);
        return;
    }
    E->nesting++;
    exec(E, c.i ? s->body : s->orelse);
    E->nesting--;
}

static void add_setting(Elab *E, const char *key, Loc key_loc, Value v)
{
    if (v.kind == V_TENSOR)
        error_at(v.loc, "train setting '%s' cannot be a tensor", key);
    else if (setting_add(E->g, key, key_loc, v))
        return;
    free(v.items);   /* a list the setting did not take */
}

/* A setting's value: a call that is not an op or block (schedule = cosine(t_max = 10))
 * is recorded as the call's name with its keyword arguments under key.arg. */
static void exec_setting(Elab *E, const Node *s, const char *prefix)
{
    char key[128];
    snprintf(key, sizeof key, "%s%s", prefix, s->name);
    if (s->kind == N_GROUP) {
        char inner[sizeof key + 1];
        snprintf(inner, sizeof inner, "%s.", key);
        if (!setting_add(E->g, key, s->loc, (Value){ .kind = V_NONE, .loc = s->loc }))
            return;
        for (const Node *t = s->body; t; t = t->next)
            exec_setting(E, t, inner);
        return;
    }
    const Node *v = s->lhs;
    if (v->kind == N_CALL && !op_lookup(v->name) && !find_block(E, v->name)) {
        if (!setting_add(E->g, key, s->loc, (Value){ .kind = V_CALL, .s = v->name, .loc = v->loc }))
            return;
        for (const Node *a = v->list; a; a = a->next) {
            if (a->kind != N_KWARG) {
                error_at(a->loc, "arguments of '%s' must be named, as in %s(name = value)", v->name, v->name);
                continue;
            }
            char sub[256];
            snprintf(sub, sizeof sub, "%s.%s", key, a->name);
            Value av = eval(E, a->lhs);
            if (av.kind != V_NONE)
                add_setting(E, sub, a->loc, av);
        }
        return;
    }
    Value val = eval(E, v);
    if (val.kind != V_NONE)
        add_setting(E, key, s->loc, val);
}

static void exec_stmt(Elab *E, const Node *s)
{
    switch (s->kind) {
    case N_INPUT:
        /* A failed input is still bound, as V_NONE, so later uses stay quiet. */
        if (!exec_input(E, s) && !lookup(E, s->name))
            bind(E, s->name, none(), s->loc);
        break;
    case N_ASSIGN: {
        /* A failed value is still bound, as V_NONE, so later uses stay quiet. */
        bind(E, s->name, no_symbol(E, eval(E, s->lhs)), s->loc);
        break;
    }
    case N_FOR:
        exec_for(E, s);
        break;
    case N_IF:
        exec_if(E, s);
        break;
    case N_RETURN:
        E->ret = no_symbol(E, eval(E, s->lhs));
        E->returned = true;
        if (E->block_depth == 0)   /* the returned value's op, name or literal */
            E->g->return_loc = E->ret.kind != V_NONE ? E->ret.loc : s->lhs->loc;
        break;
    case N_TRAIN:
        if (E->block_depth > 0) {
            error_at(s->loc, "a 'train' section belongs in the model, not in a block");
        } else if (E->has_train) {
            error_at(s->loc, "the model already has a 'train' section");
        } else {
            E->has_train = true;
            for (const Node *t = s->body; t; t = t->next)
                exec_setting(E, t, "");
        }
        break;
    default:
        error_at(s->loc, "not a statement");
    }
}

/* Runs statements in order; after a `return` only a train section may follow. */
static void exec(Elab *E, const Node *stmts)
{
    bool warned = false;
    for (const Node *s = stmts; s && step(E, s->loc); s = s->next) {
        if (E->returned && s->kind != N_TRAIN) {
            if (!warned)
                warn_at(s->loc, "statement after 'return' is never run");
            warned = true;
            continue;
        }
        exec_stmt(E, s);
    }
}

/* ---- the model ---- */

/* A -D value: an int, a float, true/false, or else a word (e.g. -D pad=same). */
static Value parse_define(const char *text, Loc loc)
{
    char *end;
    errno = 0;
    long long i = strtoll(text, &end, 10);
    if (*text && !*end && errno == 0)
        return int_value(i, loc);
    double f = strtod(text, &end);
    if (*text && !*end && isfinite(f))
        return float_value(f, loc);
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)
        return bool_value(text[0] == 't', loc);
    return (Value){ .kind = V_SYM, .s = text, .loc = loc };
}

static int bind_model_params(Elab *E, const Node *model, const Define *defs, int ndefs)
{
    for (int d = 0; d < ndefs; d++) {
        if (!find_param(model, defs[d].name)) {
            const char *cands[MAX_CALL_ARGS];
            int n = 0;
            for (const Node *p = model->list; p && n < MAX_CALL_ARGS; p = p->next)
                cands[n++] = p->name;
            char msg[256];
            snprintf(msg, sizeof msg, "netc: -D %s: model %s has no parameter '%s'", defs[d].name, model->name,
                     defs[d].name);
            did_you_mean(msg, sizeof msg, defs[d].name, cands, n);
            fprintf(stderr, "%s\n", msg);
            return 2;
        }
    }
    for (const Node *p = model->list; p; p = p->next) {
        if (!p->lhs) {
            error_at(p->loc, "model parameter '%s' needs a default value", p->name);
            bind(E, p->name, none(), p->loc);   /* poisoned: its uses stay quiet */
            continue;
        }
        const Define *override = NULL;
        for (int d = 0; d < ndefs; d++)
            if (strcmp(defs[d].name, p->name) == 0)
                override = &defs[d];
        Value v = override ? parse_define(override->value, p->loc) : no_symbol(E, eval(E, p->lhs));
        bind(E, p->name, v, p->loc);   /* V_NONE if it failed: its uses stay quiet */
    }
    return 0;
}

/* The model's output must be one rank-1 tensor, and an op folded into the loss
 * (softmax) can only end the graph. */
static void check_output(Elab *E, const Node *model)
{
    char buf[64];
    Graph *g = E->g;
    if (!E->has_input) {
        error_at(model->loc, "model '%s' has no 'input' declaration", model->name);
        return;
    }
    if (!E->returned) {
        error_at(model->loc, "model '%s' does not 'return' its output", model->name);
        return;
    }
    if (E->ret.kind == V_NONE)
        return;
    if (E->ret.kind != V_TENSOR) {
        error_at(g->return_loc, "the model must return a tensor, got %s", kind_name(E->ret.kind));
        return;
    }
    g->output = E->ret.node;
    const GNode *out = &g->node[g->output];
    if (out->out.rank != 1)
        error_at(g->return_loc, "the model's output must be flat [classes], got %s; end with flatten() and dense()",
                 shape_str(&out->out, buf));
    for (int i = 0; i < g->n; i++) {
        const GNode *n = &g->node[i];
        for (int k = 0; k < n->nin; k++) {
            const OpInfo *src = &op_table[g->node[n->in[k]].op];
            if (src->rules->flags & OPF_IN_LOSS) {
                error_at(n->in_loc[k], "%s must be the model's last op, but %s uses its output", src->name, n->name);
                break;
            }
        }
    }
}

int elaborate(const Program *prog, const Define *defs, int ndefs, Graph *out)
{
    const Node *model = prog->model;
    int before = error_count();
    Elab E = { .prog = prog, .g = out, .body = model->body };
    *out = (Graph){ .input = -1, .output = -1, .model_name = xstrdup(model->name) };
    for (const Node *b = prog->blocks; b; b = b->next) {
        if (op_lookup(b->name))
            error_at(b->loc, "block '%s' has the name of an op", b->name);
        for (const Node *c = prog->blocks; c != b; c = c->next)
            if (strcmp(c->name, b->name) == 0) {
                error_at(b->loc, "block '%s' is defined twice", b->name);
                note_at(c->loc, "first defined here");
            }
    }
    int rc = bind_model_params(&E, model, defs, ndefs);
    if (rc == 0) {
        exec(&E, model->body);
        if (error_count() == before)
            check_output(&E, model);
        check_required_settings(out);
    }
    unwind(&E, NULL);
    for (Binding *b = E.unused, *next; b; b = next) {
        if (rc == 0 && error_count() == before)
            warn_at(b->def, "value '%s' is never used", b->name);
        next = b->next;
        free(b);
    }
    free(E.named);
    if (rc)
        return rc;
    return error_count() > before;
}
