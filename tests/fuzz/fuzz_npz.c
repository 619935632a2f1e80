/* fuzz_npz.c — libFuzzer target: an .npz archive's bytes through libzip and the
 * runtime's .npy header parser (rt_npz_open_mem, rt_npz_shape, rt_npz_read_f32) for the
 * arrays "a" and "b", each read at the shape its header gives when that is at most a
 * million values.  Seeds (corpus/npz/): archives numpy's savez and savez_compressed
 * wrote, and ones with hand-made headers. */
#include <stdint.h>
#include <stdlib.h>
#include "netc_rt.h"

static void read_array(rt_npz *z, const char *name)
{
    char err[512];
    int ndim;
    size_t shape[RT_NPY_MAX_DIMS], count = 1;
    if (rt_npz_shape(z, name, &ndim, shape, err, sizeof err))
        return;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] > 1000000 || count * shape[i] > 1000000)
            return;
        count *= shape[i];
    }
    float *dst = malloc((count ? count : 1) * sizeof *dst);
    if (dst)
        rt_npz_read_f32(z, name, dst, ndim, shape, err, sizeof err);
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_npz z;
    char err[512];
    if (rt_npz_open_mem(&z, "fuzz.npz", data, size, err, sizeof err) == 0) {
        read_array(&z, "a");
        read_array(&z, "b");
    }
    rt_npz_close(&z);
    return 0;
}
