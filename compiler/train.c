/* train.c — the `train { ... }` section, checked against common/settings.def.
 *
 * The schema is the one list the trainer reads too (common/settings.def, as the table
 * setting_specs[]): each setting's key, kind, allowed words, default and range.
 * setting_add() checks a value against it (unknown keys get a did-you-mean, wrong types
 * and out-of-range numbers an error at the value) and records it; the code generator
 * and trainers read settings back with setting_value(), which falls back to the
 * default, so defaults live only in the list.  A string holding a control character is
 * refused, and the settings text escapes strings anyway, so none can inject a setting.  Keys inside a group are "group.key"; a
 * call's arguments are "key.arg", and the list says which calls take which arguments
 * and which need them.  Settings only the trainer takes (limit) are not .net settings.
 * A per-channel setting (mean, std) takes a number, a list [a, b, c] of one number per
 * input channel, or the word auto, which the trainer computes when a run starts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"
#include "../common/settings.h"

static const setting_spec *find_spec(const char *key)
{
    return setting_find(key, 0);
}

static Setting *find_setting(const Graph *g, const char *key)
{
    for (Setting *s = g->settings; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

static void report_unknown_key(const char *key, Loc loc)
{
    const char *dot = strrchr(key, '.');
    size_t prefix = dot ? (size_t)(dot - key + 1) : 0;
    const char *cands[SETTING_COUNT];
    int n = 0;
    for (int i = 0; i < SETTING_COUNT; i++) {
        const char *k = setting_specs[i].key;
        const char *kdot = strrchr(k, '.');
        size_t kp = kdot ? (size_t)(kdot - k + 1) : 0;
        if (kp == prefix && strncmp(k, key, prefix) == 0 && !(setting_specs[i].flags & TRAINER_ONLY))
            cands[n++] = k + prefix;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "unknown train setting '%s'", key);
    did_you_mean(msg, sizeof msg, key + prefix, cands, n);
    error_at(loc, "%s", msg);
}

/* A word of the spec's list; the value then holds the list's spelling (fashion-mnist
 * for fashion_mnist), as the trainer reads it. */
static bool check_word(const setting_spec *spec, Value *v)
{
    int w = setting_word_index(spec, v->s);
    if (w >= 0) {
        v->s = spec->words[w];
        return true;
    }
    char msg[512];
    error_at(v->loc, "%s", setting_word_error(spec, v->s, msg, sizeof msg));
    return false;
}

/* A number within spec's range (an int becomes a float), or an error at it. */
static bool check_number(const setting_spec *spec, Value *v)
{
    char msg[256];
    if (v->kind == V_INT)
        *v = (Value){ .kind = V_FLOAT, .f = (double)v->i, .loc = v->loc };
    if (v->kind != V_FLOAT)
        return false;
    if (setting_check_range(spec, v->f, msg, sizeof msg)) {
        error_at(v->loc, "%s", msg);
        return false;
    }
    return true;
}

/* A per-channel setting: a number, auto, or a list of at most SETTING_MAX_CHANNELS
 * numbers, each in range (its length is checked against the input's channels later). */
static bool check_channels(const setting_spec *spec, Value *v, const char *what)
{
    if (v->kind == V_SYM && strcmp(v->s, "auto") == 0)
        return true;
    if (v->kind == V_INT || v->kind == V_FLOAT)
        return check_number(spec, v);
    if (v->kind != V_LIST) {
        static const char *const words[] = { "auto" };
        char msg[256];
        if (v->kind == V_SYM) {
            snprintf(msg, sizeof msg, "'%s' must be %s, not the word '%s'", spec->key, what, v->s);
            did_you_mean(msg, sizeof msg, v->s, words, 1);
        } else {
            snprintf(msg, sizeof msg, "'%s' must be %s", spec->key, what);
        }
        error_at(v->loc, "%s", msg);
        return false;
    }
    if (v->i > SETTING_MAX_CHANNELS) {
        error_at(v->loc, "'%s' has %lld values; an input has at most %d channels", spec->key, v->i,
                 SETTING_MAX_CHANNELS);
        return false;
    }
    bool ok = true;
    for (long long k = 0; k < v->i; k++) {
        Value *item = &v->items[k];
        if (item->kind != V_INT && item->kind != V_FLOAT) {
            if (item->kind == V_SYM)
                error_at(item->loc, "'%s' is a list of numbers, one per channel, not the word '%s'", spec->key,
                         item->s);
            else
                error_at(item->loc, "'%s' is a list of numbers, one per channel", spec->key);
            ok = false;
        } else if (!check_number(spec, item)) {
            ok = false;
        }
    }
    return ok;
}

