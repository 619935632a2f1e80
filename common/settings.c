/* settings.c — setting_specs[], the table of settings.def, and the lookups both the
 * compiler (compiler/train.c) and the trainer (runtime/train_config.c) make in it.
 *
 * Each entry is indexed by its setting_id; its words are a NULL-terminated array made
 * from the word list of settings.def, so a word's index is its enum value.  The range
 * check and the message for a wrong word are here too, so the two front doors word them
 * the same way; and the one escape of a string value in the settings text, which both
 * the compiler (writing a model's text) and the trainer (a checkpoint's) write and the
 * trainer reads. */
#include <stdio.h>
#include <string.h>
#include "settings.h"
#include "suggest.h"

#define SETTING_WORD_TEXT(id, text) text,
#define SETTING_WORD_LIST(words) (const char *const[]){ words(SETTING_WORD_TEXT) NULL }
#define SETTING(field, key, kind, words, calls, def, lo, hi, flags, help) \
    [SETTING_##field] = { key, SETTING_##kind, SETTING_WORD_LIST(words), calls, def, lo, hi, flags, help },
#define GROUP(field, key, help) \
    [SETTING_##field] = { key, SETTING_GROUP, SETTING_WORD_LIST(NO_WORDS), 0, NULL, 0, 0, 0, help },
const setting_spec setting_specs[SETTING_COUNT] = {
#include "settings.def"
};
#undef SETTING
#undef GROUP
#undef SETTING_WORD_LIST
#undef SETTING_WORD_TEXT

const setting_spec *setting_find(const char *key, int trainer)
{
    for (int i = 0; i < SETTING_COUNT; i++)
        if (strcmp(setting_specs[i].key, key) == 0)
            return trainer || !(setting_specs[i].flags & TRAINER_ONLY) ? &setting_specs[i] : NULL;
    return NULL;
}

int setting_same_name(const char *a, const char *b)
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

int setting_word_index(const setting_spec *s, const char *word)
{
    for (int i = 0; s->words[i]; i++)
        if (setting_same_name(s->words[i], word))
            return i;
    return -1;
}

const char *setting_words_text(const setting_spec *s, unsigned mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; s->words[i] && used < len; i++)
        if (!mask || (mask & TAKEN_BY(i)))
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", s->words[i]);
    return buf;
}

const char *setting_word_error(const setting_spec *s, const char *word, char *msg, size_t len)
{
    int n = 0;
    while (s->words[n])
        n++;
    char words[256];
    snprintf(msg, len, "'%s' must be one of: %s; got '%s'", s->key, setting_words_text(s, 0, words, sizeof words), word);
    did_you_mean(msg, len, word, s->words, n);
    return msg;
}

int setting_taken_by(const setting_spec *s, int word)
{
    return word >= 0 && word < 32 && (s->calls & TAKEN_BY(word)) != 0;
}

const setting_spec *setting_parent(const setting_spec *s)
{
    const char *dot = strrchr(s->key, '.');
    if (!dot || !s->calls)
        return NULL;
    size_t len = (size_t)(dot - s->key);
    for (int i = 0; i < SETTING_COUNT; i++)
        if (strlen(setting_specs[i].key) == len && !strncmp(setting_specs[i].key, s->key, len))
            return &setting_specs[i];
    return NULL;
}

const setting_spec *setting_shorthand(const setting_spec *g)
{
    size_t len = strlen(g->key);
    for (int i = 0; g->kind == SETTING_GROUP && i < SETTING_COUNT; i++) {
        const setting_spec *s = &setting_specs[i];
        if ((s->flags & SHORTHAND) && !strncmp(s->key, g->key, len) && s->key[len] == '.')
            return s;
    }
    return NULL;
}

const char *setting_arg_name(const setting_spec *s)
{
    const char *dot = strrchr(s->key, '.');
    return dot ? dot + 1 : s->key;
}

int setting_check_range(const setting_spec *s, double x, char *msg, size_t len)
{
    if (s->flags & ABOVE_LO) {
        if (x > s->lo && x <= s->hi)
            return 0;
        if (x <= s->lo) {
            snprintf(msg, len, "'%s' must be greater than %.15g, got %.15g", s->key, s->lo, x);
            return -1;
        }
    } else if (x >= s->lo && x <= s->hi) {
        return 0;
    }
    snprintf(msg, len, "'%s' must be between %.15g and %.15g, got %.15g", s->key, s->lo, s->hi, x);
    return -1;
}

int setting_check_string(const setting_spec *s, const char *v, char *msg, size_t len)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            snprintf(msg, len, "'%s' holds a control character (byte 0x%02x at offset %d): a setting's string must be "
                     "printable text", s->key, *p, (int)(p - (const unsigned char *)v));
            return -1;
        }
    return 0;
}

size_t setting_escape(const char *v, char *buf, size_t len)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        char one[5] = { (char)*p, 0 };
        if (*p == '\\')
            snprintf(one, sizeof one, "\\\\");
        else if (*p < 0x20 || *p == 0x7f)
            snprintf(one, sizeof one, "\\x%02x", *p);
        for (const char *o = one; *o; o++, n++)
            if (n + 1 < len)
                buf[n] = *o;
    }
    if (len)
        buf[n < len ? n : len - 1] = 0;
    return n;
}

static int hex_digit(char c)
{
    static const char digits[] = "0123456789abcdef";   /* setting_escape writes lowercase */
    const char *d = c ? strchr(digits, c) : NULL;
    return d ? (int)(d - digits) : -1;
}

int setting_unescape(const char *text, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = text; *p; p++, n++) {
        char c = *p;
        if (c == '\\') {
            if (p[1] == '\\') {
                p++;
            } else if (p[1] == 'x' && hex_digit(p[2]) >= 0 && hex_digit(p[3]) >= 0) {
                c = (char)(hex_digit(p[2]) * 16 + hex_digit(p[3]));
                p += 3;
            } else {
                return -1;
            }
        }
        if (n + 1 >= len)
            return -1;
        buf[n] = c;
    }
    buf[n] = 0;
    return 0;
}
