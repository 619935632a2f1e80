/* plan.c — from a checked graph to a scheduled program with every buffer placed.
 *
 * 1. Schedule.  Training runs the forward of every node in graph order, the loss
 *    (softmax cross-entropy on the logits, which also gives the probabilities), the
 *    backward of every node whose output needs a gradient in reverse order, and the
 *    optimizer.  Inference runs the forward and the loss step (probabilities only).
 *    A softmax node is folded into the loss step.
 * 2. Autodiff.  A node's output needs a gradient when the node has trainable
 *    parameters or any of its inputs needs one; each backward writes the gradients of
 *    exactly those inputs.  What a backward reads (its input, its output, the buffers
 *    its forward kept: argmax, mask, batch statistics) comes from the op table, so
 *    liveness keeps exactly that and nothing else alive until the backward.
 * 3. Liveness and in-place.  A buffer lives from the first step that touches it to
 *    the last.  An element-wise op whose input dies at its own step writes over that
 *    input (and its backward over the dying output gradient); views (flatten, dropout
 *    at inference) share their input's buffer.
 * 4. Placement.  Offsets are a packing problem: several greedy heuristics (orders by
 *    size, start, duration, conflicts; first-fit and best-fit), random restarts, and
 *    an exhaustive search for small plans run, and the smallest arena wins.  The lower
 *    bound is the most bytes live at any one step.  A plan of more than
 *    PLACE_PORTFOLIO_MAX buffers (far more than any model in models/) is placed by one
 *    heuristic, first-fit by start, as a sweep over a free list (spans.c): O(n log n).
 * Every pass is near-linear in the nodes: arrays grow by doubling, an in-place merge
 * is a forwarding link resolved as nodes are read, the lower bound a running sum, and
 * plan_verify a sweep. */
#include <stdlib.h>
#include <string.h>
#include "netc.h"

