/* onnx_import.c — netc import: an ONNX classifier made of netc's ops as a .net file, and
 * its weights as an .npz that a trainer's `train --init-from` reads.
 *
 * The file is parsed by protobuf-c (compiler/onnx.proto); a file that does not parse
 * is refused as a whole.  The graph's nodes are then read in their (topological) order,
 * each by the reader of its op type (the table `readers`), which checks what netc can
 * express (square kernels, one stride, symmetric or `same` padding, the channel axis,
 * no dilation or groups, ...) and turns the node into a layer: a netc call, its input
 * values, its tensors in PyTorch's layout, named LAYER.SUFFIX.  Some nodes make no
 * layer: Dropout and Identity (the value is their input's), Constant (a tensor, as the
 * initialisers are), a Flatten or Reshape of a value already flat, MatMul + Add (one
 * dense layer), and Sub/Div of constants right on the input: the normalisation, which
 * becomes the train section's mean and std.  Anything else is refused, naming the node
 * and its op type.  Shapes are netc's (the batch left out); GlobalAveragePool's
 * [N, C, 1, 1] is netc's [C], which a following Flatten leaves as it is.
 *
 * The .net text: one statement per chain of layers, each layer reading the one before
 * it (`h = x -> conv2d(...) -> relu()`), a variable where a value is read more than
 * once, `return` on the last chain, a softmax() added when the graph ends on logits.
 * Every layer keeps its ONNX node's name (sanitised), so the .npz's names are its own.
 * import_onnx then elaborates the text as netc would and checks its tensors against the
 * .npz's before writing either file, so what is written builds. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"
#include "onnx.pb-c.h"
#include "../runtime/netc_rt.h"

#define ONNX_MAX_BYTES ((size_t)1 << 31)   /* protobuf's own limit on a message */
#define MAX_LAYER_TENSORS 4

typedef struct {
    const char *onnx;                  /* the ONNX value's name */
    const Onnx__TensorProto *constant; /* an initialiser's or a Constant's tensor; else a graph value */
    Shape shape;                       /* a graph value's shape, netc's (rank 1 or 3) */
    int layer;                         /* the layer that makes it; -1: the input */
    int norm;                          /* 1: the input minus a constant, 2: that divided by one */
    const char *var;                   /* the .net variable holding it, once written (im->vars') */
} Val;

typedef struct {
    const char *suffix;
    float *data;
    int rank;
    size_t shape[4];
} LayerTensor;

typedef struct {
    char *name;                        /* the layer's name: the node's, sanitised and unique */
    char call[192];                    /* "conv2d(16, 5, pad = 2", closed when written */
    bool bias_pending;                 /* a MatMul's dense, whose bias an Add may bring */
    bool softmax;                      /* the classifier's softmax() */
    int in[MAX_INPUTS], nin;
    int out;                           /* its value */
    LayerTensor t[MAX_LAYER_TENSORS];
    int nt;
} Layer;

typedef struct {
    char **key;
    int *val;
    size_t cap, n;
} NameMap;

typedef struct {
    const char *file;                  /* for messages */
    Onnx__ModelProto *model;
    Val *val;
    int nval, capval;
    Layer *layer;
    int nlayer, caplayer;
    NameMap values;                    /* ONNX value name -> index into val */
    NameMap uses;                      /* ONNX value name -> how many nodes read it */
    NameMap names;                     /* layer names taken -> 1 */
    NameMap vars;                      /* .net variables taken -> 1 */
    int input;                         /* the model's input value */
    int norm;                          /* channels of the normalisation found (0: none) */
    float mean[8], std[8];
    char err[640];
} Importer;

