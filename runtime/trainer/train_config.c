/* train_config.c — the trainer's settings: common/settings.def, and everything done with it.
 *
 * The list (as setting_specs[], common/settings.h) names each key as the .net train
 * section spells it, its kind, allowed words, range and default; here each setting_id
 * also gets where its value lives in rt_train_config.  The table parses the model's
 * settings string (netc compile writes every key, defaults filled in) and the settings
 * saved in a checkpoint, turns command-line options into settings (--weight-decay,
 * --schedule-t-max, --no-nesterov: the key with '.' and '_' as '-'), prints the `train
 * --help` list, and writes the settings in force into each checkpoint.  A word is kept
 * as its index in the word list (its enum value), and printed back as the list's word;
 * a per-channel setting (mean, std) as its numbers, written "0.49,0.48,0.45" or "auto".
 * The defaults only matter for keys a model's settings lack, which netc compile never
 * leaves out.  A string value is escaped in the text (common/settings.c: setting_escape),
 * and a string holding a control character is refused however it comes, so no value can
 * inject a setting; nor may a text give a key twice. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "rt_trainer.h"

/* Where each setting lives in rt_train_config, by setting_id (a group has no field). */
typedef struct {
    size_t offset, size;
} slot;

#define SETTING(field, key, kind, words, calls, def, lo, hi, flags, help) \
    [SETTING_##field] = { offsetof(rt_train_config, field), sizeof(((rt_train_config *)0)->field) },
#define GROUP(field, key, help)
static const slot slots[SETTING_COUNT] = {
#include "../../common/settings.def"
};
#undef SETTING
#undef GROUP

/* Each field has the type its kind is read and written as below. */
#define FIELD_OK_INT(f) _Generic((f), long long: 1, default: 0)
#define FIELD_OK_FLOAT(f) _Generic((f), double: 1, default: 0)
#define FIELD_OK_BOOL(f) _Generic((f), int: 1, default: 0)
#define FIELD_OK_STR(f) _Generic((f), char *: 1, default: 0)
#define FIELD_OK_WORD(f) (sizeof(f) == sizeof(int))
#define FIELD_OK_CALL(f) (sizeof(f) == sizeof(int))
#define FIELD_OK_CHANNELS(f) _Generic((f), setting_channels: 1, default: 0)
#define SETTING(field, key, kind, words, calls, def, lo, hi, flags, help) \
    _Static_assert(FIELD_OK_##kind(((rt_train_config *)0)->field), "rt_train_config." #field " is not a " #kind);
#define GROUP(field, key, help)
#include "../../common/settings.def"
#undef SETTING
#undef GROUP

static int entry_index(const setting_spec *e)
{
    return (int)(e - setting_specs);
}

const setting_spec *rt_config_find(const char *name)
{
    for (int i = 0; i < SETTING_COUNT; i++)
        if (setting_same_name(setting_specs[i].key, name))   /* a group: its shorthand member, if any */
            return setting_specs[i].kind == SETTING_GROUP ? setting_shorthand(&setting_specs[i]) : &setting_specs[i];
    return NULL;
}

const char *rt_config_option_name(const setting_spec *e, char *buf, size_t len)
{
    snprintf(buf, len, "--%s", e->key);
    for (char *p = buf + 2; *p; p++)
        if (*p == '.' || *p == '_')
            *p = '-';
    return buf;
}

int rt_config_is_set(const rt_train_config *c, const setting_spec *e)
{
    return c->set[entry_index(e)];
}

static int word_of(const rt_train_config *c, const setting_spec *e)
{
    int w;
    memcpy(&w, (const char *)c + slots[entry_index(e)].offset, sizeof w);
    return w;
}

/* A number for every channel, numbers separated by commas (one per channel), or auto. */
static int parse_channels(const setting_spec *e, const char *value, setting_channels *out, char *err, size_t errlen)
{
    char *end, msg[512];
    *out = (setting_channels){ 0 };
    if (!strcmp(value, "auto"))
        return 0;
    for (const char *p = value;; p = end + 1) {
        double v = strtod(p, &end);
        if (end == p || (*end && *end != ',') || !isfinite(v))
            return rt_fail(err, errlen, "'%s' must be a number, numbers separated by commas (one per channel) or "
                           "auto, got '%s'", e->key, value);
        if (out->n == SETTING_MAX_CHANNELS)
            return rt_fail(err, errlen, "'%s' has more than %d values: '%s'", e->key, SETTING_MAX_CHANNELS, value);
        if (setting_check_range(e, v, msg, sizeof msg))
            return rt_fail(err, errlen, "%s", msg);
        out->v[out->n++] = v;
        if (!*end)
            return 0;
    }
}

/* The shortest form of v that reads back exactly: 0.2, not 0.20000000000000001. */
static const char *exact_number(double v, char num[40])
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(num, 40, "%.*g", digits, v);
        if (strtod(num, NULL) == v)
            break;
    }
    return num;
}

