/* Checkpoints: a model's identity plus named, typed sections, in the format of
 * docs/checkpoint.md.
 *
 * The writer only records pointers to the caller's data; commit streams header,
 * sections and a trailing CRC32 to PATH.tmp.PID, fsyncs it, renames it over PATH and
 * fsyncs the directory.  rename() is atomic, so at every instant PATH is either the
 * old complete file or the new complete one, whatever kills the process.
 * The reader trusts nothing before the checksum: it checks the magic, the version and
 * the size the header records against the file's, then the CRC32 over the whole file,
 * and only then parses the section table.  rt_ckpt_read also checks every section the
 * caller asks for before it copies any, so a failed load leaves the caller's buffers
 * as they were. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "rt_io.h"

#define CKPT_MAGIC "NETCCKPT"
#define CKPT_VERSION 1u
/* magic, version, nsections, file size, model hash */
#define CKPT_FIXED 32
#define CRC_CHUNK ((size_t)1 << 20)

/* The format is little-endian; section data is written as it lies in memory. */
static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

size_t rt_dtype_size(rt_dtype t)
{
    switch (t) {
    case RT_DT_U8: return 1;
    case RT_DT_I32: case RT_DT_U32: case RT_DT_F32: return 4;
    case RT_DT_I64: case RT_DT_U64: case RT_DT_F64: return 8;
    }
    return 0;
}

const char *rt_dtype_name(rt_dtype t)
{
    switch (t) {
    case RT_DT_U8: return "uint8";
    case RT_DT_I32: return "int32";
    case RT_DT_U32: return "uint32";
    case RT_DT_I64: return "int64";
    case RT_DT_U64: return "uint64";
    case RT_DT_F32: return "float32";
    case RT_DT_F64: return "float64";
    }
    return "unknown";
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* zlib's crc32 takes a uInt length: feed it in chunks. */
static uint32_t crc_update(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        size_t k = n < CRC_CHUNK ? n : CRC_CHUNK;
        crc = (uint32_t)crc32(crc, p, (uInt)k);
        p += k;
        n -= k;
    }
    return crc;
}

/* Bytes of a section record before its data, and the zero padding that puts the data
 * at a multiple of 8 from the start of the file. */
static size_t record_size(const rt_ckpt_section *s)
{
    return 2 + strlen(s->name) + 1 + 1 + 8 * (size_t)s->ndim + 8;
}

static size_t pad8(uint64_t off)
{
    return (size_t)((8 - off % 8) % 8);
}

/* ---- writing ---- */

void rt_ckpt_writer_init(rt_ckpt_writer *w, const char *model_name, uint64_t model_hash)
{
    memset(w, 0, sizeof *w);
    if (strlen(model_name) > RT_CKPT_MAX_NAME)
        snprintf(w->err, sizeof w->err, "model name longer than %d bytes", RT_CKPT_MAX_NAME);
    else
        strcpy(w->model, model_name);
    w->model_hash = model_hash;
}

void rt_ckpt_writer_free(rt_ckpt_writer *w)
{
    free(w->sec);
    free(w->data);
    memset(w, 0, sizeof *w);
}

