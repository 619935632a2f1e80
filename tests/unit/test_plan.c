/* test_plan.c — the memory planner's invariants.
 *
 * For every model in models/ (train and inference, at batch 100) and for 1,000 random
 * graphs written as .net source (chains, fan-out, add, concat, pooling, padding, views,
 * dropout, batchnorm; random batch), it checks that no two buffers live at the same
 * step overlap in the arena (plan_verify), that the arena is at least the lower bound,
 * and that every output buffer is large enough for its tensor.  It also prints the
 * arena / lower-bound ratio of each model and fails if a model exceeds 1.05 (train)
 * or 1.02 (inference), the targets in docs/memory.md.  A plan too large for the
 * heuristic portfolio (the O(n log n) sweep) must verify and stay within 1.25 of its
 * lower bound, and plan_verify must catch two live buffers forged to one offset. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"
#include "netc_rt.h"

static int failures;

static bool check_plan(const Graph *g, Mode mode, int batch, const char *what, double *ratio)
{
    Plan *p = plan_build(g, mode, batch);
    char err[512];
    bool ok = plan_verify(p, err, sizeof err);
    if (!ok)
        fprintf(stderr, "FAIL %s (%s): %s\n", what, mode == MODE_TRAIN ? "train" : "infer", err);
    if (p->arena < p->lower_bound) {
        fprintf(stderr, "FAIL %s: arena %zu below the lower bound %zu\n", what, p->arena, p->lower_bound);
        ok = false;
    }
    for (int i = 0; i < g->n && ok; i++) {
        int b = p->node[i].out;
        size_t need = (size_t)shape_numel(&g->node[i].out) * (size_t)batch * sizeof(float);
        if (b >= 0 && p->buf[b].bytes < need) {
            fprintf(stderr, "FAIL %s: %s has %zu bytes for a %zu-byte tensor\n", what, p->buf[b].name,
                    p->buf[b].bytes, need);
            ok = false;
        }
    }
    if (ratio)
        *ratio = p->lower_bound ? (double)p->arena / (double)p->lower_bound : 1.0;
    plan_free(p);
    return ok;
}

/* Parses and elaborates source text; diagnostics (unused-value warnings) are discarded. */
static bool build_graph(const char *name, const char *text, Graph *g)
{
    SrcFile *src = src_from_string(name, text);
    Program prog = { 0 };
    bool ok = parse_program(src, &prog) == 0 && elaborate(&prog, NULL, 0, g) == 0;
    free_tree(prog.model);
    free_tree(prog.blocks);
    /* the graph keeps Locs pointing into src for diagnostics; it is freed with it below */
    if (!ok)
        src_free(src);
    return ok;
}

static void check_models(void)
{
    glob_t gl;
    if (glob("models/*.net", 0, NULL, &gl) != 0) {
        fprintf(stderr, "FAIL: no models/*.net (run from the repository root)\n");
        failures++;
        return;
    }
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        char err[256];
        SrcFile *src = src_read(gl.gl_pathv[i], err, sizeof err);
        Program prog = { 0 };
        Graph g = { 0 };
        if (!src || parse_program(src, &prog) || elaborate(&prog, NULL, 0, &g)) {
            fprintf(stderr, "FAIL: %s does not elaborate\n", gl.gl_pathv[i]);
            failures++;
            continue;
        }
        double rt = 0, ri = 0;
        failures += !check_plan(&g, MODE_TRAIN, 100, gl.gl_pathv[i], &rt);
        failures += !check_plan(&g, MODE_INFER, 100, gl.gl_pathv[i], &ri);
        printf("%-32s arena/lower bound: train %.4f  infer %.4f\n", gl.gl_pathv[i], rt, ri);
        if (rt > 1.05 || ri > 1.02) {
            fprintf(stderr, "FAIL %s: ratio above target\n", gl.gl_pathv[i]);
            failures++;
        }
        graph_free(&g);
        free_tree(prog.model);
        free_tree(prog.blocks);
        src_free(src);
    }
    globfree(&gl);
}

typedef struct {
    int c, h, w;
} Dims;

/* Appends one random statement "vN = ..." to text, tracking the new value's dims. */
static void random_statement(rt_rng *r, char *text, size_t len, Dims *v, int *nv)
{
    int a = (int)rt_rng_below(r, (uint32_t)*nv);
    Dims d = v[a];
    char expr[256];
    int kind = (int)rt_rng_below(r, 12);
    int partner = -1;
    for (int t = 0; t < *nv && partner < 0 && kind >= 10; t++) {
        int b = (int)rt_rng_below(r, (uint32_t)*nv);
        if (v[b].h == d.h && v[b].w == d.w && (kind == 11 || v[b].c == d.c))
            partner = b;
    }
    if (kind >= 10 && partner < 0)
        kind = 0;
    int c2 = 1 + (int)rt_rng_below(r, 6);
    switch (kind) {
    case 0: snprintf(expr, sizeof expr, "v%d -> conv2d(%d, 3, pad = same)", a, c2); d.c = c2; break;
    case 1: snprintf(expr, sizeof expr, "v%d -> conv2d(%d, 1, bias = false)", a, c2); d.c = c2; break;
    case 2:
        if (d.h >= 2 && d.w >= 2) {
            snprintf(expr, sizeof expr, "v%d -> maxpool2d(2)", a);
            d.h /= 2;
            d.w /= 2;
        } else {
            snprintf(expr, sizeof expr, "v%d -> relu()", a);
        }
        break;
    case 3: snprintf(expr, sizeof expr, "v%d -> relu()", a); break;
    case 4: snprintf(expr, sizeof expr, "v%d -> batchnorm() -> tanh()", a); break;
    case 5: snprintf(expr, sizeof expr, "v%d -> dropout(0.3)", a); break;
    case 6: snprintf(expr, sizeof expr, "v%d -> dropout2d(0.2) -> sigmoid()", a); break;
    case 7: snprintf(expr, sizeof expr, "v%d -> pad(1)", a); d.h += 2; d.w += 2; break;
    case 8: snprintf(expr, sizeof expr, "v%d -> avgpool2d(3, stride = 1, pad = 1) -> elu()", a); break;
    case 9: snprintf(expr, sizeof expr, "v%d -> leaky_relu()", a); break;
    case 10: snprintf(expr, sizeof expr, "add(v%d, v%d)", a, partner); break;
    default: snprintf(expr, sizeof expr, "concat(v%d, v%d)", a, partner); d.c += v[partner].c; break;
    }
    size_t used = strlen(text);
    snprintf(text + used, len - used, "  v%d = %s\n", *nv, expr);
    v[(*nv)++] = d;
}

