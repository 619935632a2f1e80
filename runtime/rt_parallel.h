/* rt_parallel.h -- the runtime's worker threads (parallel.c), used by kernels.c only;
 * not part of the public header netc_rt.h.
 *
 * The kernels' signatures carry no context, so the threads are one process-wide pool,
 * started on first use and never stopped: the caller plus rt_parallel_threads() - 1
 * helpers.  The pool holds no numerical state; how a kernel splits its work into tasks
 * decides its results, never which thread runs which task, so results do not depend on
 * scheduling.  When the pool has more than one thread it sets OpenBLAS to one thread, so
 * that sgemm calls made from tasks do not each start OpenBLAS's own threads. */
#ifndef NETC_RT_PARALLEL_H
#define NETC_RT_PARALLEL_H

/* Threads the pool runs tasks on, the caller included: NETC_NUM_THREADS from the
 * environment when set (1..RT_MAX_THREADS), else the CPUs this process may run on. */
enum { RT_MAX_THREADS = 64 };
int rt_parallel_threads(void);

/* Runs fn(ctx, task) for every task in [0, ntasks), spread over the pool (the caller
 * takes tasks too), and returns when all have finished.  Tasks must be independent.
 * Runs them in order in the caller when ntasks < 2, when the pool has one thread, when
 * called from inside a task, or while another thread's call holds the pool. */
void rt_parallel_for(int ntasks, void (*fn)(void *ctx, int task), void *ctx);

#endif
