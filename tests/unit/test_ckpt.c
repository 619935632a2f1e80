/* Checkpoints: round trip of every dtype and shape; truncation at every offset; a bit
 * flip at every byte; wrong model, section type and size; missing files; writer
 * errors; and a kill test: a child process writes checkpoints in a loop and is
 * SIGKILLed at random moments, after which the file on disk must always load and be
 * one of the complete versions, never older than one seen before. */
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "netc_rt.h"

#include "check.h"
#include "scratch.h"

static char err[512];

#define MODEL "lenet5"
#define HASH 0x0123456789abcdefULL

/* A refusal whose message (in err) holds frag1 and frag2. */
#define expect_err(rc, what, frag1, frag2) expect_error(err, (rc), (what), (frag1), (frag2))

/* The state a trainer would save, filled from `seed`. */
typedef struct {
    float w[300];
    float conv[2][3][5][5];
    int32_t labels[7];
    uint64_t rng[2];
    uint8_t order[13];
    double lr;
    float empty[1];
} state;

static void fill_state(state *s, int seed)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 300; i++)
        s->w[i] = (float)(seed * 1000 + i) * 0.001f - 0.3f;
    float *c = &s->conv[0][0][0][0];
    for (int i = 0; i < 150; i++)
        c[i] = (float)(i * seed) / 7.0f;
    for (int i = 0; i < 7; i++)
        s->labels[i] = -i * seed;
    s->rng[0] = 0xdeadbeefcafef00dULL ^ (uint64_t)seed;
    s->rng[1] = 12345;
    for (int i = 0; i < 13; i++)
        s->order[i] = (uint8_t)(i * 17 + seed);
    s->lr = 0.01 * seed;
}

static int write_state(const char *path, const state *s, const char *model, uint64_t hash)
{
    rt_ckpt_writer w;
    rt_ckpt_writer_init(&w, model, hash);
    uint64_t conv_dims[4] = {2, 3, 5, 5};
    uint64_t zero = 0;
    rt_ckpt_add_f32(&w, "fc.w", s->w, 300);
    rt_ckpt_add(&w, "conv.w", RT_DT_F32, s->conv, 4, conv_dims);
    uint64_t n7 = 7, n2 = 2;
    rt_ckpt_add(&w, "labels", RT_DT_I32, s->labels, 1, &n7);
    rt_ckpt_add(&w, "rng", RT_DT_U64, s->rng, 1, &n2);
    rt_ckpt_add_bytes(&w, "order", s->order, 13);
    rt_ckpt_add(&w, "lr", RT_DT_F64, &s->lr, 0, NULL);
    rt_ckpt_add(&w, "empty", RT_DT_F32, s->empty, 1, &zero);
    int rc = rt_ckpt_commit(&w, path, err, sizeof err);
    rt_ckpt_writer_free(&w);
    return rc;
}

static void slots_for(rt_ckpt_slot *sl, state *s)
{
    rt_ckpt_slot init[7] = {
        {"fc.w", RT_DT_F32, s->w, 300, 0, 0},
        {"conv.w", RT_DT_F32, s->conv, 150, 0, 0},
        {"labels", RT_DT_I32, s->labels, 7, 0, 0},
        {"rng", RT_DT_U64, s->rng, 2, 0, 0},
        {"order", RT_DT_U8, s->order, 13, 0, 0},
        {"lr", RT_DT_F64, &s->lr, 1, 0, 0},
        {"empty", RT_DT_F32, s->empty, 0, 0, 0},
    };
    memcpy(sl, init, sizeof init);
}

static int read_state(const char *path, state *s)
{
    rt_ckpt_slot sl[7];
    slots_for(sl, s);
    return rt_ckpt_read(path, MODEL, HASH, sl, 7, err, sizeof err);
}

/* Field by field: the struct's padding is not saved. */
static int same_state(const state *a, const state *b)
{
    return memcmp(a->w, b->w, sizeof a->w) == 0 && memcmp(a->conv, b->conv, sizeof a->conv) == 0 &&
           memcmp(a->labels, b->labels, sizeof a->labels) == 0 &&
           memcmp(a->rng, b->rng, sizeof a->rng) == 0 &&
           memcmp(a->order, b->order, sizeof a->order) == 0 &&
           memcmp(&a->lr, &b->lr, sizeof a->lr) == 0 &&
           memcmp(a->empty, b->empty, sizeof a->empty) == 0;
}

