/* settings.h — the train settings of settings.def as C, for the compiler and the trainer.
 *
 * From the one list: an enum per word setting (setting_optimizer, ...: a word setting is
 * held as its enum after parsing, so no hot path compares strings), a setting_id per
 * setting (SETTING_lr, SETTING_t_max: the index of its spec), and setting_specs[], the
 * table both sides check values against (settings.c).  Includes nothing of either side,
 * so generated models, the compiler and the trainer can all include it. */
#ifndef NETC_SETTINGS_H
#define NETC_SETTINGS_H

#include <stddef.h>

#include "settings.def"

#define SETTING_WORD_ID(id, text) id,
typedef enum { OPTIMIZER_WORDS(SETTING_WORD_ID) } setting_optimizer;
typedef enum { FORMAT_WORDS(SETTING_WORD_ID) } setting_format;
typedef enum { SPLIT_WORDS(SETTING_WORD_ID) } setting_split;
typedef enum { SCHEDULE_WORDS(SETTING_WORD_ID) } setting_schedule;
typedef enum { UNIT_WORDS(SETTING_WORD_ID) } setting_unit;
typedef enum { CYCLIC_MODE_WORDS(SETTING_WORD_ID) } setting_cyclic_mode;
typedef enum { MONITOR_WORDS(SETTING_WORD_ID) } setting_monitor;
typedef enum { MIXUP_MODE_WORDS(SETTING_WORD_ID) } setting_mixup_mode;
typedef enum { PRECISION_WORDS(SETTING_WORD_ID) } setting_precision;
#undef SETTING_WORD_ID

typedef enum {
#define SETTING(field, key, kind, words, calls, def, lo, hi, flags, help) SETTING_##field,
#define GROUP(field, key, help) SETTING_##field,
#include "settings.def"
#undef SETTING
#undef GROUP
    SETTING_COUNT
} setting_id;

typedef enum {
    SETTING_INT, SETTING_FLOAT, SETTING_BOOL, SETTING_STR, SETTING_WORD, SETTING_CALL, SETTING_CHANNELS,
    SETTING_GROUP
} setting_kind;

/* A CHANNELS setting's value: n numbers, one for every channel (n 1) or one per channel;
 * n 0 is auto, to be computed from the training data. */
#define SETTING_MAX_CHANNELS 8
typedef struct {
    int n;
    double v[SETTING_MAX_CHANNELS];
} setting_channels;

enum { REQUIRED = 1, ABOVE_LO = 2, TRAINER_ONLY = 4, KEPT_ON_RESUME = 8, FREE_ON_RESUME = 16, SHORTHAND = 32 };
#define TAKEN_BY(word) (1u << (word))

typedef struct {
    const char *key;             /* "lr", "augment.crop", "schedule.t_max" */
    setting_kind kind;
    const char *const *words;    /* WORD, CALL: the words, NULL-terminated; else { NULL } */
    unsigned calls;              /* a call argument: TAKEN_BY bits of the calls taking it */
    const char *def;             /* as a .net file writes it; NULL: none */
    double lo, hi;
    unsigned flags;              /* REQUIRED, ABOVE_LO, TRAINER_ONLY, KEPT_ON_RESUME, FREE_ON_RESUME, SHORTHAND */
    const char *help;
} setting_spec;

extern const setting_spec setting_specs[SETTING_COUNT];

/* The spec of exactly this key, or NULL; `trainer` includes TRAINER_ONLY ones. */
const setting_spec *setting_find(const char *key, int trainer);
/* Equal as names, taking '.', '_' and '-' as the same character. */
int setting_same_name(const char *a, const char *b);
/* The index of `word` among s's words ('-' and '_' alike), or -1. */
int setting_word_index(const setting_spec *s, const char *word);
/* s's words joined by spaces into buf ("sgd adam adamw"); with mask != 0 only the
 * words whose TAKEN_BY bit is set.  Returns buf. */
const char *setting_words_text(const setting_spec *s, unsigned mask, char *buf, size_t len);
/* Whether call argument s is taken by the call that is word `word` of its parent's
 * words (-1, no word: false). */
int setting_taken_by(const setting_spec *s, int word);
/* The spec of the call a call argument belongs to ("schedule" for "schedule.t_max"), or
 * NULL if s is not a call argument. */
const setting_spec *setting_parent(const setting_spec *s);
/* The member of group g that its shorthand `g = value` sets (flag SHORTHAND), or NULL. */
const setting_spec *setting_shorthand(const setting_spec *g);
/* The part of the key after the parent's: "t_max" for "schedule.t_max". */
const char *setting_arg_name(const setting_spec *s);
/* The reason `word` is not one of s's words, with a did-you-mean, into msg:
 * "'optimizer' must be one of: sgd adam adamw; got 'adan'; did you mean 'adam'?". */
const char *setting_word_error(const setting_spec *s, const char *word, char *msg, size_t len);
/* 0 if x is within s's range; else -1 and the reason in msg:
 * "'lr' must be between 0 and 10, got 20", "'std' must be greater than 0, got 0". */
int setting_check_range(const setting_spec *s, double x, char *msg, size_t len);
/* 0 if string value v holds no control character (a byte below 0x20, or 0x7f); else -1
 * and the reason in msg: "'data' holds a control character (byte 0x0a at offset 11):
 * ...".  Both sides refuse such a value, so no string can end its line of the settings
 * text and start another setting there. */
int setting_check_string(const setting_spec *s, const char *v, char *msg, size_t len);
/* A string value as the settings text holds it: '\' as "\\", a control character as
 * "\xHH", everything else as itself; so a line of the text is always one setting.
 * Writes at most len bytes with the NUL (like snprintf) and returns the full length. */
size_t setting_escape(const char *v, char *buf, size_t len);
/* The inverse of setting_escape, into buf: 0, or -1 on a '\' that starts no escape or
 * a value longer than len - 1 bytes. */
int setting_unescape(const char *text, char *buf, size_t len);

#endif
