/* train_ckpt.c — what a trainer's checkpoint must hold, checked before any command uses
 * one.
 *
 * The CRC that ckpt.c checks proves a file is the one some writer wrote, not that the
 * writer was this trainer: a forged file with a recomputed CRC passes it.  So every
 * command that reads a checkpoint (train --resume, eval, predict, export, info, plot,
 * netc export-c) opens it with rt_trainer_open_ckpt, which checks every section the
 * trainer writes -- first its type and count against one table, then its contents:
 * the settings parse; the class names are printable lines; the data shape is one the
 * model takes; the position is inside the run (opt.t = step, pos within the epoch);
 * train.order is a permutation of the training split that the settings and the
 * example count give (so no validation example is trained on); the weights and the
 * optimizer moments are finite numbers (the second moment not negative); the epoch
 * sums, early-stopping counters and lr are numbers in range; and each random stream
 * is a PCG state whose increment is odd (an even one can be a fixed point, and
 * rejection sampling would then never end).  Each check is one small function; none
 * loops over more than a section's elements. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "rt_trainer.h"

/* How many elements a section must hold. */
typedef enum { FIXED, TEXT, PARAMS, STATE, TRAIN_EXAMPLES } count_rule;

typedef struct {
    const char *name;
    rt_dtype dtype;
    count_rule rule;
    size_t count;           /* FIXED */
} section_rule;

/* Every section train_loop.c's save_checkpoint writes ("state" only for a model with
 * state). */
static const section_rule section_rules[] = {
    { "config", RT_DT_U8, TEXT, 0 },
    { "class_names", RT_DT_U8, TEXT, 0 },
    { "data.shape", RT_DT_I32, FIXED, 3 },
    { "data.sizes", RT_DT_U64, FIXED, 2 },
    { "params", RT_DT_F32, PARAMS, 0 },
    { "state", RT_DT_F32, STATE, 0 },
    { "opt.m", RT_DT_F32, PARAMS, 0 },
    { "opt.v", RT_DT_F32, PARAMS, 0 },
    { "opt.t", RT_DT_I64, FIXED, 1 },
    { "train.position", RT_DT_U64, FIXED, 3 },
    { "train.order", RT_DT_U32, TRAIN_EXAMPLES, 0 },
    { "train.epoch_sums", RT_DT_F64, FIXED, 4 },
    { "early_stopping", RT_DT_F64, FIXED, 3 },
    { "lr", RT_DT_F64, FIXED, 1 },
    { "rng.data", RT_DT_U64, FIXED, 2 },
    { "rng.dropout", RT_DT_U64, FIXED, 2 },
    { "rng.augment", RT_DT_U64, FIXED, 2 },
};
#define NSECTION_RULES (sizeof section_rules / sizeof section_rules[0])

/* Text sections (settings, class names) hold at most this many bytes. */
#define MAX_TEXT ((size_t)1 << 24)
/* The largest image side a data set may have. */
#define MAX_SIDE 65536

/* The small sections, read once the table's checks have passed. */
typedef struct {
    rt_train_config cfg;
    int32_t shape[3];
    uint64_t sizes[2], position[3];
    int64_t t;
    double sums[4], es[3], lr;
    uint64_t rng[3][2];
} small_sections;

static int corrupted(const rt_ckpt *ck, const char *section, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "PATH: corrupted: section 'NAME': WHY" */
static int corrupted(const rt_ckpt *ck, const char *section, char *err, size_t errlen, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return rt_fail(err, errlen, "%s: corrupted: section '%s': %s", ck->path, section, why);
}

/* ---- the table: presence, type, count ---- */

static int check_table(const rt_ckpt *ck, const rt_model *m, char *err, size_t errlen)
{
    for (size_t i = 0; i < NSECTION_RULES; i++) {
        const section_rule *r = &section_rules[i];
        if (r->rule == STATE && m->nstate == 0)
            continue;
        const rt_ckpt_section *s = rt_ckpt_find(ck, r->name);
        if (!s)
            return rt_fail(err, errlen, "%s: no section '%s'", ck->path, r->name);
        if (s->dtype != r->dtype)
            return rt_fail(err, errlen, "%s: section '%s' holds %s, expected %s", ck->path, r->name,
                           rt_dtype_name(s->dtype), rt_dtype_name(r->dtype));
        size_t want = r->rule == FIXED ? r->count : r->rule == PARAMS ? m->nparams : m->nstate;
        if (r->rule == TEXT && s->count > MAX_TEXT)
            return corrupted(ck, r->name, err, errlen, "%llu bytes of text, at most %zu", (unsigned long long)s->count,
                             MAX_TEXT);
        if (r->rule != TEXT && r->rule != TRAIN_EXAMPLES && s->count != want)
            return rt_fail(err, errlen, "%s: section '%s' has %llu %s values, the model expects %zu", ck->path, r->name,
                           (unsigned long long)s->count, rt_dtype_name(r->dtype), want);
    }
    return 0;
}

/* ---- the small sections ---- */

/* Class names: lines of printable text (UTF-8 allowed), no control characters. */
static int check_names(rt_ckpt *ck, char *err, size_t errlen)
{
    char *names = rt_ckpt_get_text(ck, "class_names", err, errlen);
    if (!names)
        return -1;
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)names; *p && rc == 0; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            rc = corrupted(ck, "class_names", err, errlen, "control character 0x%02x", *p);
    free(names);
    return rc;
}

