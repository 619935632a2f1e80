/* train_config.c — the trainer's settings: one table, and everything done with it.
 *
 * Each entry names a key as the .net train section spells it, its kind, allowed
 * words and range, its default and where its value lives in rt_train_config.  The same
 * table parses the model's settings string (netc compile writes every key, defaults
 * filled in) and the settings saved in a checkpoint, turns command-line options into
 * settings (--weight-decay, --schedule-t-max, --no-nesterov: the key with '.' and '_'
 * as '-'), prints the `train --help` list, and writes the settings in force into each
 * checkpoint.  The ranges are the compiler's (compiler/train.c); the defaults only
 * matter for keys a model's settings lack, which netc compile never leaves out. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "rt_trainer.h"

#define BIG 1e300
#define OFF(field) offsetof(rt_train_config, field)
#define SZ(field) sizeof(((rt_train_config *)0)->field)

static const rt_cfg_entry table[] = {
    { "optimizer", RT_CFG_WORD, "sgd adam adamw", OFF(optimizer), SZ(optimizer), 0, 0, "adam", 0, "the optimizer" },
    { "lr", RT_CFG_FLOAT, NULL, OFF(lr), 0, 0, 10, "0.001", 0, "learning rate (the peak, under a schedule)" },
    { "momentum", RT_CFG_FLOAT, NULL, OFF(momentum), 0, 0, 1, "0", 0, "SGD momentum" },
    { "nesterov", RT_CFG_BOOL, NULL, OFF(nesterov), 0, 0, 0, "false", 0, "SGD with Nesterov momentum" },
    { "weight_decay", RT_CFG_FLOAT, NULL, OFF(weight_decay), 0, 0, 1, "0", 0, "L2 penalty (adamw: decoupled decay)" },
    { "beta1", RT_CFG_FLOAT, NULL, OFF(beta1), 0, 0, 1, "0.9", 0, "Adam beta1" },
    { "beta2", RT_CFG_FLOAT, NULL, OFF(beta2), 0, 0, 1, "0.999", 0, "Adam beta2" },
    { "eps", RT_CFG_FLOAT, NULL, OFF(eps), 0, 0, 1, "1e-08", 0, "Adam epsilon" },
    { "batch", RT_CFG_INT, NULL, OFF(batch), 0, 1, 65536, "100", 0, "mini-batch size (at most the program's maximum)" },
    { "epochs", RT_CFG_INT, NULL, OFF(epochs), 0, 0, 1000000, "10", 0, "epochs to train in all (a resume continues up to it)" },
    { "seed", RT_CFG_INT, NULL, OFF(seed), 0, 0, 4294967295.0, "1", 0, "initialisation, split, shuffling, dropout, augmentation" },
    { "data", RT_CFG_STR, NULL, OFF(data), SZ(data), 0, 0, "/usr/share/datasets/fashion-mnist", 0, "data directory" },
    { "format", RT_CFG_WORD, "idx cifar10 mnist fashion-mnist", OFF(format), SZ(format), 0, 0, "idx", 0,
      "data format (idx: MNIST-style files; names from the directory)" },
    { "valid_split", RT_CFG_FLOAT, NULL, OFF(valid_split), 0, 0, 0.99, "0.1", 0, "fraction of the training set held out (0: none)" },
    { "split", RT_CFG_WORD, "tail random", OFF(split), SZ(split), 0, 0, "random", 0, "which examples are held out" },
    { "mean", RT_CFG_FLOAT, NULL, OFF(mean), 0, -BIG, BIG, NULL, 0, "input normalisation mean (pixels scaled to [0,1])" },
    { "std", RT_CFG_FLOAT, NULL, OFF(std), 0, 1e-300, BIG, NULL, 0, "input normalisation standard deviation" },
    { "schedule", RT_CFG_WORD, "constant cosine step cyclic warm_restarts", OFF(schedule), SZ(schedule), 0, 0, "constant", 0,
      "learning-rate schedule" },
    { "schedule.t_max", RT_CFG_INT, NULL, OFF(t_max), 0, 1, 1000000, NULL, 0, "cosine: epochs of one half cosine (default: epochs)" },
    { "schedule.eta_min", RT_CFG_FLOAT, NULL, OFF(eta_min), 0, 0, 10, "0", 0, "cosine, warm_restarts: lowest learning rate" },
    { "schedule.step_size", RT_CFG_INT, NULL, OFF(step_size), 0, 1, 1000000, NULL, 0,
      "step: epochs between decays; cyclic: steps per half cycle" },
    { "schedule.gamma", RT_CFG_FLOAT, NULL, OFF(gamma), 0, 0, 1, "0.1", 0, "step: decay factor" },
    { "schedule.base_lr", RT_CFG_FLOAT, NULL, OFF(base_lr), 0, 0, 10, NULL, 0, "cyclic: lowest learning rate" },
    { "schedule.max_lr", RT_CFG_FLOAT, NULL, OFF(max_lr), 0, 0, 10, NULL, 0, "cyclic: highest learning rate" },
    { "schedule.t_0", RT_CFG_INT, NULL, OFF(t_0), 0, 1, 1000000, NULL, 0, "warm_restarts: epochs of the first cycle" },
    { "schedule.t_mult", RT_CFG_INT, NULL, OFF(t_mult), 0, 1, 1000, "1", 0, "warm_restarts: cycle length factor" },
    { "augment.crop", RT_CFG_FLOAT, NULL, OFF(aug_crop), 0, 0, 1, "0", 0, "random resized crop: smallest area fraction (0: off)" },
    { "augment.rotate", RT_CFG_FLOAT, NULL, OFF(aug_rotate), 0, 0, 180, "0", 0, "random rotation within +-degrees" },
    { "augment.shift", RT_CFG_INT, NULL, OFF(aug_shift), 0, 0, 1000, "0", 0, "random shift within +-pixels" },
    { "augment.erase", RT_CFG_FLOAT, NULL, OFF(aug_erase), 0, 0, 1, "0", 0, "random erasing probability" },
    { "augment.flip", RT_CFG_BOOL, NULL, OFF(aug_flip), 0, 0, 0, "false", 0, "random horizontal flip" },
    { "augment.pad_crop", RT_CFG_INT, NULL, OFF(aug_pad_crop), 0, 0, 1000, "0", 0, "pad by this many pixels, then crop at random" },
    { "mixup", RT_CFG_FLOAT, NULL, OFF(mixup), 0, 0, 100, "0", 0, "MixUp Beta(alpha, alpha) parameter (0: off)" },
    { "early_stopping", RT_CFG_INT, NULL, OFF(early_stopping), 0, 0, 1000000, "0", 0,
      "stop after this many epochs without a better validation loss (0: off)" },
    { "label_smoothing", RT_CFG_FLOAT, NULL, OFF(label_smoothing), 0, 0, 1, "0", 0, "label smoothing" },
    { "limit", RT_CFG_INT, NULL, OFF(limit), 0, 0, 4294967295.0, "0", 1, "use only the first N training images (0: all)" },
    { "test_limit", RT_CFG_INT, NULL, OFF(test_limit), 0, 0, 4294967295.0, "0", 1, "use only the first N test images (0: all)" },
};
#define NTABLE ((int)(sizeof table / sizeof table[0]))
_Static_assert(NTABLE <= RT_CFG_MAX_ENTRIES, "rt_train_config.set[] holds a flag per entry");

int rt_config_count(void)
{
    return NTABLE;
}

const rt_cfg_entry *rt_config_entry(int i)
{
    return i >= 0 && i < NTABLE ? &table[i] : NULL;
}

static int entry_index(const rt_cfg_entry *e)
{
    return (int)(e - table);
}

/* Equal as names, taking '.', '_' and '-' as the same character. */
static int same_name(const char *a, const char *b)
{
    for (;; a++, b++) {
        char ca = *a == '.' || *a == '_' ? '-' : *a;
        char cb = *b == '.' || *b == '_' ? '-' : *b;
        if (ca != cb)
            return 0;
        if (!ca)
            return 1;
    }
}

