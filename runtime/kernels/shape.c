/* Shape ops: zero padding, channel concatenation, element-wise sum (scalar twins in
 * shape_ref.c). */
#include "kernel_util.h"

/* ---- shape ops ---- */

/* out [N,C,H+2p,W+2p], inp [N,C,H,W]: zero rows above and below, and each copied row
 * framed by p zeros. */
void rt_pad2d_forward(float *out, const float *inp, int N, int C, int H, int W, int p)
{
    size_t PW = (size_t)W + 2 * p;
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const float *x = inp + nc * H * W;
        float *y = out + nc * (H + 2 * p) * PW;
        memset(y, 0, p * PW * sizeof(float));
        for (int h = 0; h < H; h++) {
            float *row = y + (h + p) * PW;
            memset(row, 0, p * sizeof(float));
            memcpy(row + p, x + (size_t)h * W, W * sizeof(float));
            memset(row + p + W, 0, p * sizeof(float));
        }
        memset(y + (H + p) * PW, 0, p * PW * sizeof(float));
    }
}

/* dinp [N,C,H,W], dout [N,C,H+2p,W+2p]: the interior, row by row. */
void rt_pad2d_backward(float *dinp, const float *dout, int N, int C, int H, int W, int p,
                       int accum)
{
    size_t PW = (size_t)W + 2 * p;
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        for (int h = 0; h < H; h++)
            copy_or_add(dinp + (nc * H + h) * W, dout + (nc * (H + 2 * p) + h + p) * PW + p,
                        W, accum);
}

/* out [N,sum C_i,HW], inps[i] [N,C_i,HW]: one memcpy per image and input. */
void rt_concat_forward(float *out, const float *const *inps, const int *channels, int n_inp,
                       int N, int HW)
{
    int C_out = 0;
    for (int t = 0; t < n_inp; t++)
        C_out += channels[t];
    for (int n = 0; n < N; n++) {
        int c_offset = 0;
        for (int t = 0; t < n_inp; t++) {
            memcpy(out + ((size_t)n * C_out + c_offset) * HW,
                   inps[t] + (size_t)n * channels[t] * HW,
                   (size_t)channels[t] * HW * sizeof(float));
            c_offset += channels[t];
        }
    }
}

/* dinp [N,C_in,HW], dout [N,C_out,HW]: channels [c_offset, c_offset + C_in). */
void rt_concat_backward(float *dinp, const float *dout, int N, int C_out, int c_offset,
                        int C_in, int HW, int accum)
{
    for (int n = 0; n < N; n++)
        copy_or_add(dinp + (size_t)n * C_in * HW, dout + ((size_t)n * C_out + c_offset) * HW,
                    (size_t)C_in * HW, accum);
}

/* out [n] = sum of inps[t] [n]; out may alias any input.  One or two inputs (the
 * usual residual add) go element by element, which is safe under aliasing; more are
 * summed in blocks on the stack. */
void rt_add_forward(float *out, const float *const *inps, int n_inp, size_t n)
{
    if (n_inp == 1) {
        copy_or_add(out, inps[0], n, 0);
        return;
    }
    if (n_inp == 2) {
        const float *a = inps[0], *b = inps[1];
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] + b[i];
        return;
    }
    enum { BLOCK = 512 };
    float acc[BLOCK];
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t len = n - i0 < BLOCK ? n - i0 : BLOCK;
        memcpy(acc, inps[0] + i0, len * sizeof(float));
        for (int t = 1; t < n_inp; t++) {
            const float *x = inps[t] + i0;
            for (size_t i = 0; i < len; i++)
                acc[i] += x[i];
        }
        memcpy(out + i0, acc, len * sizeof(float));
    }
}

/* dinp [n], dout [n]. */
void rt_add_backward(float *dinp, const float *dout, size_t n, int accum)
{
    copy_or_add(dinp, dout, n, accum);
}