/* ---- a small hash map of names (values, uses, names taken) ---- */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static size_t map_slot(const NameMap *m, const char *key)
{
    size_t i = (size_t)hash_name(key) & (m->cap - 1);
    while (m->key[i] && strcmp(m->key[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int *map_get(const NameMap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t i = map_slot(m, key);
    return m->key[i] ? &m->val[i] : NULL;
}

static void map_put(NameMap *m, const char *key, int v)
{
    if (2 * (m->n + 1) > m->cap) {
        NameMap grown = { .cap = m->cap ? 2 * m->cap : 64 };
        grown.key = xcalloc(grown.cap, sizeof *grown.key);
        grown.val = xcalloc(grown.cap, sizeof *grown.val);
        for (size_t i = 0; i < m->cap; i++)
            if (m->key[i]) {
                size_t j = map_slot(&grown, m->key[i]);
                grown.key[j] = m->key[i];
                grown.val[j] = m->val[i];
                grown.n++;
            }
        free(m->key);
        free(m->val);
        *m = grown;
    }
    size_t i = map_slot(m, key);
    if (!m->key[i]) {
        m->key[i] = xstrdup(key);
        m->n++;
    }
    m->val[i] = v;
}

/* The map's own copy of key (which must be in it). */
static const char *map_key(const NameMap *m, const char *key)
{
    return m->key[map_slot(m, key)];
}

static void map_free(NameMap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->key[i]);
    free(m->key);
    free(m->val);
}

/* ---- messages ---- */

static const char *node_name(const Onnx__NodeProto *n)
{
    return n->name && n->name[0] ? n->name : n->n_output && n->output[0][0] ? n->output[0] : "(unnamed)";
}

/* Fails the import: "FILE: node 'NAME' (OP): message". */
static bool fail_node(Importer *im, const Onnx__NodeProto *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail_node(Importer *im, const Onnx__NodeProto *n, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(im->err, sizeof im->err, "%s: node '%s' (%s): %s", im->file, node_name(n),
             n->op_type ? n->op_type : "no op type", msg);
    return false;
}

static bool fail(Importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(Importer *im, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(im->err, sizeof im->err, "%s: %s", im->file, msg);
    return false;
}

/* ---- values ---- */

static int value_add(Importer *im, const char *name, const Onnx__TensorProto *constant, const Shape *shape, int layer)
{
    if (im->nval == im->capval) {
        im->capval = im->capval ? 2 * im->capval : 64;
        im->val = xrealloc(im->val, (size_t)im->capval * sizeof *im->val);
    }
    Val *v = &im->val[im->nval];
    *v = (Val){ .onnx = name, .constant = constant, .layer = layer };
    if (shape)
        v->shape = *shape;
    map_put(&im->values, name, im->nval);
    return im->nval++;
}

static int uses_of(const Importer *im, const char *name)
{
    const int *u = map_get(&im->uses, name);
    return u ? *u : 0;
}

/* Input k of node n as a graph value (-1, failed, when it is missing or a constant). */
static int tensor_in(Importer *im, const Onnx__NodeProto *n, size_t k)
{
    const int *v = k < n->n_input && n->input[k][0] ? map_get(&im->values, n->input[k]) : NULL;
    if (!v) {
        fail_node(im, n, "input %zu %s", k + 1, k < n->n_input && n->input[k][0] ? "is not made by any earlier node" : "is missing");
        return -1;
    }
    if (im->val[*v].constant) {
        fail_node(im, n, "input %zu ('%s') is a constant, where netc needs a computed value", k + 1, n->input[k]);
        return -1;
    }
    return *v;
}

/* Input k as a constant (NULL when absent; failed when it is a computed value). */
static const Onnx__TensorProto *const_in(Importer *im, const Onnx__NodeProto *n, size_t k, bool *ok)
{
    if (k >= n->n_input || !n->input[k][0])
        return NULL;
    const int *v = map_get(&im->values, n->input[k]);
    if (!v || !im->val[*v].constant) {
        *ok = fail_node(im, n, "input %zu ('%s') must be a constant (an initialiser), as netc's weights are", k + 1,
                        n->input[k]);
        return NULL;
    }
    return im->val[*v].constant;
}

/* The node's output 0 names value v (no layer: Dropout, Identity, a flat Flatten). */
static void alias(Importer *im, const Onnx__NodeProto *n, int v)
{
    Val copy = im->val[v];
    int a = value_add(im, n->output[0], NULL, &copy.shape, copy.layer);
    im->val[a].norm = copy.norm;
}

/* ---- tensors ---- */

static long long tensor_numel(const Onnx__TensorProto *t)
{
    long long numel = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || t->dims[d] > MAX_DIM || (t->dims[d] && numel > MAX_DIM / t->dims[d]))
            return -1;
        numel *= t->dims[d];
    }
    return numel;
}

/* The values of float tensor t, of numel elements (failed and NULL unless it has them). */
static float *tensor_floats(Importer *im, const Onnx__NodeProto *n, const Onnx__TensorProto *t, long long numel)
{
    const char *name = t->name ? t->name : "";
    if (t->has_data_location && t->data_location == 1) {
        fail_node(im, n, "tensor '%s' is stored in an external file, which netc import does not read", name);
        return NULL;
    }
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        fail_node(im, n, "tensor '%s' is of ONNX data type %d, not float32", name, t->data_type);
        return NULL;
    }
    if (tensor_numel(t) != numel) {
        fail_node(im, n, "tensor '%s' has %lld values, expected %lld", name, tensor_numel(t), numel);
        return NULL;
    }
    bool raw = t->has_raw_data && t->raw_data.len == (size_t)numel * 4;
    if (!raw && (t->has_raw_data || t->n_float_data != (size_t)numel)) {
        fail_node(im, n, "tensor '%s' does not hold its %lld float32 values", name, numel);
        return NULL;
    }
    float *v = xcalloc((size_t)numel + 1, sizeof *v);
    if (raw) {
        for (long long i = 0; i < numel; i++) {
            const uint8_t *b = t->raw_data.data + 4 * i;
            uint32_t bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&v[i], &bits, 4);
        }
    } else
        memcpy(v, t->float_data, (size_t)numel * sizeof *v);
    return v;
}

/* The values of an int64 tensor of at most cap elements; their count, or -1 (failed). */
static int tensor_ints(Importer *im, const Onnx__NodeProto *n, const Onnx__TensorProto *t, long long *out, int cap)
{
    long long numel = tensor_numel(t);
    const char *name = t->name ? t->name : "";
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || numel < 0 || numel > cap) {
        fail_node(im, n, "tensor '%s' must be int64 of at most %d values", name, cap);
        return -1;
    }
    if (t->has_raw_data && t->raw_data.len == (size_t)numel * 8) {
        for (long long i = 0; i < numel; i++) {
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--)
                u = u << 8 | t->raw_data.data[8 * i + b];
            out[i] = (long long)u;
        }
    } else if (!t->has_raw_data && t->n_int64_data == (size_t)numel) {
        for (long long i = 0; i < numel; i++)
            out[i] = t->int64_data[i];
    } else {
        fail_node(im, n, "tensor '%s' does not hold its %lld int64 values", name, numel);
        return -1;
    }
    return (int)numel;
}

/* ---- attributes ---- */

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

static long long attr_i(const Onnx__NodeProto *n, const char *name, long long def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_i ? a->i : def;
}

static double attr_f(const Onnx__NodeProto *n, const char *name, double def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_f ? a->f : def;
}

/* A string attribute compared with `want`; an absent one is `def`. */
static bool attr_s_is(const Onnx__NodeProto *n, const char *name, const char *def, const char *want)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a || !a->has_s)
        return strcmp(def, want) == 0;
    return a->s.len == strlen(want) && memcmp(a->s.data, want, a->s.len) == 0;
}

/* An ints attribute of exactly count values into out (absent: def for each); false if
 * it has another count. */
static bool attr_ints(const Onnx__NodeProto *n, const char *name, int count, long long def, long long *out)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (a && a->n_ints != (size_t)count)
        return false;
    for (int i = 0; i < count; i++)
        out[i] = a ? a->ints[i] : def;
    return true;
}

/* ---- layers ---- */

/* Whether PyTorch's path segment at p ("features/") is repeated by the next one
 * ("features.0/"), as a module's name is by its children's. */
static bool repeated_segment(const char *p)
{
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : 0;
    return len && strncmp(end + 1, p, len) == 0 && end[1 + len] == '.';
}

/* The layer name of node n: its name (else its output's) without a leading '/' or a
 * path segment its next repeats ("/features/features.0/Conv": "features_0_Conv"), other
 * characters than letters, digits, '_' and '-' as '_', at most 63, made unique. */
static char *layer_name(Importer *im, const Onnx__NodeProto *n)
{
    const char *src = node_name(n);
    char base[64];
    size_t j = 0;
    for (const char *p = src; *p && j < 56; p++) {
        if ((p == src || p[-1] == '/') && repeated_segment(p)) {
            p = strchr(p, '/');
            continue;
        }
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-';
        if (!ok && (j == 0 || base[j - 1] == '_'))
            continue;   /* no leading or doubled '_' from "/", "." */
        base[j++] = ok ? ch : '_';
    }
    while (j > 0 && base[j - 1] == '_')
        j--;
    base[j] = 0;
    if (!j)
        snprintf(base, sizeof base, "layer");
    char name[72];   /* base is at most 56 characters, so a suffix keeps it within 63 */
    snprintf(name, sizeof name, "%s", base);
    for (int k = 2; map_get(&im->names, name); k++)
        snprintf(name, sizeof name, "%.56s_%d", base, k % 100000);
    map_put(&im->names, name, 1);
    return xstrdup(name);
}

/* A new layer of node n reading value `in` (or none: -1), its call begun by fmt. */
static Layer *layer_add(Importer *im, const Onnx__NodeProto *n, int in, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static Layer *layer_add(Importer *im, const Onnx__NodeProto *n, int in, const char *fmt, ...)
{
    if (im->nlayer == im->caplayer) {
        im->caplayer = im->caplayer ? 2 * im->caplayer : 32;
        im->layer = xrealloc(im->layer, (size_t)im->caplayer * sizeof *im->layer);
    }
    Layer *l = &im->layer[im->nlayer++];
    memset(l, 0, sizeof *l);
    l->name = layer_name(im, n);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->call, sizeof l->call, fmt, ap);
    va_end(ap);
    if (in >= 0)
        l->in[l->nin++] = in;
    l->out = -1;
    return l;
}

