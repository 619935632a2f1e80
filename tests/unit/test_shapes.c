/* test_shapes.c — the op table's shape rules, through the real pipeline.
 *
 * Each case is a small .net model (src_from_string -> parse_program -> elaborate)
 * whose layer under test is named "t"; the test reads that node's output shape,
 * trainable parameter count and non-trainable state from the graph and compares them
 * with figures worked out by hand in the comments beside each case (PyTorch floor
 * mode for windows, Keras 'same' padding: out = ceil(in / stride), the odd pixel of
 * padding at the bottom/right).  conv_padding() is checked directly on the conv
 * nodes.  Bad cases must fail to elaborate with an error that says why.  Diagnostics
 * go to a temporary file, not the terminal.  Exits non-zero on any mismatch. */
#include <stdlib.h>
#include <string.h>
#include "netc.h"

static int failures, checks;

#define FAIL(...)                                   \
    do {                                            \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);               \
        fputc('\n', stderr);                        \
        failures++;                                 \
    } while (0)

/* One elaborated source: its graph, the exit code elaborate() gave (1 on a parse
 * error), and the diagnostics it printed. */
typedef struct {
    SrcFile *src;
    Graph g;
    int rc;
    char diag[4096];
} Run;

static void run_source(Run *r, const char *text)
{
    memset(r, 0, sizeof *r);
    FILE *diag = tmpfile();
    if (!diag) {
        perror("tmpfile");
        exit(2);
    }
    diag_reset();
    diag_set_stream(diag);
    r->src = src_from_string("t.net", text);
    Program prog = { 0 };
    r->rc = parse_program(r->src, &prog);
    if (r->rc == 0)
        r->rc = elaborate(&prog, NULL, 0, &r->g);
    free_tree(prog.model);
    free_tree(prog.blocks);
    diag_set_stream(NULL);
    rewind(diag);
    size_t n = fread(r->diag, 1, sizeof r->diag - 1, diag);
    r->diag[n] = 0;
    fclose(diag);
}

static void run_free(Run *r)
{
    graph_free(&r->g);
    src_free(r->src);
}

static const GNode *find_node(const Graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (g->node[i].name && strcmp(g->node[i].name, name) == 0)
            return &g->node[i];
    return NULL;
}

static bool shape_is(const Shape *s, int rank, long long d0, long long d1, long long d2)
{
    long long d[3] = { d0, d1, d2 };
    if (s->rank != rank)
        return false;
    for (int i = 0; i < rank; i++)
        if (s->d[i] != d[i])
            return false;
    return true;
}

/* Builds `model T { input x[INPUT]  y = x -> LAYER  return y -> ... }`, the layer
 * named "t", and checks its output shape [d0, d1, d2] (rank 3; d1 = d2 = 0 for a
 * rank-1 result), its trainable parameter count and its state.  Returns the run for
 * further checks (the caller frees it). */
static void layer_case(Run *r, int line, const char *input, const char *layer, int rank, long long d0, long long d1,
                       long long d2, long long params, long long state)
{
    char named[256], text[1024];
    size_t len = strlen(layer);
    /* conv2d(6, 5) -> conv2d(6, 5, name = "t"); relu() -> relu(name = "t") */
    snprintf(named, sizeof named, "%.*s%sname = \"t\")", (int)(len - 1), layer,
             len >= 2 && layer[len - 2] == '(' ? "" : ", ");
    snprintf(text, sizeof text,
             "model T {\n  input x[%s]\n  y = x -> %s\n  return y%s -> dense(2)\n}\n", input, named,
             rank == 3 ? " -> flatten()" : "");
    run_source(r, text);
    checks++;
    if (r->rc != 0) {
        fprintf(stderr, "FAIL %s:%d: %s on [%s] does not elaborate:\n%s", __FILE__, line, layer, input, r->diag);
        failures++;
        return;
    }
    const GNode *n = find_node(&r->g, "t");
    char got[64];
    if (!n) {
        fprintf(stderr, "FAIL %s:%d: no layer 't' in the graph of %s\n", __FILE__, line, layer);
        failures++;
    } else if (!shape_is(&n->out, rank, d0, d1, d2)) {
        fprintf(stderr, "FAIL %s:%d: %s on [%s] gives %s, want rank %d [%lld, %lld, %lld]\n", __FILE__, line, layer,
                input, shape_str(&n->out, got), rank, d0, d1, d2);
        failures++;
    } else if (node_params(n, true) != params || node_params(n, false) != state) {
        fprintf(stderr, "FAIL %s:%d: %s on [%s] has %lld params and %lld state, want %lld and %lld\n", __FILE__,
                line, layer, input, node_params(n, true), node_params(n, false), params, state);
        failures++;
    }
}