static void test_round_trip(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", scratch_path("rt.ckpt"));
    state a, b;
    fill_state(&a, 3);
    CHECK(write_state(path, &a, MODEL, HASH) == 0, "%s", err);
    memset(&b, 0x55, sizeof b);
    b.empty[0] = 0;   /* a 0-element section writes nothing */
    CHECK(read_state(path, &b) == 0, "%s", err);
    b.empty[0] = a.empty[0];
    CHECK(same_state(&a, &b), "round trip differs");

    rt_ckpt ck;
    CHECK(rt_ckpt_open(&ck, path, err, sizeof err) == 0, "%s", err);
    const rt_ckpt_section *s = rt_ckpt_find(&ck, "conv.w");
    CHECK(s && s->ndim == 4 && s->dims[0] == 2 && s->dims[3] == 5 && s->count == 150 &&
              s->dtype == RT_DT_F32 && s->offset % 8 == 0,
          "section table");
    s = rt_ckpt_find(&ck, "lr");
    CHECK(s && s->ndim == 0 && s->count == 1 && s->offset % 8 == 0, "scalar section");
    CHECK(strcmp(ck.model, MODEL) == 0 && ck.model_hash == HASH && ck.nsec == 7, "header");
    double lr = 0;
    CHECK(rt_ckpt_get(&ck, "lr", RT_DT_F64, &lr, 1, err, sizeof err) == 0 && lr == a.lr, "get");
    rt_ckpt_close(&ck);

    /* Optional slots: absent is fine, present is loaded. */
    float extra[4] = {9, 9, 9, 9};
    rt_ckpt_slot opt[2] = {
        {"momentum", RT_DT_F32, extra, 4, 1, 1},
        {"rng", RT_DT_U64, b.rng, 2, 1, 0},
    };
    memset(b.rng, 0, sizeof b.rng);
    CHECK(rt_ckpt_read(path, MODEL, HASH, opt, 2, err, sizeof err) == 0, "%s", err);
    CHECK(opt[0].found == 0 && extra[0] == 9 && opt[1].found == 1 && b.rng[0] == a.rng[0],
          "optional slots");

    /* A second commit replaces the first and leaves no temporary file. */
    fill_state(&a, 4);
    CHECK(write_state(path, &a, MODEL, HASH) == 0, "%s", err);
    CHECK(read_state(path, &b) == 0 && same_state(&a, &b), "overwrite: %s", err);
    DIR *d = opendir(scratch_dir);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        files += e->d_name[0] != '.';
    closedir(d);
    CHECK(files == 1, "%d files in the directory, expected only rt.ckpt", files);
    printf("  ok: round trip of 7 sections (f32 2-D/4-D, i32, u64, u8, f64 scalar, empty)\n");
}

