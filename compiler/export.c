/* export.c — netc export-c: a model and its trained weights as self-contained C.
 *
 * The weights come from a trainer's checkpoint or .npz, read by weights.c with the
 * trainer's own readers (a file of another model is refused with the trainer's
 * message), with the input normalisation and the class names they were trained with;
 * export-c folds the batchnorms into them and packs them for its kernels.
 *
 * The C written: NAME.h (sizes, error codes, the API), NAME.c (the weights as `static
 * const` arrays, or a reader of the checked NAME.weights blob, the class names, and
 * NAME_run: the inference plan of the memory planner in export mode, one call per layer
 * into the dependency-free kernels, its convolutions and dense layers on the tasks of
 * an optional parallel-for; NAME_predict calls it in the calling thread, NAME_predict_mt
 * on the caller's netc_parallel, whose convolutions take their scratch after the
 * single-thread workspace), and netc_infer.h + netc_infer.c, the kernels' amalgamation
 * embedded in netc (build/cc/infer_embed.c).  C99, no malloc, no mutable static state,
 * no threads of its own; libm only.
 *
 * The blob (--weights-in blob): a 64-byte header, then the parameters and the state as
 * little-endian float32, in the layout of NAME_params and NAME_state.  Header fields,
 * little-endian: magic "NETCWGT1", u32 version 2, u32 header bytes 64, u64 the model's
 * structure hash, u64 parameters, u64 state floats, u64 payload bytes, u32 CRC-32 of
 * the payload, u32 CRC-32 of the 52 bytes before it, 8 zero bytes. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "weights.h"

extern const char *const netc_infer_files[][2];

enum { BLOB_HEADER = 64, BLOB_VERSION = 2 };  /* 2: dense weights packed (netc_dense_pack) */


/* Where predict's memory lies in the workspace: the plan's arena, then (a model trained
 * with a normalisation) the normalised input; NAME_WORKSPACE_BYTES in all.  After it,
 * predict_mt's convolutions take their scratch on T tasks from mt_offset: mt_fixed +
 * T * mt_per_task bytes, the most any layer needs (the ops' export_work_mt). */
typedef struct {
    size_t norm_offset, bytes;
    size_t mt_offset, mt_fixed, mt_per_task;
} Layout;

/* ---- the weights in the layout of the export calls ---- */

/* Batchnorm `bn` (y = (x - mean) / sqrtf(var + eps) * gamma + beta per channel k)
 * folded into node i, whose output it reads: row k of i's weight times s = gamma /
 * sqrt(var + eps), and bn's beta rewritten to beta + (bias - mean) * s, the bias i's
 * export call then takes (emit_fused_bias).  In double, rounded once to float. */
static void fold_batchnorm(const Graph *g, Weights *w, int i, int bn)
{
    float *weight = weights_tensor(g, w, i, "weight"), *bias = weights_tensor(g, w, i, "bias");
    const float *gamma = weights_tensor(g, w, bn, "weight"), *mean = weights_tensor(g, w, bn, "running_mean");
    const float *var = weights_tensor(g, w, bn, "running_var");
    float *beta = weights_tensor(g, w, bn, "bias");
    double eps = (double)(float)attr_float(&g->node[bn], "eps");
    long long K = g->node[i].out.d[0], row = 0;
    for (int q = 0; q < g->node[i].nparam; q++)
        if (strcmp(g->node[i].param[q].suffix, "weight") == 0)
            row = param_numel(&g->node[i].param[q]) / K;
    for (long long k = 0; k < K; k++) {
        double scale = (double)gamma[k] / sqrt((double)var[k] + eps);
        for (long long j = 0; j < row; j++)
            weight[k * row + j] = (float)((double)weight[k * row + j] * scale);
        beta[k] = (float)((double)beta[k] + ((bias ? (double)bias[k] : 0.0) - (double)mean[k]) * scale);
    }
}

/* A tensor in the layout its export call reads (the op's export_pack). */
static void pack_tensor(const Graph *g, int node, int param, size_t offset, void *ctx)
{
    Weights *w = ctx;
    const OpRules *r = op_table[g->node[node].op].rules;
    if (r->export_pack)
        r->export_pack(g, &g->node[node], param,
                       (g->node[node].param[param].trainable ? w->params : w->state) + offset);
}