#define LAYER(input, layer, rank, d0, d1, d2, params, state)                             \
    do {                                                                                 \
        Run r_;                                                                          \
        layer_case(&r_, __LINE__, input, layer, rank, d0, d1, d2, params, state);        \
        run_free(&r_);                                                                   \
    } while (0)

/* As LAYER, then checks conv_padding() of the conv2d "t": top, left, bottom, right. */
static void conv_case(int line, const char *input, const char *layer, long long c, long long h, long long w,
                      long long params, int top, int left, int bottom, int right)
{
    Run r;
    layer_case(&r, line, input, layer, 3, c, h, w, params, 0);
    const GNode *n = r.rc == 0 ? find_node(&r.g, "t") : NULL;
    if (n) {
        int pad[4] = { -1, -1, -1, -1 };
        conv_padding(n, &r.g.node[n->in[0]].out, pad);
        checks++;
        if (pad[0] != top || pad[1] != left || pad[2] != bottom || pad[3] != right) {
            fprintf(stderr, "FAIL %s:%d: conv_padding of %s on [%s] is %d/%d/%d/%d, want %d/%d/%d/%d\n", __FILE__,
                    line, layer, input, pad[0], pad[1], pad[2], pad[3], top, left, bottom, right);
            failures++;
        }
    }
    run_free(&r);
}

#define CONV(input, layer, c, h, w, params, top, left, bottom, right) \
    conv_case(__LINE__, input, layer, c, h, w, params, top, left, bottom, right)

/* A whole source that must fail, with an error containing `want`. */
static void bad_case(int line, const char *text, const char *want)
{
    Run r;
    run_source(&r, text);
    checks++;
    if (r.rc == 0) {
        fprintf(stderr, "FAIL %s:%d: elaborates, but should fail with \"%s\":\n%s", __FILE__, line, want, text);
        failures++;
    } else if (!strstr(r.diag, ": error: ") || !strstr(r.diag, want)) {
        fprintf(stderr, "FAIL %s:%d: error should say \"%s\"; got:\n%s", __FILE__, line, want, r.diag);
        failures++;
    }
    run_free(&r);
}

#define BAD(text, want) bad_case(__LINE__, text, want)
/* A bad layer on an input: `model T { input x[INPUT] return x -> LAYER -> ... }`. */
#define BAD_LAYER(input, layer, tail, want)                                                          \
    bad_case(__LINE__, "model T {\n  input x[" input "]\n  return x -> " layer tail " -> dense(2)\n}\n", \
             want)

