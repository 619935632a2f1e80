/* conv.c -- netc_conv2d: direct convolution, no im2col, register-tiled.
 *
 * The weights are used packed, [C*kh*kw][K] (weight [K][C*kh*kw] transposed, the same
 * on every target): one filter tap's weights for consecutive output channels are
 * consecutive.  netc_conv2d packs them into its workspace on every call;
 * netc_conv2d_packed takes them packed once beforehand (netc_conv2d_pack).
 *
 * Each image is first copied into a zero-padded plane [C, HP, WP] in the workspace
 * (HP = H + pad_t + pad_b, WP = W + pad_l + pad_r; the borders are zeroed once per
 * call).  At stride 1, output pixel (oh, ow) of tap (c, i, j) reads the plane at
 * c*HP*WP + (oh + i)*WP + ow + j, so the kernels need no bounds tests.  Two tilings,
 * each keeping its sums in registers over all C*kh*kw taps:
 *
 *  - channel-vectorised (SIMD paths, K a multiple of the vector width, 16 taps or more
 *    at stride 1): a tile is up to NETC_CV_P consecutive outputs of one row (or, flat,
 *    across short rows) x 2 vectors of output channels; per tap, 2 weight-vector
 *    loads, one broadcast per output and 2 fused multiply-adds per output.  No lane is wasted.  The sums are transposed into out through a small
 *    buffer.
 *  - pixel-vectorised (every other case, and the portable path): a tile is NETC_MR = 4
 *    output channels x up to NETC_NV vectors of outputs; per tap, NV vector loads of
 *    the plane, 4 weight broadcasts, 4*NV multiply-adds.  The outputs are cut into
 *    vectors either flat (numbered on the plane's pitch, p = oh*WP + ow, running on
 *    across rows with kw - 1 junk columns each) or by row (ceil(OW/VW) vectors per
 *    row), whichever computes fewer; a block of 4 channels goes to a wide buffer in
 *    the workspace, whose valid columns are then copied row by row into out (in whole
 *    vectors, each row's spill overwritten by the next row).
 *
 * Bias is each sum's starting value and ReLU is applied as the tile is stored, so every
 * output is bias + the taps in (c, i, j) order, as in rt_conv2d_forward_ref.  The
 * channel-vectorised tiles take any stride (each tile's inputs are then every stride-th
 * value of a plane row), and an unpadded convolution there reads the image itself, with
 * no plane (1x1 projections).  The pixel tiles are for stride 1; other strides on the
 * portable path, or with K not a multiple of the vector width, take a plain loop over
 * the plane, tap by tap over an output row (the same order of sums). */
#include <string.h>
#include "netc_infer.h"
#include "infer_simd.h"

/* Geometry of the padded plane and the wide output. */
typedef struct {
    size_t HP, WP, plane;   /* padded rows and columns, floats per channel plane */
    size_t L, Lp;           /* flat numbering: wide floats per channel, rounded up */
    size_t chan;            /* the wide buffer's floats per channel (either numbering) */
    size_t plane_floats;    /* the padded image with the slack the last tiles read */
} netc_conv_geom;

static size_t netc_round_up(size_t x, size_t m)
{
    return (x + m - 1) / m * m;
}

/* Rounded to 16 floats, the widest vector, so the sizes do not depend on the target.
 * The last flat vectors read up to Lp - L + kw - 2 floats past the last plane, the
 * last row's vectors up to 14. */
static netc_conv_geom netc_conv_geom_of(const netc_conv_desc *d)
{
    netc_conv_geom g;
    g.HP = (size_t)d->H + (size_t)d->pad_t + (size_t)d->pad_b;
    g.WP = (size_t)d->W + (size_t)d->pad_l + (size_t)d->pad_r;
    g.plane = g.HP * g.WP;
    g.L = (size_t)d->OH * g.WP;
    g.Lp = netc_round_up(g.L, 16);
    size_t by_row = (size_t)d->OH * netc_round_up((size_t)d->OW, 16);
    g.chan = g.Lp > by_row ? g.Lp : by_row;
    g.plane_floats = netc_round_up((size_t)d->C * g.plane + g.Lp - g.L + (size_t)d->kw + 16, 16);
    return g;
}

/* The channel-vectorised tile's transposition buffer: up to 2 vectors of 16 channels x
 * 14 positions. */
enum { NETC_CV_TMP = 2 * 16 * 14 };

/* Each task's scratch: the wide buffer (+ what a spilling row copy reads past it), or
 * the transposition buffer. */
static size_t netc_conv_task_floats(const netc_conv_geom *g)
{
    size_t wide = NETC_MR * g->chan + 16;
    return wide > NETC_CV_TMP ? wide : NETC_CV_TMP;
}

size_t netc_conv2d_packed_work_floats_mt(const netc_conv_desc *d, int tasks)
{
    netc_conv_geom g = netc_conv_geom_of(d);
    return g.plane_floats + (size_t)(tasks > 1 ? tasks : 1) * netc_conv_task_floats(&g);
}