int rt_config_set(rt_train_config *c, const setting_spec *e, const char *value, char *err, size_t errlen)
{
    const slot *at = &slots[entry_index(e)];
    char *field = (char *)c + at->offset;
    char *end, msg[512];
    switch (e->kind) {
    case SETTING_INT: {
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
        if (setting_check_range(e, (double)v, msg, sizeof msg))
            return rt_fail(err, errlen, "%s", msg);
        *(long long *)field = v;
        break;
    }
    case SETTING_FLOAT: {
        double v = strtod(value, &end);
        if (end == value || *end || !isfinite(v))
            return rt_fail(err, errlen, "'%s' must be a number, got '%s'", e->key, value);
        if (setting_check_range(e, v, msg, sizeof msg))
            return rt_fail(err, errlen, "%s", msg);
        *(double *)field = v;
        break;
    }
    case SETTING_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
            *(int *)field = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no"))
            *(int *)field = 0;
        else
            return rt_fail(err, errlen, "'%s' must be true or false, got '%s'", e->key, value);
        break;
    case SETTING_WORD:
    case SETTING_CALL: {
        int w = setting_word_index(e, value);
        if (w < 0)
            return rt_fail(err, errlen, "%s", setting_word_error(e, value, msg, sizeof msg));
        memcpy(field, &w, sizeof w);
        break;
    }
    case SETTING_CHANNELS:
        if (parse_channels(e, value, (setting_channels *)field, err, errlen))
            return -1;
        break;
    case SETTING_STR:
        if (setting_check_string(e, value, msg, sizeof msg))
            return rt_fail(err, errlen, "%s", msg);
        if (strlen(value) >= at->size)
            return rt_fail(err, errlen, "'%s' is too long (at most %zu bytes)", e->key, at->size - 1);
        memcpy(field, value, strlen(value) + 1);
        break;
    case SETTING_GROUP:
        return rt_fail(err, errlen, "'%s' is a group of settings, not a setting", e->key);
    }
    c->set[entry_index(e)] = 1;
    return 0;
}

void rt_config_init(rt_train_config *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < SETTING_COUNT; i++)
        if (setting_specs[i].def)
            rt_config_set(c, &setting_specs[i], setting_specs[i].def, NULL, 0);
}

int rt_config_parse_text(rt_train_config *c, const char *text, const char *origin, char *err, size_t errlen)
{
    int lineno = 0;
    unsigned char seen[SETTING_COUNT] = { 0 };   /* a key twice: a text that is not one netc wrote */
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        char line[2400];   /* an escaped path of 1023 bytes, each a '\\' */
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
        const setting_spec *e = rt_config_find(line);
        if (!e)
            return rt_fail(err, errlen, "%s: setting '%s' is not known to this trainer", origin, line);
        if (seen[entry_index(e)]++)
            return rt_fail(err, errlen, "%s, line %d: setting '%s' is given twice", origin, lineno, e->key);
        char value[sizeof line], msg[600];
        if (e->kind != SETTING_STR)
            snprintf(value, sizeof value, "%s", eq + 1);
        else if (setting_unescape(eq + 1, value, sizeof value))
            return rt_fail(err, errlen, "%s, line %d: '%s' has a '\\' that starts no escape (\\\\ or \\xHH)", origin,
                           lineno, e->key);
        if (rt_config_set(c, e, value, msg, sizeof msg))
            return rt_fail(err, errlen, "%s: %s", origin, msg);
    }
    return 0;
}

