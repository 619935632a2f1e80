/* weights.c — the trained weights of a checkpoint or .npz, for export-c and export-onnx.
 *
 * They are read by the trainer's own readers (runtime/trainer) against a model table
 * built here from the graph (its tensors' names, shapes and offsets as codegen.c lays
 * out NAME_params and NAME_state, the structure hash, the settings), so a file of
 * another model, or of this one built with other -D values, is refused with the
 * trainer's message.  A checkpoint also gives the settings it was trained with (the
 * input normalisation) and the class names; for an .npz they come from the .net file.
 * Weights that are not all finite numbers are refused: no export should carry them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "weights.h"

void walk_tensors(const Graph *g, tensor_fn *fn, void *ctx)
{
    size_t offset[2] = { 0, 0 };
    for (int trainable = 1; trainable >= 0; trainable--)
        for (int i = 0; i < g->n; i++)
            for (int p = 0; p < g->node[i].nparam; p++) {
                const ParamInfo *pi = &g->node[i].param[p];
                if (pi->trainable != (trainable == 1))
                    continue;
                fn(g, i, p, offset[trainable], ctx);
                offset[trainable] += (size_t)param_numel(pi);
            }
}

/* One row of the tensor table (ctx: the Weights, its ntensors the rows so far). */
static void add_tensor(const Graph *g, int node, int param, size_t offset, void *ctx)
{
    Weights *w = ctx;
    const GNode *n = &g->node[node];
    const ParamInfo *pi = &n->param[param];
    rt_tensor_info *x = &w->tensors[w->model.ntensors++];
    char *name = xcalloc(strlen(n->name) + strlen(pi->suffix) + 2, 1);
    sprintf(name, "%s.%s", n->name, pi->suffix);
    x->name = name;
    x->rank = pi->rank;
    for (int d = 0; d < pi->rank && d < 4; d++)
        x->shape[d] = (int)pi->d[d];
    x->offset = offset;
    x->trainable = pi->trainable;
}

void weights_free(Weights *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->model.ntensors; i++)
        free((char *)w->tensors[i].name);
    free(w->tensors);
    free(w->params);
    free(w->state);
    if (w->class_names)
        for (int k = 0; k < w->model.classes; k++)
            free(w->class_names[k]);
    free(w->class_names);
    free((char *)w->model.settings);
    free(w);
}

static bool is_zip(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char magic[2] = { 0, 0 };
    bool zip = f && fread(magic, 1, 2, f) == 2 && magic[0] == 'P' && magic[1] == 'K';
    if (f)
        fclose(f);
    return zip;
}

/* The normalisation and class names of settings `cfg` (names given by a checkpoint win);
 * fails for a normalisation of auto, which only a checkpoint has resolved. */
static int take_settings(Weights *w, const rt_train_config *cfg, char **names, char *err, size_t errlen)
{
    w->norm = rt_trainer_normalisation(cfg, 0, w->mean, w->std, err, errlen);
    if (w->norm < 0)
        return -1;
    w->class_names = xcalloc((size_t)w->model.classes, sizeof *w->class_names);
    for (int k = 0; k < w->model.classes; k++) {
        char digits[16];
        w->class_names[k] = xstrdup(names ? names[k] : rt_data_default_name(rt_trainer_data_format(cfg), k, digits));
    }
    return 0;
}

/* The first tensor element that is not a finite number, as "NAME[i]"; false if none. */
static bool find_non_finite(const Weights *w, char *where, size_t len)
{
    for (int t = 0; t < w->model.ntensors; t++) {
        const rt_tensor_info *x = &w->tensors[t];
        const float *base = (x->trainable ? w->params : w->state) + x->offset;
        size_t numel = 1;
        for (int d = 0; d < x->rank; d++)
            numel *= (size_t)x->shape[d];
        for (size_t i = 0; i < numel; i++)
            if (!isfinite(base[i])) {
                snprintf(where, len, "%s[%zu] is %g", x->name, i, (double)base[i]);
                return true;
            }
    }
    return false;
}

float *weights_tensor(const Graph *g, const Weights *w, int i, const char *suffix)
{
    size_t len = strlen(g->node[i].name);
    for (int t = 0; t < w->model.ntensors; t++) {
        const rt_tensor_info *x = &w->tensors[t];
        if (strncmp(x->name, g->node[i].name, len) == 0 && x->name[len] == '.' && strcmp(x->name + len + 1, suffix) == 0)
            return (x->trainable ? w->params : w->state) + x->offset;
    }
    return NULL;
}

Weights *weights_read(const Graph *g, const char *path)
{
    const Shape *in = &g->node[g->input].out;
    Weights *w = xcalloc(1, sizeof *w);
    int count = 0;
    for (int i = 0; i < g->n; i++)
        count += g->node[i].nparam;
    w->tensors = xcalloc((size_t)count + 1, sizeof *w->tensors);
    walk_tensors(g, add_tensor, w);
    w->model = (rt_model){ .name = g->model_name, .hash = structure_hash(g), .in_c = (int)in->d[0],
                           .in_h = in->rank == 3 ? (int)in->d[1] : 1, .in_w = in->rank == 3 ? (int)in->d[2] : 1,
                           .classes = (int)g->node[g->output].out.d[0], .max_batch = 1,
                           .nparams = (size_t)graph_params(g, true), .nstate = (size_t)graph_params(g, false),
                           .ntensors = w->model.ntensors, .tensors = w->tensors, .settings = settings_text(g) };
    w->params = xcalloc(w->model.nparams + 1, sizeof *w->params);
    w->state = xcalloc(w->model.nstate + 1, sizeof *w->state);
    rt_net net = { .params = w->params, .state = w->state };
    char err[1024];
    int rc;
    if (is_zip(path)) {
        rc = rt_trainer_import_npz(path, &w->model, &net, err, sizeof err);
        rt_train_config cfg;
        rt_config_init(&cfg);
        if (rc == 0)
            rc = rt_config_parse_text(&cfg, w->model.settings, "the model's settings", err, sizeof err);
        if (rc == 0 && take_settings(w, &cfg, NULL, err, sizeof err)) {
            size_t used = strlen(err);
            snprintf(err + used, sizeof err - used, "; export from the checkpoint of a run, which holds the numbers");
            rc = -1;
        }
    } else {
        rt_ckpt_info info;
        rc = rt_trainer_load_weights(path, &w->model, &net, &info, err, sizeof err);
        if (rc == 0) {
            rc = take_settings(w, &info.cfg, info.class_names, err, sizeof err);
            rt_ckpt_info_free(&info);
        }
    }
    char where[256];
    if (rc == 0 && find_non_finite(w, where, sizeof where)) {
        snprintf(err, sizeof err, "%s: the weights are not all finite numbers: %s", path, where);
        rc = -1;
    }
    if (rc == 0)
        return w;
    fprintf(stderr, "netc: %s\n", err);
    weights_free(w);
    return NULL;
}

int weights_normalisation(const Weights *w, float mean[], float std[])
{
    for (int k = 0; k < w->norm; k++) {
        mean[k] = w->mean[k];
        std[k] = w->std[k];
    }
    return w->norm;
}
