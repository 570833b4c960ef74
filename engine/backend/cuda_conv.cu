// cuda_conv.cu: 2-D convolution (Conv1D is h = kh = 1) through cuDNN, all
// tensors NHWC. Each dl_conv_desc, batch size included, gets a plan once:
// descriptors and the three algorithms, chosen by cuDNN's heuristics
// (deterministic ones only, FP32 arithmetic), and the workspace they need;
// conv_workspace answers with that size, so the layers allocate it at
// model build and every call reuses it.
//
// Two things differ from Keras and are bridged here:
// - cuDNN reads filters as [filters, kh, kw, c], Keras stores [kh, kw, c,
//   filters]: the [kh*kw*c, filters] matrix is transposed into the
//   workspace before use, and the filter gradient transposed back.
// - cuDNN pads symmetrically. Where its windows do not start where Keras's
//   do (gpu.h's rule), the input is copied into a zero-padded buffer in the
//   workspace and cuDNN runs unpadded; backward-data then crops.
#include "engine/backend/cuda_ctx.cuh"

#include <cstdio>
#include <cstring>

constexpr size_t CONV_ALIGN = 256; // bytes: each workspace part starts aligned
constexpr size_t CONV_MAX_CUDNN_BYTES = size_t(512) << 20; // cuDNN scratch per convolution

static size_t align_up(size_t bytes)
{
    return (bytes + CONV_ALIGN - 1) / CONV_ALIGN * CONV_ALIGN;
}

static int span(int kernel, int dilation)
{
    return (kernel - 1) * dilation + 1;
}

// The parts of a plan's workspace.
struct conv_parts {
    float *kernel; // [filters, kh, kw, c]: the kernel or its gradient in cuDNN's order
    float *padded; // [n, padded_h, padded_w, c]: x or dx with Keras's padding, if explicit
    void *cudnn;   // cudnn_bytes
};

static conv_parts parts_of(const cuda_conv_plan &p, float *workspace)
{
    char *base = reinterpret_cast<char *>(workspace);
    return {workspace, reinterpret_cast<float *>(base + p.kernel_bytes),
            base + p.kernel_bytes + p.padded_bytes};
}

static size_t plan_floats(const cuda_conv_plan &p)
{
    return (p.kernel_bytes + p.padded_bytes + p.cudnn_bytes + sizeof(float) - 1) / sizeof(float);
}

static void release_plan(cuda_ctx *ctx, cuda_conv_plan &p)
{
    if (p.x)
        CUDA_OK(ctx, cudnnDestroyTensorDescriptor(p.x));
    if (p.y)
        CUDA_OK(ctx, cudnnDestroyTensorDescriptor(p.y));
    if (p.w)
        CUDA_OK(ctx, cudnnDestroyFilterDescriptor(p.w));
    if (p.conv)
        CUDA_OK(ctx, cudnnDestroyConvolutionDescriptor(p.conv));
}

void cuda_release_conv_plans(cuda_ctx *ctx)
{
    for (cuda_conv_plan &p : ctx->conv_plans)
        release_plan(ctx, p);
    ctx->conv_plans.clear();
}

// cuDNN's output extent must be the layer's; anything else is a bug here.
static bool check_output(cuda_ctx *ctx, const cuda_conv_plan &p)
{
    const dl_conv_desc &d = p.desc;
    int n, c, h, w;
    if (!CUDA_OK(ctx, cudnnGetConvolution2dForwardOutputDim(p.conv, p.x, p.w, &n, &c, &h, &w)))
        return false;
    if (n == d.n && c == d.filters && h == d.oh && w == d.ow)
        return true;
    char message[200];
    snprintf(message, sizeof message,
             "cuDNN's output is [%d, %d, %d, %d], the layer's [%d, %d, %d, %d]", n, h, w, c, d.n,
             d.oh, d.ow, d.filters);
    cuda_fail(ctx, __FILE__, __LINE__, "cudnnGetConvolution2dForwardOutputDim", message);
    return false;
}

