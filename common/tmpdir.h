/* tmpdir.h — where netc and its tests make temporary files: the template
 * "$TMPDIR/STEM-XXXXXX" (under /tmp when TMPDIR is unset or empty, as mktemp(1) does),
 * for mkdtemp or mkstemp.  temp_template returns -1 when it does not fit in n bytes. */
#ifndef NETC_TMPDIR_H
#define NETC_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static inline int temp_template(char *buf, size_t n, const char *stem)
{
    const char *tmp = getenv("TMPDIR");
    int len = snprintf(buf, n, "%s/%s-XXXXXX", tmp && tmp[0] ? tmp : "/tmp", stem);
    return len >= 0 && (size_t)len < n ? 0 : -1;
}

#endif
