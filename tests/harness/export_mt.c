/* export_mt.c -- an exported model's predict_mt against its predict (tests/t_export.sh):
 *
 *   netc export-c M.net --weights CKPT -n ex -o DIR [--batch B] [--weights-in blob]
 *   cc -std=c99 -pthread -IDIR export_mt.c DIR/ex.c DIR/netc_infer.c -lm
 *   ./export_mt IMAGES-IDX3-FILE N [BLOB]
 *
 * The first N images of an uncompressed IDX file, one call per image and then in
 * batches of EX_MAX_BATCH, through ex_predict and through ex_predict_mt on 1, 2 and 3
 * tasks of a pthread parallel-for (here, not in the shipped code: one thread per task
 * and call, the caller running task 0).  The kernels give every output to one task and
 * keep its order of sums, so each probability must be predict's to the bit.  Each
 * workspace is exactly EX_WORKSPACE_BYTES_MT(tasks) bytes, filled with NaNs before every
 * call (nothing may be read before it is written) and followed by guard bytes that must
 * be intact after it; the parallel-for must be asked for the tasks given, and a NULL
 * parallel-for (or one with tasks but no run) refused. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ex.h"

enum { MAX_TASKS = 3, GUARD = 256, IMAGE = EX_IN_C * EX_IN_H * EX_IN_W };

/* The parallel-for: each call starts n - 1 threads and runs task 0 itself. */
typedef struct {
    int calls, widest;  /* run calls, and the most tasks asked for in one */
} pool_stats;

typedef struct {
    netc_task_fn task;
    void *arg;
    int i;
} job;

static void *job_main(void *p)
{
    job *j = p;
    j->task(j->arg, j->i);
    return NULL;
}

static void run_threads(void *pool, netc_task_fn task, void *arg, int n)
{
    pool_stats *st = pool;
    pthread_t th[MAX_TASKS];
    job jobs[MAX_TASKS];
    st->calls++;
    st->widest = n > st->widest ? n : st->widest;
    for (int i = 1; i < n; i++) {
        jobs[i] = (job){ task, arg, i };
        if (pthread_create(&th[i], NULL, job_main, &jobs[i]) != 0) {
            fprintf(stderr, "export_mt: pthread_create failed\n");
            exit(1);
        }
    }
    task(arg, 0);
    for (int i = 1; i < n; i++)
        pthread_join(th[i], NULL);
}

#ifdef EX_WEIGHTS_BYTES
static float blob_mem[EX_WEIGHTS_BYTES / sizeof(float) + 1];
#define PREDICT(x, n, probs, ws) ex_predict(x, n, probs, ws, blob_mem)
#define PREDICT_MT(x, n, probs, ws, par) ex_predict_mt(x, n, probs, ws, blob_mem, par)
#else
#define PREDICT(x, n, probs, ws) ex_predict(x, n, probs, ws)
#define PREDICT_MT(x, n, probs, ws, par) ex_predict_mt(x, n, probs, ws, par)
#endif

/* A workspace of `bytes` at a 64-byte boundary, NaN-filled, GUARD bytes of 0xA5 after it. */
static unsigned char *fresh_workspace(unsigned char *raw, size_t bytes)
{
    unsigned char *ws = raw + (64 - (uintptr_t)raw % 64) % 64;
    memset(ws, 0xFF, bytes);
    memset(ws + bytes, 0xA5, GUARD);
    return ws;
}

static int guard_intact(const unsigned char *ws, size_t bytes)
{
    for (size_t i = 0; i < GUARD; i++)
        if (ws[bytes + i] != 0xA5)
            return 0;
    return 1;
}