static int read_small(rt_ckpt *ck, small_sections *v, char *err, size_t errlen)
{
    char *config = rt_ckpt_get_text(ck, "config", err, errlen);
    if (!config)
        return -1;
    rt_config_init(&v->cfg);
    char origin[1100];
    snprintf(origin, sizeof origin, "%s: settings", ck->path);
    int rc = rt_config_parse_text(&v->cfg, config, origin, err, errlen);
    free(config);
    static const char *const rngs[3] = { "rng.data", "rng.dropout", "rng.augment" };
    for (int i = 0; rc == 0 && i < 3; i++)
        rc = rt_ckpt_get(ck, rngs[i], RT_DT_U64, v->rng[i], 2, err, errlen);
    if (rc || check_names(ck, err, errlen) || rt_ckpt_get(ck, "data.shape", RT_DT_I32, v->shape, 3, err, errlen) ||
        rt_ckpt_get(ck, "data.sizes", RT_DT_U64, v->sizes, 2, err, errlen) ||
        rt_ckpt_get(ck, "train.position", RT_DT_U64, v->position, 3, err, errlen) ||
        rt_ckpt_get(ck, "opt.t", RT_DT_I64, &v->t, 1, err, errlen) ||
        rt_ckpt_get(ck, "train.epoch_sums", RT_DT_F64, v->sums, 4, err, errlen) ||
        rt_ckpt_get(ck, "early_stopping", RT_DT_F64, v->es, 3, err, errlen) ||
        rt_ckpt_get(ck, "lr", RT_DT_F64, &v->lr, 1, err, errlen))
        return -1;
    for (int i = 0; i < 3; i++)
        if ((v->rng[i][1] & 1) == 0)
            return corrupted(ck, rngs[i], err, errlen, "the increment of a PCG stream must be odd, got %llu",
                             (unsigned long long)v->rng[i][1]);
    return 0;
}

/* The data shape: one that rt_trainer_load_data accepts for this model. */
static int check_shape(const rt_ckpt *ck, const rt_model *m, const int32_t *d, char *err, size_t errlen)
{
    if (d[0] < 1 || d[0] > RT_DATA_MAX_CHANNELS || d[1] < 1 || d[1] > MAX_SIDE || d[2] < 1 || d[2] > MAX_SIDE)
        return corrupted(ck, "data.shape", err, errlen, "images of %dx%dx%d", (int)d[0], (int)d[1], (int)d[2]);
    int flat = m->in_h == 1 && m->in_w == 1;
    long values = (long)d[0] * d[1] * d[2];
    if (flat ? values != m->in_c : d[0] != m->in_c || d[1] > m->in_h || d[2] > m->in_w)
        return corrupted(ck, "data.shape", err, errlen, "images of %dx%dx%d do not fit the %dx%dx%d input of model %s",
                         (int)d[0], (int)d[1], (int)d[2], m->in_c, m->in_h, m->in_w, m->name);
    return 0;
}

/* The position (epoch, images into it, step), the optimizer's step count, the sums of
 * the epoch so far, the early-stopping counters and the lr. */
static int check_position(const rt_ckpt *ck, const small_sections *v, size_t ntrain, char *err, size_t errlen)
{
    uint64_t epoch = v->position[0], pos = v->position[1], step = v->position[2];
    double max_epochs = setting_specs[SETTING_epochs].hi;
    if ((double)epoch > max_epochs || pos > ntrain || step >= (uint64_t)INT_MAX)
        return corrupted(ck, "train.position", err, errlen, "epoch %llu, %llu images into it, step %llu: outside a run "
                         "of at most %.0f epochs of %zu training examples", (unsigned long long)epoch,
                         (unsigned long long)pos, (unsigned long long)step, max_epochs, ntrain);
    if (v->t < 0 || (uint64_t)v->t != step)
        return corrupted(ck, "opt.t", err, errlen, "%lld optimizer steps, but the position says %llu", (long long)v->t,
                         (unsigned long long)step);
    for (int i = 0; i < 4; i++)
        if (!(isfinite(v->sums[i]) && v->sums[i] >= 0))
            return corrupted(ck, "train.epoch_sums", err, errlen, "value %d is %g", i, v->sums[i]);
    if (isnan(v->es[0]) || v->es[0] == -INFINITY || !(v->es[1] >= 0 && v->es[1] <= (double)epoch) ||
        !(v->es[2] >= 0 && v->es[2] <= (double)epoch))
        return corrupted(ck, "early_stopping", err, errlen, "best %g at epoch %g, %g epochs since, after %llu epochs",
                         v->es[0], v->es[1], v->es[2], (unsigned long long)epoch);
    if (!(isfinite(v->lr) && v->lr >= 0))
        return corrupted(ck, "lr", err, errlen, "%g", v->lr);
    return 0;
}

