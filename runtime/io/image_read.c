/* image_read.c — the images `predict` classifies: PGM, PNG, or one item of an IDX file.
 *
 * A file is recognised by its first bytes, not its name: "P5"/"P2" is a PGM (binary or
 * ASCII; maxval up to 65535, scaled to 0..255), "\x89PNG" a PNG, read through libpng's
 * simplified API as 8-bit gray or RGB according to the file's own colour type (alpha is
 * composited onto black).  "PATH:INDEX" names item INDEX of an IDX images file; when the
 * labels file beside it exists (train-images-idx3-ubyte -> train-labels-idx1-ubyte) its
 * label comes along, so predict can show it.  rt_image_read_mem reads a PGM or PNG from
 * bytes in memory (the fuzz target's entry point). */
#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "rt_io.h"

void rt_image_free(rt_image *img)
{
    free(img->pixels);
    memset(img, 0, sizeof *img);
    img->label = -1;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- PGM ---- */

/* The next number, skipping whitespace and # comments; -1 if none, -2 if the file ends
 * inside it (every number, the last pixel's too, ends in whitespace: a file cut inside
 * its last number would otherwise give a wrong last pixel). */
static long pgm_number(FILE *f)
{
    int ch = fgetc(f);
    for (;;) {
        while (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
            ch = fgetc(f);
        if (ch != '#')
            break;
        while (ch != '\n' && ch != EOF)
            ch = fgetc(f);
    }
    if (ch < '0' || ch > '9')
        return -1;
    long v = 0;
    while (ch >= '0' && ch <= '9') {
        v = v * 10 + (ch - '0');
        if (v > 1000000)
            return -1;
        ch = fgetc(f);
    }
    /* The one whitespace character after the last header field (maxval) is consumed
     * here, as P5 requires before the raster. */
    if (ch == EOF)
        return -2;
    if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
        return -1;
    return v;
}

static int read_pgm(const char *path, FILE *f, rt_image *img, char *err, size_t errlen)
{
    char magic[2];
    if (fread(magic, 1, 2, f) != 2)
        return rt_fail(err, errlen, "%s: not a PGM image", path);
    int binary = magic[1] == '5';
    long w = pgm_number(f), h = pgm_number(f), maxval = pgm_number(f);
    if (w <= 0 || h <= 0 || maxval <= 0 || maxval > 65535 || w * h > 100000000L)
        return rt_fail(err, errlen, "%s: bad PGM header (width %ld, height %ld, maxval %ld)", path, w, h, maxval);
    size_t n = (size_t)w * (size_t)h;
    img->pixels = malloc(n);
    if (!img->pixels)
        return rt_fail(err, errlen, "%s: out of memory for a %ldx%ld image", path, w, h);
    img->C = 1;
    img->H = (int)h;
    img->W = (int)w;
    for (size_t i = 0; i < n; i++) {
        long v;
        if (binary) {
            int b0 = fgetc(f), b1 = 0;
            if (maxval > 255 && b0 != EOF)
                b1 = fgetc(f);
            if (b0 == EOF || b1 == EOF)
                return rt_fail(err, errlen, "%s: truncated: %zu of %zu pixels", path, i, n);
            v = maxval > 255 ? b0 << 8 | b1 : b0;
        } else {
            v = pgm_number(f);
            if (v == -2)
                return rt_fail(err, errlen, "%s: truncated: the file ends inside the value of pixel %zu of %zu", path,
                               i, n);
            if (v < 0)
                return rt_fail(err, errlen, "%s: truncated or bad pixel value at pixel %zu of %zu", path, i, n);
        }
        if (v > maxval)
            return rt_fail(err, errlen, "%s: pixel %zu is %ld, above maxval %ld", path, i, v, maxval);
        img->pixels[i] = (uint8_t)((v * 255 + maxval / 2) / maxval);
    }
    return 0;
}

/* ---- PNG ---- */

/* The rest of a read that png_image_begin_read_* has begun. */
static int finish_png(const char *path, png_image png, rt_image *img, char *err, size_t errlen)
{
    int color = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
    png.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    size_t C = color ? 3 : 1, H = png.height, W = png.width;
    if (H * W > 100000000u) {
        png_image_free(&png);
        return rt_fail(err, errlen, "%s: a %zux%zu image is too large", path, W, H);
    }
    uint8_t *hwc = malloc(PNG_IMAGE_SIZE(png));
    img->pixels = malloc(C * H * W);
    if (!hwc || !img->pixels) {
        free(hwc);
        png_image_free(&png);
        return rt_fail(err, errlen, "%s: out of memory", path);
    }
    png_color black = { 0, 0, 0 };
    if (!png_image_finish_read(&png, &black, hwc, 0, NULL)) {
        free(hwc);
        return rt_fail(err, errlen, "%s: corrupt PNG: %s", path, png.message);
    }
    /* interleaved HWC -> planar CHW */
    for (size_t c = 0; c < C; c++)
        for (size_t p = 0; p < H * W; p++)
            img->pixels[c * H * W + p] = hwc[p * C + c];
    free(hwc);
    img->C = (int)C;
    img->H = (int)H;
    img->W = (int)W;
    return 0;
}

static int read_png(const char *path, rt_image *img, char *err, size_t errlen)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, path))
        return rt_fail(err, errlen, "%s: not a readable PNG: %s", path, png.message);
    return finish_png(path, png, img, err, errlen);
}

