/* onnx_export.c — netc export-onnx: a model and its trained weights as an ONNX file.
 *
 * The weights are read as export-c reads them (weights_read: the trainer's readers,
 * checked against the graph).  The ONNX graph is built as protobuf-c messages (the
 * C that protoc-c makes of compiler/onnx.proto) and packed once at the end.  The
 * exporter writes what every model has: the input [N, ...] with a dynamic batch "N",
 * the trained normalisation as Sub and Div nodes, and the closing Softmax on the
 * logits (the input of a final softmax, else the last value).  Between them each
 * layer is written by its op's onnx writer (OpRules.onnx, in the op's family file),
 * through the onnx_* calls below: values are named by strings, a layer's value by the
 * layer's name, its parameters as initialisers LAYER.SUFFIX in PyTorch's layout
 * (ONNX's, for Conv and Gemm with transB), so nothing is folded or repacked.
 *
 * Every message, string and fixed array the graph holds is recorded in OnnxCtx.owned
 * as it is allocated, and freed with the growing arrays once the file is written. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"
#include "onnx.pb-c.h"

enum { IR_VERSION = 8 };   /* the IR of opset 17 (ONNX 1.12) */

struct OnnxCtx {
    const Graph *g;
    const Weights *w;
    int node;                  /* the layer being written */
    const char **value;        /* per graph node: the name of its value */
    Onnx__GraphProto *graph;
    Onnx__NodeProto *last;     /* the node onnx_attr_* add to */
    void **owned;
    size_t nowned, cap;
};

/* ---- what the graph holds: everything recorded, freed at the end ---- */

static void *own(OnnxCtx *c, void *p)
{
    if (c->nowned == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->owned = xrealloc(c->owned, c->cap * sizeof *c->owned);
    }
    c->owned[c->nowned++] = p;
    return p;
}

static void *alloc(OnnxCtx *c, size_t n, size_t size)
{
    return own(c, xcalloc(n ? n : 1, size));
}

static char *own_str(OnnxCtx *c, const char *s)
{
    return own(c, xstrdup(s));
}

static char *own_printf(OnnxCtx *c, const char *a, const char *sep, const char *b)
{
    char *s = alloc(c, strlen(a) + strlen(sep) + strlen(b) + 1, 1);
    sprintf(s, "%s%s%s", a, sep, b);
    return s;
}

/* Appends item to the array *items of *n (a repeated field: the graph's nodes and
 * initialisers, a node's attributes), which free_repeated frees. */
static void push(void ***items, size_t *n, void *item)
{
    *items = xrealloc(*items, (*n + 1) * sizeof **items);
    (*items)[(*n)++] = item;
}

static void free_repeated(Onnx__GraphProto *graph)
{
    for (size_t i = 0; i < graph->n_node; i++)
        free(graph->node[i]->attribute);
    free(graph->node);
    free(graph->initializer);
}

/* ---- the onnx_* calls of the ops' writers (netc.h) ---- */

const GNode *onnx_node(OnnxCtx *c)
{
    return &c->g->node[c->node];
}

const Graph *onnx_graph(OnnxCtx *c)
{
    return c->g;
}

const char *onnx_in(OnnxCtx *c, int k)
{
    return c->value[onnx_node(c)->in[k]];
}

