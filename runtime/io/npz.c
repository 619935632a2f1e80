/* NumPy .npz archives through libzip: float32 arrays in and out by name.
 *
 * An .npz is a zip whose members are .npy files.  A .npy is the magic "\x93NUMPY", a
 * version (1.0 here), a little-endian header length, then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a newline so the data starts at a multiple of 64, then the raw
 * array.  Writing builds each .npy in memory and hands it to libzip, which writes a
 * temporary file and renames it over PATH on zip_close.  Reading parses the header dict
 * with a small scanner that accepts what numpy.lib.format does (keys in any order,
 * either quote, only whitespace and comments after the '}', no NUL), checks dtype, order and shape
 * against what the caller expects, reads the data into a scratch buffer and reads on to
 * the member's end, where libzip checks its CRC; only then is the caller's buffer
 * written. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include "rt_io.h"

#define NPY_MAGIC "\x93NUMPY"
/* numpy.lib.format refuses a longer header (its max_header_size, since numpy 1.24). */
#define NPY_MAX_HEADER 10000

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* "(3, 4)", "(3,)" or "()" into buf. */
static void format_shape(char *buf, size_t len, int ndim, const size_t *shape)
{
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i ? ", %zu" : "%zu", shape[i]);
    if (k < len)
        snprintf(buf + k, len - k, ndim == 1 ? ",)" : ")");
}

/* ---- writing ---- */

/* Builds NAME.npy (header + data) in a malloc'd buffer. */
static uint8_t *build_npy(const rt_npz_array *a, size_t *len)
{
    char dict[512];
    char shape[400];
    format_shape(shape, sizeof shape, a->ndim, a->shape);
    int dlen = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                        shape);
    size_t count = 1;
    for (int i = 0; i < a->ndim; i++)
        count *= a->shape[i];
    /* magic 6 + version 2 + length 2 + dict + padding + '\n' = a multiple of 64 */
    size_t hlen = (size_t)dlen + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    size_t total = 10 + hlen + count * sizeof(float);
    uint8_t *buf = malloc(total);
    if (!buf)
        return NULL;
    memcpy(buf, NPY_MAGIC, 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (uint8_t)(hlen & 0xff);
    buf[9] = (uint8_t)(hlen >> 8);
    memset(buf + 10, ' ', hlen);
    memcpy(buf + 10, dict, (size_t)dlen);
    buf[10 + hlen - 1] = '\n';
    if (count)
        memcpy(buf + 10 + hlen, a->data, count * sizeof(float));
    *len = total;
    return buf;
}

/* Checks one array's description before anything is written. */
static int check_array(const char *path, const rt_npz_array *a, char *err, size_t errlen)
{
    if (!a->name || !a->name[0] || strlen(a->name) > 200)
        return rt_fail(err, errlen, "%s: an array name must be 1 to 200 bytes", path);
    if (a->ndim < 0 || a->ndim > RT_NPY_MAX_DIMS)
        return rt_fail(err, errlen, "%s: array '%s' has %d dimensions, at most %d", path, a->name,
                    a->ndim, RT_NPY_MAX_DIMS);
    size_t count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] != 0 && count > (SIZE_MAX / 8) / a->shape[i])
            return rt_fail(err, errlen, "%s: array '%s' is too large", path, a->name);
        count *= a->shape[i];
    }
    if (count && !a->data)
        return rt_fail(err, errlen, "%s: array '%s' has no data", path, a->name);
    return 0;
}

int rt_npz_write(const char *path, const rt_npz_array *arrays, size_t n, char *err,
                 size_t errlen)
{
    if (!host_is_little_endian())
        return rt_fail(err, errlen, "%s: .npz writing needs a little-endian host", path);
    if (n == 0)
        return rt_fail(err, errlen, "%s: no arrays to write", path);
    for (size_t i = 0; i < n; i++) {
        if (check_array(path, &arrays[i], err, errlen))
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(arrays[i].name, arrays[j].name) == 0)
                return rt_fail(err, errlen, "%s: array '%s' given twice", path, arrays[i].name);
    }
    int code = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, code);
        rt_fail(err, errlen, "%s: cannot create: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char member[256];
        snprintf(member, sizeof member, "%s.npy", arrays[i].name);
        size_t len;
        uint8_t *buf = build_npy(&arrays[i], &len);
        if (!buf) {
            zip_discard(za);
            return rt_fail(err, errlen, "%s: out of memory for array '%s'", path, arrays[i].name);
        }
        zip_source_t *src = zip_source_buffer(za, buf, len, 1);
        if (!src) {
            free(buf);
            rt_fail(err, errlen, "%s: %s", path, zip_strerror(za));
            zip_discard(za);
            return -1;
        }
        zip_int64_t idx = zip_file_add(za, member, src, ZIP_FL_ENC_UTF_8);
        if (idx < 0) {
            zip_source_free(src);
            rt_fail(err, errlen, "%s: cannot add '%s': %s", path, member, zip_strerror(za));
            zip_discard(za);
            return -1;
        }
        /* Stored, as numpy.savez writes; the data is floats, which barely compress. */
        if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0) {
            rt_fail(err, errlen, "%s: %s", path, zip_strerror(za));
            zip_discard(za);
            return -1;
        }
    }
    if (zip_close(za) != 0) {
        rt_fail(err, errlen, "%s: cannot write: %s", path, zip_strerror(za));
        zip_discard(za);
        return -1;
    }
    return 0;
}

