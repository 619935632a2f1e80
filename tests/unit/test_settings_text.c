/* The settings text between the compiler and the trainer (issue 10): a string setting
 * cannot inject another setting.  The compiler's text (settings_text) of a graph whose
 * data path holds a newline -- one that got past netc check's refusal, built here by
 * hand -- must not make the trainer's parser (rt_config_parse_text) set what follows the
 * newline; the escape round-trips every byte; the trainer's own text (rt_config_format)
 * reads back; and a text giving a key twice, or a '\' that starts no escape, is refused. */
#include <stdlib.h>
#include <string.h>
#include "netc.h"
#include "netc_rt.h"

#include "check.h"

static char err[1024];

/* The compiler's settings text of a graph with only `data` given. */
static char *compiler_text(const char *data)
{
    Setting s = { .key = "data", .v = { .kind = V_STR, .s = data } };
    Graph g = { .settings = &s, .input = -1, .output = -1 };
    return settings_text(&g);
}

static void test_injection(void)
{
    char *text = compiler_text("data/fmnist\nlr=9\nepochs=3");
    CHECK(strstr(text, "\nlr=9\n") == NULL && strstr(text, "data=data/fmnist\\x0alr=9\\x0aepochs=3\n"),
          "the newline is escaped in the settings text:\n%s", text);
    rt_train_config c;
    rt_config_init(&c);
    int rc = rt_config_parse_text(&c, text, "model", err, sizeof err);
    CHECK(rc != 0 && strstr(err, "'data' holds a control character (byte 0x0a at offset 11)"),
          "the trainer refuses the decoded newline: rc %d, '%s'", rc, err);
    CHECK(c.lr != 9 && c.epochs != 3, "no setting injected: lr %g, epochs %lld", c.lr, c.epochs);
    free(text);

    /* a raw newline through the option door, and any control byte */
    rt_config_init(&c);
    CHECK(rt_config_set(&c, rt_config_find("data"), "/x\nlr=9", err, sizeof err) != 0 && strstr(err, "offset 2"),
          "--data with a newline: '%s'", err);
    CHECK(rt_config_set(&c, rt_config_find("data"), "/x\x7f", err, sizeof err) != 0 && strstr(err, "byte 0x7f"),
          "--data with DEL: '%s'", err);
}

static void test_round_trip(void)
{
    const char *path = "/data/a\\b\\x0a\\\\c=d";   /* backslashes, a would-be escape, an '=' */
    char *text = compiler_text(path);
    rt_train_config c, d;
    rt_config_init(&c);
    CHECK(rt_config_parse_text(&c, text, "model", err, sizeof err) == 0 && !strcmp(c.data, path),
          "compiler text round trip: '%s' from\n%s", c.data, err);
    free(text);
    text = rt_config_format(&c);
    rt_config_init(&d);
    CHECK(text && rt_config_parse_text(&d, text, "checkpoint", err, sizeof err) == 0 && !strcmp(d.data, path),
          "trainer text round trip: '%s' (%s)", d.data, err);
    free(text);

    char buf[16];
    CHECK(setting_escape("a\\\x01", buf, sizeof buf) == 7 && !strcmp(buf, "a\\\\\\x01"), "escape: '%s'", buf);
    CHECK(setting_escape("abcdef", buf, 4) == 6 && !strcmp(buf, "abc"), "escape truncates like snprintf: '%s'", buf);
    CHECK(setting_unescape("abcd", buf, 4) != 0, "unescape refuses too long a value");
}

static void test_refused_texts(void)
{
    static const struct { const char *text, *frag; } bad[] = {
        { "lr=0.1\nlr=9\n", "line 2: setting 'lr' is given twice" },
        { "data=/x\nbatch=10\ndata=/y\n", "line 3: setting 'data' is given twice" },
        { "data=/x\\y\n", "'data' has a '\\' that starts no escape" },
        { "data=/x\\x0\n", "starts no escape" },
        { "data=/x\\\n", "starts no escape" },
        { "data=/x\\x0d\n", "byte 0x0d" },
        { "data=/x\ty\n", "byte 0x09" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rt_train_config c;
        rt_config_init(&c);
        int rc = rt_config_parse_text(&c, bad[i].text, "model", err, sizeof err);
        CHECK(rc != 0 && strstr(err, bad[i].frag), "'%s': rc %d, '%s'", bad[i].text, rc, err);
    }
}

int main(void)
{
    test_injection();
    test_round_trip();
    test_refused_texts();
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
