/* cpu_reduce.c: the CPU's whole-buffer ops: reductions (accumulated in
 * double, so a slab of millions of weights sums without drift), the L1/L2
 * penalty and the fused optimizer update (split over the backend's
 * threads: each element's update is independent). */
#include "engine/backend/cpu_ops.h"

#include <math.h>

double cpu_sumsq(dl_backend *be, const float *x, size_t n)
{
    (void)be;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)x[i] * x[i];
    return sum;
}

size_t cpu_count_nonfinite(dl_backend *be, const float *x, size_t n)
{
    (void)be;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += !isfinite(x[i]);
    return count;
}

/* g [n] += l1 sign(w) + 2 l2 w; returns l1 sum|w| + l2 sum w^2 */
double cpu_regularize(dl_backend *be, const float *w, float *g, size_t n, float l1, float l2)
{
    (void)be;
    double abs_sum = 0.0, sq_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        float sign = (float)(w[i] > 0.0f) - (float)(w[i] < 0.0f);
        g[i] += l1 * sign + 2.0f * l2 * w[i];
        abs_sum += fabs((double)w[i]);
        sq_sum += (double)w[i] * w[i];
    }
    return l1 * abs_sum + l2 * sq_sum;
}

typedef struct opt_job {
    const dl_opt_step *s;
    float *w;
    const float *g;
    float *slots;
    size_t slot_stride;
} opt_job;

/* elements [lo, hi) of the update */
static void opt_update_range(const void *ctx, size_t lo, size_t hi)
{
    const opt_job *j = ctx;
    const dl_opt_step step = *j->s; /* a local copy: no store to w can change it */
    const dl_opt_step *s = &step;
    float *w = j->w;
    const float *g = j->g;
    float *slots = j->slots;
    size_t slot_stride = j->slot_stride;
#define OPT_LOOP(elem)                                                                           \
    for (size_t i = lo; i < hi; i++)                                                             \
        elem(s, &w[i], g[i], &slots[i], slot_stride);                                            \
    break
    switch (s->kind) {
    case DL_OPT_SGD: OPT_LOOP(dl_opt_sgd_elem);
    case DL_OPT_ADAM: OPT_LOOP(dl_opt_adam_elem);
    case DL_OPT_RMSPROP: OPT_LOOP(dl_opt_rmsprop_elem);
    case DL_OPT_ADAGRAD: OPT_LOOP(dl_opt_adagrad_elem);
    case DL_OPT_ADAMAX: OPT_LOOP(dl_opt_adamax_elem);
    case DL_OPT_NADAM: OPT_LOOP(dl_opt_nadam_elem);
    default: break;
    }
#undef OPT_LOOP
}

/* w [n], g [n]; slot j of element i at slots[j * slot_stride + i] */
void cpu_opt_update(dl_backend *be, const dl_opt_step *s, float *w, const float *g,
                    float *slots, size_t slot_stride, size_t n)
{
    opt_job j = {s, w, g, slots, slot_stride};
    cpu_parallel(cpu_pool_of(be), n, CPU_GRAIN / 2, opt_update_range, &j);
}
