/* figure.c -- a figure: one PLplot stream writing one file through the cairo driver
 * (pngcairo for .png, svgcairo for .svg), with the page size, panel grid, palette and
 * text size set once here so that every chart looks alike.
 *
 * PLplot exits the process on a fatal error, so everything that can fail is checked
 * before PLplot sees it: the extension, the sizes, and that the file can be written (it
 * is opened here and handed to PLplot, which closes it at plend). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <plplot/plplot.h>
#include "rt_plot.h"

static const unsigned char palette[RT_PLOT_COLOURS][3] = {
    [RT_PLOT_WHITE] = { 255, 255, 255 }, [RT_PLOT_BLACK] = { 0, 0, 0 },
    [RT_PLOT_BLUE] = { 31, 119, 180 },   [RT_PLOT_ORANGE] = { 255, 127, 14 },
    [RT_PLOT_GREEN] = { 44, 160, 44 },   [RT_PLOT_RED] = { 214, 39, 40 },
    [RT_PLOT_GREY] = { 110, 110, 110 },
};

/* The cairo device for PATH's extension, or NULL. */
static const char *device_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strcasecmp(dot, ".png"))
        return "pngcairo";
    if (dot && !strcasecmp(dot, ".svg"))
        return "svgcairo";
    return NULL;
}

int rt_plot_open(const char *path, int width, int height, int cols, int rows, char *err, size_t errlen)
{
    const char *dev = device_of(path);
    if (!dev)
        return rt_fail(err, errlen, "%s: the output must end in .png or .svg", path);
    if (width < 16 || height < 16 || width > 20000 || height > 20000 || cols < 1 || rows < 1)
        return rt_fail(err, errlen, "%s: cannot draw a %dx%d figure of %dx%d panels", path, width, height, cols,
                       rows);
    FILE *f = fopen(path, "wb");
    if (!f)
        return rt_fail(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    plsdev(dev);
    plsfile(f);
    plspage(0, 0, width, height, 0, 0);
    plscmap0n(RT_PLOT_COLOURS);
    for (int i = 0; i < RT_PLOT_COLOURS; i++)
        plscol0(i, palette[i][0], palette[i][1], palette[i][2]);
    plssub(cols, rows);
    plinit();
    plfontld(1);
    plschr(0, RT_PLOT_TEXT);
    return 0;
}

int rt_plot_close(const char *path, char *err, size_t errlen)
{
    plend();
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size == 0)
        return rt_fail(err, errlen, "%s: PLplot wrote nothing", path);
    return 0;
}

void rt_plot_grid(int n, int *cols, int *rows)
{
    int c = 1;
    while (c * c < n)
        c++;
    *cols = c;
    *rows = n > 0 ? (n + c - 1) / c : 1;
}
