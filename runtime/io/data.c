/* Data sets: IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary files into byte images,
 * and from there to float batches.
 *
 * Every file is read through zlib's inflate when it starts with the gzip magic, as it is
 * otherwise, so "x" and "x.gz" are the same to us; member by member, so that a gzip file
 * cut inside its trailer is "truncated" and bytes after its last member "trailing
 * garbage", as for a raw file.  A reader first takes the header, then reads the body
 * into a buffer that grows (by a quarter) only as bytes arrive, up to the size the header
 * announced: a header announcing terabytes gives "truncated" after what is there, not a
 * giant malloc.  The *_mem entry points read bytes in memory (the fuzz targets').
 * Images stay bytes in memory (47 MB for MNIST's training set instead of 188 MB as
 * floats); rt_batch_fill turns one batch into floats through a per-channel lookup
 * table, so scaling and normalisation cost one load per pixel.  Train/validation splits
 * and epoch orders are index lists into the training set, never copies of it. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "rt_io.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define CIFAR_PIXELS 3072
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define READ_CHUNK ((size_t)1 << 24)

static const char *const fashion_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static const char *const cifar10_names[10] = {
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
};

int rt_data_format_parse(const char *name, rt_data_format *fmt)
{
    if (strcmp(name, "mnist") == 0)
        *fmt = RT_DATA_MNIST;
    else if (strcmp(name, "fashion-mnist") == 0 || strcmp(name, "fashion_mnist") == 0)
        *fmt = RT_DATA_FASHION_MNIST;
    else if (strcmp(name, "cifar10") == 0 || strcmp(name, "cifar-10") == 0)
        *fmt = RT_DATA_CIFAR10;
    else
        return -1;
    return 0;
}

const char *rt_data_format_name(rt_data_format fmt)
{
    switch (fmt) {
    case RT_DATA_MNIST: return "mnist";
    case RT_DATA_FASHION_MNIST: return "fashion-mnist";
    case RT_DATA_CIFAR10: return "cifar10";
    }
    return "unknown";
}

/* ---- reading through zlib ---- */

/* A file (or bytes in memory) read as it is, or inflated when it starts with the gzip
 * magic.  Inflating member by member, where zlib's gzread would hide both, shows where
 * each gzip member ends: zlib checks its CRC-32 and length trailer, a file cut inside a
 * member (trailer included) is "truncated", and bytes after the last member that do not
 * start another one are "trailing garbage", as after a raw file's last record. */
typedef struct {
    const char *path;
    FILE *f;
    int gzip;              /* inflating */
    int zlive;             /* z initialised */
    int member_end;        /* the current member's trailer has been checked */
    int members;           /* members begun */
    int at_eof;            /* the file has no more bytes */
    z_stream z;
    uint8_t in[1 << 16];
} src;

static int src_fill(src *s, char *err, size_t errlen)
{
    s->z.next_in = s->in;
    s->z.avail_in = (uInt)fread(s->in, 1, sizeof s->in, s->f);
    if (ferror(s->f))
        return rt_fail(err, errlen, "%s: read error: %s", s->path, strerror(errno));
    s->at_eof = s->z.avail_in == 0;
    return 0;
}

