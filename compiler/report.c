/* report.c — what `netc summary` and `netc dot` print about a checked graph.
 * The summary is a Keras-like table, one row per node in graph order, and ends with
 * the four total lines that tools and tests read. */
#include <string.h>
#include "netc.h"

static long long node_params(const GNode *n, bool trainable)
{
    long long total = 0;
    for (int p = 0; p < n->nparam; p++)
        if (n->param[p].trainable == trainable)
            total += param_numel(&n->param[p]);
    return total;
}

/* The inputs column names a node's inputs unless it simply follows the row above. */
static void inputs_text(const Graph *g, int i, char *buf, size_t len)
{
    const GNode *n = &g->node[i];
    buf[0] = 0;
    if (n->nin == 1 && n->in[0] == i - 1)
        return;
    size_t used = 0;
    for (int k = 0; k < n->nin && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? ", " : "", g->node[n->in[k]].name);
}

void print_summary(FILE *out, const Graph *g)
{
    static const char rule[] = "===========================================================================";
    char shape[64], count[32], label[160], inputs[256];
    fprintf(out, "Model: %s\n%s\n", g->model_name, rule);
    fprintf(out, "%-34s %-18s %12s  %s\n%s\n", "Layer (type)", "Output Shape", "Param #", "Inputs", rule);
    for (int i = 0; i < g->n; i++) {
        const GNode *n = &g->node[i];
        snprintf(label, sizeof label, "%s (%s)", n->name, op_table[n->op].name);
        inputs_text(g, i, inputs, sizeof inputs);
        fprintf(out, "%-34s %-18s %12s  %s\n", label, shape_str(&n->out, shape),
                commas(node_params(n, true), count), inputs);
    }
    fprintf(out, "%s\n", rule);
    long long trainable = graph_params(g, true);
    fprintf(out, "Total params: %s\n", commas(trainable, count));
    fprintf(out, "Trainable params: %s\n", commas(trainable, count));
    fprintf(out, "Non-trainable state: %s\n", commas(graph_params(g, false), count));
    fprintf(out, "Forward FLOPs per sample: %s\n", commas(graph_flops(g), count));
}

/* Graphviz: one box per layer with its op and output shape, edges along the data. */
void print_dot(FILE *out, const Graph *g)
{
    char shape[64];
    fprintf(out, "digraph \"%s\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n", g->model_name);
    for (int i = 0; i < g->n; i++) {
        const GNode *n = &g->node[i];
        fprintf(out, "  n%d [label=\"%s\\n%s %s\"%s];\n", i, n->name, op_table[n->op].name, shape_str(&n->out, shape),
                i == g->output ? ", style=bold" : n->op == OP_INPUT ? ", style=rounded" : "");
    }
    for (int i = 0; i < g->n; i++)
        for (int k = 0; k < g->node[i].nin; k++)
            fprintf(out, "  n%d -> n%d;\n", g->node[i].in[k], i);
    fprintf(out, "}\n");
}
