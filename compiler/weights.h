/* weights.h — what weights.c shares with export.c (private to the compiler): the
 * trained weights as read, in the layout of the trainer's model table, which export-c
 * writes out in its own layouts.  netc.h declares the public calls (weights_read, ...). */
#ifndef NETC_WEIGHTS_H
#define NETC_WEIGHTS_H

#include "netc.h"
#include "../runtime/netc_rt.h"

struct Weights {
    rt_model model;           /* what the trainer's readers check the file against */
    rt_tensor_info *tensors;
    float *params, *state;
    char **class_names;       /* [classes] */
    int norm;                 /* trained with mean/std: the channels given (1: the same for all), else 0 */
    float mean[RT_DATA_MAX_CHANNELS], std[RT_DATA_MAX_CHANNELS];
};

/* Calls fn for every tensor of the generated params and state structs in their order:
 * trainable tensors first, each at the running offset (in floats) of its struct, as
 * codegen.c lays them out. */
typedef void tensor_fn(const Graph *g, int node, int param, size_t offset, void *ctx);
void walk_tensors(const Graph *g, tensor_fn *fn, void *ctx);

#endif