/* ---- reading ---- */

int rt_npz_open(rt_npz *z, const char *path, char *err, size_t errlen)
{
    memset(z, 0, sizeof *z);
    if ((size_t)snprintf(z->path, sizeof z->path, "%s", path) >= sizeof z->path)
        return rt_fail(err, errlen, "%s: path too long", path);
    int code = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, code);
        rt_fail(err, errlen, "%s: cannot open: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return -1;
    }
    z->zip = za;
    return 0;
}

int rt_npz_open_mem(rt_npz *z, const char *name, const void *data, size_t size, char *err, size_t errlen)
{
    memset(z, 0, sizeof *z);
    snprintf(z->path, sizeof z->path, "%s", name);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(data, size, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (!za) {
        rt_fail(err, errlen, "%s: cannot open: %s", name, zip_error_strerror(&ze));
        if (src)
            zip_source_free(src);
        zip_error_fini(&ze);
        return -1;
    }
    zip_error_fini(&ze);
    z->zip = za;
    return 0;
}

void rt_npz_close(rt_npz *z)
{
    if (z->zip)
        zip_discard(z->zip);
    memset(z, 0, sizeof *z);
}

/* Lists the archive's arrays into buf, for "no array" messages. */
static void list_members(zip_t *za, char *buf, size_t len)
{
    buf[0] = 0;
    zip_int64_t n = zip_get_num_entries(za, 0);
    size_t k = 0;
    for (zip_int64_t i = 0; i < n && k + 1 < len; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!name)
            continue;
        size_t nl = strlen(name);
        if (nl > 4 && strcmp(name + nl - 4, ".npy") == 0)
            nl -= 4;
        int w = snprintf(buf + k, len - k, "%s%.*s", k ? ", " : "", (int)nl, name);
        if (w < 0 || (size_t)w >= len - k) {
            snprintf(buf + (len > 5 ? len - 5 : 0), len > 5 ? 5 : len, "...");
            return;
        }
        k += (size_t)w;
    }
}

typedef struct {
    char descr[32];
    int fortran;
    int ndim;
    size_t shape[RT_NPY_MAX_DIMS];
    size_t data_off;        /* header bytes before the data */
    zip_uint64_t size;      /* uncompressed member size */
} npy_info;

/* A tiny scanner over the header dict. */
typedef struct {
    const char *p, *end;
} scan;

/* Python's whitespace between tokens (inside the dict's brackets newlines are too), and
 * comments from '#' to the end of the line. */
static void skip_ws(scan *s)
{
    while (s->p < s->end) {
        if (*s->p == '#')
            while (s->p < s->end && *s->p != '\n')
                s->p++;
        else if (*s->p == ' ' || *s->p == '\t' || *s->p == '\f' || *s->p == '\n' || *s->p == '\r')
            s->p++;
        else
            break;
    }
}

