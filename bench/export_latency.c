/* export_latency.c -- batch-1 latency of one model written by `netc export-c`, for
 * bench/bench_export.sh.  The script exports each model under the C prefix `net` (so
 * this file names net_predict and NET_* whatever the model), then builds
 *
 *   gcc -std=c11 -O3 -march=native -pthread -I DIR -o lat bench/export_latency.c DIR/net.c DIR/netc_infer.c -lm
 *   ./lat [CALLS [WARMUP_CALLS [THREADS]]]   (defaults 3000, 300 as the ONNX Runtime peer, and 1)
 *
 * Each call classifies a different image of a pool of random images in [0, 1) (the
 * values do not change the work), the workspace allocated once.  One thread calls
 * net_predict; THREADS > 1 calls net_predict_mt with THREADS tasks on a pool of
 * THREADS - 1 worker threads and the calling one.  Every call is timed on its own;
 * prints one line
 *   median_us=M min_us=A p90_us=B calls=N workspace=W threads=T
 * and fails when a call returns an error or its probabilities do not sum to 1, so a
 * broken export is seen rather than timed.  The pool is bench/spin_pool.h's, as
 * bench_infer.c's. */
#define _POSIX_C_SOURCE 200112L
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "net.h"
#include "spin_pool.h"

enum { POOL = 64, IMG = NET_IN_C * NET_IN_H * NET_IN_W };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Checks one call's result: 0, or 1 with a message when it is wrong. */
static int check(int rc, const float *probs)
{
    if (rc != 0) {
        fprintf(stderr, "export_latency: net_predict returned %d\n", rc);
        return 1;
    }
    float sum = 0.0f;
    for (int k = 0; k < NET_CLASSES; k++)
        sum += probs[k];
    if (!(fabsf(sum - 1.0f) < 1e-3f)) {
        fprintf(stderr, "export_latency: probabilities sum to %g\n", (double)sum);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 3000, warmup = argc > 2 ? atol(argv[2]) : 300;
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    if (calls < 1 || warmup < 0 || threads < 1 || threads > MAX_TASKS) {
        fprintf(stderr, "usage: export_latency [CALLS [WARMUP_CALLS [THREADS (1-%d)]]]\n", MAX_TASKS);
        return 2;
    }
    static spin_pool team;
    static spin_worker members[MAX_TASKS];
    netc_parallel par = { spin_run, &team, threads };
    if (threads > 1)
        spin_start(&team, members, threads);
    size_t ws_bytes = threads > 1 ? NET_WORKSPACE_BYTES_MT(threads) : NET_WORKSPACE_BYTES;
    float *pool = malloc(sizeof(float) * POOL * IMG);
    double *t = malloc(sizeof(double) * (size_t)calls);
    void *ws = NULL;
    /* over-allocated and aligned by hand */
    unsigned char *raw = malloc(ws_bytes + 64);
    if (!pool || !t || !raw) {
        fprintf(stderr, "export_latency: out of memory\n");
        return 1;
    }
    ws = raw + (64 - (size_t)((uintptr_t)raw % 64)) % 64;
    unsigned s = 12345u;
    for (int i = 0; i < POOL * IMG; i++) {
        s = s * 1664525u + 1013904223u;
        pool[i] = (float)(s >> 8) / 16777216.0f;
    }
    float probs[NET_CLASSES];
    for (long c = 0; c < warmup + calls; c++) {
        const float *x = pool + (size_t)(c % POOL) * IMG;
        double t0 = now();
        int rc = threads > 1 ? net_predict_mt(x, 1, probs, ws, &par) : net_predict(x, 1, probs, ws);
        double dt = now() - t0;
        if (check(rc, probs))
            return 1;
        if (c >= warmup)
            t[c - warmup] = dt;
    }
    qsort(t, (size_t)calls, sizeof(double), cmp_double);
    printf("median_us=%.1f min_us=%.1f p90_us=%.1f calls=%ld workspace=%ld threads=%d\n", 1e6 * t[calls / 2],
           1e6 * t[0], 1e6 * t[calls * 9 / 10], calls, (long)ws_bytes, threads);
    if (threads > 1)
        spin_stop(&team);
    free(raw);
    free(t);
    free(pool);
    return 0;
}
