/* train_augment.c — data augmentation, MixUp and label smoothing for the trainer.
 *
 * Augmentations work on one float image in the model's input frame, after the byte ->
 * float mapping (so "black" is the normalised value of pixel 0, which fills any area an
 * augmentation uncovers -- torchvision's fill=0 applied before Normalize).  They follow
 * torchvision's transforms, in this order:
 *   crop      RandomResizedCrop(scale=(crop, crop_max), ratio=(3/4, 4/3)), bilinear
 *             resize back; with crop_max > 1 a box may be larger than the image (which
 *             torchvision rejects), so the image shrinks inside it: a zoom out
 *   flip      RandomHorizontalFlip(0.5)
 *   rotate    RandomRotation(rotate) about the centre, bilinear (torchvision: nearest)
 *   shift     a uniform whole-pixel translation in [-shift, shift]^2
 *   shift_fraction  a uniform translation in [-f W, f W] x [-f H, f H], bilinear
 *             (Keras's width_shift_range = height_shift_range = f, fill black)
 *   pad_crop  RandomCrop(size, padding=pad_crop): the same as a shift in [-p, p]^2
 *   erase     RandomErasing(erase, scale=(erase_scale_min, erase_scale_max),
 *             ratio=(erase_ratio_min, erase_ratio_max), value=0)
 * A range is uniform between its two ends (log-uniform for ratios), so one given the
 * wrong way round is the same range.  Each image draws its random numbers from the
 * caller's rng in a fixed order, so a seeded run is reproducible and a checkpoint of the
 * rng resumes the same stream. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rt_trainer.h"

static const double PI = 3.14159265358979323846;

int rt_augment_init(rt_augment *a, const rt_train_config *c, int C, int H, int W, const float *bg, char *err,
                    size_t errlen)
{
    memset(a, 0, sizeof *a);
    if (C < 1 || C > RT_DATA_MAX_CHANNELS || H < 1 || W < 1)
        return rt_fail(err, errlen, "augmentation: cannot handle images of %dx%dx%d", C, H, W);
    a->C = C;
    a->H = H;
    a->W = W;
    for (int ch = 0; ch < C; ch++)
        a->bg[ch] = bg[ch];
    a->crop = c->aug_crop;
    a->crop_max = c->aug_crop_max;
    a->rotate = c->aug_rotate;
    a->erase = c->aug_erase;
    a->shift_fraction = c->aug_shift_fraction;
    a->erase_scale[0] = c->aug_erase_scale_min;
    a->erase_scale[1] = c->aug_erase_scale_max;
    a->erase_ratio[0] = c->aug_erase_ratio_min;
    a->erase_ratio[1] = c->aug_erase_ratio_max;
    a->shift = (int)c->aug_shift;
    a->pad_crop = (int)c->aug_pad_crop;
    a->flip = c->aug_flip;
    if (rt_augment_active(a) && (H < 2 || W < 2))
        return rt_fail(err, errlen, "augmentation needs images, but the data are %dx%dx%d", C, H, W);
    if (!rt_augment_active(a))
        return 0;
    a->scratch = malloc((size_t)C * H * W * sizeof *a->scratch);
    if (!a->scratch)
        return rt_fail(err, errlen, "augmentation: out of memory");
    return 0;
}

int rt_augment_active(const rt_augment *a)
{
    return a->crop > 0 || a->rotate > 0 || a->erase > 0 || a->shift > 0 || a->shift_fraction > 0 || a->pad_crop > 0 ||
           a->flip;
}

void rt_augment_free(rt_augment *a)
{
    free(a->scratch);
    a->scratch = NULL;
}

static double uniform(rt_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)rt_rng_uniform(r);
}

/* A whole number in [lo, hi]. */
static int randint(rt_rng *r, int lo, int hi)
{
    return lo + (int)rt_rng_below(r, (uint32_t)(hi - lo + 1));
}

/* Plane p at (y, x) with bilinear interpolation; points outside read as bg. */
static float bilinear(const float *p, int H, int W, double y, double x, float bg)
{
    double fy = floor(y), fx = floor(x);
    int y0 = (int)fy, x0 = (int)fx;
    double wy = y - fy, wx = x - fx;
    float v[2][2];
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int yy = y0 + dy, xx = x0 + dx;
            v[dy][dx] = yy >= 0 && yy < H && xx >= 0 && xx < W ? p[(size_t)yy * W + xx] : bg;
        }
    double top = v[0][0] * (1 - wx) + v[0][1] * wx;
    double bot = v[1][0] * (1 - wx) + v[1][1] * wx;
    return (float)(top * (1 - wy) + bot * wy);
}

/* A whole number between lo and hi, in either order. */
static int randint_between(rt_rng *r, int lo, int hi)
{
    return lo <= hi ? randint(r, lo, hi) : randint(r, hi, lo);
}

