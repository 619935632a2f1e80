/* check.h — the unit tests' one assertion: CHECK(cond, fmt, ...) counts a check and,
 * when cond is false, counts a failure and prints where, what and why.  Each test's
 * main reports `checks` and `failures` and exits non-zero if any check failed. */
#ifndef NETC_TEST_CHECK_H
#define NETC_TEST_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        checks++;                                                          \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
        }                                                                  \
    } while (0)

#endif
