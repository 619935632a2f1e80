/* fuzz_onnx.c — libFuzzer target: an ONNX file's bytes through netc import's reader
 * (onnx_import_text: protobuf-c's parser, then every node's reader and the .net text),
 * which must refuse what it cannot read with a message and never crash.  Seeds
 * (corpus/onnx/): export-onnx's files of tests/fuzz/onnx_model.net (every op netc has)
 * and of weights_model.net, with their initial weights (see tests/fuzz/make_onnx_seeds.sh). */
#include <stdint.h>
#include <stdlib.h>
#include "netc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[640];
    free(onnx_import_text(data, size, "fuzz.onnx", err, sizeof err));
    return 0;
}
