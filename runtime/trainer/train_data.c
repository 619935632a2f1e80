/* train_data.c — what every trainer command shares: loading the data a model was
 * trained on, turning it into the model's input, evaluating, reading the weights back
 * from a checkpoint, and exchanging them as .npz.
 *
 * The data set, its split and its normalisation are functions of the settings alone
 * (data, format, limit, valid_split, split, seed, mean, std), and checkpoints store the
 * settings, so eval and predict rebuild exactly what train saw from the checkpoint.  A
 * normalisation of `auto` is computed once, when a run starts, and stored in the
 * settings as numbers, so it is a function of the settings too. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rt_trainer.h"

/* The random streams of a seed: the model's init uses stream 0 (generated code). */
#define STREAM_SPLIT 1

static int contains_nocase(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s; s++)
        if (strncasecmp(s, word, n) == 0)
            return 1;
    return 0;
}

rt_data_format rt_trainer_data_format(const rt_train_config *c)
{
    switch (c->format) {
    case FORMAT_CIFAR10: return RT_DATA_CIFAR10;
    case FORMAT_FASHION_MNIST: return RT_DATA_FASHION_MNIST;
    case FORMAT_MNIST: return RT_DATA_MNIST;
    case FORMAT_IDX: break;
    }
    return contains_nocase(c->data, "fashion") ? RT_DATA_FASHION_MNIST : RT_DATA_MNIST;
}

/* A model whose input is [C, 1, 1] takes images flattened: 784 inputs for 1x28x28. */
static int model_is_flat(const rt_model *m)
{
    return m->in_h == 1 && m->in_w == 1;
}

int rt_trainer_load_data(rt_data *d, const rt_train_config *c, const rt_model *m, char *err, size_t errlen)
{
    return rt_trainer_load_data_parts(d, c, m, RT_DATA_TRAIN | RT_DATA_TEST, err, errlen);
}

int rt_trainer_load_data_parts(rt_data *d, const rt_train_config *c, const rt_model *m, unsigned parts, char *err,
                               size_t errlen)
{
    int C = model_is_flat(m) ? 0 : m->in_c;
    if (rt_data_load_parts(d, c->data, rt_trainer_data_format(c), parts, C, 0, 0, m->classes, err, errlen))
        return -1;
    const rt_dataset *t = rt_data_images(d);
    int ok = model_is_flat(m) ? (long)t->C * t->H * t->W == m->in_c : t->H <= m->in_h && t->W <= m->in_w;
    if (!ok) {
        if (model_is_flat(m))
            rt_fail(err, errlen, "%s: images are %dx%dx%d (%ld values), but model %s takes %d values", c->data, t->C,
                 t->H, t->W, (long)t->C * t->H * t->W, m->name, m->in_c);
        else
            rt_fail(err, errlen, "%s: images are %dx%dx%d, larger than the %dx%dx%d input of model %s (smaller images are "
                 "padded, larger ones are not cropped)", c->data, t->C, t->H, t->W, m->in_c, m->in_h, m->in_w, m->name);
        rt_data_free(d);
        return -1;
    }
    if (c->limit > 0 && (size_t)c->limit < d->train.n)
        d->train.n = (size_t)c->limit;
    if (c->test_limit > 0 && (size_t)c->test_limit < d->test.n)
        d->test.n = (size_t)c->test_limit;
    return 0;
}

_Static_assert(SETTING_MAX_CHANNELS == RT_DATA_MAX_CHANNELS, "a per-channel setting holds a value per data channel");

/* Setting `id`'s values for C channels into out[] (def when unset). */
static int channel_values(const rt_train_config *c, setting_id id, int C, float def, float *out, char *err,
                          size_t errlen)
{
    const setting_channels *ch = id == SETTING_mean ? &c->mean : &c->std;
    if (c->set[id] && ch->n == 0)
        return rt_fail(err, errlen, "'%s' is auto, which only a training run computes (from its training split)",
                       setting_specs[id].key);
    if (c->set[id] && ch->n > 1 && ch->n != C)
        return rt_fail(err, errlen, "'%s' has %d values, one per channel, but the images have %d channel%s",
                       setting_specs[id].key, ch->n, C, C == 1 ? "" : "s");
    for (int k = 0; k < C; k++)
        out[k] = !c->set[id] ? def : (float)ch->v[ch->n > 1 ? k : 0];
    return 0;
}