static void test_damage(void)
{
    char path[1024], bad[1024];
    snprintf(path, sizeof path, "%s", scratch_path("good.ckpt"));
    snprintf(bad, sizeof bad, "%s", scratch_path("bad.ckpt"));
    state a, b;
    fill_state(&a, 5);
    CHECK(write_state(path, &a, MODEL, HASH) == 0, "%s", err);
    size_t n;
    uint8_t *bytes = read_whole(path, &n);
    printf("  checkpoint of %zu bytes\n", n);

    /* Truncated at every length from 0 to n-1. */
    int trunc_ok = 1, untouched = 1;
    for (size_t len = 0; len < n; len++) {
        write_whole(bad, bytes, len);
        memset(&b, 0x55, sizeof b);
        int rc = read_state(bad, &b);
        int named = strstr(err, "truncated") != NULL || strstr(err, "empty") != NULL;
        if (rc == 0 || !named) {
            if (trunc_ok)
                printf("  truncation at %zu: rc %d, '%s'\n", len, rc, err);
            trunc_ok = 0;
        }
        state sentinel;
        memset(&sentinel, 0x55, sizeof sentinel);
        untouched &= same_state(&b, &sentinel);
    }
    CHECK(trunc_ok, "a truncated checkpoint loaded or was not called truncated");
    printf("  ok: truncated at each of %zu lengths -> e.g. %s\n", n, err);

    /* One bit flipped in every byte. */
    int flip_ok = 1;
    size_t crc_msgs = 0;
    for (size_t off = 0; off < n; off++) {
        bytes[off] ^= (uint8_t)(1u << (off % 8));
        write_whole(bad, bytes, n);
        bytes[off] ^= (uint8_t)(1u << (off % 8));
        memset(&b, 0x55, sizeof b);
        int rc = read_state(bad, &b);
        if (rc == 0) {
            if (flip_ok)
                printf("  bit flip at %zu loaded\n", off);
            flip_ok = 0;
        }
        crc_msgs += strstr(err, "corrupted: checksum mismatch") != NULL;
        state sentinel;
        memset(&sentinel, 0x55, sizeof sentinel);
        untouched &= same_state(&b, &sentinel);
    }
    CHECK(flip_ok, "a checkpoint with a flipped bit loaded");
    CHECK(crc_msgs + 40 >= n, "only %zu of %zu flips reported as checksum mismatch", crc_msgs, n);
    CHECK(untouched, "a failed load wrote into the caller's buffers");
    printf("  ok: a bit flipped in each of %zu bytes fails (%zu as 'corrupted: checksum mismatch')\n",
           n, crc_msgs);

    /* Trailing bytes. */
    uint8_t *longer = malloc(n + 3);
    memcpy(longer, bytes, n);
    memset(longer + n, 0, 3);
    write_whole(bad, longer, n + 3);
    expect_err(read_state(bad, &b), "trailing bytes", "corrupted", NULL);
    free(longer);

    /* A newer format version: checked before the checksum, which it may lay out otherwise. */
    bytes[8] = 2;
    write_whole(bad, bytes, n);
    expect_err(read_state(bad, &b), "format version", "checkpoint format version 2", "reads version 1");
    bytes[8] = 1;

    write_whole(bad, "hello, world\n", 13);
    expect_err(read_state(bad, &b), "text file", "not a netc checkpoint (bad magic)", NULL);
    free(bytes);

    char missing[1024];
    snprintf(missing, sizeof missing, "%s", scratch_path("missing.ckpt"));
    expect_err(read_state(missing, &b), "missing file", "missing.ckpt: cannot open: No such file",
               NULL);
    expect_err(read_state(scratch_dir, &b), "a directory", "", NULL);

    /* The wrong model, and the right one with another structure. */
    rt_ckpt_slot sl[7];
    slots_for(sl, &b);
    expect_err(rt_ckpt_read(path, "resnet8", 0x42, sl, 7, err, sizeof err), "wrong model",
               "was written by model 'lenet5' (hash 0123456789abcdef), not this model 'resnet8'",
               NULL);
    expect_err(rt_ckpt_read(path, MODEL, HASH + 1, sl, 7, err, sizeof err), "wrong hash",
               "different structure of model 'lenet5'", "0123456789abcdf0");

    /* Section checks. */
    sl[0].count = 299;
    expect_err(rt_ckpt_read(path, MODEL, HASH, sl, 7, err, sizeof err), "wrong size",
               "section 'fc.w' has 300 float32 values, the model expects 299", NULL);
    slots_for(sl, &b);
    sl[2].dtype = RT_DT_F32;
    expect_err(rt_ckpt_read(path, MODEL, HASH, sl, 7, err, sizeof err), "wrong dtype",
               "section 'labels' holds int32, expected float32", NULL);
    slots_for(sl, &b);
    sl[3].name = "adam.m";
    expect_err(rt_ckpt_read(path, MODEL, HASH, sl, 7, err, sizeof err), "missing section",
               "no section 'adam.m'", NULL);
}

