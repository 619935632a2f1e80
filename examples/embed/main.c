/* classify -- a trained netc model inside a plain C program: no netc runtime, no BLAS,
 * no allocation by the model.  Reads one PGM image (P5 binary or P2 text, 8-bit) and
 * prints the model's three most likely classes.
 *
 *   netc export-c MODEL.net --weights CKPT -n model -o model   (writes model/model.[ch], netc_infer.[ch])
 *   make                                                       (builds ./classify)
 *   ./classify shoe.pgm */
#include <stdio.h>
#include "model.h"

/* The image's pixels scaled to [0, 1], as the trainer reads them; 0 on success. */
static int read_pgm(const char *path, float *x, int want_w, int want_h)
{
    FILE *f = fopen(path, "rb");
    char magic[3] = "";
    int w = 0, h = 0, maxval = 0;
    if (!f)
        return fprintf(stderr, "%s: cannot open\n", path), -1;
    if (fscanf(f, "%2s %d %d %d", magic, &w, &h, &maxval) != 4 || (magic[1] != '5' && magic[1] != '2') ||
        magic[0] != 'P' || maxval < 1 || maxval > 255) {
        fclose(f);
        return fprintf(stderr, "%s: not an 8-bit PGM (P5 or P2) image\n", path), -1;
    }
    if (w != want_w || h != want_h) {
        fclose(f);
        return fprintf(stderr, "%s: the image is %dx%d, the model takes %dx%d\n", path, w, h, want_w, want_h), -1;
    }
    fgetc(f);   /* the one whitespace byte after the header */
    for (int i = 0; i < w * h; i++) {
        int v = EOF;
        if (magic[1] == '5')
            v = fgetc(f);
        else if (fscanf(f, "%d", &v) != 1)
            v = EOF;
        if (v < 0 || v > maxval) {
            fclose(f);
            return fprintf(stderr, "%s: truncated or bad pixel %d\n", path, i), -1;
        }
        x[i] = (float)v / (float)maxval;
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    static float x[MODEL_IN_C * MODEL_IN_H * MODEL_IN_W], probs[MODEL_CLASSES];
    static _Alignas(64) unsigned char workspace[MODEL_WORKSPACE_BYTES];
    if (argc != 2 || MODEL_IN_C != 1)
        return fprintf(stderr, "usage: %s IMAGE.pgm  (a model of one input channel)\n", argv[0]), 2;
    if (read_pgm(argv[1], x, MODEL_IN_W, MODEL_IN_H) != 0)
        return 1;
    int rc = model_predict(x, 1, probs, workspace);
    if (rc != 0)
        return fprintf(stderr, "model_predict failed: %d\n", rc), 1;
    for (int rank = 0; rank < 3 && rank < MODEL_CLASSES; rank++) {
        int best = -1;
        for (int k = 0; k < MODEL_CLASSES; k++)   /* the best class not printed yet */
            if (probs[k] >= 0 && (best < 0 || probs[k] > probs[best]))
                best = k;
        printf("%-12s %6.2f%%\n", model_class_names[best], 100.0 * probs[best]);
        probs[best] = -1;
    }
    return 0;
}
