/* NumPy .npz: exact round trip of several shapes; the reader's errors on missing
 * arrays, wrong shapes, other dtypes, Fortran order, damaged zips and bad .npy headers
 * (made here with libzip directly); .npy versions 2.0 and deflated members.
 * With an argument it is the C half of tests/t_io_npz_numpy.sh:
 *   test_npz --write-sample PATH   writes the sample arrays for numpy to check
 *   test_npz --read-sample PATH    checks the arrays numpy wrote
 *   test_npz --load PATH NAME      reads array NAME (any shape): exit 0, or 1 and why */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include "netc_rt.h"

#include "check.h"
#include "scratch.h"

static char err[512];

/* A refusal whose message (in err) holds frag1 and frag2. */
#define expect_err(rc, what, frag1, frag2) expect_error(err, (rc), (what), (frag1), (frag2))

/* The sample arrays shared with the numpy test: exactly representable values, so both
 * sides can compute them. */
static float sample_value(int array, size_t i)
{
    return (float)((int)(i % 97) - 48) * 0.125f + (float)array;
}

#define NSAMPLE 4
static const char *sample_names[NSAMPLE] = {"conv1.weight", "conv1.bias", "fc.w", "scalar"};
static const int sample_ndim[NSAMPLE] = {4, 1, 2, 0};
static const size_t sample_shape[NSAMPLE][4] = {{6, 1, 5, 5}, {6}, {120, 84}, {0}};