void rt_augment_crop_box(const rt_augment *a, rt_rng *r, int *top, int *left, int *h, int *w)
{
    int H = a->H, W = a->W;
    double area = (double)H * W;
    const double lr0 = log(3.0 / 4.0), lr1 = log(4.0 / 3.0);
    int zoom_out = a->crop_max > 1;   /* boxes larger than the image are taken */
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * uniform(r, a->crop, a->crop_max);
        double aspect = exp(uniform(r, lr0, lr1));
        int cw = (int)lround(sqrt(target * aspect));
        int ch = (int)lround(sqrt(target / aspect));
        if (cw > 0 && ch > 0 && (zoom_out || (cw <= W && ch <= H))) {
            *top = randint_between(r, 0, H - ch);
            *left = randint_between(r, 0, W - cw);
            *h = ch;
            *w = cw;
            return;
        }
    }
    /* torchvision's fallback: the central crop of in-range aspect */
    double ratio = (double)W / H;
    *h = H;
    *w = W;
    if (ratio < 3.0 / 4.0)
        *h = (int)lround(W / (3.0 / 4.0));
    else if (ratio > 4.0 / 3.0)
        *w = (int)lround(H * (4.0 / 3.0));
    *top = (H - *h) / 2;
    *left = (W - *w) / 2;
}

/* RandomResizedCrop: pick a box, resize it to the whole frame (align_corners=False);
 * what lies outside the image reads as bg. */
static void random_resized_crop(const rt_augment *a, float *img, rt_rng *r)
{
    int H = a->H, W = a->W, top, left, h, w;
    rt_augment_crop_box(a, r, &top, &left, &h, &w);
    if (h == H && w == W && top == 0 && left == 0)
        return;
    size_t plane = (size_t)H * W;
    memcpy(a->scratch, img, (size_t)a->C * plane * sizeof *img);
    for (int c = 0; c < a->C; c++) {
        const float *src = a->scratch + c * plane;
        float *dst = img + c * plane;
        for (int y = 0; y < H; y++) {
            double sy = fmin(fmax((y + 0.5) * h / H - 0.5, 0.0), h - 1.0) + top;
            for (int x = 0; x < W; x++) {
                double sx = fmin(fmax((x + 0.5) * w / W - 0.5, 0.0), w - 1.0) + left;
                dst[(size_t)y * W + x] = bilinear(src, H, W, sy, sx, a->bg[c]);
            }
        }
    }
}

static void hflip(const rt_augment *a, float *img)
{
    for (int c = 0; c < a->C; c++)
        for (int y = 0; y < a->H; y++) {
            float *row = img + ((size_t)c * a->H + y) * a->W;
            for (int i = 0, j = a->W - 1; i < j; i++, j--) {
                float t = row[i];
                row[i] = row[j];
                row[j] = t;
            }
        }
}

/* Rotation by deg degrees counter-clockwise about the centre of the frame. */
static void rotate(const rt_augment *a, float *img, double deg)
{
    int H = a->H, W = a->W;
    size_t plane = (size_t)H * W;
    memcpy(a->scratch, img, (size_t)a->C * plane * sizeof *img);
    double th = deg * PI / 180.0, cs = cos(th), sn = sin(th);
    double cy = (H - 1) / 2.0, cx = (W - 1) / 2.0;
    for (int c = 0; c < a->C; c++) {
        const float *src = a->scratch + c * plane;
        float *dst = img + c * plane;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                /* the inverse rotation: where this output pixel comes from (y points down) */
                double dx = x - cx, dy = y - cy;
                double sx = cs * dx - sn * dy + cx;
                double sy = sn * dx + cs * dy + cy;
                dst[(size_t)y * W + x] = bilinear(src, H, W, sy, sx, a->bg[c]);
            }
    }
}

void rt_augment_translate(const rt_augment *a, float *img, double dy, double dx)
{
    if (dy == 0 && dx == 0)
        return;
    int H = a->H, W = a->W;
    size_t plane = (size_t)H * W;
    memcpy(a->scratch, img, (size_t)a->C * plane * sizeof *img);
    for (int c = 0; c < a->C; c++) {
        const float *src = a->scratch + c * plane;
        float *dst = img + c * plane;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)   /* exact for whole pixels: the weights are 1 and 0 */
                dst[(size_t)y * W + x] = bilinear(src, H, W, y - dy, x - dx, a->bg[c]);
    }
}

int rt_augment_erase_box(const rt_augment *a, rt_rng *r, int *top, int *left, int *h, int *w)
{
    int H = a->H, W = a->W;
    double area = (double)H * W;
    const double lr0 = log(a->erase_ratio[0]), lr1 = log(a->erase_ratio[1]);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * uniform(r, a->erase_scale[0], a->erase_scale[1]);
        double aspect = exp(uniform(r, lr0, lr1));
        *h = (int)lround(sqrt(target * aspect));
        *w = (int)lround(sqrt(target / aspect));
        if (!(*h < H && *w < W) || *h < 1 || *w < 1)
            continue;
        *top = randint(r, 0, H - *h);
        *left = randint(r, 0, W - *w);
        return 1;
    }
    return 0;
}

static void random_erase(const rt_augment *a, float *img, rt_rng *r)
{
    if (rt_rng_uniform(r) >= a->erase)
        return;
    int top, left, h, w;
    if (!rt_augment_erase_box(a, r, &top, &left, &h, &w))
        return;
    for (int c = 0; c < a->C; c++)
        for (int y = top; y < top + h; y++)
            memset(img + ((size_t)c * a->H + y) * a->W + left, 0, (size_t)w * sizeof *img);
}

