/* settings_cases.c — the cases tests/t_settings.sh feeds to both front doors, made from
 * common/settings.def itself, so that a new setting is covered without editing the test.
 *
 * For every setting: numbers at each bound and just past it, a whole-number setting
 * given a fraction, a number given a word; booleans true, false and a word; every word
 * of a word setting (a call with the arguments it needs), a word it does not take and a
 * number; each call once without each argument it needs; a per-channel setting also
 * auto, a list of one value per channel of the test's 1-channel model, a list of two,
 * and a list holding a number past its bound.  Each case is one line,
 *   VERDICT <tab> LABEL <tab> NET <tab> CLI
 * VERDICT is what a bound means (accept at it, reject past it), NET the body of a .net
 * train section, CLI the trainer's options; "-" where a front door cannot express the
 * case (a .net file has no limit setting; an option's value is always text).  The script
 * runs both and checks each against VERDICT and so against each other. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../common/settings.h"

static const setting_spec *spec(int id)
{
    return &setting_specs[id];
}

/* The option of a key: "--schedule-t-max". */
static const char *option(const setting_spec *s, char *buf, size_t len)
{
    snprintf(buf, len, "--%s", s->key);
    for (char *p = buf + 2; *p; p++)
        if (*p == '.' || *p == '_')
            *p = '-';
    return buf;
}

/* A word as a .net file can write it: fashion-mnist as fashion_mnist. */
static const char *net_word(const char *w, char *buf, size_t len)
{
    snprintf(buf, len, "%s", w);
    for (char *p = buf; *p; p++)
        if (*p == '-')
            *p = '_';
    return buf;
}

/* A valid value for a required call argument: its lower bound (or 1 if excluded). */
static void valid_value(const setting_spec *s, char *buf, size_t len)
{
    snprintf(buf, len, "%g", s->flags & ABOVE_LO ? 1.0 : s->lo);
}

/* The call arguments `call` (a word of parent) needs, but `skip`, as .net arguments
 * ("step_size = 1") and options ("--schedule-step-size=1"), appended to net and cli. */
static void needed_args(const setting_spec *parent, int call, const setting_spec *skip, char *net, char *cli,
                        size_t len)
{
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting_spec *a = spec(i);
        if (a == skip || !(a->flags & REQUIRED) || setting_parent(a) != parent || !setting_taken_by(a, call))
            continue;
        char v[64], opt[80];
        valid_value(a, v, sizeof v);
        snprintf(net + strlen(net), len - strlen(net), "%s%s = %s", net[strlen(net) - 1] == '(' ? "" : ", ",
                 setting_arg_name(a), v);
        snprintf(cli + strlen(cli), len - strlen(cli), " %s=%s", option(a, opt, sizeof opt), v);
    }
}

/* One case: setting s given the value text (net_value as a .net file writes it). */
static void emit(const char *verdict, const setting_spec *s, const char *label, const char *net_value,
                 const char *cli_value)
{
    char net[512] = "", cli[512] = "", opt[80], popt[80];
    const setting_spec *parent = setting_parent(s);
    const char *dot = strchr(s->key, '.');
    if (parent) {   /* schedule = CALL(arg = v, needed = ...) */
        int call = 0;
        while (!setting_taken_by(s, call))
            call++;
        char w[64];
        snprintf(net, sizeof net, "%s = %s(%s = %s", parent->key, net_word(parent->words[call], w, sizeof w),
                 setting_arg_name(s), net_value);
        snprintf(cli, sizeof cli, "%s=%s %s=%s", option(parent, popt, sizeof popt), parent->words[call],
                 option(s, opt, sizeof opt), cli_value);
        needed_args(parent, call, s, net, cli, sizeof net);
        strcat(net, ")");
    } else if (dot) {   /* augment { crop = v } */
        snprintf(net, sizeof net, "%.*s { %s = %s }", (int)(dot - s->key), s->key, dot + 1, net_value);
        snprintf(cli, sizeof cli, "%s=%s", option(s, opt, sizeof opt), cli_value);
    } else {
        snprintf(net, sizeof net, "%s = %s", s->key, net_value);
        snprintf(cli, sizeof cli, "%s=%s", option(s, opt, sizeof opt), cli_value);
    }
    printf("%s\t%s %s\t%s\t%s\n", verdict, s->key, label, s->flags & TRAINER_ONLY || !net_value[0] ? "-" : net,
           cli_value[0] ? cli : "-");
}

/* x in the fewest digits that read back exactly: 0.99, not 0.98999999999999999. */
static const char *shortest(double x, char *buf, size_t len)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return buf;
}

static void number(const char *verdict, const setting_spec *s, const char *label, double x)
{
    char v[64];
    emit(verdict, s, label, shortest(x, v, sizeof v), v);
}

