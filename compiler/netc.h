/* netc.h — the compiler's one header.
 *
 * The pipeline, in the order main() runs it:
 *   source (diag.c)  ->  tokens and AST (lexer.l, parser.y, ast.c)
 *   -> graph IR by elaboration: parameters, loops and blocks evaluated away (elab.c)
 *   -> shapes checked per op through the op table (ops.def, ops/)
 *   -> train settings checked against their schema (train.c)
 *   -> reports: summary, dot (report.c).
 * Every AST node and graph node keeps the Loc it came from, so any pass can point at
 * the source with file:line:col, the line and a caret.  Each section below declares
 * one .c file's public API. */
#ifndef NETC_H
#define NETC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- diag.c: source files, locations, diagnostics ---- */

typedef struct {
    char *name;   /* as given on the command line */
    char *text;   /* whole file, NUL-terminated */
    size_t len;
} SrcFile;

/* A span of source text: where it starts (line, col are 1-based) and its byte range. */
typedef struct {
    const SrcFile *file;
    int line, col;
    int off, end;
} Loc;

#define MAX_ERRORS 20

/* The largest source src_read reads: 16 MiB, far above any model; /dev/zero stops here. */
#define SRC_MAX_BYTES (16 << 20)
SrcFile *src_read(const char *path, char *err, size_t errlen);
SrcFile *src_from_string(const char *name, const char *text);
void src_free(SrcFile *f);

