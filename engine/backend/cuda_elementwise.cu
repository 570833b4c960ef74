// cuda_elementwise.cu: bias, activations, softmax, the small vector ops,
// dropout and the optimizer update. One thread per element running the
// per-element math of kernels.h, which the CPU backend runs too; softmax
// goes through cuDNN. Inputs and outputs may be the same buffer, as on
// the CPU.
#include "engine/backend/cuda_ctx.cuh"

// y [rows, cols] += bias [cols] per row
static void cuda_add_bias(dl_backend *be, float *y, const float *bias, int rows, int cols)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, (size_t)rows * cols, [=] __device__(size_t i) { y[i] += bias[i % cols]; });
}

// db [cols] (+)= the column sums of dy [rows, cols]
static void cuda_bias_grad(dl_backend *be, float *db, const float *dy, int rows, int cols,
                           int accumulate)
{
    if (cuda_ctx *ctx = cuda_live(be))
        COLUMN_SUMS(
            1, ctx, rows, cols,
            [=] __device__(int r, int c, double *acc) { acc[0] += dy[(size_t)r * cols + c]; },
            [=] __device__(size_t c, const double *sum) {
                db[c] = (float)((accumulate ? db[c] : 0.0) + sum[0]);
            });
}

static void cuda_act_forward(dl_backend *be, int act, float alpha, const float *x, float *y,
                             size_t n)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx)
        return;
    if (act == DL_ACT_LINEAR)
        be->copy(be, y, x, n);
    else
        FOR_EACH(ctx, n, [=] __device__(size_t i) { y[i] = dl_act_f(act, x[i], alpha); });
}

// linear reads neither x nor y, as on the CPU
static void cuda_act_backward(dl_backend *be, int act, float alpha, const float *x, const float *y,
                              const float *dy, float *dx, size_t n)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx)
        return;
    if (act == DL_ACT_LINEAR)
        be->copy(be, dx, dy, n);
    else
        FOR_EACH(ctx, n,
                 [=] __device__(size_t i) { dx[i] = dy[i] * dl_act_df(act, x[i], y[i], alpha); });
}

// [rows, cols] as cuDNN's NCHW [rows, cols, 1, 1]: one softmax per row.
static bool set_rows(cuda_ctx *ctx, int rows, int cols)
{
    return CUDA_OK(ctx, cudnnSetTensor4dDescriptor(ctx->rows, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                   rows, cols, 1, 1));
}

// ACCURATE subtracts each row's maximum first, as the CPU does.
static void cuda_softmax(dl_backend *be, const float *x, float *y, int rows, int cols)
{
    cuda_ctx *ctx = cuda_live(be);
    const float one = 1.0f, zero = 0.0f;
    if (ctx && rows > 0 && cols > 0 && set_rows(ctx, rows, cols))
        CUDA_OK(ctx,
                cudnnSoftmaxForward(ctx->dnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE,
                                    &one, ctx->rows, x, &zero, ctx->rows, y));
}

// dx = y (dy - sum(dy y)) per row
static void cuda_softmax_backward(dl_backend *be, const float *y, const float *dy, float *dx,
                                  int rows, int cols)
{
    cuda_ctx *ctx = cuda_live(be);
    const float one = 1.0f, zero = 0.0f;
    if (ctx && rows > 0 && cols > 0 && set_rows(ctx, rows, cols))
        CUDA_OK(ctx,
                cudnnSoftmaxBackward(ctx->dnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE,
                                     &one, ctx->rows, y, ctx->rows, dy, &zero, ctx->rows, dx));
}

static void cuda_scale(dl_backend *be, float *x, float alpha, size_t n)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, n, [=] __device__(size_t i) { x[i] *= alpha; });
}

static void cuda_axpy(dl_backend *be, float alpha, const float *x, float *y, size_t n)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, n, [=] __device__(size_t i) { y[i] += alpha * x[i]; });
}

static void cuda_mul(dl_backend *be, const float *a, const float *b, float *out, size_t n)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, n, [=] __device__(size_t i) { out[i] = a[i] * b[i]; });
}

// NaN stays NaN, as on the CPU
static void cuda_clip(dl_backend *be, float *x, float lo, float hi, size_t n)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, n, [=] __device__(size_t i) {
            x[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
        });
}

static void cuda_scale_shift(dl_backend *be, const float *x, float scale, float offset, float *y,
                             size_t n)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, n, [=] __device__(size_t i) { y[i] = x[i] * scale + offset; });
}

// Element i keeps with Philox number offset + i of stream 0: the CPU's masks.
static void cuda_dropout(dl_backend *be, uint64_t seed, uint64_t offset, float rate, const float *x,
                         float *y, float *mask, size_t n)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, n, [=] __device__(size_t i) {
            float keep = dl_dropout_mask(dl_rand_u32(seed, 0, offset + i), rate);
            mask[i] = keep;
            y[i] = x[i] * keep;
        });
}

// w [n], g [n]; slot j of element i at slots[j * slot_stride + i]
static void cuda_opt_update(dl_backend *be, const dl_opt_step *s, float *w, const float *g,
                            float *slots, size_t slot_stride, size_t n)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx)
        return;
    dl_opt_step step = *s;
    FOR_EACH(ctx, n, [=] __device__(size_t i) {
        dl_opt_update_elem(&step, &w[i], g[i], &slots[i], slot_stride);
    });
}

void cuda_set_elementwise_ops(dl_backend *be)
{
    be->add_bias = cuda_add_bias;
    be->bias_grad = cuda_bias_grad;
    be->act_forward = cuda_act_forward;
    be->act_backward = cuda_act_backward;
    be->softmax = cuda_softmax;
    be->softmax_backward = cuda_softmax_backward;
    be->scale = cuda_scale;
    be->axpy = cuda_axpy;
    be->mul = cuda_mul;
    be->clip = cuda_clip;
    be->scale_shift = cuda_scale_shift;
    be->dropout = cuda_dropout;
    be->opt_update = cuda_opt_update;
}