static size_t round_up(size_t x) { return (x + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN; }

/* Room for one more element of an array that grows by doubling. */
static void *grow(void *a, int n, int *cap, size_t size)
{
    if (n < *cap)
        return a;
    *cap = *cap ? 2 * *cap : 64;
    return xrealloc(a, (size_t)*cap * size);
}

static int new_buffer(Plan *p, BufKind kind, int node, const char *suffix, size_t bytes)
{
    p->buf = grow(p->buf, p->nbuf, &p->cap_buf, sizeof *p->buf);
    Buffer *b = &p->buf[p->nbuf];
    *b = (Buffer){ .kind = kind, .node = node, .bytes = round_up(bytes), .first = -1, .last = -1 };
    snprintf(b->name, sizeof b->name, "%s.%s", node >= 0 ? p->g->node[node].name : "loss", suffix);
    return p->nbuf++;
}

static void add_step(Plan *p, StepKind kind, int node)
{
    p->step = grow(p->step, p->nstep, &p->cap_step, sizeof *p->step);
    p->step[p->nstep++] = (Step){ kind, node };
}

static const OpRules *rules_of(const Plan *p, int node) { return op_table[p->g->node[node].op].rules; }

bool plan_is_view(const Plan *p, int node)
{
    unsigned f = rules_of(p, node)->flags;
    return (f & OPF_VIEW) || (p->mode != MODE_TRAIN && (f & OPF_VIEW_INFER));
}

static bool folded(const Plan *p, int node) { return rules_of(p, node)->flags & OPF_FOLDED; }

static void mark_requires_grad(Plan *p)
{
    const Graph *g = p->g;
    for (int i = 0; i < g->n && p->mode == MODE_TRAIN; i++) {
        const GNode *n = &g->node[i];
        bool req = false;
        for (int k = 0; k < n->nparam; k++)
            req |= n->param[k].trainable;
        for (int k = 0; k < n->nin; k++)
            req |= p->node[n->in[k]].requires_grad;
        p->node[i].requires_grad = req;
    }
}

static void make_schedule(Plan *p)
{
    const Graph *g = p->g;
    for (int i = 0; i < g->n; i++)
        if (!folded(p, i))
            add_step(p, STEP_FWD, i);
    add_step(p, STEP_LOSS, p->logits);
    if (p->mode != MODE_TRAIN)
        return;
    for (int i = g->n - 1; i >= 0; i--)
        if (!folded(p, i) && p->node[i].requires_grad)
            add_step(p, STEP_BWD, i);
    add_step(p, STEP_OPT, -1);
}

/* One buffer per output, kept-for-backward value, workspace and gradient. */
static void make_buffers(Plan *p)
{
    const Graph *g = p->g;
    for (int i = 0; i < g->n; i++) {
        const GNode *n = &g->node[i];
        if (folded(p, i))
            continue;
        const OpRules *k = rules_of(p, i);
        if (plan_is_view(p, i))
            p->node[i].out = p->node[n->in[0]].out;
        else
            p->node[i].out = new_buffer(p, B_ACT, i, "out", (size_t)shape_numel(&n->out) * p->batch * sizeof(float));
        if (k->aux && p->mode != MODE_EXPORT) {
            const char *names[MAX_AUX];
            size_t bytes[MAX_AUX];
            int na = k->aux(g, n, p->mode, p->batch, names, bytes);
            for (int a = 0; a < na; a++)
                p->node[i].aux[a] = new_buffer(p, B_AUX, i, names[a], bytes[a]);
        }
        size_t (*work_of)(const Graph *, const GNode *) = p->mode == MODE_EXPORT ? k->export_work : k->work;
        size_t work = work_of ? work_of(g, n) : 0;
        if (work) {
            p->node[i].work = new_buffer(p, B_WORK, i, "work", work);
            if (p->node[i].requires_grad)
                p->node[i].work_bwd = new_buffer(p, B_WORK, i, "work_bwd", work);
        }
        if (!p->node[i].requires_grad)
            continue;
        if (plan_is_view(p, i))
            p->node[i].grad = p->node[n->in[0]].grad;
        else
            p->node[i].grad = new_buffer(p, B_GRAD, i, "grad", (size_t)shape_numel(&n->out) * p->batch * sizeof(float));
    }
    const GNode *logits = &g->node[p->logits];
    p->probs = new_buffer(p, B_PROBS, -1, "probs", (size_t)shape_numel(&logits->out) * p->batch * sizeof(float));
    if (p->node[p->logits].out < 0) {
        /* The logits are the caller's input itself (a model without layers). */
        p->node[p->logits].out = -1;
    }
}

static void touch(Plan *p, int buf, int step)
{
    if (buf < 0)
        return;
    Buffer *b = &p->buf[buf];
    if (b->first < 0 || step < b->first)
        b->first = step;
    if (step > b->last)
        b->last = step;
}

/* Visits every buffer a step reads or writes. */
static void step_buffers(Plan *p, int s, void (*visit)(Plan *, int buf, int step))
{
    const Step *st = &p->step[s];
    const GNode *n = st->node >= 0 ? &p->g->node[st->node] : NULL;
    int i = st->node;
    switch (st->kind) {
    case STEP_FWD:
        if (plan_is_view(p, i))
            return;
        for (int k = 0; k < n->nin; k++)
            visit(p, p->node[n->in[k]].out, s);
        visit(p, p->node[i].out, s);
        for (int a = 0; a < MAX_AUX; a++)
            visit(p, p->node[i].aux[a], s);
        visit(p, p->node[i].work, s);
        return;
    case STEP_LOSS:
        visit(p, p->node[i].out, s);
        visit(p, p->probs, s);
        if (p->mode == MODE_TRAIN)
            visit(p, p->node[i].grad, s);
        return;
    case STEP_BWD: {
        if (plan_is_view(p, i))
            return;
        unsigned saves = rules_of(p, i)->saves;
        visit(p, p->node[i].grad, s);
        for (int k = 0; k < n->nin; k++) {
            if (saves & SAVES_INPUT)
                visit(p, p->node[n->in[k]].out, s);
            if (p->node[n->in[k]].requires_grad)
                visit(p, p->node[n->in[k]].grad, s);
        }
        if (saves & SAVES_OUTPUT)
            visit(p, p->node[i].out, s);
        for (int a = 0; a < MAX_AUX; a++)
            visit(p, p->node[i].aux[a], s);
        visit(p, p->node[i].work_bwd, s);
        return;
    }
    case STEP_OPT:
        return;
    }
}

static void compute_liveness(Plan *p)
{
    for (int b = 0; b < p->nbuf; b++)
        p->buf[b].first = p->buf[b].last = -1;
    for (int s = 0; s < p->nstep; s++)
        step_buffers(p, s, touch);
}

/* The buffer that b was merged into, following the chain of merges (and shortening it:
 * each buffer then points at the end of its chain). */
static int merged(int *into, int b)
{
    int root = b;
    while (root >= 0 && into[root] != root)
        root = into[root];
    while (b >= 0 && into[b] != root) {
        int next = into[b];
        into[b] = root;
        b = next;
    }
    return root;
}

/* A node's output and gradient buffers after the merges so far. */
static void resolve_node(Plan *p, int *into, int i)
{
    p->node[i].out = merged(into, p->node[i].out);
    p->node[i].grad = merged(into, p->node[i].grad);
}

/* Redirects every use of buffer `from` to `to` (through `into`, resolved as the nodes
 * are read) and frees `from`. */
static void merge_buffer(Plan *p, int *into, int from, int to)
{
    into[from] = to;
    Buffer *f = &p->buf[from], *t = &p->buf[to];
    if (f->last > t->last)
        t->last = f->last;
    f->bytes = 0;
    f->first = f->last = -1;
}

static bool can_share(const Plan *p, int a, int b)
{
    return a >= 0 && b >= 0 && a != b && p->buf[a].bytes == p->buf[b].bytes && p->buf[a].kind == p->buf[b].kind;
}

static void work_in_place(Plan *p)
{
    int *into = xcalloc((size_t)p->nbuf + 1, sizeof *into);
    for (int b = 0; b < p->nbuf; b++)
        into[b] = b;
    for (int s = 0; s < p->nstep; s++) {
        const Step *st = &p->step[s];
        if (st->kind != STEP_FWD && st->kind != STEP_BWD)
            continue;
        int i = st->node;
        const GNode *n = &p->g->node[i];
        unsigned flags = rules_of(p, i)->flags;
        if (plan_is_view(p, i))
            continue;
        resolve_node(p, into, i);
        if (n->nin > 0)
            resolve_node(p, into, n->in[0]);
        p->work++;
        bool inplace = (flags & OPF_INPLACE) || (p->mode == MODE_EXPORT && (flags & OPF_INPLACE_EXPORT));
        if (st->kind == STEP_FWD && inplace) {
            int in = p->node[n->in[0]].out, out = p->node[i].out;
            if (can_share(p, in, out) && p->buf[in].last == s)
                merge_buffer(p, into, out, in);
        }
        if (st->kind == STEP_BWD && (flags & OPF_INPLACE_BWD) && n->nin == 1 && p->node[n->in[0]].requires_grad) {
            int din = p->node[n->in[0]].grad, dout = p->node[i].grad;
            if (can_share(p, din, dout) && p->buf[din].first == s && p->buf[dout].last == s) {
                int last = p->buf[din].last;
                merge_buffer(p, into, din, dout);
                p->buf[dout].last = last;
            }
        }
    }
    for (int i = 0; i < p->g->n; i++)
        resolve_node(p, into, i);
    free(into);
}

size_t live_lower_bound(const Buffer *buf, int n)
{
    int steps = 0;
    for (int b = 0; b < n; b++)
        if (buf[b].last + 1 > steps)
            steps = buf[b].last + 1;
    /* The bytes each buffer adds at its first step and takes away after its last; the
     * running sum (modulo 2^64 on the way, exact at each step) is the bytes live. */
    size_t *change = xcalloc((size_t)steps + 1, sizeof *change);
    for (int b = 0; b < n; b++)
        if (buf[b].first >= 0) {
            change[buf[b].first] += buf[b].bytes;
            change[buf[b].last + 1] -= buf[b].bytes;
        }
    size_t best = 0, live = 0;
    for (int s = 0; s < steps; s++) {
        live += change[s];
        if (live > best)
            best = live;
    }
    free(change);
    return best;
}

/* ---- placement ---- */

static bool overlap_in_time(const Buffer *a, const Buffer *b) { return a->first <= b->last && b->first <= a->last; }

static int by_lo(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Places buffers in the given order; each goes into the first (or the tightest) gap
 * among the already placed buffers it shares a step with.  Returns the arena size. */
static size_t place_in_order(Buffer *buf, const int *order, int n, bool best_fit, Span *spans, long long *work)
{
    size_t arena = 0;
    for (int oi = 0; oi < n; oi++) {
        Buffer *b = &buf[order[oi]];
        int ns = 0;
        *work += oi + 1;
        for (int oj = 0; oj < oi; oj++) {
            const Buffer *c = &buf[order[oj]];
            if (c->bytes && overlap_in_time(b, c))
                spans[ns++] = (Span){ c->offset, c->offset + c->bytes, 0 };
        }
        qsort(spans, (size_t)ns, sizeof *spans, by_lo);
        size_t at = 0, best = 0, best_gap = 0;
        bool found = false;
        for (int k = 0; k <= ns; k++) {
            bool last = k == ns;   /* the unbounded space above every span */
            size_t gap = last ? 0 : spans[k].lo >= at ? spans[k].lo - at : 0;
            if (last || gap >= b->bytes) {
                if (!found || (best_fit && !last && gap < best_gap)) {
                    found = true;
                    best = at;
                    best_gap = gap;
                }
                if (!best_fit || last)
                    break;
            }
            if (k < ns && spans[k].hi > at)
                at = spans[k].hi;
        }
        b->offset = best;
        if (b->offset + b->bytes > arena)
            arena = b->offset + b->bytes;
    }
    return arena;
}

typedef struct {
    const Buffer *buf;
    double key;
    int index;
} Keyed;

static int by_key_desc(const void *a, const void *b)
{
    const Keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->index - y->index;
}

/* The portfolio's orders, then ORDER_END (by last step), the sweep's order of frees. */
typedef enum { ORDER_SIZE, ORDER_START, ORDER_DURATION, ORDER_AREA, ORDER_CONFLICT, NORDERS, ORDER_END = NORDERS } OrderKind;
static const char *const order_names[NORDERS] = { "size", "start", "duration", "size x duration", "conflicts" };

static void make_order(const Buffer *buf, int n, OrderKind kind, int *order)
{
    Keyed *k = xcalloc((size_t)n, sizeof *k);
    for (int i = 0; i < n; i++) {
        const Buffer *b = &buf[i];
        double dur = b->last - b->first + 1, key = 0;
        switch (kind) {
        case ORDER_SIZE: key = (double)b->bytes; break;
        case ORDER_START: key = -b->first; break;
        case ORDER_END: key = -b->last; break;
        case ORDER_DURATION: key = dur * 1e12 + (double)b->bytes; break;
        case ORDER_AREA: key = dur * (double)b->bytes; break;
        case ORDER_CONFLICT:
            for (int j = 0; j < n; j++)
                if (j != i && overlap_in_time(b, &buf[j]))
                    key += (double)buf[j].bytes;
            key += (double)b->bytes;
            break;
        default: break;
        }
        k[i] = (Keyed){ b, key, i };
    }
    qsort(k, (size_t)n, sizeof *k, by_key_desc);
    for (int i = 0; i < n; i++)
        order[i] = k[i].index;
    free(k);
}

static void save_offsets(const Buffer *buf, int n, size_t *off)
{
    for (int i = 0; i < n; i++)
        off[i] = buf[i].offset;
}

/* Tries every permutation (n small): the exact optimum among first-fit packings. */
static void permute(Buffer *buf, int *order, int k, int n, Span *spans, size_t *best, size_t *best_off,
                    long long *work)
{
    if (k == n) {
        size_t a = place_in_order(buf, order, n, false, spans, work);
        if (a < *best) {
            *best = a;
            save_offsets(buf, n, best_off);
        }
        return;
    }
    for (int i = k; i < n; i++) {
        int t = order[k];
        order[k] = order[i];
        order[i] = t;
        permute(buf, order, k + 1, n, spans, best, best_off, work);
        order[i] = order[k];
        order[k] = t;
    }
}

/* Returns buffer b's bytes to the free gaps, joined with the gaps just below and above. */
static void free_gap(SpanSet *gaps, const Buffer *b)
{
    size_t lo = b->offset, hi = b->offset + b->bytes;
    Span g;
    if (lo > 0 && spans_at_or_below(gaps, lo - 1, &g) && g.hi == lo) {
        spans_remove(gaps, g.lo);
        lo = g.lo;
    }
    if (spans_at_or_above(gaps, hi, &g) && g.lo == hi) {
        spans_remove(gaps, g.lo);
        hi = g.hi;
    }
    spans_insert(gaps, lo, hi - lo, -1);
}

/* First-fit by start in one sweep: the buffers in order of their first step (as
 * ORDER_START), each freed after its last step, each placed in the lowest free gap of
 * the arena that holds it -- the same offsets place_in_order gives that order, with the
 * free gaps in a SpanSet instead of a scan of every buffer placed: O(n log n). */
static size_t place_sweep(Buffer *buf, int n, long long *work)
{
    int *by_start = xcalloc((size_t)n + 1, sizeof *by_start), *by_end = xcalloc((size_t)n + 1, sizeof *by_end);
    make_order(buf, n, ORDER_START, by_start);
    make_order(buf, n, ORDER_END, by_end);
    SpanSet *gaps = spans_new(work);
    spans_insert(gaps, 0, SIZE_MAX, -1);   /* the unbounded space above everything */
    size_t arena = 0;
    for (int i = 0, freed = 0; i < n; i++) {
        Buffer *b = &buf[by_start[i]];
        for (; freed < n && buf[by_end[freed]].last < b->first; freed++)
            free_gap(gaps, &buf[by_end[freed]]);
        Span gap;
        spans_first_fit(gaps, b->bytes, &gap);   /* always found: the top gap is unbounded */
        spans_remove(gaps, gap.lo);
        if (gap.hi - gap.lo > b->bytes)
            spans_insert(gaps, gap.lo + b->bytes, gap.hi - gap.lo - b->bytes, -1);
        b->offset = gap.lo;
        if (b->offset + b->bytes > arena)
            arena = b->offset + b->bytes;
    }
    spans_free(gaps);
    free(by_start);
    free(by_end);
    return arena;
}

/* Every heuristic order, first- and best-fit, then random restarts or (n small) every
 * permutation: the smallest arena.  Returns it; the offsets are left in best_off. */
static size_t place_portfolio(Buffer *buf, int n, size_t lower, size_t *best_off, char name[64], long long *work)
{
    int *order = xcalloc((size_t)n + 1, sizeof *order);
    Span *spans = xcalloc((size_t)n + 1, sizeof *spans);
    size_t best = (size_t)-1;
    for (int o = 0; o < NORDERS; o++) {
        make_order(buf, n, (OrderKind)o, order);
        for (int fit = 0; fit < 2; fit++) {
            size_t a = place_in_order(buf, order, n, fit, spans, work);
            if (a < best) {
                best = a;
                save_offsets(buf, n, best_off);
                snprintf(name, 64, "%s by %s", fit ? "best-fit" : "first-fit", order_names[o]);
            }
        }
    }
    if (n <= 7) {
        for (int i = 0; i < n; i++)
            order[i] = i;
        size_t before = best;
        permute(buf, order, 0, n, spans, &best, best_off, work);
        if (best < before)
            snprintf(name, 64, "exhaustive search");
    } else if (best > lower) {
        /* Random restarts: perturb the size order, keep improvements. */
        uint64_t state = 0x9e3779b97f4a7c15ULL;
        int tries = n <= 200 ? 300 : 30;
        for (int t = 0; t < tries && best > lower; t++) {
            make_order(buf, n, (OrderKind)(t % NORDERS), order);
            for (int i = n - 1; i > 0; i--) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if (state % 4 == 0) {
                    int j = (int)(state % (uint64_t)(i + 1));
                    int tmp = order[i];
                    order[i] = order[j];
                    order[j] = tmp;
                }
            }
            size_t a = place_in_order(buf, order, n, t & 1, spans, work);
            if (a < best) {
                best = a;
                save_offsets(buf, n, best_off);
                snprintf(name, 64, "randomised %s", (t & 1) ? "best-fit" : "first-fit");
            }
        }
    }
    free(order);
    free(spans);
    return best;
}

size_t place_buffers(Buffer *all, int nall, char strategy[64], long long *work)
{
    /* Only buffers with bytes take part; the rest sit at offset 0. */
    int n = 0;
    int *idx = xcalloc((size_t)nall + 1, sizeof *idx);
    for (int i = 0; i < nall; i++) {
        all[i].offset = 0;
        if (all[i].bytes && all[i].first >= 0)
            idx[n++] = i;
    }
    Buffer *buf = xcalloc((size_t)n + 1, sizeof *buf);
    for (int i = 0; i < n; i++)
        buf[i] = all[idx[i]];
    size_t *best_off = xcalloc((size_t)n + 1, sizeof *best_off);
    size_t best = 0;
    char name[64] = "empty";
    if (n > PLACE_PORTFOLIO_MAX) {
        best = place_sweep(buf, n, work);
        save_offsets(buf, n, best_off);
        snprintf(name, sizeof name, "first-fit by start");
    } else if (n > 0) {
        best = place_portfolio(buf, n, live_lower_bound(buf, n), best_off, name, work);
    }
    for (int i = 0; i < n; i++)
        all[idx[i]].offset = best_off[i];
    free(idx);
    free(buf);
    free(best_off);
    if (strategy)
        memcpy(strategy, name, sizeof name);
    return best;
}

Plan *plan_build(const Graph *g, Mode mode, int batch)
{
    Plan *p = xcalloc(1, sizeof *p);
    p->g = g;
    p->mode = mode;
    p->batch = batch;
    int n = g->n;
    p->node = xcalloc((size_t)n, sizeof *p->node);
    for (int i = 0; i < n; i++) {
        p->node[i] = (NodePlan){ .out = -1, .grad = -1, .work = -1, .work_bwd = -1 };
        for (int a = 0; a < MAX_AUX; a++)
            p->node[i].aux[a] = -1;
    }
    const GNode *out = &g->node[g->output];
    p->logits = rules_of(p, g->output)->flags & OPF_IN_LOSS ? out->in[0] : g->output;
    mark_requires_grad(p);
    make_schedule(p);
    make_buffers(p);
    compute_liveness(p);
    work_in_place(p);
    for (int b = 0; b < p->nbuf; b++)
        p->no_reuse += p->buf[b].bytes;
    p->lower_bound = live_lower_bound(p->buf, p->nbuf);
    p->arena = place_buffers(p->buf, p->nbuf, p->strategy, &p->work);
    return p;
}

void plan_free(Plan *p)
{
    if (!p)
        return;
    free(p->step);
    free(p->buf);
    free(p->node);
    free(p);
}

/* The overlap of buffers a and b, named in index order, into err. */
static bool overlap_error(const Plan *p, int a, int b, char *err, size_t len)
{
    const Buffer *x = &p->buf[a < b ? a : b], *y = &p->buf[a < b ? b : a];
    snprintf(err, len, "%s [%zu, +%zu) and %s [%zu, +%zu) overlap while both live", x->name, x->offset, x->bytes,
             y->name, y->offset, y->bytes);
    return false;
}

/* A sweep over the steps: the buffers live at each step as spans of the arena, each
 * checked against its neighbours in offset order as it comes alive.  O(n log n). */
bool plan_verify(const Plan *p, char *err, size_t len)
{
    int *by_start = xcalloc((size_t)p->nbuf + 1, sizeof *by_start), *by_end = xcalloc((size_t)p->nbuf + 1, sizeof *by_end);
    make_order(p->buf, p->nbuf, ORDER_START, by_start);
    make_order(p->buf, p->nbuf, ORDER_END, by_end);
    long long work = 0;
    SpanSet *live = spans_new(&work);
    bool ok = true;
    for (int i = 0, freed = 0; i < p->nbuf && ok; i++) {
        int a = by_start[i];
        const Buffer *x = &p->buf[a];
        if (!x->bytes || x->first < 0)
            continue;
        if (x->offset % ARENA_ALIGN || x->offset + x->bytes > p->arena) {
            snprintf(err, len, "%s is misaligned or outside the arena", x->name);
            ok = false;
            break;
        }
        for (; freed < p->nbuf && p->buf[by_end[freed]].last < x->first; freed++)
            if (p->buf[by_end[freed]].bytes && p->buf[by_end[freed]].first >= 0)
                spans_remove(live, p->buf[by_end[freed]].offset);
        Span below, above;
        if (spans_at_or_below(live, x->offset, &below) && below.hi > x->offset)
            ok = overlap_error(p, a, below.id, err, len);
        else if (spans_at_or_above(live, x->offset, &above) && above.lo < x->offset + x->bytes)
            ok = overlap_error(p, a, above.id, err, len);
        else
            spans_insert(live, x->offset, x->bytes, a);
    }
    spans_free(live);
    free(by_start);
    free(by_end);
    return ok;
}

static const char *step_text(const Plan *p, int s, char *buf, size_t len)
{
    static const char *const kinds[] = { "fwd", "loss", "bwd", "opt" };
    const Step *st = &p->step[s];
    snprintf(buf, len, "%s %s", kinds[st->kind], st->node >= 0 && st->kind != STEP_LOSS ? p->g->node[st->node].name : "");
    return buf;
}

void print_plan(FILE *out, const Plan *p)
{
    char a[32], b[32], c[32], s1[128], s2[128];
    fprintf(out, "Plan: %s, %s mode, batch %d, %d steps, placement: %s\n", p->g->model_name,
            (const char *[]){ "train", "infer", "export" }[p->mode], p->batch, p->nstep, p->strategy);
    fprintf(out, "%-36s %14s  %-44s %14s\n", "Buffer", "Bytes", "Live range (steps)", "Offset");
    for (int i = 0; i < p->nbuf; i++) {
        const Buffer *x = &p->buf[i];
        if (!x->bytes || x->first < 0)
            continue;
        char range[160];
        snprintf(range, sizeof range, "%d-%d (%s .. %s)", x->first, x->last, step_text(p, x->first, s1, sizeof s1),
                 step_text(p, x->last, s2, sizeof s2));
        fprintf(out, "%-36s %14s  %-44s %14s\n", x->name, commas((long long)x->bytes, a), range,
                commas((long long)x->offset, b));
    }
    fprintf(out, "Arena bytes: %s\n", commas((long long)p->arena, a));
    fprintf(out, "No-reuse bytes: %s\n", commas((long long)p->no_reuse, b));
    fprintf(out, "Lower bound bytes: %s\n", commas((long long)p->lower_bound, c));
}
