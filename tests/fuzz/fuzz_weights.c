/* fuzz_weights.c — libFuzzer target: the weights-blob reader that netc export-c
 * generates (--weights-in blob), on the model tests/fuzz/weights_model.net exported as
 * "fz" by the Makefile into build-fuzz/weights/ (weights from make_weights.py).  Every
 * input goes through fz_weights_check (size, magic, version, model, checksum); one it
 * accepts then runs fz_predict on a fixed image, which must give probabilities.  The
 * input is copied to an aligned buffer first, as a caller loading a file would have it.
 * Seed (corpus/weights/): the exported fz.weights. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fz.h"

static _Alignas(64) unsigned char workspace[FZ_WORKSPACE_BYTES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *blob = aligned_alloc(64, (size + 63) / 64 * 64 + 64);
    if (!blob)
        return 0;
    memcpy(blob, data, size);
    if (fz_weights_check(blob, size) == FZ_OK) {
        float x[FZ_IN_C * FZ_IN_H * FZ_IN_W], probs[FZ_CLASSES];
        for (int i = 0; i < FZ_IN_C * FZ_IN_H * FZ_IN_W; i++)
            x[i] = (float)(i % 7) / 7.0f;
        if (fz_predict(x, 1, probs, workspace, blob) != FZ_OK)
            abort();
    }
    free(blob);
    return 0;
}