void rt_augment_image(const rt_augment *a, float *img, rt_rng *r)
{
    if (a->crop > 0)
        random_resized_crop(a, img, r);
    if (a->flip && rt_rng_uniform(r) < 0.5f)
        hflip(a, img);
    if (a->rotate > 0)
        rotate(a, img, uniform(r, -a->rotate, a->rotate));
    if (a->shift > 0) {
        int dy = randint(r, -a->shift, a->shift);
        int dx = randint(r, -a->shift, a->shift);
        rt_augment_translate(a, img, dy, dx);
    }
    if (a->shift_fraction > 0) {
        double dy = uniform(r, -a->shift_fraction, a->shift_fraction) * a->H;
        double dx = uniform(r, -a->shift_fraction, a->shift_fraction) * a->W;
        rt_augment_translate(a, img, dy, dx);
    }
    if (a->pad_crop > 0) {
        /* RandomCrop with padding p: the crop's corner is uniform in [0, 2p]^2 of the
         * padded image, i.e. the image moves by p - corner. */
        int top = randint(r, 0, 2 * a->pad_crop);
        int left = randint(r, 0, 2 * a->pad_crop);
        rt_augment_translate(a, img, a->pad_crop - top, a->pad_crop - left);
    }
    if (a->erase > 0)
        random_erase(a, img, r);
}

/* ---- MixUp and soft targets ---- */

double rt_rng_gamma(rt_rng *r, double alpha)
{
    if (alpha < 1.0) {
        /* Gamma(a) = Gamma(a + 1) * U^(1/a) */
        double u = 1.0 - (double)rt_rng_uniform(r);
        return rt_rng_gamma(r, alpha + 1.0) * pow(u, 1.0 / alpha);
    }
    double d = alpha - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rt_rng_normal(r);
        double v = 1.0 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = 1.0 - (double)rt_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

double rt_rng_beta(rt_rng *r, double a, double b)
{
    double x = rt_rng_gamma(r, a), y = rt_rng_gamma(r, b);
    return x + y > 0 ? x / (x + y) : 0.5;
}

void rt_soft_targets(float *targets, const int32_t *labels, int n, int K, float smoothing, float w, int accum)
{
    float off = smoothing / (float)K, on = 1.0f - smoothing + off;
    for (int i = 0; i < n; i++) {
        float *t = targets + (size_t)i * K;
        for (int k = 0; k < K; k++) {
            float v = w * (k == labels[i] ? on : off);
            t[k] = accum ? t[k] + v : v;
        }
    }
}

float rt_mixup(float *out, float *targets, uint32_t *perm, const float *x, const int32_t *labels, int n,
               size_t image_floats, int K, double alpha, float smoothing, rt_rng *rng)
{
    float lam = (float)rt_rng_beta(rng, alpha, alpha);
    for (int i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    rt_rng_shuffle(rng, perm, (size_t)n);
    for (int i = 0; i < n; i++) {
        const float *a = x + (size_t)i * image_floats;
        const float *b = x + (size_t)perm[i] * image_floats;
        float *o = out + (size_t)i * image_floats;
        for (size_t p = 0; p < image_floats; p++)
            o[p] = lam * a[p] + (1.0f - lam) * b[p];
        float *t = targets + (size_t)i * K;
        for (int k = 0; k < K; k++) {
            float off = smoothing / (float)K, on = 1.0f - smoothing + off;
            float ta = k == labels[i] ? on : off;
            float tb = k == labels[perm[i]] ? on : off;
            t[k] = lam * ta + (1.0f - lam) * tb;
        }
    }
    return lam;
}

void rt_mixup_pairs(float *x, float *targets, float *lam, const float *x2, const int32_t *labels,
                    const int32_t *labels2, int n, size_t image_floats, int K, double alpha, float smoothing,
                    rt_rng *rng)
{
    float off = smoothing / (float)K, on = 1.0f - smoothing + off;
    for (int i = 0; i < n; i++) {
        float l = (float)rt_rng_beta(rng, alpha, alpha);
        lam[i] = l;
        float *a = x + (size_t)i * image_floats;
        const float *b = x2 + (size_t)i * image_floats;
        for (size_t p = 0; p < image_floats; p++)
            a[p] = l * a[p] + (1.0f - l) * b[p];
        for (int k = 0; targets && k < K; k++) {
            float ta = k == labels[i] ? on : off;
            float tb = k == labels2[i] ? on : off;
            targets[(size_t)i * K + k] = l * ta + (1.0f - l) * tb;
        }
    }
}

const char *rt_augment_describe(const rt_train_config *c, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting_spec *e = &setting_specs[i];
        char v[64];
        if (strncmp(e->key, "augment.", 8) || !e->def || !strcmp(rt_config_value(c, e, v, sizeof v), e->def))
            continue;
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s %s", used ? ", " : "", e->key + 8, v);
    }
    return buf;
}