const rt_cfg_entry *rt_config_find(const char *name)
{
    for (int i = 0; i < NTABLE; i++)
        if (same_name(table[i].key, name))
            return &table[i];
    return NULL;
}

const char *rt_config_option_name(const rt_cfg_entry *e, char *buf, size_t len)
{
    snprintf(buf, len, "--%s", e->key);
    for (char *p = buf + 2; *p; p++)
        if (*p == '.' || *p == '_')
            *p = '-';
    return buf;
}

int rt_config_is_set(const rt_train_config *c, const rt_cfg_entry *e)
{
    return c->set[entry_index(e)];
}

static int word_in(const char *word, const char *words)
{
    size_t len = strlen(word);
    for (const char *p = words; p && *p;) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if (n == len && strncmp(p, word, n) == 0)
            return 1;
        p = sp ? sp + 1 : NULL;
    }
    return 0;
}

int rt_config_set(rt_train_config *c, const rt_cfg_entry *e, const char *value, char *err,
                  size_t errlen)
{
    char *field = (char *)c + e->offset;
    char *end;
    switch (e->kind) {
    case RT_CFG_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        /* A whole float such as 1e3 is an int too, as in the .net file. */
        if (end == value || *end) {
            double d = strtod(value, &end);
            if (end == value || *end || d != floor(d) || fabs(d) > 9e15)
                return rt_fail(err, errlen, "'%s' must be an integer, got '%s'", e->key, value);
            v = (long long)d;
        } else if (errno == ERANGE) {
            return rt_fail(err, errlen, "'%s' is out of range: '%s'", e->key, value);
        }
        if ((double)v < e->lo || (double)v > e->hi)
            return rt_fail(err, errlen, "'%s' must be between %.0f and %.0f, got %lld", e->key, e->lo, e->hi, v);
        *(long long *)field = v;
        break;
    }
    case RT_CFG_FLOAT: {
        double v = strtod(value, &end);
        if (end == value || *end || !isfinite(v))
            return rt_fail(err, errlen, "'%s' must be a number, got '%s'", e->key, value);
        if (v < e->lo || v > e->hi) {
            if (e->lo > 0 && e->lo < 1e-100)
                return rt_fail(err, errlen, "'%s' must be greater than 0, got %g", e->key, v);
            return rt_fail(err, errlen, "'%s' must be between %g and %g, got %g", e->key, e->lo, e->hi, v);
        }
        *(double *)field = v;
        break;
    }
    case RT_CFG_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
            *(int *)field = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no"))
            *(int *)field = 0;
        else
            return rt_fail(err, errlen, "'%s' must be true or false, got '%s'", e->key, value);
        break;
    case RT_CFG_WORD:
        if (!word_in(value, e->words))
            return rt_fail(err, errlen, "'%s' must be one of: %s; got '%s'", e->key, e->words, value);
        __attribute__((fallthrough));   /* stored as a string */
    case RT_CFG_STR:
        if (strlen(value) >= e->size)
            return rt_fail(err, errlen, "'%s' is too long (at most %zu bytes)", e->key, e->size - 1);
        memcpy(field, value, strlen(value) + 1);
        break;
    }
    c->set[entry_index(e)] = 1;
    return 0;
}