static void check_random_graphs(int count)
{
    rt_rng r;
    rt_rng_seed(&r, 2026, 11);
    size_t len = 1 << 16;
    char *text = malloc(len);
    int checked = 0;
    double worst_train = 1, worst_infer = 1;
    for (int t = 0; t < count; t++) {
        Dims v[64];
        int nv = 1;
        v[0] = (Dims){ 1 + (int)rt_rng_below(&r, 3), 2 + (int)rt_rng_below(&r, 9), 2 + (int)rt_rng_below(&r, 9) };
        snprintf(text, len, "model R%d {\n  input v0[%d, %d, %d]\n", t, v[0].c, v[0].h, v[0].w);
        int stmts = 1 + (int)rt_rng_below(&r, 40);
        for (int s = 0; s < stmts && nv < 60; s++)
            random_statement(&r, text, len, v, &nv);
        size_t used = strlen(text);
        snprintf(text + used, len - used, "  return v%d -> flatten() -> dense(%d) -> softmax()\n}\n", nv - 1,
                 2 + (int)rt_rng_below(&r, 5));
        Graph g = { 0 };
        FILE *sink = fopen("/dev/null", "w");
        diag_set_stream(sink);
        bool ok = build_graph("random.net", text, &g);
        diag_set_stream(NULL);
        fclose(sink);
        if (!ok) {
            fprintf(stderr, "FAIL: random graph %d does not elaborate:\n%s", t, text);
            failures++;
            continue;
        }
        int batch = 1 + (int)rt_rng_below(&r, 8);
        double rt = 0, ri = 0;
        bool good = check_plan(&g, MODE_TRAIN, batch, "random graph", &rt) &&
                    check_plan(&g, MODE_INFER, batch, "random graph", &ri);
        if (!good) {
            fprintf(stderr, "graph %d:\n%s", t, text);
            failures++;
        }
        worst_train = rt > worst_train ? rt : worst_train;
        worst_infer = ri > worst_infer ? ri : worst_infer;
        checked++;
        const SrcFile *src = g.node[0].loc.file;
        graph_free(&g);
        src_free((SrcFile *)src);
    }
    free(text);
    printf("%d random graphs planned without overlap; worst arena/lower bound: train %.4f, infer %.4f\n", checked,
           worst_train, worst_infer);
}

/* A plan of more buffers than PLACE_PORTFOLIO_MAX, of many sizes and overlapping lives
 * (residual stages, pooling, concat), goes through the O(n log n) sweep: it must verify
 * and stay near its lower bound.  Then the verifier itself must catch two buffers live
 * together at one offset. */
static void check_large_plan(void)
{
    static const char text[] = "model Big {\n  input x[2, 16, 16]\n  h = x\n  for i in 0..60 {\n"
                               "    a = h -> conv2d(2, 3, pad = same) -> relu()\n"
                               "    b = concat(a, h) -> conv2d(2, 1) -> batchnorm()\n"
                               "    h = add(b, h) -> maxpool2d(3, stride = 1, pad = 1) -> tanh()\n  }\n"
                               "  return h -> flatten() -> dense(10) -> softmax()\n}\n";
    Graph g = { 0 };
    if (!build_graph("big.net", text, &g)) {
        fprintf(stderr, "FAIL: the large plan's model does not elaborate\n");
        failures++;
        return;
    }
    double rt = 0;
    failures += !check_plan(&g, MODE_TRAIN, 8, "large plan", &rt);
    Plan *p = plan_build(&g, MODE_TRAIN, 8);
    int placed = 0, a = -1, b = -1;
    for (int i = 0; i < p->nbuf; i++) {
        const Buffer *x = &p->buf[i];
        if (!x->bytes || x->first < 0)
            continue;
        placed++;
        if (a < 0)
            a = i;
        else if (b < 0 && x->first <= p->buf[a].last && p->buf[a].first <= x->last)
            b = i;
    }
    printf("large plan: %d buffers placed by %s, arena/lower bound %.4f, planner work %lld\n", placed, p->strategy, rt,
           p->work);
    if (placed <= PLACE_PORTFOLIO_MAX || strcmp(p->strategy, "first-fit by start") || rt > 1.25) {
        fprintf(stderr, "FAIL: the large plan: %d buffers, %s, ratio %.4f\n", placed, p->strategy, rt);
        failures++;
    }
    char err[512] = "";
    if (b >= 0) {
        p->buf[b].offset = p->buf[a].offset;
        if (plan_verify(p, err, sizeof err) || !strstr(err, "overlap while both live")) {
            fprintf(stderr, "FAIL: plan_verify passes two live buffers at one offset (%s)\n", err);
            failures++;
        }
    }
    plan_free(p);
    const SrcFile *src = g.node[0].loc.file;
    graph_free(&g);
    src_free((SrcFile *)src);
}

int main(void)
{
    check_models();
    check_large_plan();
    check_random_graphs(1000);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