static bool check_value(const setting_spec *spec, Value *v)
{
    static const char *const kinds[] = {
        [SETTING_INT] = "an int", [SETTING_FLOAT] = "a number", [SETTING_BOOL] = "true or false",
        [SETTING_STR] = "a string", [SETTING_WORD] = "a word", [SETTING_CALL] = "a word or call",
        [SETTING_CHANNELS] = "a number, a list [a, b, c] of one per input channel, or auto",
        [SETTING_GROUP] = "a group { ... }",
    };
    bool ok = false;
    switch (spec->kind) {
    case SETTING_INT:
        if (v->kind == V_FLOAT && v->f == floor(v->f) && fabs(v->f) < 9e15)
            *v = (Value){ .kind = V_INT, .i = (long long)v->f, .loc = v->loc };
        ok = v->kind == V_INT;
        break;
    case SETTING_FLOAT:
        if (v->kind == V_INT)
            *v = (Value){ .kind = V_FLOAT, .f = (double)v->i, .loc = v->loc };
        ok = v->kind == V_FLOAT;
        break;
    case SETTING_BOOL: ok = v->kind == V_BOOL; break;
    case SETTING_STR: ok = v->kind == V_STR; break;
    case SETTING_WORD:
        if (v->kind == V_SYM)
            return check_word(spec, v);
        break;
    case SETTING_CALL:
        if (v->kind == V_SYM || v->kind == V_CALL)
            return check_word(spec, v);
        break;
    case SETTING_CHANNELS: return check_channels(spec, v, kinds[spec->kind]);
    case SETTING_GROUP: ok = v->kind == V_NONE; break;
    }
    char msg[256];
    if (!ok) {
        if (spec->kind == SETTING_WORD)
            error_at(v->loc, "'%s' must be one of: %s", spec->key, setting_words_text(spec, 0, msg, sizeof msg));
        else if (v->kind == V_SYM)
            error_at(v->loc, "'%s' must be %s, not the word '%s'", spec->key, kinds[spec->kind], v->s);
        else
            error_at(v->loc, "'%s' must be %s", spec->key, kinds[spec->kind]);
        return false;
    }
    if (v->kind == V_STR && setting_check_string(spec, v->s, msg, sizeof msg)) {
        error_at(v->loc, "%s", msg);
        return false;
    }
    double x = v->kind == V_INT ? (double)v->i : v->f;
    if ((v->kind == V_INT || v->kind == V_FLOAT) && setting_check_range(spec, x, msg, sizeof msg)) {
        error_at(v->loc, "%s", msg);
        return false;
    }
    return true;
}

/* A call argument such as schedule.t_max must belong to the call chosen for its parent. */
static bool check_call_argument(const Graph *g, const setting_spec *spec, Loc loc)
{
    const setting_spec *parent = setting_parent(spec);
    const Setting *p = parent ? find_setting(g, parent->key) : NULL;
    if (!p || p->v.kind != V_CALL || setting_taken_by(spec, setting_word_index(parent, p->v.s)))
        return true;
    char calls[256];
    error_at(loc, "%s '%s' takes no argument '%s' (it belongs to: %s)", parent->key, p->v.s, setting_arg_name(spec),
             setting_words_text(parent, spec->calls, calls, sizeof calls));
    return false;
}

/* A number setting that is given and not 0, or NULL. */
static const Setting *given_on(const Graph *g, const char *key)
{
    const Setting *s = find_setting(g, key);
    return s && (s->v.kind == V_INT ? s->v.i != 0 : s->v.kind == V_FLOAT && s->v.f != 0) ? s : NULL;
}

/* MixUp (training's, or eval_mixup's) mixes classes: the trainer refuses it for a
 * model of one class. */
static void check_mixup_classes(const Graph *g)
{
    static const char *const mixing[] = { "mixup", "eval_mixup" };
    if (g->output < 0 || g->node[g->output].out.rank != 1 || g->node[g->output].out.d[0] >= 2)
        return;
    for (size_t i = 0; i < sizeof mixing / sizeof mixing[0]; i++) {
        const Setting *s = given_on(g, mixing[i]);
        if (s)
            error_at(s->key_loc, "%s needs a classifier with at least 2 classes; the model has 1", mixing[i]);
    }
}

/* Settings the trainer would refuse together: a setting that needs a validation set
 * (early stopping, the mixed-validation accuracy) with valid_split = 0. */
static void check_needs_validation(const Graph *g)
{
    static const char *const needs_valid[] = { "early_stopping.patience", "eval_mixup" };
    Value split = setting_value(g, "valid_split");
    if (split.kind != V_FLOAT || split.f > 0)
        return;
    for (size_t i = 0; i < sizeof needs_valid / sizeof needs_valid[0]; i++) {
        const Setting *s = given_on(g, needs_valid[i]);
        if (!s)
            continue;
        const Setting *vs = find_setting(g, "valid_split");
        error_at(s->key_loc, "%s needs a validation set, but valid_split is 0", needs_valid[i]);
        if (vs)
            note_at(vs->key_loc, "valid_split set here");
    }
}

/* A per-channel list has one value per channel of an image input [C, H, W] (a flat
 * input's channels are the data's: the trainer checks those). */
static void check_channel_counts(const Graph *g)
{
    if (g->input < 0 || g->node[g->input].out.rank != 3)
        return;
    long long C = g->node[g->input].out.d[0];
    for (const Setting *s = g->settings; s; s = s->next) {
        if (s->v.kind != V_LIST || s->v.i == C)
            continue;
        error_at(s->v.loc, "'%s' has %lld value%s, one per channel, but the input has %lld channel%s", s->key, s->v.i,
                 s->v.i == 1 ? "" : "s", C, C == 1 ? "" : "s");
        note_at(g->node[g->input].loc, "the input is declared here");
    }
}