/* Each tensor in the layout its export call reads: the batchnorms folded in, then the
 * op's export_pack. */
static void pack_for_export(const Graph *g, const Plan *plan, Weights *w)
{
    for (int i = 0; i < g->n; i++) {
        int bn = export_folded_bn(g, plan, i);
        if (bn >= 0)
            fold_batchnorm(g, w, i, bn);
    }
    walk_tensors(g, pack_tensor, w);
}

static size_t round64(size_t n)
{
    return (n + 63) / 64 * 64;
}

static Layout layout_of(const Graph *g, const Plan *p, const Weights *w, int batch)
{
    Layout at = { .norm_offset = round64(p->arena) };
    const Shape *in = &g->node[g->input].out;
    at.bytes = w->norm ? at.norm_offset + (size_t)batch * (size_t)shape_numel(in) * sizeof(float) : p->arena;
    if (at.bytes == 0)
        at.bytes = 64;
    at.mt_offset = round64(at.bytes);
    for (int i = 0; i < g->n; i++) {
        const OpRules *r = op_table[g->node[i].op].rules;
        size_t fixed = 0, per_task = 0;
        if (r->export_work_mt && !plan_is_view(p, i))
            r->export_work_mt(g, &g->node[i], &fixed, &per_task);
        at.mt_fixed = fixed > at.mt_fixed ? fixed : at.mt_fixed;
        at.mt_per_task = per_task > at.mt_per_task ? per_task : at.mt_per_task;
    }
    return at;
}

/* ---- the header ---- */

static void define(FILE *out, const char *macro, const char *name, const char *value, const char *note)
{
    char left[320];
    snprintf(left, sizeof left, "#define %s_%s %s", macro, name, value);
    if (note)
        fprintf(out, "%-44s /* %s */\n", left, note);
    else
        fprintf(out, "%s\n", left);
}

static void define_int(FILE *out, const char *macro, const char *name, long long v, const char *note)
{
    char value[32];
    snprintf(value, sizeof value, "%lld", v);
    define(out, macro, name, value, note);
}