static int add_error(rt_ckpt_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int add_error(rt_ckpt_writer *w, const char *fmt, ...)
{
    if (w->err[0] == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err, sizeof w->err, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int rt_ckpt_add(rt_ckpt_writer *w, const char *name, rt_dtype dtype, const void *data,
                int ndim, const uint64_t *dims)
{
    size_t len = strlen(name);
    if (len == 0 || len > RT_CKPT_MAX_NAME)
        return add_error(w, "section name '%.40s' must be 1 to %d bytes", name,
                         RT_CKPT_MAX_NAME);
    if (rt_dtype_size(dtype) == 0)
        return add_error(w, "section '%s': unknown dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > RT_CKPT_MAX_DIMS)
        return add_error(w, "section '%s': %d dimensions, at most %d", name, ndim,
                         RT_CKPT_MAX_DIMS);
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] != 0 && count > UINT64_MAX / dims[i])
            return add_error(w, "section '%s': shape overflows", name);
        count *= dims[i];
    }
    if (count > (UINT64_MAX / 2) / rt_dtype_size(dtype) || count * rt_dtype_size(dtype) > SIZE_MAX / 2)
        return add_error(w, "section '%s': too large", name);
    if (count > 0 && !data)
        return add_error(w, "section '%s': no data", name);
    for (size_t i = 0; i < w->nsec; i++)
        if (strcmp(w->sec[i].name, name) == 0)
            return add_error(w, "section '%s' added twice", name);
    if (w->nsec == w->cap) {
        size_t ncap = w->cap ? 2 * w->cap : 16;
        rt_ckpt_section *ns = realloc(w->sec, ncap * sizeof *ns);
        if (!ns)
            return add_error(w, "out of memory");
        w->sec = ns;
        const void **nd = realloc(w->data, ncap * sizeof *nd);
        if (!nd)
            return add_error(w, "out of memory");
        w->data = nd;
        w->cap = ncap;
    }
    rt_ckpt_section *s = &w->sec[w->nsec];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, len + 1);
    s->dtype = dtype;
    s->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        s->dims[i] = dims[i];
    s->count = count;
    w->data[w->nsec] = data;
    w->nsec++;
    return 0;
}

int rt_ckpt_add_f32(rt_ckpt_writer *w, const char *name, const float *data, size_t count)
{
    uint64_t dim = count;
    return rt_ckpt_add(w, name, RT_DT_F32, data, 1, &dim);
}

int rt_ckpt_add_bytes(rt_ckpt_writer *w, const char *name, const void *data, size_t nbytes)
{
    uint64_t dim = nbytes;
    return rt_ckpt_add(w, name, RT_DT_U8, data, 1, &dim);
}