static int read_png_mem(const char *name, const void *data, size_t size, rt_image *img, char *err, size_t errlen)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, data, size))
        return rt_fail(err, errlen, "%s: not a readable PNG: %s", name, png.message);
    return finish_png(name, png, img, err, errlen);
}

/* ---- IDX items ---- */

/* "PATH:INDEX" -> path and index; 0 if spec is not of that form. */
static int split_item(const char *spec, char *path, size_t len, unsigned long *index)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= len)
        return 0;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    memcpy(path, spec, (size_t)(colon - spec));
    path[colon - spec] = 0;
    *index = strtoul(colon + 1, NULL, 10);
    return 1;
}

static void item_label(const char *images_path, unsigned long index, rt_image *img)
{
    char lab[4096];
    snprintf(lab, sizeof lab, "%s", images_path);
    char *base = strrchr(lab, '/');
    base = base ? base + 1 : lab;
    char *at = strstr(base, "images-idx3");
    if (!at)
        return;
    memcpy(at, "labels-idx1", 11);
    if (!is_file(lab))
        return;
    int32_t *labels = NULL;
    size_t n = 0;
    char err[512];
    if (rt_idx_read_labels(lab, 256, &labels, &n, err, sizeof err) == 0 && index < n)
        img->label = labels[index];
    free(labels);
}

static int read_item(const char *path, unsigned long index, rt_image *img, char *err, size_t errlen)
{
    uint8_t *pixels = NULL;
    size_t n = 0;
    int h = 0, w = 0;
    if (rt_idx_read_images(path, 0, 0, &pixels, &n, &h, &w, err, errlen))
        return -1;
    if (index >= n) {
        free(pixels);
        return rt_fail(err, errlen, "%s: no item %lu: the file holds %zu images (0..%zu)", path, index, n, n ? n - 1 : 0);
    }
    size_t plane = (size_t)h * w;
    img->pixels = malloc(plane);
    if (!img->pixels) {
        free(pixels);
        return rt_fail(err, errlen, "%s: out of memory", path);
    }
    memcpy(img->pixels, pixels + index * plane, plane);
    free(pixels);
    img->C = 1;
    img->H = h;
    img->W = w;
    item_label(path, index, img);
    return 0;
}

typedef enum { KIND_OTHER, KIND_PGM, KIND_PNG } image_kind;

/* What the first bytes say a file is. */
static image_kind sniff(const unsigned char *head, size_t got)
{
    if (got >= 2 && head[0] == 'P' && (head[1] == '5' || head[1] == '2'))
        return KIND_PGM;
    if (got >= 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8))
        return KIND_PNG;
    return KIND_OTHER;
}

int rt_image_read(const char *spec, rt_image *img, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    img->label = -1;
    char path[4096];
    unsigned long index;
    int rc;
    if (!is_file(spec) && split_item(spec, path, sizeof path, &index)) {
        rc = read_item(path, index, img, err, errlen);
    } else {
        FILE *f = fopen(spec, "rb");
        if (!f)
            return rt_fail(err, errlen, "%s: cannot open: %s", spec, strerror(errno));
        unsigned char head[8] = { 0 };
        size_t got = fread(head, 1, sizeof head, f);
        rewind(f);
        image_kind kind = sniff(head, got);
        if (kind == KIND_PGM)
            rc = read_pgm(spec, f, img, err, errlen);
        fclose(f);
        if (kind == KIND_PNG)
            rc = read_png(spec, img, err, errlen);
        else if (kind == KIND_OTHER)
            rc = rt_fail(err, errlen, "%s: not a PGM (P2/P5) or PNG image, nor IDXFILE:INDEX", spec);
    }
    if (rc)
        rt_image_free(img);
    return rc;
}

int rt_image_read_mem(const char *name, const void *data, size_t size, rt_image *img, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    img->label = -1;
    int rc = 0;
    image_kind kind = sniff(data, size);
    if (kind == KIND_PGM) {
        FILE *f = fmemopen((void *)data, size, "rb");
        rc = f ? read_pgm(name, f, img, err, errlen) : rt_fail(err, errlen, "%s: cannot open: %s", name, strerror(errno));
        if (f)
            fclose(f);
    } else if (kind == KIND_PNG) {
        rc = read_png_mem(name, data, size, img, err, errlen);
    } else {
        rc = rt_fail(err, errlen, "%s: not a PGM (P2/P5) or PNG image", name);
    }
    if (rc)
        rt_image_free(img);
    return rc;
}