static void test_conv2d(void)
{
    /* (32 + 2*1 - 3) / 2 + 1 = 31/2 + 1 = 16; weight 16*3*3*3 = 432, bias 16 */
    CONV("3, 32, 32", "conv2d(16, 3, stride = 2, pad = 1)", 16, 16, 16, 448, 1, 1, 1, 1);
    /* (32 - 5) / 3 + 1 = 10; 8*3*5*5 + 8 = 608 */
    CONV("3, 32, 32", "conv2d(8, 5, stride = 3)", 8, 10, 10, 608, 0, 0, 0, 0);
    /* (28 + 4 - 7) / 2 + 1 = 25/2 + 1 = 13 (floor); no bias: 4*1*7*7 = 196 */
    CONV("1, 28, 28", "conv2d(4, 7, stride = 2, pad = 2, bias = false)", 4, 13, 13, 196, 2, 2, 2, 2);
    /* valid = 0: 28 - 3 + 1 = 26; 8*3*9 + 8 = 224 */
    CONV("3, 28, 28", "conv2d(8, 3, pad = valid)", 8, 26, 26, 224, 0, 0, 0, 0);
    /* positional stride and pad: conv2d(out, kernel, stride, pad); (9 + 2 - 3)/2 + 1 = 5 */
    CONV("2, 9, 9", "conv2d(3, 3, 2, 1)", 3, 5, 5, 57, 1, 1, 1, 1);

    /* same, stride 1, odd kernel 3: total (28-1)*1 + 3 - 28 = 2 -> 1 each side */
    CONV("3, 28, 28", "conv2d(8, 3, pad = same)", 8, 28, 28, 224, 1, 1, 1, 1);
    /* same, stride 1, even kernel 4: total 27 + 4 - 28 = 3 -> 1 top/left, 2 bottom/right;
     * 8*3*16 + 8 = 392 */
    CONV("3, 28, 28", "conv2d(8, 4, pad = same)", 8, 28, 28, 392, 1, 1, 2, 2);
    /* same, stride 2, kernel 3, even input 28: out ceil(28/2) = 14, total 13*2 + 3 - 28 = 1
     * -> 0 top/left, 1 bottom/right; check (28 + 1 - 3)/2 + 1 = 14 */
    CONV("3, 28, 28", "conv2d(8, 3, stride = 2, pad = same)", 8, 14, 14, 224, 0, 0, 1, 1);
    /* same, stride 2, kernel 3, odd input 15: out 8, total 7*2 + 3 - 15 = 2 -> 1/1;
     * 2*1*9 + 2 = 20 */
    CONV("1, 15, 15", "conv2d(2, 3, stride = 2, pad = same)", 2, 8, 8, 20, 1, 1, 1, 1);
    /* same, stride 2, even kernel 4, input 15: out 8, total 14 + 4 - 15 = 3 -> 1 / 2;
     * 2*1*16 + 2 = 34 */
    CONV("1, 15, 15", "conv2d(2, 4, stride = 2, pad = same)", 2, 8, 8, 34, 1, 1, 2, 2);
    /* same, stride 3, kernel 5 on 15x20: H out 5, total 4*3 + 5 - 15 = 2 -> 1/1;
     * W out ceil(20/3) = 7, total 6*3 + 5 - 20 = 3 -> 1 left, 2 right; 2*1*25 + 2 = 52 */
    CONV("1, 15, 20", "conv2d(2, 5, stride = 3, pad = same)", 2, 5, 7, 52, 1, 1, 1, 2);
    /* same, stride 4 > kernel 1 on 10: out ceil(10/4) = 3, total 2*4 + 1 - 10 < 0 -> 0 */
    CONV("1, 10, 10", "conv2d(1, 1, stride = 4, pad = same)", 1, 3, 3, 2, 0, 0, 0, 0);
    /* same, stride 2, kernel 6 on 5: out 3, total 2*2 + 6 - 5 = 5 -> 2 top/left, 3 bottom/right */
    CONV("1, 5, 5", "conv2d(1, 6, stride = 2, pad = same)", 1, 3, 3, 37, 2, 2, 3, 3);
    /* a kernel exactly the size of its padded input: (3 + 2 - 5) + 1 = 1 */
    CONV("1, 3, 3", "conv2d(1, 5, pad = 1)", 1, 1, 1, 26, 1, 1, 1, 1);

    BAD_LAYER("1, 5, 5", "conv2d(2, 6)", "", "conv2d: kernel 6 is larger than its padded input 5x5");
    BAD_LAYER("1, 5, 5", "conv2d(2, 8, pad = 1)", "", "kernel 8 is larger than its padded input 7x7");
    BAD_LAYER("16", "conv2d(2, 1)", " -> flatten()", "conv2d expects a [C, H, W] input, got [16]");
    BAD_LAYER("1, 8, 8", "conv2d(2, 3, pad = -1)", " -> flatten()", "conv2d: 'pad' must be >= 0, got -1");
    BAD_LAYER("1, 8, 8", "conv2d(0, 3)", " -> flatten()", "conv2d: 'out' must be positive, got 0");
    BAD_LAYER("1, 8, 8", "conv2d(2, 0)", " -> flatten()", "conv2d: 'kernel' must be positive, got 0");
    BAD_LAYER("1, 8, 8", "conv2d(2, 3, stride = 0)", " -> flatten()", "conv2d: 'stride' must be positive, got 0");
    BAD_LAYER("1, 8, 8", "conv2d(2, 3, pad = full)", " -> flatten()", "must be an int, same or valid");
    BAD_LAYER("1, 8, 8", "conv2d(2, 1.5)", " -> flatten()", "conv2d: 'kernel' must be an int, got a float");
    /* 40000 * 1024 * 1024 > 2^31 - 1 */
    BAD_LAYER("1, 1024, 1024", "conv2d(40000, 1)", " -> flatten()", "has more than 2^31-1 elements");
}

