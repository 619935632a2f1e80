/* raster.c -- heatmaps and images, both drawn by PLplot's plimagefr through colour map 1.
 *
 * plimagefr colours the cell between grid points (i, j) and (i + 1, j + 1) by the value
 * at (i, j), so an image of W x H cells is given as a (W + 1) x (H + 1) grid whose last
 * row and column are repeats.  Its colour is the cmap1 entry floor(t * ncol1) for t =
 * (v - lo) / (hi - lo), so with the map set to one entry per colour and v an entry's
 * index, lo = -0.5 and hi = ncol1 - 0.5 pick exactly that entry: that is how an RGB
 * image is drawn (through a 16-level colour cube), and a heatmap through a map from
 * white to dark blue (seaborn's "Blues"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <plplot/plplot.h>
#include "rt_plot.h"

enum { CUBE = 16 };   /* levels per channel of the RGB colour cube */

/* A (w + 1) x (h + 1) grid, g[x][y], from value(ctx, x, y) for x < w, y < h (y from the
 * bottom), edges repeated.  NULL if out of memory. */
static PLFLT **grid_of(int w, int h, double (*value)(const void *ctx, int x, int y), const void *ctx)
{
    PLFLT **g;
    plAlloc2dGrid(&g, w + 1, h + 1);
    if (!g)
        return NULL;
    for (int x = 0; x <= w; x++)
        for (int y = 0; y <= h; y++)
            g[x][y] = value(ctx, x < w ? x : w - 1, y < h ? y : h - 1);
    return g;
}

static void draw_grid(PLFLT **g, int w, int h, double lo, double hi)
{
    plimagefr((PLFLT_MATRIX)g, w + 1, h + 1, 0, w, 0, h, lo, hi, lo, hi, NULL, NULL);
    plFree2dGrid(g, w + 1, h + 1);
}

/* cmap1 as a straight line in RGB from (r0, g0, b0) to (r1, g1, b1), 256 entries. */
static void ramp(double r0, double g0, double b0, double r1, double g1, double b1)
{
    PLFLT pos[2] = { 0, 1 }, r[2] = { r0, r1 }, g[2] = { g0, g1 }, b[2] = { b0, b1 };
    plscmap1n(256);
    plscmap1l(1, 2, pos, r, g, b, NULL);
}

/* ---- heatmap ---- */

typedef struct {
    const double *z;
    int rows, cols;
} heat;

static double heat_value(const void *ctx, int x, int y)
{
    const heat *h = ctx;
    return h->z[(size_t)(h->rows - 1 - y) * h->cols + x];
}

static int longest(const char *const *names, int n)
{
    int most = 0;
    for (int i = 0; i < n; i++) {
        int len = names[i] ? (int)strlen(names[i]) : 0;
        most = len > most ? len : most;
    }
    return most;
}

void rt_plot_heatmap(const char *title, const char *xlabel, const char *ylabel, const double *z, int rows,
                     int cols, const char *const *row_names, const char *const *col_names)
{
    pladv(0);
    plvpor(RT_PLOT_HEAT_X0, RT_PLOT_HEAT_X1, RT_PLOT_HEAT_Y0, RT_PLOT_HEAT_Y1);
    plwind(0, cols, 0, rows);
    double most = 0;
    for (int i = 0; i < rows * cols; i++)
        most = z[i] > most ? z[i] : most;
    most = most > 0 ? most : 1;
    ramp(1, 1, 1, 0.03, 0.19, 0.42);
    heat h = { z, rows, cols };
    PLFLT **g = grid_of(cols, rows, heat_value, &h);
    if (g)
        draw_grid(g, cols, rows, 0, most);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double v = z[(size_t)r * cols + c];
            char text[32];
            snprintf(text, sizeof text, "%.0f", v);
            plcol0(v > 0.55 * most ? RT_PLOT_WHITE : RT_PLOT_BLACK);
            plptex(c + 0.5, rows - r - 0.5, 1, 0, 0.5, text);
        }
    plcol0(RT_PLOT_BLACK);
    plbox("bc", 0, 0, "bc", 0, 0);
    for (int c = 0; c < cols; c++)
        plmtex("bv", 0.7, (c + 0.5) / cols, 1.0, col_names[c]);
    for (int r = 0; r < rows; r++)
        plmtex("lv", 0.7, 1 - (r + 0.5) / rows, 1.0, row_names[r]);
    plmtex("b", 1.5 + 0.75 * longest(col_names, cols), 0.5, 0.5, xlabel ? xlabel : "");
    plmtex("l", 1.5 + 0.75 * longest(row_names, rows), 0.5, 0.5, ylabel ? ylabel : "");
    plmtex("t", 1.2, 0.5, 0.5, title ? title : "");
}

