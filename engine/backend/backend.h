/* backend.h: the op table through which layers, losses, metrics and
 * optimizers reach the device. The CPU backend (cpu.c, OpenBLAS and loops)
 * implements every op; a GPU backend implements the same table.
 *
 * Conventions: float32, row-major, channels-last. Pointers named in the op
 * comments as "device" live in the backend's memory (host memory on the CPU);
 * `double *acc` arguments and return values are host scalars. Ops do not fail
 * individually: a device error is latched in the context and reported by
 * `status`, which the trainer checks once per step. */
#ifndef DL_BACKEND_H
#define DL_BACKEND_H

#include "common.h"
#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dl_backend dl_backend;

/* A convolution's bias and activation (Conv2D's own arguments), which
 * conv_forward applies after the product and conv_backward_filter takes
 * the gradient through first: the CPU does both chunk by chunk while a
 * chunk's output is still in cache. */
typedef struct dl_conv_act {
    const float *bias;          /* [filters] device; NULL: no bias */
    int act;                    /* DL_ACT_*, not DL_ACT_SOFTMAX; DL_ACT_LINEAR: none */
    float alpha;                /* leaky_relu's slope, elu's alpha */
} dl_conv_act;

struct dl_backend {
    const char *name;           /* "cpu", "cuda" */
    const char *device;         /* what the ops run on, for messages: "NVIDIA H100 ..." */
    void *ctx;

    /* ---- memory ---- */
    float *(*alloc)(dl_backend *be, size_t n);           /* zero-filled; NULL if out of memory */
    void (*release)(dl_backend *be, float *p);
    /* Host memory for staging batches: page-locked on a GPU, so that
     * uploads from it run asynchronously (plain malloc on the CPU). NULL if
     * out of memory. */
    float *(*host_alloc)(dl_backend *be, size_t n);
    void (*host_release)(dl_backend *be, float *p);
    /* host_src may be rewritten once upload returns, except host_alloc
     * memory: the copy from it may run until the next op that returns a
     * host value (download, loss, metric, the reductions) or status. */
    void (*upload)(dl_backend *be, float *dst, const float *host_src, size_t n);
    void (*download)(dl_backend *be, float *host_dst, const float *src, size_t n);
    void (*fill)(dl_backend *be, float *x, float value, size_t n);
    void (*copy)(dl_backend *be, float *dst, const float *src, size_t n);
    /* DL_OK, or DL_ERR and the first latched error (into err unless NULL);
     * waits for the ops queued so far */
    int (*status)(dl_backend *be, dl_err *err);

    /* ---- matrix ----
     * C[m,n] = alpha * op(A) op(B) + beta * C, row-major; op(A) is [m,k]
     * (A stored [k,m] when trans_a), op(B) is [k,n] (B stored [n,k] when
     * trans_b). lda/ldb/ldc are row strides. */
    void (*gemm)(dl_backend *be, int trans_a, int trans_b, int m, int n, int k,
                 float alpha, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc);

    /* ---- elementwise ---- */
    /* y[r, c] += bias[c] for y [rows, cols] */
    void (*add_bias)(dl_backend *be, float *y, const float *bias, int rows, int cols);
    /* db[c] (+)= sum_r dy[r, c]; accumulate selects += over = */
    void (*bias_grad)(dl_backend *be, float *db, const float *dy, int rows, int cols, int accumulate);
    /* y = f(x), elementwise, act = DL_ACT_* except DL_ACT_SOFTMAX */
    void (*act_forward)(dl_backend *be, int act, float alpha, const float *x, float *y, size_t n);
    /* dx = dy * f'(x) (y = f(x) given too: whichever is cheaper) */
    void (*act_backward)(dl_backend *be, int act, float alpha, const float *x, const float *y,
                         const float *dy, float *dx, size_t n);
    /* y = softmax(x) per row, x and y [rows, cols] (may alias) */
    void (*softmax)(dl_backend *be, const float *x, float *y, int rows, int cols);
    /* dx = y * (dy - sum(dy * y)) per row */
    void (*softmax_backward)(dl_backend *be, const float *y, const float *dy, float *dx,
                             int rows, int cols);
    void (*scale)(dl_backend *be, float *x, float alpha, size_t n);           /* x *= alpha */
    void (*axpy)(dl_backend *be, float alpha, const float *x, float *y, size_t n); /* y += alpha x */
    void (*mul)(dl_backend *be, const float *a, const float *b, float *out, size_t n); /* out = a*b */
    void (*clip)(dl_backend *be, float *x, float lo, float hi, size_t n);

