/* test_plot.c — the plot layer (runtime/plot) on its own: figures drawn through PLplot
 * and read back with libpng at the places rt_plot.h's layout promises.
 *   - an RGB image's cells have the colours of its pixels (the 16-level colour cube);
 *   - a grey image's cells go black to white;
 *   - a heatmap's cells go white (0) to dark blue (the maximum);
 *   - the grid for n panels; the errors of rt_plot_open (extension, unwritable path). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "scratch.h"
#include "../harness/png_read.h"
#include "plot/rt_plot.h"



/* Whether the pixel at fractions (fx from the left, fy from the bottom) is within tol
 * of (r, g, b); prints it when not. */
static int colour_at(const image *im, double fx, double fy, int r, int g, int b, int tol)
{
    int x = (int)(fx * im->w), y = (int)((1 - fy) * im->h);
    const unsigned char *p = im->rgb + 3 * ((size_t)y * im->w + x);
    int ok = abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
    if (!ok)
        printf("  pixel (%d, %d) is (%d, %d, %d), want (%d, %d, %d)\n", x, y, p[0], p[1], p[2], r, g, b);
    return ok;
}

/* The image square of a one-panel figure of w x h: its left, bottom and side, as
 * fractions of the width and the height. */
static void image_square(int w, int h, double *x0, double *y0, double *sx, double *sy)
{
    double bw = (RT_PLOT_IMAGE_X1 - RT_PLOT_IMAGE_X0) * w, bh = (RT_PLOT_IMAGE_Y1 - RT_PLOT_IMAGE_Y0) * h;
    double side = bw < bh ? bw : bh;
    *sx = side / w;
    *sy = side / h;
    *x0 = (RT_PLOT_IMAGE_X0 + RT_PLOT_IMAGE_X1) / 2 - *sx / 2;
    *y0 = (RT_PLOT_IMAGE_Y0 + RT_PLOT_IMAGE_Y1) / 2 - *sy / 2;
}

static void test_images(void)
{
    enum { N = 8 };
    static float rgb[3][N][N], grey[1][N][N];
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            rgb[0][y][x] = x / (float)(N - 1);   /* red grows to the right */
            rgb[1][y][x] = y / (float)(N - 1);   /* green grows downwards */
            rgb[2][y][x] = 0.5f;
            grey[0][y][x] = (2.0f * x - 1.0f) / 2.0f;   /* -0.5 .. 6.5: clipped at both ends */
        }
    const char *kinds[2] = { "rgb", "grey" };
    for (int k = 0; k < 2; k++) {
        char path[300], err[512];
        snprintf(path, sizeof path, "%s", scratch_path("%s.png", kinds[k]));
        int rc = rt_plot_open(path, 320, 300, 1, 1, err, sizeof err);
        CHECK(rc == 0, "open %s: %s", path, err);
        if (rc)
            continue;
        if (k == 0)
            rt_plot_image("rgb", &rgb[0][0][0], 3, N, N, 0, 1);
        else
            rt_plot_image("grey", &grey[0][0][0], 1, N, N, 0, 3);
        CHECK(rt_plot_close(path, err, sizeof err) == 0, "close: %s", err);
        image im;
        CHECK(png_read_rgb(path, &im, NULL, 0) == 0, "%s is not a PNG", path);
        if (!im.rgb)
            continue;
        CHECK(im.w == 320 && im.h == 300, "%s is %dx%d", path, im.w, im.h);
        double x0, y0, sx, sy;
        image_square(im.w, im.h, &x0, &y0, &sx, &sy);
        /* the centre of cell (row r from the top, column c) */
#define CELL_X(c) (x0 + ((c) + 0.5) * sx / N)
#define CELL_Y(r) (y0 + sy - ((r) + 0.5) * sy / N)
        if (k == 0) {
            CHECK(colour_at(&im, CELL_X(0), CELL_Y(0), 0, 0, 136, 2), "rgb top left");
            CHECK(colour_at(&im, CELL_X(N - 1), CELL_Y(0), 255, 0, 136, 2), "rgb top right");
            CHECK(colour_at(&im, CELL_X(0), CELL_Y(N - 1), 0, 255, 136, 2), "rgb bottom left");
            CHECK(colour_at(&im, CELL_X(3), CELL_Y(4), 102, 153, 136, 2), "rgb (4, 3)");
        } else {
            CHECK(colour_at(&im, CELL_X(0), CELL_Y(3), 0, 0, 0, 2), "grey: below lo is black");
            CHECK(colour_at(&im, CELL_X(2), CELL_Y(3), 127, 127, 127, 3), "grey: 1.5 of 0..3 is mid grey");
            CHECK(colour_at(&im, CELL_X(N - 1), CELL_Y(3), 255, 255, 255, 2), "grey: above hi is white");
        }
#undef CELL_X
#undef CELL_Y
        free(im.rgb);
    }
}