int rt_trainer_normalisation(const rt_train_config *c, int C, float *mean, float *std, char *err, size_t errlen)
{
    int given = c->set[SETTING_mean] ? c->mean.n : 0;
    if (c->set[SETTING_std] && c->std.n > given)
        given = c->std.n;
    if (C == 0)
        C = given > 1 ? given : 1;
    if (C < 1 || C > RT_DATA_MAX_CHANNELS)
        return rt_fail(err, errlen, "images of %d channels: at most %d can be normalised", C, RT_DATA_MAX_CHANNELS);
    if (channel_values(c, SETTING_mean, C, 0.0f, mean, err, errlen) ||
        channel_values(c, SETTING_std, C, 1.0f, std, err, errlen))
        return -1;
    return c->set[SETTING_mean] || c->set[SETTING_std] ? C : 0;
}

/* Sets channels `ch` to the C values of v. */
static void set_channels(setting_channels *ch, const double *v, int C)
{
    ch->n = C;
    for (int k = 0; k < C; k++)
        ch->v[k] = v[k];
}

int rt_trainer_resolve_normalisation(rt_train_config *c, const rt_dataset *train, const rt_split *s, char *err,
                                     size_t errlen)
{
    int mean_auto = c->set[SETTING_mean] && c->mean.n == 0, std_auto = c->set[SETTING_std] && c->std.n == 0;
    if (!mean_auto && !std_auto)
        return 0;
    double mean[RT_DATA_MAX_CHANNELS], std[RT_DATA_MAX_CHANNELS];
    if (rt_dataset_stats(train, s->train, s->ntrain, mean, std, err, errlen))
        return -1;
    for (int k = 0; std_auto && k < train->C; k++)
        if (!(std[k] > 0))
            return rt_fail(err, errlen, "std = auto: every pixel of channel %d of the training images is %g, so the "
                           "standard deviation is 0; give std a number", k, mean[k] * 255);
    if (mean_auto)
        set_channels(&c->mean, mean, train->C);
    if (std_auto)
        set_channels(&c->std, std, train->C);
    return 0;
}

int rt_trainer_xform(rt_batch_xform *x, const rt_dataset *ds, const rt_train_config *c, const rt_model *m,
                     char *err, size_t errlen)
{
    float mean[RT_DATA_MAX_CHANNELS], std[RT_DATA_MAX_CHANNELS];
    int norm = rt_trainer_normalisation(c, ds->C, mean, std, err, errlen);
    if (norm < 0)
        return -1;
    int H = model_is_flat(m) ? 0 : m->in_h, W = model_is_flat(m) ? 0 : m->in_w;
    return rt_batch_xform_init(x, ds, H, W, norm ? mean : NULL, norm ? std : NULL, err, errlen);
}

static rt_split_kind split_kind(const rt_train_config *c)
{
    return c->valid_split <= 0 ? RT_SPLIT_NONE : c->split == SPLIT_TAIL ? RT_SPLIT_TAIL : RT_SPLIT_RANDOM;
}

int rt_trainer_split_n(rt_split *s, size_t n, const rt_train_config *c, char *err, size_t errlen)
{
    rt_rng rng;
    rt_rng_seed(&rng, (uint64_t)c->seed, STREAM_SPLIT);
    return rt_split_make(s, n, split_kind(c), c->valid_split, &rng, err, errlen);
}

int rt_trainer_split(rt_split *s, const rt_dataset *train, const rt_train_config *c, char *err, size_t errlen)
{
    return rt_trainer_split_n(s, train->n, c, err, errlen);
}

size_t rt_trainer_split_ntrain(size_t n, const rt_train_config *c)
{
    return n - rt_split_nvalid(n, split_kind(c), c->valid_split);
}

/* ---- evaluation ---- */

int rt_eval_buffers_alloc(rt_eval_buffers *b, const rt_model *m)
{
    size_t in = (size_t)m->in_c * m->in_h * m->in_w;
    b->x = malloc((size_t)m->max_batch * in * sizeof *b->x);
    b->probs = malloc((size_t)m->max_batch * m->classes * sizeof *b->probs);
    b->labels = malloc((size_t)m->max_batch * sizeof *b->labels);
    b->idx = malloc((size_t)m->max_batch * sizeof *b->idx);
    b->sink = NULL;
    b->sink_ctx = NULL;
    if (!b->x || !b->probs || !b->labels || !b->idx) {
        rt_eval_buffers_free(b);
        return -1;
    }
    return 0;
}

