/* prof_steps.c -- wall time per step of a model's train_step, for bench/profile_steps.sh.
 *
 * profile_steps.sh copies the C that `netc compile` writes and puts a call
 *     prof_mark("step 4: conv2d_2 = maxpool2d_1 -> conv2d(32, 5, pad = 2) ...");
 * before each step's comment in NAME_train_step (and prof_mark("zero the gradients")
 * before its memset, prof_mark(NULL) before its return).  A mark charges the time since
 * the previous mark to the previous mark's label, so each step gets the wall time of its
 * kernel calls: every kernel returns only when its work on the thread pool is done, so
 * this is the step's time with the threads the trainer really runs.  The program is the
 * trainer `netc build` makes (rt_trainer_main) with this file linked in; at exit it
 * prints one line per label, in the order first seen:
 *     step SECONDS CALLS MEDIAN LABEL
 * (the sum, the number of calls, the median of the first MAX_CALLS calls: on a shared
 * host the median leaves out the calls another job preempted), and a line
 * `train_step SECONDS CALLS` with the sum over all labels, to the file PROF_STEPS_OUT names
 * (default stderr).  Labels are string literals, found by their address: no string is
 * compared while training.
 *
 * The table is file-static because the generated train_step's signature has no room for
 * a context; this file is a measuring tool, never part of the runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "netc_rt.h"

void prof_mark(const char *label);

enum { MAX_LABELS = 256, MAX_CALLS = 2048 };

typedef struct {
    const char *label;
    double seconds;
    long calls;
    double each[MAX_CALLS];   /* the first MAX_CALLS calls' times */
} prof_entry;

static struct {
    prof_entry e[MAX_LABELS];
    int n;
    int open;        /* index of the label being timed, or -1 */
    double since;    /* when it started */
} prof = { .open = -1 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int entry_of(const char *label)
{
    for (int i = 0; i < prof.n; i++)
        if (prof.e[i].label == label)
            return i;
    if (prof.n == MAX_LABELS) {
        fprintf(stderr, "prof_steps: more than %d labels\n", MAX_LABELS);
        exit(1);
    }
    prof.e[prof.n].label = label;
    return prof.n++;
}

void prof_mark(const char *label)
{
    double t = now();
    if (prof.open >= 0) {
        prof_entry *e = &prof.e[prof.open];
        if (e->calls < MAX_CALLS)
            e->each[e->calls] = t - prof.since;
        e->seconds += t - prof.since;
        e->calls++;
    }
    prof.open = label ? entry_of(label) : -1;
    prof.since = now();
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(prof_entry *e)
{
    int n = e->calls < MAX_CALLS ? (int)e->calls : MAX_CALLS;
    if (n == 0)
        return 0.0;
    qsort(e->each, (size_t)n, sizeof *e->each, by_value);
    return n % 2 ? e->each[n / 2] : 0.5 * (e->each[n / 2 - 1] + e->each[n / 2]);
}

static void prof_report(void)
{
    const char *path = getenv("PROF_STEPS_OUT");
    FILE *f = path ? fopen(path, "w") : stderr;
    if (!f) {
        perror(path);
        return;
    }
    double total = 0;
    long calls = 0;
    for (int i = 0; i < prof.n; i++) {
        fprintf(f, "step %.6f %ld %.9f %s\n", prof.e[i].seconds, prof.e[i].calls, median_of(&prof.e[i]),
                prof.e[i].label);
        total += prof.e[i].seconds;
        if (prof.e[i].calls > calls)
            calls = prof.e[i].calls;
    }
    fprintf(f, "train_step %.6f %ld\n", total, calls);
    if (f != stderr)
        fclose(f);
}

extern const rt_model MODEL;

int main(int argc, char **argv)
{
    int rc = rt_trainer_main(&MODEL, argc, argv);
    prof_report();
    return rc;
}
