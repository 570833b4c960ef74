/* cpu_ops.h: the CPU backend's ops, shared between its source files
 * (cpu.c builds the table). Shapes and semantics are those of backend.h. */
#ifndef DL_CPU_OPS_H
#define DL_CPU_OPS_H

#include "engine/backend/backend.h"

/* cpu_elementwise.c */
void cpu_add_bias(dl_backend *be, float *y, const float *bias, int rows, int cols);
void cpu_bias_grad(dl_backend *be, float *db, const float *dy, int rows, int cols,
                   int accumulate);
void cpu_act_forward(dl_backend *be, int act, float alpha, const float *x, float *y, size_t n);
void cpu_act_backward(dl_backend *be, int act, float alpha, const float *x, const float *y,
                      const float *dy, float *dx, size_t n);
void cpu_softmax(dl_backend *be, const float *x, float *y, int rows, int cols);
void cpu_softmax_backward(dl_backend *be, const float *y, const float *dy, float *dx, int rows,
                          int cols);
void cpu_scale(dl_backend *be, float *x, float alpha, size_t n);
void cpu_axpy(dl_backend *be, float alpha, const float *x, float *y, size_t n);
void cpu_mul(dl_backend *be, const float *a, const float *b, float *out, size_t n);
void cpu_clip(dl_backend *be, float *x, float lo, float hi, size_t n);

/* cpu_reduce.c */
void cpu_dropout(dl_backend *be, uint64_t seed, uint64_t offset, float rate, const float *x,
                 float *y, float *mask, size_t n);
double cpu_sumsq(dl_backend *be, const float *x, size_t n);
size_t cpu_count_nonfinite(dl_backend *be, const float *x, size_t n);
double cpu_regularize(dl_backend *be, const float *w, float *g, size_t n, float l1, float l2);
void cpu_opt_update(dl_backend *be, const dl_opt_step *s, float *w, const float *g,
                    float *slots, size_t slot_stride, size_t n);

/* cpu_loss.c */
double cpu_loss(dl_backend *be, const dl_loss_desc *d, const float *pred, const float *target,
                float *grad, int rows, int cols);
/* The class id a sparse target holds, or -1 if it is not an integer in
 * [0, cols) (such a row matches no class). */
int cpu_class_id(float label, int cols);

/* cpu_metric.c */
void cpu_metric(dl_backend *be, const dl_metric_desc *d, const float *pred, const float *target,
                int rows, int cols, double *acc);

#endif
