/* Data sets: IDX and CIFAR-10 readers on small files made here, their error messages,
 * data directories, statistics, float batches with normalisation and padding, splits
 * and batch iteration; then the real Fashion-MNIST files when they are installed. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "netc_rt.h"

#include "check.h"
#include "scratch.h"

static char err[512];

static void write_file(const char *path, const void *data, size_t n, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g || (n && gzwrite(g, data, (unsigned)n) != (int)n) || gzclose(g) != Z_OK) {
            printf("cannot write %s\n", path);
            exit(2);
        }
    } else {
        write_whole(path, data, n);
    }
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint8_t pixel(size_t i, size_t p)
{
    return (uint8_t)((i * 31 + p * 7) % 256);
}

/* An IDX image file's bytes: n images of h x w, with `extra` trailing bytes. */
static uint8_t *idx_images(uint32_t n, uint32_t h, uint32_t w, size_t extra, size_t *len)
{
    *len = 16 + (size_t)n * h * w + extra;
    uint8_t *b = calloc(*len, 1);
    put_be32(b, 0x803);
    put_be32(b + 4, n);
    put_be32(b + 8, h);
    put_be32(b + 12, w);
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < (size_t)h * w; p++)
            b[16 + i * h * w + p] = pixel(i, p);
    return b;
}

static uint8_t *idx_labels(uint32_t n, size_t *len)
{
    *len = 8 + n;
    uint8_t *b = calloc(*len, 1);
    put_be32(b, 0x801);
    put_be32(b + 4, n);
    for (size_t i = 0; i < n; i++)
        b[8 + i] = (uint8_t)(i % 10);
    return b;
}

/* Expects failure with every given fragment in the message. */
/* A refusal whose message (in err) holds frag1 and frag2. */
#define expect_err(rc, what, frag1, frag2) expect_error(err, (rc), (what), (frag1), (frag2))