size_t netc_conv2d_packed_work_floats(const netc_conv_desc *d)
{
    return netc_conv2d_packed_work_floats_mt(d, 1);
}

size_t netc_conv2d_packed_floats(const netc_conv_desc *d)
{
    return (size_t)d->K * (size_t)d->C * (size_t)d->kh * (size_t)d->kw;
}

size_t netc_conv2d_work_floats(const netc_conv_desc *d)
{
    return netc_conv2d_packed_work_floats(d) + netc_conv2d_packed_floats(d);
}

/* packed [C*kh*kw][K] = weight [K][C*kh*kw] transposed. */
void netc_conv2d_pack(float *packed, const float *weight, const netc_conv_desc *d)
{
    size_t K = (size_t)d->K, taps = (size_t)d->C * (size_t)d->kh * (size_t)d->kw;
    for (size_t t = 0; t < taps; t++)
        for (size_t k = 0; k < K; k++)
            packed[t * K + k] = weight[k * taps + t];
}

const char *netc_infer_simd(void)
{
    return NETC_SIMD_NAME;
}

/* plane's interior = x [C,H,W]; its borders and slack are left as they are (zero). */
static void netc_conv_fill_plane(float *plane, const float *x, const netc_conv_desc *d,
                                 const netc_conv_geom *g)
{
    size_t W = (size_t)d->W;
    for (size_t c = 0; c < (size_t)d->C; c++)
        for (size_t h = 0; h < (size_t)d->H; h++)
            memcpy(plane + c * g->plane + (h + (size_t)d->pad_t) * g->WP + (size_t)d->pad_l,
                   x + (c * (size_t)d->H + h) * W, W * sizeof(float));
}

/* How the outputs are cut into vectors: vector u is the (u % per_group)-th of group
 * u / per_group, at x_group*(u / per_group) + VW*(u % per_group) in the plane and
 * y_group*(u / per_group) + VW*(u % per_group) in the wide buffer, whose rows of OW
 * outputs are y_row apart; a group's last vector stores its first last_lanes lanes.
 * Flat: one group; by row: a group per output row; direct (with masked stores): by
 * row into out itself, rows OW apart, each row's last vector masked to the row's end,
 * so no copy follows: the Keras CNN's 3x3 first layer took 7 + 3.4 us (tiles, then
 * the copy) flat, and ~25% less so, for 13% more multiply-adds. */
typedef struct {
    size_t vectors, per_group, x_group, y_group, y_row, last_lanes;
    int direct;
} netc_conv_cut;

static netc_conv_cut netc_conv_cut_of(const netc_conv_desc *d, const netc_conv_geom *g)
{
    size_t OW = (size_t)d->OW, per_row = (OW + NETC_VW - 1) / NETC_VW, OH = (size_t)d->OH;
    size_t flat = (g->L + NETC_VW - 1) / NETC_VW;
    netc_conv_cut c = { flat, flat, 0, 0, g->WP, NETC_VW, 0 };
#if defined(NETC_VF_STORE_FIRST)
    netc_conv_cut direct = { OH * per_row, per_row, g->WP, OW, OW, OW - (per_row - 1) * NETC_VW, 1 };
    c = direct;
#else
    if (OH * per_row < flat) {
        netc_conv_cut r = { OH * per_row, per_row, g->WP, per_row * NETC_VW, per_row * NETC_VW, NETC_VW, 0 };
        c = r;
    }
#endif
    return c;
}

/* One stride-1 convolution of one image over its plane, into a wide buffer [MR, chan]
 * from channel k0 on, or (direct) into out itself from channel 0, chan = OH*OW apart. */
typedef struct {
    const float *plane, *packed, *bias;  /* packed weights [taps][K] */
    float *wide;
    size_t C, kh, kw, WP, plane_stride, K, chan;
    int relu, direct;
} netc_conv_job;

/* The tile of mr output channels k0.. and nv vectors at plane offsets xo[] and wide
 * offsets yo[], of which only the first lanes[v] are stored: wide[m][yo + l] =
 * act(bias[k0+m] + sum over taps t = (c,i,j) of packed[t][k0+m] * plane[c][i*WP + j + xo + l]). */