void check_required_settings(const Graph *g)
{
    check_needs_validation(g);
    check_channel_counts(g);
    check_mixup_classes(g);
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting_spec *spec = &setting_specs[i];
        const setting_spec *parent = setting_parent(spec);
        if (!(spec->flags & REQUIRED) || !parent)
            continue;
        const Setting *p = find_setting(g, parent->key);
        if (!p || !setting_taken_by(spec, setting_word_index(parent, p->v.s)) || find_setting(g, spec->key))
            continue;
        const char *arg = setting_arg_name(spec);
        error_at(p->v.loc, "%s '%s' needs its argument '%s', as in %s(%s = ...)", parent->key, p->v.s, arg, p->v.s, arg);
    }
}

bool setting_add(Graph *g, const char *key, Loc key_loc, Value v)
{
    const setting_spec *spec = find_spec(key);
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
    if (spec->kind == SETTING_GROUP && v.kind != V_NONE) {
        const setting_spec *member = setting_shorthand(spec);   /* early_stopping = 10: its patience */
        if (member)
            return setting_add(g, member->key, key_loc, v);
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

static Value parse_default(const setting_spec *spec)
{
    Value v = { .kind = V_NONE };
    if (!spec->def)
        return v;
    switch (spec->kind) {
    case SETTING_INT: v = (Value){ .kind = V_INT, .i = strtoll(spec->def, NULL, 10) }; break;
    case SETTING_FLOAT: v = (Value){ .kind = V_FLOAT, .f = strtod(spec->def, NULL) }; break;
    case SETTING_BOOL: v = (Value){ .kind = V_BOOL, .i = strcmp(spec->def, "true") == 0 }; break;
    case SETTING_STR: v = (Value){ .kind = V_STR, .s = spec->def }; break;
    case SETTING_WORD:
    case SETTING_CALL: v = (Value){ .kind = V_SYM, .s = spec->def }; break;
    case SETTING_CHANNELS: v = (Value){ .kind = V_FLOAT, .f = strtod(spec->def, NULL) }; break;
    case SETTING_GROUP: break;
    }
    return v;
}

Value setting_value(const Graph *g, const char *key)
{
    const Setting *s = find_setting(g, key);
    if (s)
        return s->v;
    const setting_spec *spec = find_spec(key);
    return spec ? parse_default(spec) : (Value){ .kind = V_NONE };
}

/* key=VALUE with the value escaped (setting_escape): a string, even one that escaped
 * the checks, cannot end its line and inject another setting. */
static void write_string_setting(FILE *out, const char *key, const char *v)
{
    size_t len = setting_escape(v, NULL, 0) + 1;
    char *text = xcalloc(len, 1);
    setting_escape(v, text, len);
    fprintf(out, "%s=%s\n", key, text);
    free(text);
}

char *settings_text(const Graph *g)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return xstrdup("");
    for (int i = 0; i < SETTING_COUNT; i++) {
        const char *key = setting_specs[i].key;
        Value v = setting_value(g, key);   /* V_NONE for a group, an unset optional, a trainer-only key */
        switch (v.kind) {
        case V_INT: fprintf(out, "%s=%lld\n", key, v.i); break;
        case V_FLOAT: fprintf(out, "%s=%.9g\n", key, v.f); break;
        case V_BOOL: fprintf(out, "%s=%s\n", key, v.i ? "true" : "false"); break;
        case V_STR: write_string_setting(out, key, v.s); break;
        case V_SYM:
        case V_CALL: fprintf(out, "%s=%s\n", key, v.s); break;
        case V_LIST:   /* "mean=0.49,0.48,0.45", as the trainer reads it */
            fprintf(out, "%s=", key);
            for (long long k = 0; k < v.i; k++)
                fprintf(out, "%s%.9g", k ? "," : "", v.items[k].f);
            fprintf(out, "\n");
            break;
        default: break;
        }
    }
    fclose(out);
    return text;
}

void print_train_schema(FILE *out)
{
    static const char *const kinds[] = {
        [SETTING_INT] = "int", [SETTING_FLOAT] = "float", [SETTING_BOOL] = "bool", [SETTING_STR] = "string",
        [SETTING_WORD] = "", [SETTING_CALL] = "", [SETTING_CHANNELS] = "float, [float, ...] or auto",
        [SETTING_GROUP] = "group",
    };
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting_spec *s = &setting_specs[i];
        if (s->flags & TRAINER_ONLY)
            continue;
        char what[96];
        if (s->kind == SETTING_WORD || s->kind == SETTING_CALL)
            setting_words_text(s, 0, what, sizeof what);
        else
            snprintf(what, sizeof what, "%s", kinds[s->kind]);
        fprintf(out, "  %-27s %-42s default %-10s %s\n", s->key, what, s->def ? s->def : "-", s->help);
    }
}
