// cuda_pool.cu: max and average pooling, NHWC. cuDNN runs every shape
// whose Keras padding it can express (gpu.h's rule: symmetric padding that
// starts the windows where Keras does); the rest (e.g. "same" with the odd
// pixel after) run the gather kernels of kernel_rows.h, the CPU's window
// math one element per thread. Both never let padding win a maximum and
// average over the valid pixels only (Keras "same").
#include "engine/backend/cuda_ctx.cuh"

#include <cstdio>
#include <cstring>

static void release_plan(cuda_ctx *ctx, cuda_pool_plan &p)
{
    if (p.x)
        CUDA_OK(ctx, cudnnDestroyTensorDescriptor(p.x));
    if (p.y)
        CUDA_OK(ctx, cudnnDestroyTensorDescriptor(p.y));
    if (p.pool)
        CUDA_OK(ctx, cudnnDestroyPoolingDescriptor(p.pool));
}

void cuda_release_pool_plans(cuda_ctx *ctx)
{
    for (cuda_pool_plan &p : ctx->pool_plans)
        release_plan(ctx, p);
    ctx->pool_plans.clear();
}

// cuDNN's output extent must be the layer's.
static bool check_output(cuda_ctx *ctx, const cuda_pool_plan &p)
{
    const dl_pool_desc &d = p.desc;
    int n, c, h, w;
    if (!CUDA_OK(ctx, cudnnGetPooling2dForwardOutputDim(p.pool, p.x, &n, &c, &h, &w)))
        return false;
    if (n == d.n && c == d.c && h == d.oh && w == d.ow)
        return true;
    char message[200];
    snprintf(message, sizeof message,
             "cuDNN's output is [%d, %d, %d, %d], the layer's [%d, %d, %d, %d]", n, h, w, c, d.n,
             d.oh, d.ow, d.c);
    cuda_fail(ctx, __FILE__, __LINE__, "cudnnGetPooling2dForwardOutputDim", message);
    return false;
}

// MAX_DETERMINISTIC: the same values as MAX, a backward that repeats bit
// for bit when windows overlap. EXCLUDE_PADDING: Keras's "same" average.
static bool make_cudnn_plan(cuda_ctx *ctx, cuda_pool_plan &p)
{
    const dl_pool_desc &d = p.desc;
    cudnnPoolingMode_t mode = d.kind == DL_POOL_MAX ? CUDNN_POOLING_MAX_DETERMINISTIC
                                                    : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    return CUDA_OK(ctx, cudnnCreateTensorDescriptor(&p.x)) &&
           CUDA_OK(ctx, cudnnCreateTensorDescriptor(&p.y)) &&
           CUDA_OK(ctx, cudnnCreatePoolingDescriptor(&p.pool)) &&
           CUDA_OK(ctx, cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, d.n,
                                                   d.c, d.h, d.w)) &&
           CUDA_OK(ctx, cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, d.n,
                                                   d.c, d.oh, d.ow)) &&
           CUDA_OK(ctx, cudnnSetPooling2dDescriptor(p.pool, mode, CUDNN_NOT_PROPAGATE_NAN, d.ph,
                                                    d.pw, d.pad_top, d.pad_left, d.sh, d.sw)) &&
           check_output(ctx, p);
}

// The plan of d, made on first use (NULL after a failure, latched).
static const cuda_pool_plan *plan_for(dl_backend *be, const dl_pool_desc *d)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx || d->n <= 0)
        return nullptr;
    for (const cuda_pool_plan &p : ctx->pool_plans)
        if (!memcmp(&p.desc, d, sizeof *d))
            return &p;
    cuda_pool_plan p{};
    p.desc = *d;
    p.use_cudnn = dl_cudnn_pad_matches(d->h, d->pad_top, d->ph, d->sh, d->oh) &&
                  dl_cudnn_pad_matches(d->w, d->pad_left, d->pw, d->sw, d->ow);
    if (p.use_cudnn && !make_cudnn_plan(ctx, p)) {
        release_plan(ctx, p);
        return nullptr;
    }
    ctx->pool_plans.push_back(p);
    return &ctx->pool_plans.back();
}

// y [n, oh, ow, c]
static void cuda_pool_forward(dl_backend *be, const dl_pool_desc *d, const float *x, float *y)
{
    const cuda_pool_plan *p = plan_for(be, d);
    if (!p)
        return;
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    const float one = 1.0f, zero = 0.0f;
    dl_pool_desc desc = *d;
    if (p->use_cudnn)
        CUDA_OK(ctx, cudnnPoolingForward(ctx->dnn, p->pool, &one, p->x, x, &zero, p->y, y));
    else
        FOR_EACH(ctx, (size_t)desc.n * desc.oh * desc.ow * desc.c,
                 [=] __device__(size_t i) { y[i] = dl_row_pool_forward_at(&desc, x, i); });
}

// dx [n, h, w, c] (overwritten) from dy, given the forward's x and y
static void cuda_pool_backward(dl_backend *be, const dl_pool_desc *d, const float *x,
                               const float *y, const float *dy, float *dx)
{
    const cuda_pool_plan *p = plan_for(be, d);
    if (!p)
        return;
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    const float one = 1.0f, zero = 0.0f;
    dl_pool_desc desc = *d;
    if (p->use_cudnn)
        CUDA_OK(ctx, cudnnPoolingBackward(ctx->dnn, p->pool, &one, p->y, y, p->y, dy, p->x, x,
                                          &zero, p->x, dx));
    else
        FOR_EACH(ctx, (size_t)desc.n * desc.h * desc.w * desc.c,
                 [=] __device__(size_t i) { dx[i] = dl_row_pool_backward_at(&desc, x, y, dy, i); });
}

void cuda_set_pool_ops(dl_backend *be)
{
    be->pool_forward = cuda_pool_forward;
    be->pool_backward = cuda_pool_backward;
}