NETC_INLINE void netc_conv_tile(const netc_conv_job *jb, size_t k0, int mr, const size_t *xo,
                                const size_t *yo, const size_t *lanes, int nv)
{
    (void)lanes;  /* all VW on targets without masked stores */
    netc_vf acc[NETC_MR][NETC_NV];
    for (int m = 0; m < mr; m++) {
        netc_vf b = netc_vf_set1(jb->bias ? jb->bias[k0 + (size_t)m] : 0.0f);
        for (int v = 0; v < nv; v++)
            acc[m][v] = b;
    }
    const float *w = jb->packed + k0;  /* tap t's weights for channels k0.. */
    for (size_t c = 0; c < jb->C; c++)
        for (size_t i = 0; i < jb->kh; i++) {
            const float *row = jb->plane + c * jb->plane_stride + i * jb->WP;
            for (size_t j = 0; j < jb->kw; j++, w += jb->K) {
                netc_vf x[NETC_NV];
                for (int v = 0; v < nv; v++) {
                    x[v] = netc_vf_load(row + j + xo[v]);
                    NETC_VF_PIN(x[v]);
                }
                for (int m = 0; m < mr; m++) {
                    netc_vf wv = netc_vf_set1(w[m]);
                    for (int v = 0; v < nv; v++)
                        acc[m][v] = netc_vf_fma(wv, x[v], acc[m][v]);
                }
            }
        }
    float *wide = jb->wide + (jb->direct ? k0 * jb->chan : 0);
    for (int m = 0; m < mr; m++)
        for (int v = 0; v < nv; v++) {
            netc_vf a = jb->relu ? netc_vf_relu(acc[m][v]) : acc[m][v];
#if defined(NETC_VF_STORE_FIRST)
            if (lanes[v] < NETC_VW) {
                netc_vf_store_first(wide + (size_t)m * jb->chan + yo[v], a, lanes[v]);
                continue;
            }
#endif
            netc_vf_store(wide + (size_t)m * jb->chan + yo[v], a);
        }
}

/* The tile sizes as constants, so that each expansion keeps its sums in registers:
 * mr is NETC_MR or 1 (the last channels when K is not a multiple of MR), nv 1..NV. */
NETC_INLINE void netc_conv_tile_nv(const netc_conv_job *jb, size_t k0, int mr, const size_t *xo,
                                   const size_t *yo, const size_t *lanes, int nv)
{
    switch (nv) {
    case 1: netc_conv_tile(jb, k0, mr, xo, yo, lanes, 1); break;
#if NETC_NV >= 2
    case 2: netc_conv_tile(jb, k0, mr, xo, yo, lanes, 2); break;
#endif
#if NETC_NV >= 3
    case 3: netc_conv_tile(jb, k0, mr, xo, yo, lanes, 3); break;
#endif
#if NETC_NV >= 4
    case 4: netc_conv_tile(jb, k0, mr, xo, yo, lanes, 4); break;
#endif
#if NETC_NV >= 5
    case 5: netc_conv_tile(jb, k0, mr, xo, yo, lanes, 5); break;
#endif
#if NETC_NV >= 6
    case 6: netc_conv_tile(jb, k0, mr, xo, yo, lanes, 6); break;
#endif
    default: break;
    }
}

static void netc_conv_tile_full(const netc_conv_job *jb, size_t k0, const size_t *xo,
                                const size_t *yo, const size_t *lanes, int nv)
{
    netc_conv_tile_nv(jb, k0, NETC_MR, xo, yo, lanes, nv);
}

static void netc_conv_tile_one(const netc_conv_job *jb, size_t k0, const size_t *xo,
                               const size_t *yo, const size_t *lanes, int nv)
{
    netc_conv_tile_nv(jb, k0, 1, xo, yo, lanes, nv);
}

/* The wide output of channels k0..k0+mr-1 (mr = MR, or 1), tile by tile. */
static void netc_conv_block(const netc_conv_job *jb, const netc_conv_cut *cut, size_t k0, int mr)
{
    size_t gx = 0, gy = 0, q = 0;  /* vector u's group's offsets and its place in it */
    for (size_t u0 = 0; u0 < cut->vectors; u0 += NETC_NV) {
        int nv = cut->vectors - u0 < NETC_NV ? (int)(cut->vectors - u0) : NETC_NV;
        size_t xo[NETC_NV], yo[NETC_NV], lanes[NETC_NV];
        for (int v = 0; v < nv; v++) {
            xo[v] = gx + q * NETC_VW;
            yo[v] = gy + q * NETC_VW;
            lanes[v] = q + 1 == cut->per_group ? cut->last_lanes : NETC_VW;
            if (++q == cut->per_group) {
                q = 0;
                gx += cut->x_group;
                gy += cut->y_group;
            }
        }
        if (mr == NETC_MR)
            netc_conv_tile_full(jb, k0, xo, yo, lanes, nv);
        else
            netc_conv_tile_one(jb, k0, xo, yo, lanes, nv);
    }
}

/* dst [n] = src [n] in whole vectors (a memcpy call costs more than these short rows):
 * up to VW - 1 floats past dst [n] and src [n] are written and read too, unless exact,
 * where the tail goes float by float. */
static void netc_copy_row(float *dst, const float *src, size_t n, int exact)
{
    size_t i = 0;
    for (; i + NETC_VW <= n; i += NETC_VW)
        netc_vf_store(dst + i, netc_vf_load(src + i));
    if (!exact && i < n)
        netc_vf_store(dst + i, netc_vf_load(src + i));
    else
        for (; i < n; i++)
            dst[i] = src[i];
}

/* Stride 1: channels [k_lo, k_hi) of y [K,OH,OW] of one image from its plane, block of
 * channels by block (k_lo a multiple of MR). */