static void test_heatmap(void)
{
    char path[300], err[512];
    snprintf(path, sizeof path, "%s", scratch_path("heat.png"));
    const double z[4] = { 0, 10, 5, 10 };
    const char *names[2] = { "a", "b" };
    int rc = rt_plot_open(path, 400, 400, 1, 1, err, sizeof err);
    CHECK(rc == 0, "open: %s", err);
    if (rc)
        return;
    rt_plot_heatmap("t", "x", "y", z, 2, 2, names, names);
    CHECK(rt_plot_close(path, err, sizeof err) == 0, "close: %s", err);
    image im;
    if (png_read_rgb(path, &im, NULL, 0)) {
        CHECK(0, "%s is not a PNG", path);
        return;
    }
    double cw = (RT_PLOT_HEAT_X1 - RT_PLOT_HEAT_X0) / 2, ch = (RT_PLOT_HEAT_Y1 - RT_PLOT_HEAT_Y0) / 2;
    /* near each cell's top left corner, away from the count at its centre */
#define AT(r, c) RT_PLOT_HEAT_X0 + ((c) + 0.2) * cw, RT_PLOT_HEAT_Y1 - ((r) + 0.2) * ch
    CHECK(colour_at(&im, AT(0, 0), 255, 255, 255, 2), "0 is white");
    CHECK(colour_at(&im, AT(0, 1), 8, 48, 107, 3), "the maximum is dark blue");
    CHECK(colour_at(&im, AT(1, 1), 8, 48, 107, 3), "the maximum is dark blue");
    CHECK(colour_at(&im, AT(1, 0), 131, 151, 181, 4), "half the maximum is half way");
#undef AT
    free(im.rgb);
}

static void test_grid_and_errors(void)
{
    static const int n[] = { 1, 2, 3, 5, 16, 17 }, want[][2] = { { 1, 1 }, { 2, 1 }, { 2, 2 }, { 3, 2 }, { 4, 4 }, { 5, 4 } };
    for (int i = 0; i < 6; i++) {
        int c, r;
        rt_plot_grid(n[i], &c, &r);
        CHECK(c == want[i][0] && r == want[i][1], "grid of %d: %dx%d", n[i], c, r);
    }
    char err[512] = "";
    CHECK(rt_plot_open("x.gif", 100, 100, 1, 1, err, sizeof err) != 0 && strstr(err, "must end in .png or .svg"),
          "x.gif: %s", err);
    CHECK(access("x.gif", F_OK) != 0, "x.gif was created");
    CHECK(rt_plot_open("/nonexistent/dir/x.png", 100, 100, 1, 1, err, sizeof err) != 0 && strstr(err, "cannot write"),
          "unwritable: %s", err);
    CHECK(rt_plot_open("x.png", 4, 100, 1, 1, err, sizeof err) != 0 && strstr(err, "cannot draw"), "4 pixels: %s", err);
}

int main(void)
{
    scratch_open("netc_test_plot");
    test_images();
    test_heatmap();
    test_grid_and_errors();
    scratch_close();
    printf("test_plot: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