void rt_config_init(rt_train_config *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < NTABLE; i++)
        if (table[i].def)
            rt_config_set(c, &table[i], table[i].def, NULL, 0);
}

int rt_config_parse_text(rt_train_config *c, const char *text, const char *origin, char *err,
                         size_t errlen)
{
    int lineno = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        char line[1200];
        if (len >= sizeof line)
            return rt_fail(err, errlen, "%s, line %d: line too long", origin, lineno);
        memcpy(line, p, len);
        line[len] = 0;
        p = nl ? nl + 1 : NULL;
        if (len == 0)
            continue;
        char *eq = strchr(line, '=');
        if (!eq)
            return rt_fail(err, errlen, "%s, line %d: expected key=value, got '%s'", origin, lineno, line);
        *eq = 0;
        const rt_cfg_entry *e = rt_config_find(line);
        if (!e)
            return rt_fail(err, errlen, "%s: setting '%s' is not known to this trainer", origin, line);
        char msg[300];
        if (rt_config_set(c, e, eq + 1, msg, sizeof msg))
            return rt_fail(err, errlen, "%s: %s", origin, msg);
    }
    return 0;
}

const char *rt_config_value(const rt_train_config *c, const rt_cfg_entry *e, char *buf, size_t len)
{
    const char *field = (const char *)c + e->offset;
    if (!c->set[entry_index(e)]) {
        snprintf(buf, len, "%s", "");
        return buf;
    }
    switch (e->kind) {
    case RT_CFG_INT: snprintf(buf, len, "%lld", *(const long long *)field); break;
    case RT_CFG_FLOAT: {
        /* the shortest form that reads back exactly: 0.2, not 0.20000000000000001 */
        double v = *(const double *)field;
        char num[40];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(num, sizeof num, "%.*g", digits, v);
            if (strtod(num, NULL) == v)
                break;
        }
        snprintf(buf, len, "%s", num);
        break;
    }
    case RT_CFG_BOOL: snprintf(buf, len, "%s", *(const int *)field ? "true" : "false"); break;
    case RT_CFG_WORD:
    case RT_CFG_STR: snprintf(buf, len, "%s", field); break;
    }
    return buf;
}