static void netc_conv_stride1(float *y, const float *plane, float *wide, const float *packed,
                              const float *bias, const netc_conv_desc *d,
                              const netc_conv_geom *g, int act, size_t k_lo, size_t k_hi)
{
    size_t K = (size_t)d->K, OH = (size_t)d->OH, OW = (size_t)d->OW;
    netc_conv_cut cut = netc_conv_cut_of(d, g);
    netc_conv_job jb = { plane, packed, bias, cut.direct ? y : wide, (size_t)d->C, (size_t)d->kh,
                         (size_t)d->kw, g->WP, g->plane, K, cut.direct ? OH * OW : g->chan,
                         act == NETC_ACT_RELU, cut.direct };
    size_t mr;
    for (size_t k0 = k_lo; k0 < k_hi; k0 += mr) {
        mr = k_hi - k0 >= NETC_MR ? NETC_MR : 1;
        netc_conv_block(&jb, &cut, k0, (int)mr);
        if (cut.direct)
            continue;
        /* rows in address order, so a row's spill lands in the rows after it, written
         * later by this task; the range's last rows must not spill past it */
        for (size_t m = 0; m < mr; m++)
            for (size_t oh = 0; oh < OH; oh++) {
                size_t at = ((k0 + m) * OH + oh) * OW;
                netc_copy_row(y + at, wide + m * g->chan + oh * cut.y_row, OW,
                              k_hi * OH * OW - at < OW + NETC_VW);
            }
    }
}

/* ---- channel-vectorised tiles (SIMD paths, K a multiple of the vector width) ----
 * A tile is P consecutive outputs of one output row x KV vectors of VW output channels
 * (P <= NETC_CV_P, KV = 2, or 1 for the last odd vector): the packed weights' tap row
 * gives each vector of channels with one load, each input value is broadcast once per
 * tap and multiplies KV vectors, and no lane is ever junk.  Per tap: KV loads, P
 * broadcasts, P*KV fused multiply-adds.  The sums (positions x channels) are then
 * transposed into out through a small buffer.  Used at every stride wherever K allows
 * (at stride 2 it ran ResNetSmall's strided 3x3 and 1x1 convolutions 20x faster than
 * the plain loop, 382 -> 20 us and 65 -> 4 us), except at stride 1 with fewer than 16
 * taps (the 3x3 1-channel first layers), where the transposition costs more than the
 * sums: the pixel tiles ran those in 11.8 us where these took 13.6-16 with gcc (with
 * clang it is a wash: 8.5 against 9.9 for the Keras CNN's, 12.8 against 11.6 for
 * SimpleNet's); and at stride 1 with one vector of channels (K = 16 with AVX-512),
 * where a tile makes one multiply-add per broadcast: LeNetDeep's 5x5 first layer
 * took 10.8 us so, and about 8.5 in pixel tiles (4 channels x 6 vectors). */
/* Part i of n of a channel-vectorised convolution's rows (or, flat, its tiles): the
 * parallel cut when the channels have too few blocks to share out evenly; and pool, the
 * 2x2 stride-2 max pooling its tiles apply (NULL: none). */
typedef struct {
    size_t i, n;
    const netc_pool_desc *pool;
} netc_conv_rows;

#if NETC_VW > 1
static int netc_conv_cv_fits(const netc_conv_desc *d)
{
    return d->K % NETC_VW == 0 && (d->stride != 1 || (d->C * d->kh * d->kw >= 16 && d->K >= 2 * NETC_VW));
}

/* Tile: outputs (oh, ow0 .. ow0+p-1) of channels k0 .. k0 + kv*VW - 1, their first
 * taps at plane offsets x0 + q*stride; or, flat, at off[q] (outputs of several rows). */
typedef struct {
    const float *plane, *packed, *bias;
    float *tmp;  /* [p][kv*VW] */
    size_t C, kh, kw, WP, plane_stride, K, stride;
    int relu;
} netc_cv_job;

/* acc[q][v] = bias + the sums over the taps of output q, channels k0 + v*VW .. */
NETC_INLINE void netc_cv_sums(const netc_cv_job *jb, netc_vf acc[NETC_CV_P][2], size_t k0, int kv,
                              size_t x0, const size_t *off, int flat, int p)
{
    for (int v = 0; v < kv; v++) {
        netc_vf b = jb->bias ? netc_vf_load(jb->bias + k0 + (size_t)v * NETC_VW) : netc_vf_set1(0.0f);
        for (int q = 0; q < p; q++)
            acc[q][v] = b;
    }
    const float *w = jb->packed + k0;
    for (size_t c = 0; c < jb->C; c++)
        for (size_t i = 0; i < jb->kh; i++) {
            const float *row = jb->plane + c * jb->plane_stride + i * jb->WP + (flat ? 0 : x0);
            for (size_t j = 0; j < jb->kw; j++, w += jb->K, row++) {
                NETC_PTR_PIN(row);
                netc_vf wv[2];
                for (int v = 0; v < kv; v++)
                    wv[v] = netc_vf_load(w + (size_t)v * NETC_VW);
                for (int q = 0; q < p; q++) {
                    netc_vf xb = netc_vf_set1(row[flat ? off[q] : (size_t)q * jb->stride]);
                    for (int v = 0; v < kv; v++)
                        acc[q][v] = netc_vf_fma(xb, wv[v], acc[q][v]);
                }
            }
        }
}