static size_t count_of(int ndim, const size_t *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

static float *sample_data(int a)
{
    size_t n = count_of(sample_ndim[a], sample_shape[a]);
    float *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = sample_value(a, i);
    return d;
}

static int write_sample(const char *path)
{
    rt_npz_array arr[NSAMPLE];
    float *data[NSAMPLE];
    for (int a = 0; a < NSAMPLE; a++) {
        data[a] = sample_data(a);
        arr[a].name = sample_names[a];
        arr[a].data = data[a];
        arr[a].ndim = sample_ndim[a];
        memcpy(arr[a].shape, sample_shape[a], sizeof sample_shape[a]);
    }
    int rc = rt_npz_write(path, arr, NSAMPLE, err, sizeof err);
    for (int a = 0; a < NSAMPLE; a++)
        free(data[a]);
    if (rc)
        printf("%s\n", err);
    return rc;
}

/* Reads every sample array from path and compares it exactly. */
static int check_sample(const char *path)
{
    rt_npz z;
    if (rt_npz_open(&z, path, err, sizeof err)) {
        printf("%s\n", err);
        return 1;
    }
    int bad = 0;
    for (int a = 0; a < NSAMPLE; a++) {
        size_t n = count_of(sample_ndim[a], sample_shape[a]);
        float *want = sample_data(a);
        float *got = malloc((n ? n : 1) * sizeof *got);
        int ndim;
        size_t shape[RT_NPY_MAX_DIMS];
        if (rt_npz_shape(&z, sample_names[a], &ndim, shape, err, sizeof err) ||
            rt_npz_read_f32(&z, sample_names[a], got, sample_ndim[a], sample_shape[a], err,
                            sizeof err)) {
            printf("%s\n", err);
            bad++;
        } else if (ndim != sample_ndim[a] || memcmp(got, want, n * sizeof *got) != 0) {
            printf("%s: array '%s' differs\n", path, sample_names[a]);
            bad++;
        } else {
            printf("  ok: %s: %s, %d dims, %zu values equal\n", path, sample_names[a], ndim, n);
        }
        free(want);
        free(got);
    }
    rt_npz_close(&z);
    return bad != 0;
}

/* Reads what numpy wrote (see t_io_npz_numpy.sh): the sample arrays, both stored and
 * compressed, and the arrays netc must refuse. */
static int read_numpy_files(const char *dir)
{
    char path[1024];
    int bad = 0;
    snprintf(path, sizeof path, "%s/np_savez.npz", dir);
    bad += check_sample(path);
    snprintf(path, sizeof path, "%s/np_compressed.npz", dir);
    bad += check_sample(path);
    snprintf(path, sizeof path, "%s/np_bad.npz", dir);
    rt_npz z;
    if (rt_npz_open(&z, path, err, sizeof err)) {
        printf("%s\n", err);
        return 1;
    }
    float buf[12];
    size_t shape34[2] = {3, 4};
    struct {
        const char *name, *frag;
    } refuse[] = {
        {"f64", "has dtype '<f8', expected '<f4' (float32)"},
        {"fortran", "is in Fortran order"},
        {"i32", "has dtype '<i4'"},
        {"big", "has dtype '>f4'"},
    };
    for (size_t i = 0; i < sizeof refuse / sizeof refuse[0]; i++) {
        int rc = rt_npz_read_f32(&z, refuse[i].name, buf, 2, shape34, err, sizeof err);
        if (rc == 0 || !strstr(err, refuse[i].frag)) {
            printf("numpy's '%s': expected an error with '%s', got rc %d '%s'\n", refuse[i].name,
                   refuse[i].frag, rc, err);
            bad++;
        } else {
            printf("  ok: refused numpy's %s -> %s\n", refuse[i].name, err);
        }
    }
    rt_npz_close(&z);
    return bad != 0;
}

/* Writes a zip with one member NAME holding the given bytes (deflated if asked). */
static void raw_zip(const char *path, const char *member, const void *bytes, size_t n,
                    int deflate)
{
    int code;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    void *copy = malloc(n);
    memcpy(copy, bytes, n);
    zip_source_t *src = zip_source_buffer(za, copy, n, 1);
    zip_int64_t idx = zip_file_add(za, member, src, 0);
    zip_set_file_compression(za, (zip_uint64_t)idx, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    if (zip_close(za) != 0) {
        printf("cannot write %s\n", path);
        exit(2);
    }
}

/* A .npy of the given header dict (format major.0) and n float32 values 0, 1, 2... */
static size_t make_npy(uint8_t *out, int major, const char *dict, size_t n)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t hlen = strlen(dict) + 1;
    hlen += (64 - (pre + hlen) % 64) % 64;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    out[8] = (uint8_t)hlen;
    out[9] = (uint8_t)(hlen >> 8);
    if (major > 1)
        out[10] = out[11] = 0;
    memset(out + pre, ' ', hlen);
    memcpy(out + pre, dict, strlen(dict));
    out[pre + hlen - 1] = '\n';
    for (size_t i = 0; i < n; i++) {
        float v = (float)i;
        memcpy(out + pre + hlen + 4 * i, &v, 4);
    }
    return pre + hlen + 4 * n;
}

static void test_round_trip(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", scratch_path("sample.npz"));
    CHECK(write_sample(path) == 0, "write");
    CHECK(check_sample(path) == 0, "read back");
    /* Writing again replaces the archive. */
    CHECK(write_sample(path) == 0, "rewrite");
    CHECK(check_sample(path) == 0, "read back after rewrite");

    float big[1000], back[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = sinf((float)i) * 1e3f;
    big[3] = -0.0f;
    big[4] = INFINITY;
    big[5] = NAN;
    big[6] = 1e-42f;   /* subnormal */
    rt_npz_array arr[2] = {
        {.name = "big", .data = big, .ndim = 3, .shape = {10, 10, 10}},
        {.name = "empty", .data = NULL, .ndim = 2, .shape = {0, 5}},
    };
    CHECK(rt_npz_write(path, arr, 2, err, sizeof err) == 0, "%s", err);
    rt_npz z;
    CHECK(rt_npz_open(&z, path, err, sizeof err) == 0, "%s", err);
    CHECK(rt_npz_read_f32(&z, "big", back, 3, arr[0].shape, err, sizeof err) == 0, "%s", err);
    CHECK(memcmp(big, back, sizeof big) == 0, "bitwise round trip differs");
    CHECK(rt_npz_read_f32(&z, "empty", back, 2, arr[1].shape, err, sizeof err) == 0, "%s", err);
    CHECK(rt_npz_read_f32(&z, "big.npy", back, 3, arr[0].shape, err, sizeof err) == 0,
          "member name: %s", err);
    printf("  ok: bitwise round trip incl. -0, inf, nan, subnormal; empty (0, 5) array\n");

    /* Reader errors. */
    float sentinel[1000];
    for (int i = 0; i < 1000; i++)
        sentinel[i] = back[i] = 7;
    size_t wrong[3] = {10, 100, 1};
    expect_err(rt_npz_read_f32(&z, "big", back, 3, wrong, err, sizeof err), "wrong shape",
               "array 'big' has shape (10, 10, 10), expected (10, 100, 1)", NULL);
    size_t flat[1] = {1000};
    expect_err(rt_npz_read_f32(&z, "big", back, 1, flat, err, sizeof err), "wrong rank",
               "expected (1000,)", NULL);
    expect_err(rt_npz_read_f32(&z, "w9", back, 1, flat, err, sizeof err), "missing array",
               "no array 'w9' (the archive has: big, empty)", NULL);
    CHECK(memcmp(back, sentinel, sizeof back) == 0, "a failed read wrote into the buffer");
    rt_npz_close(&z);

    char missing[1024];
    snprintf(missing, sizeof missing, "%s", scratch_path("missing.npz"));
    expect_err(rt_npz_open(&z, missing, err, sizeof err), "missing file", "missing.npz: cannot open",
               "No such file");
    rt_npz_array dup[2] = {{.name = "a", .data = big, .ndim = 1, .shape = {2}},
                           {.name = "a", .data = big, .ndim = 1, .shape = {2}}};
    expect_err(rt_npz_write(path, dup, 2, err, sizeof err), "duplicate names", "array 'a' given twice",
               NULL);
    expect_err(rt_npz_write(path, dup, 0, err, sizeof err), "no arrays", "no arrays to write", NULL);
    snprintf(missing, sizeof missing, "%s", scratch_path("no/such/dir/x.npz"));
    expect_err(rt_npz_write(missing, dup, 1, err, sizeof err), "missing directory", "x.npz", NULL);
}

static void test_damage(void)
{
    char path[1024], bad[1024];
    snprintf(path, sizeof path, "%s", scratch_path("good.npz"));
    snprintf(bad, sizeof bad, "%s", scratch_path("bad.npz"));
    float data[256];
    for (int i = 0; i < 256; i++)
        data[i] = (float)i;
    rt_npz_array arr = {.name = "w", .data = data, .ndim = 2, .shape = {16, 16}};
    CHECK(rt_npz_write(path, &arr, 1, err, sizeof err) == 0, "%s", err);
    FILE *f = fopen(path, "rb");
    uint8_t bytes[4096];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    float back[256];

    f = fopen(bad, "wb");
    fputs("this is not a zip file\n", f);
    fclose(f);
    rt_npz z;
    expect_err(rt_npz_open(&z, bad, err, sizeof err), "not a zip", "bad.npz: cannot open",
               "Not a zip archive");

    /* Truncated at many lengths: each must fail, at open or at read. */
    int all_fail = 1;
    for (size_t len = 0; len < n; len += 7) {
        f = fopen(bad, "wb");
        fwrite(bytes, 1, len, f);
        fclose(f);
        int rc = rt_npz_open(&z, bad, err, sizeof err);
        if (rc == 0) {
            rc = rt_npz_read_f32(&z, "w", back, 2, arr.shape, err, sizeof err);
            rt_npz_close(&z);
        }
        all_fail &= rc != 0;
    }
    CHECK(all_fail, "a truncated .npz read successfully");
    printf("  ok: truncated .npz fails at every 7th length (e.g. %s)\n", err);

    /* A flipped bit in the array data: the member's CRC catches it. */
    size_t data_at = 0;
    for (size_t i = 0; i + 4 <= n; i++) {
        float v;
        memcpy(&v, bytes + i, 4);
        if (v == 100.0f) {
            data_at = i;
            break;
        }
    }
    CHECK(data_at > 0, "cannot find the data");
    bytes[data_at + 1] ^= 0x10;
    f = fopen(bad, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    for (int i = 0; i < 256; i++)
        back[i] = -1;
    int rc = rt_npz_open(&z, bad, err, sizeof err);
    if (rc == 0) {
        rc = rt_npz_read_f32(&z, "w", back, 2, arr.shape, err, sizeof err);
        rt_npz_close(&z);
    }
    expect_err(rc, "bit flip in the data", "bad.npz: ", "CRC");
    CHECK(back[0] == -1 && back[255] == -1, "a corrupt array was copied out");

    /* Hand-made .npy headers. */
    uint8_t npy[2048];
    size_t shape[2] = {3, 4};
    size_t len = make_npy(npy, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", 0);
    raw_zip(bad, "x.npy", npy, len, 0);
    CHECK(rt_npz_open(&z, bad, err, sizeof err) == 0, "%s", err);
    expect_err(rt_npz_read_f32(&z, "x", back, 2, shape, err, sizeof err), "float64",
               "array 'x' has dtype '<f8', expected '<f4' (float32)", NULL);
    rt_npz_close(&z);

    len = make_npy(npy, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", 12);
    raw_zip(bad, "x.npy", npy, len, 0);
    CHECK(rt_npz_open(&z, bad, err, sizeof err) == 0, "%s", err);
    expect_err(rt_npz_read_f32(&z, "x", back, 2, shape, err, sizeof err), "Fortran order",
               "array 'x' is in Fortran order", NULL);
    rt_npz_close(&z);

    len = make_npy(npy, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 11);
    raw_zip(bad, "x.npy", npy, len, 0);
    CHECK(rt_npz_open(&z, bad, err, sizeof err) == 0, "%s", err);
    expect_err(rt_npz_read_f32(&z, "x", back, 2, shape, err, sizeof err), "short data",
               "holds 44 data bytes, shape (3, 4) needs 48", NULL);
    rt_npz_close(&z);

    len = make_npy(npy, 1, "{'descr': '<f4', 'shape': (3, 4), }", 12);
    raw_zip(bad, "x.npy", npy, len, 0);
    CHECK(rt_npz_open(&z, bad, err, sizeof err) == 0, "%s", err);
    expect_err(rt_npz_read_f32(&z, "x", back, 2, shape, err, sizeof err), "no fortran_order key",
               "cannot parse the header", NULL);
    rt_npz_close(&z);

    raw_zip(bad, "x.npy", "PK not numpy at all", 19, 0);
    CHECK(rt_npz_open(&z, bad, err, sizeof err) == 0, "%s", err);
    expect_err(rt_npz_read_f32(&z, "x", back, 2, shape, err, sizeof err), "bad magic",
               "x.npy: not a .npy file", NULL);
    rt_npz_close(&z);

    /* Accepted variants: format 2.0, double quotes, keys reordered, deflated. */
    len = make_npy(npy, 2, "{\"shape\": (3, 4), \"fortran_order\": False, \"descr\": \"<f4\"}", 12);
    raw_zip(bad, "x.npy", npy, len, 1);
    CHECK(rt_npz_open(&z, bad, err, sizeof err) == 0, "%s", err);
    rc = rt_npz_read_f32(&z, "x", back, 2, shape, err, sizeof err);
    CHECK(rc == 0 && back[11] == 11.0f, "format 2.0, deflated: %s", err);
    rt_npz_close(&z);
    printf("  ok: .npy format 2.0, double quotes, reordered keys, deflated member\n");
}

/* Reads array `name` of any shape, as t_io_npz_numpy.sh asks of each made header. */
static int load_one(const char *path, const char *name)
{
    rt_npz z;
    char err[512];
    int ndim;
    size_t shape[RT_NPY_MAX_DIMS], count = 1;
    int rc = rt_npz_open(&z, path, err, sizeof err);
    if (rc == 0)
        rc = rt_npz_shape(&z, name, &ndim, shape, err, sizeof err);
    for (int i = 0; rc == 0 && i < ndim; i++)
        count *= shape[i];
    float *data = rc == 0 ? malloc((count ? count : 1) * sizeof *data) : NULL;
    if (rc == 0)
        rc = data ? rt_npz_read_f32(&z, name, data, ndim, shape, err, sizeof err) : -1;
    rt_npz_close(&z);
    free(data);
    if (rc)
        fprintf(stderr, "%s\n", err);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-sample") == 0)
        return write_sample(argv[2]) ? 1 : 0;
    if (argc == 3 && strcmp(argv[1], "--read-sample") == 0)
        return read_numpy_files(argv[2]);
    if (argc == 4 && strcmp(argv[1], "--load") == 0)
        return load_one(argv[2], argv[3]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--write-sample PATH | --read-sample DIR]\n", argv[0]);
        return 2;
    }
    scratch_open("netc_test_npz");
    test_round_trip();
    test_damage();
    scratch_close();
    printf("test_npz: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