/* ---- images ---- */

typedef struct {
    const float *img;
    int C, H, W;
    float lo, hi;
} picture;

/* A channel's value at (x, y from the bottom) as a fraction 0..1 of lo..hi. */
static double level(const picture *p, int c, int x, int y)
{
    double v = (p->img[((size_t)c * p->H + (p->H - 1 - y)) * p->W + x] - p->lo) / (p->hi - p->lo);
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static double grey_value(const void *ctx, int x, int y)
{
    return level(ctx, 0, x, y);
}

/* The index of the pixel's colour in the CUBE^3 colour cube. */
static double rgb_value(const void *ctx, int x, int y)
{
    int idx = 0;
    for (int c = 0; c < 3; c++)
        idx = idx * CUBE + (int)lround(level(ctx, c, x, y) * (CUBE - 1));
    return idx;
}

static void cube_map(void)
{
    enum { N = CUBE * CUBE * CUBE };
    PLINT *r = malloc(3 * N * sizeof *r);
    if (!r)
        return;   /* the image is drawn in the map already set */
    PLINT *g = r + N, *b = r + 2 * N;
    for (int i = 0; i < N; i++) {
        r[i] = i / (CUBE * CUBE) * 255 / (CUBE - 1);
        g[i] = i / CUBE % CUBE * 255 / (CUBE - 1);
        b[i] = i % CUBE * 255 / (CUBE - 1);
    }
    plscmap1(r, g, b, N);
    free(r);
}

/* The caption's lines upwards from just above the frame. */
static void caption_lines(const char *caption)
{
    char lines[4][128];
    int n = 0;
    for (const char *p = caption; p && *p && n < 4;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        snprintf(lines[n++], sizeof lines[0], "%.*s", len, p);
        p = nl ? nl + 1 : p + len;
    }
    plschr(0, RT_PLOT_CAPTION);
    for (int i = 0; i < n; i++)
        plmtex("t", 0.6 + 1.6 * (n - 1 - i), 0.5, 0.5, lines[i]);
    plschr(0, RT_PLOT_TEXT);
}

void rt_plot_image(const char *caption, const float *img, int C, int H, int W, float lo, float hi)
{
    pladv(0);
    plvpas(RT_PLOT_IMAGE_X0, RT_PLOT_IMAGE_X1, RT_PLOT_IMAGE_Y0, RT_PLOT_IMAGE_Y1, (double)H / W);
    plwind(0, W, 0, H);
    picture p = { img, C, H, W, lo, hi > lo ? hi : lo + 1 };
    PLFLT **g;
    if (C == 3) {
        cube_map();
        if ((g = grid_of(W, H, rgb_value, &p)))
            draw_grid(g, W, H, -0.5, CUBE * CUBE * CUBE - 0.5);
    } else {
        ramp(0, 0, 0, 1, 1, 1);
        if ((g = grid_of(W, H, grey_value, &p)))
            draw_grid(g, W, H, 0, 1);
    }
    plcol0(RT_PLOT_GREY);
    plbox("bc", 0, 0, "bc", 0, 0);
    plcol0(RT_PLOT_BLACK);
    caption_lines(caption);
}
