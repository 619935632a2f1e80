/* fuzz_ckpt.c — libFuzzer target: a checkpoint's bytes through the runtime's reader
 * (rt_ckpt_open_mem: magic, version, size, CRC-32, section table) and then through
 * everything a trainer command checks before it uses one (rt_trainer_check_ckpt: every
 * section's type, count and contents), against a tiny model of 1x2x2 inputs, 2 classes,
 * 10 parameters and 2 state values.  The seeds (corpus/ckpt/) are a valid checkpoint of
 * that model, written by tests/harness/forge_ckpt.py --tiny, and forgeries of it; the
 * CRC makes most random mutations stop at check 5, so the forgeries, whose CRC is right,
 * are what reaches the content checks.  A crash, a sanitizer report or a hang
 * is a failure; a refusal is the expected outcome. */
#include <stdint.h>
#include <stdlib.h>
#include "netc_rt.h"

static const rt_model tiny = {
    .name = "fuzz", .hash = 0x66757a7aULL, .in_c = 1, .in_h = 2, .in_w = 2, .classes = 2, .max_batch = 1,
    .nparams = 10, .nstate = 2,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_ckpt ck;
    char err[2048];
    if (rt_ckpt_open_mem(&ck, "fuzz.ckpt", data, size, err, sizeof err) == 0) {
        rt_trainer_check_ckpt(&ck, &tiny, err, sizeof err);
        rt_ckpt_close(&ck);
    }
    return 0;
}
