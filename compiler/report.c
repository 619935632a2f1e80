/* report.c — what `netc summary` and `netc dot` print about a checked graph.
 * The summary is a Keras-like table, one row per node in graph order, and ends with
 * the four total lines that tools and tests read. */
#include <stdlib.h>
#include <string.h>
#include "netc.h"

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

/* Memory a layer costs in training, from the train plan at the batch of the train
 * section: bytes its forward keeps for the backward (its output when a backward reads
 * it, argmax, masks, batch statistics), its gradient bytes (parameter gradients and
 * its output gradient), and its optimizer state. */
typedef struct {
    size_t saved, grad, opt;
} LayerBytes;

/* Every layer's bytes, indexed by node: one pass over the buffers, so O(n). */
static LayerBytes *layer_bytes(const Plan *p, int opt_copies)
{
    LayerBytes *lb = xcalloc((size_t)p->g->n + 1, sizeof *lb);
    int first_bwd = p->nstep;
    for (int s = 0; s < p->nstep && first_bwd == p->nstep; s++)
        if (p->step[s].kind == STEP_BWD)
            first_bwd = s;
    for (int b = 0; b < p->nbuf; b++) {
        const Buffer *x = &p->buf[b];
        if (x->node < 0 || !x->bytes || x->first < 0)
            continue;
        if ((x->kind == B_ACT || x->kind == B_AUX) && x->last >= first_bwd)
            lb[x->node].saved += x->bytes;
        if (x->kind == B_GRAD)
            lb[x->node].grad += x->bytes;
    }
    for (int i = 0; i < p->g->n; i++) {
        const GNode *n = &p->g->node[i];
        for (int k = 0; k < n->nparam; k++) {
            if (!n->param[k].trainable)
                continue;
            size_t bytes = (size_t)param_numel(&n->param[k]) * sizeof(float);
            lb[i].grad += bytes;
            lb[i].opt += bytes * (size_t)opt_copies;
        }
    }
    return lb;
}

/* Adam and AdamW keep two moments per parameter; SGD one buffer with momentum. */
static int optimizer_copies(const Graph *g)
{
    Value opt = setting_value(g, "optimizer");
    if (strcmp(opt.s, "sgd") != 0)
        return 2;
    return setting_value(g, "momentum").f > 0 ? 1 : 0;
}

void print_summary(FILE *out, const Graph *g)
{
    static const char rule[] = "================================================================================"
                               "===================";
    char shape[64], count[32], saved[32], grad[32], opt[32], label[160], inputs[256];
    int batch = (int)setting_value(g, "batch").i;
    Plan *p = plan_build(g, MODE_TRAIN, batch);
    LayerBytes *bytes = layer_bytes(p, optimizer_copies(g));
    fprintf(out, "Model: %s (training memory at batch %d)\n%s\n", g->model_name, batch, rule);
    fprintf(out, "%-30s %-16s %11s %13s %13s %12s  %s\n%s\n", "Layer (type)", "Output Shape", "Param #",
            "Saved bytes", "Grad bytes", "Opt bytes", "Inputs", rule);
    for (int i = 0; i < g->n; i++) {
        const GNode *n = &g->node[i];
        LayerBytes lb = bytes[i];
        snprintf(label, sizeof label, "%s (%s)", n->name, op_table[n->op].name);
        inputs_text(g, i, inputs, sizeof inputs);
        fprintf(out, "%-30s %-16s %11s %13s %13s %12s  %s\n", label, shape_str(&n->out, shape),
                commas(node_params(n, true), count), commas((long long)lb.saved, saved),
                commas((long long)lb.grad, grad), commas((long long)lb.opt, opt), inputs);
    }
    fprintf(out, "%s\n", rule);
    fprintf(out, "Training arena (activations, gradients, workspaces): %s bytes\n", commas((long long)p->arena, saved));
    plan_free(p);
    free(bytes);
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
                i == g->output ? ", style=bold" : i == g->input ? ", style=rounded" : "");
    }
    for (int i = 0; i < g->n; i++)
        for (int k = 0; k < g->node[i].nin; k++)
            fprintf(out, "  n%d -> n%d;\n", g->node[i].in[k], i);
    fprintf(out, "}\n");
}
