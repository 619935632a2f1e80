/* rt_plot.h -- the plot layer of the runtime (runtime/plot/): figures as PNG or SVG,
 * drawn by PLplot through its cairo driver.  Depends on the core layer (rt_fail) and
 * libplplot; used only by the trainer's `plot` command (the model-only link, core and
 * kernels, never sees it).
 *
 * PLplot draws the axes, ticks, labels, legends, lines, histograms and images; this
 * layer only chooses the figure's layout and colours, so each chart is one call.  A
 * figure is a page of cols x rows equal panels (PLplot subpages); each chart call fills
 * the next panel.  PLplot keeps its state in its own current stream, so one figure is
 * open at a time: rt_plot_open ... chart calls ... rt_plot_close.
 *
 * Layouts a reader of the PNG can rely on (tests/t_plot.sh does), as fractions of a
 * panel, x from the left, y from the bottom:
 *   lines, histogram: the plot area is RT_PLOT_AREA_*; the legend is below it;
 *   heatmap: the cells fill RT_PLOT_HEAT_* (rows top to bottom, columns left to right);
 *   image: the image is the largest square centred in RT_PLOT_IMAGE_* (caption above). */
#ifndef NETC_RT_PLOT_H
#define NETC_RT_PLOT_H

#include <stddef.h>
#include "../core/rt_core.h"

/* Text size, relative to PLplot's default, and a caption's over an image. */
#define RT_PLOT_TEXT 0.8
#define RT_PLOT_CAPTION 1.1

#define RT_PLOT_AREA_X0 0.13
#define RT_PLOT_AREA_X1 0.85
#define RT_PLOT_AREA_Y0 0.27
#define RT_PLOT_AREA_Y1 0.90
#define RT_PLOT_HEAT_X0 0.22
#define RT_PLOT_HEAT_X1 0.94
#define RT_PLOT_HEAT_Y0 0.20
#define RT_PLOT_HEAT_Y1 0.92
#define RT_PLOT_IMAGE_X0 0.04
#define RT_PLOT_IMAGE_X1 0.96
#define RT_PLOT_IMAGE_Y0 0.03
#define RT_PLOT_IMAGE_Y1 0.76

/* The palette, by role (cmap0 entries). */
typedef enum {
    RT_PLOT_WHITE, RT_PLOT_BLACK, RT_PLOT_BLUE, RT_PLOT_ORANGE, RT_PLOT_GREEN, RT_PLOT_RED,
    RT_PLOT_GREY, RT_PLOT_COLOURS
} rt_plot_colour;

/* Opens PATH (.png or .svg, chosen by the extension) as a figure of width x height
 * pixels with cols x rows panels. */
int rt_plot_open(const char *path, int width, int height, int cols, int rows, char *err,
                 size_t errlen);
/* Writes the figure and closes it. */
int rt_plot_close(const char *path, char *err, size_t errlen);
/* A grid for n panels: cols = ceil(sqrt(n)), rows = ceil(n / cols). */
void rt_plot_grid(int n, int *cols, int *rows);

/* ---- lines.c: line charts and histograms ---- */

/* One line of a chart: n points; on the right-hand axis if `right`. */
typedef struct {
    const double *x, *y;
    int n;
    const char *label;
    rt_plot_colour colour;
    int dashed, right;
} rt_plot_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    const char *y2label;       /* the right-hand axis's label, when a series is on it */
    int whole_x;               /* x counts (epochs): ticks on whole numbers */
} rt_plot_axes;

/* The next panel: the series (NaN values are gaps), each axis scaled to its series. */
void rt_plot_lines(const rt_plot_axes *ax, const rt_plot_series *s, int ns);
/* The next panel: a histogram of v[0..n) in `bins` bins over its range. */
void rt_plot_histogram(const char *title, const char *xlabel, const float *v, size_t n, int bins);

/* ---- raster.c: heatmaps and images ---- */

/* The next panel: z[rows][cols] as a heatmap from white (0) to dark blue (the maximum),
 * each cell's value printed in it as a whole number, names along the two axes. */
void rt_plot_heatmap(const char *title, const char *xlabel, const char *ylabel, const double *z, int rows,
                     int cols, const char *const *row_names, const char *const *col_names);
/* The next panel: an image [C][H][W] (C 1: grey, 3: RGB), values lo..hi shown black to
 * white, with a caption above (several lines split at '\n'). */
void rt_plot_image(const char *caption, const float *img, int C, int H, int W, float lo, float hi);

#endif