/* fwrite that also folds the bytes into the running CRC. */
static int write_crc(FILE *f, uint32_t *crc, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    *crc = crc_update(*crc, p, n);
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int write_all(const rt_ckpt_writer *w, FILE *f)
{
    /* Layout pass: where each section's data lands, and the total size. */
    uint64_t off = CKPT_FIXED + 2 + strlen(w->model);
    for (size_t i = 0; i < w->nsec; i++) {
        off += record_size(&w->sec[i]);
        off += pad8(off);
        off += w->sec[i].count * rt_dtype_size(w->sec[i].dtype);
    }
    uint64_t total = off + 4;

    uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
    uint8_t hdr[CKPT_FIXED + 2 + RT_CKPT_MAX_NAME];
    memcpy(hdr, CKPT_MAGIC, 8);
    put32(hdr + 8, CKPT_VERSION);
    put32(hdr + 12, (uint32_t)w->nsec);
    put64(hdr + 16, total);
    put64(hdr + 24, w->model_hash);
    size_t mlen = strlen(w->model);
    put16(hdr + 32, (uint16_t)mlen);
    memcpy(hdr + 34, w->model, mlen);
    if (write_crc(f, &crc, hdr, 34 + mlen))
        return -1;
    off = 34 + mlen;
    static const uint8_t zeros[8] = {0};
    for (size_t i = 0; i < w->nsec; i++) {
        const rt_ckpt_section *s = &w->sec[i];
        uint8_t rec[2 + RT_CKPT_MAX_NAME + 2 + 8 * RT_CKPT_MAX_DIMS + 8];
        size_t nlen = strlen(s->name);
        size_t nbytes = (size_t)s->count * rt_dtype_size(s->dtype);
        put16(rec, (uint16_t)nlen);
        memcpy(rec + 2, s->name, nlen);
        uint8_t *p = rec + 2 + nlen;
        *p++ = (uint8_t)s->dtype;
        *p++ = (uint8_t)s->ndim;
        for (int d = 0; d < s->ndim; d++, p += 8)
            put64(p, s->dims[d]);
        put64(p, nbytes);
        p += 8;
        size_t rlen = (size_t)(p - rec);
        off += rlen;
        size_t pad = pad8(off);
        off += pad + nbytes;
        if (write_crc(f, &crc, rec, rlen) || write_crc(f, &crc, zeros, pad) ||
            write_crc(f, &crc, w->data[i], nbytes))
            return -1;
    }
    uint8_t tail[4];
    put32(tail, crc);
    return fwrite(tail, 1, 4, f) == 4 ? 0 : -1;
}

/* fsync the directory holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return -1;
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int rt_ckpt_commit(rt_ckpt_writer *w, const char *path, char *err, size_t errlen)
{
    if (w->err[0])
        return rt_fail(err, errlen, "%s: %s", path, w->err);
    if (!host_is_little_endian())
        return rt_fail(err, errlen, "%s: checkpoints need a little-endian host", path);
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return rt_fail(err, errlen, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return rt_fail(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return rt_fail(err, errlen, "%s: cannot open: %s", tmp, strerror(e));
    }
    const char *step = "write";
    int rc = write_all(w, f);
    if (rc == 0 && (rc = fflush(f)) != 0)
        step = "flush";
    if (rc == 0 && (rc = fsync(fd)) != 0)
        step = "fsync";
    int e = errno;
    if (fclose(f) != 0 && rc == 0) {
        e = errno;
        rc = -1;
        step = "close";
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        e = errno;
        rc = -1;
        step = "rename";
    }
    if (rc) {
        unlink(tmp);
        return rt_fail(err, errlen, "%s: cannot %s %s: %s", path, step, tmp, strerror(e));
    }
    if (sync_dir(path) != 0)
        return rt_fail(err, errlen, "%s: written, but cannot fsync its directory: %s", path,
                    strerror(errno));
    return 0;
}

/* ---- reading ---- */

void rt_ckpt_close(rt_ckpt *ck)
{
    if (ck->f)
        fclose(ck->f);
    free(ck->sec);
    memset(ck, 0, sizeof *ck);
}

/* Reads n bytes at the current position, failing on a short read. */
static int read_exact(FILE *f, void *p, size_t n)
{
    return fread(p, 1, n, f) == n ? 0 : -1;
}

static int check_crc(rt_ckpt *ck, uint64_t size, char *err, size_t errlen)
{
    uint8_t *buf = malloc(CRC_CHUNK);
    if (!buf)
        return rt_fail(err, errlen, "%s: out of memory", ck->path);
    uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
    uint64_t left = size - 4;
    rewind(ck->f);
    while (left > 0) {
        size_t k = left < CRC_CHUNK ? (size_t)left : CRC_CHUNK;
        if (read_exact(ck->f, buf, k)) {
            free(buf);
            return rt_fail(err, errlen, "%s: read error: %s", ck->path,
                        ferror(ck->f) ? strerror(errno) : "file shrank while reading");
        }
        crc = crc_update(crc, buf, k);
        left -= k;
    }
    free(buf);
    uint8_t tail[4];
    if (read_exact(ck->f, tail, 4))
        return rt_fail(err, errlen, "%s: read error", ck->path);
    if (get32(tail) != crc)
        return rt_fail(err, errlen, "%s: corrupted: checksum mismatch", ck->path);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const rt_ckpt_section *const *)a)->name, (*(const rt_ckpt_section *const *)b)->name);
}

/* No two sections share a name: sorted by name, no two neighbours are equal (n log n,
 * where comparing each pair would be quadratic in a forged file's million sections). */