/* Appends ", text" to the layer's call. */
static void call_arg(Layer *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void call_arg(Layer *l, const char *fmt, ...)
{
    size_t used = strlen(l->call);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->call + used, sizeof l->call - used, fmt, ap);
    va_end(ap);
}

/* The layer's output: node n's output 0, of shape s. */
static void layer_out(Importer *im, Layer *l, const Onnx__NodeProto *n, Shape s)
{
    l->out = value_add(im, n->output[0], NULL, &s, (int)(l - im->layer));
}

static void layer_tensor(Layer *l, const char *suffix, float *data, int rank, const long long *d)
{
    LayerTensor *t = &l->t[l->nt++];
    t->suffix = suffix;
    t->data = data;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->shape[i] = (size_t)d[i];
}

/* Constant input k of n as the layer's tensor `suffix` of the given shape; absent when
 * optional.  False (failed) when it is missing, computed, or of another size. */
static bool take_tensor(Importer *im, Layer *l, const Onnx__NodeProto *n, size_t k, const char *suffix, int rank,
                        const long long *d, bool optional)
{
    bool ok = true;
    const Onnx__TensorProto *t = const_in(im, n, k, &ok);
    if (!ok)
        return false;
    if (!t)
        return optional || fail_node(im, n, "input %zu ('%s') is missing", k + 1, suffix);
    long long numel = 1;
    for (int i = 0; i < rank; i++)
        numel = d[i] < 0 || d[i] > MAX_DIM || numel > MAX_DIM ? MAX_DIM + 1 : numel * d[i];
    float *v = tensor_floats(im, n, t, numel);
    if (v)
        layer_tensor(l, suffix, v, rank, d);
    return v != NULL;
}

/* Input 0 as a value of the given rank (1: [N, F]; 3: [N, C, H, W]). */
static int in_of_rank(Importer *im, const Onnx__NodeProto *n, int rank)
{
    int v = tensor_in(im, n, 0);
    if (v >= 0 && im->val[v].shape.rank != rank) {
        char buf[64];
        fail_node(im, n, "its input has netc's shape %s (without the batch); netc's op needs %s",
                  shape_str(&im->val[v].shape, buf), rank == 3 ? "[C, H, W]" : "[features]");
        return -1;
    }
    return v;
}

/* Input 0 as a value (of that rank; 0: any) and input 1 as a constant, which may be
 * absent (*c NULL); false (failed) otherwise. */
static bool value_and_const(Importer *im, const Onnx__NodeProto *n, int rank, int *x, const Onnx__TensorProto **c)
{
    *x = rank ? in_of_rank(im, n, rank) : tensor_in(im, n, 0);
    bool ok = *x >= 0;
    *c = ok ? const_in(im, n, 1, &ok) : NULL;
    return ok;
}

/* ---- the readers, one per ONNX op type ---- */

/* A window's geometry: square kernel k, one stride s, pads top, left, bottom, right
 * (auto_pad resolved), no dilation, floor mode. */
typedef struct {
    long long k, s, pad[4];
} Window;

/* Keras's `same` pads of w's kernel and stride over in, as conv_padding's: the odd
 * pixel after. */
static void same_pads(const Shape *in, Window *w)
{
    for (int axis = 0; axis < 2; axis++) {
        long long size = in->d[1 + axis], total = ((size + w->s - 1) / w->s - 1) * w->s + w->k - size;
        total = total < 0 ? 0 : total;
        w->pad[axis] = total / 2;
        w->pad[2 + axis] = total - total / 2;
    }
}

static bool read_window(Importer *im, const Onnx__NodeProto *n, const Shape *in, long long kernel, Window *w)
{
    long long ks[2], st[2], dil[2], pads[4];
    if (!attr_ints(n, "kernel_shape", 2, kernel, ks) || !attr_ints(n, "strides", 2, 1, st) ||
        !attr_ints(n, "dilations", 2, 1, dil) || !attr_ints(n, "pads", 4, 0, pads))
        return fail_node(im, n, "kernel_shape, strides, dilations and pads must give each of H and W");
    if (ks[0] != ks[1] || ks[0] < 1 || ks[0] > MAX_DIM || st[0] != st[1] || st[0] < 1 || st[0] > MAX_DIM)
        return fail_node(im, n, "netc's windows are square with one stride: kernel %lldx%lld, strides %lldx%lld", ks[0],
                         ks[1], st[0], st[1]);
    if (dil[0] != 1 || dil[1] != 1 || attr_i(n, "ceil_mode", 0) != 0)
        return fail_node(im, n, "dilations and ceil_mode are not netc's");
    *w = (Window){ .k = ks[0], .s = st[0] };
    if (attr_s_is(n, "auto_pad", "NOTSET", "SAME_UPPER")) {
        same_pads(in, w);
    } else if (attr_s_is(n, "auto_pad", "NOTSET", "NOTSET")) {
        memcpy(w->pad, pads, sizeof pads);
    } else if (!attr_s_is(n, "auto_pad", "NOTSET", "VALID"))
        return fail_node(im, n, "auto_pad SAME_LOWER is not netc's (its odd pixel goes first)");
    for (int i = 0; i < 4; i++)
        if (w->pad[i] < 0 || w->pad[i] > MAX_DIM)
            return fail_node(im, n, "a padding of %lld", w->pad[i]);
    if (w->k > in->d[1] + w->pad[0] + w->pad[2] || w->k > in->d[2] + w->pad[1] + w->pad[3])
        return fail_node(im, n, "kernel %lld is larger than its padded input", w->k);
    return true;
}

static Shape window_shape(long long C, const Shape *in, const Window *w)
{
    return (Shape){ 3, { C, (in->d[1] + w->pad[0] + w->pad[2] - w->k) / w->s + 1,
                         (in->d[2] + w->pad[1] + w->pad[3] - w->k) / w->s + 1 } };
}

static bool symmetric(const Window *w)
{
    return w->pad[0] == w->pad[1] && w->pad[1] == w->pad[2] && w->pad[2] == w->pad[3];
}

