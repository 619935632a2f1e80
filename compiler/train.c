/* train.c — the schema of the `train { ... }` section.
 *
 * One table lists every setting: its key, kind, allowed words, default and range.
 * setting_add() checks a value against it (unknown keys get a did-you-mean, wrong
 * types and out-of-range numbers an error at the value) and records it; the code
 * generator and trainers read settings back with setting_value(), which falls back
 * to the default, so defaults live only here.  Keys inside a group are
 * "group.key"; a call's arguments are "key.arg", and the table says which calls
 * take which arguments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"

typedef enum { K_INT, K_FLOAT, K_BOOL, K_STR, K_WORD, K_CALL, K_GROUP } SettingKind;

typedef struct {
    const char *key;
    SettingKind kind;
    const char *words;     /* K_WORD, K_CALL: the allowed words; call arguments: the calls taking it */
    const char *def;       /* default, as it would be written in a .net file; NULL: none */
    double lo, hi;         /* allowed numeric range */
    const char *help;
    bool required;         /* a call argument the call cannot do without */
} SettingSpec;

#define BIG 1e300
static const SettingSpec schema[] = {
    { "optimizer", K_WORD, "sgd adam adamw", "adam", 0, 0, "the optimizer", false },
    { "lr", K_FLOAT, NULL, "0.001", 0, 10, "learning rate", false },
    { "momentum", K_FLOAT, NULL, "0", 0, 1, "SGD momentum", false },
    { "nesterov", K_BOOL, NULL, "false", 0, 0, "SGD with Nesterov momentum", false },
    { "weight_decay", K_FLOAT, NULL, "0", 0, 1, "L2 penalty (adamw: decoupled decay)", false },
    { "beta1", K_FLOAT, NULL, "0.9", 0, 1, "Adam beta1", false },
    { "beta2", K_FLOAT, NULL, "0.999", 0, 1, "Adam beta2", false },
    { "eps", K_FLOAT, NULL, "1e-8", 0, 1, "Adam epsilon", false },
    { "batch", K_INT, NULL, "100", 1, 65536, "mini-batch size", false },
    { "epochs", K_INT, NULL, "10", 0, 1000000, "training epochs", false },
    { "seed", K_INT, NULL, "1", 0, 4294967295.0, "random seed", false },
    { "data", K_STR, NULL, "/usr/share/datasets/fashion-mnist", 0, 0, "data directory", false },
    { "format", K_WORD, "idx cifar10", "idx", 0, 0, "data format", false },
    { "valid_split", K_FLOAT, NULL, "0.1", 0, 0.99, "fraction of the training set held out", false },
    { "split", K_WORD, "tail random", "random", 0, 0, "how the validation set is taken", false },
    { "mean", K_FLOAT, NULL, NULL, -BIG, BIG, "input normalisation mean (after scaling to [0,1])", false },
    { "std", K_FLOAT, NULL, NULL, 1e-12, BIG, "input normalisation standard deviation", false },
    { "schedule", K_CALL, "constant cosine step cyclic warm_restarts", "constant", 0, 0, "learning-rate schedule", false },
    { "schedule.t_max", K_INT, "cosine", NULL, 1, 1000000, "cosine: epochs of one half cosine (default: epochs)", false },
    { "schedule.eta_min", K_FLOAT, "cosine warm_restarts", "0", 0, 10, "lowest learning rate", false },
    { "schedule.step_size", K_INT, "step cyclic", NULL, 1, 1000000, "step: epochs between decays; cyclic: steps per half cycle", true },
    { "schedule.gamma", K_FLOAT, "step", "0.1", 0, 1, "step: decay factor", false },
    { "schedule.base_lr", K_FLOAT, "cyclic", NULL, 0, 10, "cyclic: lowest learning rate", true },
    { "schedule.max_lr", K_FLOAT, "cyclic", NULL, 0, 10, "cyclic: highest learning rate", true },
    { "schedule.t_0", K_INT, "warm_restarts", NULL, 1, 1000000, "warm restarts: epochs of the first cycle", true },
    { "schedule.t_mult", K_INT, "warm_restarts", "1", 1, 1000, "warm restarts: cycle length factor", false },
    { "augment", K_GROUP, NULL, NULL, 0, 0, "data augmentation", false },
    { "augment.crop", K_FLOAT, NULL, "0", 0, 1, "random resized crop: smallest area fraction (0: off)", false },
    { "augment.rotate", K_FLOAT, NULL, "0", 0, 180, "random rotation up to this many degrees", false },
    { "augment.shift", K_INT, NULL, "0", 0, 1000, "random shift up to this many pixels", false },
    { "augment.erase", K_FLOAT, NULL, "0", 0, 1, "random erasing probability", false },
    { "augment.flip", K_BOOL, NULL, "false", 0, 0, "random horizontal flip", false },
    { "augment.pad_crop", K_INT, NULL, "0", 0, 1000, "pad by this many pixels, then random crop", false },
    { "mixup", K_FLOAT, NULL, "0", 0, 100, "MixUp alpha (0: off)", false },
    { "early_stopping", K_INT, NULL, "0", 0, 1000000, "patience in epochs (0: off)", false },
    { "label_smoothing", K_FLOAT, NULL, "0", 0, 1, "label smoothing", false },
};
#define NSCHEMA ((int)(sizeof schema / sizeof schema[0]))