/* y[(k0 + m)*OHW + q] = tmp[q][m]: the tile's p positions x kv vectors of channels,
 * transposed into out. */
NETC_INLINE void netc_cv_transpose(const netc_cv_job *jb, float *y, size_t OHW, size_t k0, int kv, int p)
{
    size_t lanes = (size_t)kv * NETC_VW;
    for (size_t m = 0; m < lanes; m++)
        for (int q = 0; q < p; q++)
            y[(k0 + m) * OHW + (size_t)q] = jb->tmp[(size_t)q * lanes + m];
}

NETC_INLINE void netc_cv_tile(const netc_cv_job *jb, float *y, size_t OHW, size_t k0, int kv,
                              size_t x0, const size_t *off, int flat, int p)
{
    netc_vf acc[NETC_CV_P][2];
    netc_cv_sums(jb, acc, k0, kv, x0, off, flat, p);
    size_t lanes = (size_t)kv * NETC_VW;
    for (int q = 0; q < p; q++)
        for (int v = 0; v < kv; v++) {
            netc_vf a = jb->relu ? netc_vf_relu(acc[q][v]) : acc[q][v];
            netc_vf_store(jb->tmp + (size_t)q * lanes + (size_t)v * NETC_VW, a);
        }
    netc_cv_transpose(jb, y, OHW, k0, kv, p);
}

/* Max-pooled 2x2 (stride 2) and relu'd: pooled outputs 0..pp-1 of y [K, PHW], the four
 * convolution outputs of window q at plane offsets off[4q .. 4q+3] (row-major in the
 * window); each is relu'd, as the unfused layers store it, and the four compared, so
 * the maximum is the pooling layer's to the bit (relu leaves no NaN to order). */
NETC_INLINE void netc_cv_tile_pool(const netc_cv_job *jb, float *y, size_t PHW, size_t k0, int kv,
                                   const size_t *off, int pp)
{
    netc_vf acc[NETC_CV_P][2];
    netc_cv_sums(jb, acc, k0, kv, 0, off, 1, 4 * pp);
    size_t lanes = (size_t)kv * NETC_VW;
    for (int q = 0; q < pp; q++)
        for (int v = 0; v < kv; v++) {
            netc_vf m = netc_vf_relu(acc[4 * q][v]);
            for (int t = 1; t < 4; t++)
                m = netc_vf_max(m, netc_vf_relu(acc[4 * q + t][v]));
            netc_vf_store(jb->tmp + (size_t)q * lanes + (size_t)v * NETC_VW, m);
        }
    netc_cv_transpose(jb, y, PHW, k0, kv, pp);
}

/* The tile with p as a constant (1..NETC_CV_P), kv 2 or 1. */
NETC_INLINE void netc_cv_tile_kv(const netc_cv_job *jb, float *y, size_t OHW, size_t k0, int kv,
                                 size_t x0, const size_t *off, int flat, int p)
{
    switch (p) {
    case 1: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 1); break;
    case 2: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 2); break;
    case 3: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 3); break;
    case 4: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 4); break;
    case 5: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 5); break;
    case 6: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 6); break;
#if NETC_CV_P > 6
    case 7: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 7); break;
    case 8: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 8); break;
    case 9: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 9); break;
    case 10: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 10); break;
    case 11: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 11); break;
    case 12: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 12); break;
    case 13: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 13); break;
    case 14: netc_cv_tile(jb, y, OHW, k0, kv, x0, off, flat, 14); break;
#endif
    default: break;
    }
}

static void netc_cv_tile_2(const netc_cv_job *jb, float *y, size_t OHW, size_t k0, size_t x0, int p)
{
    netc_cv_tile_kv(jb, y, OHW, k0, 2, x0, NULL, 0, p);
}

static void netc_cv_tile_1(const netc_cv_job *jb, float *y, size_t OHW, size_t k0, size_t x0, int p)
{
    netc_cv_tile_kv(jb, y, OHW, k0, 1, x0, NULL, 0, p);
}

static void netc_cv_tile_2_flat(const netc_cv_job *jb, float *y, size_t OHW, size_t k0, const size_t *off, int p)
{
    netc_cv_tile_kv(jb, y, OHW, k0, 2, 0, off, 1, p);
}

/* The pooled tile with kv (2 or 1) and pp (1..NETC_CV_P/4) as constants. */
NETC_INLINE void netc_cv_tile_pool_kv(const netc_cv_job *jb, float *y, size_t PHW, size_t k0, int kv,
                                      const size_t *off, int pp)
{
    if (kv == 2)
        netc_cv_tile_pool(jb, y, PHW, k0, 2, off, pp);
    else
        netc_cv_tile_pool(jb, y, PHW, k0, 1, off, pp);
}