/* ---- the large sections ---- */

/* Every value of float section `name` (count values) is finite, and >= 0 if nonneg. */
static int check_floats(rt_ckpt *ck, const char *name, size_t count, int nonneg, float *buf, char *err, size_t errlen)
{
    if (count == 0)
        return 0;
    if (rt_ckpt_get(ck, name, RT_DT_F32, buf, count, err, errlen))
        return -1;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(buf[i]) || (nonneg && buf[i] < 0))
            return corrupted(ck, name, err, errlen, "value %zu is %g%s", i, (double)buf[i],
                             isfinite(buf[i]) ? ", it cannot be negative" : "");
    return 0;
}

static int check_weights(rt_ckpt *ck, const rt_model *m, char *err, size_t errlen)
{
    size_t n = m->nparams > m->nstate ? m->nparams : m->nstate;
    float *buf = malloc((n ? n : 1) * sizeof *buf);
    if (!buf)
        return rt_fail(err, errlen, "%s: out of memory", ck->path);
    int rc = check_floats(ck, "params", m->nparams, 0, buf, err, errlen) ||
             check_floats(ck, "state", m->nstate, 0, buf, err, errlen) ||
             check_floats(ck, "opt.m", m->nparams, 0, buf, err, errlen) ||
             check_floats(ck, "opt.v", m->nparams, 1, buf, err, errlen);
    free(buf);
    return rc ? -1 : 0;
}

/* train.order: each example of the training split exactly once. */
static int check_order(rt_ckpt *ck, const rt_split *sp, size_t n, char *err, size_t errlen)
{
    uint32_t *order = malloc((sp->ntrain ? sp->ntrain : 1) * sizeof *order);
    uint8_t *mark = calloc(n ? n : 1, 1);   /* 1: in the training split, 2: seen in the order */
    int rc = order && mark ? rt_ckpt_get(ck, "train.order", RT_DT_U32, order, sp->ntrain, err, errlen)
                           : rt_fail(err, errlen, "%s: out of memory", ck->path);
    for (size_t i = 0; rc == 0 && i < sp->ntrain; i++)
        mark[sp->train[i]] = 1;
    for (size_t i = 0; rc == 0 && i < sp->ntrain; i++) {
        uint32_t k = order[i];
        if (k >= n || mark[k] != 1)
            rc = corrupted(ck, "train.order", err, errlen, "entry %zu is example %u, %s", i, k,
                           k >= n ? "past the data set" : mark[k] == 2 ? "already in the order"
                                                                       : "one of the validation split");
        else
            mark[k] = 2;
    }
    free(order);
    free(mark);
    return rc;
}

/* The training split the settings give for the example count, and train.order against it. */
static int check_split(rt_ckpt *ck, const small_sections *v, size_t *ntrain, char *err, size_t errlen)
{
    const rt_ckpt_section *s = rt_ckpt_find(ck, "train.order");
    uint64_t n = v->sizes[0];
    size_t want = n <= UINT32_MAX ? rt_trainer_split_ntrain((size_t)n, &v->cfg) : 0;
    if (want == 0 || s->count != want)
        return corrupted(ck, "train.order", err, errlen, "%llu entries, but %llu examples with valid_split %g leave %zu "
                         "to train on", (unsigned long long)s->count, (unsigned long long)n, v->cfg.valid_split, want);
    rt_split sp;
    if (rt_trainer_split_n(&sp, (size_t)n, &v->cfg, err, errlen))
        return -1;
    int rc = check_order(ck, &sp, (size_t)n, err, errlen);
    rt_split_free(&sp);
    *ntrain = want;
    return rc;
}

int rt_trainer_check_ckpt(rt_ckpt *ck, const rt_model *m, char *err, size_t errlen)
{
    small_sections v;
    size_t ntrain = 0;
    if (rt_ckpt_check_model(ck, m->name, m->hash, err, errlen) || check_table(ck, m, err, errlen) ||
        read_small(ck, &v, err, errlen) || check_shape(ck, m, v.shape, err, errlen) ||
        check_split(ck, &v, &ntrain, err, errlen) || check_position(ck, &v, ntrain, err, errlen) ||
        check_weights(ck, m, err, errlen))
        return -1;
    return 0;
}

int rt_trainer_open_ckpt(rt_ckpt *ck, const char *path, const rt_model *m, char *err, size_t errlen)
{
    if (rt_ckpt_open(ck, path, err, errlen))
        return -1;
    if (rt_trainer_check_ckpt(ck, m, err, errlen)) {
        rt_ckpt_close(ck);
        return -1;
    }
    return 0;
}