static int check_unique(const rt_ckpt *ck, char *err, size_t errlen)
{
    if (ck->nsec < 2)
        return 0;
    const rt_ckpt_section **v = malloc(ck->nsec * sizeof *v);
    if (!v)
        return rt_fail(err, errlen, "%s: out of memory", ck->path);
    for (size_t i = 0; i < ck->nsec; i++)
        v[i] = &ck->sec[i];
    qsort(v, ck->nsec, sizeof *v, by_name);
    int rc = 0;
    for (size_t i = 1; rc == 0 && i < ck->nsec; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            rc = rt_fail(err, errlen, "%s: corrupted: section '%s' appears twice", ck->path, v[i]->name);
    free(v);
    return rc;
}

/* Parses the model name and the section table; the checksum has already passed, so a
 * failure here means a writer bug or a deliberately forged file. */
static int parse_table(rt_ckpt *ck, uint32_t nsec, uint64_t size, char *err, size_t errlen)
{
    uint64_t end = size - 4;
    uint8_t b[8 * RT_CKPT_MAX_DIMS + 8];
    if (fseeko(ck->f, CKPT_FIXED, SEEK_SET) || read_exact(ck->f, b, 2))
        return rt_fail(err, errlen, "%s: corrupted: bad header", ck->path);
    size_t mlen = get16(b);
    if (mlen > RT_CKPT_MAX_NAME || read_exact(ck->f, ck->model, mlen))
        return rt_fail(err, errlen, "%s: corrupted: bad model name", ck->path);
    ck->model[mlen] = 0;
    uint64_t off = CKPT_FIXED + 2 + mlen;
    if (nsec > end / 13)   /* no record is shorter than 13 bytes */
        return rt_fail(err, errlen, "%s: corrupted: %u sections in %llu bytes", ck->path, nsec,
                    (unsigned long long)size);
    ck->sec = calloc(nsec ? nsec : 1, sizeof *ck->sec);
    if (!ck->sec)
        return rt_fail(err, errlen, "%s: out of memory", ck->path);
    for (uint32_t i = 0; i < nsec; i++) {
        rt_ckpt_section *s = &ck->sec[i];
        if (off + 2 > end || read_exact(ck->f, b, 2))
            return rt_fail(err, errlen, "%s: corrupted: section %u runs past the end", ck->path, i);
        size_t nlen = get16(b);
        if (nlen == 0 || nlen > RT_CKPT_MAX_NAME || read_exact(ck->f, s->name, nlen) ||
            read_exact(ck->f, b, 2))
            return rt_fail(err, errlen, "%s: corrupted: section %u has a bad name", ck->path, i);
        s->name[nlen] = 0;
        s->dtype = (rt_dtype)b[0];
        s->ndim = b[1];
        size_t esize = rt_dtype_size(s->dtype);
        if (esize == 0 || s->ndim > RT_CKPT_MAX_DIMS ||
            read_exact(ck->f, b, 8 * (size_t)s->ndim + 8))
            return rt_fail(err, errlen, "%s: corrupted: section '%s' has a bad type", ck->path,
                        s->name);
        uint64_t count = 1;
        int overflow = 0;
        for (int d = 0; d < s->ndim; d++) {
            s->dims[d] = get64(b + 8 * d);
            if (s->dims[d] != 0 && count > UINT64_MAX / s->dims[d])
                overflow = 1;
            else
                count *= s->dims[d];
        }
        s->count = count;
        uint64_t nbytes = get64(b + 8 * s->ndim);
        off += record_size(s);
        off += pad8(off);
        if (overflow || count > UINT64_MAX / esize || nbytes != count * esize ||
            nbytes > end || off > end - nbytes)
            return rt_fail(err, errlen, "%s: corrupted: section '%s' has a bad size", ck->path,
                        s->name);
        s->offset = off;
        off += nbytes;
        if (fseeko(ck->f, (off_t)off, SEEK_SET))
            return rt_fail(err, errlen, "%s: seek error", ck->path);
    }
    if (off != end)
        return rt_fail(err, errlen, "%s: corrupted: %llu bytes after the last section", ck->path,
                    (unsigned long long)(end - off));
    ck->nsec = nsec;
    return check_unique(ck, err, errlen);
}

/* Checks 2 to 6 of docs/checkpoint.md on ck->f, a stream of `size` bytes. */
static int check_stream(rt_ckpt *ck, uint64_t size, char *err, size_t errlen)
{
    const char *path = ck->path;
    uint8_t h[CKPT_FIXED];
    size_t got = fread(h, 1, sizeof h, ck->f);
    if (got == 0)
        return rt_fail(err, errlen, "%s: empty file (truncated checkpoint)", path);
    size_t cmp = got < 8 ? got : 8;
    if (memcmp(h, CKPT_MAGIC, cmp) != 0)
        return rt_fail(err, errlen, "%s: not a netc checkpoint (bad magic)", path);
    if (got < 12)
        return rt_fail(err, errlen, "%s: truncated: %zu bytes", path, got);
    ck->version = get32(h + 8);
    if (ck->version != CKPT_VERSION)
        return rt_fail(err, errlen, "%s: checkpoint format version %u, this netc reads version %u",
                    path, ck->version, CKPT_VERSION);
    if (got < CKPT_FIXED || size < CKPT_FIXED + 2 + 4)
        return rt_fail(err, errlen, "%s: truncated: %llu bytes, shorter than the header", path,
                    (unsigned long long)size);
    uint32_t nsec = get32(h + 12);
    uint64_t recorded = get64(h + 16);
    ck->model_hash = get64(h + 24);
    if (size < recorded)
        return rt_fail(err, errlen, "%s: truncated: %llu bytes, the header says %llu", path,
                    (unsigned long long)size, (unsigned long long)recorded);
    if (size > recorded)
        return rt_fail(err, errlen, "%s: corrupted: %llu bytes, the header says %llu", path,
                    (unsigned long long)size, (unsigned long long)recorded);
    if (check_crc(ck, size, err, errlen))
        return -1;
    return parse_table(ck, nsec, size, err, errlen);
}

static int name_path(rt_ckpt *ck, const char *path, char *err, size_t errlen)
{
    if ((size_t)snprintf(ck->path, sizeof ck->path, "%s", path) >= sizeof ck->path)
        return rt_fail(err, errlen, "%s: path too long", path);
    if (!host_is_little_endian())
        return rt_fail(err, errlen, "%s: checkpoints need a little-endian host", path);
    return 0;
}

static int open_checked(rt_ckpt *ck, const char *path, char *err, size_t errlen)
{
    if (name_path(ck, path, err, errlen))
        return -1;
    ck->f = fopen(path, "rb");
    if (!ck->f)
        return rt_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(ck->f), &st) != 0)
        return rt_fail(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return rt_fail(err, errlen, "%s: not a regular file", path);
    return check_stream(ck, (uint64_t)st.st_size, err, errlen);
}

