/* init.h: Keras initializers (keras-reference.md §1.2) and the L1/L2
 * regularizers. Initial values are drawn on the host from Philox streams
 * (kernels.h), so the same seed gives the same weights on every device. */
#ifndef INIT_INIT_H
#define INIT_INIT_H

#include "engine/backend/common.h"

/* glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform,
 * lecun_normal, zeros, ones, random_uniform, random_normal,
 * truncated_normal (+ Constant, VarianceScaling), Keras names and args. */
extern const dl_family init_family;

/* Keras's fans for a weight shape (initializers.json "fans"). */
void init_fans(const int *shape, int ndim, double *fan_in, double *fan_out);

/* Fills out [prod(shape)] (host memory). The draw depends only on (seed,
 * stream) unless the initializer has its own `seed` argument. */
void init_fill(const dl_kind_ref *init, const int *shape, int ndim, uint64_t seed,
               uint64_t stream, float *out);

/* Regularizers: L1 (l1), L2 (l2), L1L2 (l1_l2), Keras defaults. */
typedef struct reg_args {
    double l1, l2;
} reg_args;
extern const dl_family reg_family;

#endif
