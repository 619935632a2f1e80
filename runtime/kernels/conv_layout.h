/* conv_layout.h -- the workspace of one conv2d layer, stated once.  The kernels
 * (runtime/kernels/conv.c) carve the caller's workspace by it and the compiler's planner
 * (compiler/ops) reserves exactly its size in the arena, so the two cannot drift.  Plain
 * C99 on integers, no runtime types, so the compiler can include it too.
 *
 * The images of a batch are split into RT_CONV_SLOTS slots (contiguous ranges), which the
 * thread pool takes as tasks.  The workspace holds, per slot: a col matrix [C*kh*kw,
 * OH*OW]; the image as a zero-padded plane xp [C, H + pad_t + pad_b, W + pad_l + pad_r];
 * and the output gradient as a zero-padded plane dyp [K, H + kh - 1, W + kw - 1] (for the
 * direct convolution), each followed by RT_CONV_SLACK floats of room for whole-vector loads
 * and stores; and, when the weight gradient is direct (rt_conv_wgrad_direct), the output
 * gradient transposed, dyT [OH*OW, Kp], and the weight gradient transposed, dwT
 * [C*kh*kw, Kp], K rounded up to 16 (Kp); then, for every slot but the first, a partial weight and bias gradient
 * [K*C*kh*kw + K]; then, once, the weights packed for the direct convolution, forward
 * [(K + 8) * C*kh*kw] and backward [(C + 8) * K*kh*kw].  All but the partial gradients
 * are absent for a pointwise (1x1, stride 1, unpadded) convolution. */
#ifndef NETC_CONV_LAYOUT_H
#define NETC_CONV_LAYOUT_H

#include <stddef.h>

enum { RT_CONV_SLOTS = 4, RT_CONV_SLACK = 16 };

/* Floats of each region, as above. */
typedef struct {
    size_t col, xp, dyp, wg, part, packed;
} rt_conv_sizes;

/* Whether the weight gradient is the direct kernel of conv.c (AVX-512 builds; the others
 * leave its region unused): stride 1, a 3x3 or 5x5 filter, at least 32 taps (C*kh*kw)
 * and at least 25 output pixels.  Measured against im2col + sgemm on one thread, batch
 * 100 (bench/conv_compare.sh; docs/performance.md, "A direct weight gradient"): 1.2-1.9x
 * as fast on the models' middle layers; slower on 1-channel inputs (9 or 25 taps: the
 * transposition of dy weighs as much as the sums) and on 3x3 outputs (loading and storing
 * the sums once per image outweighs the nine pixels' work). */
static inline int rt_conv_wgrad_direct(size_t C, size_t kh, size_t kw, size_t stride, size_t OH, size_t OW)
{
    return stride == 1 && kh == kw && (kw == 3 || kw == 5) && C * kh * kw >= 32 && OH * OW >= 25;
}

/* K rounded up to a whole number of 16-float vectors. */
static inline size_t rt_conv_k_padded(size_t K)
{
    return (K + 15) / 16 * 16;
}

static inline rt_conv_sizes rt_conv_sizes_of(size_t C, size_t H, size_t W, size_t K, size_t kh, size_t kw,
                                       size_t stride, size_t pad_t, size_t pad_l, size_t pad_b, size_t pad_r,
                                       size_t OH, size_t OW)
{
    size_t ckk = C * kh * kw;
    rt_conv_sizes z = { 0, 0, 0, 0, K * ckk + K, 0 };
    if (kh == 1 && kw == 1 && stride == 1 && pad_t + pad_l + pad_b + pad_r == 0)
        return z;
    z.col = ckk * OH * OW + RT_CONV_SLACK;
    z.xp = C * (H + pad_t + pad_b) * (W + pad_l + pad_r) + RT_CONV_SLACK;
    z.dyp = K * (H + kh - 1) * (W + kw - 1) + RT_CONV_SLACK;
    if (rt_conv_wgrad_direct(C, kh, kw, stride, OH, OW))
        z.wg = rt_conv_k_padded(K) * (OH * OW + ckk);
    z.packed = (K + 8) * ckk + (C + 8) * K * kh * kw;
    return z;
}

/* The floats one slot's private buffers take. */
static inline size_t rt_conv_slot_floats(rt_conv_sizes z)
{
    return z.col + z.xp + z.dyp + z.wg;
}

/* The whole workspace, in floats. */
static inline size_t rt_conv_sizes_total(rt_conv_sizes z)
{
    return RT_CONV_SLOTS * rt_conv_slot_floats(z) + (RT_CONV_SLOTS - 1) * z.part + z.packed;
}

#endif