void rt_eval_buffers_free(rt_eval_buffers *b)
{
    free(b->x);
    free(b->probs);
    free(b->labels);
    free(b->idx);
    memset(b, 0, sizeof *b);
}

int rt_argmax(const float *p, int K)
{
    int best = 0;
    for (int k = 1; k < K; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

int rt_trainer_evaluate(const rt_model *m, rt_net *net, const rt_batch_xform *xf, const rt_dataset *ds,
                        const uint32_t *idx, size_t n, rt_eval_buffers *b, double *loss, double *acc,
                        uint64_t *confusion, char *err, size_t errlen)
{
    double loss_sum = 0;
    size_t correct = 0;
    for (size_t pos = 0; pos < n;) {
        size_t bn = n - pos < (size_t)m->max_batch ? n - pos : (size_t)m->max_batch;
        const uint32_t *bidx = idx ? idx + pos : b->idx;
        if (!idx)
            for (size_t i = 0; i < bn; i++)
                b->idx[i] = (uint32_t)(pos + i);
        if (rt_batch_fill(xf, ds, bidx, bn, b->x, b->labels, err, errlen))
            return -1;
        float l = m->evaluate(net, b->x, b->labels, (int)bn, b->probs);
        loss_sum += (double)l * (double)bn;
        for (size_t i = 0; i < bn; i++) {
            int pred = rt_argmax(b->probs + i * (size_t)m->classes, m->classes);
            correct += pred == b->labels[i];
            if (confusion)
                confusion[(size_t)b->labels[i] * m->classes + pred]++;
        }
        if (b->sink)
            b->sink(b->sink_ctx, bidx, b->labels, b->probs, bn);
        pos += bn;
    }
    *loss = n ? loss_sum / (double)n : 0;
    *acc = n ? (double)correct / (double)n : 0;
    return 0;
}

/* ---- weights from checkpoints ---- */

/* Section `name` of uint8 text, NUL-terminated into a malloc'd string. */
char *rt_ckpt_get_text(rt_ckpt *ck, const char *name, char *err, size_t errlen)
{
    const rt_ckpt_section *s = rt_ckpt_find(ck, name);
    if (!s) {
        rt_fail(err, errlen, "%s: no section '%s'", ck->path, name);
        return NULL;
    }
    if (s->dtype != RT_DT_U8 || s->count > (1u << 24)) {
        rt_fail(err, errlen, "%s: section '%s' is not text", ck->path, name);
        return NULL;
    }
    char *text = malloc((size_t)s->count + 1);
    if (!text) {
        rt_fail(err, errlen, "%s: out of memory", ck->path);
        return NULL;
    }
    if (rt_ckpt_get(ck, name, RT_DT_U8, text, (size_t)s->count, err, errlen)) {
        free(text);
        return NULL;
    }
    text[s->count] = 0;
    if (strlen(text) != s->count) {
        free(text);
        rt_fail(err, errlen, "%s: section '%s' holds a NUL byte", ck->path, name);
        return NULL;
    }
    return text;
}

/* Splits "a\nb\n" into n malloc'd strings. */
static char **split_lines(const char *text, int n)
{
    char **out = calloc((size_t)n, sizeof *out);
    if (!out)
        return NULL;
    const char *p = text;
    for (int i = 0; i < n; i++) {
        const char *nl = p ? strchr(p, '\n') : NULL;
        size_t len = p ? (nl ? (size_t)(nl - p) : strlen(p)) : 0;
        out[i] = p && len ? strndup(p, len) : NULL;
        if (!out[i]) {
            char digits[16];
            snprintf(digits, sizeof digits, "%d", i);
            out[i] = strdup(digits);
        }
        p = nl ? nl + 1 : NULL;
    }
    return out;
}

int rt_trainer_load_weights(const char *path, const rt_model *m, rt_net *net, rt_ckpt_info *info, char *err,
                            size_t errlen)
{
    memset(info, 0, sizeof *info);
    rt_ckpt ck;
    if (rt_trainer_open_ckpt(&ck, path, m, err, errlen))
        return -1;
    int rc = 0;
    char *config = NULL, *names = NULL;
    int32_t shape[3] = { 0, 0, 0 };
    uint64_t pos[3] = { 0, 0, 0 };
    if (rc == 0 && !(config = rt_ckpt_get_text(&ck, "config", err, errlen)))
        rc = -1;
    if (rc == 0 && !(names = rt_ckpt_get_text(&ck, "class_names", err, errlen)))
        rc = -1;
    if (rc == 0)
        rc = rt_ckpt_get(&ck, "data.shape", RT_DT_I32, shape, 3, err, errlen);
    if (rc == 0)
        rc = rt_ckpt_get(&ck, "train.position", RT_DT_U64, pos, 3, err, errlen);
    if (rc == 0)
        rc = rt_ckpt_get(&ck, "params", RT_DT_F32, net->params, m->nparams, err, errlen);
    if (rc == 0 && m->nstate > 0)
        rc = rt_ckpt_get(&ck, "state", RT_DT_F32, net->state, m->nstate, err, errlen);
    if (rc == 0) {
        rt_config_init(&info->cfg);
        char origin[1400];
        snprintf(origin, sizeof origin, "%s: settings", path);
        rc = rt_config_parse_text(&info->cfg, config, origin, err, errlen);
    }
    if (rc == 0) {
        info->data_c = shape[0];
        info->data_h = shape[1];
        info->data_w = shape[2];
        info->epoch = pos[0];
        info->pos = pos[1];
        info->step = pos[2];
        info->nclasses = m->classes;
        info->class_names = split_lines(names, m->classes);
        if (!info->class_names)
            rc = rt_fail(err, errlen, "%s: out of memory", path);
    }
    free(config);
    free(names);
    rt_ckpt_close(&ck);
    if (rc)
        rt_ckpt_info_free(info);
    return rc;
}

void rt_ckpt_info_free(rt_ckpt_info *info)
{
    if (info->class_names)
        for (int i = 0; i < info->nclasses; i++)
            free(info->class_names[i]);
    free(info->class_names);
    info->class_names = NULL;
}

/* ---- .npz ---- */

static float *tensor_base(const rt_net *net, const rt_tensor_info *t)
{
    return (t->trainable ? net->params : net->state) + t->offset;
}

int rt_trainer_export_npz(const char *path, const rt_model *m, const rt_net *net, char *err, size_t errlen)
{
    rt_npz_array *a = calloc((size_t)m->ntensors, sizeof *a);
    if (!a)
        return rt_fail(err, errlen, "%s: out of memory", path);
    for (int i = 0; i < m->ntensors; i++) {
        const rt_tensor_info *t = &m->tensors[i];
        a[i].name = t->name;
        a[i].data = tensor_base(net, t);
        a[i].ndim = t->rank;
        for (int d = 0; d < t->rank && d < 4; d++)
            a[i].shape[d] = (size_t)t->shape[d];
    }
    int rc = rt_npz_write(path, a, (size_t)m->ntensors, err, errlen);
    free(a);
    return rc;
}

int rt_trainer_import_npz(const char *path, const rt_model *m, rt_net *net, char *err, size_t errlen)
{
    /* Into copies first, so that a failure leaves net as it was. */
    float *params = malloc((m->nparams ? m->nparams : 1) * sizeof *params);
    float *state = malloc((m->nstate ? m->nstate : 1) * sizeof *state);
    if (!params || !state) {
        free(params);
        free(state);
        return rt_fail(err, errlen, "%s: out of memory", path);
    }
    memcpy(params, net->params, m->nparams * sizeof *params);
    memcpy(state, net->state, m->nstate * sizeof *state);
    rt_npz z;
    int rc = rt_npz_open(&z, path, err, errlen);
    for (int i = 0; rc == 0 && i < m->ntensors; i++) {
        const rt_tensor_info *t = &m->tensors[i];
        size_t shape[RT_NPY_MAX_DIMS];
        for (int d = 0; d < t->rank && d < 4; d++)
            shape[d] = (size_t)t->shape[d];
        float *dst = (t->trainable ? params : state) + t->offset;
        rc = rt_npz_read_f32(&z, t->name, dst, t->rank, shape, err, errlen);
    }
    rt_npz_close(&z);
    if (rc == 0) {
        memcpy(net->params, params, m->nparams * sizeof *params);
        memcpy(net->state, state, m->nstate * sizeof *state);
    }
    free(params);
    free(state);
    return rc;
}