static int open_mem_checked(rt_ckpt *ck, const char *name, const void *data, size_t size, char *err,
                            size_t errlen)
{
    if (name_path(ck, name, err, errlen))
        return -1;
    if (size == 0)
        return rt_fail(err, errlen, "%s: empty file (truncated checkpoint)", name);
    ck->f = fmemopen((void *)data, size, "rb");
    if (!ck->f)
        return rt_fail(err, errlen, "%s: cannot open: %s", name, strerror(errno));
    return check_stream(ck, size, err, errlen);
}

int rt_ckpt_open(rt_ckpt *ck, const char *path, char *err, size_t errlen)
{
    memset(ck, 0, sizeof *ck);
    if (open_checked(ck, path, err, errlen)) {
        rt_ckpt_close(ck);
        return -1;
    }
    return 0;
}

int rt_ckpt_open_mem(rt_ckpt *ck, const char *name, const void *data, size_t size, char *err, size_t errlen)
{
    memset(ck, 0, sizeof *ck);
    if (open_mem_checked(ck, name, data, size, err, errlen)) {
        rt_ckpt_close(ck);
        return -1;
    }
    return 0;
}

int rt_ckpt_check_model(const rt_ckpt *ck, const char *model_name, uint64_t model_hash,
                        char *err, size_t errlen)
{
    if (ck->model_hash == model_hash && strcmp(ck->model, model_name) == 0)
        return 0;
    if (strcmp(ck->model, model_name) == 0)
        return rt_fail(err, errlen,
                    "checkpoint %s was written by a different structure of model '%s' "
                    "(hash %016llx), not this model (hash %016llx)", ck->path, ck->model,
                    (unsigned long long)ck->model_hash, (unsigned long long)model_hash);
    return rt_fail(err, errlen,
                "checkpoint %s was written by model '%s' (hash %016llx), not this model "
                "'%s' (hash %016llx)", ck->path, ck->model, (unsigned long long)ck->model_hash,
                model_name, (unsigned long long)model_hash);
}

