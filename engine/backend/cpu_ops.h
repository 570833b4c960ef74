/* cpu_ops.h: the CPU backend's ops, shared between its source files
 * (cpu.c builds the table). Shapes and semantics are those of backend.h. */
#ifndef DL_CPU_OPS_H
#define DL_CPU_OPS_H

#include "engine/backend/backend.h"
#include "engine/backend/cpu_threads.h"

/* The backend's worker threads (be->ctx; NULL with one thread). */
static inline cpu_pool *cpu_pool_of(dl_backend *be)
{
    return be->ctx;
}

/* Indexes per thread below which an elementwise op is not split: a few
 * microseconds of work, about what handing out a slice costs. */
#define CPU_GRAIN 16384

/* cpu.c */
void cpu_gemm(dl_backend *be, int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* cpu_elementwise.c */
void cpu_add_bias(dl_backend *be, float *y, const float *bias, int rows, int cols);
void cpu_bias_grad(dl_backend *be, float *db, const float *dy, int rows, int cols,
                   int accumulate);
void cpu_bias_grad_serial(float *db, const float *dy, int rows, int cols, size_t lo, size_t hi,
                          int accumulate);
void cpu_act_forward(dl_backend *be, int act, float alpha, const float *x, float *y, size_t n);
void cpu_act_forward_serial(int act, float alpha, const float *x, float *y, size_t n);
void cpu_act_backward_serial(int act, float alpha, const float *x, const float *y,
                             const float *dy, float *dx, size_t n);
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

/* cpu_metric.c */
void cpu_metric(dl_backend *be, const dl_metric_desc *d, const float *pred, const float *target,
                int rows, int cols, double *acc);

/* cpu_conv.c */
size_t cpu_conv_workspace(dl_backend *be, const dl_conv_desc *d);
void cpu_conv_forward(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                      const float *x, const float *kernel, float *z, float *y, float *workspace);
void cpu_conv_backward_data(dl_backend *be, const dl_conv_desc *d, const float *dy,
                            const float *kernel, float *dx, float *workspace);
void cpu_conv_backward_filter(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                              const float *x, float *z, const float *y, const float *dy,
                              float *dkernel, float *dbias, float *workspace);

/* cpu_pool.c */
void cpu_pool_forward(dl_backend *be, const dl_pool_desc *d, const float *x, float *y);
void cpu_pool_backward(dl_backend *be, const dl_pool_desc *d, const float *x, const float *y,
                       const float *dy, float *dx);

/* cpu_norm.c */
void cpu_batchnorm_train(dl_backend *be, const float *x, int rows, int c, const float *gamma,
                         const float *beta, float epsilon, float momentum, float *moving_mean,
                         float *moving_var, float *y, float *mean, float *inv_std);
void cpu_batchnorm_infer(dl_backend *be, const float *x, int rows, int c, const float *gamma,
                         const float *beta, const float *moving_mean, const float *moving_var,
                         float epsilon, float *y);
void cpu_batchnorm_backward(dl_backend *be, const float *x, const float *dy, int rows, int c,
                            const float *gamma, const float *mean, const float *inv_std,
                            float *dx, float *dgamma, float *dbeta);
void cpu_layernorm_forward(dl_backend *be, const float *x, int rows, int c, const float *gamma,
                           const float *beta, float epsilon, float *y, float *mean,
                           float *inv_std);
void cpu_layernorm_backward(dl_backend *be, const float *x, const float *dy, int rows, int c,
                            const float *gamma, const float *mean, const float *inv_std,
                            float *dx, float *dgamma, float *dbeta);

/* cpu_image.c */
void cpu_pad2d(dl_backend *be, const float *x, int n, int h, int w, int c, int top, int bottom,
               int left, int right, float *y);
void cpu_pad2d_backward(dl_backend *be, const float *dy, int n, int h, int w, int c, int top,
                        int bottom, int left, int right, float *dx);
void cpu_upsample2d(dl_backend *be, const float *x, int n, int h, int w, int c, int fh, int fw,
                    float *y);
void cpu_upsample2d_backward(dl_backend *be, const float *dy, int n, int h, int w, int c, int fh,
                             int fw, float *dx);
void cpu_scale_shift(dl_backend *be, const float *x, float scale, float offset, float *y,
                     size_t n);
void cpu_channel_dropout(dl_backend *be, uint64_t seed, uint64_t offset, float rate,
                         const float *x, int n, int hw, int c, float *y, float *mask);
void cpu_channel_mask_backward(dl_backend *be, const float *dy, const float *mask, int n, int hw,
                               int c, float *dx);

/* cpu_augment.c */
void cpu_augment(dl_backend *be, const dl_aug_desc *d, const float *x, float *y);
void cpu_augment_backward(dl_backend *be, const dl_aug_desc *d, const float *x, const float *dy,
                          float *dx);

#endif