// The first algorithm of cuDNN's heuristic ranking that passed its checks,
// is deterministic (runs repeat bit for bit) and needs at most `limit`
// bytes of workspace.
template <class Perf, class Algo>
static bool pick(cuda_ctx *ctx, const char *direction, const Perf *perf, int count, size_t limit,
                 Algo *algo)
{
    for (int i = 0; i < count; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].determinism == CUDNN_DETERMINISTIC &&
            perf[i].memory <= limit) {
            *algo = perf[i].algo;
            return true;
        }
    char message[200];
    snprintf(message, sizeof message,
             "no deterministic algorithm within %zu MiB of workspace among cuDNN's %d candidates",
             limit >> 20, count);
    cuda_fail(ctx, __FILE__, __LINE__, direction, message);
    return false;
}

// The three algorithms and the workspace bytes the largest needs.
static bool choose_algorithms(cuda_ctx *ctx, cuda_conv_plan &p, size_t limit)
{
    cudnnConvolutionFwdAlgoPerf_t forward[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    cudnnConvolutionBwdDataAlgoPerf_t data[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    cudnnConvolutionBwdFilterAlgoPerf_t filter[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n_forward = 0, n_data = 0, n_filter = 0;
    size_t forward_bytes = 0, data_bytes = 0, filter_bytes = 0;
    bool ok =
        CUDA_OK(ctx, cudnnGetConvolutionForwardAlgorithm_v7(ctx->dnn, p.x, p.w, p.conv, p.y,
                                                            CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                            &n_forward, forward)) &&
        CUDA_OK(ctx, cudnnGetConvolutionBackwardDataAlgorithm_v7(
                         ctx->dnn, p.w, p.y, p.conv, p.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                         &n_data, data)) &&
        CUDA_OK(ctx, cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                         ctx->dnn, p.x, p.y, p.conv, p.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                         &n_filter, filter)) &&
        pick(ctx, "convolution forward", forward, n_forward, limit, &p.forward) &&
        pick(ctx, "convolution backward data", data, n_data, limit, &p.backward_data) &&
        pick(ctx, "convolution backward filter", filter, n_filter, limit, &p.backward_filter) &&
        CUDA_OK(ctx, cudnnGetConvolutionForwardWorkspaceSize(ctx->dnn, p.x, p.w, p.conv, p.y,
                                                             p.forward, &forward_bytes)) &&
        CUDA_OK(ctx, cudnnGetConvolutionBackwardDataWorkspaceSize(ctx->dnn, p.w, p.y, p.conv, p.x,
                                                                  p.backward_data, &data_bytes)) &&
        CUDA_OK(ctx, cudnnGetConvolutionBackwardFilterWorkspaceSize(
                         ctx->dnn, p.x, p.y, p.conv, p.w, p.backward_filter, &filter_bytes));
    p.cudnn_bytes = std::max({forward_bytes, data_bytes, filter_bytes});
    return ok;
}

// Descriptors, padding and algorithms of a new plan. cuDNN's part of the
// workspace may take up to `workspace_bytes` less the plan's other parts.
static bool make_plan(cuda_ctx *ctx, cuda_conv_plan &p, size_t workspace_bytes)
{
    const dl_conv_desc &d = p.desc;
    int span_h = span(d.kh, d.dh), span_w = span(d.kw, d.dw);
    int in_h = d.h, in_w = d.w, pad_h = d.pad_top, pad_w = d.pad_left;
    p.explicit_padding = !dl_cudnn_pad_matches(d.h, d.pad_top, span_h, d.sh, d.oh) ||
                         !dl_cudnn_pad_matches(d.w, d.pad_left, span_w, d.sw, d.ow);
    if (p.explicit_padding) {
        in_h = p.padded_h = dl_cudnn_padded_extent(span_h, d.sh, d.oh);
        in_w = p.padded_w = dl_cudnn_padded_extent(span_w, d.sw, d.ow);
        pad_h = pad_w = 0;
    }
    p.kernel_bytes = align_up((size_t)d.kh * d.kw * d.c * d.filters * sizeof(float));
    p.padded_bytes =
        p.explicit_padding ? align_up((size_t)d.n * in_h * in_w * d.c * sizeof(float)) : 0;
    size_t other_parts = p.kernel_bytes + p.padded_bytes;
    size_t limit = std::min(CONV_MAX_CUDNN_BYTES,
                            workspace_bytes > other_parts ? workspace_bytes - other_parts : 0);
    return CUDA_OK(ctx, cudnnCreateTensorDescriptor(&p.x)) &&
           CUDA_OK(ctx, cudnnCreateTensorDescriptor(&p.y)) &&
           CUDA_OK(ctx, cudnnCreateFilterDescriptor(&p.w)) &&
           CUDA_OK(ctx, cudnnCreateConvolutionDescriptor(&p.conv)) &&
           // dimensions are given as n, c, h, w whatever the layout
           CUDA_OK(ctx, cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, d.n,
                                                   d.c, in_h, in_w)) &&
           CUDA_OK(ctx, cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, d.n,
                                                   d.filters, d.oh, d.ow)) &&
           CUDA_OK(ctx, cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC,
                                                   d.filters, d.c, d.kh, d.kw)) &&
           CUDA_OK(ctx,
                   cudnnSetConvolution2dDescriptor(p.conv, pad_h, pad_w, d.sh, d.sw, d.dh, d.dw,
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT)) &&
           // FP32 arithmetic: CUDNN_DEFAULT_MATH would allow TF32
           CUDA_OK(ctx, cudnnSetConvolutionMathType(p.conv, CUDNN_FMA_MATH)) &&
           check_output(ctx, p) && choose_algorithms(ctx, p, limit);
}

