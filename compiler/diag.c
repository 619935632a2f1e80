/* diag.c — source files and diagnostics.
 *
 * Every diagnostic is printed as chibicc and gcc do:
 *     models/x.net:12:9: error: message
 *        12 |   h = x -> conv2d(6, 5, pad = sam)
 *           |                               ^~~
 * The location is a Loc (line, column and byte range) kept on every AST and graph
 * node, so passes long after parsing can still point at the source.  After
 * MAX_ERRORS errors the run stops with a note, so garbage input cannot flood the
 * terminal.  Also here: allocation that never returns NULL (did-you-mean is in
 * common/suggest.c, shared with the trainer). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"

static FILE *diag_out;
static int nerrors, nwarnings;
static void (*cap_stop)(void);

void diag_set_stream(FILE *out) { diag_out = out; }
void diag_set_cap_stop(void (*stop)(void)) { cap_stop = stop; }
int error_count(void) { return nerrors; }
int warning_count(void) { return nwarnings; }
void diag_reset(void) { nerrors = nwarnings = 0; }

static FILE *stream(void) { return diag_out ? diag_out : stderr; }

static void out_of_memory(void)
{
    fputs("netc: out of memory\n", stderr);
    exit(2);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *d = xcalloc(n + 1, 1);
    memcpy(d, s, n);
    return d;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

const char *commas(long long v, char buf[32])
{
    char digits[32];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int n = snprintf(digits, sizeof digits, "%llu", u);
    char *p = buf;
    if (v < 0)
        *p++ = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            *p++ = ',';
        *p++ = digits[i];
    }
    *p = 0;
    return buf;
}

/* Reads a whole file; a NUL byte inside is kept out of the text by the lexer's
 * byte-level rules, so the text may be treated as a C string up to len. */
SrcFile *src_read(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *text = xcalloc(cap, 1);
    size_t got;
    while (len <= SRC_MAX_BYTES && (got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0)
            text = xrealloc(text, cap *= 2);
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad || len > SRC_MAX_BYTES) {
        if (bad)
            snprintf(err, errlen, "%s: read error", path);
        else
            snprintf(err, errlen, "%s: larger than %d MiB, the most a .net source may be", path, SRC_MAX_BYTES >> 20);
        free(text);
        return NULL;
    }
    text[len] = 0;
    SrcFile *s = xcalloc(1, sizeof *s);
    s->name = xstrdup(path);
    s->text = text;
    s->len = len;
    return s;
}

SrcFile *src_from_string(const char *name, const char *text)
{
    SrcFile *s = xcalloc(1, sizeof *s);
    s->name = xstrdup(name);
    s->len = strlen(text);
    s->text = xstrndup(text, s->len);
    return s;
}

void src_free(SrcFile *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->text);
    free(f);
}

/* Prints the line holding loc and a caret under its span (to the line's end at most).
 * Tabs are kept under the caret so it lines up in any terminal; other control bytes
 * print as '?' so random input cannot drive the terminal. */
static void show_line(FILE *out, Loc loc)
{
    const SrcFile *f = loc.file;
    if (!f || loc.off < 0 || (size_t)loc.off > f->len)
        return;
    int start = loc.off;
    while (start > 0 && f->text[start - 1] != '\n')
        start--;
    int stop = loc.off;
    while ((size_t)stop < f->len && f->text[stop] != '\n')
        stop++;
    if (stop > loc.off && f->text[stop - 1] == '\r')
        stop--;   /* the CR of a CRLF line end is not shown (unless the caret is past it) */
    fprintf(out, "%5d | ", loc.line);
    for (int i = start; i < stop; i++) {
        unsigned char c = (unsigned char)f->text[i];
        fputc(c == '\t' || c >= 0x20 ? c : '?', out);
    }
    fputs("\n      | ", out);
    for (int i = start; i < loc.off; i++)
        fputc(f->text[i] == '\t' ? '\t' : ' ', out);
    fputc('^', out);
    int end = loc.end < stop ? loc.end : stop;
    for (int i = loc.off + 1; i < end; i++)
        fputc('~', out);
    fputc('\n', out);
}

static void report(Loc loc, const char *kind, const char *fmt, va_list ap)
{
    FILE *out = stream();
    if (loc.file)
        fprintf(out, "%s:%d:%d: %s: ", loc.file->name, loc.line, loc.col, kind);
    else
        fprintf(out, "netc: %s: ", kind);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    show_line(out, loc);
}

void error_at(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(loc, "error", fmt, ap);
    va_end(ap);
    if (++nerrors >= MAX_ERRORS) {
        fprintf(stream(), "netc: too many errors (%d); stopping\n", nerrors);
        if (cap_stop)
            cap_stop();
        exit(1);
    }
}

void warn_at(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(loc, "warning", fmt, ap);
    va_end(ap);
    nwarnings++;
}

void note_at(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(loc, "note", fmt, ap);
    va_end(ap);
}