const rt_ckpt_section *rt_ckpt_find(const rt_ckpt *ck, const char *name)
{
    for (size_t i = 0; i < ck->nsec; i++)
        if (strcmp(ck->sec[i].name, name) == 0)
            return &ck->sec[i];
    return NULL;
}

/* Checks that section `name` exists with dtype and `count` elements. */
static int check_section(const rt_ckpt *ck, const char *name, rt_dtype dtype, size_t count,
                         const rt_ckpt_section **out, char *err, size_t errlen)
{
    const rt_ckpt_section *s = rt_ckpt_find(ck, name);
    *out = s;
    if (!s)
        return rt_fail(err, errlen, "%s: no section '%s'", ck->path, name);
    if (s->dtype != dtype)
        return rt_fail(err, errlen, "%s: section '%s' holds %s, expected %s", ck->path, name,
                    rt_dtype_name(s->dtype), rt_dtype_name(dtype));
    if (s->count != count)
        return rt_fail(err, errlen, "%s: section '%s' has %llu %s values, the model expects %zu",
                    ck->path, name, (unsigned long long)s->count, rt_dtype_name(dtype), count);
    return 0;
}

static int copy_section(rt_ckpt *ck, const rt_ckpt_section *s, void *dst, char *err,
                        size_t errlen)
{
    size_t nbytes = (size_t)s->count * rt_dtype_size(s->dtype);
    if (nbytes == 0)
        return 0;
    if (fseeko(ck->f, (off_t)s->offset, SEEK_SET) || read_exact(ck->f, dst, nbytes))
        return rt_fail(err, errlen, "%s: read error in section '%s'", ck->path, s->name);
    return 0;
}

int rt_ckpt_get(rt_ckpt *ck, const char *name, rt_dtype dtype, void *dst, size_t count,
                char *err, size_t errlen)
{
    const rt_ckpt_section *s;
    if (check_section(ck, name, dtype, count, &s, err, errlen))
        return -1;
    return copy_section(ck, s, dst, err, errlen);
}

int rt_ckpt_read(const char *path, const char *model_name, uint64_t model_hash,
                 rt_ckpt_slot *slots, size_t nslots, char *err, size_t errlen)
{
    rt_ckpt ck;
    if (rt_ckpt_open(&ck, path, err, errlen))
        return -1;
    for (size_t i = 0; i < nslots; i++)
        slots[i].found = 0;
    int rc = rt_ckpt_check_model(&ck, model_name, model_hash, err, errlen);
    for (size_t i = 0; rc == 0 && i < nslots; i++) {
        const rt_ckpt_section *s;
        if (slots[i].optional && !rt_ckpt_find(&ck, slots[i].name))
            continue;
        rc = check_section(&ck, slots[i].name, slots[i].dtype, slots[i].count, &s, err, errlen);
    }
    for (size_t i = 0; rc == 0 && i < nslots; i++) {
        const rt_ckpt_section *s = rt_ckpt_find(&ck, slots[i].name);
        if (!s)
            continue;
        rc = copy_section(&ck, s, slots[i].data, err, errlen);
        slots[i].found = rc == 0;
    }
    rt_ckpt_close(&ck);
    return rc;
}
