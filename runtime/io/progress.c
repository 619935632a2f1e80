/* The epoch progress bar.
 *
 * rt_progress_format is a pure function from numbers to one line of text, so tests can
 * pin its output.  The drawing side redraws that line in place with "\r" and the
 * clear-to-end-of-line escape, at most every 0.1 s (and always on the last step), and
 * only when the stream is a terminal: a trainer whose output goes to a log file or a
 * pipe prints nothing during the epoch, only the summary lines its caller writes. */
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "rt_io.h"

#define REDRAW_SECONDS 0.1
#define BAR_WIDTH 20

double rt_clock_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "m:ss", or "h:mm:ss" from an hour on; "--:--" when unknown. */
static void format_eta(char *buf, size_t len, double s)
{
    if (!(s >= 0) || !isfinite(s) || s > 360000.0) {
        snprintf(buf, len, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

size_t rt_progress_format(char *buf, size_t len, const char *label, int bar_width,
                          size_t step, size_t total, double loss, double images_per_s,
                          double eta_s)
{
    if (len == 0)
        return 0;
    if (bar_width < 1)
        bar_width = 1;
    if (bar_width > 200)
        bar_width = 200;
    if (step > total)
        step = total;
    char bar[201];
    size_t done = total ? step * (size_t)bar_width / total : (size_t)bar_width;
    for (int i = 0; i < bar_width; i++)
        bar[i] = (size_t)i < done ? '=' : ' ';
    if (done < (size_t)bar_width)
        bar[done] = '>';
    bar[bar_width] = 0;
    char eta[32];
    format_eta(eta, sizeof eta, eta_s);
    int n = snprintf(buf, len, "%s%s[%s] %zu/%zu loss %.4f %.0f img/s ETA %s",
                     label ? label : "", label && label[0] ? " " : "", bar, step, total, loss,
                     images_per_s >= 0 && isfinite(images_per_s) ? images_per_s : 0.0, eta);
    if (n < 0) {
        buf[0] = 0;
        return 0;
    }
    return (size_t)n < len ? (size_t)n : len - 1;
}

void rt_progress_begin(rt_progress *p, FILE *out, const char *label, size_t total_steps)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = out && isatty(fileno(out));
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total_steps;
    p->t_start = rt_clock_seconds();
    p->t_last = p->t_start;
}

void rt_progress_update_at(rt_progress *p, size_t step, size_t images, double loss,
                           double now)
{
    if (!p->tty || !p->out)
        return;
    int last = step >= p->total;
    if (p->drawn && !last && now - p->t_last < REDRAW_SECONDS)
        return;
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (double)images / elapsed : 0;
    double eta = step > 0 && elapsed > 0
                     ? elapsed / (double)step * (double)(p->total > step ? p->total - step : 0)
                     : -1;
    char line[256];
    rt_progress_format(line, sizeof line, p->label, BAR_WIDTH, step, p->total, loss, rate, eta);
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
    p->t_last = now;
    p->drawn = 1;
}

void rt_progress_update(rt_progress *p, size_t step, size_t images, double loss)
{
    if (p->tty)
        rt_progress_update_at(p, step, images, loss, rt_clock_seconds());
}

void rt_progress_end(rt_progress *p)
{
    if (p->tty && p->out && p->drawn) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->drawn = 0;
}
