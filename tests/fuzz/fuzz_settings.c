/* fuzz_settings.c — libFuzzer target: the trainer's settings text.
 *
 * The input is a settings text, as a model's C embeds it (netc compile) and a
 * checkpoint stores it: key=value lines.  rt_config_parse_text() reads it over the
 * defaults; when it is accepted, rt_config_format() prints the settings in force and
 * that text must read back (a fresh config, defaults then the text) and print the
 * same, so what the trainer writes into a checkpoint it can always resume from;
 * rt_config_check() then checks the settings against a small model.  A refused text
 * must say why.  Any of these failing aborts (a crash for libFuzzer).
 * Seeds: tests/fuzz/corpus/settings/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netc_rt.h"

static void fail(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_settings: %s\n%s\n", what, text ? text : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16 * 1024)
        return 0;
    char *text = calloc(size + 1, 1);
    if (!text)
        return 0;
    memcpy(text, data, size);   /* the text ends at its first NUL, as in a C string */
    rt_train_config c, d;
    char err[1024] = "";
    rt_config_init(&c);
    if (rt_config_parse_text(&c, text, "fuzz", err, sizeof err) != 0) {
        if (!err[0])
            fail("a text refused without a reason", text);
        free(text);
        return 0;
    }
    char *once = rt_config_format(&c);
    if (!once)
        fail("rt_config_format failed", text);
    rt_config_init(&d);
    if (rt_config_parse_text(&d, once, "round trip", err, sizeof err) != 0)
        fail(err, once);
    char *twice = rt_config_format(&d);
    if (!twice || strcmp(once, twice) != 0)
        fail("the settings in force do not read back the same", once);
    rt_model m = { .name = "Fuzz", .max_batch = 64, .classes = 10 };
    if (rt_config_check(&c, &m, err, sizeof err) != 0 && !err[0])
        fail("settings refused without a reason", once);
    free(once);
    free(twice);
    free(text);
    return 0;
}