const char *rt_config_value(const rt_train_config *c, const setting_spec *e, char *buf, size_t len)
{
    const char *field = (const char *)c + slots[entry_index(e)].offset;
    if (!c->set[entry_index(e)]) {
        snprintf(buf, len, "%s", "");
        return buf;
    }
    switch (e->kind) {
    case SETTING_INT: snprintf(buf, len, "%lld", *(const long long *)field); break;
    case SETTING_FLOAT: {
        char num[40];
        snprintf(buf, len, "%s", exact_number(*(const double *)field, num));
        break;
    }
    case SETTING_CHANNELS: {
        const setting_channels *ch = (const setting_channels *)field;
        size_t used = (size_t)snprintf(buf, len, "%s", ch->n ? "" : "auto");
        for (int k = 0; k < ch->n && used < len; k++) {
            char num[40];
            used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? "," : "", exact_number(ch->v[k], num));
        }
        break;
    }
    case SETTING_BOOL: snprintf(buf, len, "%s", *(const int *)field ? "true" : "false"); break;
    case SETTING_WORD:
    case SETTING_CALL: snprintf(buf, len, "%s", e->words[word_of(c, e)]); break;
    case SETTING_STR: snprintf(buf, len, "%s", field); break;
    case SETTING_GROUP: snprintf(buf, len, "%s", ""); break;
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
    for (int i = 0; i < SETTING_COUNT; i++) {
        char v[1100], escaped[2 * sizeof v];
        if (!c->set[i])
            continue;
        const char *value = rt_config_value(c, &setting_specs[i], v, sizeof v);
        if (setting_specs[i].kind == SETTING_STR) {   /* as the compiler writes it: one setting a line */
            setting_escape(value, escaped, sizeof escaped);
            value = escaped;
        }
        fprintf(f, "%s=%s\n", setting_specs[i].key, value);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* The arguments the chosen call needs (schedule = step needs step_size), as the list's
 * REQUIRED flags say. */
static int check_required(const rt_train_config *c, char *err, size_t errlen)
{
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting_spec *e = &setting_specs[i];
        const setting_spec *parent = setting_parent(e);
        if (!(e->flags & REQUIRED) || !parent || c->set[i])
            continue;
        int call = word_of(c, parent);
        if (!setting_taken_by(e, call))
            continue;
        char opt[64];
        return rt_fail(err, errlen, "%s %s needs %s (in the .net file: %s = %s(%s = ...); option %s)", parent->key,
                    parent->words[call], e->key, parent->key, parent->words[call], setting_arg_name(e),
                    rt_config_option_name(e, opt, sizeof opt));
    }
    return 0;
}

int rt_config_check(const rt_train_config *c, const rt_model *m, char *err, size_t errlen)
{
    if (c->batch > m->max_batch)
        return rt_fail(err, errlen,
                    "batch %lld is larger than this program's maximum batch %d: pass --batch %d or less, or "
                    "rebuild it with netc build --batch %lld", c->batch, m->max_batch, m->max_batch, c->batch);
    if (check_required(c, err, errlen))
        return -1;
    for (int i = 0; i < SETTING_COUNT; i++) {   /* per-channel values: one per channel of the input */
        const setting_channels *ch = (const setting_channels *)((const char *)c + slots[i].offset);
        if (setting_specs[i].kind == SETTING_CHANNELS && c->set[i] && ch->n > 1 && m->in_h * m->in_w > 1 &&
            ch->n != m->in_c)
            return rt_fail(err, errlen, "'%s' has %d values, one per channel, but the input of model %s has %d "
                           "channel%s", setting_specs[i].key, ch->n, m->name, m->in_c, m->in_c == 1 ? "" : "s");
    }
    if (c->es_patience > 0 && c->valid_split <= 0)
        return rt_fail(err, errlen, "early_stopping needs a validation set: valid_split is 0");
    if (c->eval_mixup > 0 && (c->valid_split <= 0 || m->classes < 2))
        return rt_fail(err, errlen, "eval_mixup needs a validation set and at least 2 classes: valid_split is %g",
                       c->valid_split);
    if (c->mixup > 0 && m->classes < 2)
        return rt_fail(err, errlen, "mixup needs a classifier with at least 2 classes");
    return 0;
}

void rt_config_hparams(const rt_train_config *c, rt_hparams *h)
{
    h->optimizer = (rt_optimizer)c->optimizer;   /* the same values: net.c asserts it */
    h->lr = (float)c->lr;
    h->momentum = (float)c->momentum;
    h->weight_decay = (float)c->weight_decay;
    h->beta1 = (float)c->beta1;
    h->beta2 = (float)c->beta2;
    h->eps = (float)c->eps;
    h->nesterov = c->nesterov;
}