/* Sniffs the first bytes: 0x1f 0x8b is gzip. */
static int src_start(src *s, FILE *f, const char *path, char *err, size_t errlen)
{
    memset(s, 0, offsetof(src, in));
    s->path = path;
    s->f = f;
    if (src_fill(s, err, errlen))
        return -1;
    s->gzip = s->z.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
    if (s->gzip && inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
        return rt_fail(err, errlen, "%s: out of memory for zlib", path);
    s->zlive = s->gzip;
    s->members = s->gzip;
    return 0;
}

static void src_close(src *s)
{
    if (s->zlive)
        inflateEnd(&s->z);
    if (s->f)
        fclose(s->f);
    s->f = NULL;
    s->zlive = 0;
}

static int src_open(src *s, const char *path, char *err, size_t errlen)
{
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt_fail(err, errlen, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    if (src_start(s, f, path, err, errlen)) {
        src_close(s);
        return -1;
    }
    return 0;
}

static int src_open_mem(src *s, const char *name, const void *data, size_t size, char *err, size_t errlen)
{
    static const uint8_t nothing[1];
    FILE *f = fmemopen((void *)(size ? data : nothing), size ? size : 1, "rb");
    if (!f)
        return rt_fail(err, errlen, "%s: cannot open: %s", name, strerror(errno));
    if (size == 0)
        fgetc(f);   /* fmemopen takes no empty buffer: one byte, read away */
    if (src_start(s, f, name, err, errlen)) {
        src_close(s);
        return -1;
    }
    return 0;
}

/* After a member's trailer: the end of the file, or another member's magic. */
static int next_member(src *s, char *err, size_t errlen)
{
    if (s->z.avail_in == 0 && !s->at_eof && src_fill(s, err, errlen))
        return -1;
    if (s->z.avail_in == 0)
        return 0;
    if (s->z.next_in[0] != 0x1f)
        return rt_fail(err, errlen, "%s: trailing garbage after the gzip stream", s->path);
    inflateReset(&s->z);
    s->member_end = 0;
    s->members++;
    return 0;
}

/* Inflates up to n bytes into buf; returns how many, or -1 (with err). */
static long long src_inflate(src *s, uint8_t *buf, size_t n, char *err, size_t errlen)
{
    size_t got = 0;
    while (got < n) {
        if (s->member_end) {
            if (next_member(s, err, errlen))
                return -1;
            if (s->member_end)   /* the end of the file, after whole members */
                return (long long)got;
        }
        if (s->z.avail_in == 0 && !s->at_eof && src_fill(s, err, errlen))
            return -1;
        if (s->z.avail_in == 0)
            return rt_fail(err, errlen, "%s: truncated: the gzip stream ends before its CRC-32 and length trailer",
                           s->path);
        size_t want = n - got < READ_CHUNK ? n - got : READ_CHUNK;
        s->z.next_out = buf + got;
        s->z.avail_out = (uInt)want;
        int r = inflate(&s->z, Z_NO_FLUSH);
        got += want - s->z.avail_out;
        if (r == Z_STREAM_END)
            s->member_end = 1;
        else if (r == Z_DATA_ERROR && s->members > 1 && s->z.total_out == 0)
            return rt_fail(err, errlen, "%s: trailing garbage after the gzip stream (%s)", s->path, s->z.msg);
        else if (r != Z_OK && r != Z_BUF_ERROR)
            return rt_fail(err, errlen, "%s: read error: %s", s->path, s->z.msg ? s->z.msg : "zlib failed");
    }
    return (long long)got;
}

/* Reads up to n bytes; returns how many were read (fewer only at the end of the data),
 * or -1 (with err) on a read or decompression error, a gzip stream cut short or
 * garbage after it. */
static long long src_read(src *s, void *buf, size_t n, char *err, size_t errlen)
{
    if (s->gzip)
        return src_inflate(s, buf, n, err, errlen);
    size_t got = 0;
    while (got < n) {
        if (s->z.avail_in == 0 && !s->at_eof && src_fill(s, err, errlen))
            return -1;
        if (s->z.avail_in == 0)
            break;
        size_t k = n - got < s->z.avail_in ? n - got : s->z.avail_in;
        memcpy((uint8_t *)buf + got, s->z.next_in, k);
        s->z.next_in += k;
        s->z.avail_in -= (uInt)k;
        got += k;
    }
    return (long long)got;
}

/* The size to grow a buffer of cap bytes to when it is full and more is to come (at
 * most limit): by a quarter, at least a chunk -- so a buffer is never much larger than
 * the data that has arrived, whatever a header announces. */
static size_t grown(size_t cap, size_t limit)
{
    size_t step = cap / 4 > READ_CHUNK ? cap / 4 : READ_CHUNK;
    return limit - cap < step ? limit : cap + step;
}

/* Reads `in` to its end, or to `limit` bytes, into a malloc'd *out (*n bytes), growing
 * the buffer only as data arrives. */
static int read_upto(src *in, const char *what, size_t limit, uint8_t **out, size_t *n, char *err, size_t errlen)
{
    size_t cap = 0, got = 0;
    uint8_t *buf = malloc(1); /* an empty read still gives a buffer */
    if (!buf)
        return rt_fail(err, errlen, "%s: out of memory for %s", in->path, what);
    while (got < limit) {
        if (got == cap) {
            size_t ncap = grown(cap, limit);
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return rt_fail(err, errlen, "%s: out of memory for %zu bytes of %s", in->path, ncap, what);
            }
            buf = nb;
            cap = ncap;
        }
        long long r = src_read(in, buf + got, cap - got, err, errlen);
        if (r < 0) {
            free(buf);
            return -1;
        }
        got += (size_t)r;
        if (got < cap)
            break; /* the end of the data */
    }
    *out = buf;
    *n = got;
    return 0;
}

/* Reads exactly `expected` bytes of `what` into a malloc'd *out; then checks that nothing
 * follows. */
static int read_body(src *in, const char *what, size_t expected, uint8_t **out, char *err, size_t errlen)
{
    const char *path = in->path;
    uint8_t *buf;
    size_t got;
    if (read_upto(in, what, expected, &buf, &got, err, errlen) < 0)
        return -1;
    if (got < expected) {
        free(buf);
        return rt_fail(err, errlen, "%s: truncated: expected %zu bytes of %s, got %zu", path,
                    expected, what, got);
    }
    uint8_t extra[64];
    long long r = src_read(in, extra, sizeof extra, err, errlen);
    if (r != 0) {
        free(buf);
        if (r > 0)
            rt_fail(err, errlen, "%s: trailing garbage after %zu bytes of %s", path, expected,
                 what);
        return -1;
    }
    *out = buf;
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the IDX magic and the ndim dimensions that follow. */
static int read_idx_header(src *in, uint32_t want_magic, uint32_t *dims, char *err, size_t errlen)
{
    const char *path = in->path;
    uint8_t hdr[16];
    int ndim = (int)(want_magic & 0xff);
    size_t need = 4 + 4 * (size_t)ndim;
    long long r = src_read(in, hdr, need, err, errlen);
    if (r < 0)
        return -1;
    if (r == 0)
        return rt_fail(err, errlen, "%s: empty file", path);
    if (r >= 4) {
        uint32_t magic = be32(hdr);
        if (magic != want_magic) {
            const char *is = magic == IDX_IMAGES_MAGIC   ? " (an IDX image file)"
                             : magic == IDX_LABELS_MAGIC ? " (an IDX label file)"
                                                         : "";
            return rt_fail(err, errlen,
                        "%s: not an IDX %s file: magic 0x%08x%s, expected 0x%08x", path,
                        want_magic == IDX_IMAGES_MAGIC ? "image" : "label", magic, is,
                        want_magic);
        }
    }
    if ((size_t)r < need)
        return rt_fail(err, errlen, "%s: truncated: expected a %zu-byte header, got %lld", path,
                    need, r);
    for (int i = 0; i < ndim; i++)
        dims[i] = be32(hdr + 4 + 4 * i);
    return 0;
}

static int read_images(src *in, int expect_h, int expect_w, uint8_t **pixels, size_t *n, int *h, int *w,
                       char *err, size_t errlen)
{
    const char *path = in->path;
    uint32_t dims[3] = {0, 0, 0};
    if (read_idx_header(in, IDX_IMAGES_MAGIC, dims, err, errlen))
        return -1;
    if (dims[1] == 0 || dims[2] == 0 || dims[1] > 65536 || dims[2] > 65536)
        return rt_fail(err, errlen, "%s: bad image size %ux%u in header", path, dims[1], dims[2]);
    if ((expect_h && dims[1] != (uint32_t)expect_h) ||
        (expect_w && dims[2] != (uint32_t)expect_w))
        return rt_fail(err, errlen, "%s: images are %ux%u, the model expects %dx%d", path,
                    dims[1], dims[2], expect_h ? expect_h : (int)dims[1],
                    expect_w ? expect_w : (int)dims[2]);
    size_t bytes = (size_t)dims[0] * dims[1] * dims[2];   /* < 2^64: 32 + 16 + 16 bits */
    char what[80];
    snprintf(what, sizeof what, "pixels (%u images of %ux%u)", dims[0], dims[1], dims[2]);
    if (read_body(in, what, bytes, pixels, err, errlen))
        return -1;
    *n = dims[0];
    *h = (int)dims[1];
    *w = (int)dims[2];
    return 0;
}

int rt_idx_read_images(const char *path, int expect_h, int expect_w, uint8_t **pixels,
                       size_t *n, int *h, int *w, char *err, size_t errlen)
{
    src in;
    if (src_open(&in, path, err, errlen))
        return -1;
    int rc = read_images(&in, expect_h, expect_w, pixels, n, h, w, err, errlen);
    src_close(&in);
    return rc;
}

int rt_idx_read_images_mem(const char *name, const void *data, size_t size, uint8_t **pixels, size_t *n, int *h,
                           int *w, char *err, size_t errlen)
{
    src in;
    if (src_open_mem(&in, name, data, size, err, errlen))
        return -1;
    int rc = read_images(&in, 0, 0, pixels, n, h, w, err, errlen);
    src_close(&in);
    return rc;
}

static int read_labels(src *in, int num_classes, int32_t **labels, size_t *n, char *err, size_t errlen)
{
    const char *path = in->path;
    uint32_t count = 0;
    if (read_idx_header(in, IDX_LABELS_MAGIC, &count, err, errlen))
        return -1;
    uint8_t *bytes;
    char what[48];
    snprintf(what, sizeof what, "labels (%u labels)", count);
    if (read_body(in, what, count, &bytes, err, errlen))
        return -1;
    int32_t *out = malloc((count ? count : 1) * sizeof *out);
    if (!out) {
        free(bytes);
        return rt_fail(err, errlen, "%s: out of memory for %u labels", path, count);
    }
    for (uint32_t i = 0; i < count; i++) {
        if (num_classes > 0 && bytes[i] >= num_classes) {
            rt_fail(err, errlen, "%s: label %d of example %u is out of range: the model has %d classes",
                 path, bytes[i], i, num_classes);
            free(bytes);
            free(out);
            return -1;
        }
        out[i] = bytes[i];
    }
    free(bytes);
    *labels = out;
    *n = count;
    return 0;
}

int rt_idx_read_labels(const char *path, int num_classes, int32_t **labels, size_t *n,
                       char *err, size_t errlen)
{
    src in;
    if (src_open(&in, path, err, errlen))
        return -1;
    int rc = read_labels(&in, num_classes, labels, n, err, errlen);
    src_close(&in);
    return rc;
}

int rt_idx_read_labels_mem(const char *name, const void *data, size_t size, int32_t **labels, size_t *n, char *err,
                           size_t errlen)
{
    src in;
    if (src_open_mem(&in, name, data, size, err, errlen))
        return -1;
    int rc = read_labels(&in, 0, labels, n, err, errlen);
    src_close(&in);
    return rc;
}

void rt_dataset_free(rt_dataset *ds)
{
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

int rt_idx_load(rt_dataset *ds, const char *images_path, const char *labels_path, int C,
                int H, int W, int num_classes, char *err, size_t errlen)
{
    memset(ds, 0, sizeof *ds);
    if (num_classes <= 0)
        num_classes = 10;
    if (C != 0 && C != 1)
        return rt_fail(err, errlen, "%s: IDX images have 1 channel, the model expects %d",
                    images_path, C);
    size_t n_img, n_lab;
    int h, w;
    if (rt_idx_read_images(images_path, H, W, &ds->pixels, &n_img, &h, &w, err, errlen))
        return -1;
    if (rt_idx_read_labels(labels_path, num_classes, &ds->labels, &n_lab, err, errlen)) {
        rt_dataset_free(ds);
        return -1;
    }
    if (n_img != n_lab) {
        rt_dataset_free(ds);
        return rt_fail(err, errlen, "%s has %zu images but %s has %zu labels", images_path, n_img,
                    labels_path, n_lab);
    }
    ds->n = n_img;
    ds->C = 1;
    ds->H = h;
    ds->W = w;
    ds->num_classes = num_classes;
    return 0;
}

/* Reads one CIFAR-10 batch file and appends its records to ds. */
static int cifar_append_src(rt_dataset *ds, src *in, char *err, size_t errlen)
{
    const char *path = in->path;
    uint8_t *buf;
    size_t got;
    if (read_upto(in, "CIFAR-10 records", SIZE_MAX, &buf, &got, err, errlen) < 0)
        return -1;
    if (got == 0 || got % CIFAR_RECORD) {
        free(buf);
        return rt_fail(err, errlen,
                    "%s: truncated: %zu bytes is not a whole number of %d-byte records "
                    "(1 label + 3072 pixels)", path, got, CIFAR_RECORD);
    }
    size_t m = got / CIFAR_RECORD;
    uint8_t *px = realloc(ds->pixels, (ds->n + m) * CIFAR_PIXELS);
    if (!px) {
        free(buf);
        return rt_fail(err, errlen, "%s: out of memory", path);
    }
    ds->pixels = px;
    int32_t *lab = realloc(ds->labels, (ds->n + m) * sizeof *lab);
    if (!lab) {
        free(buf);
        return rt_fail(err, errlen, "%s: out of memory", path);
    }
    ds->labels = lab;
    for (size_t i = 0; i < m; i++) {
        const uint8_t *rec = buf + i * CIFAR_RECORD;
        if (rec[0] >= ds->num_classes) {
            rt_fail(err, errlen, "%s: label %d of record %zu is out of range: the model has %d classes",
                 path, rec[0], i, ds->num_classes);
            free(buf);
            return -1;
        }
        ds->labels[ds->n + i] = rec[0];
        memcpy(ds->pixels + (ds->n + i) * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
    }
    ds->n += m;
    free(buf);
    return 0;
}

static int cifar_append(rt_dataset *ds, const char *path, char *err, size_t errlen)
{
    src in;
    if (src_open(&in, path, err, errlen))
        return -1;
    int rc = cifar_append_src(ds, &in, err, errlen);
    src_close(&in);
    return rc;
}

static void cifar_init(rt_dataset *ds, int num_classes)
{
    memset(ds, 0, sizeof *ds);
    ds->C = 3;
    ds->H = 32;
    ds->W = 32;
    ds->num_classes = num_classes > 0 ? num_classes : 10;
}

int rt_cifar10_read_mem(rt_dataset *ds, const char *name, const void *data, size_t size, char *err, size_t errlen)
{
    cifar_init(ds, 0);
    src in;
    if (src_open_mem(&in, name, data, size, err, errlen))
        return -1;
    int rc = cifar_append_src(ds, &in, err, errlen);
    src_close(&in);
    if (rc)
        rt_dataset_free(ds);
    return rc;
}

int rt_cifar10_load(rt_dataset *ds, const char *const *paths, int npaths, int C, int H,
                    int W, int num_classes, char *err, size_t errlen)
{
    memset(ds, 0, sizeof *ds);
    if ((C && C != 3) || (H && H != 32) || (W && W != 32))
        return rt_fail(err, errlen, "%s: CIFAR-10 images are 3x32x32, the model expects %dx%dx%d",
                    npaths > 0 ? paths[0] : "cifar10", C ? C : 3, H ? H : 32, W ? W : 32);
    cifar_init(ds, num_classes);
    for (int i = 0; i < npaths; i++) {
        if (cifar_append(ds, paths[i], err, errlen)) {
            rt_dataset_free(ds);
            return -1;
        }
    }
    return 0;
}

/* ---- data directories ---- */

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds DIR/BASE or DIR/BASE.gz; writes the path found into out[outlen]. */
static int find_file(const char *dir, const char *base, char *out, size_t outlen, char *err,
                     size_t errlen)
{
    if ((size_t)snprintf(out, outlen, "%s/%s", dir, base) >= outlen)
        return rt_fail(err, errlen, "%s: path too long", dir);
    if (file_exists(out))
        return 0;
    if ((size_t)snprintf(out, outlen, "%s/%s.gz", dir, base) >= outlen)
        return rt_fail(err, errlen, "%s: path too long", dir);
    if (file_exists(out))
        return 0;
    return rt_fail(err, errlen, "%s: no %s or %s.gz", dir, base, base);
}

static int load_idx_part(rt_dataset *ds, const char *dir, const char *prefix, int C, int H, int W,
                         int num_classes, char *err, size_t errlen)
{
    char img[4096], lab[4096], base[64];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    if (find_file(dir, base, img, sizeof img, err, errlen))
        return -1;
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    if (find_file(dir, base, lab, sizeof lab, err, errlen))
        return -1;
    return rt_idx_load(ds, img, lab, C, H, W, num_classes, err, errlen);
}

static int load_idx_dir(rt_data *d, const char *dir, unsigned parts, int C, int H, int W, char *err,
                        size_t errlen)
{
    if ((parts & RT_DATA_TRAIN) && load_idx_part(&d->train, dir, "train", C, H, W, d->num_classes, err, errlen))
        return -1;
    if ((parts & RT_DATA_TEST) && load_idx_part(&d->test, dir, "t10k", C, H, W, d->num_classes, err, errlen))
        return -1;
    if (parts == (RT_DATA_TRAIN | RT_DATA_TEST) && (d->test.H != d->train.H || d->test.W != d->train.W))
        return rt_fail(err, errlen, "%s: test images are %dx%d but training images are %dx%d", dir,
                    d->test.H, d->test.W, d->train.H, d->train.W);
    return 0;
}

/* Class names from batches.meta.txt: one a line, blank lines ignored. */
static int read_meta_names(rt_data *d, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return rt_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    char line[256];
    int k = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                           line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = 0;
        if (len == 0)
            continue;
        if (k < d->num_classes) {
            char *s = strdup(line);
            if (!s) {
                rc = rt_fail(err, errlen, "%s: out of memory", path);
                break;
            }
            free(d->class_names[k]);
            d->class_names[k] = s;
        }
        k++;
    }
    fclose(f);
    if (rc == 0 && k != d->num_classes)
        rc = rt_fail(err, errlen, "%s: %d class names, the data set has %d classes", path, k,
                  d->num_classes);
    return rc;
}

/* The directory holding the batches: DIR, or DIR/cifar-10-batches-bin; probe names a
 * file of the parts asked for. */
static int cifar_base(const char *dir, const char *probe_name, char *sub, size_t sublen, const char **base,
                      char *err, size_t errlen)
{
    char probe[4096];
    *base = dir;
    if (find_file(dir, probe_name, probe, sizeof probe, err, errlen) == 0)
        return 0;
    if ((size_t)snprintf(sub, sublen, "%s/cifar-10-batches-bin", dir) >= sublen)
        return rt_fail(err, errlen, "%s: path too long", dir);
    if (find_file(sub, probe_name, probe, sizeof probe, err, errlen))
        return rt_fail(err, errlen, "%s: no %s (nor in cifar-10-batches-bin/)", dir, probe_name);
    *base = sub;
    return 0;
}

static int load_cifar_dir(rt_data *d, const char *dir, unsigned parts, int C, int H, int W, char *err,
                          size_t errlen)
{
    char sub[4096], probe[4096];
    const char *base;
    if (cifar_base(dir, parts & RT_DATA_TRAIN ? "data_batch_1.bin" : "test_batch.bin", sub, sizeof sub, &base, err,
                   errlen))
        return -1;
    char paths[5][4096];
    const char *train[5];
    for (int i = 0; (parts & RT_DATA_TRAIN) && i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        if (find_file(base, name, paths[i], sizeof paths[i], err, errlen))
            return -1;
        train[i] = paths[i];
    }
    if ((parts & RT_DATA_TRAIN) && rt_cifar10_load(&d->train, train, 5, C, H, W, d->num_classes, err, errlen))
        return -1;
    const char *test = paths[0];
    if ((parts & RT_DATA_TEST) && (find_file(base, "test_batch.bin", paths[0], sizeof paths[0], err, errlen) ||
                                   rt_cifar10_load(&d->test, &test, 1, C, H, W, d->num_classes, err, errlen)))
        return -1;
    if ((size_t)snprintf(probe, sizeof probe, "%s/batches.meta.txt", base) >= sizeof probe)
        return rt_fail(err, errlen, "%s: path too long", base);
    if (file_exists(probe))
        return read_meta_names(d, probe, err, errlen);
    return 0;
}

const char *rt_data_default_name(rt_data_format fmt, int k, char digits[16])
{
    if (fmt == RT_DATA_FASHION_MNIST && k >= 0 && k < 10)
        return fashion_names[k];
    if (fmt == RT_DATA_CIFAR10 && k >= 0 && k < 10)
        return cifar10_names[k];
    snprintf(digits, 16, "%d", k);
    return digits;
}

static int default_names(rt_data *d, char *err, size_t errlen)
{
    d->class_names = calloc((size_t)d->num_classes, sizeof *d->class_names);
    if (!d->class_names)
        return rt_fail(err, errlen, "out of memory");
    for (int i = 0; i < d->num_classes; i++) {
        char digits[16];
        d->class_names[i] = strdup(rt_data_default_name(d->format, i, digits));
        if (!d->class_names[i])
            return rt_fail(err, errlen, "out of memory");
    }
    return 0;
}

int rt_data_load(rt_data *d, const char *dir, rt_data_format fmt, int C, int H, int W,
                 int num_classes, char *err, size_t errlen)
{
    return rt_data_load_parts(d, dir, fmt, RT_DATA_TRAIN | RT_DATA_TEST, C, H, W, num_classes, err, errlen);
}

int rt_data_load_parts(rt_data *d, const char *dir, rt_data_format fmt, unsigned parts, int C, int H, int W,
                       int num_classes, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    struct stat st;
    if (stat(dir, &st) != 0)
        return rt_fail(err, errlen, "%s: no such data directory", dir);
    if (!S_ISDIR(st.st_mode))
        return rt_fail(err, errlen, "%s: not a directory (the data setting names a directory)", dir);
    d->format = fmt;
    d->num_classes = num_classes > 0 ? num_classes : 10;
    int rc = default_names(d, err, errlen);
    if (rc == 0) {
        switch (fmt) {
        case RT_DATA_MNIST:
        case RT_DATA_FASHION_MNIST:
            rc = load_idx_dir(d, dir, parts, C, H, W, err, errlen);
            break;
        case RT_DATA_CIFAR10:
            rc = load_cifar_dir(d, dir, parts, C, H, W, err, errlen);
            break;
        default:
            rc = rt_fail(err, errlen, "%s: unknown data format %d", dir, (int)fmt);
        }
    }
    if (rc)
        rt_data_free(d);
    return rc;
}

const rt_dataset *rt_data_images(const rt_data *d)
{
    return d->train.pixels || !d->test.pixels ? &d->train : &d->test;
}

void rt_data_free(rt_data *d)
{
    rt_dataset_free(&d->train);
    rt_dataset_free(&d->test);
    if (d->class_names)
        for (int i = 0; i < d->num_classes; i++)
            free(d->class_names[i]);
    free(d->class_names);
    memset(d, 0, sizeof *d);
}

/* ---- statistics and batches ---- */

int rt_dataset_stats(const rt_dataset *ds, const uint32_t *idx, size_t n, double *mean,
                     double *std, char *err, size_t errlen)
{
    if (!idx)
        n = ds->n;
    if (n == 0)
        return rt_fail(err, errlen, "dataset statistics: no examples");
    if (ds->C < 1 || ds->C > RT_DATA_MAX_CHANNELS)
        return rt_fail(err, errlen, "dataset statistics: %d channels, at most %d supported", ds->C,
                    RT_DATA_MAX_CHANNELS);
    /* A histogram of byte values per channel: exact, and one increment per pixel. */
    uint64_t hist[RT_DATA_MAX_CHANNELS][256];
    memset(hist, 0, sizeof hist);
    size_t plane = (size_t)ds->H * ds->W;
    for (size_t i = 0; i < n; i++) {
        size_t e = idx ? idx[i] : i;
        if (e >= ds->n)
            return rt_fail(err, errlen, "dataset statistics: index %zu out of range (%zu examples)",
                        e, ds->n);
        const uint8_t *img = ds->pixels + e * (size_t)ds->C * plane;
        for (int c = 0; c < ds->C; c++)
            for (size_t p = 0; p < plane; p++)
                hist[c][img[(size_t)c * plane + p]]++;
    }
    double count = (double)n * (double)plane;
    for (int c = 0; c < ds->C; c++) {
        double sum = 0;
        for (int v = 0; v < 256; v++)
            sum += (double)hist[c][v] * (v / 255.0);
        double m = sum / count;
        double ss = 0;
        for (int v = 0; v < 256; v++) {
            double dv = v / 255.0 - m;
            ss += (double)hist[c][v] * dv * dv;
        }
        mean[c] = m;
        std[c] = sqrt(ss / count);
    }
    return 0;
}

int rt_batch_xform_init(rt_batch_xform *x, const rt_dataset *ds, int H, int W,
                        const float *mean, const float *std, char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    if (ds->C < 1 || ds->C > RT_DATA_MAX_CHANNELS)
        return rt_fail(err, errlen, "batch: %d channels, at most %d supported", ds->C,
                    RT_DATA_MAX_CHANNELS);
    if (H == 0)
        H = ds->H;
    if (W == 0)
        W = ds->W;
    if (H < ds->H || W < ds->W)
        return rt_fail(err, errlen, "batch: images are %dx%d, larger than the model's %dx%d input",
                    ds->H, ds->W, H, W);
    if (!mean != !std)
        return rt_fail(err, errlen, "batch: normalisation needs both mean and std");
    x->C = ds->C;
    x->h = ds->H;
    x->w = ds->W;
    x->H = H;
    x->W = W;
    x->top = (H - ds->H) / 2;
    x->left = (W - ds->W) / 2;
    for (int c = 0; c < ds->C; c++) {
        if (std && !(std[c] > 0 && isfinite(std[c]) && isfinite(mean[c])))
            return rt_fail(err, errlen, "batch: channel %d: bad normalisation mean %g std %g", c,
                        (double)mean[c], (double)std[c]);
        for (int v = 0; v < 256; v++) {
            float f = (float)v / 255.0f;   /* as torchvision's ToTensor */
            x->lut[c][v] = std ? (f - mean[c]) / std[c] : f;
        }
    }
    return 0;
}

int rt_batch_fill(const rt_batch_xform *x, const rt_dataset *ds, const uint32_t *idx,
                  size_t b, float *out, int32_t *labels, char *err, size_t errlen)
{
    if (ds->C != x->C || ds->H != x->h || ds->W != x->w)
        return rt_fail(err, errlen, "batch: data set is %dx%dx%d, the transform was made for %dx%dx%d",
                    ds->C, ds->H, ds->W, x->C, x->h, x->w);
    for (size_t i = 0; i < b; i++)
        if (idx[i] >= ds->n)
            return rt_fail(err, errlen, "batch: index %u out of range (%zu examples)", idx[i], ds->n);
    size_t in_plane = (size_t)x->h * x->w;
    size_t out_plane = (size_t)x->H * x->W;
    int framed = x->H != x->h || x->W != x->w;
    for (size_t i = 0; i < b; i++) {
        const uint8_t *img = ds->pixels + (size_t)idx[i] * x->C * in_plane;
        float *o = out + i * x->C * out_plane;
        for (int c = 0; c < x->C; c++) {
            const float *lut = x->lut[c];
            const uint8_t *src = img + (size_t)c * in_plane;
            float *dst = o + (size_t)c * out_plane;
            if (framed)
                for (size_t p = 0; p < out_plane; p++)
                    dst[p] = lut[0];
            for (int r = 0; r < x->h; r++) {
                const uint8_t *s = src + (size_t)r * x->w;
                float *d = dst + (size_t)(r + x->top) * x->W + x->left;
                for (int col = 0; col < x->w; col++)
                    d[col] = lut[s[col]];
            }
        }
        if (labels)
            labels[i] = ds->labels[idx[i]];
    }
    return 0;
}

/* ---- splits and batches ---- */

void rt_split_free(rt_split *s)
{
    free(s->train);
    free(s->valid);
    memset(s, 0, sizeof *s);
}

size_t rt_split_nvalid(size_t n, rt_split_kind kind, double valid_frac)
{
    if (kind == RT_SPLIT_NONE || !(valid_frac >= 0 && valid_frac < 1))
        return 0;
    return (size_t)floor(valid_frac * (double)n + 0.5);
}

int rt_split_make(rt_split *s, size_t n, rt_split_kind kind, double valid_frac, rt_rng *rng,
                  char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (n > UINT32_MAX)
        return rt_fail(err, errlen, "split: %zu examples, at most %u supported", n, UINT32_MAX);
    if (kind == RT_SPLIT_NONE)
        valid_frac = 0;
    if (!(valid_frac >= 0 && valid_frac < 1))
        return rt_fail(err, errlen, "split: validation fraction %g is not in [0, 1)", valid_frac);
    if (kind != RT_SPLIT_NONE && kind != RT_SPLIT_TAIL && kind != RT_SPLIT_RANDOM)
        return rt_fail(err, errlen, "split: unknown kind %d", (int)kind);
    if (kind == RT_SPLIT_RANDOM && !rng)
        return rt_fail(err, errlen, "split: a random split needs an rng");
    size_t nvalid = rt_split_nvalid(n, kind, valid_frac);
    size_t ntrain = n - nvalid;
    if (ntrain == 0)
        return rt_fail(err, errlen, "split: no training examples left of %zu", n);
    s->train = malloc(ntrain * sizeof *s->train);
    s->valid = malloc((nvalid ? nvalid : 1) * sizeof *s->valid);
    uint8_t *is_valid = calloc(n, 1);
    uint32_t *perm = kind == RT_SPLIT_RANDOM ? malloc(n * sizeof *perm) : NULL;
    if (!s->train || !s->valid || !is_valid || (kind == RT_SPLIT_RANDOM && !perm)) {
        free(is_valid);
        free(perm);
        rt_split_free(s);
        return rt_fail(err, errlen, "split: out of memory for %zu examples", n);
    }
    if (kind == RT_SPLIT_RANDOM) {
        for (size_t i = 0; i < n; i++)
            perm[i] = (uint32_t)i;
        rt_rng_shuffle(rng, perm, n);
        for (size_t i = 0; i < nvalid; i++)
            is_valid[perm[i]] = 1;
    } else {
        for (size_t i = ntrain; i < n; i++)
            is_valid[i] = 1;
    }
    size_t t = 0, v = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_valid[i])
            s->valid[v++] = (uint32_t)i;
        else
            s->train[t++] = (uint32_t)i;
    }
    free(is_valid);
    free(perm);
    s->ntrain = ntrain;
    s->nvalid = nvalid;
    return 0;
}

void rt_batch_iter_init(rt_batch_iter *it, const uint32_t *idx, size_t n, size_t batch)
{
    it->idx = idx;
    it->n = n;
    it->batch = batch ? batch : 1;
    it->pos = 0;
}

size_t rt_batch_iter_next(rt_batch_iter *it, const uint32_t **bidx)
{
    if (it->pos >= it->n)
        return 0;
    size_t b = it->n - it->pos < it->batch ? it->n - it->pos : it->batch;
    *bidx = it->idx + it->pos;
    it->pos += b;
    return b;
}

size_t rt_batch_count(size_t n, size_t batch)
{
    return batch ? (n + batch - 1) / batch : 0;
}