static void netc_cv_tile_pool_pp(const netc_cv_job *jb, float *y, size_t PHW, size_t k0, int kv,
                                 const size_t *off, int pp)
{
    switch (pp) {
#if NETC_CV_P >= 12
    case 3: netc_cv_tile_pool_kv(jb, y, PHW, k0, kv, off, 3); break;
#endif
#if NETC_CV_P >= 8
    case 2: netc_cv_tile_pool_kv(jb, y, PHW, k0, kv, off, 2); break;
#endif
    default: netc_cv_tile_pool_kv(jb, y, PHW, k0, kv, off, 1); break;
    }
}

/* Channels k0 .. k0 + kv*VW - 1 of y [K, POH, POW], the 2x2 stride-2 max pool of the
 * relu'd convolution, in near-equal tiles of up to NETC_CV_P/4 pooled outputs numbered
 * row after row (part's share of the tiles). */
static void netc_conv_cv_pool(float *y, const netc_cv_job *jb, const netc_conv_desc *d,
                              const netc_conv_geom *g, size_t k0, int kv, const netc_conv_rows *part)
{
    size_t POW = (size_t)part->pool->OW, PHW = (size_t)part->pool->OH * POW, s = (size_t)d->stride;
    size_t most = NETC_CV_P / 4, tiles = (PHW + most - 1) / most, P = (PHW + tiles - 1) / tiles;
    size_t t_lo = tiles * part->i / part->n, t_hi = tiles * (part->i + 1) / part->n;
    size_t q_end = t_hi * P < PHW ? t_hi * P : PHW, off[NETC_CV_P];
    for (size_t q0 = t_lo * P; q0 < q_end; q0 += P) {
        int pp = (int)(q_end - q0 < P ? q_end - q0 : P);
        for (int q = 0; q < pp; q++) {
            size_t oh = 2 * ((q0 + (size_t)q) / POW), ow = 2 * ((q0 + (size_t)q) % POW);
            for (size_t t = 0; t < 4; t++)
                off[4 * (size_t)q + t] = ((oh + t / 2) * g->WP + ow + t % 2) * s;
        }
        netc_cv_tile_pool_pp(jb, y + q0, PHW, k0, kv, off, pp);
    }
}

/* Channels k0 .. k0 + 2*VW - 1 of y [K,OH,OW] when a row is shorter than a tile: the
 * OH*OW outputs numbered row after row, in near-equal tiles of consecutive outputs
 * that may span rows; off[q] is output q's first tap in the plane. */
static void netc_conv_cv_flat(float *y, const netc_cv_job *jb, const netc_conv_desc *d,
                              const netc_conv_geom *g, size_t k0, const netc_conv_rows *part)
{
    size_t OW = (size_t)d->OW, OHW = (size_t)d->OH * OW, s = (size_t)d->stride;
    size_t tiles = (OHW + NETC_CV_P - 1) / NETC_CV_P, P = (OHW + tiles - 1) / tiles;
    size_t t_lo = tiles * part->i / part->n, t_hi = tiles * (part->i + 1) / part->n;
    size_t q_end = t_hi * P < OHW ? t_hi * P : OHW;
    size_t oh = t_lo * P / OW, ow = t_lo * P % OW, off[NETC_CV_P];
    for (size_t q0 = t_lo * P; q0 < q_end; q0 += P) {
        int p = (int)(OHW - q0 < P ? OHW - q0 : P);
        for (int q = 0; q < p; q++) {
            off[q] = (oh * g->WP + ow) * s;
            if (++ow == OW) {
                ow = 0;
                oh++;
            }
        }
        netc_cv_tile_2_flat(jb, y + q0, OHW, k0, off, p);
    }
}

/* Channels [k_lo, k_hi) of y [K,OH,OW] of one image (k_lo a multiple of 2 vectors):
 * for each block of 2 vectors of channels (or the last single one), each output row
 * in ceil(OW/P) near-equal tiles, or flat tiles across rows when a row is shorter
 * than a tile (2 vectors only: with one, the offsets' loads cost more than the fuller
 * tile gains). */
