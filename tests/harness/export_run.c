/* export_run.c -- an exported model (prefix ex) on the first N images of an IDX images
 * file (uncompressed), one line per image: the top class and every probability, so that
 * runs on two machines can be compared (tests/t_export_cross.sh).  Plain C99 and stdio:
 * it builds for any target the exported files build for.
 *   export_run IMAGES-IDX3-FILE N */
#include <stdio.h>
#include <stdlib.h>
#include "ex.h"

static unsigned char workspace[EX_WORKSPACE_BYTES + 64];

int main(int argc, char **argv)
{
    unsigned char head[16], px[EX_IN_C * EX_IN_H * EX_IN_W];
    float x[EX_IN_C * EX_IN_H * EX_IN_W], probs[EX_CLASSES];
    void *ws = workspace + (64 - (size_t)workspace % 64) % 64;
    FILE *f = argc == 3 ? fopen(argv[1], "rb") : NULL;
    long n = argc == 3 ? atol(argv[2]) : 0;
    if (!f || fread(head, 1, 16, f) != 16 || head[2] != 8 || head[3] != 3) {
        fprintf(stderr, "usage: export_run IMAGES-IDX3-FILE N (an uncompressed IDX images file)\n");
        return 2;
    }
    for (long i = 0; i < n && fread(px, 1, sizeof px, f) == sizeof px; i++) {
        for (size_t j = 0; j < sizeof px; j++)
            x[j] = (float)px[j] / 255.0f;
        int rc = ex_predict(x, 1, probs, ws);
        if (rc != EX_OK) {
            fprintf(stderr, "image %ld: %s\n", i, ex_strerror(rc));
            return 1;
        }
        int best = 0;
        for (int k = 1; k < EX_CLASSES; k++)
            best = probs[k] > probs[best] ? k : best;
        printf("%d", best);
        for (int k = 0; k < EX_CLASSES; k++)
            printf(" %.9g", (double)probs[k]);
        printf("\n");
    }
    fclose(f);
    return 0;
}
