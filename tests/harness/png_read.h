/* png_read.h -- decoding a PNG into 8-bit RGB with libpng's simplified API, for the tests
 * that read plots back (tests/harness/png_probe.c, tests/unit/test_plot.c), independently
 * of the plot layer, which only writes. */
#ifndef NETC_PNG_READ_H
#define NETC_PNG_READ_H

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int w, h;
    unsigned char *rgb;       /* [h][w][3], rows from the top; free() it */
} image;

/* 0, or -1 after writing why into why[len] (when why is not NULL). */
static inline int png_read_rgb(const char *path, image *im, char *why, size_t len)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    im->rgb = NULL;
    if (!png_image_begin_read_from_file(&png, path)) {
        if (why)
            snprintf(why, len, "%s: %s", path, png.message);
        return -1;
    }
    png.format = PNG_FORMAT_RGB;
    im->w = (int)png.width;
    im->h = (int)png.height;
    im->rgb = malloc(PNG_IMAGE_SIZE(png));
    if (!im->rgb || !png_image_finish_read(&png, NULL, im->rgb, 0, NULL)) {
        if (why)
            snprintf(why, len, "%s: %s", path, im->rgb ? png.message : "out of memory");
        png_image_free(&png);
        free(im->rgb);
        im->rgb = NULL;
        return -1;
    }
    return 0;
}

#endif