static void netc_conv_cv(float *y, const float *plane, float *tmp, const float *packed,
                         const float *bias, const netc_conv_desc *d, const netc_conv_geom *g,
                         int act, size_t k_lo, size_t k_hi, const netc_conv_rows *part)
{
    size_t K = (size_t)d->K, OH = (size_t)d->OH, OW = (size_t)d->OW, OHW = OH * OW;
    size_t oh_lo = OH * part->i / part->n, oh_hi = OH * (part->i + 1) / part->n;
    size_t tiles = (OW + NETC_CV_P - 1) / NETC_CV_P, P = (OW + tiles - 1) / tiles;
    size_t s = (size_t)d->stride;
    netc_cv_job jb = { plane, packed, bias, tmp, (size_t)d->C, (size_t)d->kh, (size_t)d->kw,
                       g->WP, g->plane, K, s, act == NETC_ACT_RELU };
    size_t step;
    for (size_t k0 = k_lo; k0 < k_hi; k0 += step) {
        step = k_hi - k0 >= 2 * NETC_VW ? 2 * NETC_VW : NETC_VW;
        if (part->pool) {
            netc_conv_cv_pool(y, &jb, d, g, k0, step == 2 * NETC_VW ? 2 : 1, part);
            continue;
        }
        if (step == 2 * NETC_VW && OW < NETC_CV_P) {
            netc_conv_cv_flat(y, &jb, d, g, k0, part);
            continue;
        }
        for (size_t oh = oh_lo; oh < oh_hi; oh++)
            for (size_t ow0 = 0; ow0 < OW; ow0 += P) {
                int p = (int)(OW - ow0 < P ? OW - ow0 : P);
                float *yt = y + oh * OW + ow0;
                if (step == 2 * NETC_VW)
                    netc_cv_tile_2(&jb, yt, OHW, k0, (oh * g->WP + ow0) * s, p);
                else
                    netc_cv_tile_1(&jb, yt, OHW, k0, (oh * g->WP + ow0) * s, p);
            }
    }
}
#else
/* The portable path has no vector of channels. */
static int netc_conv_cv_fits(const netc_conv_desc *d)
{
    (void)d;
    return 0;
}

static void netc_conv_cv(float *y, const float *plane, float *tmp, const float *packed,
                         const float *bias, const netc_conv_desc *d, const netc_conv_geom *g,
                         int act, size_t k_lo, size_t k_hi, const netc_conv_rows *part)
{
    (void)part;
    (void)k_lo;
    (void)k_hi;
    (void)y;
    (void)plane;
    (void)tmp;
    (void)packed;
    (void)bias;
    (void)d;
    (void)g;
    (void)act;
}
#endif

/* Any stride: channels [k_lo, k_hi) of y [K,OH,OW] of one image from its plane, output
 * row by output row, each row's sums built tap by tap in place. */
static void netc_conv_strided(float *y, const float *plane, const float *packed,
                              const float *bias, const netc_conv_desc *d,
                              const netc_conv_geom *g, int act, size_t k_lo, size_t k_hi)
{
    size_t C = (size_t)d->C, kh = (size_t)d->kh, kw = (size_t)d->kw, s = (size_t)d->stride;
    size_t OH = (size_t)d->OH, OW = (size_t)d->OW, K = (size_t)d->K;
    for (size_t k = k_lo; k < k_hi; k++)
        for (size_t oh = 0; oh < OH; oh++) {
            float *r = y + (k * OH + oh) * OW;
            float b = bias ? bias[k] : 0.0f;
            for (size_t ow = 0; ow < OW; ow++)
                r[ow] = b;
            for (size_t c = 0; c < C; c++)
                for (size_t i = 0; i < kh; i++)
                    for (size_t j = 0; j < kw; j++) {
                        float w = packed[((c * kh + i) * kw + j) * K + k];
                        const float *x = plane + c * g->plane + (oh * s + i) * g->WP + j;
                        for (size_t ow = 0; ow < OW; ow++)
                            r[ow] += w * x[ow * s];
                    }
            if (act == NETC_ACT_RELU)
                for (size_t ow = 0; ow < OW; ow++)
                    r[ow] = r[ow] > 0.0f ? r[ow] : 0.0f;
        }
}

/* One image's convolution, cut into tasks by ranges of output channels, each range a
 * whole number of the tiling's blocks, or (channel tiles whose blocks do not share out
 * evenly: LeNet's 16 and 32 channels are one block each) by ranges of output rows; each
 * task has its own scratch after the plane.  Every output's sum is the same whichever
 * task computes it: the taps are added in (c, i, j) order in every tile. */
typedef struct {
    float *y, *scratch;
    const float *plane, *packed, *bias;
    const netc_conv_desc *d;
    const netc_conv_geom *g;
    const netc_pool_desc *pool;  /* the 2x2 max pool the channel tiles take, or NULL */
    size_t task_floats, align;
    int act, cv, tasks, by_rows;
} netc_conv_image;

static void netc_conv_task(void *arg, int t)
{
    const netc_conv_image *im = arg;
    size_t K = (size_t)im->d->K, blocks = (K + im->align - 1) / im->align;
    size_t parts = im->by_rows ? 1 : (size_t)im->tasks, share = im->by_rows ? 0 : (size_t)t;
    size_t k_lo = blocks * share / parts * im->align;
    size_t k_hi = blocks * (share + 1) / parts * im->align;
    netc_conv_rows rows = { im->by_rows ? (size_t)t : 0, im->by_rows ? (size_t)im->tasks : 1, im->pool };
    float *scratch = im->scratch + (size_t)t * im->task_floats;
    k_hi = k_hi < K ? k_hi : K;
    if (k_lo >= k_hi)
        return;
    if (im->cv)
        netc_conv_cv(im->y, im->plane, scratch, im->packed, im->bias, im->d, im->g, im->act, k_lo, k_hi, &rows);
    else if (im->d->stride == 1)
        netc_conv_stride1(im->y, im->plane, scratch, im->packed, im->bias, im->d, im->g, im->act, k_lo, k_hi);
    else
        netc_conv_strided(im->y, im->plane, im->packed, im->bias, im->d, im->g, im->act, k_lo, k_hi);
}

