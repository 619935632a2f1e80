/* netc_rt.h -- the whole runtime in one include, for programs that use every layer (the
 * trainers `netc build` makes, the tests).  The runtime is five layers, each a folder, a
 * library and one public header, each depending only on the layers before it:
 *   core/rt_core.h         random numbers, the model interface, the thread pool, rt_fail
 *   kernels/rt_kernels.h   the compute kernels generated code calls (+ OpenBLAS)
 *   io/rt_io.h             data sets, checkpoints, .npz, images, progress (+ zlib, libzip, libpng)
 *   plot/rt_plot.h         figures as PNG or SVG, for the trainer's plot command (+ PLplot)
 *   trainer/rt_trainer.h   the trainer program: commands, training loop, settings
 * A generated model needs only the first two: it links with -lnetcrt_kernels
 * -lnetcrt_core -lopenblas -lm. */
#ifndef NETC_RT_H
#define NETC_RT_H

#include "core/rt_core.h"
#include "kernels/rt_kernels.h"
#include "io/rt_io.h"
#include "plot/rt_plot.h"
#include "trainer/rt_trainer.h"

#endif