/* n images x: predict_mt on 1..MAX_TASKS tasks against predict; the mismatches. */
static long compare(const float *x, int n, unsigned char *raw, long *calls)
{
    float want[EX_MAX_BATCH * EX_CLASSES], got[EX_MAX_BATCH * EX_CLASSES];
    long bad = 0;
    if (PREDICT(x, n, want, fresh_workspace(raw, EX_WORKSPACE_BYTES)) != EX_OK) {
        fprintf(stderr, "export_mt: ex_predict failed\n");
        return 1;
    }
    for (int t = 1; t <= MAX_TASKS; t++) {
        pool_stats st = { 0, 0 };
        netc_parallel par = { run_threads, &st, t };
        size_t bytes = EX_WORKSPACE_BYTES_MT(t);
        unsigned char *ws = fresh_workspace(raw, bytes);
        int rc = PREDICT_MT(x, n, got, ws, &par);
        if (rc != EX_OK || !guard_intact(ws, bytes)) {
            fprintf(stderr, "export_mt: %d tasks: %s\n", t, rc != EX_OK ? ex_strerror(rc) : "wrote past the workspace");
            return 1;
        }
        if (t > 1 && (st.calls == 0 || st.widest != t)) {
            fprintf(stderr, "export_mt: %d tasks: the parallel-for was asked for %d (%d calls)\n", t, st.widest,
                    st.calls);
            return 1;
        }
        bad += memcmp(want, got, sizeof(float) * (size_t)(n * EX_CLASSES)) != 0;
        *calls += st.calls;
    }
    return bad;
}

int main(int argc, char **argv)
{
    unsigned char head[16], px[IMAGE];
    static float x[EX_MAX_BATCH * IMAGE];
    FILE *f = argc >= 3 ? fopen(argv[1], "rb") : NULL;
    long n = argc >= 3 ? atol(argv[2]) : 0;
    if (!f || fread(head, 1, 16, f) != 16 || head[2] != 8 || head[3] != 3) {
        fprintf(stderr, "usage: export_mt IMAGES-IDX3-FILE N [BLOB] (an uncompressed IDX images file)\n");
        return 2;
    }
#ifdef EX_WEIGHTS_BYTES
    int rc = argc > 3 ? ex_weights_read(argv[3], blob_mem, sizeof blob_mem) : EX_ERR_NULL;
    if (rc != EX_OK) {
        fprintf(stderr, "export_mt: the blob: %s\n", ex_strerror(rc));
        return 2;
    }
#endif
    unsigned char *raw = malloc(EX_WORKSPACE_BYTES_MT(MAX_TASKS) + GUARD + 64);
    if (!raw)
        return 2;
    long images = 0, batches = 0, single_bad = 0, batch_bad = 0, calls = 0;
    int in_batch = 0;
    for (; images < n && fread(px, 1, sizeof px, f) == sizeof px; images++) {
        float *xi = x + (size_t)in_batch * IMAGE;
        for (size_t j = 0; j < IMAGE; j++)
            xi[j] = (float)px[j] / 255.0f;
        single_bad += compare(xi, 1, raw, &calls);
        if (++in_batch == EX_MAX_BATCH) {
            batch_bad += compare(x, in_batch, raw, &calls);
            batches++;
            in_batch = 0;
        }
    }
    fclose(f);
    /* the refusals */
    float probs[EX_CLASSES];
    netc_parallel no_run = { NULL, NULL, 2 }, one = { NULL, NULL, 1 };
    unsigned char *ws = fresh_workspace(raw, EX_WORKSPACE_BYTES_MT(1));
    int refused = PREDICT_MT(x, 1, probs, ws, NULL) == EX_ERR_NULL &&
                  PREDICT_MT(x, 1, probs, ws, &no_run) == EX_ERR_NULL &&
                  PREDICT_MT(x, 0, probs, ws, &one) == EX_ERR_BATCH && PREDICT_MT(x, 1, probs, ws, &one) == EX_OK;
    printf("predict_mt on 1-%d tasks: %ld images alone, %ld batches of %d: %ld and %ld differ from predict's bits "
           "(%ld parallel-for calls)%s\n", MAX_TASKS, images, batches, EX_MAX_BATCH, single_bad, batch_bad, calls,
           refused ? "" : "; a bad call was NOT refused");
    free(raw);
    return images != n || images == 0 || single_bad || batch_bad || !refused || calls == 0;
}
