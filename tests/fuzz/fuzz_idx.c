/* fuzz_idx.c — libFuzzer target: IDX files, raw or gzipped, through the data layer's
 * readers (rt_idx_read_images_mem, rt_idx_read_labels_mem): the header, the body that
 * grows only as bytes arrive, gzip member by member with its trailer, trailing bytes.
 * Both readers see every input.  Seeds (corpus/idx/): small image and label files,
 * raw, gzipped, and as two gzip members. */
#include <stdint.h>
#include <stdlib.h>
#include "netc_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    uint8_t *pixels = NULL;
    int32_t *labels = NULL;
    size_t n;
    int h, w;
    if (rt_idx_read_images_mem("fuzz.idx", data, size, &pixels, &n, &h, &w, err, sizeof err) == 0)
        free(pixels);
    if (rt_idx_read_labels_mem("fuzz.idx", data, size, &labels, &n, err, sizeof err) == 0)
        free(labels);
    return 0;
}