/* out [N,K,OH,OW] (pooled: [N,K,pool->OH,pool->OW], the channel tiles only), inp
 * [N,C,H,W], packed [C*kh*kw][K], bias [K] or NULL, work
 * [netc_conv2d_packed_work_floats_mt(d, par->tasks)]. */
static void netc_conv_run(float *out, const float *inp, const float *packed, const float *bias,
                          float *work, int N, const netc_conv_desc *d, int act,
                          const netc_pool_desc *pool, const netc_parallel *par)
{
    netc_conv_geom g = netc_conv_geom_of(d);
    size_t in_size = (size_t)d->C * (size_t)d->H * (size_t)d->W;
    size_t out_size = (size_t)d->K * (size_t)(pool ? pool->OH * pool->OW : d->OH * d->OW);
    int cv = netc_conv_cv_fits(d);
    netc_conv_image im = { NULL, work + g.plane_floats, work, packed, bias, d, &g, pool,
                           netc_conv_task_floats(&g), 1, act, cv, 1, 0 };
    if (cv)
        im.align = 2 * NETC_VW;
    else if (d->stride == 1)
        im.align = NETC_MR;
    /* the channel tiles read only the taps of real outputs: unpadded, the image is
     * its own plane */
    int direct = cv && !(d->pad_t | d->pad_l | d->pad_b | d->pad_r);
    if (par && par->tasks > 1)
        im.tasks = par->tasks;
    im.by_rows = cv && (size_t)d->K % (im.align * (size_t)im.tasks) != 0;
    if (!direct)
        memset(work, 0, g.plane_floats * sizeof(float));
    for (size_t n = 0; n < (size_t)N; n++) {
        im.y = out + n * out_size;
        if (direct)
            im.plane = inp + n * in_size;
        else
            netc_conv_fill_plane(work, inp + n * in_size, d, &g);
        if (im.tasks > 1)
            par->run(par->pool, netc_conv_task, &im, im.tasks);
        else
            netc_conv_task(&im, 0);
    }
}

void netc_conv2d_packed_mt(float *out, const float *inp, const float *packed, const float *bias,
                           float *work, int N, const netc_conv_desc *d, int act,
                           const netc_parallel *par)
{
    netc_conv_run(out, inp, packed, bias, work, N, d, act, NULL, par);
}

/* relu(conv) max-pooled into out: in the channel tiles' registers when the pool is 2x2
 * at stride 2, unpadded, and the channel tiles run (the Keras CNN's and LeNetDeep's
 * pooling layers took 5-7% of a call: a pass over the convolution's output that this
 * makes unnecessary); else through conv_out.  Either way out is written only once inp
 * and work are done with (a memory plan may give them the same bytes): the pooled tiles
 * go to conv_out, copied to out at the end. */
void netc_conv2d_packed_pool_mt(float *out, float *conv_out, const float *inp, const float *packed,
                                const float *bias, float *work, int N, const netc_conv_desc *d,
                                const netc_pool_desc *pool, const netc_parallel *par)
{
    if (netc_conv_cv_fits(d) && pool->kh == 2 && pool->kw == 2 && pool->stride == 2 && pool->pad == 0) {
        netc_conv_run(conv_out, inp, packed, bias, work, N, d, NETC_ACT_RELU, pool, par);
        memcpy(out, conv_out, (size_t)N * (size_t)d->K * (size_t)(pool->OH * pool->OW) * sizeof(float));
        return;
    }
    netc_conv_run(conv_out, inp, packed, bias, work, N, d, NETC_ACT_RELU, NULL, par);
    netc_maxpool2d(out, conv_out, N, pool);
}

/* The same in the calling thread, work [netc_conv2d_packed_work_floats(d)]. */
void netc_conv2d_packed(float *out, const float *inp, const float *packed, const float *bias,
                        float *work, int N, const netc_conv_desc *d, int act)
{
    netc_conv2d_packed_mt(out, inp, packed, bias, work, N, d, act, NULL);
}

/* The same with weight [K,C,kh,kw], packed first into the end of the workspace
 * [netc_conv2d_work_floats(d)]. */
void netc_conv2d(float *out, const float *inp, const float *weight, const float *bias,
                 float *work, int N, const netc_conv_desc *d, int act)
{
    float *packed = work + netc_conv2d_packed_work_floats(d);
    netc_conv2d_pack(packed, weight, d);
    netc_conv2d_packed(out, inp, packed, bias, work, N, d, act);
}
