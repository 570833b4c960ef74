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

struct dl_backend {
    const char *name;           /* "cpu", "cuda" */
    void *ctx;

    /* ---- memory ---- */
    float *(*alloc)(dl_backend *be, size_t n);           /* zero-filled; NULL if out of memory */
    void (*release)(dl_backend *be, float *p);
    void (*upload)(dl_backend *be, float *dst, const float *host_src, size_t n);
    void (*download)(dl_backend *be, float *host_dst, const float *src, size_t n);
    void (*fill)(dl_backend *be, float *x, float value, size_t n);
    void (*copy)(dl_backend *be, float *dst, const float *src, size_t n);
    int (*status)(dl_backend *be, dl_err *err);          /* DL_OK or the first latched error */

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

    void (*destroy)(dl_backend *be);
};

/* The CPU backend; threads <= 0 keeps OpenBLAS's default. */
dl_backend *be_cpu_create(int threads, dl_err *err);

#ifdef __cplusplus
}
#endif

#endif
