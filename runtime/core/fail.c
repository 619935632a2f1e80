/* fail.c — the one way a runtime function reports a failure: the message goes into the
 * caller's buffer (nothing here prints or exits), and the function returns -1. */
#include <stdarg.h>
#include <stdio.h>
#include "rt_core.h"

int rt_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}