// The plan of d, made on first use (NULL after a failure, latched).
static const cuda_conv_plan *plan_for(cuda_ctx *ctx, const dl_conv_desc *d, size_t workspace_bytes)
{
    for (const cuda_conv_plan &p : ctx->conv_plans)
        if (!memcmp(&p.desc, d, sizeof *d))
            return &p;
    cuda_conv_plan p{};
    p.desc = *d;
    if (!make_plan(ctx, p, workspace_bytes)) {
        release_plan(ctx, p);
        return nullptr;
    }
    ctx->conv_plans.push_back(p);
    return &ctx->conv_plans.back();
}

// Planned at model build for the batch size of the buffers (any size the
// layer asks for fits CONV_MAX_CUDNN_BYTES).
static size_t cuda_conv_workspace(dl_backend *be, const dl_conv_desc *d)
{
    cuda_ctx *ctx = cuda_live(be);
    const cuda_conv_plan *p = ctx && d->n > 0 ? plan_for(ctx, d, SIZE_MAX) : nullptr;
    return p ? plan_floats(*p) : 0;
}

// The workspace a layer was given holds at least what conv_workspace
// answered for its shape at the batch size of the buffers: the budget of a
// batch size planned only when it comes (the last, partial batch).
static size_t planned_workspace_bytes(const cuda_ctx *ctx, const dl_conv_desc *d)
{
    size_t floats = 0;
    for (const cuda_conv_plan &p : ctx->conv_plans) {
        dl_conv_desc same_shape = p.desc;
        same_shape.n = d->n;
        if (!memcmp(&same_shape, d, sizeof *d))
            floats = std::max(floats, plan_floats(p));
    }
    return floats * sizeof(float);
}

// The plan of an op's call.
static const cuda_conv_plan *plan_for_op(dl_backend *be, const dl_conv_desc *d)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx || d->n <= 0)
        return nullptr;
    return plan_for(ctx, d, planned_workspace_bytes(ctx, d));
}

// Keras kernel [kh*kw*c, filters] -> cuDNN's [filters, kh*kw*c]
static bool kernel_to_cudnn(cuda_ctx *ctx, const dl_conv_desc &d, const float *kernel, float *dst)
{
    return cuda_transpose(ctx, kernel, d.kh * d.kw * d.c, d.filters, dst);
}

// x as cuDNN reads it: x itself, or its padded copy.
static const float *input_of(cuda_ctx *ctx, const cuda_conv_plan &p, const float *x, float *padded)
{
    if (!p.explicit_padding)
        return x;
    const dl_conv_desc &d = p.desc;
    dl_row_window pad = {d.n, d.c, d.h, d.w, p.padded_h, p.padded_w, -d.pad_top, -d.pad_left};
    return cuda_copy_window(ctx, &pad, x, padded) ? padded : nullptr;
}