static bool read_conv(Importer *im, const Onnx__NodeProto *n)
{
    int x;
    const Onnx__TensorProto *wt;
    if (!value_and_const(im, n, 3, &x, &wt))
        return false;
    const Shape in = im->val[x].shape;
    if (!wt || wt->n_dims != 4 || wt->dims[1] != in.d[0] || wt->dims[2] != wt->dims[3] || wt->dims[0] < 1)
        return fail_node(im, n, "the weight must be [out, %lld, k, k]", in.d[0]);
    if (attr_i(n, "group", 1) != 1)
        return fail_node(im, n, "grouped convolutions are not netc's");
    Window w;
    if (!read_window(im, n, &in, wt->dims[2], &w))
        return false;
    if (w.k != wt->dims[2])
        return fail_node(im, n, "kernel_shape does not match the weight");
    long long out = wt->dims[0], d[4] = { out, in.d[0], w.k, w.k };
    Layer *l = layer_add(im, n, x, "conv2d(%lld, %lld", out, w.k);
    if (w.s != 1)
        call_arg(l, ", stride = %lld", w.s);
    Window same = { .k = w.k, .s = w.s };
    same_pads(&in, &same);
    if (!symmetric(&w) && memcmp(same.pad, w.pad, sizeof w.pad) == 0)
        call_arg(l, ", pad = same");
    else if (!symmetric(&w))
        return fail_node(im, n, "pads [%lld, %lld, %lld, %lld]: netc pads every side alike, or as `same`", w.pad[0],
                         w.pad[1], w.pad[2], w.pad[3]);
    else if (w.pad[0])
        call_arg(l, ", pad = %lld", w.pad[0]);
    if (n->n_input < 3 || !n->input[2][0])
        call_arg(l, ", bias = false");
    layer_out(im, l, n, window_shape(out, &in, &w));
    return take_tensor(im, l, n, 1, "weight", 4, d, false) && take_tensor(im, l, n, 2, "bias", 1, d, true);
}

static bool read_pool(Importer *im, const Onnx__NodeProto *n, const char *op, bool average)
{
    int x = in_of_rank(im, n, 3);
    if (x < 0)
        return false;
    const Shape in = im->val[x].shape;
    Window w;
    if (!attr(n, "kernel_shape"))
        return fail_node(im, n, "no kernel_shape");
    if (!read_window(im, n, &in, 0, &w))
        return false;
    if (!symmetric(&w) || 2 * w.pad[0] > w.k)
        return fail_node(im, n, "netc pools with the same pad on every side, at most half the kernel");
    if (average && w.pad[0] && attr_i(n, "count_include_pad", 0) != 1)
        return fail_node(im, n, "netc averages over the whole window, padding included (count_include_pad = 1)");
    if (n->n_output > 1 && n->output[1][0])
        return fail_node(im, n, "the indices output is not netc's");
    Layer *l = layer_add(im, n, x, "%s(%lld", op, w.k);
    if (w.s != w.k)
        call_arg(l, ", stride = %lld", w.s);
    if (w.pad[0])
        call_arg(l, ", pad = %lld", w.pad[0]);
    layer_out(im, l, n, window_shape(in.d[0], &in, &w));
    return true;
}

static bool read_maxpool(Importer *im, const Onnx__NodeProto *n)
{
    return read_pool(im, n, "maxpool2d", false);
}

static bool read_avgpool(Importer *im, const Onnx__NodeProto *n)
{
    return read_pool(im, n, "avgpool2d", true);
}

static bool read_global_avgpool(Importer *im, const Onnx__NodeProto *n)
{
    int x = in_of_rank(im, n, 3);
    if (x < 0)
        return false;
    Layer *l = layer_add(im, n, x, "global_avgpool(");
    layer_out(im, l, n, (Shape){ 1, { im->val[x].shape.d[0], 0, 0 } });
    return true;
}

static bool read_batchnorm(Importer *im, const Onnx__NodeProto *n)
{
    int x = tensor_in(im, n, 0);
    if (x < 0)
        return false;
    if (attr_i(n, "training_mode", 0) != 0 || (n->n_output > 1 && n->output[1][0]))
        return fail_node(im, n, "netc imports batchnorm in inference form only");
    long long C[1] = { im->val[x].shape.d[0] };
    float eps = (float)attr_f(n, "epsilon", 1e-5);
    Layer *l = layer_add(im, n, x, "batchnorm(");
    if (eps != 1e-5f)
        call_arg(l, "eps = %.9g", (double)eps);
    layer_out(im, l, n, im->val[x].shape);
    return take_tensor(im, l, n, 1, "weight", 1, C, false) && take_tensor(im, l, n, 2, "bias", 1, C, false) &&
           take_tensor(im, l, n, 3, "running_mean", 1, C, false) && take_tensor(im, l, n, 4, "running_var", 1, C, false);
}

/* An activation: netc's op, and its one argument from ONNX's alpha (NULL: none). */
static bool read_activation(Importer *im, const Onnx__NodeProto *n, const char *op, const char *arg, double def)
{
    int x = tensor_in(im, n, 0);
    if (x < 0)
        return false;
    Layer *l = layer_add(im, n, x, "%s(", op);
    float alpha = (float)attr_f(n, "alpha", def);
    if (arg && alpha != (float)def)
        call_arg(l, "%s = %.9g", arg, (double)alpha);
    layer_out(im, l, n, im->val[x].shape);
    return true;
}

static bool read_relu(Importer *im, const Onnx__NodeProto *n)
{
    return read_activation(im, n, "relu", NULL, 0);
}

static bool read_leaky_relu(Importer *im, const Onnx__NodeProto *n)
{
    return read_activation(im, n, "leaky_relu", "slope", 0.01);
}

static bool read_elu(Importer *im, const Onnx__NodeProto *n)
{
    return read_activation(im, n, "elu", "alpha", 1.0);
}

static bool read_sigmoid(Importer *im, const Onnx__NodeProto *n)
{
    return read_activation(im, n, "sigmoid", NULL, 0);
}

static bool read_tanh(Importer *im, const Onnx__NodeProto *n)
{
    return read_activation(im, n, "tanh", NULL, 0);
}

/* A dense layer [features] -> [out] of weight b: [out, in] (transposed when b_is_in_out). */
static Layer *dense_layer(Importer *im, const Onnx__NodeProto *n, int x, const Onnx__TensorProto *b, bool b_is_in_out)
{
    long long in = im->val[x].shape.d[0];
    if (!b || b->n_dims != 2 || tensor_numel(b) < 0 || b->dims[b_is_in_out ? 0 : 1] != in ||
        b->dims[b_is_in_out ? 1 : 0] < 1) {
        fail_node(im, n, "the weight must be %s with %lld inputs", b_is_in_out ? "[in, out]" : "[out, in]", in);
        return NULL;
    }
    long long out = b->dims[b_is_in_out ? 1 : 0], d[2] = { out, in };
    float *v = tensor_floats(im, n, b, out * in);
    if (!v)
        return NULL;
    if (b_is_in_out) {   /* [in, out] -> PyTorch's [out, in] */
        float *t = xcalloc((size_t)(out * in) + 1, sizeof *t);
        for (long long i = 0; i < in; i++)
            for (long long o = 0; o < out; o++)
                t[o * in + i] = v[i * out + o];
        free(v);
        v = t;
    }
    Layer *l = layer_add(im, n, x, "dense(%lld", out);
    layer_tensor(l, "weight", v, 2, d);
    layer_out(im, l, n, (Shape){ 1, { out, 0, 0 } });
    return l;
}