static void test_pool(void)
{
    /* floor((7 - 2) / 2) + 1 = 3 */
    LAYER("4, 7, 7", "maxpool2d(2)", 3, 4, 3, 3, 0, 0);
    /* (7 + 2 - 3) / 2 + 1 = 4 */
    LAYER("4, 7, 7", "maxpool2d(3, stride = 2, pad = 1)", 3, 4, 4, 4, 0, 0);
    /* (14 - 3) / 3 + 1 = 4 (floor mode drops the last two rows) */
    LAYER("2, 14, 14", "maxpool2d(3)", 3, 2, 4, 4, 0, 0);
    /* (7 + 2 - 3) / 1 + 1 = 7 */
    LAYER("4, 7, 7", "avgpool2d(3, stride = 1, pad = 1)", 3, 4, 7, 7, 0, 0);
    /* (7 - 2) / 3 + 1 = 2 */
    LAYER("4, 7, 7", "avgpool2d(2, stride = 3)", 3, 4, 2, 2, 0, 0);
    /* non-square: H (9 - 2)/2 + 1 = 4, W (6 - 2)/2 + 1 = 3 */
    LAYER("3, 9, 6", "avgpool2d(2)", 3, 3, 4, 3, 0, 0);
    /* a 16x16 window is the largest: (16 - 16) + 1 = 1 */
    LAYER("1, 16, 16", "maxpool2d(16)", 3, 1, 1, 1, 0, 0);

    BAD_LAYER("3, 4, 4", "avgpool2d(5)", " -> flatten()", "avgpool2d: kernel 5 is larger than its padded input 4x4");
    BAD_LAYER("3, 4, 4", "maxpool2d(7, pad = 1)", " -> flatten()", "kernel 7 is larger than its padded input 6x6");
    BAD_LAYER("3, 8, 8", "maxpool2d(2, pad = 2)", " -> flatten()", "'pad' must be between 0 and half the kernel (1), got 2");
    BAD_LAYER("3, 8, 8", "maxpool2d(2, pad = -1)", " -> flatten()", "'pad' must be between 0 and half the kernel");
    BAD_LAYER("3, 8, 8", "maxpool2d(0)", " -> flatten()", "maxpool2d: 'kernel' must be positive, got 0");
    BAD_LAYER("3, 8, 8", "avgpool2d(2, stride = 0)", " -> flatten()", "avgpool2d: 'stride' must be positive, got 0");
    BAD_LAYER("1, 40, 40", "maxpool2d(17)", " -> flatten()", "at most 16x16");
    BAD_LAYER("16", "maxpool2d(2)", "", "maxpool2d expects a [C, H, W] input");
}

