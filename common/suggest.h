/* suggest.h — did-you-mean, for the compiler's diagnostics and the trainer's command line.
 * One rule on both sides: the candidate nearest by edit distance, if it is at most
 * min(3, len/3 + 1) edits away (the first such on a tie). */
#ifndef NETC_SUGGEST_H
#define NETC_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance; names longer than 64 bytes are never close (1000). */
int edit_distance(const char *a, const char *b);
/* The candidate closest to `name`, or NULL if none is close. */
const char *closest_name(const char *name, const char *const *cands, int n);
/* Appends "; did you mean 'x'?" to buf when a close candidate exists. */
void did_you_mean(char *buf, size_t len, const char *name, const char *const *cands, int n);

#endif