static bool read_gemm(Importer *im, const Onnx__NodeProto *n)
{
    int x;
    const Onnx__TensorProto *b;
    if (!value_and_const(im, n, 1, &x, &b))
        return false;
    if (attr_i(n, "transA", 0) != 0 || attr_f(n, "alpha", 1) != 1 || attr_f(n, "beta", 1) != 1)
        return fail_node(im, n, "netc's dense is x times the weight plus the bias: transA 0, alpha and beta 1");
    Layer *l = dense_layer(im, n, x, b, attr_i(n, "transB", 0) == 0);
    if (!l)
        return false;
    if (n->n_input < 3 || !n->input[2][0])
        call_arg(l, ", bias = false");
    long long out[1] = { (long long)l->t[0].shape[0] };
    return take_tensor(im, l, n, 2, "bias", 1, out, true);
}

static bool read_matmul(Importer *im, const Onnx__NodeProto *n)
{
    int x;
    const Onnx__TensorProto *b;
    Layer *l = value_and_const(im, n, 1, &x, &b) ? dense_layer(im, n, x, b, true) : NULL;
    if (l)
        l->bias_pending = true;
    return l != NULL;
}

static bool same_shape(const Shape *a, const Shape *b)
{
    bool same = a->rank == b->rank;
    for (int d = 0; same && d < a->rank; d++)
        same = a->d[d] == b->d[d];
    return same;
}

/* Add: the bias of a MatMul's dense (read once, by this Add), else add() of two values
 * (Sum: of all its inputs). */
static bool read_add(Importer *im, const Onnx__NodeProto *n)
{
    const int *a = n->n_input == 2 ? map_get(&im->values, n->input[0]) : NULL;
    const int *b = n->n_input == 2 ? map_get(&im->values, n->input[1]) : NULL;
    if (a && b && im->val[*a].constant && !im->val[*b].constant) {
        const int *t = a;
        a = b;
        b = t;
    }
    if (a && b && !im->val[*a].constant && im->val[*b].constant) {
        int layer = im->val[*a].layer;
        Layer *l = layer >= 0 ? &im->layer[layer] : NULL;
        if (!l || !l->bias_pending || uses_of(im, im->val[*a].onnx) != 1)
            return fail_node(im, n, "netc adds a constant only as the bias of a MatMul read by nothing else");
        long long out[1] = { (long long)l->t[0].shape[0] };
        float *bias = tensor_floats(im, n, im->val[*b].constant, out[0]);
        if (!bias)
            return false;
        layer_tensor(l, "bias", bias, 1, out);
        l->bias_pending = false;
        l->out = value_add(im, n->output[0], NULL, &im->val[*a].shape, layer);
        return true;
    }
    if (n->n_input < 2 || n->n_input > MAX_INPUTS)
        return fail_node(im, n, "netc adds 2 to %d values", MAX_INPUTS);
    int v0 = tensor_in(im, n, 0);
    if (v0 < 0)
        return false;
    Layer *l = layer_add(im, n, v0, "add(");
    for (size_t k = 1; k < n->n_input; k++) {
        int v = tensor_in(im, n, k);
        if (v < 0)
            return false;
        if (!same_shape(&im->val[v].shape, &im->val[v0].shape))
            return fail_node(im, n, "netc adds values of one shape (no broadcasting)");
        l->in[l->nin++] = v;
    }
    layer_out(im, l, n, im->val[v0].shape);
    return true;
}

static bool read_concat(Importer *im, const Onnx__NodeProto *n)
{
    if (n->n_input < 2 || n->n_input > MAX_INPUTS)
        return fail_node(im, n, "netc concatenates 2 to %d values", MAX_INPUTS);
    int v0 = tensor_in(im, n, 0);
    if (v0 < 0)
        return false;
    Shape s = im->val[v0].shape;
    long long axis = attr_i(n, "axis", 1), rank = s.rank + 1;
    if (axis != 1 && axis != 1 - rank)
        return fail_node(im, n, "netc concatenates on the channel axis (1), not %lld", axis);
    Layer *l = layer_add(im, n, v0, "concat(");
    for (size_t k = 1; k < n->n_input; k++) {
        int v = tensor_in(im, n, k);
        if (v < 0)
            return false;
        const Shape *t = &im->val[v].shape;
        if (t->rank != s.rank || (s.rank == 3 && (t->d[1] != s.d[1] || t->d[2] != s.d[2])))
            return fail_node(im, n, "input %zu does not match input 1 outside the channel axis", k + 1);
        s.d[0] += t->d[0];
        l->in[l->nin++] = v;
    }
    layer_out(im, l, n, s);
    return true;
}

/* Flatten to [N, features]: flatten() of an image value, nothing for a flat one. */
static bool flatten_value(Importer *im, const Onnx__NodeProto *n, int x)
{
    if (im->val[x].shape.rank == 1) {
        alias(im, n, x);
        return true;
    }
    Layer *l = layer_add(im, n, x, "flatten(");
    layer_out(im, l, n, (Shape){ 1, { shape_numel(&im->val[x].shape), 0, 0 } });
    return true;
}

static bool read_flatten(Importer *im, const Onnx__NodeProto *n)
{
    int x = tensor_in(im, n, 0);
    if (x < 0)
        return false;
    if (attr_i(n, "axis", 1) != 1)
        return fail_node(im, n, "netc flattens everything after the batch (axis 1), not axis %lld", attr_i(n, "axis", 1));
    return flatten_value(im, n, x);
}

/* Reshape to 2-D, [-1 or 0, features] or [0, -1]: a flatten. */
static bool read_reshape(Importer *im, const Onnx__NodeProto *n)
{
    int x;
    const Onnx__TensorProto *t;
    if (!value_and_const(im, n, 0, &x, &t))
        return false;
    long long shape[2];
    if (!t || tensor_ints(im, n, t, shape, 2) != 2)
        return t ? false : fail_node(im, n, "no shape");
    long long numel = shape_numel(&im->val[x].shape);
    bool flat = ((shape[0] == -1 || shape[0] == 0) && shape[1] == numel) || (shape[0] == 0 && shape[1] == -1);
    if (!flat || (shape[0] == 0 && attr_i(n, "allowzero", 0) != 0))
        return fail_node(im, n, "netc reshapes only to [N, %lld] (a flatten), not [%lld, %lld]", numel, shape[0],
                         shape[1]);
    return flatten_value(im, n, x);
}

