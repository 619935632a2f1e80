/* spin_pool.h -- a spinning thread pool, the kind of parallel-for a caller passes to the
 * exported model's predict_mt or to the inference kernels' _mt entry points
 * (netc_parallel), for the benchmarks bench_infer.c and export_latency.c only: the
 * shipped code starts no threads.  Workers wait for the next run on a generation
 * counter, spinning with a CPU pause for a while and then yielding the core on every
 * look (the host may be shared; ONNX Runtime's pool spins the same way by default).
 * Yielding from the first look cost more than the second thread saved: LeNet's
 * 2-thread call took 70 us against 60 on one, and 39 with the pause; a run's tasks are
 * dealt round-robin, the calling thread taking its share, and the run returns once
 * every worker is done with it.  Include after <pthread.h>, <sched.h>, <stdatomic.h> and
 * netc_infer.h. */
#ifndef SPIN_POOL_H
#define SPIN_POOL_H

enum { MAX_TASKS = 4 };

typedef struct {
    pthread_t th[MAX_TASKS - 1];
    int workers;
    atomic_int gen, done, quit;
    netc_task_fn task;
    void *arg;
    int n;
} spin_pool;

/* Wait a little: a CPU pause for the first SPIN_PAUSES rounds (a run that follows soon
 * is picked up within a few hundred nanoseconds, as ONNX Runtime's spinning pool does),
 * then give the core away on every round (the host may be shared). */
enum { SPIN_PAUSES = 1 << 16 };

static inline void spin_pause(int *spins)
{
    if (*spins < SPIN_PAUSES) {
        (*spins)++;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}

typedef struct {
    spin_pool *pool;
    int id;
} spin_worker;

static void *spin_main(void *p)
{
    spin_worker *me = p;
    spin_pool *sp = me->pool;
    int seen = 0;
    for (;;) {
        int spins = 0;
        int g;
        while ((g = atomic_load_explicit(&sp->gen, memory_order_acquire)) == seen) {
            if (atomic_load_explicit(&sp->quit, memory_order_relaxed))
                return NULL;
            spin_pause(&spins);
        }
        seen = g;
        for (int i = me->id; i < sp->n; i += sp->workers + 1)
            sp->task(sp->arg, i);
        atomic_fetch_add_explicit(&sp->done, 1, memory_order_release);
    }
}

/* netc_parallel's run: the caller takes tasks 0, W+1, ..., worker w tasks w, w+W+1, ... */
static void spin_run(void *p, netc_task_fn task, void *arg, int n)
{
    spin_pool *sp = p;
    sp->task = task;
    sp->arg = arg;
    sp->n = n;
    atomic_store_explicit(&sp->done, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&sp->gen, 1, memory_order_release);
    for (int i = 0; i < n; i += sp->workers + 1)
        task(arg, i);
    int spins = 0;
    while (atomic_load_explicit(&sp->done, memory_order_acquire) < sp->workers)
        spin_pause(&spins);
}

static void spin_start(spin_pool *sp, spin_worker *w, int threads)
{
    sp->workers = threads - 1;
    atomic_init(&sp->gen, 0);
    atomic_init(&sp->done, 0);
    atomic_init(&sp->quit, 0);
    for (int i = 0; i < sp->workers; i++) {
        w[i].pool = sp;
        w[i].id = i + 1;
        pthread_create(&sp->th[i], NULL, spin_main, &w[i]);
    }
}

static void spin_stop(spin_pool *sp)
{
    atomic_store(&sp->quit, 1);
    for (int i = 0; i < sp->workers; i++)
        pthread_join(sp->th[i], NULL);
}

#endif