static void write_api_header(FILE *out, const Graph *g, const Weights *w, const char *prefix, const char *macro,
                             const char *from, int batch, const Layout *at, bool blob)
{
    fprintf(out, "/* %s.h — model %s with the weights of %s, exported by netc export-c; do not edit.\n"
                 " *\n"
                 " *     static float probs[%s_CLASSES];\n"
                 " *     static _Alignas(64) unsigned char workspace[%s_WORKSPACE_BYTES];   (C11; any 64-byte aligned memory)\n"
                 " *     int rc = %s_predict(image, 1, probs, workspace%s);\n"
                 " *\n"
                 " * image: n images, NCHW float32, pixels scaled to [0, 1] as the trainer reads them\n"
                 " * (the trained normalisation is applied inside).  Reentrant: two threads with two\n"
                 " * workspaces may predict at once.  %s_predict_mt does the same on the tasks of the\n"
                 " * caller's parallel-for (netc_infer.h's netc_parallel), in a workspace of\n"
                 " * %s_WORKSPACE_BYTES_MT(tasks), with the same results to the bit; it starts no\n"
                 " * thread of its own.  Build: cc -std=c99 %s.c netc_infer.c -lm */\n",
            prefix, g->model_name, from, macro, macro, prefix, blob ? ", weights" : "", prefix, macro, prefix);
    fprintf(out, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include \"netc_infer.h\"\n\n"
                 "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", macro, macro);
    const Shape *in = &g->node[g->input].out;
    define_int(out, macro, "IN_C", in->d[0], "input channels, height, width");
    define_int(out, macro, "IN_H", in->rank == 3 ? in->d[1] : 1, NULL);
    define_int(out, macro, "IN_W", in->rank == 3 ? in->d[2] : 1, NULL);
    define_int(out, macro, "CLASSES", w->model.classes, NULL);
    define_int(out, macro, "MAX_BATCH", batch, "images per call at most");
    define_int(out, macro, "WORKSPACE_BYTES", (long long)at->bytes, "the caller's scratch memory, 64-byte aligned");
    char mt[128];
    snprintf(mt, sizeof mt, "((size_t)%zu + (size_t)%zu * (size_t)((tasks) > 1 ? (tasks) : 1))",
             at->mt_offset + at->mt_fixed, at->mt_per_task);
    define(out, macro, "WORKSPACE_BYTES_MT(tasks)", mt, "predict_mt's, for par->tasks tasks");
    if (blob)
        define_int(out, macro, "WEIGHTS_BYTES",
                   (long long)(BLOB_HEADER + (w->model.nparams + w->model.nstate) * sizeof(float)),
                   "the size of NAME.weights");
    fprintf(out, "\n/* The results of %s_predict%s. */\n", prefix, blob ? " and the weights checks" : "");
    const char *codes[][3] = {
        { "OK", "0", NULL },
        { "ERR_NULL", "(-1)", "a NULL pointer" },
        { "ERR_BATCH", "(-2)", "n outside 1.._MAX_BATCH" },
        { "ERR_ALIGN", "(-3)", blob ? "workspace not 64-byte aligned, or weights not 4-byte aligned"
                                    : "workspace not 64-byte aligned" },
        { "ERR_WEIGHTS_SIZE", "(-4)", "the blob is truncated or has bytes after its end" },
        { "ERR_WEIGHTS_FORMAT", "(-5)", "not a netc weights blob, or of another version or byte order" },
        { "ERR_WEIGHTS_MODEL", "(-6)", "the weights of another model" },
        { "ERR_WEIGHTS_CHECKSUM", "(-7)", "the blob is corrupted (checksum)" },
    };
    for (int i = 0; i < (blob ? 8 : 4); i++)
        define(out, macro, codes[i][0], codes[i][1], codes[i][2]);
    fprintf(out, "\nextern const char *const %s_class_names[%s_CLASSES];\n", prefix, macro);
    fprintf(out, "/* A message for a result code. */\nconst char *%s_strerror(int code);\n", prefix);
    if (blob) {
        fprintf(out, "/* %s_OK if blob holds exactly this model's weights (checks every byte). */\n", macro);
        fprintf(out, "int %s_weights_check(const void *blob, size_t bytes);\n", prefix);
        fprintf(out, "#ifndef %s_NO_STDIO\n/* Reads PATH (at most cap bytes) into buf and checks it. */\n", macro);
        fprintf(out, "int %s_weights_read(const char *path, void *buf, size_t cap);\n#endif\n", prefix);
        fprintf(out, "/* weights: a blob that passed %s_weights_check (its header is checked again). */\n", prefix);
    }
    const char *weights = blob ? ", const void *weights" : "";
    fprintf(out, "int %s_predict(const float *x, int n, float *probs, void *workspace%s);\n", prefix, weights);
    fprintf(out, "/* The same on par->tasks tasks (par->run may be NULL when there is one): par->run(par->pool,\n"
                 " * task, arg, k) must call task(arg, i) once for each i in [0, k), on any threads, and\n"
                 " * return when all have returned.  workspace: %s_WORKSPACE_BYTES_MT(par->tasks) bytes. */\n",
            macro);
    fprintf(out, "int %s_predict_mt(const float *x, int n, float *probs, void *workspace%s, const netc_parallel *par);\n",
            prefix, weights);
    fprintf(out, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

/* ---- the source ---- */

static void write_float(FILE *out, float v)
{
    char s[32];
    fputs(float_literal(v, s), out);
}

/* Whether predict reads the state: some node with state tensors is not a batchnorm
 * folded into the node before it. */
static bool state_read(const Graph *g, const Plan *plan)
{
    for (int i = 0; i < g->n; i++) {
        bool has_state = false, folded = false;
        for (int q = 0; q < g->node[i].nparam; q++)
            has_state = has_state || !g->node[i].param[q].trainable;
        for (int j = 0; j < i && has_state; j++)
            folded = folded || export_folded_bn(g, plan, j) == i;
        if (has_state && !folded)
            return true;
    }
    return false;
}

/* `static const PREFIX_WHAT PREFIX_trained_WHAT = { { ... }, ... };`, unless the model
 * has no such tensors (predict then never names them). */
static void write_initializer(FILE *out, const Graph *g, const Weights *w, char **ids, const char *prefix,
                              const char *what, bool trainable)
{
    if ((trainable ? w->model.nparams : w->model.nstate) == 0)
        return;
    fprintf(out, "static const %s_%s %s_trained_%s = {\n", prefix, what, prefix, what);
    const float *data = trainable ? w->params : w->state;
    size_t at = 0;
    for (int i = 0; i < g->n; i++)
        for (int p = 0; p < g->node[i].nparam; p++) {
            const ParamInfo *pi = &g->node[i].param[p];
            if (pi->trainable != trainable)
                continue;
            long long numel = param_numel(pi);
            fprintf(out, "    /* %s_%s */\n    {", ids[i], pi->suffix);
            for (long long k = 0; k < numel; k++) {
                fprintf(out, "%s", k % 8 ? " " : "\n        ");
                write_float(out, data[at++]);
                fprintf(out, "%s", k + 1 < numel ? "," : "");
            }
            fprintf(out, "\n    },\n");
        }
    fprintf(out, "};\n\n");
}

static void write_class_names(FILE *out, const Weights *w, const char *prefix, const char *macro)
{
    fprintf(out, "const char *const %s_class_names[%s_CLASSES] = {\n", prefix, macro);
    for (int k = 0; k < w->model.classes; k++) {
        fprintf(out, "    ");
        write_string_literal(out, w->class_names[k]);
        fprintf(out, ",\n");
    }
    fprintf(out, "};\n\n");
}

static void write_strerror(FILE *out, const char *prefix, const char *macro, bool blob)
{
    fprintf(out, "const char *%s_strerror(int code)\n{\n    switch (code) {\n", prefix);
    const char *msgs[][2] = {
        { "OK", "success" },
        { "ERR_NULL", "a NULL pointer" },
        { "ERR_BATCH", "the batch is outside 1..MAX_BATCH" },
        { "ERR_ALIGN", "misaligned memory (workspace: 64 bytes; weights: 4)" },
        { "ERR_WEIGHTS_SIZE", "the weights blob is truncated or has bytes after its end" },
        { "ERR_WEIGHTS_FORMAT", "not a netc weights blob, or of another version or byte order" },
        { "ERR_WEIGHTS_MODEL", "the weights blob belongs to another model" },
        { "ERR_WEIGHTS_CHECKSUM", "the weights blob is corrupted (checksum mismatch)" },
    };
    for (int i = 0; i < (blob ? 8 : 4); i++)
        fprintf(out, "    case %s_%s: return \"%s\";\n", macro, msgs[i][0], msgs[i][1]);
    fprintf(out, "    default: return \"unknown error\";\n    }\n}\n\n");
}

/* The blob's checks, in the exported C: the header alone (each predict) and every byte. */
static void write_blob_checks(FILE *out, const Weights *w, const char *prefix, const char *macro)
{
    uint64_t hash = w->model.hash;
    fprintf(out,
            "/* ---- the weights blob: a 64-byte header, then the parameters and the state ---- */\n\n"
            "static uint32_t crc32_of(const unsigned char *p, size_t n)\n{\n"
            "    uint32_t crc = 0xFFFFFFFFu;\n"
            "    for (size_t i = 0; i < n; i++) {\n"
            "        crc ^= p[i];\n"
            "        for (int k = 0; k < 8; k++)\n"
            "            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));\n"
            "    }\n"
            "    return ~crc;\n}\n\n"
            "static uint64_t le_bytes(const unsigned char *p, int n)\n{\n"
            "    uint64_t v = 0;\n"
            "    for (int i = n - 1; i >= 0; i--)\n"
            "        v = v << 8 | p[i];\n"
            "    return v;\n}\n\n"
            "/* Everything but the payload's checksum. */\n"
            "static int header_check(const unsigned char *b)\n{\n"
            "    const uint32_t one = 1;\n"
            "    if (memcmp(b, \"NETCWGT1\", 8) != 0 || le_bytes(b + 8, 4) != %d || le_bytes(b + 12, 4) != %d ||\n"
            "        *(const unsigned char *)&one != 1 || crc32_of(b, 52) != (uint32_t)le_bytes(b + 52, 4))\n"
            "        return %s_ERR_WEIGHTS_FORMAT;\n"
            "    if (le_bytes(b + 16, 8) != 0x%016llxu || le_bytes(b + 24, 8) != %zuu || le_bytes(b + 32, 8) != %zuu)\n"
            "        return %s_ERR_WEIGHTS_MODEL;\n"
            "    return %s_OK;\n}\n\n",
            BLOB_VERSION, BLOB_HEADER, macro, (unsigned long long)hash, w->model.nparams, w->model.nstate, macro,
            macro);
    fprintf(out,
            "int %s_weights_check(const void *blob, size_t bytes)\n{\n"
            "    const unsigned char *b = blob;\n"
            "    if (!b)\n        return %s_ERR_NULL;\n"
            "    if (bytes < %d)\n        return %s_ERR_WEIGHTS_SIZE;\n"
            "    int rc = header_check(b);\n"
            "    if (rc != %s_OK)\n        return rc;\n"
            "    if (bytes != %s_WEIGHTS_BYTES || le_bytes(b + 40, 8) != bytes - %d)\n        return %s_ERR_WEIGHTS_SIZE;\n"
            "    if (crc32_of(b + %d, bytes - %d) != (uint32_t)le_bytes(b + 48, 4))\n"
            "        return %s_ERR_WEIGHTS_CHECKSUM;\n"
            "    return %s_OK;\n}\n\n",
            prefix, macro, BLOB_HEADER, macro, macro, macro, BLOB_HEADER, macro, BLOB_HEADER, BLOB_HEADER, macro,
            macro);
    fprintf(out,
            "#ifndef %s_NO_STDIO\n#include <stdio.h>\n\n"
            "int %s_weights_read(const char *path, void *buf, size_t cap)\n{\n"
            "    if (!path || !buf)\n        return %s_ERR_NULL;\n"
            "    FILE *f = fopen(path, \"rb\");\n"
            "    if (!f)\n        return %s_ERR_WEIGHTS_SIZE;\n"
            "    size_t got = fread(buf, 1, cap, f);\n"
            "    int more = fgetc(f) != EOF;\n"
            "    fclose(f);\n"
            "    return more ? %s_ERR_WEIGHTS_SIZE : %s_weights_check(buf, got);\n}\n#endif\n\n",
            macro, prefix, macro, macro, macro, prefix);
}

/* `static const float NAME[C] = { v0, v1, ... };` */
static void write_float_array(FILE *f, const char *name, const float *v, int C)
{
    fprintf(f, "    static const float %s[%d] = { ", name, C);
    for (int k = 0; k < C; k++) {
        fputs(k ? ", " : "", f);
        write_float(f, v[k]);
    }
    fprintf(f, " };\n");
}

/* The prologue of predict: the trained normalisation into the workspace after the arena;
 * per channel when the channels differ (channel c of an input element is its index over
 * the plane of C channels, which for a flat input [C * H * W] is H * W). */
static char *norm_prologue(const Weights *w, const char *macro, size_t offset)
{
    if (!w->norm)
        return NULL;
    int C = w->norm;
    bool same = true;
    for (int k = 1; k < C; k++)
        same &= w->mean[k] == w->mean[0] && w->std[k] == w->std[0];
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "    /* the input, normalised as in training: (x - mean%s) / std%s */\n", same ? "" : "[c]",
            same ? "" : "[c], channel c");
    if (!same) {
        write_float_array(f, "norm_mean", w->mean, C);
        write_float_array(f, "norm_std", w->std, C);
    }
    fprintf(f, "    float *x_norm = (float *)(void *)((unsigned char *)workspace + %zu);\n", offset);
    fprintf(f, "    for (size_t i = 0; i < (size_t)n * %s_IN_C * %s_IN_H * %s_IN_W; i++)", macro, macro, macro);
    if (same) {
        fprintf(f, "\n        x_norm[i] = (x[i] - ");
        write_float(f, w->mean[0]);
        fprintf(f, ") / ");
        write_float(f, w->std[0]);
        fprintf(f, ";\n");
    } else {
        fprintf(f, " {\n        size_t c = i / (%s_IN_C * %s_IN_H * %s_IN_W / %d) %% %d;\n", macro, macro, macro, C, C);
        fprintf(f, "        x_norm[i] = (x[i] - norm_mean[c]) / norm_std[c];\n    }\n");
    }
    fprintf(f, "    x = x_norm;\n");
    fclose(f);
    return text;
}

/* The arguments' checks (and in blob mode the header's), then the public functions:
 * predict in the calling thread, predict_mt on the caller's tasks, both over _run. */
static void write_entry_points(FILE *out, const char *prefix, const char *macro, int batch, bool blob)
{
    const char *weights = blob ? ", const void *weights" : "", *pass = blob ? ", weights" : "";
    fprintf(out, "static int args_check(const float *x, int n, const float *probs, const void *workspace%s)\n{\n"
                 "    if (!x || !probs || !workspace)\n        return %s_ERR_NULL;\n"
                 "    if (n < 1 || n > %d)\n        return %s_ERR_BATCH;\n"
                 "    if ((uintptr_t)workspace %% 64 != 0)\n        return %s_ERR_ALIGN;\n",
            weights, macro, batch, macro, macro);
    if (blob)
        fprintf(out, "    if (!weights)\n        return %s_ERR_NULL;\n"
                     "    if ((uintptr_t)weights %% 4 != 0)\n        return %s_ERR_ALIGN;\n"
                     "    return header_check(weights);\n}\n\n", macro, macro);
    else
        fprintf(out, "    return %s_OK;\n}\n\n", macro);
    fprintf(out, "int %s_predict(const float *x, int n, float *probs, void *workspace%s)\n{\n"
                 "    int rc = args_check(x, n, probs, workspace%s);\n"
                 "    return rc != %s_OK ? rc : %s_run(x, n, probs, workspace%s, NULL);\n}\n\n",
            prefix, weights, pass, macro, prefix, pass);
    fprintf(out, "int %s_predict_mt(const float *x, int n, float *probs, void *workspace%s, const netc_parallel *par)\n"
                 "{\n"
                 "    int rc = par && (par->run || par->tasks <= 1) ? args_check(x, n, probs, workspace%s) : %s_ERR_NULL;\n"
                 "    return rc != %s_OK ? rc : %s_run(x, n, probs, workspace%s, par);\n}\n",
            prefix, weights, pass, macro, macro, prefix, pass);
}

static void write_api_source(FILE *out, const Graph *g, const Weights *w, char **ids, const Plan *p,
                             const char *prefix, const char *macro, const char *from, const Layout *at, bool blob)
{
    fprintf(out, "/* %s.c — model %s with the weights of %s, exported by netc export-c; do not edit.\n"
                 " * %s_run runs netc's inference plan: every buffer at its planned offset in the\n"
                 " * caller's workspace, with its shape and the steps it is live for in a comment. */\n",
            prefix, g->model_name, from, prefix);
    fprintf(out, "#include <stdint.h>\n#include <string.h>\n#include \"%s.h\"\n#include \"netc_infer.h\"\n\n", prefix);
    write_struct(out, g, ids, prefix, "params", true);
    write_struct(out, g, ids, prefix, "state", false);
    write_class_names(out, w, prefix, macro);
    write_strerror(out, prefix, macro, blob);
    char params[256], state[256];
    if (blob) {
        write_blob_checks(out, w, prefix, macro);
        snprintf(params, sizeof params, "(const %s_params *)(const void *)((const unsigned char *)weights + %d)",
                 prefix, BLOB_HEADER);
        snprintf(state, sizeof state, "(const %s_state *)(const void *)((const unsigned char *)weights + %zu)", prefix,
                 BLOB_HEADER + w->model.nparams * sizeof(float));
    } else {
        write_initializer(out, g, w, ids, prefix, "params", true);
        if (state_read(g, p))
            write_initializer(out, g, w, ids, prefix, "state", false);
        snprintf(params, sizeof params, "&%s_trained_params", prefix);
        snprintf(state, sizeof state, "&%s_trained_state", prefix);
    }
    char *norm = norm_prologue(w, macro, at->norm_offset);
    ExportCode code = { .params = params, .state = state, .norm = norm, .mt_offset = at->mt_offset,
                        .args = blob ? "const float *x, int n, float *probs, void *workspace, const void *weights"
                                     : "const float *x, int n, float *probs, void *workspace" };
    write_export_code(out, g, ids, p, prefix, &code);
    free(norm);
    write_entry_points(out, prefix, macro, p->batch, blob);
}

/* NAME.weights: the header, then the payload. */
static bool write_blob(const char *dir, const char *prefix, const Weights *w)
{
    char name[96], path[4200];
    snprintf(name, sizeof name, "%s.weights", prefix);
    size_t payload = (w->model.nparams + w->model.nstate) * sizeof(float);
    unsigned char *body = xcalloc(payload + 1, 1);
    memcpy(body, w->params, w->model.nparams * sizeof(float));
    memcpy(body + w->model.nparams * sizeof(float), w->state, w->model.nstate * sizeof(float));
    unsigned char h[BLOB_HEADER] = "NETCWGT1";
    uint64_t fields[][2] = { { 8, BLOB_VERSION }, { 12, BLOB_HEADER }, { 16, w->model.hash }, { 24, w->model.nparams },
                             { 32, w->model.nstate }, { 40, payload }, { 48, crc32(0, body, (uInt)payload) } };
    int widths[] = { 4, 4, 8, 8, 8, 8, 4 };
    for (int f = 0; f < 7; f++)
        for (int b = 0; b < widths[f]; b++)
            h[fields[f][0] + (uint64_t)b] = (unsigned char)(fields[f][1] >> (8 * b));
    uLong hcrc = crc32(0, h, 52);
    for (int b = 0; b < 4; b++)
        h[52 + b] = (unsigned char)(hcrc >> (8 * b));
    FILE *f = open_output(dir, name, path, sizeof path);
    bool ok = f && fwrite(h, 1, sizeof h, f) == sizeof h && fwrite(body, 1, payload, f) == payload;
    ok = close_output(f, path) && ok;
    free(body);
    return ok;
}

/* netc_infer.h and netc_infer.c, from the copy embedded in netc. */
static bool write_kernels(const char *dir)
{
    for (int i = 0; netc_infer_files[i][0]; i++) {
        char path[4200];
        FILE *f = open_output(dir, netc_infer_files[i][0], path, sizeof path);
        if (f)
            fputs(netc_infer_files[i][1], f);
        if (!close_output(f, path) || !f)
            return false;
    }
    return true;
}

int export_c(const Graph *g, const char *weights_path, const char *dir, const char *prefix, int batch, bool blob)
{
    Weights *w = weights_read(g, weights_path);
    if (!w)
        return 1;
    Plan *p = plan_build(g, MODE_EXPORT, batch);
    pack_for_export(g, p, w);
    char macro[80], hpath[4200], cpath[4200], name[96];
    macro_name(prefix, macro, sizeof macro);
    const char *slash = strrchr(weights_path, '/');
    const char *from = slash ? slash + 1 : weights_path;
    char **ids = make_ids(g);
    Layout at = layout_of(g, p, w, batch);
    snprintf(name, sizeof name, "%s.h", prefix);
    FILE *h = open_output(dir, name, hpath, sizeof hpath);
    snprintf(name, sizeof name, "%s.c", prefix);
    FILE *c = h ? open_output(dir, name, cpath, sizeof cpath) : NULL;
    if (h && c) {
        write_api_header(h, g, w, prefix, macro, from, batch, &at, blob);
        write_api_source(c, g, w, ids, p, prefix, macro, from, &at, blob);
    }
    bool ok = close_output(h, hpath) && close_output(c, cpath) && h && c;
    ok = ok && write_kernels(dir) && (!blob || write_blob(dir, prefix, w));
    if (ok)
        fprintf(stderr, "netc: exported %s to %s/%s.[ch] + netc_infer.[ch]%s (workspace %zu bytes, batch <= %d)\n",
                g->model_name, dir, prefix, blob ? " + .weights" : "", at.bytes, batch);
    plan_free(p);
    free_ids(g, ids);
    weights_free(w);
    return ok ? 0 : 2;
}