static Onnx__TensorProto *initializer(OnnxCtx *c, const char *name, int data_type, int rank, const int64_t *dims)
{
    Onnx__TensorProto *t = alloc(c, 1, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = own_str(c, name);
    t->has_data_type = true;
    t->data_type = data_type;
    t->n_dims = (size_t)rank;
    t->dims = alloc(c, (size_t)rank, sizeof *t->dims);
    memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
    push((void ***)&c->graph->initializer, &c->graph->n_initializer, t);
    return t;
}

/* A float initialiser of the given values, as raw little-endian bytes. */
static void float_initializer(OnnxCtx *c, const char *name, int rank, const int64_t *dims, const float *v)
{
    Onnx__TensorProto *t = initializer(c, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims);
    size_t numel = 1;
    for (int d = 0; d < rank; d++)
        numel *= (size_t)dims[d];
    uint8_t *bytes = alloc(c, numel, 4);
    for (size_t i = 0; i < numel; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        for (int b = 0; b < 4; b++)
            bytes[4 * i + (size_t)b] = (uint8_t)(bits >> (8 * b));
    }
    t->has_raw_data = true;
    t->raw_data = (ProtobufCBinaryData){ .len = 4 * numel, .data = bytes };
}

const char *onnx_param(OnnxCtx *c, const char *suffix)
{
    const GNode *n = onnx_node(c);
    for (int p = 0; p < n->nparam; p++) {
        const ParamInfo *pi = &n->param[p];
        if (strcmp(pi->suffix, suffix) != 0)
            continue;
        char *name = own_printf(c, n->name, ".", suffix);
        int64_t dims[4];
        for (int d = 0; d < pi->rank; d++)
            dims[d] = pi->d[d];
        float_initializer(c, name, pi->rank, dims, weights_tensor(c->g, c->w, c->node, suffix));
        return name;
    }
    return NULL;
}

const char *onnx_ints(OnnxCtx *c, const char *suffix, int n, const long long *v)
{
    char *name = own_printf(c, onnx_node(c)->name, "_", suffix);
    Onnx__TensorProto *t = initializer(c, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, (int64_t[]){ n });
    t->n_int64_data = (size_t)n;
    t->int64_data = alloc(c, (size_t)n, sizeof *t->int64_data);
    for (int i = 0; i < n; i++)
        t->int64_data[i] = v[i];
    return name;
}

const char *onnx_temp(OnnxCtx *c, const char *suffix)
{
    return own_printf(c, onnx_node(c)->name, "_", suffix);
}

/* A node op_type(in) -> out, named after its output (unique: the values are). */
static void add_node(OnnxCtx *c, const char *op_type, int nin, const char *const *in, const char *out)
{
    Onnx__NodeProto *n = alloc(c, 1, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = own_str(c, op_type);
    n->name = own_str(c, out);
    n->n_input = (size_t)nin;
    n->input = alloc(c, (size_t)nin, sizeof *n->input);
    for (int k = 0; k < nin; k++)
        n->input[k] = (char *)in[k];
    n->n_output = 1;
    n->output = alloc(c, 1, sizeof *n->output);
    n->output[0] = own_str(c, out);
    push((void ***)&c->graph->node, &c->graph->n_node, n);
    c->last = n;
}

void onnx_op(OnnxCtx *c, const char *op_type, int nin, const char *const *in, const char *out)
{
    add_node(c, op_type, nin, in, out ? out : c->value[c->node]);
}

static Onnx__AttributeProto *attribute(OnnxCtx *c, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = alloc(c, 1, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = own_str(c, name);
    a->has_type = true;
    a->type = type;
    push((void ***)&c->last->attribute, &c->last->n_attribute, a);
    return a;
}

void onnx_attr_int(OnnxCtx *c, const char *name, long long v)
{
    Onnx__AttributeProto *a = attribute(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = true;
    a->i = v;
}

void onnx_attr_float(OnnxCtx *c, const char *name, double v)
{
    Onnx__AttributeProto *a = attribute(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = true;
    a->f = (float)v;
}

void onnx_attr_ints(OnnxCtx *c, const char *name, int n, const long long *v)
{
    Onnx__AttributeProto *a = attribute(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)n;
    a->ints = alloc(c, (size_t)n, sizeof *a->ints);
    for (int i = 0; i < n; i++)
        a->ints[i] = v[i];
}

void onnx_alias(OnnxCtx *c, int k)
{
    c->value[c->node] = onnx_in(c, k);
}

/* ---- what every model has: input, normalisation, softmax ---- */

/* A float tensor's type [N, dims...], the batch dimension named "N". */
static Onnx__ValueInfoProto *value_info(OnnxCtx *c, const char *name, const Shape *s)
{
    Onnx__ValueInfoProto *v = alloc(c, 1, sizeof *v);
    Onnx__TypeProto *type = alloc(c, 1, sizeof *type);
    Onnx__TypeProto__Tensor *tensor = alloc(c, 1, sizeof *tensor);
    Onnx__TensorShapeProto *shape = alloc(c, 1, sizeof *shape);
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tensor);
    onnx__tensor_shape_proto__init(shape);
    v->name = own_str(c, name);
    v->type = type;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tensor;
    tensor->has_elem_type = true;
    tensor->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tensor->shape = shape;
    shape->n_dim = (size_t)s->rank + 1;
    shape->dim = alloc(c, shape->n_dim, sizeof *shape->dim);
    for (size_t d = 0; d < shape->n_dim; d++) {
        Onnx__TensorShapeProto__Dimension *dim = alloc(c, 1, sizeof *dim);
        onnx__tensor_shape_proto__dimension__init(dim);
        if (d == 0) {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim->dim_param = own_str(c, "N");
        } else {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim->dim_value = s->d[d - 1];
        }
        shape->dim[d] = dim;
    }
    return v;
}

/* (x - mean) / std as the trainer applies it, when it was trained with one: mean and
 * std of shape [C, 1, 1] over an image input, per element over a flat one (channel c of
 * element i is i / (features / C)), one value when every channel has the same. */
static void write_normalisation(OnnxCtx *c)
{
    float mean[8], std[8];
    int C = weights_normalisation(c->w, mean, std);
    if (!C)
        return;
    const Shape *in = &c->g->node[c->g->input].out;
    long long numel = in->rank == 3 || C == 1 ? C : shape_numel(in);
    float *m = alloc(c, (size_t)numel, sizeof *m), *s = alloc(c, (size_t)numel, sizeof *s);
    for (long long i = 0; i < numel; i++) {
        m[i] = mean[i / (numel / C)];
        s[i] = std[i / (numel / C)];
    }
    int rank = in->rank == 3 ? 3 : 1;
    int64_t dims[3] = { numel, 1, 1 };
    float_initializer(c, "norm_mean", rank, dims, m);
    float_initializer(c, "norm_std", rank, dims, s);
    const char *sub[2] = { c->value[c->g->input], "norm_mean" }, *div[2] = { "x_centred", "norm_std" };
    add_node(c, "Sub", 2, sub, "x_centred");
    add_node(c, "Div", 2, div, "x_normalised");
    c->value[c->g->input] = "x_normalised";
}

/* The closing Softmax on the logits: the input of a final softmax (folded into the
 * trainer's loss), else the last value. */
static void write_softmax(OnnxCtx *c)
{
    const GNode *out = &c->g->node[c->g->output];
    int logits = op_table[out->op].rules->flags & OPF_IN_LOSS ? out->in[0] : c->g->output;
    const char *in[1] = { c->value[logits] };
    add_node(c, "Softmax", 1, in, "probs");
    onnx_attr_int(c, "axis", 1);
}

/* Each layer through its op's writer; false (reported) when an op has none. */
static bool write_layers(OnnxCtx *c)
{
    bool ok = true;
    for (int i = 0; i < c->g->n; i++) {
        const GNode *n = &c->g->node[i];
        const OpRules *r = op_table[n->op].rules;
        if (r->flags & OPF_FOLDED)
            continue;   /* the input's value is set (normalised) and the final softmax's is unread */
        c->node = i;
        c->value[i] = n->name;
        if (!r->onnx) {
            error_at(n->loc, "export-onnx: op '%s' of layer '%s' has no ONNX form", op_table[n->op].name, n->name);
            ok = false;
        } else
            r->onnx(c);
    }
    return ok;
}

static bool write_file(const Onnx__ModelProto *model, const char *path)
{
    size_t len = onnx__model_proto__get_packed_size(model);
    uint8_t *buf = xcalloc(len + 1, 1);
    onnx__model_proto__pack(model, buf);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "netc: cannot write %s: %s\n", path, strerror(errno));
    free(buf);
    return ok;
}

int export_onnx(const Graph *g, const char *weights_path, const char *path)
{
    Weights *w = weights_read(g, weights_path);
    if (!w)
        return 1;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    OnnxCtx c = { .g = g, .w = w, .graph = &graph };
    c.value = alloc(&c, (size_t)g->n, sizeof *c.value);
    c.value[g->input] = g->node[g->input].name;
    graph.name = g->model_name;
    graph.n_input = graph.n_output = 1;
    graph.input = alloc(&c, 1, sizeof *graph.input);
    graph.output = alloc(&c, 1, sizeof *graph.output);
    graph.input[0] = value_info(&c, g->node[g->input].name, &g->node[g->input].out);
    graph.output[0] = value_info(&c, "probs", &g->node[g->output].out);
    write_normalisation(&c);
    bool ok = write_layers(&c);
    int rc = ok ? 0 : 1;
    if (ok) {
        write_softmax(&c);
        Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[1] = { &opset };
        opset.domain = "";
        opset.has_version = true;
        opset.version = ONNX_OPSET;
        Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
        model.has_ir_version = true;
        model.ir_version = IR_VERSION;
        model.n_opset_import = 1;
        model.opset_import = opsets;
        model.producer_name = "netc";
        model.graph = &graph;
        rc = write_file(&model, path) ? 0 : 2;
        if (rc == 0)
            fprintf(stderr, "netc: exported %s to %s (ONNX opset %d, %zu nodes, %zu initialisers)\n", g->model_name,
                    path, ONNX_OPSET, graph.n_node, graph.n_initializer);
    }
    free_repeated(&graph);
    for (size_t i = 0; i < c.nowned; i++)
        free(c.owned[i]);
    free(c.owned);
    weights_free(w);
    return rc;
}
