// cuda_norm.cu: normalization over the last axis of x [rows, c].
//
// BatchNormalization runs in cuDNN (spatial mode; x described as NCHW
// [rows, c, 1, 1], the same bytes as NHWC activations, so the statistics
// run per channel over every row). Two Keras differences are bridged:
// cuDNN updates running statistics with the unbiased variance, so it gets
// throw-away running buffers and the moving statistics are updated here
// from the batch's biased variance (dl_norm_moving); and its backward wants
// the forward's epsilon, which the op does not carry, so the context keeps
// it by the inv_std buffer.
//
// LayerNormalization has no cuDNN counterpart in the legacy API: one
// thread per row runs the CPU's row math (kernel_rows.h), the parameter
// gradients are column sums.
#include "engine/backend/cuda_ctx.cuh"

// ctx->rows: x [rows, c] as NCHW [rows, c, 1, 1]; ctx->channels: gamma,
// beta and the statistics as [1, c, 1, 1].
static bool describe(cuda_ctx *ctx, int rows, int c)
{
    return CUDA_OK(ctx, cudnnSetTensor4dDescriptor(ctx->rows, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                   rows, c, 1, 1)) &&
           CUDA_OK(ctx, cudnnSetTensor4dDescriptor(ctx->channels, CUDNN_TENSOR_NCHW,
                                                   CUDNN_DATA_FLOAT, 1, c, 1, 1));
}

static void remember_epsilon(cuda_ctx *ctx, const float *inv_std, double epsilon)
{
    for (cuda_bn_epsilon &e : ctx->bn_epsilons)
        if (e.inv_std == inv_std) {
            e.epsilon = epsilon;
            return;
        }
    ctx->bn_epsilons.push_back({inv_std, epsilon});
}

static bool recall_epsilon(cuda_ctx *ctx, const float *inv_std, double *epsilon)
{
    for (const cuda_bn_epsilon &e : ctx->bn_epsilons)
        if (e.inv_std == inv_std) {
            *epsilon = e.epsilon;
            return true;
        }
    cuda_fail(ctx, __FILE__, __LINE__, "batchnorm_backward",
              "no batchnorm_train wrote these saved statistics");
    return false;
}

// y, mean, inv_std from the batch; moving = moving m + batch (1 - m)
static void cuda_batchnorm_train(dl_backend *be, const float *x, int rows, int c,
                                 const float *gamma, const float *beta, float epsilon,
                                 float momentum, float *moving_mean, float *moving_var, float *y,
                                 float *mean, float *inv_std)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx || rows <= 0 || c <= 0 || !describe(ctx, rows, c))
        return;
    const float one = 1.0f, zero = 0.0f;
    size_t bytes = 2 * (size_t)c * sizeof(float);
    float *discarded = static_cast<float *>(cuda_scratch(ctx, bytes, __FILE__, __LINE__)); // [2, c]
    // factor 1 overwrites the running buffers; zeros keep 0 * garbage out of them
    if (!discarded || !CUDA_OK(ctx, cudaMemsetAsync(discarded, 0, bytes, ctx->stream)) ||
        !CUDA_OK(ctx, cudnnBatchNormalizationForwardTraining(
                          ctx->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, ctx->rows, x, ctx->rows,
                          y, ctx->channels, gamma, beta, 1.0, discarded, discarded + c, epsilon,
                          mean, inv_std)))
        return;
    remember_epsilon(ctx, inv_std, epsilon);
    FOR_EACH(ctx, c, [=] __device__(size_t k) {
        moving_mean[k] = dl_norm_moving(moving_mean[k], mean[k], momentum);
        moving_var[k] = dl_norm_moving(moving_var[k],
                                       dl_row_variance_from_inv_std(inv_std[k], epsilon), momentum);
    });
}

// y = gamma (x - moving_mean) / sqrt(moving_var + eps) + beta
static void cuda_batchnorm_infer(dl_backend *be, const float *x, int rows, int c,
                                 const float *gamma, const float *beta, const float *moving_mean,
                                 const float *moving_var, float epsilon, float *y)
{
    cuda_ctx *ctx = cuda_live(be);
    const float one = 1.0f, zero = 0.0f;
    if (ctx && rows > 0 && c > 0 && describe(ctx, rows, c))
        CUDA_OK(ctx, cudnnBatchNormalizationForwardInference(
                         ctx->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, ctx->rows, x, ctx->rows, y,
                         ctx->channels, gamma, beta, moving_mean, moving_var, epsilon));
}

// dx [rows, c], dgamma, dbeta [c] (overwritten: the parameter beta is 0)
static void cuda_batchnorm_backward(dl_backend *be, const float *x, const float *dy, int rows,
                                    int c, const float *gamma, const float *mean,
                                    const float *inv_std, float *dx, float *dgamma, float *dbeta)
{
    cuda_ctx *ctx = cuda_live(be);
    double epsilon;
    const float one = 1.0f, zero = 0.0f;
    if (ctx && rows > 0 && c > 0 && recall_epsilon(ctx, inv_std, &epsilon) &&
        describe(ctx, rows, c))
        CUDA_OK(ctx, cudnnBatchNormalizationBackward(ctx->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero,
                                                     &one, &zero, ctx->rows, x, ctx->rows, dy,
                                                     ctx->rows, dx, ctx->channels, gamma, dgamma,
                                                     dbeta, epsilon, mean, inv_std));
}

static void cuda_layernorm_forward(dl_backend *be, const float *x, int rows, int c,
                                   const float *gamma, const float *beta, float epsilon, float *y,
                                   float *mean, float *inv_std)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, rows, [=] __device__(size_t r) {
            dl_row_layernorm_row(x, (int)r, c, gamma, beta, epsilon, y, mean, inv_std);
        });
}

// dx per row; dgamma = sum dy xhat, dbeta = sum dy over the rows
static void cuda_layernorm_backward(dl_backend *be, const float *x, const float *dy, int rows,
                                    int c, const float *gamma, const float *mean,
                                    const float *inv_std, float *dx, float *dgamma, float *dbeta)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx || !FOR_EACH(ctx, rows, [=] __device__(size_t r) {
            dl_row_layernorm_backward_row(x, dy, (int)r, c, gamma, mean, inv_std, dx);
        }))
        return;
    COLUMN_SUMS(
        2, ctx, rows, c,
        [=] __device__(int r, int k, double *acc) {
            dl_row_layernorm_param_terms(x, dy, r, k, c, mean, inv_std, acc);
        },
        [=] __device__(size_t k, const double *sums) {
            dgamma[k] = (float)sums[0];
            dbeta[k] = (float)sums[1];
        });
}

void cuda_set_norm_ops(dl_backend *be)
{
    be->batchnorm_train = cuda_batchnorm_train;
    be->batchnorm_infer = cuda_batchnorm_infer;
    be->batchnorm_backward = cuda_batchnorm_backward;
    be->layernorm_forward = cuda_layernorm_forward;
    be->layernorm_backward = cuda_layernorm_backward;
}