static void test_idx(void)
{
    size_t li, ll;
    uint8_t *img = idx_images(50, 28, 28, 0, &li);
    uint8_t *lab = idx_labels(50, &ll);
    write_file(scratch_path("img"), img, li, 0);
    write_file(scratch_path("img.gz"), img, li, 1);
    write_file(scratch_path("lab"), lab, ll, 0);
    write_file(scratch_path("lab.gz"), lab, ll, 1);

    for (int gz = 0; gz < 2; gz++) {
        rt_dataset ds;
        int rc = rt_idx_load(&ds, scratch_path(gz ? "img.gz" : "img"), scratch_path(gz ? "lab.gz" : "lab"), 1,
                             28, 28, 10, err, sizeof err);
        CHECK(rc == 0, "load (gz=%d): %s", gz, err);
        if (rc)
            continue;
        CHECK(ds.n == 50 && ds.C == 1 && ds.H == 28 && ds.W == 28 && ds.num_classes == 10,
              "shape n=%zu %dx%dx%d", ds.n, ds.C, ds.H, ds.W);
        CHECK(memcmp(ds.pixels, img + 16, 50 * 784) == 0, "pixels differ (gz=%d)", gz);
        int labels_ok = 1;
        for (int i = 0; i < 50; i++)
            labels_ok &= ds.labels[i] == i % 10;
        CHECK(labels_ok, "labels differ (gz=%d)", gz);
        rt_dataset_free(&ds);
    }
    printf("  ok: IDX plain and gzipped round trip (50 images 28x28)\n");

    rt_dataset ds;
    /* Any shape accepted with 0s. */
    CHECK(rt_idx_load(&ds, scratch_path("img"), scratch_path("lab"), 0, 0, 0, 0, err, sizeof err) == 0, "%s",
          err);
    rt_dataset_free(&ds);

    expect_err(rt_idx_load(&ds, scratch_path("nope.gz"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err),
               "missing file", "nope.gz: cannot open", "No such file");
    expect_err(rt_idx_load(&ds, scratch_path("lab"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err),
               "labels as images", "not an IDX image file: magic 0x00000801", NULL);
    expect_err(rt_idx_load(&ds, scratch_path("img"), scratch_path("img"), 1, 28, 28, 10, err, sizeof err),
               "images as labels", "not an IDX label file", NULL);
    expect_err(rt_idx_load(&ds, scratch_path("img.gz"), scratch_path("lab"), 1, 32, 32, 10, err, sizeof err),
               "wrong image size", "images are 28x28, the model expects 32x32", NULL);
    expect_err(rt_idx_load(&ds, scratch_path("img.gz"), scratch_path("lab"), 3, 28, 28, 10, err, sizeof err),
               "wrong channels", "1 channel, the model expects 3", NULL);
    expect_err(rt_idx_load(&ds, scratch_path("img.gz"), scratch_path("lab"), 1, 28, 28, 5, err, sizeof err),
               "label out of range", "label 5 of example 5 is out of range", "5 classes");

    write_file(scratch_path("empty"), "", 0, 0);
    expect_err(rt_idx_load(&ds, scratch_path("empty"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err),
               "empty file", "empty file", NULL);
    write_file(scratch_path("short_hdr"), img, 10, 0);
    expect_err(rt_idx_load(&ds, scratch_path("short_hdr"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err),
               "short header", "truncated", NULL);

    /* Truncated plain and gzipped bodies. */
    write_file(scratch_path("trunc"), img, 16 + 1200, 0);
    expect_err(rt_idx_load(&ds, scratch_path("trunc"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err),
               "truncated pixels", "truncated: expected 39200 bytes of pixels", "got 1200");
    write_file(scratch_path("trunc.gz"), img, 16 + 1200, 1);
    expect_err(rt_idx_load(&ds, scratch_path("trunc.gz"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err),
               "truncated pixels (gz)", "got 1200", NULL);
    size_t gzlen;
    uint8_t *gzbytes = read_whole(scratch_path("img.gz"), &gzlen);
    write_file(scratch_path("cut.gz"), gzbytes, gzlen / 2, 0);
    expect_err(rt_idx_load(&ds, scratch_path("cut.gz"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err),
               "gzip stream cut in half", "cut.gz: truncated", NULL);
    memcpy(gzbytes + gzlen / 2, "garbage!garbage!", 16);
    write_file(scratch_path("bad.gz"), gzbytes, gzlen, 0);
    int rc = rt_idx_load(&ds, scratch_path("bad.gz"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err);
    expect_err(rc, "corrupt gzip stream", "bad.gz: ", NULL);
    free(gzbytes);

    size_t lt;
    uint8_t *img_tail = idx_images(50, 28, 28, 3, &lt);
    write_file(scratch_path("tail.gz"), img_tail, lt, 1);
    expect_err(rt_idx_load(&ds, scratch_path("tail.gz"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err),
               "trailing garbage", "trailing garbage after 39200 bytes of pixels", NULL);
    free(img_tail);

    size_t l40;
    uint8_t *lab40 = idx_labels(40, &l40);
    write_file(scratch_path("lab40"), lab40, l40, 0);
    expect_err(rt_idx_load(&ds, scratch_path("img"), scratch_path("lab40"), 1, 28, 28, 10, err, sizeof err),
               "count mismatch", "has 50 images but", "has 40 labels");
    free(lab40);

    /* A header announcing far more than is there: "truncated", not an allocation failure. */
    uint8_t huge[16 + 100];
    memcpy(huge, img, sizeof huge);
    put_be32(huge + 4, 4000000000u);
    write_file(scratch_path("huge"), huge, sizeof huge, 0);
    expect_err(rt_idx_load(&ds, scratch_path("huge"), scratch_path("lab"), 1, 28, 28, 10, err, sizeof err),
               "huge header count", "truncated: expected 3136000000000 bytes", "got 100");
    CHECK(ds.pixels == NULL && ds.labels == NULL && ds.n == 0, "failed load left data behind");
    free(img);
    free(lab);
}

/* gzip containers (issue 10, defect 5): the CRC-32 and length trailer is
 * required (a file cut 1..8 bytes before its end is truncated), bytes after the last
 * member are trailing garbage as after a raw file, concatenated members are one
 * stream, as zlib reads them; for IDX and CIFAR-10 alike, from a file and from memory. */
static void test_gzip_container(void)
{
    size_t li, ll;
    uint8_t *img = idx_images(20, 28, 28, 0, &li);
    uint8_t *lab = idx_labels(20, &ll);
    write_file(scratch_path("g_img.gz"), img, li, 1);
    write_file(scratch_path("g_lab"), lab, ll, 0);
    size_t gl;
    uint8_t *gz = read_whole(scratch_path("g_img.gz"), &gl);
    rt_dataset ds;
    int cuts_refused = 0;
    for (size_t cut = 1; cut <= 8; cut++) {
        write_file(scratch_path("g_cut.gz"), gz, gl - cut, 0);
        int rc = rt_idx_load(&ds, scratch_path("g_cut.gz"), scratch_path("g_lab"), 1, 28, 28, 10, err, sizeof err);
        CHECK(rc != 0 && strstr(err, "truncated"), "IDX .gz cut %zu bytes before its end: rc %d, '%s'", cut, rc,
              rc ? err : "loaded");
        cuts_refused += rc != 0;
        if (rc == 0)
            rt_dataset_free(&ds);
    }
    printf("  ok: IDX .gz cut 1..8 bytes into its trailer: %d of 8 refused as truncated (last: %s)\n", cuts_refused,
           err);
    uint8_t *more = malloc(gl + 7);
    memcpy(more, gz, gl);
    memcpy(more + gl, "garbage", 7);
    write_file(scratch_path("g_more.gz"), more, gl + 7, 0);
    expect_err(rt_idx_load(&ds, scratch_path("g_more.gz"), scratch_path("g_lab"), 1, 28, 28, 10, err, sizeof err),
               "IDX .gz with bytes after the member", "g_more.gz: trailing garbage after the gzip stream", NULL);
    memcpy(more + gl, "\0\0\0\0\0\0\0", 7);
    write_file(scratch_path("g_zeros.gz"), more, gl + 7, 0);
    expect_err(rt_idx_load(&ds, scratch_path("g_zeros.gz"), scratch_path("g_lab"), 1, 28, 28, 10, err, sizeof err),
               "IDX .gz with zero bytes after the member", "trailing garbage after the gzip stream", NULL);
    /* Two members: the first half of the file, then the rest. */
    write_file(scratch_path("g_half1.gz"), img, li / 2, 1);
    write_file(scratch_path("g_half2.gz"), img + li / 2, li - li / 2, 1);
    size_t l1, l2;
    uint8_t *h1 = read_whole(scratch_path("g_half1.gz"), &l1), *h2 = read_whole(scratch_path("g_half2.gz"), &l2);
    uint8_t *two = malloc(l1 + l2);
    memcpy(two, h1, l1);
    memcpy(two + l1, h2, l2);
    write_file(scratch_path("g_two.gz"), two, l1 + l2, 0);
    int rc = rt_idx_load(&ds, scratch_path("g_two.gz"), scratch_path("g_lab"), 1, 28, 28, 10, err, sizeof err);
    CHECK(rc == 0 && ds.n == 20 && memcmp(ds.pixels, img + 16, 20 * 784) == 0, "two gzip members: %s",
          rc ? err : "pixels differ");
    if (rc == 0)
        rt_dataset_free(&ds);
    /* From memory: the same verdicts. */
    uint8_t *px;
    size_t n;
    int h, w;
    rc = rt_idx_read_images_mem("mem.gz", two, l1 + l2, &px, &n, &h, &w, err, sizeof err);
    CHECK(rc == 0 && n == 20 && h == 28 && w == 28, "two members from memory: %s", err);
    if (rc == 0)
        free(px);
    expect_err(rt_idx_read_images_mem("mem.gz", gz, gl - 4, &px, &n, &h, &w, err, sizeof err),
               "IDX .gz from memory, cut in its trailer", "mem.gz: truncated", NULL);
    expect_err(rt_idx_read_images_mem("empty", "", 0, &px, &n, &h, &w, err, sizeof err), "empty from memory",
               "empty: empty file", NULL);
    printf("  ok: two concatenated gzip members read as one stream, from a file and from memory\n");
    free(h1);
    free(h2);
    free(two);
    free(more);
    free(gz);

    /* CIFAR-10: a batch of 2 records, gzipped, cut in its trailer and followed by garbage. */
    size_t clen = 2 * 3073;
    uint8_t *rec = calloc(clen, 1);
    write_file(scratch_path("c.bin.gz"), rec, clen, 1);
    uint8_t *cgz = read_whole(scratch_path("c.bin.gz"), &gl);
    expect_err(rt_cifar10_read_mem(&ds, "c.bin.gz", cgz, gl - 3, err, sizeof err), "CIFAR .gz cut in its trailer",
               "c.bin.gz: truncated", NULL);
    uint8_t *cmore = malloc(gl + 1);
    memcpy(cmore, cgz, gl);
    cmore[gl] = 'x';
    write_file(scratch_path("c_more.bin.gz"), cmore, gl + 1, 0);
    const char *paths[1] = { scratch_path("c_more.bin.gz") };
    expect_err(rt_cifar10_load(&ds, paths, 1, 3, 32, 32, 10, err, sizeof err), "CIFAR .gz with a byte after it",
               "trailing garbage after the gzip stream", NULL);
    rc = rt_cifar10_read_mem(&ds, "c.bin.gz", cgz, gl, err, sizeof err);
    CHECK(rc == 0 && ds.n == 2, "CIFAR .gz from memory: %s", err);
    if (rc == 0)
        rt_dataset_free(&ds);
    free(cmore);
    free(cgz);
    free(rec);
    free(img);
    free(lab);
}

/* A header announcing 3 million images over 130 MB of (well compressing) zeros: the
 * reader refuses it as truncated with its buffer grown only as the data arrived, within
 * 230 MB more address space -- doubling would have asked for 256 MB (issue 10, defect
 * 9).  In a child under RLIMIT_AS; not under ASan, which reserves terabytes. */
static void test_gzip_memory_bound(void)
{
#ifdef __SANITIZE_ADDRESS__
    printf("  skip: memory bound of a lying IDX header (not under ASan)\n");
#else
    const size_t zeros = (size_t)130 << 20;
    uint8_t *b = calloc(16 + zeros, 1);
    put_be32(b, 0x803);
    put_be32(b + 4, 3000000);
    put_be32(b + 8, 28);
    put_be32(b + 12, 28);
    write_file(scratch_path("liar.gz"), b, 16 + zeros, 1);
    free(b);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld", &pages) != 1)
            _exit(2);
        fclose(f);
        struct rlimit lim = { .rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)230 << 20) };
        lim.rlim_max = lim.rlim_cur;
        if (setrlimit(RLIMIT_AS, &lim) != 0)
            _exit(2);
        uint8_t *px = NULL;
        size_t n;
        int h, w;
        int rc = rt_idx_read_images(scratch_path("liar.gz"), 28, 28, &px, &n, &h, &w, err, sizeof err);
        printf("  %s: a header announcing 3000000 images over 130 MB, within 230 MB -> %s\n",
               rc != 0 && strstr(err, "truncated") ? "ok" : "FAIL", rc ? err : "loaded");
        fflush(stdout);
        _exit(rc != 0 && strstr(err, "truncated") ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "lying IDX header: the reader overshot its memory (status %d)",
          status);
#endif
}

static void make_idx_dir(const char *dir, int n_train, int n_test, int gz)
{
    mkdir(dir, 0755);
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int k = 0; k < 4; k++) {
        size_t len;
        int n = k < 2 ? n_train : n_test;
        uint8_t *b = k % 2 == 0 ? idx_images((uint32_t)n, 28, 28, 0, &len)
                                : idx_labels((uint32_t)n, &len);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s%s", dir, names[k], gz ? ".gz" : "");
        write_file(path, b, len, gz);
        free(b);
    }
}

static void test_idx_dir(void)
{
    char dir[1024], dir2[1024];
    snprintf(dir, sizeof dir, "%s", scratch_path("mnist"));
    make_idx_dir(dir, 30, 20, 1);
    rt_data d;
    int rc = rt_data_load(&d, dir, RT_DATA_FASHION_MNIST, 1, 28, 28, 10, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(d.train.n == 30 && d.test.n == 20, "n %zu %zu", d.train.n, d.test.n);
        CHECK(strcmp(d.class_names[0], "T-shirt/top") == 0 &&
                  strcmp(d.class_names[9], "Ankle boot") == 0,
              "fashion names %s %s", d.class_names[0], d.class_names[9]);
        rt_data_free(&d);
    }
    rc = rt_data_load(&d, dir, RT_DATA_MNIST, 0, 0, 0, 0, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(d.num_classes == 10 && strcmp(d.class_names[3], "3") == 0, "mnist names");
        rt_data_free(&d);
    }
    printf("  ok: IDX directory, Fashion-MNIST and MNIST class names\n");

    /* Plain files are found too; a missing one is named. */
    snprintf(dir2, sizeof dir2, "%s", scratch_path("mnist_plain"));
    make_idx_dir(dir2, 30, 20, 0);
    rc = rt_data_load(&d, dir2, RT_DATA_MNIST, 1, 28, 28, 10, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    rt_data_free(&d);
    unlink(scratch_path("mnist_plain/t10k-labels-idx1-ubyte"));
    expect_err(rt_data_load(&d, dir2, RT_DATA_MNIST, 1, 28, 28, 10, err, sizeof err),
               "missing test labels", "no t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz",
               "mnist_plain");
    CHECK(d.class_names == NULL && d.train.pixels == NULL, "failed load left data behind");
    /* Only the part asked for is read: the training files without the test labels. */
    rc = rt_data_load_parts(&d, dir2, RT_DATA_MNIST, RT_DATA_TRAIN, 1, 28, 28, 10, err, sizeof err);
    CHECK(rc == 0 && d.train.n == 30 && d.test.n == 0 && rt_data_images(&d) == &d.train, "train part: %s", err);
    rt_data_free(&d);
    printf("  ok: the training part alone needs no test files\n");

    rt_data_format f;
    CHECK(rt_data_format_parse("fashion-mnist", &f) == 0 && f == RT_DATA_FASHION_MNIST, "parse");
    CHECK(rt_data_format_parse("cifar10", &f) == 0 && f == RT_DATA_CIFAR10, "parse");
    CHECK(rt_data_format_parse("imagenet", &f) != 0, "parse unknown");
    CHECK(strcmp(rt_data_format_name(RT_DATA_MNIST), "mnist") == 0, "name");
}

static void write_cifar(const char *path, int records, int first, int bad_label, size_t cut)
{
    size_t len = (size_t)records * 3073;
    uint8_t *b = malloc(len);
    for (int r = 0; r < records; r++) {
        int id = first + r;
        b[(size_t)r * 3073] = (uint8_t)(id % 10);
        for (int p = 0; p < 3072; p++)
            b[(size_t)r * 3073 + 1 + p] = pixel((size_t)id, (size_t)p);
    }
    if (bad_label >= 0)
        b[0] = (uint8_t)bad_label;
    write_file(path, b, len - cut, 0);
    free(b);
}

static void test_cifar(void)
{
    char top[1024], dir[1024];
    snprintf(top, sizeof top, "%s", scratch_path("cifar"));
    snprintf(dir, sizeof dir, "%s", scratch_path("cifar/cifar-10-batches-bin"));
    mkdir(top, 0755);
    mkdir(dir, 0755);
    for (int i = 1; i <= 5; i++)
        write_cifar(scratch_path("cifar/cifar-10-batches-bin/data_batch_%d.bin", i), 3, (i - 1) * 3, -1, 0);
    write_cifar(scratch_path("cifar/cifar-10-batches-bin/test_batch.bin"), 4, 100, -1, 0);
    rt_data d;
    int rc = rt_data_load(&d, top, RT_DATA_CIFAR10, 3, 32, 32, 10, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(d.train.n == 15 && d.test.n == 4 && d.train.C == 3 && d.train.H == 32, "shape");
        int ok = 1;
        for (size_t i = 0; i < 15; i++) {
            ok &= d.train.labels[i] == (int)(i % 10);
            for (int p = 0; p < 3072; p++)
                ok &= d.train.pixels[i * 3072 + (size_t)p] == pixel(i, (size_t)p);
        }
        CHECK(ok, "CIFAR pixels/labels differ");
        CHECK(d.test.labels[0] == 0 && d.test.pixels[5] == pixel(100, 5), "test batch");
        CHECK(strcmp(d.class_names[1], "automobile") == 0, "default names: %s", d.class_names[1]);
        rt_data_free(&d);
    }
    const char *meta = "zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n\n";
    write_file(scratch_path("cifar/cifar-10-batches-bin/batches.meta.txt"), meta, strlen(meta), 0);
    rc = rt_data_load(&d, dir, RT_DATA_CIFAR10, 0, 0, 0, 0, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(strcmp(d.class_names[9], "nine") == 0, "meta names: %s", d.class_names[9]);
        rt_data_free(&d);
    }
    printf("  ok: CIFAR-10 batches (in DIR and DIR/cifar-10-batches-bin), batches.meta.txt\n");
    /* The test part alone needs no training batch (in the subdirectory, too). */
    unlink(scratch_path("cifar/cifar-10-batches-bin/data_batch_1.bin"));
    rc = rt_data_load_parts(&d, dir, RT_DATA_CIFAR10, RT_DATA_TEST, 3, 32, 32, 10, err, sizeof err);
    CHECK(rc == 0 && d.train.n == 0 && d.test.n == 4 && rt_data_images(&d) == &d.test, "test part: %s", err);
    rt_data_free(&d);
    expect_err(rt_data_load_parts(&d, dir, RT_DATA_CIFAR10, RT_DATA_TRAIN, 3, 32, 32, 10, err, sizeof err),
               "training part without data_batch_1", "no data_batch_1.bin", "cifar");
    write_cifar(scratch_path("cifar/cifar-10-batches-bin/data_batch_1.bin"), 3, 0, -1, 0);
    printf("  ok: CIFAR-10 test part without the training batches\n");

    write_file(scratch_path("cifar/cifar-10-batches-bin/batches.meta.txt"), "a\nb\n", 4, 0);
    expect_err(rt_data_load(&d, dir, RT_DATA_CIFAR10, 0, 0, 0, 0, err, sizeof err),
               "short meta", "batches.meta.txt: 2 class names, the data set has 10", NULL);
    unlink(scratch_path("cifar/cifar-10-batches-bin/batches.meta.txt"));

    expect_err(rt_data_load(&d, dir, RT_DATA_CIFAR10, 1, 28, 28, 10, err, sizeof err),
               "CIFAR wrong shape", "CIFAR-10 images are 3x32x32, the model expects 1x28x28", NULL);
    write_cifar(scratch_path("cifar/cifar-10-batches-bin/data_batch_3.bin"), 3, 6, -1, 100);
    expect_err(rt_data_load(&d, dir, RT_DATA_CIFAR10, 3, 32, 32, 10, err, sizeof err),
               "CIFAR truncated", "data_batch_3.bin: truncated: 9119 bytes is not a whole number",
               NULL);
    write_cifar(scratch_path("cifar/cifar-10-batches-bin/data_batch_3.bin"), 3, 6, 12, 0);
    expect_err(rt_data_load(&d, dir, RT_DATA_CIFAR10, 3, 32, 32, 10, err, sizeof err),
               "CIFAR bad label", "data_batch_3.bin: label 12 of record 0 is out of range", NULL);
    unlink(scratch_path("cifar/cifar-10-batches-bin/data_batch_3.bin"));
    expect_err(rt_data_load(&d, dir, RT_DATA_CIFAR10, 3, 32, 32, 10, err, sizeof err),
               "CIFAR missing batch", "no data_batch_3.bin", NULL);
    expect_err(rt_data_load(&d, scratch_path("mnist"), RT_DATA_CIFAR10, 3, 32, 32, 10, err, sizeof err),
               "CIFAR missing dir", "no data_batch_1.bin", NULL);
}

/* A small data set built in memory: n images C x h x w. */
static rt_dataset make_ds(size_t n, int C, int h, int w)
{
    rt_dataset ds = {.n = n, .C = C, .H = h, .W = w, .num_classes = 10};
    size_t sz = (size_t)C * h * w;
    ds.pixels = malloc(n * sz);
    ds.labels = malloc(n * sizeof *ds.labels);
    for (size_t i = 0; i < n; i++) {
        ds.labels[i] = (int32_t)(i % 10);
        for (size_t p = 0; p < sz; p++)
            ds.pixels[i * sz + p] = pixel(i, p);
    }
    return ds;
}

static void test_stats_and_batches(void)
{
    rt_dataset ds = make_ds(20, 3, 5, 6);
    double mean[3], std[3];
    CHECK(rt_dataset_stats(&ds, NULL, 0, mean, std, err, sizeof err) == 0, "%s", err);
    uint32_t sub[] = {1, 4, 7};
    double smean[3], sstd[3];
    CHECK(rt_dataset_stats(&ds, sub, 3, smean, sstd, err, sizeof err) == 0, "%s", err);
    int ok = 1;
    for (int pass = 0; pass < 2; pass++) {
        const uint32_t *idx = pass ? sub : NULL;
        size_t n = pass ? 3 : 20;
        for (int c = 0; c < 3; c++) {
            double s = 0, ss = 0, cnt = 0;
            for (size_t k = 0; k < n; k++) {
                size_t i = idx ? idx[k] : k;
                for (int p = 0; p < 30; p++) {
                    double v = ds.pixels[i * 90 + (size_t)c * 30 + (size_t)p] / 255.0;
                    s += v;
                    ss += v * v;
                    cnt++;
                }
            }
            double m = s / cnt, sd = sqrt(ss / cnt - m * m);
            double gm = pass ? smean[c] : mean[c], gs = pass ? sstd[c] : std[c];
            ok &= fabs(gm - m) < 1e-12 && fabs(gs - sd) < 1e-9;
        }
    }
    CHECK(ok, "statistics differ from a direct computation");
    uint32_t badidx[] = {3, 20};
    expect_err(rt_dataset_stats(&ds, badidx, 2, mean, std, err, sizeof err), "stats bad index",
               "index 20 out of range", NULL);

    /* Plain scaling, no padding. */
    rt_batch_xform x;
    CHECK(rt_batch_xform_init(&x, &ds, 0, 0, NULL, NULL, err, sizeof err) == 0, "%s", err);
    uint32_t idx[] = {5, 0, 19};
    float out[3 * 90];
    int32_t lab[3];
    CHECK(rt_batch_fill(&x, &ds, idx, 3, out, lab, err, sizeof err) == 0, "%s", err);
    ok = lab[0] == 5 && lab[1] == 0 && lab[2] == 9;
    for (int b = 0; b < 3; b++)
        for (int p = 0; p < 90; p++)
            ok &= out[b * 90 + p] == (float)pixel(idx[b], (size_t)p) / 255.0f;
    CHECK(ok, "scaled batch differs");

    /* Normalised and padded 5x6 -> 9x9: top 2, left 1, bottom 2, right 2. */
    const float nm[3] = {0.5f, 0.25f, 0.125f}, ns[3] = {0.5f, 0.2f, 0.3f};
    CHECK(rt_batch_xform_init(&x, &ds, 9, 9, nm, ns, err, sizeof err) == 0, "%s", err);
    CHECK(x.top == 2 && x.left == 1, "offsets %d %d", x.top, x.left);
    float pout[2 * 3 * 81];
    CHECK(rt_batch_fill(&x, &ds, idx, 2, pout, NULL, err, sizeof err) == 0, "%s", err);
    ok = 1;
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < 9; r++)
                for (int q = 0; q < 9; q++) {
                    int inside = r >= 2 && r < 7 && q >= 1 && q < 7;
                    uint8_t v = inside ? pixel(idx[b], (size_t)(c * 30 + (r - 2) * 6 + (q - 1))) : 0;
                    float want = ((float)v / 255.0f - nm[c]) / ns[c];
                    ok &= pout[((b * 3 + c) * 9 + r) * 9 + q] == want;
                }
    CHECK(ok, "normalised, padded batch differs");
    printf("  ok: statistics, scaled batch, normalised batch padded 5x6 -> 9x9\n");

    expect_err(rt_batch_xform_init(&x, &ds, 4, 6, NULL, NULL, err, sizeof err), "pad smaller",
               "images are 5x6, larger than the model's 4x6 input", NULL);
    const float zs[3] = {1, 0, 1};
    expect_err(rt_batch_xform_init(&x, &ds, 0, 0, nm, zs, err, sizeof err), "zero std",
               "channel 1: bad normalisation", NULL);
    CHECK(rt_batch_xform_init(&x, &ds, 0, 0, NULL, NULL, err, sizeof err) == 0, "%s", err);
    float sentinel[2 * 90];
    for (int i = 0; i < 180; i++)
        sentinel[i] = -7;
    uint32_t bad[] = {1, 20};
    expect_err(rt_batch_fill(&x, &ds, bad, 2, sentinel, NULL, err, sizeof err), "fill bad index",
               "index 20 out of range (20 examples)", NULL);
    ok = 1;
    for (int i = 0; i < 180; i++)
        ok &= sentinel[i] == -7;
    CHECK(ok, "failed fill wrote into the batch");
    rt_dataset_free(&ds);
}

static int ascending_disjoint_cover(const rt_split *s, size_t n)
{
    uint8_t *seen = calloc(n, 1);
    int ok = s->ntrain + s->nvalid == n;
    for (size_t i = 0; i < s->ntrain; i++) {
        ok &= s->train[i] < n && !seen[s->train[i]];
        if (s->train[i] < n)
            seen[s->train[i]] = 1;
        ok &= i == 0 || s->train[i] > s->train[i - 1];
    }
    for (size_t i = 0; i < s->nvalid; i++) {
        ok &= s->valid[i] < n && !seen[s->valid[i]];
        if (s->valid[i] < n)
            seen[s->valid[i]] = 1;
        ok &= i == 0 || s->valid[i] > s->valid[i - 1];
    }
    free(seen);
    return ok;
}

static void test_split_and_iter(void)
{
    rt_split s;
    CHECK(rt_split_make(&s, 60000, RT_SPLIT_TAIL, 0.2, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(s.ntrain == 48000 && s.nvalid == 12000 && s.train[47999] == 47999 &&
              s.valid[0] == 48000 && s.valid[11999] == 59999,
          "tail split %zu/%zu", s.ntrain, s.nvalid);
    CHECK(ascending_disjoint_cover(&s, 60000), "tail split is not a partition");
    rt_split_free(&s);

    rt_rng r1, r2, r3;
    rt_rng_seed(&r1, 42, 1);
    rt_rng_seed(&r2, 42, 1);
    rt_rng_seed(&r3, 43, 1);
    rt_split a, b, c;
    CHECK(rt_split_make(&a, 1000, RT_SPLIT_RANDOM, 0.1, &r1, err, sizeof err) == 0, "%s", err);
    CHECK(rt_split_make(&b, 1000, RT_SPLIT_RANDOM, 0.1, &r2, err, sizeof err) == 0, "%s", err);
    CHECK(rt_split_make(&c, 1000, RT_SPLIT_RANDOM, 0.1, &r3, err, sizeof err) == 0, "%s", err);
    CHECK(a.ntrain == 900 && a.nvalid == 100, "random split %zu/%zu", a.ntrain, a.nvalid);
    CHECK(ascending_disjoint_cover(&a, 1000), "random split is not a partition");
    CHECK(memcmp(a.valid, b.valid, 100 * sizeof *a.valid) == 0, "same seed, different split");
    CHECK(memcmp(a.valid, c.valid, 100 * sizeof *a.valid) != 0, "other seed, same split");
    CHECK(a.valid[99] > 900, "random split looks like a tail split");
    size_t tail_part = 0;
    for (size_t i = 0; i < 100; i++)
        tail_part += a.valid[i] >= 900;
    CHECK(tail_part < 50, "random validation set is mostly the tail (%zu of 100)", tail_part);
    rt_split_free(&a);
    rt_split_free(&b);
    rt_split_free(&c);

    CHECK(rt_split_make(&s, 10, RT_SPLIT_NONE, 0.5, NULL, err, sizeof err) == 0 && s.ntrain == 10 &&
              s.nvalid == 0, "no split");
    rt_split_free(&s);
    expect_err(rt_split_make(&s, 10, RT_SPLIT_TAIL, 1.0, NULL, err, sizeof err), "fraction 1",
               "validation fraction 1 is not in [0, 1)", NULL);
    expect_err(rt_split_make(&s, 1, RT_SPLIT_TAIL, 0.6, NULL, err, sizeof err), "all valid",
               "no training examples left", NULL);
    expect_err(rt_split_make(&s, 10, RT_SPLIT_RANDOM, 0.1, NULL, err, sizeof err), "no rng",
               "needs an rng", NULL);
    printf("  ok: tail split 80/20 of 60000, seeded random split 90/10 of 1000\n");

    uint32_t idx[10];
    for (uint32_t i = 0; i < 10; i++)
        idx[i] = i;
    rt_rng_shuffle(&r1, idx, 10);
    rt_batch_iter it;
    rt_batch_iter_init(&it, idx, 10, 4);
    const uint32_t *bi;
    size_t sizes[5] = {0}, nb = 0, seen = 0;
    size_t k;
    while ((k = rt_batch_iter_next(&it, &bi)) > 0 && nb < 5) {
        CHECK(bi == idx + seen, "batch pointer");
        sizes[nb++] = k;
        seen += k;
    }
    CHECK(nb == 3 && sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2, "batches %zu: %zu %zu %zu",
          nb, sizes[0], sizes[1], sizes[2]);
    CHECK(rt_batch_count(10, 4) == 3 && rt_batch_count(8, 4) == 2 && rt_batch_count(0, 4) == 0,
          "batch count");
    rt_batch_iter_init(&it, idx, 8, 4);
    nb = 0;
    while (rt_batch_iter_next(&it, &bi) > 0)
        nb++;
    CHECK(nb == 2, "exact multiple gives %zu batches", nb);
    printf("  ok: batch iterator, partial last batch\n");
}

/* The real Fashion-MNIST files, when the dataset package is installed. */
static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("  skip: %s not installed\n", dir);
        return;
    }
    rt_data d;
    int rc = rt_data_load(&d, dir, RT_DATA_FASHION_MNIST, 1, 28, 28, 10, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return;
    CHECK(d.train.n == 60000 && d.test.n == 10000, "n %zu %zu", d.train.n, d.test.n);
    size_t count[2][10] = {{0}};
    for (size_t i = 0; i < d.train.n; i++)
        count[0][d.train.labels[i]]++;
    for (size_t i = 0; i < d.test.n; i++)
        count[1][d.test.labels[i]]++;
    int ok = 1;
    for (int c = 0; c < 10; c++)
        ok &= count[0][c] == 6000 && count[1][c] == 1000;
    CHECK(ok, "class counts are not 6000/1000 each");
    double mean, std;
    CHECK(rt_dataset_stats(&d.train, NULL, 0, &mean, &std, err, sizeof err) == 0, "%s", err);
    CHECK(fabs(mean - 0.2860) < 5e-4 && fabs(std - 0.3530) < 5e-4, "mean %f std %f", mean, std);
    printf("  ok: Fashion-MNIST: 60000 + 10000 images, 6000/1000 per class, mean %.4f std %.4f\n", mean, std);
    rt_data_free(&d);
}

int main(void)
{
    scratch_open("netc_test_data");
    test_idx();
    test_gzip_container();
    test_gzip_memory_bound();
    test_idx_dir();
    test_cifar();
    test_stats_and_batches();
    test_split_and_iter();
    test_fashion_mnist();
    scratch_close();
    printf("test_data: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