    /* ---- losses ----
     * pred [rows, cols]; target [rows] class ids (sparse) or [rows, cols].
     * Writes grad [rows, cols] = d(mean loss)/d pred (w.r.t. the logits when
     * from_logits) and returns the batch mean of the per-sample losses. */
    double (*loss)(dl_backend *be, const dl_loss_desc *d, const float *pred, const float *target,
                   float *grad, int rows, int cols);

    /* ---- metrics ----
     * Adds this batch's counts to the host accumulators acc[dl_metric_nacc]. */
    void (*metric)(dl_backend *be, const dl_metric_desc *d, const float *pred, const float *target,
                   int rows, int cols, double *acc);

    /* ---- randomness ----
     * Inverted dropout: mask[i] = keep ? 1/(1-rate) : 0 with keep drawn from
     * Philox(seed, counter = offset + i); y = x * mask. */
    void (*dropout)(dl_backend *be, uint64_t seed, uint64_t offset, float rate,
                    const float *x, float *y, float *mask, size_t n);

    /* ---- reductions ---- */
    double (*sumsq)(dl_backend *be, const float *x, size_t n);
    size_t (*count_nonfinite)(dl_backend *be, const float *x, size_t n);
    /* adds l1*sign(w) + 2*l2*w to g and returns l1*sum|w| + l2*sum w^2 */
    double (*regularize)(dl_backend *be, const float *w, float *g, size_t n, float l1, float l2);

    /* ---- optimizers ----
     * One fused update of one variable: w [n], g [n], slot j at
     * slots + j*slot_stride (dl_opt_nslots slots). */
    void (*opt_update)(dl_backend *be, const dl_opt_step *s, float *w, const float *g,
                       float *slots, size_t slot_stride, size_t n);

    /* ---- convolution (dl_conv_desc in kernels.h) ----
     * workspace: device floats of conv_workspace(d) that the three ops may
     * use as scratch (im2col columns on the CPU); the caller allocates it
     * once per shape. */
    size_t (*conv_workspace)(dl_backend *be, const dl_conv_desc *d);
    /* z [n, oh, ow, filters] = x conv kernel + a->bias, then y = a->act(z)
     * (y unused, may be NULL, for DL_ACT_LINEAR; z may be y: in place) */
    void (*conv_forward)(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                         const float *x, const float *kernel, float *z, float *y,
                         float *workspace);
    /* dx [n, h, w, c] = the gradient through the convolution of dy */
    void (*conv_backward_data)(dl_backend *be, const dl_conv_desc *d, const float *dy,
                               const float *kernel, float *dx, float *workspace);
    /* Through a->act first: dz = dy * act'(z), written over z (conv_backward_data's
     * dy next; z may be y where act' follows from y, ly_activation_in_place);
     * for DL_ACT_LINEAR dz = dy and z, y are unused. Then
     * dkernel [kh, kw, c, filters] and, unless NULL, dbias [filters]: the
     * gradients w.r.t. the kernel and the bias (overwritten). */
    void (*conv_backward_filter)(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                                 const float *x, float *z, const float *y, const float *dy,
                                 float *dkernel, float *dbias, float *workspace);

    /* ---- pooling (dl_pool_desc in kernels.h) ----
     * y [n, oh, ow, c]; backward: dx [n, h, w, c] (overwritten) from dy, given
     * the forward's x and y (max pooling routes to the first maximum). */
    void (*pool_forward)(dl_backend *be, const dl_pool_desc *d, const float *x, float *y);
    void (*pool_backward)(dl_backend *be, const dl_pool_desc *d, const float *x, const float *y,
                          const float *dy, float *dx);