static void test_writer_errors(void)
{
    char path[1024];
    float x[2] = {1, 2};
    rt_ckpt_writer w;
    rt_ckpt_writer_init(&w, MODEL, HASH);
    snprintf(path, sizeof path, "%s", scratch_path("w.ckpt"));
    rt_ckpt_add_f32(&w, "a", x, 2);
    CHECK(rt_ckpt_add_f32(&w, "a", x, 2) != 0, "duplicate add accepted");
    expect_err(rt_ckpt_commit(&w, path, err, sizeof err), "duplicate section",
               "section 'a' added twice", NULL);
    rt_ckpt_writer_free(&w);
    CHECK(access(path, F_OK) != 0, "a failed commit created the file");

    rt_ckpt_writer_init(&w, MODEL, HASH);
    rt_ckpt_add_f32(&w, "", x, 2);
    expect_err(rt_ckpt_commit(&w, path, err, sizeof err), "empty name", "must be 1 to 255 bytes",
               NULL);
    rt_ckpt_writer_free(&w);

    rt_ckpt_writer_init(&w, MODEL, HASH);
    rt_ckpt_add_f32(&w, "a", x, 2);
    snprintf(path, sizeof path, "%s", scratch_path("no/such/dir/x.ckpt"));
    expect_err(rt_ckpt_commit(&w, path, err, sizeof err), "missing directory", "cannot create",
               "No such file");
    rt_ckpt_writer_free(&w);
    CHECK(rt_dtype_size(RT_DT_F64) == 8 && strcmp(rt_dtype_name(RT_DT_U8), "uint8") == 0, "dtypes");
}

/* ---- the kill test ---- */

#define KILL_FLOATS (256 * 1024)   /* a 1 MiB section, so kills land mid-write */

static void fill_version(float *w, uint64_t v)
{
    for (size_t i = 0; i < KILL_FLOATS; i++)
        w[i] = (float)v + (float)(i % 1000) * 0.5f;
}

static int write_version(const char *path, float *w, uint64_t v)
{
    fill_version(w, v);
    rt_ckpt_writer wr;
    rt_ckpt_writer_init(&wr, MODEL, HASH);
    rt_ckpt_add(&wr, "step", RT_DT_U64, &v, 0, NULL);
    rt_ckpt_add_f32(&wr, "w", w, KILL_FLOATS);
    int rc = rt_ckpt_commit(&wr, path, err, sizeof err);
    rt_ckpt_writer_free(&wr);
    return rc;
}

static void test_kill(void)
{
    char dir[1024], path[1024];
    snprintf(dir, sizeof dir, "%s", scratch_path("kill"));
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s", scratch_path("kill/model.ckpt"));
    float *w = malloc(KILL_FLOATS * sizeof *w);
    float *want = malloc(KILL_FLOATS * sizeof *want);
    CHECK(write_version(path, w, 0) == 0, "%s", err);
    uint64_t last = 0, next = 1;
    int rounds = 60, bad = 0, advanced = 0;
    srand(12345);
    for (int round = 0; round < rounds; round++) {
        pid_t pid = fork();
        if (pid < 0) {
            CHECK(0, "fork failed");
            break;
        }
        if (pid == 0) {
            for (uint64_t v = next;; v++)
                if (write_version(path, w, v) != 0)
                    _exit(3);
        }
        struct timespec ts = {0, (long)(rand() % 15000) * 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status)) {
            CHECK(0, "writer exited by itself with status %d", WEXITSTATUS(status));
            bad++;
            continue;
        }
        uint64_t step = ~0ULL;
        rt_ckpt_slot sl[2] = {
            {"step", RT_DT_U64, &step, 1, 0, 0},
            {"w", RT_DT_F32, w, KILL_FLOATS, 0, 0},
        };
        if (rt_ckpt_read(path, MODEL, HASH, sl, 2, err, sizeof err) != 0) {
            CHECK(0, "round %d: checkpoint does not load: %s", round, err);
            bad++;
            continue;
        }
        fill_version(want, step);
        if (step < last || step >= next + 100000 ||
            memcmp(w, want, KILL_FLOATS * sizeof *w) != 0) {
            CHECK(0, "round %d: step %llu after %llu, or its data is not version %llu's", round,
                  (unsigned long long)step, (unsigned long long)last, (unsigned long long)step);
            bad++;
        }
        advanced += step > last;
        last = step;
        next = step + 1;
    }
    /* Each kill that landed mid-write left its PATH.tmp.PID behind. */
    int leftovers = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        leftovers += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    printf("  ok: %d SIGKILLs during checkpoint writes: the file always loaded as a complete "
           "version (%d kills landed mid-write, %d rounds advanced it, last version %llu, "
           "%d bad)\n", rounds, leftovers, advanced, (unsigned long long)last, bad);
    free(w);
    free(want);
}

int main(void)
{
    scratch_open("netc_test_ckpt");
    test_round_trip();
    test_damage();
    test_writer_errors();
    test_kill();
    scratch_close();
    printf("test_ckpt: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
