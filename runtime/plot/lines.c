/* lines.c -- line charts (with an optional right-hand axis) and histograms.
 *
 * A chart's axes are scaled to its data with a 5% margin; PLplot draws the frame, the
 * ticks and their numbers (plbox), the labels (pllab, plmtex), the lines and the
 * legend (pllegend, below the plot area so that it never covers a line).  A histogram
 * counts its values into bins here and lets PLplot draw the bars (plfill, plbin). */
#include <math.h>
#include <stdlib.h>
#include <plplot/plplot.h>
#include "rt_plot.h"

typedef struct {
    double lo, hi;
} span;

static span span_empty(void)
{
    return (span){ INFINITY, -INFINITY };
}

static void span_add(span *s, double v)
{
    if (!isfinite(v))
        return;
    s->lo = v < s->lo ? v : s->lo;
    s->hi = v > s->hi ? v : s->hi;
}

/* Widened by 5% each side (to 0..1 when empty, by half a single value v each side, or
 * by 1 when v is 0). */
static span span_padded(span s)
{
    if (s.lo > s.hi)
        return (span){ 0, 1 };
    if (s.lo == s.hi) {
        double m = s.lo != 0 ? 0.5 * fabs(s.lo) : 1;
        return (span){ s.lo - m, s.hi + m };
    }
    double m = 0.05 * (s.hi - s.lo);
    return (span){ s.lo - m, s.hi + m };
}

static void set_area(void)
{
    plvpor(RT_PLOT_AREA_X0, RT_PLOT_AREA_X1, RT_PLOT_AREA_Y0, RT_PLOT_AREA_Y1);
}

/* A series in its colour and style; each run of finite points is one polyline, each
 * point also a dot (so that a one-epoch run shows). */
static void draw_series(const rt_plot_series *s)
{
    plcol0(s->colour);
    pllsty(s->dashed ? 2 : 1);
    plwidth(2);
    for (int i = 0; i < s->n;) {
        while (i < s->n && !(isfinite(s->x[i]) && isfinite(s->y[i])))
            i++;
        int start = i;
        while (i < s->n && isfinite(s->x[i]) && isfinite(s->y[i]))
            i++;
        if (i - start > 1)
            plline(i - start, s->x + start, s->y + start);
        if (i > start)
            plpoin(i - start, s->x + start, s->y + start, 17);
    }
    pllsty(1);
    plwidth(1);
}

static void draw_legend(const rt_plot_series *s, int ns)
{
    enum { MAX = 16 };
    PLINT opts[MAX], tcol[MAX], lcol[MAX], lsty[MAX], zero[MAX];
    PLFLT lwid[MAX], fzero[MAX];
    const char *text[MAX];
    int n = ns < MAX ? ns : MAX;
    for (int i = 0; i < n; i++) {
        opts[i] = PL_LEGEND_LINE;
        tcol[i] = RT_PLOT_BLACK;
        lcol[i] = s[i].colour;
        lsty[i] = s[i].dashed ? 2 : 1;
        lwid[i] = 2;
        zero[i] = 0;
        fzero[i] = 0;
        text[i] = s[i].label;
    }
    PLFLT w, h;
    pllegend(&w, &h, PL_LEGEND_BACKGROUND, PL_POSITION_BOTTOM | PL_POSITION_OUTSIDE, 0, 0.2, 0.08, RT_PLOT_WHITE,
             RT_PLOT_BLACK, 1, 1, n, n, opts, 1.0, 0.9, 2.0, 0, tcol, text, zero, zero, fzero, fzero, lcol, lsty,
             lwid, zero, fzero, zero, NULL);
}

/* The x tick interval: PLplot's choice (0), or for whole numbers the least of 1, 2, 5,
 * 10, 20, ... that gives at most 10 ticks. */
static double whole_tick(const rt_plot_axes *ax, span x)
{
    if (!ax->whole_x)
        return 0;
    double step = 1;
    for (int i = 0; (x.hi - x.lo) / step > 10; i++)
        step *= i % 3 == 1 ? 2.5 : 2;
    return step;
}

void rt_plot_lines(const rt_plot_axes *ax, const rt_plot_series *s, int ns)
{
    span x = span_empty(), y = span_empty(), y2 = span_empty();
    int any_right = 0;
    for (int i = 0; i < ns; i++) {
        any_right |= s[i].right;
        for (int k = 0; k < s[i].n; k++) {
            span_add(&x, s[i].x[k]);
            span_add(s[i].right ? &y2 : &y, s[i].y[k]);
        }
    }
    x = span_padded(x);
    y = span_padded(y);
    pladv(0);
    set_area();
    plwind(x.lo, x.hi, y.lo, y.hi);
    plcol0(RT_PLOT_BLACK);
    plbox("bcnst", whole_tick(ax, x), 0, any_right ? "bnstv" : "bcnstv", 0, 0);
    pllab(ax->xlabel ? ax->xlabel : "", ax->ylabel ? ax->ylabel : "", ax->title ? ax->title : "");
    for (int i = 0; i < ns; i++)
        if (!s[i].right)
            draw_series(&s[i]);
    if (any_right) {
        y2 = span_padded(y2);
        plwind(x.lo, x.hi, y2.lo, y2.hi);
        plcol0(RT_PLOT_BLACK);
        plbox("", 0, 0, "cmstv", 0, 0);
        plmtex("r", 4.5, 0.5, 0.5, ax->y2label ? ax->y2label : "");
        for (int i = 0; i < ns; i++)
            if (s[i].right)
                draw_series(&s[i]);
    }
    draw_legend(s, ns);
}

void rt_plot_histogram(const char *title, const char *xlabel, const float *v, size_t n, int bins)
{
    span r = span_empty();
    for (size_t i = 0; i < n; i++)
        span_add(&r, v[i]);
    if (r.lo > r.hi)
        r = (span){ -1, 1 };
    if (r.lo == r.hi)
        r = (span){ r.lo - 0.5, r.hi + 0.5 };
    bins = bins < 1 ? 1 : bins;
    PLFLT *centre = malloc((size_t)bins * sizeof *centre), *count = calloc((size_t)bins, sizeof *count);
    pladv(0);
    set_area();
    if (!centre || !count) {
        free(centre);
        free(count);
        return;
    }
    double width = (r.hi - r.lo) / bins, most = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        int b = (int)((v[i] - r.lo) / width);
        count[b >= bins ? bins - 1 : b] += 1;
    }
    for (int b = 0; b < bins; b++) {
        centre[b] = r.lo + (b + 0.5) * width;
        most = count[b] > most ? count[b] : most;
    }
    plwind(r.lo, r.hi, 0, most * 1.05);
    plcol0(RT_PLOT_BLUE);
    for (int b = 0; b < bins; b++) {
        PLFLT bx[4] = { r.lo + b * width, r.lo + (b + 1) * width, r.lo + (b + 1) * width, r.lo + b * width };
        PLFLT by[4] = { 0, 0, count[b], count[b] };
        if (count[b] > 0)
            plfill(4, bx, by);
    }
    plcol0(RT_PLOT_BLACK);
    plbin(bins, centre, count, PL_BIN_CENTRED | PL_BIN_NOEMPTY);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    pllab(xlabel ? xlabel : "", "count", title ? title : "");
    free(centre);
    free(count);
}
