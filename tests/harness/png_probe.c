/* png_probe.c -- what tests/t_plot.sh reads out of a PNG, decoded with libpng's
 * simplified API into 8-bit RGB (independently of the plot layer, which only writes):
 *
 *   png_probe FILE size                          "W H"
 *   png_probe FILE stats X0 Y0 X1 Y1             "MEAN STD" of the luminance (0..255)
 *   png_probe FILE count X0 Y0 X1 Y1 R G B TOL   pixels within TOL of colour (R, G, B)
 *   png_probe FILE diff OTHER                    mean absolute luminance difference
 *   png_probe FILE blank W H                     writes a white W x H PNG (a control)
 *
 * A region is given in fractions of the image, x from the left and y from the bottom
 * (PLplot's normalised coordinates), and holds the pixels whose centres are inside it.
 * Exits 1 with a message if the file is not a PNG or the arguments are wrong. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "png_read.h"

static int load(const char *path, image *im)
{
    char why[600];
    int rc = png_read_rgb(path, im, why, sizeof why);
    if (rc)
        fprintf(stderr, "png_probe: %s\n", why);
    return rc;
}

static double luminance(const unsigned char *p)
{
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

/* The pixel rectangle [x0, x1) x [y0, y1) (rows from the top) of a fractional region. */
static void region(const image *im, char **arg, int *x0, int *y0, int *x1, int *y1)
{
    double f[4];
    for (int i = 0; i < 4; i++)
        f[i] = atof(arg[i]);
    *x0 = (int)ceil(f[0] * im->w - 0.5);
    *x1 = (int)ceil(f[2] * im->w - 0.5);
    *y0 = (int)ceil((1 - f[3]) * im->h - 0.5);
    *y1 = (int)ceil((1 - f[1]) * im->h - 0.5);
}

static int stats(const image *im, char **arg)
{
    int x0, y0, x1, y1;
    region(im, arg, &x0, &y0, &x1, &y1);
    double sum = 0, sq = 0;
    long n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double l = luminance(im->rgb + 3 * ((size_t)y * im->w + x));
            sum += l;
            sq += l * l;
            n++;
        }
    if (n == 0) {
        fprintf(stderr, "png_probe: empty region\n");
        return 1;
    }
    double mean = sum / n;
    printf("%.3f %.3f\n", mean, sqrt(fmax(0, sq / n - mean * mean)));
    return 0;
}

static int count(const image *im, char **arg)
{
    int x0, y0, x1, y1, want[3] = { atoi(arg[4]), atoi(arg[5]), atoi(arg[6]) }, tol = atoi(arg[7]);
    region(im, arg, &x0, &y0, &x1, &y1);
    long n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const unsigned char *p = im->rgb + 3 * ((size_t)y * im->w + x);
            n += abs(p[0] - want[0]) <= tol && abs(p[1] - want[1]) <= tol && abs(p[2] - want[2]) <= tol;
        }
    printf("%ld\n", n);
    return 0;
}

static int diff(const image *a, const char *other)
{
    image b;
    if (load(other, &b))
        return 1;
    if (a->w != b.w || a->h != b.h) {
        fprintf(stderr, "png_probe: %dx%d and %dx%d differ in size\n", a->w, a->h, b.w, b.h);
        return 1;
    }
    double sum = 0;
    for (size_t i = 0; i < (size_t)a->w * a->h; i++)
        sum += fabs(luminance(a->rgb + 3 * i) - luminance(b.rgb + 3 * i));
    printf("%.4f\n", sum / ((double)a->w * a->h));
    free(b.rgb);
    return 0;
}

static int blank(const char *path, int w, int h)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)w;
    png.height = (png_uint_32)h;
    png.format = PNG_FORMAT_RGB;
    unsigned char *rgb = malloc((size_t)w * h * 3);
    if (!rgb)
        return 1;
    memset(rgb, 255, (size_t)w * h * 3);
    int ok = png_image_write_to_file(&png, path, 0, rgb, 0, NULL);
    free(rgb);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[2], "blank"))
        return blank(argv[1], atoi(argv[3]), atoi(argv[4]));
    image im;
    if (argc < 3 || load(argv[1], &im))
        return 1;
    int rc = 1;
    if (!strcmp(argv[2], "size")) {
        printf("%d %d\n", im.w, im.h);
        rc = 0;
    } else if (!strcmp(argv[2], "stats") && argc == 7) {
        rc = stats(&im, argv + 3);
    } else if (!strcmp(argv[2], "count") && argc == 11) {
        rc = count(&im, argv + 3);
    } else if (!strcmp(argv[2], "diff") && argc == 4) {
        rc = diff(&im, argv[3]);
    } else {
        fprintf(stderr, "png_probe: bad arguments (see tests/harness/png_probe.c)\n");
    }
    free(im.rgb);
    return rc;
}