static int eat(scan *s, char c)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static int scan_string(scan *s, char *out, size_t len)
{
    skip_ws(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
        return -1;
    char q = *s->p++;
    size_t k = 0;
    while (s->p < s->end && *s->p != q) {
        /* An escape would need Python's rules (numpy writes none); a line break ends
         * a Python string literal unclosed. */
        if (k + 1 >= len || *s->p == '\\' || *s->p == '\n' || *s->p == '\r')
            return -1;
        out[k++] = *s->p++;
    }
    if (s->p >= s->end)
        return -1;
    s->p++;
    out[k] = 0;
    return 0;
}

static int scan_word(scan *s, const char *w)
{
    skip_ws(s);
    size_t n = strlen(w);
    if ((size_t)(s->end - s->p) >= n && memcmp(s->p, w, n) == 0) {
        s->p += n;
        return 1;
    }
    return 0;
}

/* "(3, 4)", "(3,)", "()"; Python 2's "3L" too in formats 1.0 and 2.0, as numpy's
 * _filter_header allows. */
static int scan_shape(scan *s, npy_info *info, int version)
{
    if (!eat(s, '('))
        return -1;
    info->ndim = 0;
    for (;;) {
        if (eat(s, ')'))
            return 0;
        skip_ws(s);
        if (s->p >= s->end || !isdigit((unsigned char)*s->p) || info->ndim == RT_NPY_MAX_DIMS)
            return -1;
        size_t v = 0;
        while (s->p < s->end && isdigit((unsigned char)*s->p)) {
            if (v > (SIZE_MAX - 9) / 10)
                return -1;
            v = v * 10 + (size_t)(*s->p++ - '0');
        }
        if (version <= 2 && s->p < s->end && *s->p == 'L')
            s->p++;
        info->shape[info->ndim++] = v;
        if (!eat(s, ',')) {
            return eat(s, ')') ? 0 : -1;
        }
    }
}

/* The header as numpy.lib.format reads it: ast.literal_eval of the text must give a
 * dict of exactly the keys descr, fortran_order and shape.  So: no NUL anywhere (Python
 * source cannot hold one), leading spaces and tabs, the dict, and after its '}' only
 * whitespace and comments (numpy pads with spaces and ends with a newline). */
static int parse_dict(const char *text, size_t len, npy_info *info, int version)
{
    scan s = {text, text + len};
    int seen = 0;
    if (memchr(text, 0, len))
        return -1;
    while (s.p < s.end && (*s.p == ' ' || *s.p == '\t'))
        s.p++;
    if (s.p == s.end || *s.p++ != '{')
        return -1;
    for (;;) {
        if (eat(&s, '}'))
            break;
        char key[32];
        if (scan_string(&s, key, sizeof key) || !eat(&s, ':'))
            return -1;
        if (strcmp(key, "descr") == 0) {
            if (scan_string(&s, info->descr, sizeof info->descr))
                return -1;
            seen |= 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (scan_word(&s, "True"))
                info->fortran = 1;
            else if (scan_word(&s, "False"))
                info->fortran = 0;
            else
                return -1;
            seen |= 2;
        } else if (strcmp(key, "shape") == 0) {
            if (scan_shape(&s, info, version))
                return -1;
            seen |= 4;
        } else {
            return -1;
        }
        if (!eat(&s, ',')) {
            if (!eat(&s, '}'))
                return -1;
            break;
        }
    }
    skip_ws(&s);
    return seen == 7 && s.p == s.end ? 0 : -1;
}

static zip_int64_t read_full(zip_file_t *zf, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(zf, (char *)buf + got, n - got);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (zip_int64_t)got;
}

/* Finds NAME.npy (or NAME), opens it and parses its header; on success *zf is open at
 * the start of the data. */
static int open_array(rt_npz *z, const char *name, zip_file_t **zf, npy_info *info, char *err,
                      size_t errlen)
{
    zip_t *za = z->zip;
    char member[256];
    if (!za)
        return rt_fail(err, errlen, "%s: archive not open", z->path);
    if ((size_t)snprintf(member, sizeof member, "%s.npy", name) >= sizeof member)
        return rt_fail(err, errlen, "%s: array name '%.40s...' too long", z->path, name);
    zip_int64_t idx = zip_name_locate(za, member, 0);
    if (idx < 0) {
        snprintf(member, sizeof member, "%s", name);
        idx = zip_name_locate(za, name, 0);
    }
    if (idx < 0) {
        char have[300];
        list_members(za, have, sizeof have);
        return rt_fail(err, errlen, "%s: no array '%s' (the archive has: %s)", z->path, name,
                    have[0] ? have : "nothing");
    }
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return rt_fail(err, errlen, "%s: %s: %s", z->path, member, zip_strerror(za));
    memset(info, 0, sizeof *info);
    info->size = st.size;
    *zf = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (!*zf)
        return rt_fail(err, errlen, "%s: %s: cannot open: %s", z->path, member, zip_strerror(za));
    uint8_t pre[12];
    zip_int64_t r = read_full(*zf, pre, 10);
    int rc = 0;
    if (r < 0)
        rc = rt_fail(err, errlen, "%s: %s: corrupt: %s", z->path, member, zip_file_strerror(*zf));
    else if (r < 10 || memcmp(pre, NPY_MAGIC, 6) != 0)
        rc = rt_fail(err, errlen, "%s: %s: not a .npy file (bad magic)", z->path, member);
    else if (pre[6] < 1 || pre[6] > 3)
        rc = rt_fail(err, errlen, "%s: %s: .npy format version %d.%d not supported", z->path,
                  member, pre[6], pre[7]);
    size_t hlen = 0;
    size_t prefix = 10;
    if (rc == 0 && pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (rc == 0) {
        prefix = 12;
        if (read_full(*zf, pre + 10, 2) != 2)
            rc = rt_fail(err, errlen, "%s: %s: truncated header", z->path, member);
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
               (size_t)pre[11] << 24;
    }
    if (rc == 0 && hlen > NPY_MAX_HEADER)
        rc = rt_fail(err, errlen, "%s: %s: header of %zu bytes is implausible", z->path, member,
                  hlen);
    char *text = NULL;
    if (rc == 0) {
        text = malloc(hlen + 1);
        if (!text)
            rc = rt_fail(err, errlen, "%s: out of memory", z->path);
        else if (read_full(*zf, text, hlen) != (zip_int64_t)hlen)
            rc = rt_fail(err, errlen, "%s: %s: truncated header", z->path, member);
        else if (parse_dict(text, hlen, info, pre[6])) {
            size_t shown = hlen;
            while (shown > 0 && isspace((unsigned char)text[shown - 1]))
                shown--;
            rc = rt_fail(err, errlen, "%s: %s: cannot parse the header %.*s", z->path, member,
                      (int)(shown < 120 ? shown : 120), text);
        }
    }
    free(text);
    info->data_off = prefix + hlen;
    if (rc) {
        zip_fclose(*zf);
        *zf = NULL;
    }
    return rc;
}

int rt_npz_shape(rt_npz *z, const char *name, int *ndim, size_t shape[RT_NPY_MAX_DIMS],
                 char *err, size_t errlen)
{
    zip_file_t *zf;
    npy_info info;
    if (open_array(z, name, &zf, &info, err, errlen))
        return -1;
    zip_fclose(zf);
    *ndim = info.ndim;
    for (int i = 0; i < info.ndim; i++)
        shape[i] = info.shape[i];
    return 0;
}

int rt_npz_read_f32(rt_npz *z, const char *name, float *dst, int ndim, const size_t *shape,
                    char *err, size_t errlen)
{
    if (!host_is_little_endian())
        return rt_fail(err, errlen, "%s: .npz reading needs a little-endian host", z->path);
    zip_file_t *zf;
    npy_info info;
    if (open_array(z, name, &zf, &info, err, errlen))
        return -1;
    int rc = 0;
    char got[200], want[200];
    format_shape(got, sizeof got, info.ndim, info.shape);
    format_shape(want, sizeof want, ndim, shape);
    int same = info.ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = info.shape[i] == shape[i];
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= shape[i];
    size_t nbytes = count * sizeof(float);
    if (strcmp(info.descr, "<f4") != 0)
        rc = rt_fail(err, errlen, "%s: array '%s' has dtype '%s', expected '<f4' (float32)",
                  z->path, name, info.descr);
    else if (info.fortran)
        rc = rt_fail(err, errlen, "%s: array '%s' is in Fortran order; netc reads C order only",
                  z->path, name);
    else if (!same)
        rc = rt_fail(err, errlen, "%s: array '%s' has shape %s, expected %s", z->path, name, got,
                  want);
    else if (info.size != info.data_off + nbytes)
        rc = rt_fail(err, errlen, "%s: array '%s' holds %llu data bytes, shape %s needs %zu",
                  z->path, name,
                  (unsigned long long)(info.size > info.data_off ? info.size - info.data_off : 0),
                  want, nbytes);
    float *tmp = NULL;
    if (rc == 0) {
        tmp = malloc(nbytes ? nbytes : 1);
        if (!tmp)
            rc = rt_fail(err, errlen, "%s: out of memory for array '%s'", z->path, name);
    }
    if (rc == 0) {
        /* Reading on to the end makes libzip check the member's CRC. */
        uint8_t extra;
        zip_int64_t r = read_full(zf, tmp, nbytes);
        zip_int64_t r2 = r == (zip_int64_t)nbytes ? zip_fread(zf, &extra, 1) : 0;
        if (r < 0 || r2 < 0)
            rc = rt_fail(err, errlen, "%s: array '%s' is corrupt: %s", z->path, name,
                      zip_file_strerror(zf));
        else if (r != (zip_int64_t)nbytes || r2 != 0)
            rc = rt_fail(err, errlen, "%s: array '%s': data size does not match its header",
                      z->path, name);
    }
    zip_fclose(zf);
    if (rc == 0 && nbytes)
        memcpy(dst, tmp, nbytes);
    free(tmp);
    return rc;
}
