/* scratch.h — the unit tests' scratch files: one directory per test program, made under
 * $TMPDIR (else /tmp) by scratch_open and removed with its contents by scratch_close;
 * scratch_path names a file in it; read_whole and write_whole move whole files.  A
 * scratch file that cannot be made, read or written is the test's own trouble, not the
 * code's under test: the program ends with exit status 2. */
#ifndef NETC_TEST_SCRATCH_H
#define NETC_TEST_SCRATCH_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "../../common/tmpdir.h"

static char scratch_dir[512];

static inline void scratch_open(const char *stem)
{
    if (temp_template(scratch_dir, sizeof scratch_dir, stem) != 0 || !mkdtemp(scratch_dir)) {
        perror(scratch_dir);
        exit(2);
    }
}

static inline void scratch_close(void)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_dir);
    if (system(cmd) != 0)
        printf("warning: could not remove %s\n", scratch_dir);
}

/* The path of file NAME (printf-style) in the scratch directory, in one of 8 buffers
 * used in turn: valid until 8 more calls. */
static inline const char *scratch_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *scratch_path(const char *fmt, ...)
{
    static char bufs[8][1100];
    static int k;
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    char *b = bufs[k++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", scratch_dir, name);
    return b;
}

/* The whole file, in a malloc'd buffer of *n bytes (and one more). */
static inline uint8_t *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    long len;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(b = malloc((size_t)len + 1)) || fread(b, 1, (size_t)len, f) != (size_t)len) {
        printf("cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    *n = (size_t)len;
    return b;
}

static inline void write_whole(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        printf("cannot write %s\n", path);
        exit(2);
    }
}

#endif