    /* ---- normalization over the last axis: x [rows, c] ----
     * BatchNormalization, training: batch statistics (biased variance);
     * mean and inv_std [c] saved for backward; the moving statistics
     * updated as moving = moving * momentum + batch * (1 - momentum). */
    void (*batchnorm_train)(dl_backend *be, const float *x, int rows, int c, const float *gamma,
                            const float *beta, float epsilon, float momentum,
                            float *moving_mean, float *moving_var, float *y, float *mean,
                            float *inv_std);
    /* inference: y = gamma (x - moving_mean) / sqrt(moving_var + eps) + beta */
    void (*batchnorm_infer)(dl_backend *be, const float *x, int rows, int c, const float *gamma,
                            const float *beta, const float *moving_mean,
                            const float *moving_var, float epsilon, float *y);
    /* training backward: dx [rows, c], dgamma, dbeta [c] (overwritten) */
    void (*batchnorm_backward)(dl_backend *be, const float *x, const float *dy, int rows, int c,
                               const float *gamma, const float *mean, const float *inv_std,
                               float *dx, float *dgamma, float *dbeta);
    /* LayerNormalization per row: mean and inv_std [rows] saved */
    void (*layernorm_forward)(dl_backend *be, const float *x, int rows, int c,
                              const float *gamma, const float *beta, float epsilon, float *y,
                              float *mean, float *inv_std);
    void (*layernorm_backward)(dl_backend *be, const float *x, const float *dy, int rows, int c,
                               const float *gamma, const float *mean, const float *inv_std,
                               float *dx, float *dgamma, float *dbeta);

    /* ---- image reshaping, NHWC ----
     * zero padding: y [n, h + top + bottom, w + left + right, c]; backward
     * crops dy back to [n, h, w, c] */
    void (*pad2d)(dl_backend *be, const float *x, int n, int h, int w, int c, int top,
                  int bottom, int left, int right, float *y);
    void (*pad2d_backward)(dl_backend *be, const float *dy, int n, int h, int w, int c, int top,
                           int bottom, int left, int right, float *dx);
    /* nearest-neighbour upsampling by (fh, fw): y [n, h*fh, w*fw, c];
     * backward sums each block of dy */
    void (*upsample2d)(dl_backend *be, const float *x, int n, int h, int w, int c, int fh,
                       int fw, float *y);
    void (*upsample2d_backward)(dl_backend *be, const float *dy, int n, int h, int w, int c,
                                int fh, int fw, float *dx);
    /* y = x * scale + offset, elementwise (Rescaling) */
    void (*scale_shift)(dl_backend *be, const float *x, float scale, float offset, float *y,
                        size_t n);
    /* SpatialDropout2D: one keep/drop draw per (sample, channel): mask
     * [n, c] = keep / (1 - rate) from Philox(seed, offset + i); y [n, hw, c]
     * = x * mask broadcast over the hw positions */
    void (*channel_dropout)(dl_backend *be, uint64_t seed, uint64_t offset, float rate,
                            const float *x, int n, int hw, int c, float *y, float *mask);
    /* dx = dy * mask broadcast as above */
    void (*channel_mask_backward)(dl_backend *be, const float *dy, const float *mask, int n,
                                  int hw, int c, float *dx);
    /* one augmentation over a batch (dl_aug_desc in kernels.h); x, y [n, h, w, c] */
    void (*augment)(dl_backend *be, const dl_aug_desc *d, const float *x, float *y);
    /* its transpose: dx [n, h, w, c] (overwritten) from dy, with the same
     * per-sample draws (the same d) */
    void (*augment_backward)(dl_backend *be, const dl_aug_desc *d, const float *x,
                             const float *dy, float *dx);

    void (*destroy)(dl_backend *be);
};

/* The CPU backend; threads <= 0 keeps OpenBLAS's default. */
dl_backend *be_cpu_create(int threads, dl_err *err);

#ifdef __cplusplus
}
#endif

#endif