/* Just past a bound, outward: the next representable step a millionth of it away. */
static double past(double bound, double dir)
{
    return bound + dir * fmax(fabs(bound), 1.0) * 1e-6;
}

/* "step(step_size = 1" -> "step(step_size = 1)"; "cosine(" -> the bare word "cosine". */
static const char *close_call(char *net)
{
    size_t n = strlen(net);
    if (net[n - 1] == '(')
        net[n - 1] = 0;
    else
        strcat(net, ")");
    return net;
}

/* A per-channel setting beyond its numbers: the model the cases go into has 1 channel. */
static void channels_cases(const setting_spec *s)
{
    char v[64], net[160], cli[160];
    valid_value(s, v, sizeof v);
    emit("accept", s, "auto", "auto", "auto");
    snprintf(net, sizeof net, "[%s]", v);
    emit("accept", s, "a list of one value per channel", net, v);
    snprintf(net, sizeof net, "[%s, %s]", v, v);
    snprintf(cli, sizeof cli, "%s,%s", v, v);
    emit("reject", s, "a list of 2 values for 1 channel", net, cli);
    shortest(s->flags & ABOVE_LO ? s->lo : past(s->lo, -1), v, sizeof v);
    snprintf(net, sizeof net, "[%s]", v);
    emit("reject", s, "a list with a value past its lower bound", net, v);
    emit("reject", s, "a list holding a word", "[abc]", "");
}

static void words_cases(const setting_spec *s)
{
    for (int w = 0; s->words[w]; w++) {
        char net[64], label[80];
        snprintf(label, sizeof label, "word %s", s->words[w]);
        if (s->kind == SETTING_CALL) {   /* the call with what it needs: schedule = step(step_size = 1) */
            char cnet[512], ccli[512], opt[80];
            snprintf(cnet, sizeof cnet, "%s = %s(", s->key, net_word(s->words[w], net, sizeof net));
            snprintf(ccli, sizeof ccli, "%s=%s", option(s, opt, sizeof opt), s->words[w]);
            needed_args(s, w, NULL, cnet, ccli, sizeof cnet);
            printf("accept\t%s %s\t%s\t%s\n", s->key, label, close_call(cnet), ccli);
            for (int i = 0; i < SETTING_COUNT; i++) {   /* and without each of those */
                const setting_spec *a = spec(i);
                if (!(a->flags & REQUIRED) || setting_parent(a) != s || !setting_taken_by(a, w))
                    continue;
                snprintf(cnet, sizeof cnet, "%s = %s(", s->key, net_word(s->words[w], net, sizeof net));
                snprintf(ccli, sizeof ccli, "%s=%s", option(s, opt, sizeof opt), s->words[w]);
                needed_args(s, w, a, cnet, ccli, sizeof cnet);
                printf("reject\t%s %s without %s\t%s\t%s\n", s->key, label, setting_arg_name(a), close_call(cnet), ccli);
            }
        } else {
            emit("accept", s, label, net_word(s->words[w], net, sizeof net), s->words[w]);
        }
    }
    emit("reject", s, "a word it does not take", "nosuchword", "nosuchword");
    emit("reject", s, "a number", "5", "5");
}

int main(void)
{
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting_spec *s = spec(i);
        switch (s->kind) {
        case SETTING_INT:
        case SETTING_FLOAT:
        case SETTING_CHANNELS:
            if (s->kind == SETTING_CHANNELS)
                channels_cases(s);
            if (s->flags & ABOVE_LO) {
                number("reject", s, "at its excluded lower bound", s->lo);
                number("accept", s, "just above its excluded lower bound", s->lo + 1e-300);
            } else {
                number("accept", s, "at its lower bound", s->lo);
                number("reject", s, "just below its lower bound", s->kind == SETTING_INT ? s->lo - 1 : past(s->lo, -1));
            }
            number("accept", s, "at its upper bound", s->hi);
            number("reject", s, "just above its upper bound", s->kind == SETTING_INT ? s->hi + 1 : past(s->hi, 1));
            if (s->kind == SETTING_INT)
                emit("reject", s, "a fraction", "1.5", "1.5");
            emit("reject", s, "a word", "abc", "abc");
            break;
        case SETTING_BOOL:
            emit("accept", s, "true", "true", "true");
            emit("accept", s, "false", "false", "false");
            emit("reject", s, "a word", "maybe", "maybe");
            break;
        case SETTING_STR:
            emit("accept", s, "a string", "\"/nonexistent/netc-settings\"", "/nonexistent/netc-settings");
            emit("reject", s, "a number", "5", "");
            break;
        case SETTING_WORD:
        case SETTING_CALL: words_cases(s); break;
        case SETTING_GROUP: break;
        }
    }
    return 0;
}
