/* train_mpi.c — the ranks of a data-parallel run: MPI when the trainer was built with it
 * (NETC_MPI, set by the Makefile when Open MPI is installed), else a stub of one rank.
 *
 * MPI is started only when a launcher says this process is one of several (Open MPI's
 * mpirun sets OMPI_COMM_WORLD_SIZE before the process starts):
 * a trainer run by hand never calls MPI_Init, so it behaves exactly as one built without
 * MPI.  The only collective the trainer needs is an allgather of equal blocks of floats
 * (train_shards.c: each shard's gradients, statistics, loss and probabilities), plus a
 * barrier before a rank reads a file rank 0 has just written.  A trainer built without
 * MPI but started by mpirun on several ranks refuses to run rather than train R copies. */
#include <stdlib.h>
#include <string.h>
#include "rt_trainer.h"
#if NETC_MPI
#include <mpi.h>
#endif

/* The world size the launcher announces, 1 if none. */
static int launched_size(void)
{
    const char *env = getenv("OMPI_COMM_WORLD_SIZE");
    int n = env && *env ? atoi(env) : 1;
    return n > 1 ? n : 1;
}

#if NETC_MPI

int rt_ranks_start(rt_ranks *r, char *err, size_t errlen)
{
    r->rank = 0;
    r->size = 1;
    r->mpi = 0;
    if (launched_size() < 2)
        return 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
        return rt_fail(err, errlen, "MPI_Init failed");
    r->mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &r->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &r->size);
    return 0;
}

void rt_ranks_stop(rt_ranks *r, int rc)
{
    if (!r->mpi)
        return;
    if (rc != 0 && rc < 128)   /* a failure on one rank would leave the others waiting */
        MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    r->mpi = 0;
}

int rt_ranks_allgather(const rt_ranks *r, const float *mine, float *all, size_t count, char *err, size_t errlen)
{
    if (!r->mpi) {
        memcpy(all, mine, count * sizeof(float));
        return 0;
    }
    if (count > (size_t)0x7fffffff)
        return rt_fail(err, errlen, "a rank's share of the step, %zu floats, is too large for MPI", count);
    if (MPI_Allgather(mine, (int)count, MPI_FLOAT, all, (int)count, MPI_FLOAT, MPI_COMM_WORLD) != MPI_SUCCESS)
        return rt_fail(err, errlen, "MPI_Allgather failed");
    return 0;
}

void rt_ranks_barrier(const rt_ranks *r)
{
    if (r->mpi)
        MPI_Barrier(MPI_COMM_WORLD);
}

int rt_ranks_any(const rt_ranks *r, int failed)
{
    int any = failed != 0;
    if (r->mpi)
        MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any;
}

#else

int rt_ranks_start(rt_ranks *r, char *err, size_t errlen)
{
    r->rank = 0;
    r->size = 1;
    r->mpi = 0;
    if (launched_size() > 1)
        return rt_fail(err, errlen,
                       "started as one of %d MPI ranks, but this trainer was built without MPI: install Open MPI "
                       "(libopenmpi-dev), rebuild netc's runtime (make) and the trainer (netc build)",
                       launched_size());
    return 0;
}

void rt_ranks_stop(rt_ranks *r, int rc)
{
    (void)r;
    (void)rc;
}

int rt_ranks_allgather(const rt_ranks *r, const float *mine, float *all, size_t count, char *err, size_t errlen)
{
    (void)r;
    (void)err;
    (void)errlen;
    memcpy(all, mine, count * sizeof(float));
    return 0;
}

void rt_ranks_barrier(const rt_ranks *r)
{
    (void)r;
}

int rt_ranks_any(const rt_ranks *r, int failed)
{
    (void)r;
    return failed != 0;
}

#endif
