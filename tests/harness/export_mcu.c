/* export_mcu.c -- the smallest firmware that uses an exported model (prefix ex): one
 * predict on an image in flash, the workspace in RAM, the top class as the exit status.
 * tests/t_export_cross.sh links it for a Cortex-M4 (newlib's nosys stubs) and reads its
 * flash and RAM with arm-none-eabi-size. */
#include "ex.h"

static const float image[EX_IN_C * EX_IN_H * EX_IN_W] = { 0.5f };
static float probs[EX_CLASSES];
static unsigned char workspace[EX_WORKSPACE_BYTES] __attribute__((aligned(64)));

int main(void)
{
    if (ex_predict(image, 1, probs, workspace) != EX_OK)
        return -1;
    int best = 0;
    for (int k = 1; k < EX_CLASSES; k++)
        best = probs[k] > probs[best] ? k : best;
    return best;
}
