/* infer_embed_dump.c -- writes each file of netc_infer_files (build/cc/infer_embed.c,
 * the inference amalgamation as C strings) into the directory given, so that
 * tests/t_infer_build.sh can cmp them with the files they were made from. */
#include <stdio.h>
#include <string.h>

extern const char *const netc_infer_files[][2];

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: infer_embed_dump DIR\n");
        return 2;
    }
    int n = 0;
    for (; netc_infer_files[n][0]; n++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], netc_infer_files[n][0]);
        FILE *f = fopen(path, "wb");
        if (!f) {
            perror(path);
            return 1;
        }
        size_t len = strlen(netc_infer_files[n][1]);
        if (fwrite(netc_infer_files[n][1], 1, len, f) != len || fclose(f) != 0) {
            perror(path);
            return 1;
        }
    }
    printf("infer_embed_dump: wrote %d files\n", n);
    return n > 0 ? 0 : 1;
}
