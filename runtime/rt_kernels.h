/* Kernels section of netc_rt.h (see kernels.c). */