/* Pad with zeros, the same on every side of H and W: pad(p). */
static bool read_pad(Importer *im, const Onnx__NodeProto *n)
{
    int x;
    const Onnx__TensorProto *t, *value = NULL;
    bool ok = value_and_const(im, n, 3, &x, &t);
    if (ok)
        value = const_in(im, n, 2, &ok);
    if (!ok)
        return false;
    long long p[8];
    int np = t ? tensor_ints(im, n, t, p, 8) : attr_ints(n, "pads", 8, 0, p) && attr(n, "pads") ? 8 : -1;
    if (np < 0 && t)
        return false;
    if (!attr_s_is(n, "mode", "constant", "constant") || n->n_input > 3)
        return fail_node(im, n, "netc pads with zeros only (mode constant, all axes)");
    float *fill = value ? tensor_floats(im, n, value, 1) : NULL;
    double fill_value = fill ? (double)fill[0] : 0;
    free(fill);
    if (value && !fill)
        return false;
    if (fill_value != 0)
        return fail_node(im, n, "netc pads with zeros only, not %g", fill_value);
    if (np != 8 || p[0] || p[1] || p[4] || p[5] || p[2] != p[3] || p[3] != p[6] || p[6] != p[7] || p[2] < 0 ||
        p[2] > MAX_DIM / 4)
        return fail_node(im, n, "netc pads H and W alike on both sides: pads [0, 0, p, p, 0, 0, p, p]");
    if (p[2] == 0) {
        alias(im, n, x);
        return true;
    }
    Shape s = im->val[x].shape;
    Layer *l = layer_add(im, n, x, "pad(%lld", p[2]);
    layer_out(im, l, n, (Shape){ 3, { s.d[0], s.d[1] + 2 * p[2], s.d[2] + 2 * p[2] } });
    return true;
}

static bool read_softmax(Importer *im, const Onnx__NodeProto *n)
{
    int x = in_of_rank(im, n, 1);
    if (x < 0)
        return false;
    long long axis = attr_i(n, "axis", -1);
    if (axis != 1 && axis != -1)
        return fail_node(im, n, "netc's softmax is over the classes (axis 1), not axis %lld", axis);
    Layer *l = layer_add(im, n, x, "softmax(");
    l->softmax = true;
    layer_out(im, l, n, im->val[x].shape);
    return true;
}

/* Dropout (at inference) and Identity: the same value (an Identity of a constant, the
 * same constant); a used mask is refused. */
static bool read_identity(Importer *im, const Onnx__NodeProto *n)
{
    const int *c = n->n_input ? map_get(&im->values, n->input[0]) : NULL;
    if (c && im->val[*c].constant) {
        value_add(im, n->output[0], im->val[*c].constant, NULL, -1);
        return true;
    }
    int x = tensor_in(im, n, 0);
    if (x < 0)
        return false;
    if (n->n_output > 1 && n->output[1][0] && uses_of(im, n->output[1]))
        return fail_node(im, n, "its mask output is read, which netc's dropout has not");
    alias(im, n, x);
    return true;
}

static bool read_constant(Importer *im, const Onnx__NodeProto *n)
{
    const Onnx__AttributeProto *a = attr(n, "value");
    if (!a || !a->t || n->n_attribute != 1)
        return fail_node(im, n, "netc reads a Constant of a tensor `value` only");
    value_add(im, n->output[0], a->t, NULL, -1);
    return true;
}

/* Sub and Div by constants right on the input, before any layer: the normalisation
 * (x - mean) / std, one value or one per channel ([C, 1, 1] or [1, C, 1, 1]). */
static bool read_norm(Importer *im, const Onnx__NodeProto *n, int stage)
{
    int x;
    const Onnx__TensorProto *t;
    if (!value_and_const(im, n, 0, &x, &t))
        return false;
    const Val *v = &im->val[x];
    if (!t || v->layer != -1 || v->norm >= stage || im->nlayer)
        return fail_node(im, n, "netc has Sub and Div only as the input's normalisation: (x - mean) / std by constants");
    long long numel = tensor_numel(t), C = v->shape.rank == 3 ? v->shape.d[0] : 1;
    if (numel != 1 && (numel != C || C > 8))
        return fail_node(im, n, "the normalisation must be one value or one per channel");
    float *c = tensor_floats(im, n, t, numel);
    if (!c)
        return false;
    if (!im->norm)
        for (int k = 0; k < 8; k++) {
            im->mean[k] = 0;
            im->std[k] = 1;
        }
    if (numel > im->norm)
        im->norm = (int)numel;   /* one value, or one per channel (at most 8) */
    for (int k = 0; k < 8; k++)
        (stage == 1 ? im->mean : im->std)[k] = c[numel == 1 ? 0 : k < numel ? k : numel - 1];
    free(c);
    alias(im, n, x);
    im->val[im->nval - 1].norm = stage;
    return true;
}

static bool read_sub(Importer *im, const Onnx__NodeProto *n)
{
    return read_norm(im, n, 1);
}

static bool read_div(Importer *im, const Onnx__NodeProto *n)
{
    return read_norm(im, n, 2);
}

typedef bool reader_fn(Importer *im, const Onnx__NodeProto *n);

static const struct {
    const char *op_type;
    reader_fn *read;
} readers[] = {
    { "Conv", read_conv },
    { "MaxPool", read_maxpool },
    { "AveragePool", read_avgpool },
    { "GlobalAveragePool", read_global_avgpool },
    { "BatchNormalization", read_batchnorm },
    { "Relu", read_relu },
    { "LeakyRelu", read_leaky_relu },
    { "Elu", read_elu },
    { "Sigmoid", read_sigmoid },
    { "Tanh", read_tanh },
    { "Gemm", read_gemm },
    { "MatMul", read_matmul },
    { "Add", read_add },
    { "Sum", read_add },
    { "Flatten", read_flatten },
    { "Reshape", read_reshape },
    { "Pad", read_pad },
    { "Concat", read_concat },
    { "Dropout", read_identity },
    { "Identity", read_identity },
    { "Softmax", read_softmax },
    { "Constant", read_constant },
    { "Sub", read_sub },
    { "Div", read_div },
};

/* ---- the graph ---- */

/* The one input that is no initialiser: float [N, C, H, W] or [N, F]. */
static bool read_input(Importer *im, const Onnx__GraphProto *g)
{
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < g->n_input; i++) {
        const int *v = g->input[i]->name ? map_get(&im->values, g->input[i]->name) : NULL;
        if (v)
            continue;   /* an initialiser listed as an input too (older IRs) */
        if (in)
            return fail(im, "the graph has several inputs ('%s', '%s'); netc's models have one", in->name,
                        g->input[i]->name);
        in = g->input[i];
    }
    if (!in || !in->name || !in->name[0])
        return fail(im, "the graph has no input");
    const Onnx__TypeProto__Tensor *t = in->type && in->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
                                           ? in->type->tensor_type : NULL;
    if (!t || t->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || !t->shape ||
        (t->shape->n_dim != 4 && t->shape->n_dim != 2))
        return fail(im, "input '%s' must be float32 [N, C, H, W] or [N, features]", in->name);
    Shape s = { (int)t->shape->n_dim - 1, { 0, 0, 0 } };
    for (int d = 0; d < s.rank; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = t->shape->dim[d + 1];
        if (dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || dim->dim_value < 1 ||
            dim->dim_value > 65536)
            return fail(im, "input '%s': dimension %d must be a number from 1 to 65536", in->name, d + 2);
        s.d[d] = dim->dim_value;
    }
    im->input = value_add(im, in->name, NULL, &s, -1);
    return true;
}

