/* spans.c — a set of disjoint byte spans [lo, lo + len) ordered by lo, for the planner.
 *
 * A treap (a binary search tree on lo, a heap on random priorities, so its depth is
 * O(log n) expected) whose nodes also hold the longest span in their subtree.  That
 * one extra field answers "the lowest span at least this long" by a single descent,
 * which is first-fit over a free list in O(log n); the neighbours of an offset answer
 * "does this span overlap the ones already there".  Nodes live in one array and are
 * recycled through a free list; each node visited counts one unit of `work`, the
 * planner's measure of what it did (netc plan --stats). */
#include <stdlib.h>
#include "netc.h"

typedef struct {
    size_t lo, len, longest;   /* longest: the largest len in this node's subtree */
    int id;                    /* the caller's tag (a buffer index) */
    unsigned prio;
    int left, right;           /* node indices, -1: none */
} SpanNode;

struct SpanSet {
    SpanNode *node;
    int cap, root, free_list;
    unsigned rng;
    long long *work;
};

SpanSet *spans_new(long long *work)
{
    SpanSet *t = xcalloc(1, sizeof *t);
    *t = (SpanSet){ .root = -1, .free_list = -1, .rng = 0x9e3779b9u, .work = work };
    return t;
}

void spans_free(SpanSet *t)
{
    if (t)
        free(t->node);
    free(t);
}

static size_t longest_of(const SpanSet *t, int i) { return i < 0 ? 0 : t->node[i].longest; }

static void update_longest(SpanSet *t, int i)
{
    SpanNode *n = &t->node[i];
    size_t l = longest_of(t, n->left), r = longest_of(t, n->right);
    n->longest = n->len > l ? n->len : l;
    if (r > n->longest)
        n->longest = r;
    (*t->work)++;
}

static int new_span_node(SpanSet *t, size_t lo, size_t len, int id)
{
    int i = t->free_list;
    if (i >= 0) {
        t->free_list = t->node[i].left;
    } else {
        if (t->cap % 256 == 0)
            t->node = xrealloc(t->node, (size_t)(t->cap + 256) * sizeof *t->node);
        i = t->cap++;
    }
    t->rng ^= t->rng << 13;   /* xorshift32 */
    t->rng ^= t->rng >> 17;
    t->rng ^= t->rng << 5;
    t->node[i] = (SpanNode){ .lo = lo, .len = len, .longest = len, .id = id, .prio = t->rng, .left = -1, .right = -1 };
    return i;
}

/* Splits subtree i into the spans with lo < key (*a) and the rest (*b). */
static void split(SpanSet *t, int i, size_t key, int *a, int *b)
{
    if (i < 0) {
        *a = *b = -1;
        return;
    }
    if (t->node[i].lo < key) {
        split(t, t->node[i].right, key, &t->node[i].right, b);
        *a = i;
    } else {
        split(t, t->node[i].left, key, a, &t->node[i].left);
        *b = i;
    }
    update_longest(t, i);
}

/* Joins a and b, every span of a lying below every span of b. */
static int merge(SpanSet *t, int a, int b)
{
    if (a < 0 || b < 0)
        return a < 0 ? b : a;
    if (t->node[a].prio > t->node[b].prio) {
        t->node[a].right = merge(t, t->node[a].right, b);
        update_longest(t, a);
        return a;
    }
    t->node[b].left = merge(t, a, t->node[b].left);
    update_longest(t, b);
    return b;
}

void spans_insert(SpanSet *t, size_t lo, size_t len, int id)
{
    int node = new_span_node(t, lo, len, id), a, b;
    split(t, t->root, lo, &a, &b);
    t->root = merge(t, merge(t, a, node), b);
}

void spans_remove(SpanSet *t, size_t lo)
{
    int a, mid, b;
    split(t, t->root, lo, &a, &b);
    split(t, b, lo + 1, &mid, &b);
    if (mid >= 0) {   /* one node: the spans are disjoint, so at most one starts at lo */
        t->node[mid].left = t->free_list;
        t->free_list = mid;
    }
    t->root = merge(t, a, b);
}

static bool found(const SpanSet *t, int i, Span *out)
{
    if (i < 0)
        return false;
    *out = (Span){ t->node[i].lo, t->node[i].lo + t->node[i].len, t->node[i].id };
    return true;
}

bool spans_first_fit(const SpanSet *t, size_t len, Span *out)
{
    int i = t->root;
    if (longest_of(t, i) < len)
        return false;
    for (;;) {
        (*t->work)++;
        const SpanNode *n = &t->node[i];
        if (longest_of(t, n->left) >= len)
            i = n->left;
        else if (n->len >= len)
            return found(t, i, out);
        else
            i = n->right;
    }
}

bool spans_at_or_below(const SpanSet *t, size_t key, Span *out)
{
    int best = -1;
    for (int i = t->root; i >= 0;) {
        (*t->work)++;
        if (t->node[i].lo <= key) {
            best = i;
            i = t->node[i].right;
        } else {
            i = t->node[i].left;
        }
    }
    return found(t, best, out);
}

bool spans_at_or_above(const SpanSet *t, size_t key, Span *out)
{
    int best = -1;
    for (int i = t->root; i >= 0;) {
        (*t->work)++;
        if (t->node[i].lo >= key) {
            best = i;
            i = t->node[i].left;
        } else {
            i = t->node[i].right;
        }
    }
    return found(t, best, out);
}
