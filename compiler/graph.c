/* graph.c — the graph IR: an array of nodes in creation order, which is also a
 * topological order (a node's inputs always exist before it). */
#include <stdlib.h>
#include "netc.h"

int graph_add(Graph *g, OpKind op, Loc loc)
{
    if (g->n >= MAX_NODES) {
        error_at(loc, "the graph has more than %d nodes", MAX_NODES);
        return -1;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->node = xrealloc(g->node, (size_t)g->cap * sizeof *g->node);
    }
    GNode *n = &g->node[g->n];
    *n = (GNode){ .op = op, .loc = loc, .site = loc };
    return g->n++;
}

void graph_free(Graph *g)
{
    for (int i = 0; i < g->n; i++)
        free(g->node[i].name);
    free(g->node);
    free(g->model_name);
    for (Setting *s = g->settings, *next; s; s = next) {
        next = s->next;
        free((char *)s->key);
        free(s->v.items);
        free(s);
    }
    *g = (Graph){ 0 };
}

long long node_params(const GNode *n, bool trainable)
{
    long long total = 0;
    for (int p = 0; p < n->nparam; p++)
        if (n->param[p].trainable == trainable)
            total += param_numel(&n->param[p]);
    return total;
}

long long graph_params(const Graph *g, bool trainable)
{
    long long total = 0;
    for (int i = 0; i < g->n; i++)
        total += node_params(&g->node[i], trainable);
    return total;
}

long long graph_flops(const Graph *g)
{
    long long total = 0;
    for (int i = 0; i < g->n; i++)
        if (op_table[g->node[i].op].rules->flops)
            total += op_table[g->node[i].op].rules->flops(g, &g->node[i]);
    return total;
}
