/* shape.c -- pad, concat along channels, add: copies and one ordered sum. */
#include <string.h>
#include "netc_infer.h"

/* out [N,C,H+2p,W+2p], inp [N,C,H,W]: zero the whole output, then copy each row in. */
void netc_pad2d(float *out, const float *inp, int N, int C, int H, int W, int p)
{
    size_t h = (size_t)H, w = (size_t)W, pp = (size_t)p;
    size_t PH = h + 2 * pp, PW = w + 2 * pp, planes = (size_t)N * (size_t)C;
    memset(out, 0, planes * PH * PW * sizeof(float));
    for (size_t q = 0; q < planes; q++)
        for (size_t r = 0; r < h; r++)
            memcpy(out + (q * PH + r + pp) * PW + pp, inp + (q * h + r) * w, w * sizeof(float));
}

/* out [N,sum C_i,HW], inps[i] [N,C_i,HW]: per image, each input's channels in turn. */
void netc_concat(float *out, const float *const *inps, const int *channels, int n_inp,
                 int N, int HW)
{
    size_t hw = (size_t)HW;
    for (size_t n = 0; n < (size_t)N; n++)
        for (int t = 0; t < n_inp; t++) {
            size_t part = (size_t)channels[t] * hw;
            memcpy(out, inps[t] + n * part, part * sizeof(float));
            out += part;
        }
}

/* out [n] = 0 + inps[0] + inps[1] + ..., in that order (as rt_add_forward_ref). */
void netc_add(float *out, const float *const *inps, int n_inp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = 0.0f;
        for (int t = 0; t < n_inp; t++)
            s += inps[t][i];
        out[i] = s;
    }
}
