/* cli_eval.c — the commands that use a trained checkpoint: eval, predict, export, and
 * info, which describes the model or a checkpoint.
 *
 * Each loads the weights with rt_trainer_load_weights, which also returns the settings
 * the checkpoint was trained with, so the data, its validation split and its
 * normalisation are rebuilt exactly as training saw them.  eval's augmentation is not
 * training's: off, unless its own --augment-... options ask (eval_xform.c). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "rt_trainer.h"

static int need_option(const rt_cli_args *a, const char *cmd, const char *name, const char **value)
{
    *value = rt_cli_get(a, name);
    if (*value)
        return 0;
    fprintf(stderr, "%s %s: --%s is required (see %s %s --help)\n", a->prog, cmd, name, a->prog, cmd);
    return -1;
}

/* Allocates net and loads CKPT into it; reports and returns non-zero on failure. */
static int open_checkpoint(const rt_model *m, const rt_cli_args *a, const char *path, rt_net *net, rt_ckpt_info *info)
{
    if (rt_net_alloc(net, m)) {
        fprintf(stderr, "%s: out of memory for model %s\n", a->prog, m->name);
        return -1;
    }
    char err[2048];
    if (rt_trainer_load_weights(path, m, net, info, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", a->prog, err);
        rt_net_free(net);
        return -1;
    }
    return 0;
}

/* ---- eval ---- */

/* What eval does to the examples: the augment.* options given (training's are reset to
 * off), --mixup ALPHA, --seed N (default the checkpoint's).  Returns 2 on a bad value. */
static int eval_transform(const rt_cli_args *a, rt_train_config *cfg, double *mixup, uint64_t *seed)
{
    for (int i = 0; i < SETTING_COUNT; i++)
        if (!strncmp(setting_specs[i].key, "augment.", 8) && setting_specs[i].def)
            rt_config_set(cfg, &setting_specs[i], setting_specs[i].def, NULL, 0);
    for (int i = 0; i < a->ngiven; i++) {
        const setting_spec *e = rt_config_find(a->given[i].name);
        if (e && !strncmp(e->key, "augment.", 8))
            rt_config_set(cfg, e, a->given[i].value, NULL, 0);   /* checked when parsed */
    }
    const char *v = rt_cli_get(a, "mixup");
    char *end;
    *mixup = v ? strtod(v, &end) : 0;
    if (v && (end == v || *end || !(*mixup > 0 && *mixup <= 100))) {
        fprintf(stderr, "%s eval: --mixup must be a number in (0, 100], got '%s'\n", a->prog, v);
        return 2;
    }
    long long sd = (long long)cfg->seed;
    int rc = rt_cli_whole(a, "eval", "seed", 0, LLONG_MAX, &sd);
    *seed = (uint64_t)sd;
    return rc ? 2 : 0;
}

/* "rotate 25, mixup 0.4, seed 1": the transform, for the report; "" if none. */
static void describe_transform(const rt_train_config *cfg, double mixup, uint64_t seed, char *buf, size_t len)
{
    size_t used = strlen(rt_augment_describe(cfg, buf, len));
    if (mixup > 0)
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%smixup %g", used ? ", " : "", mixup);
    if (used)
        snprintf(buf + used, used < len ? len - used : 0, ", seed %llu", (unsigned long long)seed);
}

static void print_confusion(const rt_model *m, const rt_ckpt_info *info, const uint64_t *conf)
{
    int K = m->classes;
    uint64_t most = 0;
    int namew = 4;
    for (int i = 0; i < K * K; i++)
        most = conf[i] > most ? conf[i] : most;
    for (int k = 0; k < K; k++) {
        int len = (int)strlen(info->class_names[k]);
        namew = len > namew ? len : namew;
    }
    int w = 3;
    for (uint64_t v = most; v >= 1000; v /= 10)
        w++;
    printf("confusion matrix (rows: true class, columns: predicted class):\n");
    printf("%*s", namew + 4, "");
    for (int k = 0; k < K; k++)
        printf(" %*d", w, k);
    printf("\n");
    for (int t = 0; t < K; t++) {
        printf("%2d %-*s ", t, namew, info->class_names[t]);
        for (int p = 0; p < K; p++)
            printf(" %*llu", w, (unsigned long long)conf[(size_t)t * K + p]);
        printf("\n");
    }
}

/* The examples of one split of a checkpoint's data: the data read once (only the files
 * the split needs: the test split reads no training files), its transform to the
 * model's input, and the examples idx[0..n) of ds (idx NULL: the first n of ds). */
typedef struct {
    rt_data data;
    rt_split sp;
    rt_batch_xform xf;
    const rt_dataset *ds;
    const uint32_t *idx;
    size_t n;
} split_data;

/* --split SPLIT (default test) and --limit N (default 0: all) of command cmd; NULL after
 * reporting a bad one. */
static const char *split_option(const rt_cli_args *a, const char *cmd, size_t *limit)
{
    const char *split = rt_cli_get(a, "split") ? rt_cli_get(a, "split") : "test";
    long long n = 0;
    if (rt_cli_whole(a, cmd, "limit", 0, LLONG_MAX, &n))
        return NULL;
    *limit = (size_t)n;
    if (!strcmp(split, "test") || !strcmp(split, "train") || !strcmp(split, "valid"))
        return split;
    fprintf(stderr, "%s %s: --split must be test, train or valid, got '%s'\n", a->prog, cmd, split);
    return NULL;
}

/* Loads split `split` of the data the checkpoint (info) was trained on, or of dir: its
 * first `limit` examples (0: all of them). */
static int load_split(const rt_model *m, rt_ckpt_info *info, const char *dir, const char *split, size_t limit,
                      split_data *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    info->cfg.test_limit = 0;   /* the whole test set */
    if (dir && rt_config_set(&info->cfg, rt_config_find("data"), dir, err, errlen))
        return -1;
    int test = !strcmp(split, "test");
    char why[2048];
    if (rt_trainer_load_data_parts(&s->data, &info->cfg, m, test ? RT_DATA_TEST : RT_DATA_TRAIN, why, sizeof why))
        return rt_fail(err, errlen, "--split %s: %s", split, why);
    if ((!test && rt_trainer_split(&s->sp, &s->data.train, &info->cfg, err, errlen)) ||
        rt_trainer_xform(&s->xf, rt_data_images(&s->data), &info->cfg, m, err, errlen))
        return -1;
    s->ds = test ? &s->data.test : &s->data.train;
    s->idx = !strcmp(split, "train") ? s->sp.train : !strcmp(split, "valid") ? s->sp.valid : NULL;
    s->n = !strcmp(split, "train") ? s->sp.ntrain : !strcmp(split, "valid") ? s->sp.nvalid : s->data.test.n;
    if (s->n == 0)
        return rt_fail(err, errlen, "the %s split of %s is empty (valid_split %g)", split, info->cfg.data,
                       info->cfg.valid_split);
    if (limit && limit < s->n)
        s->n = limit;
    return 0;
}

static void split_free(split_data *s)
{
    rt_split_free(&s->sp);
    rt_data_free(&s->data);
}

int rt_cmd_eval(const rt_model *m, const rt_cli_args *a)
{
    size_t limit;
    const char *path, *split = split_option(a, "eval", &limit);
    if (!split || need_option(a, "eval", "ckpt", &path))
        return 2;
    rt_net net;
    rt_ckpt_info info;
    if (open_checkpoint(m, a, path, &net, &info))
        return 1;
    double mixup;
    uint64_t seed;
    if (eval_transform(a, &info.cfg, &mixup, &seed)) {
        rt_ckpt_info_free(&info);
        rt_net_free(&net);
        return 2;
    }
    char err[2048], how[512];
    int rc = 0;
    rt_augment aug = { 0 };
    split_data sd = { 0 };
    rt_eval_buffers eb = { 0 };
    uint64_t *conf = calloc((size_t)m->classes * m->classes, sizeof *conf);
    if (!conf || rt_eval_buffers_alloc(&eb, m)) {
        snprintf(err, sizeof err, "out of memory");
        rc = 1;
    }
    if (rc == 0 && load_split(m, &info, rt_cli_get(a, "data"), split, limit, &sd, err, sizeof err))
        rc = 1;
    const rt_batch_xform *xf = &sd.xf;
    float bg[RT_DATA_MAX_CHANNELS];
    for (int c = 0; rc == 0 && c < xf->C; c++)
        bg[c] = xf->lut[c][0];
    if (rc == 0 && rt_augment_init(&aug, &info.cfg, xf->C, xf->H, xf->W, bg, err, sizeof err))
        rc = 1;
    describe_transform(&info.cfg, mixup, seed, how, sizeof how);
    rt_eval_xform t = { &aug, mixup, seed };
    double loss = 0, acc = 0;
    size_t n = sd.n;
    if (rc == 0 && (how[0] ? rt_trainer_evaluate_xformed(m, &net, xf, sd.ds, sd.idx, n, &t, &loss, &acc, conf, err,
                                                         sizeof err)
                           : rt_trainer_evaluate(m, &net, xf, sd.ds, sd.idx, n, &eb, &loss, &acc, conf, err, sizeof err)))
        rc = 1;
    if (rc == 0) {
        printf("checkpoint %s: %llu epochs, step %llu\n", path, (unsigned long long)info.epoch,
               (unsigned long long)info.step);
        printf("%s split of %s: %zu images%s%s\n", split, info.cfg.data, n, how[0] ? ", transformed: " : "", how);
        printf("loss: %.4f\n", loss);
        printf("accuracy: %.4f\n", acc);
        print_confusion(m, &info, conf);
    } else {
        fprintf(stderr, "%s: %s\n", a->prog, err);
    }
    free(conf);
    rt_augment_free(&aug);
    rt_eval_buffers_free(&eb);
    split_free(&sd);
    rt_ckpt_info_free(&info);
    rt_net_free(&net);
    return rc;
}

/* ---- predict ---- */

/* Whether an image of this shape can be the model's input. */
static int image_fits(const rt_model *m, const rt_ckpt_info *info, const rt_image *img, char *err, size_t errlen,
                      const char *path)
{
    if (m->in_h == 1 && m->in_w == 1) {
        if ((long)img->C * img->H * img->W == m->in_c)
            return 1;
        snprintf(err, errlen, "%s: a %dx%dx%d image has %ld values, model %s takes %d", path, img->C, img->H, img->W,
                 (long)img->C * img->H * img->W, m->name, m->in_c);
        return 0;
    }
    if (img->C != m->in_c) {
        snprintf(err, errlen, "%s: the image has %d channel%s (%s), model %s takes %d (%s)", path, img->C,
                 img->C == 1 ? "" : "s", img->C == 1 ? "grayscale" : "RGB", m->name, m->in_c,
                 m->in_c == 1 ? "grayscale" : "RGB");
        return 0;
    }
    if ((img->H == m->in_h && img->W == m->in_w) || (img->H == info->data_h && img->W == info->data_w))
        return 1;
    if (info->data_h != m->in_h || info->data_w != m->in_w)
        snprintf(err, errlen, "%s: the image is %dx%d, model %s takes %dx%d (or %dx%d, padded as in training)", path,
                 img->W, img->H, m->name, m->in_w, m->in_h, info->data_w, info->data_h);
    else
        snprintf(err, errlen, "%s: the image is %dx%d, model %s takes %dx%d images", path, img->W, img->H, m->name,
                 m->in_w, m->in_h);
    return 0;
}

/* order[0..top): the classes of the top probabilities of p[0..K), most likely first
 * (a partial selection sort; order has K entries). */
static void top_classes(const float *p, int K, int top, int *order)
{
    for (int k = 0; k < K; k++)
        order[k] = k;
    for (int i = 0; i < top; i++)
        for (int j = i + 1; j < K; j++)
            if (p[order[j]] > p[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
}

static int predict_one(const rt_model *m, rt_net *net, const rt_ckpt_info *info, const char *spec, int top, float *x,
                       float *probs, int *order, char *err, size_t errlen)
{
    rt_image img;
    if (rt_image_read(spec, &img, err, errlen))
        return -1;
    if (!image_fits(m, info, &img, err, errlen, spec)) {
        rt_image_free(&img);
        return -1;
    }
    int32_t label = 0;
    rt_dataset ds = { .n = 1, .C = img.C, .H = img.H, .W = img.W, .num_classes = m->classes, .pixels = img.pixels,
                      .labels = &label };
    rt_batch_xform xf;
    uint32_t idx0 = 0;
    if (rt_trainer_xform(&xf, &ds, &info->cfg, m, err, errlen) ||
        rt_batch_fill(&xf, &ds, &idx0, 1, x, NULL, err, errlen)) {
        rt_image_free(&img);
        return -1;
    }
    m->evaluate(net, x, NULL, 1, probs);
    int K = m->classes;
    top_classes(probs, K, top, order);
    if (img.label >= 0 && img.label < K)
        printf("%s (true class: %d %s)\n", spec, img.label, info->class_names[img.label]);
    else
        printf("%s\n", spec);
    for (int i = 0; i < top; i++)
        printf("  %.4f  %d %s\n", probs[order[i]], order[i], info->class_names[order[i]]);
    rt_image_free(&img);
    return 0;
}

/* predict FILE...: each image read, classified and reported on its own. */
static int predict_files(const rt_model *m, const rt_cli_args *a, rt_net *net, const rt_ckpt_info *info, int top)
{
    float *x = malloc((size_t)m->in_c * m->in_h * m->in_w * sizeof *x);
    float *probs = malloc((size_t)m->classes * sizeof *probs);
    int *order = malloc((size_t)m->classes * sizeof *order);
    int rc = 0;
    if (!x || !probs || !order) {
        fprintf(stderr, "%s: out of memory\n", a->prog);
        rc = 1;
    }
    for (int i = 0; x && probs && order && i < a->nfiles; i++) {
        char err[2048];
        if (predict_one(m, net, info, a->files[i], top, x, probs, order, err, sizeof err)) {
            fflush(stdout);
            fprintf(stderr, "%s: %s\n", a->prog, err);
            rc = 1;   /* report every bad file, then fail */
        }
    }
    free(x);
    free(probs);
    free(order);
    return rc;
}

/* Bulk prediction: one CSV row per example of a split, written as each batch is done. */
typedef struct {
    FILE *out;
    int K, top;
    int *order;
    rt_progress bar;
    size_t rows, steps;
    double loss_sum;           /* cross-entropy so far, for the progress bar */
} csv_rows;

static void write_rows(void *ctx, const uint32_t *idx, const int32_t *labels, const float *probs, size_t bn)
{
    csv_rows *c = ctx;
    for (size_t i = 0; i < bn; i++) {
        const float *p = probs + i * (size_t)c->K;
        top_classes(p, c->K, c->top, c->order);
        fprintf(c->out, "%u,%d", idx[i], labels[i]);
        for (int j = 0; j < c->top; j++)
            fprintf(c->out, ",%d,%.6f", c->order[j], p[c->order[j]]);
        fputc('\n', c->out);
        c->loss_sum -= log(fmax((double)p[labels[i]], 1e-30));
    }
    c->rows += bn;
    rt_progress_update(&c->bar, ++c->steps, c->rows, c->loss_sum / (double)c->rows);
}

/* predict --split SPLIT [--data DIR] [-o FILE]: the split read once, in batches. */
static int predict_split(const rt_model *m, const rt_cli_args *a, rt_net *net, rt_ckpt_info *info, int top)
{
    size_t limit;
    const char *split = split_option(a, "predict", &limit), *file = rt_cli_get(a, "output");
    if (!split)
        return 2;
    char err[2048];
    split_data sd = { 0 };
    rt_eval_buffers eb = { 0 };
    csv_rows rows = { .out = file ? fopen(file, "w") : stdout, .K = m->classes, .top = top };
    rows.order = malloc((size_t)m->classes * sizeof *rows.order);
    int rc = 0;
    if (!rows.out)
        rc = rt_fail(err, sizeof err, "%s: cannot create: %s", file, strerror(errno));
    else if (!rows.order || rt_eval_buffers_alloc(&eb, m))
        rc = rt_fail(err, sizeof err, "out of memory");
    else
        rc = load_split(m, info, rt_cli_get(a, "data"), split, limit, &sd, err, sizeof err);
    double loss, acc;
    if (rc == 0) {
        fprintf(rows.out, "index,label");
        for (int j = 1; j <= top; j++)
            fprintf(rows.out, ",class%d,prob%d", j, j);
        fputc('\n', rows.out);
        eb.sink = write_rows;
        eb.sink_ctx = &rows;
        rt_progress_begin(&rows.bar, stderr, "predict", rt_batch_count(sd.n, (size_t)m->max_batch));
        rc = rt_trainer_evaluate(m, net, &sd.xf, sd.ds, sd.idx, sd.n, &eb, &loss, &acc, NULL, err, sizeof err);
        rt_progress_end(&rows.bar);
    }
    if (rows.out && rows.out != stdout && fclose(rows.out) != 0 && rc == 0)
        rc = rt_fail(err, sizeof err, "%s: cannot write: %s", file, strerror(errno));
    if (rc == 0 && file)
        printf("wrote %s: %zu rows, the %s split of %s (accuracy %.4f)\n", file, rows.rows, split, info->cfg.data, acc);
    else if (rc)
        fprintf(stderr, "%s: %s\n", a->prog, err);
    free(rows.order);
    rt_eval_buffers_free(&eb);
    split_free(&sd);
    return rc ? 1 : 0;
}

int rt_cmd_predict(const rt_model *m, const rt_cli_args *a)
{
    const char *path;
    if (need_option(a, "predict", "ckpt", &path))
        return 2;
    int bulk = rt_cli_get(a, "split") || rt_cli_get(a, "data") || rt_cli_get(a, "output") || rt_cli_get(a, "limit");
    if (a->nfiles == 0 && !bulk) {
        fprintf(stderr, "%s predict: no images given, nor --split (see %s predict --help)\n", a->prog, a->prog);
        return 2;
    }
    if (a->nfiles > 0 && bulk) {
        fprintf(stderr, "%s predict: image files and --split/--data/--output/--limit do not go together\n", a->prog);
        return 2;
    }
    long long want = 3;
    if (rt_cli_whole(a, "predict", "top", 1, LLONG_MAX, &want))
        return 2;
    int top = want > m->classes ? m->classes : (int)want;
    rt_net net;
    rt_ckpt_info info;
    if (open_checkpoint(m, a, path, &net, &info))
        return 1;
    int rc = bulk ? predict_split(m, a, &net, &info, top) : predict_files(m, a, &net, &info, top);
    rt_ckpt_info_free(&info);
    rt_net_free(&net);
    return rc;
}

/* ---- export ---- */

int rt_cmd_export(const rt_model *m, const rt_cli_args *a)
{
    const char *path, *npz;
    if (need_option(a, "export", "ckpt", &path) || need_option(a, "export", "npz", &npz))
        return 2;
    rt_net net;
    rt_ckpt_info info;
    if (open_checkpoint(m, a, path, &net, &info))
        return 1;
    char err[2048];
    int rc = rt_trainer_export_npz(npz, m, &net, err, sizeof err);
    if (rc)
        fprintf(stderr, "%s: %s\n", a->prog, err);
    else
        printf("wrote %s: %d arrays, %zu parameters and %zu state values of model %s\n", npz, m->ntensors, m->nparams,
               m->nstate, m->name);
    rt_ckpt_info_free(&info);
    rt_net_free(&net);
    return rc ? 1 : 0;
}

/* ---- info ---- */

static void print_model(const rt_model *m)
{
    printf("model %s (hash %016llx)\n", m->name, (unsigned long long)m->hash);
    printf("input %dx%dx%d, %d classes, batch <= %d\n", m->in_c, m->in_h, m->in_w, m->classes, m->max_batch);
    printf("%zu parameters, %zu state values; arenas: training %.1f MB, inference %.1f MB\n", m->nparams, m->nstate,
           (double)m->arena_bytes / 1e6, (double)m->infer_arena_bytes / 1e6);
    printf("tensors:\n");
    for (int i = 0; i < m->ntensors; i++) {
        const rt_tensor_info *t = &m->tensors[i];
        char shape[64] = "[";
        for (int d = 0; d < t->rank; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%d", d ? ", " : "", t->shape[d]);
        strcat(shape, "]");
        printf("  %-32s %-18s %s\n", t->name, shape, t->trainable ? "parameter" : "state");
    }
    printf("train settings:\n");
    for (const char *p = m->settings ? m->settings : ""; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("  %.*s\n", len, p);
        p += len + (nl != NULL);
    }
}

static int print_checkpoint(const rt_model *m, const rt_cli_args *a, const char *path)
{
    char err[2048];
    rt_ckpt ck;
    if (rt_trainer_open_ckpt(&ck, path, m, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", a->prog, err);
        return 1;
    }
    int rc = 0;
    uint64_t pos[3];
    if (rc == 0 && rt_ckpt_get(&ck, "train.position", RT_DT_U64, pos, 3, err, sizeof err) == 0)
        printf("checkpoint %s: model %s, %llu epochs done, %llu images into epoch %llu, step %llu\n", path, ck.model,
               (unsigned long long)pos[0], (unsigned long long)pos[1], (unsigned long long)pos[0] + 1,
               (unsigned long long)pos[2]);
    char *config = rc == 0 ? rt_ckpt_get_text(&ck, "config", err, sizeof err) : NULL;
    if (config) {
        printf("settings:\n");
        for (char *line = strtok(config, "\n"); line; line = strtok(NULL, "\n"))
            printf("  %s\n", line);
        free(config);
    }
    if (rc == 0)
        printf("sections (crc32 of the data):\n");
    for (size_t i = 0; rc == 0 && i < ck.nsec; i++) {
        const rt_ckpt_section *s = &ck.sec[i];
        size_t bytes = (size_t)s->count * rt_dtype_size(s->dtype);
        void *buf = malloc(bytes ? bytes : 1);
        if (!buf || rt_ckpt_get(&ck, s->name, s->dtype, buf, (size_t)s->count, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", a->prog, buf ? err : "out of memory");
            free(buf);
            rc = 1;
            break;
        }
        uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
        for (size_t off = 0; off < bytes; off += 1u << 20)
            crc = (uint32_t)crc32(crc, (const Bytef *)buf + off, (uInt)(bytes - off < (1u << 20) ? bytes - off : 1u << 20));
        free(buf);
        char dims[128] = "";
        for (int d = 0; d < s->ndim; d++)
            snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%s%llu", d ? "," : "",
                     (unsigned long long)s->dims[d]);
        char type[160];
        snprintf(type, sizeof type, "%s[%s]", rt_dtype_name(s->dtype), dims);
        printf("  %-20s %-22s %08x\n", s->name, type, crc);
    }
    rt_ckpt_close(&ck);
    return rc;
}

int rt_cmd_info(const rt_model *m, const rt_cli_args *a)
{
    const char *path = rt_cli_get(a, "ckpt");
    if (path)
        return print_checkpoint(m, a, path);
    print_model(m);
    return 0;
}
