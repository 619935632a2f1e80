/* The progress bar: the exact text of rt_progress_format for a few cases, the redraw
 * throttle (at most one draw a 0.1 s, always the last step), and silence when the
 * stream is not a terminal.
 * `test_progress --demo` runs a 0.5 s epoch on stdout with the real clock and isatty;
 * tests/t_io_progress_tty.sh runs it on a pseudo-terminal and on a pipe. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "netc_rt.h"

#include "check.h"

static void expect_line(const char *label, int width, size_t step, size_t total, double loss,
                        double ips, double eta, const char *want)
{
    char buf[256];
    size_t n = rt_progress_format(buf, sizeof buf, label, width, step, total, loss, ips, eta);
    CHECK(strcmp(buf, want) == 0 && n == strlen(want), "got  '%s'\n     want '%s'", buf, want);
    if (strcmp(buf, want) == 0)
        printf("  ok: '%s'\n", buf);
}

/* Everything written to f so far. */
static char *contents(FILE *f, size_t *n)
{
    fflush(f);
    long len = ftell(f);
    char *b = calloc((size_t)len + 1, 1);
    rewind(f);
    *n = fread(b, 1, (size_t)len, f);
    fseek(f, 0, SEEK_END);
    return b;
}

static size_t count_char(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

static int demo(void)
{
    rt_progress p;
    rt_progress_begin(&p, stdout, "epoch 1/1", 50);
    for (size_t s = 1; s <= 50; s++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        rt_progress_update(&p, s, s * 128, 2.0 / (double)s);
    }
    rt_progress_end(&p);
    printf("epoch 1/1 done\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--demo") == 0)
        return demo();
    expect_line("epoch 3/10", 20, 120, 469, 0.23451, 5234.4, 12.4,
                "epoch 3/10 [=====>              ] 120/469 loss 0.2345 5234 img/s ETA 0:12");
    expect_line("", 10, 0, 100, 2.302585, 0, -1,
                "[>         ] 0/100 loss 2.3026 0 img/s ETA --:--");
    expect_line(NULL, 10, 100, 100, 0.01, 12000, 0,
                "[==========] 100/100 loss 0.0100 12000 img/s ETA 0:00");
    expect_line("e1", 4, 7, 5, (double)NAN, 1.0, 3725,
                "e1 [====] 5/5 loss nan 1 img/s ETA 1:02:05");
    char small[16];
    size_t n = rt_progress_format(small, sizeof small, "epoch", 20, 1, 2, 0.5, 1, 1);
    CHECK(n == 15 && strlen(small) == 15, "truncated format returned %zu", n);

    /* Throttle: forced to act as a terminal, drawing into a temporary file. */
    FILE *f = tmpfile();
    rt_progress p;
    rt_progress_begin(&p, f, "epoch 1/1", 10);
    CHECK(p.tty == 0, "a temporary file taken for a terminal");
    rt_progress_update_at(&p, 1, 64, 1.0, p.t_start + 0.01);
    size_t len;
    char *out = contents(f, &len);
    CHECK(len == 0, "printed %zu bytes to a non-terminal", len);
    free(out);
    rt_progress_end(&p);

    rt_progress_begin(&p, f, "epoch 1/1", 10);
    p.tty = 1;
    double t0 = p.t_start;
    double times[10] = {0.01, 0.05, 0.08, 0.12, 0.15, 0.19, 0.30, 0.31, 0.32, 0.33};
    for (size_t s = 1; s <= 10; s++)
        rt_progress_update_at(&p, s, s * 64, 1.0 / (double)s, t0 + times[s - 1]);
    out = contents(f, &len);
    /* Draws at 0.01, 0.12, 0.30 and the last step at 0.33. */
    CHECK(count_char(out, len, '\r') == 4, "%zu redraws, expected 4:\n%s", count_char(out, len, '\r'),
          out);
    CHECK(count_char(out, len, '\n') == 0, "a newline during the epoch");
    CHECK(strstr(out, "] 10/10 loss 0.1000 1939 img/s ETA 0:00\033[K") != NULL, "last draw: %s",
          out);
    free(out);
    rt_progress_end(&p);
    out = contents(f, &len);
    CHECK(len >= 4 && memcmp(out + len - 4, "\r\033[K", 4) == 0, "end does not erase the bar");
    free(out);
    fclose(f);
    printf("  ok: silent on a non-terminal; 4 draws for 10 steps over 0.33 s; end erases\n");
    printf("test_progress: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