static void test_reshaping(void)
{
    LAYER("16, 7, 7", "global_avgpool()", 1, 16, 0, 0, 0, 0);
    LAYER("16, 5, 5", "flatten()", 1, 400, 0, 0, 0, 0);
    LAYER("10", "flatten()", 1, 10, 0, 0, 0, 0);   /* a vector passes unchanged */
    LAYER("3, 5, 5", "pad(2)", 3, 3, 9, 9, 0, 0);
    LAYER("3, 5, 4", "pad(0)", 3, 3, 5, 4, 0, 0);
    LAYER("3, 5, 4", "pad(p = 1)", 3, 3, 7, 6, 0, 0);
    BAD_LAYER("16", "global_avgpool()", "", "global_avgpool expects a [C, H, W] input, got [16]");
    BAD_LAYER("3, 5, 5", "pad(-1)", " -> flatten()", "pad: 'p' must be >= 0, got -1");
    BAD_LAYER("16", "pad(1)", "", "pad expects a [C, H, W] input");
}

static void test_dense(void)
{
    /* 400*120 + 120 = 48,120 */
    LAYER("400", "dense(120)", 1, 120, 0, 0, 48120, 0);
    /* 120*10, no bias */
    LAYER("120", "dense(10, bias = false)", 1, 10, 0, 0, 1200, 0);
    /* the alias */
    LAYER("7", "linear(3)", 1, 3, 0, 0, 24, 0);
    BAD_LAYER("16, 5, 5", "dense(10)", "", "dense expects a flat input [features], got [16, 5, 5]; insert flatten()");
    BAD_LAYER("16", "dense(0)", "", "dense: 'out' must be positive, got 0");
    BAD_LAYER("16", "dense(-3)", "", "dense: 'out' must be positive, got -3");
    /* 50000 * 50000 weights > 2^31 - 1 */
    BAD_LAYER("50000", "dense(50000)", "", "parameter 'weight' has more than 2^31-1 elements");
}

static void test_batchnorm_dropout(void)
{
    /* rank 1 (BatchNorm1d): weight + bias 2*120 trainable, running mean + var 2*120 state */
    LAYER("120", "batchnorm()", 1, 120, 0, 0, 240, 240);
    /* rank 3 (BatchNorm2d): per channel, 2*16 and 2*16 */
    LAYER("16, 5, 5", "batchnorm(momentum = 0.01, eps = 1e-3)", 3, 16, 5, 5, 32, 32);
    LAYER("16, 5, 5", "dropout2d(0.25)", 3, 16, 5, 5, 0, 0);
    LAYER("10", "dropout(0)", 1, 10, 0, 0, 0, 0);
    LAYER("10", "leaky_relu(slope = 0.2)", 1, 10, 0, 0, 0, 0);
    BAD_LAYER("16", "batchnorm(eps = 0)", "", "batchnorm: 'eps' must be in (0, 1], got 0");
    BAD_LAYER("16", "batchnorm(momentum = 1.5)", "", "batchnorm: 'momentum' must be in [0, 1], got 1.5");
    BAD_LAYER("16", "dropout(1)", "", "dropout: 'p' must be in [0, 1), got 1");
    BAD_LAYER("16", "dropout2d(0.5)", "", "dropout2d expects a [C, H, W] input, got [16]");
}