static const SettingSpec *find_spec(const char *key)
{
    for (int i = 0; i < NSCHEMA; i++)
        if (strcmp(schema[i].key, key) == 0)
            return &schema[i];
    return NULL;
}

static Setting *find_setting(const Graph *g, const char *key)
{
    for (Setting *s = g->settings; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

/* Is `word` one of the space-separated `words`? */
static bool word_in(const char *word, const char *words)
{
    size_t len = strlen(word);
    for (const char *p = words; p && *p;) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if (n == len && strncmp(p, word, n) == 0)
            return true;
        p = sp ? sp + 1 : NULL;
    }
    return false;
}

static int split_words(const char *words, char *buf, size_t len, const char **out, int cap)
{
    snprintf(buf, len, "%s", words);
    int n = 0;
    for (char *t = strtok(buf, " "); t && n < cap; t = strtok(NULL, " "))
        out[n++] = t;
    return n;
}

static void report_unknown_key(const char *key, Loc loc)
{
    const char *dot = strrchr(key, '.');
    size_t prefix = dot ? (size_t)(dot - key + 1) : 0;
    const char *cands[NSCHEMA];
    int n = 0;
    for (int i = 0; i < NSCHEMA; i++) {
        const char *k = schema[i].key;
        const char *kdot = strrchr(k, '.');
        size_t kp = kdot ? (size_t)(kdot - k + 1) : 0;
        if (kp == prefix && strncmp(k, key, prefix) == 0)
            cands[n++] = k + prefix;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "unknown train setting '%s'", key);
    did_you_mean(msg, sizeof msg, key + prefix, cands, n);
    error_at(loc, "%s", msg);
}

static bool check_word(const SettingSpec *spec, const char *word, Loc loc)
{
    if (word_in(word, spec->words))
        return true;
    char buf[256];
    const char *cands[16];
    int n = split_words(spec->words, buf, sizeof buf, cands, 16);
    char msg[256];
    snprintf(msg, sizeof msg, "'%s' must be one of: %s; got '%s'", spec->key, spec->words, word);
    did_you_mean(msg, sizeof msg, word, cands, n);
    error_at(loc, "%s", msg);
    return false;
}

static bool check_value(const SettingSpec *spec, Value *v)
{
    static const char *const kinds[] = {
        [K_INT] = "an int", [K_FLOAT] = "a number", [K_BOOL] = "true or false", [K_STR] = "a string",
        [K_WORD] = "a word", [K_CALL] = "a word or call", [K_GROUP] = "a group { ... }",
    };
    bool ok = false;
    switch (spec->kind) {
    case K_INT:
        if (v->kind == V_FLOAT && v->f == floor(v->f) && fabs(v->f) < 9e15)
            *v = (Value){ .kind = V_INT, .i = (long long)v->f, .loc = v->loc };
        ok = v->kind == V_INT;
        break;
    case K_FLOAT:
        if (v->kind == V_INT)
            *v = (Value){ .kind = V_FLOAT, .f = (double)v->i, .loc = v->loc };
        ok = v->kind == V_FLOAT;
        break;
    case K_BOOL: ok = v->kind == V_BOOL; break;
    case K_STR: ok = v->kind == V_STR; break;
    case K_WORD:
        if (v->kind == V_SYM)
            return check_word(spec, v->s, v->loc);
        break;
    case K_CALL:
        if (v->kind == V_SYM || v->kind == V_CALL)
            return check_word(spec, v->s, v->loc);
        break;
    case K_GROUP: ok = v->kind == V_NONE; break;
    }
    if (!ok) {
        if (spec->kind == K_WORD)
            error_at(v->loc, "'%s' must be one of: %s", spec->key, spec->words);
        else if (v->kind == V_SYM)
            error_at(v->loc, "'%s' must be %s, not the word '%s'", spec->key, kinds[spec->kind], v->s);
        else
            error_at(v->loc, "'%s' must be %s", spec->key, kinds[spec->kind]);
        return false;
    }
    double x = v->kind == V_INT ? (double)v->i : v->f;
    if ((v->kind == V_INT || v->kind == V_FLOAT) && (x < spec->lo || x > spec->hi)) {
        error_at(v->loc, "'%s' must be between %.15g and %.15g, got %.15g", spec->key, spec->lo, spec->hi, x);
        return false;
    }
    return true;
}

/* A call argument such as schedule.t_max must belong to the call chosen for its parent. */
static bool check_call_argument(const Graph *g, const SettingSpec *spec, Loc loc)
{
    const char *dot = strrchr(spec->key, '.');
    if (!dot || !spec->words)
        return true;
    char parent[64];
    snprintf(parent, sizeof parent, "%.*s", (int)(dot - spec->key), spec->key);
    const Setting *p = find_setting(g, parent);
    if (!p || p->v.kind != V_CALL || word_in(p->v.s, spec->words))
        return true;
    error_at(loc, "%s '%s' takes no argument '%s' (it belongs to: %s)", parent, p->v.s, dot + 1, spec->words);
    return false;
}

void check_required_settings(const Graph *g)
{
    for (int i = 0; i < NSCHEMA; i++) {
        const SettingSpec *spec = &schema[i];
        const char *dot = strrchr(spec->key, '.');
        if (!spec->required || !dot)
            continue;
        char parent[64];
        snprintf(parent, sizeof parent, "%.*s", (int)(dot - spec->key), spec->key);
        const Setting *p = find_setting(g, parent);
        if (!p || !word_in(p->v.s, spec->words) || find_setting(g, spec->key))
            continue;
        error_at(p->v.loc, "%s '%s' needs its argument '%s', as in %s(%s = ...)", parent, p->v.s, dot + 1, p->v.s,
                 dot + 1);
    }
}

bool setting_add(Graph *g, const char *key, Loc key_loc, Value v)
{
    const SettingSpec *spec = find_spec(key);
    if (!spec) {
        report_unknown_key(key, key_loc);
        return false;
    }
    const Setting *old = find_setting(g, key);
    if (old) {
        error_at(key_loc, "train setting '%s' is given twice", key);
        note_at(old->key_loc, "first given here");
        return false;
    }
    if (spec->kind == K_GROUP && v.kind != V_NONE) {
        error_at(key_loc, "'%s' is a group of settings: write %s { ... }", key, key);
        return false;
    }
    if (!check_value(spec, &v) || !check_call_argument(g, spec, key_loc))
        return false;
    Setting *s = xcalloc(1, sizeof *s);
    s->key = xstrdup(key);
    s->v = v;
    s->key_loc = key_loc;
    Setting **tail = &g->settings;
    while (*tail)
        tail = &(*tail)->next;
    *tail = s;
    return true;
}

static Value parse_default(const SettingSpec *spec)
{
    Value v = { .kind = V_NONE };
    if (!spec->def)
        return v;
    switch (spec->kind) {
    case K_INT: v = (Value){ .kind = V_INT, .i = strtoll(spec->def, NULL, 10) }; break;
    case K_FLOAT: v = (Value){ .kind = V_FLOAT, .f = strtod(spec->def, NULL) }; break;
    case K_BOOL: v = (Value){ .kind = V_BOOL, .i = strcmp(spec->def, "true") == 0 }; break;
    case K_STR: v = (Value){ .kind = V_STR, .s = spec->def }; break;
    case K_WORD:
    case K_CALL: v = (Value){ .kind = V_SYM, .s = spec->def }; break;
    case K_GROUP: break;
    }
    return v;
}

Value setting_value(const Graph *g, const char *key)
{
    const Setting *s = find_setting(g, key);
    if (s)
        return s->v;
    const SettingSpec *spec = find_spec(key);
    return spec ? parse_default(spec) : (Value){ .kind = V_NONE };
}

char *settings_text(const Graph *g)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return xstrdup("");
    for (int i = 0; i < NSCHEMA; i++) {
        Value v = setting_value(g, schema[i].key);
        switch (v.kind) {
        case V_INT: fprintf(out, "%s=%lld\n", schema[i].key, v.i); break;
        case V_FLOAT: fprintf(out, "%s=%.9g\n", schema[i].key, v.f); break;
        case V_BOOL: fprintf(out, "%s=%s\n", schema[i].key, v.i ? "true" : "false"); break;
        case V_STR:
        case V_SYM:
        case V_CALL: fprintf(out, "%s=%s\n", schema[i].key, v.s); break;
        default: break;
        }
    }
    fclose(out);
    return text;
}

void print_train_schema(FILE *out)
{
    for (int i = 0; i < NSCHEMA; i++) {
        const SettingSpec *s = &schema[i];
        char what[96];
        if (s->kind == K_WORD || s->kind == K_CALL)
            snprintf(what, sizeof what, "%s", s->words);
        else
            snprintf(what, sizeof what, "%s", (const char *[]){ "int", "float", "bool", "string", "", "", "group" }[s->kind]);
        fprintf(out, "  %-22s %-42s default %-10s %s\n", s->key, what, s->def ? s->def : "-", s->help);
    }
}
