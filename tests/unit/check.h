/* check.h — the unit tests' one assertion: CHECK(cond, fmt, ...) counts a check and,
 * when cond is false, counts a failure and prints where, what and why.  Each test's
 * main reports `checks` and `failures` and exits non-zero if any check failed;
 * expect_error checks a refusal and its message. */
#ifndef NETC_TEST_CHECK_H
#define NETC_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

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

/* A call that must fail (rc != 0) with a message `msg` holding frag1 (and frag2, unless
 * NULL): the readers' and writers' refusals. */
static inline void expect_error(const char *msg, int rc, const char *what, const char *frag1,
                                const char *frag2)
{
    CHECK(rc != 0, "%s: expected an error", what);
    if (rc == 0)
        return;
    CHECK(strstr(msg, frag1) != NULL, "%s: message '%s' lacks '%s'", what, msg, frag1);
    if (frag2)
        CHECK(strstr(msg, frag2) != NULL, "%s: message '%s' lacks '%s'", what, msg, frag2);
    printf("  ok: %s -> %s\n", what, msg);
}

#endif
