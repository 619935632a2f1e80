/* parallel.c -- the pool of worker threads that the kernels (runtime/kernels/) split their work over.
 *
 * Fork-join over a task range, with one job at a time: the caller publishes the job
 * (function, context, task count) and bumps a generation counter; helpers, which spin
 * a little and then sleep on a condition variable, see the new generation, and every
 * thread (the caller too) takes task numbers from a shared atomic counter until none
 * are left.  The caller returns once every helper that joined has left.  Spinning first
 * matters: a training step runs dozens of parallel kernels back to back, and waking a
 * sleeping thread costs tens of microseconds, more than many of the kernels take.
 *
 * A process-wide pool (a mutable global, which the runtime otherwise avoids) because
 * the kernels' signatures carry no context and thread creation costs ~0.1 ms per call
 * on the machines measured.  Threads start on first use and are never joined; they
 * hold no numerical state. */
#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "rt_core.h"

/* Spin iterations before sleeping: ~0.2-0.5 ms of pause instructions. */
enum { SPIN = 20000 };

/* A job is open while its tasks may be taken.  A helper counts itself `inside` before it
 * looks at `open`, and the caller closes the job before it waits for `inside` to drain
 * (both sequentially consistent), so no helper can start on a job after the caller has
 * seen it drained, and the caller only rewrites the job's fields while it is closed and
 * drained.  A helper that wakes late just finds the job closed: the caller never waits
 * for helpers that did not join. */
typedef struct {
    int nthreads;
    pthread_mutex_t busy;           /* held by the caller of the running job */
    pthread_mutex_t lock;           /* guards sleepers, waiting and the sleeps below */
    pthread_cond_t wake, drained;
    int sleepers;                   /* helpers asleep on wake */
    int waiting;                    /* the caller is asleep on drained */
    atomic_uint gen;                /* bumped once per job */
    atomic_int open;
    atomic_int inside;              /* helpers between joining and leaving a job */
    atomic_int next;                /* next task number to take */
    void (*fn)(void *ctx, int task);
    void *ctx;
    int ntasks;
} pool_t;

static pool_t pool = {
    .nthreads = 1,
    .busy = PTHREAD_MUTEX_INITIALIZER,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .drained = PTHREAD_COND_INITIALIZER,
};
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local int in_task;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Takes and runs tasks of the open job until none are left. */
static void run_tasks(void)
{
    in_task = 1;
    for (;;) {
        int t = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
        if (t >= pool.ntasks)
            break;
        pool.fn(pool.ctx, t);
    }
    in_task = 0;
}

/* Waits (spinning, then asleep) for the generation to move past `seen`; returns it. */
static unsigned wait_for_job(unsigned seen)
{
    for (int i = 0; i < SPIN; i++) {
        unsigned gen = atomic_load(&pool.gen);
        if (gen != seen)
            return gen;
        cpu_relax();
    }
    pthread_mutex_lock(&pool.lock);
    pool.sleepers++;
    unsigned gen;
    while ((gen = atomic_load(&pool.gen)) == seen)
        pthread_cond_wait(&pool.wake, &pool.lock);
    pool.sleepers--;
    pthread_mutex_unlock(&pool.lock);
    return gen;
}

static void *helper_main(void *unused)
{
    (void)unused;
    unsigned seen = atomic_load(&pool.gen);
    for (;;) {
        seen = wait_for_job(seen);
        atomic_fetch_add(&pool.inside, 1);
        if (atomic_load(&pool.open))
            run_tasks();
        if (atomic_fetch_sub(&pool.inside, 1) == 1) {
            pthread_mutex_lock(&pool.lock);
            if (pool.waiting)
                pthread_cond_signal(&pool.drained);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

static int threads_wanted(void)
{
    const char *env = getenv("NETC_NUM_THREADS");
    int n = 0;
    if (env && *env) {
        n = atoi(env);
    } else {
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0)
            n = CPU_COUNT(&set);
    }
    if (n < 1)
        n = 1;
    return n > RT_MAX_THREADS ? RT_MAX_THREADS : n;
}

static void pool_start(void)
{
    int want = threads_wanted();
    int started = 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (; started < want; started++) {
        pthread_t t;
        if (pthread_create(&t, &attr, helper_main, NULL) != 0)
            break;
    }
    pthread_attr_destroy(&attr);
    pool.nthreads = started;
    openblas_set_num_threads(1);
}

int rt_parallel_threads(void)
{
    pthread_once(&pool_once, pool_start);
    return pool.nthreads;
}

void rt_parallel_for(int ntasks, void (*fn)(void *ctx, int task), void *ctx)
{
    if (ntasks < 2 || in_task || rt_parallel_threads() < 2 || pthread_mutex_trylock(&pool.busy) != 0) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.ntasks = ntasks;
    atomic_store(&pool.next, 0);
    atomic_store(&pool.open, 1);
    atomic_fetch_add(&pool.gen, 1);
    pthread_mutex_lock(&pool.lock);
    if (pool.sleepers)
        pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    run_tasks();

    atomic_store(&pool.open, 0);
    for (int i = 0; i < SPIN && atomic_load(&pool.inside); i++)
        cpu_relax();
    if (atomic_load(&pool.inside)) {
        pthread_mutex_lock(&pool.lock);
        pool.waiting = 1;
        while (atomic_load(&pool.inside))
            pthread_cond_wait(&pool.drained, &pool.lock);
        pool.waiting = 0;
        pthread_mutex_unlock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.busy);
}