void error_at(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void warn_at(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void note_at(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int error_count(void);
int warning_count(void);
void diag_reset(void);
/* Where diagnostics go (stderr by default); tests point it elsewhere. */
void diag_set_stream(FILE *out);
/* What stops netc at the error cap (MAX_ERRORS), instead of exit(1): a function that
 * does not return (the fuzz target's longjmp back to its caller).  NULL: exit(1). */
void diag_set_cap_stop(void (*stop)(void));

/* closest_name() and did_you_mean(), shared with the trainer. */
#include "../common/suggest.h"

void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formats an integer with thousands separators: 1677290 -> "1,677,290". */
const char *commas(long long v, char buf[32]);

/* ---- ast.c: the syntax tree the parser builds ---- */

typedef enum {
    N_INT, N_FLOAT, N_STR, N_BOOL, N_NAME, N_LIST,
    N_BINOP, N_UNOP, N_CALL, N_KWARG, N_CHAIN,
    N_INPUT, N_ASSIGN, N_FOR, N_IF, N_RETURN, N_TRAIN,
    N_SETTING, N_GROUP, N_PARAM, N_MODEL, N_BLOCK,
} NodeKind;

typedef enum {
    O_ADD = 1, O_SUB, O_MUL, O_DIV, O_MOD,
    O_EQ, O_NE, O_LT, O_LE, O_GT, O_GE, O_AND, O_OR,
    O_NEG, O_NOT,
} Operator;

typedef struct Node Node;
struct Node {
    NodeKind kind;
    Loc loc;        /* the representative token: the name, operator or keyword */
    char *name;     /* NAME, CALL callee, KWARG key, ASSIGN target, FOR variable,
                       PARAM, SETTING/GROUP key, INPUT name, MODEL/BLOCK name */
    Operator op;    /* BINOP, UNOP */
    long long ival; /* INT, BOOL */
    double fval;    /* FLOAT */
    char *sval;     /* STR */
    Node *lhs;      /* BINOP, UNOP, CHAIN input, ASSIGN/KWARG/PARAM/SETTING value,
                       FOR start, IF condition, RETURN value */
    Node *rhs;      /* BINOP, CHAIN call, FOR end */
    Node *list;     /* CALL args, INPUT dims, MODEL/BLOCK params */
    Node *body;     /* FOR, IF then, TRAIN, GROUP, MODEL, BLOCK statements */
    Node *orelse;   /* IF else */
    Node *next;     /* next in a list */
};

/* A parsed file: its model and its blocks. */
typedef struct {
    Node *model;
    Node *blocks;
} Program;

Node *new_node(NodeKind kind, Loc loc);
Node *new_name(NodeKind kind, Loc loc, char *name);
Node *new_binop(Operator op, Loc loc, Node *lhs, Node *rhs);
Node *new_unop(Operator op, Loc loc, Node *operand);
Node *new_int(Loc loc, const char *text);
Node *new_float(Loc loc, const char *text);
Node *new_string(Loc loc, const char *quoted);
Node *new_bool(Loc loc, bool v);
Node *new_call(Loc loc, char *callee, Node *args);
Node *new_chain(Loc loc, Node *input, Node *call);
Node *new_list(Loc loc, Node *items);
Node *new_assign(Loc loc, char *target, Node *value);
Node *new_for(Loc loc, char *var, Node *from, Node *to, Node *body);
Node *new_if(Loc loc, Node *cond, Node *then, Node *orelse);
Node *new_definition(NodeKind kind, Loc loc, char *name, Node *params, Node *body);
Node *append(Node *list, Node *item);
void program_add(Program *p, Node *def);
void free_tree(Node *n);
const char *operator_text(Operator op);

/* ---- parse.c: drives the Flex scanner and Bison parser ---- */

/* Parses a file; syntax errors are reported through diag.  Returns 0 if clean. */
int parse_program(const SrcFile *src, Program *out);

/* ---- ops.def, ops/: the op table ----
 * One entry (OpRules, below) per op of ops.def, in the op's family file under
 * compiler/ops/; the table maps each OpKind to its name and entry. */

typedef enum {
#define OP(id, name, rules) OP_##id,
#include "ops.def"
#undef OP
    OP_COUNT
} OpKind;

#define MAX_RANK 3
typedef struct {
    int rank;                 /* 1: [features]  3: [C, H, W]; the batch is not part of it */
    long long d[MAX_RANK];
} Shape;

typedef enum { A_INT, A_FLOAT, A_BOOL, A_PAD, A_STR } ArgType;

/* One argument of an op: its keyword, type, and default (`required` has none;
 * `same_as` copies another argument's value, as stride defaults to kernel).  A
 * `keyword_only` argument (the regularisers) is given as `name = value` only; such
 * arguments come last in a schema. */
typedef struct {
    const char *name;
    ArgType type;
    bool required;
    double def;
    const char *same_as;
    bool keyword_only;
} ArgSpec;

/* The value of an argument on a graph node; pad is `same` or a number. */
typedef struct {
    long long i;
    double f;
    bool pad_same;
    Loc loc;
    bool given;   /* written in the source, so it has a location */
} Attr;

#define MAX_ARGS 12
#define MAX_PARAMS 4

typedef struct {
    const char *suffix;       /* "weight", "bias", "running_mean", ... */
    int rank;                 /* PyTorch order: conv weight [out, in, kh, kw] */
    long long d[4];
    bool trainable;
} ParamInfo;

typedef struct GNode GNode;
typedef struct Graph Graph;

/* A shape rule's failure: the message, the argument it blames (-1: the call) and the
 * input whose definition deserves a note (-1: none). */
typedef struct {
    char msg[256];
    int arg;
    int note_input;
} ShapeError;

typedef struct OpRules OpRules;

typedef struct {
    const char *name;
    const OpRules *rules;     /* everything else about the op */
} OpInfo;

extern const OpInfo op_table[OP_COUNT];

const OpInfo *op_lookup(const char *name);   /* by name or alias; NULL if unknown */
int op_arg_index(const OpInfo *op, const char *name);
long long attr_int(const GNode *n, const char *arg);
double attr_float(const GNode *n, const char *arg);
bool attr_is_same(const GNode *n, const char *arg);
const char *shape_str(const Shape *s, char buf[64]);
/* Padding of a conv2d node: top, left, bottom, right (resolves `same`; ops/conv.c). */
void conv_padding(const GNode *n, const Shape *in, int pad[4]);
long long shape_numel(const Shape *s);
long long param_numel(const ParamInfo *p);
/* Names of every op and alias, for did-you-mean. */
int op_names(const char **out, int cap);

/* ---- graph.c: the IR ---- */

#define MAX_INPUTS 16
#define MAX_NODES 100000
#define MAX_DIM 2147483647LL

struct GNode {
    OpKind op;
    int in[MAX_INPUTS];
    int nin;
    Attr attr[MAX_ARGS];
    Shape out;
    char *name;               /* layer name: given, or op_N */
    Loc loc;                  /* the op name at the call */
    Loc site;                 /* where the model makes this layer: the call itself, or the
                                 model's call of the block (outermost) that made it */
    Loc in_loc[MAX_INPUTS];   /* where each input operand was written */
    ParamInfo param[MAX_PARAMS];
    int nparam;
    int nusers;
};

/* A value during elaboration: a number, string, symbol (an unbound word such as
 * `same` or `adam`), a tensor (graph node), or in train settings a call or a list
 * ([0.49, 0.48, 0.45]: a value per channel). */
typedef enum { V_NONE, V_INT, V_FLOAT, V_BOOL, V_STR, V_SYM, V_TENSOR, V_CALL, V_LIST } ValueKind;
typedef struct Value Value;
struct Value {
    ValueKind kind;
    long long i;              /* INT, BOOL; LIST: the item count */
    double f;                 /* FLOAT */
    const char *s;            /* STR, SYM, CALL name */
    int node;                 /* TENSOR */
    Value *items;             /* LIST: its items, malloc'd (freed with the setting holding it) */
    Loc loc;
};

/* A checked train setting.  Group settings are keyed "augment.rotate", and a call's
 * arguments "schedule.t_max" beside "schedule" = the call's name. */
typedef struct Setting Setting;
struct Setting {
    const char *key;
    Value v;
    Loc key_loc;
    Setting *next;
};

struct Graph {
    GNode *node;
    int n, cap;
    int input, output;
    char *model_name;
    Setting *settings;
    Loc return_loc;
};

int graph_add(Graph *g, OpKind op, Loc loc);
void graph_free(Graph *g);
/* Parameter values of one node or of the graph: trainable ones, or the state. */
long long node_params(const GNode *n, bool trainable);
long long graph_params(const Graph *g, bool trainable);
long long graph_flops(const Graph *g);

/* ---- elab.c: AST -> graph ---- */

/* A -D name=value override of a model parameter. */
typedef struct {
    const char *name;
    const char *value;
} Define;

/* Evaluates the model with its parameters (defaults, then overrides) into a checked
 * graph.  Errors go through diag; returns 0 if clean, 1 on diagnostics, 2 on a bad -D. */
int elaborate(const Program *prog, const Define *defs, int ndefs, Graph *out);

/* ---- train.c: the train section's schema ---- */

/* Checks a setting's key and value type against the schema and records it in
 * g->settings; reports and returns false when it does not fit.  For a call
 * (schedule = cosine(t_max = 10)) check the call as a V_CALL, then each argument
 * under "schedule.ARG". */
bool setting_add(Graph *g, const char *key, Loc key_loc, Value v);
/* Reports call arguments a chosen call needs but was not given (step without step_size),
 * and settings the trainer refuses together (early stopping with valid_split = 0). */
void check_required_settings(const Graph *g);
/* The value in force for a key: the setting given, else the schema default. */
Value setting_value(const Graph *g, const char *key);
/* Every setting in force (given or default) as "key=value" lines; caller frees. */
char *settings_text(const Graph *g);
/* Prints the schema (for --help and the docs). */
void print_train_schema(FILE *out);

/* ---- spans.c: disjoint byte spans ordered by offset, with first-fit and neighbour
 * queries in O(log n) (the planner's free list and overlap check) ---- */

typedef struct {
    size_t lo, hi;            /* [lo, hi) */
    int id;                   /* the tag it was inserted with */
} Span;
typedef struct SpanSet SpanSet;

/* Each node a query or an update visits adds 1 to *work. */
SpanSet *spans_new(long long *work);
void spans_free(SpanSet *t);
/* Adds [lo, lo + len), disjoint from the spans already there. */
void spans_insert(SpanSet *t, size_t lo, size_t len, int id);
/* Removes the span starting at lo, if any. */
void spans_remove(SpanSet *t, size_t lo);
/* The lowest span at least len long. */
bool spans_first_fit(const SpanSet *t, size_t len, Span *out);
/* The span with the largest lo <= key, or the smallest lo >= key. */
bool spans_at_or_below(const SpanSet *t, size_t key, Span *out);
bool spans_at_or_above(const SpanSet *t, size_t key, Span *out);

/* ---- plan.c: the scheduled program (forward, loss, backward, optimizer), derived
 * gradients, and every buffer placed in one arena ---- */

/* MODE_EXPORT: inference over the dependency-free kernels of runtime/infer (netc
 * export-c): no aux buffers, each op's export workspace. */
typedef enum { MODE_TRAIN, MODE_INFER, MODE_EXPORT } Mode;
typedef enum { STEP_FWD, STEP_LOSS, STEP_BWD, STEP_OPT } StepKind;
typedef enum { B_ACT, B_GRAD, B_AUX, B_WORK, B_PROBS } BufKind;

typedef struct {
    StepKind kind;
    int node;
} Step;

#define MAX_AUX 2
#define ARENA_ALIGN 64

typedef struct {
    char name[112];
    BufKind kind;
    int node;
    size_t bytes;             /* at the planned batch, rounded up to ARENA_ALIGN */
    int first, last;          /* live range: steps, inclusive */
    size_t offset;
} Buffer;

/* What the plan gives one graph node: its buffers (indices into Plan.buf) and
 * whether its output needs a gradient. */
typedef struct {
    int out;                  /* output buffer (-1: the caller's input) */
    int grad;                 /* output-gradient buffer (-1: none) */
    int aux[MAX_AUX];         /* buffers kept for the backward (-1: none) */
    int work;                 /* forward workspace buffer (-1: none) */
    int work_bwd;             /* backward workspace buffer (-1: none) */
    bool requires_grad;       /* its output needs a gradient */
} NodePlan;

typedef struct {
    Mode mode;
    int batch;
    const Graph *g;
    Step *step;
    int nstep;
    Buffer *buf;
    int nbuf;
    NodePlan *node;           /* per graph node, indexed like g->node */
    int logits;               /* node whose output the loss reads */
    int probs;                /* buffer of the probabilities */
    size_t arena, no_reuse, lower_bound;
    char strategy[64];        /* the placement heuristic that won */
    long long work;           /* the planner's elementary steps, for netc plan --stats */
    int cap_step, cap_buf;
} Plan;

Plan *plan_build(const Graph *g, Mode mode, int batch);
void plan_free(Plan *p);
/* Does this node's output share its input's memory in this plan (flatten; dropout at inference)? */
bool plan_is_view(const Plan *p, int node);
/* Checks that no two buffers live at the same step overlap in the arena. */
bool plan_verify(const Plan *p, char *err, size_t len);
void print_plan(FILE *out, const Plan *p);
/* Places buffers (sizes and live ranges given) at offsets; returns the arena size.
 * Exposed for the planner's randomized tests. */
size_t place_buffers(Buffer *buf, int n, char strategy[64], long long *work);
size_t live_lower_bound(const Buffer *buf, int n);
/* Plans of more buffers than this are placed by one O(n log n) sweep (first-fit by
 * start) instead of every heuristic, each O(n^2). */
#define PLACE_PORTFOLIO_MAX 512

/* ---- the op table's entries (compiler/ops/; read by elab.c, plan.c, codegen.c): what
 * a call of the op accepts and makes, what it needs from the planner (saved values,
 * aux buffers, workspace, flags), its gradient rule and the emitters that write its
 * runtime calls ---- */

typedef struct EmitCtx EmitCtx;
typedef struct OnnxCtx OnnxCtx;

enum { SAVES_INPUT = 1, SAVES_OUTPUT = 2 };           /* what a backward reads */
/* OPF_INPLACE: the forward may write over its first input; OPF_INPLACE_BWD: the backward
 * may write the input gradient over the output gradient; OPF_VIEW: the output is the
 * input (flatten), OPF_VIEW_INFER: it is in inference (dropout).
 * OPF_GRAPH_INPUT: the graph's input, made by the `input` declaration and never called;
 * OPF_IN_LOSS: folded into the loss step, which reads this op's input as the logits, so
 * it can only end the model (softmax).  Either makes the op OPF_FOLDED: it has no
 * forward or backward step and no emitters of its own.
 * OPF_RELU: max(x, 0), which an exported OPF_TAKES_RELU op (conv2d, dense) applies
 * as it writes its output when the relu reads it, in place, through only readers that
 * are views or OPF_COMMUTES_RELU ops (max pooling: relu(max) = max(relu)) (emit_fused_act).
 * OPF_BN_FOLDS: batchnorm, an affine map per channel in inference, which export folds
 * into the weight [out, ...] and bias [out] of an OPF_TAKES_BN op (conv2d, dense) when
 * it is that op's only reader; OPF_INPLACE_EXPORT: in place in export plans only.
 * OPF_MAX_POOL: max pooling, which an exported OPF_TAKES_POOL op (conv2d) applying a
 * relu takes into its call when it is 2x2 at stride 2, unpadded (emit_fused_pool). */
enum {
    OPF_INPLACE = 1, OPF_INPLACE_BWD = 2, OPF_VIEW = 4, OPF_VIEW_INFER = 8,
    OPF_GRAPH_INPUT = 16, OPF_IN_LOSS = 32, OPF_FOLDED = OPF_GRAPH_INPUT | OPF_IN_LOSS,
    OPF_RELU = 64, OPF_TAKES_RELU = 128, OPF_COMMUTES_RELU = 256, OPF_BN_FOLDS = 512, OPF_TAKES_BN = 1024,
    OPF_INPLACE_EXPORT = 2048, OPF_TAKES_POOL = 4096, OPF_MAX_POOL = 8192,
};

struct OpRules {
    /* A call: tensor inputs, arguments, the output shape, the parameters it creates. */
    int min_in, max_in;                    /* max_in -1: any number */
    const ArgSpec *args;                   /* terminated by a NULL name */
    bool (*shape)(const Graph *g, GNode *n, ShapeError *e);
    void (*params)(const Graph *g, GNode *n);  /* fills n->param; NULL: none */
    long long (*flops)(const Graph *g, const GNode *n);  /* NULL: 0 */
    /* The planner's facts. */
    unsigned saves;
    unsigned flags;
    /* Buffers the forward writes for the backward (argmax, mask, batch stats): fills
     * names and byte counts for `batch` images; returns how many. */
    int (*aux)(const Graph *g, const GNode *n, Mode mode, int batch, const char *names[MAX_AUX],
               size_t bytes[MAX_AUX]);
    size_t (*work)(const Graph *g, const GNode *n);   /* workspace bytes */
    /* The emitters: the C the op lowers to (the backward is its gradient rule). */
    void (*decl)(EmitCtx *c);                         /* file-scope declarations */
    void (*init)(EmitCtx *c);                         /* parameter initialisation */
    void (*forward)(EmitCtx *c);
    void (*backward)(EmitCtx *c);
    /* The loss terms of the layer's own regularisers (conv2d, dense: `l2 = ...`), written
     * in the loss step of train_step and evaluate: `loss += ...;` lines, each adding its
     * gradient into G in training; none when they are off.  NULL: the op has none. */
    void (*penalty)(EmitCtx *c);
    /* Export (netc export-c): the inference call over runtime/infer/netc_infer.h and the
     * workspace bytes it needs (NULL: none).  NULL export: no code (a view, folded). */
    void (*export)(EmitCtx *c);
    size_t (*export_work)(const Graph *g, const GNode *n);
    /* The workspace of the call on T tasks (predict_mt), fixed + T * per_task bytes,
     * which its export call then takes as emit_export_work; NULL: export_work's, for
     * any number of tasks. */
    void (*export_work_mt)(const Graph *g, const GNode *n, size_t *fixed, size_t *per_task);
    /* Rewrites trained parameter `param` of the node (its numel floats, in place) into
     * the layout its export call reads (conv2d: packed weights); NULL: as trained. */
    void (*export_pack)(const Graph *g, const GNode *n, int param, float *data);
    /* ONNX (netc export-onnx): the node's inference as ONNX nodes, written through the
     * onnx_* calls of onnx_export.c; NULL: ONNX cannot express it (export-onnx refuses
     * the model, naming the op and the layer).  Folded ops (input, softmax) have none:
     * the exporter writes the graph's input, normalisation and final Softmax itself. */
    void (*onnx)(OnnxCtx *c);
};

/* ---- codegen.c: C code generation ---- */

/* Writes DIR/NAME.h and DIR/NAME.c; returns 0 or reports and returns 2. */
int generate_c(const Graph *g, const char *dir, const char *prefix, int max_batch);

/* ---- export.c: netc export-c ----
 * Writes DIR/PREFIX.[ch], DIR/netc_infer.[ch] (and DIR/PREFIX.weights when blob) for
 * the model with the trained weights of a checkpoint or .npz; returns 0, 1 (the weights
 * file is refused, with a message) or 2 (I/O). */
int export_c(const Graph *g, const char *weights_path, const char *dir, const char *prefix, int batch, bool blob);

/* ---- weights.c: the trained weights of a checkpoint or .npz for graph g, read by the
 * trainer's readers (export-c, export-onnx): a file of another model is refused with
 * their message on stderr (NULL), as are weights that are not all finite ---- */
typedef struct Weights Weights;
Weights *weights_read(const Graph *g, const char *path);
void weights_free(Weights *w);
/* Node `node`'s tensor `suffix` as trained, in PyTorch's layout (NULL: it has none). */
float *weights_tensor(const Graph *g, const Weights *w, int node, const char *suffix);
/* The input normalisation trained with: its channels (0: none; 1: the same for all), the
 * mean and std of each into mean[] and std[] (room for 8, RT_DATA_MAX_CHANNELS). */
int weights_normalisation(const Weights *w, float mean[], float std[]);

/* What export.c shares with the training code generator (codegen.c). */
uint64_t structure_hash(const Graph *g);          /* checked by checkpoints and blobs */
char **make_ids(const Graph *g);                   /* per node: a unique C identifier */
void free_ids(const Graph *g, char **ids);
void print_macro_name(FILE *out, const char *prefix);
void macro_name(const char *prefix, char *buf, size_t len);   /* the prefix in capitals */
const char *float_literal(double v, char buf[32]);             /* 1.0f, 1e-05f: reads back exactly as a float */
int write_struct(FILE *out, const Graph *g, char **ids, const char *prefix, const char *what, bool trainable);
void write_string_literal(FILE *out, const char *s);
FILE *open_output(const char *dir, const char *name, char *path, size_t len);
bool close_output(FILE *f, const char *path);
/* What export.c gives the exported plan: the C expressions of the weights, the
 * normalisation prologue (NULL: none), the run function's parameters before `par`, and
 * the offset in the workspace of the tasks' scratch (predict_mt). */
typedef struct {
    const char *params, *state, *norm, *args;
    size_t mt_offset;
} ExportCode;
/* The descriptors and `static int PREFIX_run(ARGS, const netc_parallel *par)` over plan
 * p (MODE_EXPORT): x normalised into the workspace when norm is set, then each op's
 * export call (on par's tasks, or in the calling thread when par is NULL), then the
 * softmax into probs.  export.c writes the public functions, which check and call it. */
void write_export_code(FILE *out, const Graph *g, char **ids, const Plan *p, const char *prefix,
                       const ExportCode *x);
/* The batchnorm folded into node i's export call under plan p (MODE_EXPORT): its only
 * reader, in place, when node i is OPF_TAKES_BN; else -1. */
int export_folded_bn(const Graph *g, const Plan *p, int i);

/* What an op's emitter uses to write its calls: the names of its buffers (pointers
 * codegen.c declares atop the function, `x` for the caller's input, "NULL" for none). */
const GNode *emit_node(EmitCtx *c);
const Graph *emit_graph(EmitCtx *c);
Mode emit_mode(EmitCtx *c);
const char *emit_id(EmitCtx *c);                  /* the layer's C identifier */
const char *emit_in(EmitCtx *c, int k);           /* input k, const float * */
const char *emit_out(EmitCtx *c);
const char *emit_dout(EmitCtx *c);
const char *emit_din(EmitCtx *c, int k);          /* "NULL" when input k needs no gradient */
int emit_accum(EmitCtx *c, int k);                /* 1 when din k already holds a gradient */
const char *emit_param(EmitCtx *c, const char *suffix);   /* "NULL" when absent */
const char *emit_pgrad(EmitCtx *c, const char *suffix);
const char *emit_state(EmitCtx *c, const char *suffix);
long long emit_param_numel(EmitCtx *c, const char *suffix);   /* 0 when absent */
const char *emit_aux(EmitCtx *c, int k, const char *ctype);
const char *emit_work(EmitCtx *c);
const char *emit_float(EmitCtx *c, double v);     /* a float literal: 1.0f, 1e-05f */
/* The kernel `base` of the target: rt_BASE_forward (training runtime) or netc_BASE
 * (export), for the kernels whose signatures the two share; likewise the descriptor
 * types rt_BASE_desc and netc_BASE_desc. */
const char *emit_kernel(EmitCtx *c, const char *base);
const char *emit_desc_type(EmitCtx *c, const char *base);
/* Export: "NETC_ACT_RELU" when the node's call applies a later relu (OPF_RELU flag;
 * that step then writes no code), else "NETC_ACT_NONE". */
const char *emit_fused_act(EmitCtx *c);
/* Export: the bias of the node's call: the folded batchnorm's (which export_c rewrote
 * to hold the folded shift) when one is folded in, else the node's own ("NULL"). */
const char *emit_fused_bias(EmitCtx *c);
/* Export: whether the node's call also does the max pooling that follows it (see
 * OPF_MAX_POOL; that step then writes no code), and if so the pooling's output and the
 * name of its descriptor. */
bool emit_fused_pool(EmitCtx *c, const char **out, const char **id);
/* Export: the netc_parallel pointer of the call ("par": NULL in the single-thread
 * predict), and the workspace argument of a call whose op has export_work_mt: the
 * tasks' scratch under par, else the node's planned work buffer. */
const char *emit_parallel(EmitCtx *c);
const char *emit_export_work(EmitCtx *c);
void emit(EmitCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- onnx_export.c: netc export-onnx ----
 * Writes the model with the trained weights of a checkpoint or .npz as an ONNX file
 * (opset ONNX_OPSET, batch dimension "N"); returns 0, 1 (the weights are refused, or an
 * op has no ONNX form; with a message) or 2 (I/O). */
#define ONNX_OPSET 17
int export_onnx(const Graph *g, const char *weights_path, const char *path);

/* What an op's onnx writer uses (OpRules.onnx): the values are named by strings. */
const GNode *onnx_node(OnnxCtx *c);
const Graph *onnx_graph(OnnxCtx *c);
const char *onnx_in(OnnxCtx *c, int k);           /* the value of input k */
/* The initialiser of the node's trained tensor `suffix`, added once ("NULL": none). */
const char *onnx_param(OnnxCtx *c, const char *suffix);
/* An int64 initialiser LAYER_suffix of n values (Pad's pads). */
const char *onnx_ints(OnnxCtx *c, const char *suffix, int n, const long long *v);
/* A value LAYER_suffix between two of the layer's ONNX nodes. */
const char *onnx_temp(OnnxCtx *c, const char *suffix);
/* Adds an ONNX node op_type(in[0..nin)) -> out; out NULL: the layer's own value.  The
 * onnx_attr_* calls after it give it attributes. */
void onnx_op(OnnxCtx *c, const char *op_type, int nin, const char *const *in, const char *out);
void onnx_attr_int(OnnxCtx *c, const char *name, long long v);
void onnx_attr_float(OnnxCtx *c, const char *name, double v);
void onnx_attr_ints(OnnxCtx *c, const char *name, int n, const long long *v);
/* The layer's value is input k's (dropout at inference): no node. */
void onnx_alias(OnnxCtx *c, int k);

/* ---- onnx_import.c: netc import ----
 * Turns the ONNX classifier PATH into a .net file (NULL: standard output) and the .npz
 * of its weights, for `train --init-from`; returns 0, or 1 with a message (a file that
 * does not parse, a node netc cannot express: its name and op type). */
int import_onnx(const char *path, const char *net_path, const char *npz_path);
/* The .net text of an ONNX file's bytes (malloc'd), or NULL with the message in err;
 * writes nothing (the fuzz target's entry). */
char *onnx_import_text(const unsigned char *buf, size_t len, const char *file, char *err, size_t errlen);

/* ---- report.c: summary and dot ---- */

void print_summary(FILE *out, const Graph *g);
void print_dot(FILE *out, const Graph *g);

/* ---- main.c: the commands netc sweep reuses ---- */

/* Creates a directory and its missing parents, as mkdir -p does; reports and returns
 * false when one cannot be made or a part of the path is not a directory. */
bool make_dirs(const char *dir);
/* -D NAME=VALUE: arg, cut at its '=', appended to defs (cap entries at most); 0, or 2
 * after saying what is wrong. */
int add_define(char *arg, Define *defs, int *ndefs, int cap);
/* `netc build FILE -D... -o output`: the trainer of the model with those parameters;
 * returns netc build's exit status (diagnostics and errors on stderr). */
int build_trainer(const char *file, const Define *defs, int ndefs, const char *output);

/* ---- sweep.c: netc sweep, a grid of training runs (docs/sweep.md) ---- */

/* `netc sweep ARGS`, argv[0] being "sweep"; returns the exit status. */
int sweep_main(int argc, char **argv);

#endif