char *rt_config_format(const rt_train_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    for (int i = 0; i < NTABLE; i++) {
        char v[1100];
        if (c->set[i])
            fprintf(f, "%s=%s\n", table[i].key, rt_config_value(c, &table[i], v, sizeof v));
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static int need(const rt_train_config *c, const char *key, const char *schedule, char *err, size_t errlen)
{
    const rt_cfg_entry *e = rt_config_find(key);
    if (rt_config_is_set(c, e))
        return 0;
    char opt[64];
    return rt_fail(err, errlen, "schedule %s needs %s (in the .net file: schedule = %s(%s = ...); option %s)", schedule,
                key, schedule, strchr(key, '.') + 1, rt_config_option_name(e, opt, sizeof opt));
}

int rt_config_check(const rt_train_config *c, const rt_model *m, char *err, size_t errlen)
{
    if (c->batch > m->max_batch)
        return rt_fail(err, errlen,
                    "batch %lld is larger than this program's maximum batch %d: pass --batch %d or less, or "
                    "rebuild it with netc build --batch %lld", c->batch, m->max_batch, m->max_batch, c->batch);
    const char *s = c->schedule;
    if (!strcmp(s, "step") && need(c, "schedule.step_size", s, err, errlen))
        return -1;
    if (!strcmp(s, "cyclic") && (need(c, "schedule.base_lr", s, err, errlen) || need(c, "schedule.max_lr", s, err, errlen) ||
                                 need(c, "schedule.step_size", s, err, errlen)))
        return -1;
    if (!strcmp(s, "warm_restarts") && need(c, "schedule.t_0", s, err, errlen))
        return -1;
    if (c->early_stopping > 0 && c->valid_split <= 0)
        return rt_fail(err, errlen, "early_stopping needs a validation set: valid_split is 0");
    if (c->mixup > 0 && m->classes < 2)
        return rt_fail(err, errlen, "mixup needs a classifier with at least 2 classes");
    return 0;
}

void rt_config_hparams(const rt_train_config *c, rt_hparams *h)
{
    h->optimizer = !strcmp(c->optimizer, "sgd") ? RT_SGD : !strcmp(c->optimizer, "adamw") ? RT_ADAMW : RT_ADAM;
    h->lr = (float)c->lr;
    h->momentum = (float)c->momentum;
    h->weight_decay = (float)c->weight_decay;
    h->beta1 = (float)c->beta1;
    h->beta2 = (float)c->beta2;
    h->eps = (float)c->eps;
    h->nesterov = c->nesterov;
}