static bool read_graph(Importer *im)
{
    const Onnx__GraphProto *g = im->model->graph;
    if (!g)
        return fail(im, "the model has no graph");
    for (size_t i = 0; i < im->model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = im->model->opset_import[i];
        if ((!o->domain || !o->domain[0]) && o->version < 7)
            return fail(im, "opset %lld is older than netc import reads (7)", (long long)o->version);
    }
    for (size_t i = 0; i < g->n_initializer; i++) {
        if (!g->initializer[i]->name || !g->initializer[i]->name[0])
            return fail(im, "initialiser %zu has no name", i + 1);
        value_add(im, g->initializer[i]->name, g->initializer[i], NULL, -1);
    }
    if (!read_input(im, g))
        return false;
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++) {
            const char *name = g->node[i]->input[k];
            map_put(&im->uses, name, uses_of(im, name) + 1);
        }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (!n->op_type || !n->n_output || !n->output[0][0])
            return fail_node(im, n, "a node without an op type or an output");
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
            return fail_node(im, n, "an op of domain '%s', not ONNX's", n->domain);
        reader_fn *read = NULL;
        for (size_t r = 0; r < sizeof readers / sizeof readers[0] && !read; r++)
            if (strcmp(readers[r].op_type, n->op_type) == 0)
                read = readers[r].read;
        if (!read)
            return fail_node(im, n, "op type %s is not one netc has (see docs/onnx.md)", n->op_type);
        if (!read(im, n))
            return false;
    }
    if (g->n_output != 1 || !g->output[0]->name)
        return fail(im, "the graph has %zu outputs; a classifier has one", g->n_output);
    const int *out = map_get(&im->values, g->output[0]->name);
    if (!out || im->val[*out].layer < 0 || im->val[*out].layer != im->nlayer - 1 || im->val[*out].shape.rank != 1)
        return fail(im, "output '%s' must be the [classes] value of the last layer", g->output[0]->name);
    return true;
}

/* ---- the .net text ---- */

/* The variable of value v: its layer's (an alias, as of a Dropout, is the value it
 * stands for), or the input's. */
static const char *var_of(const Importer *im, int v)
{
    int layer = im->val[v].layer;
    return im->val[layer >= 0 ? im->layer[layer].out : im->input].var;
}

/* Layer l in a chain: "IN -> call(...)" to begin one, "-> call(...)" to go on; a layer
 * of several inputs (add, concat) begins one with its call of them all. */
static void write_link(FILE *out, const Importer *im, const Layer *l, bool begins)
{
    const char *sep = "";
    if (l->nin > 1) {
        fputs(l->call, out);
        for (int k = 0; k < l->nin; k++, sep = ", ")
            fprintf(out, "%s%s", sep, var_of(im, l->in[k]));
    } else {
        if (begins)
            fprintf(out, "%s -> %s", var_of(im, l->in[0]), l->call);
        else
            fprintf(out, "\n        -> %s", l->call);
        sep = l->call[strlen(l->call) - 1] == '(' ? "" : ", ";
    }
    if (l->bias_pending) {
        fprintf(out, "%sbias = false", sep);
        sep = ", ";
    }
    fprintf(out, "%sname = \"%s\")", sep, l->name);
}

/* An identifier for the .net: name with '-' as '_', 'h' before a digit, made unique
 * (a keyword or a name taken gets a suffix); owned by the importer's names. */
static const char *identifier(Importer *im, const char *name)
{
    static const char *const keywords[] = { "model", "block", "input", "return", "for", "in", "if", "else",
                                            "train", "true", "false" };
    char base[72];
    size_t j = 0;
    if (!(name[0] >= 'a' && name[0] <= 'z') && !(name[0] >= 'A' && name[0] <= 'Z') && name[0] != '_')
        base[j++] = 'h';
    for (const char *p = name; *p && j < 63; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        base[j++] = ok ? ch : '_';
    }
    base[j] = 0;
    bool keyword = false;
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        keyword = keyword || strcmp(base, keywords[k]) == 0;
    char id[80];
    snprintf(id, sizeof id, "%s%s", base, keyword ? "_" : "");
    for (int k = 2; map_get(&im->vars, id); k++)
        snprintf(id, sizeof id, "%s_%d", base, k);
    map_put(&im->vars, id, 1);
    return map_key(&im->vars, id);
}

/* The model: the input, then a statement per chain of layers (the last one returned),
 * and the train section's normalisation when the graph had one. */
static void write_net(FILE *out, Importer *im, const char *model_name)
{
    const Onnx__ModelProto *m = im->model;
    Val *input = &im->val[im->input];
    fprintf(out, "# %s -- imported by netc import from %s", model_name, im->file);
    if (m->producer_name && m->producer_name[0])
        fprintf(out, " (made by %s%s%s)", m->producer_name, m->producer_version && m->producer_version[0] ? " " : "",
                m->producer_version ? m->producer_version : "");
    fprintf(out, ":\n# %zu ONNX nodes as %d layers, each named after its node.  The weights are\n"
                 "# the .npz written with it: TRAINER train --init-from FILE.npz (--epochs 0 keeps them).\n\n",
            m->graph->n_node, im->nlayer);
    input->var = identifier(im, input->onnx);
    fprintf(out, "model %s {\n  input %s[%lld", model_name, input->var, input->shape.d[0]);
    for (int d = 1; d < input->shape.rank; d++)
        fprintf(out, ", %lld", input->shape.d[d]);
    fprintf(out, "]\n");
    int *reads = xcalloc((size_t)im->nlayer + 1, sizeof *reads);   /* per layer: the layers reading its value */
    for (int i = 0; i < im->nlayer; i++)
        for (int k = 0; k < im->layer[i].nin; k++)
            if (im->val[im->layer[i].in[k]].layer >= 0)
                reads[im->val[im->layer[i].in[k]].layer]++;
    char *chain = NULL;
    size_t len = 0;
    FILE *f = NULL;
    for (int i = 0; i < im->nlayer; i++) {
        const Layer *l = &im->layer[i];
        bool goes_on = f && l->nin == 1 && im->val[l->in[0]].layer == i - 1 && reads[i - 1] == 1;
        if (f && !goes_on) {   /* the chain before ends in a variable */
            fclose(f);
            Val *v = &im->val[im->layer[i - 1].out];
            v->var = identifier(im, im->layer[i - 1].name);
            fprintf(out, "  %s = %s\n", v->var, chain);
            free(chain);
            f = NULL;
        }
        if (!f)
            f = open_memstream(&chain, &len);
        if (!f) {
            fprintf(stderr, "netc: out of memory\n");
            exit(2);
        }
        write_link(f, im, l, !goes_on);
    }
    if (f) {
        if (!im->layer[im->nlayer - 1].softmax)   /* logits: the trainer's loss and predict take a softmax */
            fprintf(f, "\n        -> softmax(name = \"%s\")", map_get(&im->names, "softmax") ? "softmax_added" : "softmax");
        fclose(f);
        fprintf(out, "  return %s\n", chain);
        free(chain);
    }
    free(reads);
    if (im->norm) {
        fprintf(out, "\n  # the normalisation of the ONNX graph's first nodes, (x - mean) / std\n  train {\n");
        const char *key[2] = { "mean", "std" };
        for (int s = 0; s < 2; s++) {
            const float *v = s ? im->std : im->mean;
            fprintf(out, "    %s = %s", key[s], im->norm > 1 ? "[" : "");
            for (int k = 0; k < im->norm; k++)
                fprintf(out, "%s%.9g", k ? ", " : "", (double)v[k]);
            fprintf(out, "%s\n", im->norm > 1 ? "]" : "");
        }
        fprintf(out, "  }\n");
    }
    fprintf(out, "}\n");
}

