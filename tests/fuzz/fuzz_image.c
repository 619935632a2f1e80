/* fuzz_image.c — libFuzzer target: the images predict reads, PGM (P2 and P5) and PNG
 * (through libpng's simplified API), from memory with rt_image_read_mem.  Seeds
 * (corpus/image/): small P2, P5 (maxval 255 and 65535) and gray and RGB PNGs. */
#include <stdint.h>
#include "netc_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_image img;
    char err[512];
    if (rt_image_read_mem("fuzz.img", data, size, &img, err, sizeof err) == 0)
        rt_image_free(&img);
    return 0;
}
