/* fuzz_cifar.c — libFuzzer target: a CIFAR-10 binary batch, raw or gzipped, through
 * rt_cifar10_read_mem (records of 1 label + 3072 pixels, labels below 10, gzip checked
 * member by member).  Seeds (corpus/cifar/): batches of one and two records, raw and
 * gzipped. */
#include <stdint.h>
#include "netc_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_dataset ds;
    char err[512];
    if (rt_cifar10_read_mem(&ds, "fuzz.bin", data, size, err, sizeof err) == 0)
        rt_dataset_free(&ds);
    return 0;
}
