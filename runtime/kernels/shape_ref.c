/* Reference shape kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in shape.c by test_kernels). */
#include "kernel_util.h"

/* ---- shape ops ---- */

/* out [N,C,H+2p,W+2p], inp [N,C,H,W]. */
void rt_pad2d_forward_ref(float *out, const float *inp, int N, int C, int H, int W, int p)
{
    int PH = H + 2 * p, PW = W + 2 * p;
    for (int nc = 0; nc < N * C; nc++)
        for (int h = 0; h < PH; h++)
            for (int w = 0; w < PW; w++) {
                int ih = h - p, iw = w - p;
                int inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                out[((size_t)nc * PH + h) * PW + w] =
                    inside ? inp[((size_t)nc * H + ih) * W + iw] : 0.0f;
            }
}

/* dinp [N,C,H,W], dout [N,C,H+2p,W+2p]. */
void rt_pad2d_backward_ref(float *dinp, const float *dout, int N, int C, int H, int W, int p,
                           int accum)
{
    int PH = H + 2 * p, PW = W + 2 * p;
    for (int nc = 0; nc < N * C; nc++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++) {
                size_t x = ((size_t)nc * H + h) * W + w;
                float g = dout[((size_t)nc * PH + h + p) * PW + w + p];
                dinp[x] = accum ? dinp[x] + g : g;
            }
}

/* out [N,sum C_i,HW], inps[i] [N,C_i,HW]. */
void rt_concat_forward_ref(float *out, const float *const *inps, const int *channels,
                           int n_inp, int N, int HW)
{
    int C_out = 0;
    for (int t = 0; t < n_inp; t++)
        C_out += channels[t];
    for (int n = 0; n < N; n++) {
        int c_offset = 0;
        for (int t = 0; t < n_inp; t++) {
            for (int c = 0; c < channels[t]; c++)
                for (int i = 0; i < HW; i++)
                    out[((size_t)n * C_out + c_offset + c) * HW + i] =
                        inps[t][((size_t)n * channels[t] + c) * HW + i];
            c_offset += channels[t];
        }
    }
}

/* dinp [N,C_in,HW], dout [N,C_out,HW]; dinp is channels [c_offset, c_offset+C_in). */
void rt_concat_backward_ref(float *dinp, const float *dout, int N, int C_out, int c_offset,
                            int C_in, int HW, int accum)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C_in; c++)
            for (int i = 0; i < HW; i++) {
                size_t x = ((size_t)n * C_in + c) * HW + i;
                float g = dout[((size_t)n * C_out + c_offset + c) * HW + i];
                dinp[x] = accum ? dinp[x] + g : g;
            }
}

/* out [n], inps[i] [n]. */
void rt_add_forward_ref(float *out, const float *const *inps, int n_inp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = 0.0f;
        for (int t = 0; t < n_inp; t++)
            s += inps[t][i];
        out[i] = s;
    }
}

/* dinp [n], dout [n]. */
void rt_add_backward_ref(float *dinp, const float *dout, size_t n, int accum)
{
    for (size_t i = 0; i < n; i++)
        dinp[i] = accum ? dinp[i] + dout[i] : dout[i];
}
