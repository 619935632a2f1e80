/* prof_steps.c -- time per step of a model's train_step, for bench/profile_steps.sh.
 *
 * profile_steps.sh copies the C that `netc compile` writes and puts a call
 *     prof_mark("step 4: conv2d_2 = maxpool2d_1 -> conv2d(32, 5, pad = 2) ...");
 * before each step's comment in NAME_train_step (and prof_mark("zero the gradients")
 * before its memset, prof_mark(NULL) before its return).  A mark charges the time since
 * the previous mark to the previous mark's label; prof_mark(NULL) opens the label
 * DATA_AND_LOOP, so the time from one train_step's end to the next one's start (the
 * trainer's batching of the data, its loop, the progress bar) is charged to it.  Every
 * kernel returns only when its work on the thread pool is done, so a step's time is its
 * kernels' time with the threads the trainer really runs.
 *
 * The clock: PROF_STEPS_CLOCK=cpu reads the process's CPU time (CLOCK_PROCESS_CPUTIME_ID:
 * all its threads', so on one thread the work itself, whatever other jobs on a shared
 * host take of the core), anything else the wall clock (CLOCK_MONOTONIC).
 *
 * The program is the trainer `netc build` makes (rt_trainer_main) with this file linked
 * in; at exit it writes one line per label, in the order first seen, to the file
 * PROF_STEPS_OUT names (default stderr):
 *     step SECONDS CALLS MEDIAN LABEL
 * (the sum, the number of calls, the median of the first MAX_CALLS calls: the median
 * leaves out the calls another job preempted).  Labels are string literals, found by
 * their address: no string is compared while training.
 *
 * The table is file-static because the generated train_step's signature has no room for
 * a context; this file is a measuring tool, never part of the runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "netc_rt.h"

void prof_mark(const char *label);

enum { MAX_LABELS = 256, MAX_CALLS = 2048 };

static const char DATA_AND_LOOP[] = "data and loop (between train_steps)";

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
    clockid_t clock;
} prof = { .open = -1, .clock = CLOCK_MONOTONIC };

static double now(void)
{
    struct timespec t;
    clock_gettime(prof.clock, &t);
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
    prof.open = entry_of(label ? label : DATA_AND_LOOP);
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
    for (int i = 0; i < prof.n; i++)
        fprintf(f, "step %.6f %ld %.9f %s\n", prof.e[i].seconds, prof.e[i].calls, median_of(&prof.e[i]),
                prof.e[i].label);
    if (f != stderr)
        fclose(f);
}

extern const rt_model MODEL;

int main(int argc, char **argv)
{
    const char *clock = getenv("PROF_STEPS_CLOCK");
    if (clock && strcmp(clock, "cpu") == 0)
        prof.clock = CLOCK_PROCESS_CPUTIME_ID;
    int rc = rt_trainer_main(&MODEL, argc, argv);
    prof_report();
    return rc;
}
