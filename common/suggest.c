/* suggest.c — did-you-mean: the edit distance (one row of the Levenshtein table at a
 * time) and the choice of the closest candidate, shared by the compiler (unknown ops,
 * arguments, names, settings) and the trainer (unknown options and commands). */
#include <stdio.h>
#include <string.h>
#include "suggest.h"

int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *closest_name(const char *name, const char *const *cands, int n)
{
    const char *best = NULL;
    int best_d = (int)strlen(name) / 3 + 1;
    if (best_d > 3)
        best_d = 3;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(name, cands[i]);
        if (d <= best_d && (!best || d < edit_distance(name, best)))
            best = cands[i];
    }
    return best;
}

void did_you_mean(char *buf, size_t len, const char *name, const char *const *cands, int n)
{
    const char *c = closest_name(name, cands, n);
    size_t used = strlen(buf);
    if (c && used < len)
        snprintf(buf + used, len - used, "; did you mean '%s'?", c);
}