// z [n, oh, ow, filters] = x conv kernel + bias, y = act(z): cuDNN's
// product, then the backend's own bias and activation ops.
static void cuda_conv_forward(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                              const float *x, const float *kernel, float *z, float *y,
                              float *workspace)
{
    const cuda_conv_plan *p = plan_for_op(be, d);
    if (!p)
        return;
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    conv_parts s = parts_of(*p, workspace);
    const float one = 1.0f, zero = 0.0f;
    const float *input = input_of(ctx, *p, x, s.padded);
    if (!input || !kernel_to_cudnn(ctx, *d, kernel, s.kernel) ||
        !CUDA_OK(ctx, cudnnConvolutionForward(ctx->dnn, &one, p->x, input, p->w, s.kernel,
                                              p->conv, p->forward, s.cudnn, p->cudnn_bytes,
                                              &zero, p->y, z)))
        return;
    int rows = d->n * d->oh * d->ow;
    if (a->bias)
        be->add_bias(be, z, a->bias, rows, d->filters);
    if (a->act != DL_ACT_LINEAR)
        be->act_forward(be, a->act, a->alpha, z, y, (size_t)rows * d->filters);
}

// dx [n, h, w, c] (overwritten): through the padded extent and cropped
// when the padding is explicit.
static void cuda_conv_backward_data(dl_backend *be, const dl_conv_desc *d, const float *dy,
                                    const float *kernel, float *dx, float *workspace)
{
    const cuda_conv_plan *p = plan_for_op(be, d);
    if (!p)
        return;
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    conv_parts s = parts_of(*p, workspace);
    const float one = 1.0f, zero = 0.0f;
    float *target = p->explicit_padding ? s.padded : dx;
    if (!kernel_to_cudnn(ctx, *d, kernel, s.kernel) ||
        !CUDA_OK(ctx, cudnnConvolutionBackwardData(ctx->dnn, &one, p->w, s.kernel, p->y, dy,
                                                   p->conv, p->backward_data, s.cudnn,
                                                   p->cudnn_bytes, &zero, p->x, target)))
        return;
    if (p->explicit_padding) {
        dl_row_window crop = {d->n, d->c, p->padded_h, p->padded_w,
                              d->h, d->w, d->pad_top,  d->pad_left};
        cuda_copy_window(ctx, &crop, s.padded, dx);
    }
}

// dz = dy * act'(z) over z (the backend's activation op), then dkernel
// [kh, kw, c, filters] from cuDNN and dbias [filters] (both overwritten).
static void cuda_conv_backward_filter(dl_backend *be, const dl_conv_desc *d,
                                      const dl_conv_act *a, const float *x, float *z,
                                      const float *y, const float *dy, float *dkernel,
                                      float *dbias, float *workspace)
{
    const cuda_conv_plan *p = plan_for_op(be, d);
    if (!p)
        return;
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    conv_parts s = parts_of(*p, workspace);
    const float one = 1.0f, zero = 0.0f;
    int rows = d->n * d->oh * d->ow;
    const float *dz = dy;
    if (a->act != DL_ACT_LINEAR) {
        be->act_backward(be, a->act, a->alpha, z, y, dy, z, (size_t)rows * d->filters);
        dz = z;
    }
    if (dbias)
        be->bias_grad(be, dbias, dz, rows, d->filters, 0);
    const float *input = input_of(ctx, *p, x, s.padded);
    if (input &&
        CUDA_OK(ctx, cudnnConvolutionBackwardFilter(ctx->dnn, &one, p->x, input, p->y, dz, p->conv,
                                                    p->backward_filter, s.cudnn, p->cudnn_bytes,
                                                    &zero, p->w, s.kernel)))
        cuda_transpose(ctx, s.kernel, d->filters, d->kh * d->kw * d->c, dkernel);
}

void cuda_set_conv_ops(dl_backend *be)
{
    be->conv_workspace = cuda_conv_workspace;
    be->conv_forward = cuda_conv_forward;
    be->conv_backward_data = cuda_conv_backward_data;
    be->conv_backward_filter = cuda_conv_backward_filter;
}