static void test_add_concat(void)
{
    Run r;
    /* add of three [8, 4, 4]: [8, 4, 4]; concat along channels 8 + 16 + 3 = 27 */
    run_source(&r, "model T {\n  input x[3, 4, 4]\n"
                   "  a = x -> conv2d(8, 1)\n  b = x -> conv2d(8, 3, pad = 1)\n  c = x -> conv2d(16, 1)\n"
                   "  s = add(a, b, a, name = \"s\")\n"
                   "  k = concat(s, c, x, name = \"k\")\n"
                   "  return k -> flatten() -> dense(2)\n}\n");
    checks++;
    if (r.rc != 0) {
        FAIL("add/concat model does not elaborate:\n%s", r.diag);
    } else {
        const GNode *s = find_node(&r.g, "s"), *k = find_node(&r.g, "k");
        if (!s || !shape_is(&s->out, 3, 8, 4, 4) || s->nin != 3)
            FAIL("add(a, b, a) should be [8, 4, 4] with 3 inputs");
        if (!k || !shape_is(&k->out, 3, 27, 4, 4) || k->nin != 3)
            FAIL("concat(s, c, x) should be [27, 4, 4] with 3 inputs");
        /* a's weight 8*3 + 8, b's 8*3*9 + 8, c's 16*3 + 16, dense 2*432 + 2 */
        long long want = 32 + 224 + 64 + 866;
        if (graph_params(&r.g, true) != want)
            FAIL("add/concat model has %lld params, want %lld", graph_params(&r.g, true), want);
    }
    run_free(&r);

    /* rank 1: add [10] + [10], concat [10] + [5] = [15] */
    run_source(&r, "model T {\n  input x[10]\n  a = x -> dense(10)\n  b = x -> dense(5)\n"
                   "  s = add(x, a, name = \"s\")\n  k = concat(s, b, name = \"k\")\n  return k -> dense(2)\n}\n");
    checks++;
    if (r.rc != 0) {
        FAIL("rank-1 add/concat model does not elaborate:\n%s", r.diag);
    } else {
        const GNode *s = find_node(&r.g, "s"), *k = find_node(&r.g, "k");
        if (!s || !shape_is(&s->out, 1, 10, 0, 0))
            FAIL("add of two [10] should be [10]");
        if (!k || !shape_is(&k->out, 1, 15, 0, 0))
            FAIL("concat of [10] and [5] should be [15]");
    }
    run_free(&r);

    BAD("model T {\n  input x[3, 4, 4]\n  a = x -> conv2d(8, 1)\n  b = x -> conv2d(4, 1)\n"
        "  return add(a, b) -> flatten() -> dense(2)\n}\n",
        "add: operand 2 has shape [4, 4, 4] but operand 1 has [8, 4, 4]");
    BAD("model T {\n  input x[3, 4, 4]\n  a = x -> conv2d(8, 1)\n  return add(a) -> flatten() -> dense(2)\n}\n",
        "add takes at least 2 tensor inputs, got 1");
    BAD("model T {\n  input x[3, 8, 8]\n  a = x -> conv2d(8, 1)\n  b = x -> maxpool2d(2)\n"
        "  return concat(a, b) -> flatten() -> dense(2)\n}\n",
        "concat: operand 2 has shape [3, 4, 4], which does not match operand 1's [8, 8, 8]");
    BAD("model T {\n  input x[3, 8, 8]\n  a = x -> flatten()\n"
        "  return concat(a, x) -> dense(2)\n}\n",
        "concat: operand 2 has shape [3, 8, 8], which does not match operand 1's [192]");
}

/* Whole models: totals and FLOPs worked out by hand. */
static void test_totals(void)
{
    Run r;
    /* conv 16*3*9 + 16 = 448 -> [16, 16, 16]; bn 32 (+32 state); pool -> [16, 8, 8];
     * flatten 1024; dense 1024*10 + 10 = 10,250.  Total 10,730, state 32.
     * FLOPs: conv 2 * (16*16*16) * 3 * 9 = 221,184; dense 2 * 10 * 1024 = 20,480. */
    run_source(&r, "model T {\n  input x[3, 32, 32]\n"
                   "  h = x -> conv2d(16, 3, stride = 2, pad = 1) -> batchnorm() -> relu() -> maxpool2d(2)\n"
                   "  return h -> flatten() -> dense(10) -> softmax()\n}\n");
    checks++;
    if (r.rc != 0)
        FAIL("totals model does not elaborate:\n%s", r.diag);
    else if (graph_params(&r.g, true) != 10730 || graph_params(&r.g, false) != 32 || graph_flops(&r.g) != 241664)
        FAIL("totals model: %lld params, %lld state, %lld FLOPs; want 10730, 32, 241664", graph_params(&r.g, true),
             graph_params(&r.g, false), graph_flops(&r.g));
    run_free(&r);
}

int main(void)
{
    test_conv2d();
    test_pool();
    test_reshaping();
    test_dense();
    test_batchnorm_dropout();
    test_add_concat();
    test_totals();
    printf("test_shapes: %d checks, %d failed\n", checks, failures);
    return failures != 0;
}