/* ---- the importer ---- */

static void importer_free(Importer *im)
{
    if (im->model)
        onnx__model_proto__free_unpacked(im->model, NULL);
    for (int i = 0; i < im->nlayer; i++) {
        free(im->layer[i].name);
        for (int t = 0; t < im->layer[i].nt; t++)
            free(im->layer[i].t[t].data);
    }
    free(im->layer);
    free(im->val);
    map_free(&im->values);
    map_free(&im->uses);
    map_free(&im->names);
    map_free(&im->vars);
}

/* The model name: the file's name without its folder and .onnx, as an identifier. */
static const char *model_name(Importer *im)
{
    const char *slash = strrchr(im->file, '/');
    char base[64];
    snprintf(base, sizeof base, "%s", slash ? slash + 1 : im->file);
    char *dot = strrchr(base, '.');
    if (dot && dot != base)
        *dot = 0;
    return identifier(im, base);
}

/* Parses buf and reads its graph: the .net text (malloc'd), or NULL with im->err. */
static char *translate(Importer *im, const uint8_t *buf, size_t len)
{
    im->model = onnx__model_proto__unpack(NULL, len, buf);
    if (!im->model) {
        fail(im, "not an ONNX model: the protobuf does not parse (a truncated or damaged file?)");
        return NULL;
    }
    if (!read_graph(im))
        return NULL;
    char *text = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&text, &tlen);
    if (!out) {
        fail(im, "out of memory");
        return NULL;
    }
    write_net(out, im, model_name(im));
    fclose(out);
    return text;
}

char *onnx_import_text(const unsigned char *buf, size_t len, const char *file, char *err, size_t errlen)
{
    Importer im = { .file = file };
    char *text = translate(&im, buf, len);
    if (!text)
        snprintf(err, errlen, "%s", im.err);
    importer_free(&im);
    return text;
}

/* The layer tensor of graph node n's parameter p (NULL: none). */
static const LayerTensor *layer_tensor_of(const Importer *im, const GNode *n, const ParamInfo *p)
{
    for (int i = 0; i < im->nlayer; i++)
        if (strcmp(im->layer[i].name, n->name) == 0)
            for (int t = 0; t < im->layer[i].nt; t++)
                if (strcmp(im->layer[i].t[t].suffix, p->suffix) == 0)
                    return &im->layer[i].t[t];
    return NULL;
}

/* The .net text elaborated as netc would, each parameter of its graph matched by a
 * tensor of the same shape, and no tensor left over: what is written builds. */
static bool check_text(Importer *im, const char *text)
{
    SrcFile *src = src_from_string("(imported .net)", text);
    Program prog = { 0 };
    Graph g = { 0 };
    bool ok = parse_program(src, &prog) == 0 && elaborate(&prog, NULL, 0, &g) == 0;
    int matched = 0, tensors = 0;
    for (int i = 0; ok && i < g.n; i++)
        for (int p = 0; p < g.node[i].nparam; p++) {
            const ParamInfo *pi = &g.node[i].param[p];
            const LayerTensor *t = layer_tensor_of(im, &g.node[i], pi);
            bool same = t && t->rank == pi->rank;
            for (int d = 0; same && d < pi->rank; d++)
                same = t->shape[d] == (size_t)pi->d[d];
            matched += same;
            ok = ok && same;
        }
    for (int i = 0; i < im->nlayer; i++)
        tensors += im->layer[i].nt;
    if (!ok || matched != tensors)
        fail(im, "internal error: the .net written does not hold the graph's weights as read (%d of %d tensors)",
             matched, tensors);
    graph_free(&g);
    free_tree(prog.model);
    free_tree(prog.blocks);
    src_free(src);
    return ok && matched == tensors;
}

static bool write_npz(Importer *im, const char *path)
{
    int n = 0;
    for (int i = 0; i < im->nlayer; i++)
        n += im->layer[i].nt;
    rt_npz_array *a = xcalloc((size_t)n + 1, sizeof *a);
    char **names = xcalloc((size_t)n + 1, sizeof *names);
    int k = 0;
    for (int i = 0; i < im->nlayer; i++)
        for (int t = 0; t < im->layer[i].nt; t++, k++) {
            const LayerTensor *x = &im->layer[i].t[t];
            names[k] = xcalloc(strlen(im->layer[i].name) + strlen(x->suffix) + 2, 1);
            sprintf(names[k], "%s.%s", im->layer[i].name, x->suffix);
            a[k] = (rt_npz_array){ .name = names[k], .data = x->data, .ndim = x->rank };
            memcpy(a[k].shape, x->shape, sizeof x->shape);
        }
    char err[512];
    int rc = rt_npz_write(path, a, (size_t)n, err, sizeof err);
    if (rc)
        fail(im, "%s", err);
    for (k = 0; k < n; k++)
        free(names[k]);
    free(names);
    free(a);
    return rc == 0;
}

/* The whole file, at most ONNX_MAX_BYTES (NULL: failed). */
static uint8_t *read_all(Importer *im, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(im, "cannot open: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = xcalloc(cap, 1);
    for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap && cap < ONNX_MAX_BYTES + 1) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        } else if (n == cap)
            break;
    }
    bool bad = ferror(f) || n > ONNX_MAX_BYTES;
    fclose(f);
    if (bad) {
        free(buf);
        fail(im, n > ONNX_MAX_BYTES ? "larger than 2 GiB, the most a protobuf message holds" : "cannot read");
        return NULL;
    }
    *len = n;
    return buf;
}

int import_onnx(const char *path, const char *net_path, const char *npz_path)
{
    Importer im = { .file = path };
    size_t len = 0;
    uint8_t *buf = read_all(&im, path, &len);
    char *text = buf ? translate(&im, buf, len) : NULL;
    bool ok = text && check_text(&im, text) && write_npz(&im, npz_path);
    if (ok) {
        FILE *out = net_path ? fopen(net_path, "w") : stdout;
        ok = out && fputs(text, out) >= 0;
        if (out && out != stdout && fclose(out) != 0)
            ok = false;
        if (!ok)
            fail(&im, "cannot write %s: %s", net_path ? net_path : "standard output", strerror(errno));
    }
    if (ok)
        fprintf(stderr, "netc: imported %s: %d layers%s%s, weights in %s\n", path, im.nlayer,
                net_path ? " to " : "", net_path ? net_path : "", npz_path);
    else
        fprintf(stderr, "netc: %s\n", im.err);
    free(text);
    free(buf);
    importer_free(&im);
    return ok ? 0 : 1;
}
