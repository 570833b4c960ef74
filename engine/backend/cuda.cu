// cuda.cu: the CUDA backend's entry point, its context and the memory ops:
// device, stream and library handles, allocation, copies, the latched
// error. The other ops live in cuda_blas.cu, cuda_elementwise.cu,
// cuda_reduce.cu, cuda_conv.cu, cuda_pool.cu, cuda_norm.cu and
// cuda_image.cu, each filling its part of the op table. Built into
// libdltrain_cuda.so, which exports dl_cuda_backend_create only (gpu.h).
//
// Every op is queued on one stream, in the order the layers call them:
// a batch's upload from page-locked staging memory (host_alloc) runs
// asynchronously ahead of the forward pass, and the host prepares the next
// batch while the device runs the backward pass and the update. Values
// come back to the host only where an op returns one (loss, metrics,
// reductions, download) and at `status`.
#include "engine/backend/cuda_ctx.cuh"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#ifndef DL_CUDA_ARCHS
#error "DL_CUDA_ARCHS, the GPU code this build embeds (for messages), comes from the Makefile"
#endif

constexpr size_t INITIAL_SCRATCH_BYTES = size_t(1) << 20;
constexpr size_t MIB = size_t(1) << 20;

// ---- errors ----

cuda_ctx *cuda_live(dl_backend *be)
{
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    return ctx->failed ? nullptr : ctx;
}

void cuda_fail(cuda_ctx *ctx, const char *file, int line, const char *call, const char *message)
{
    if (ctx->failed)
        return;
    ctx->failed = true;
    ctx->error.exit_code = DL_EXIT_FAIL;
    snprintf(ctx->error.msg, sizeof ctx->error.msg, "CUDA error at %s:%d: %s: %s", file, line, call,
             message);
}

// In sync mode every successful call also waits for the stream, so that
// an asynchronous failure is blamed on the call that queued it.
static bool cuda_synced(cuda_ctx *ctx, const char *file, int line, const char *call)
{
    if (!ctx->sync_each_op)
        return true;
    cudaError_t status = cudaStreamSynchronize(ctx->stream);
    if (status == cudaSuccess)
        return true;
    cuda_fail(ctx, file, line, call, cudaGetErrorString(status));
    return false;
}

bool cuda_check(cuda_ctx *ctx, cudaError_t status, const char *file, int line, const char *call)
{
    if (status == cudaSuccess)
        return cuda_synced(ctx, file, line, call);
    char message[256];
    snprintf(message, sizeof message, "%s (%s)", cudaGetErrorString(status),
             cudaGetErrorName(status));
    cuda_fail(ctx, file, line, call, message);
    return false;
}

bool cuda_check(cuda_ctx *ctx, cublasStatus_t status, const char *file, int line, const char *call)
{
    if (status == CUBLAS_STATUS_SUCCESS)
        return cuda_synced(ctx, file, line, call);
    char message[256];
    snprintf(message, sizeof message, "%s (%s)", cublasGetStatusString(status),
             cublasGetStatusName(status));
    cuda_fail(ctx, file, line, call, message);
    return false;
}

bool cuda_check(cuda_ctx *ctx, cudnnStatus_t status, const char *file, int line, const char *call)
{
    if (status == CUDNN_STATUS_SUCCESS)
        return cuda_synced(ctx, file, line, call);
    char detail[256], message[600];
    cudnnGetLastErrorString(detail, sizeof detail);
    snprintf(message, sizeof message, "%s (%s)", cudnnGetErrorString(status), detail);
    cuda_fail(ctx, file, line, call, message);
    return false;
}

bool cuda_launched(cuda_ctx *ctx, const char *file, int line, const char *kernel)
{
    return cuda_check(ctx, cudaGetLastError(), file, line, kernel);
}

void *cuda_scratch(cuda_ctx *ctx, size_t bytes, const char *file, int line)
{
    if (bytes <= ctx->scratch_bytes)
        return ctx->scratch;
    // the old scratch may still be read by queued work
    if (!cuda_check(ctx, cudaStreamSynchronize(ctx->stream), file, line, "cudaStreamSynchronize") ||
        !cuda_check(ctx, cudaFree(ctx->scratch), file, line, "cudaFree(scratch)"))
        return nullptr;
    ctx->scratch = nullptr;
    ctx->scratch_bytes = 0;
    if (!cuda_check(ctx, cudaMalloc(&ctx->scratch, bytes), file, line, "cudaMalloc(scratch)"))
        return nullptr;
    ctx->scratch_bytes = bytes;
    return ctx->scratch;
}

bool cuda_fetch(cuda_ctx *ctx, void *host, const void *device, size_t bytes, const char *file,
                int line)
{
    return cuda_check(ctx,
                      cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, ctx->stream),
                      file, line, "cudaMemcpyAsync(device to host)") &&
           cuda_check(ctx, cudaStreamSynchronize(ctx->stream), file, line, "cudaStreamSynchronize");
}

// ---- memory ops ----

// Zero-filled device memory, 256-byte aligned as cuDNN wants (at least
// 256 bytes: an empty buffer is still a pointer); NULL when the device is
// out of memory.
static float *cuda_alloc(dl_backend *be, size_t n)
{
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    if (n > SIZE_MAX / sizeof(float))
        return nullptr;
    size_t bytes = std::max(n * sizeof(float), size_t(256));
    void *p = nullptr;
    cudaError_t status = cudaMalloc(&p, bytes);
    if (status == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); // not sticky: clear it so no later check is blamed
        return nullptr;
    }
    if (!CUDA_OK(ctx, status))
        return nullptr;
    if (!CUDA_OK(ctx, cudaMemsetAsync(p, 0, bytes, ctx->stream))) {
        CUDA_OK(ctx, cudaFree(p));
        return nullptr;
    }
    return static_cast<float *>(p);
}

static void cuda_release(dl_backend *be, float *p)
{
    if (p)
        CUDA_OK(static_cast<cuda_ctx *>(be->ctx), cudaFree(p));
}

// Page-locked staging memory: uploads from it run asynchronously.
static float *cuda_host_alloc(dl_backend *be, size_t n)
{
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    void *p = nullptr;
    cudaError_t status = cudaMallocHost(&p, std::max(n, size_t(1)) * sizeof(float));
    if (status == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        return nullptr;
    }
    return CUDA_OK(ctx, status) ? static_cast<float *>(p) : nullptr;
}

static void cuda_host_release(dl_backend *be, float *p)
{
    if (p)
        CUDA_OK(static_cast<cuda_ctx *>(be->ctx), cudaFreeHost(p));
}

static void cuda_upload(dl_backend *be, float *dst, const float *host_src, size_t n)
{
    cuda_ctx *ctx = cuda_live(be);
    if (ctx && n)
        CUDA_OK(ctx, cudaMemcpyAsync(dst, host_src, n * sizeof(float), cudaMemcpyHostToDevice,
                                     ctx->stream));
}

// Waits for the copy. After a device error host_dst holds NaN, never
// stale numbers that could be saved as a model.
static void cuda_download(dl_backend *be, float *host_dst, const float *src, size_t n)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!n)
        return;
    if (!ctx || !cuda_fetch(ctx, host_dst, src, n * sizeof(float), __FILE__, __LINE__))
        std::fill(host_dst, host_dst + n, NAN);
}

static void cuda_fill(dl_backend *be, float *x, float value, size_t n)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, n, [=] __device__(size_t i) { x[i] = value; });
}

static void cuda_copy(dl_backend *be, float *dst, const float *src, size_t n)
{
    cuda_ctx *ctx = cuda_live(be);
    if (ctx && n && dst != src)
        CUDA_OK(ctx, cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice,
                                     ctx->stream));
}

// Waits for everything queued, then reports the first failure.
static int cuda_status(dl_backend *be, dl_err *err)
{
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    if (!ctx->failed)
        CUDA_OK(ctx, cudaStreamSynchronize(ctx->stream));
    if (!ctx->failed)
        return DL_OK;
    if (err)
        *err = ctx->error;
    return DL_ERR;
}

// ---- creation and shutdown ----

// The first kernel launch tells whether this build has code for the
// device (a missing cubin or a PTX too new for the driver fails here).
static bool cuda_self_test(cuda_ctx *ctx, const cudaDeviceProp &prop)
{
    float *probe = static_cast<float *>(ctx->scratch);
    cuda_each_index<<<1, 1, 0, ctx->stream>>>(1LL, [=] __device__(size_t i) { probe[i] = 1.0f; });
    cudaError_t status = cudaGetLastError();
    if (status == cudaSuccess)
        status = cudaStreamSynchronize(ctx->stream);
    if (status == cudaSuccess)
        return true;
    char message[512];
    snprintf(message, sizeof message,
             "%s: %.200s has compute capability %d.%d, this build has code for %s",
             cudaGetErrorString(status), prop.name, prop.major, prop.minor, DL_CUDA_ARCHS);
    cuda_fail(ctx, __FILE__, __LINE__, "the first kernel launch", message);
    return false;
}

static bool cuda_check_cudnn_version(cuda_ctx *ctx)
{
    size_t found = cudnnGetVersion();
    if (found / 10000 == CUDNN_MAJOR)
        return CUDA_OK(ctx, cudnnOpsVersionCheck()) && CUDA_OK(ctx, cudnnCnnVersionCheck());
    char message[128];
    snprintf(message, sizeof message, "cuDNN %zu is loaded, this backend was built for cuDNN %d",
             found, CUDNN_MAJOR);
    cuda_fail(ctx, __FILE__, __LINE__, "cudnnGetVersion()", message);
    return false;
}

// Device, stream, scratch, cuBLAS (FP32 math, its workspace bound after
// the stream, which resets it) and cuDNN.
static bool cuda_open(cuda_ctx *ctx)
{
    cudaDeviceProp prop;
    if (!CUDA_OK(ctx, cudaGetDevice(&ctx->device)) ||
        !CUDA_OK(ctx, cudaGetDeviceProperties(&prop, ctx->device)))
        return false;
    snprintf(ctx->device_name, sizeof ctx->device_name,
             "%.200s (CUDA device %d, compute capability %d.%d, %.1f GiB)", prop.name, ctx->device,
             prop.major, prop.minor, (double)prop.totalGlobalMem / (1024.0 * MIB));
    size_t blas_workspace_bytes = (prop.major >= 9 ? 32 : 4) * MIB; // NVIDIA's advice
    if (!cuda_check_cudnn_version(ctx) ||
        !CUDA_OK(ctx, cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking)) ||
        !CUDA_OK(ctx, cudaMalloc(&ctx->scratch, INITIAL_SCRATCH_BYTES)))
        return false;
    ctx->scratch_bytes = INITIAL_SCRATCH_BYTES;
    return cuda_self_test(ctx, prop) && CUDA_OK(ctx, cublasCreate(&ctx->blas)) &&
           CUDA_OK(ctx, cublasSetStream(ctx->blas, ctx->stream)) &&
           CUDA_OK(ctx, cudaMalloc(&ctx->blas_workspace, blas_workspace_bytes)) &&
           CUDA_OK(ctx, cublasSetWorkspace(ctx->blas, ctx->blas_workspace, blas_workspace_bytes)) &&
           CUDA_OK(ctx, cublasSetMathMode(ctx->blas, CUBLAS_DEFAULT_MATH)) &&
           CUDA_OK(ctx, cudnnCreate(&ctx->dnn)) &&
           CUDA_OK(ctx, cudnnSetStream(ctx->dnn, ctx->stream)) &&
           CUDA_OK(ctx, cudnnCreateTensorDescriptor(&ctx->rows)) &&
           CUDA_OK(ctx, cudnnCreateTensorDescriptor(&ctx->channels));
}

// Releases whatever cuda_open created; failures latch like any other.
static void cuda_close(cuda_ctx *ctx)
{
    if (ctx->stream)
        CUDA_OK(ctx, cudaStreamSynchronize(ctx->stream));
    cuda_release_conv_plans(ctx);
    cuda_release_pool_plans(ctx);
    if (ctx->rows)
        CUDA_OK(ctx, cudnnDestroyTensorDescriptor(ctx->rows));
    if (ctx->channels)
        CUDA_OK(ctx, cudnnDestroyTensorDescriptor(ctx->channels));
    if (ctx->dnn)
        CUDA_OK(ctx, cudnnDestroy(ctx->dnn));
    if (ctx->blas)
        CUDA_OK(ctx, cublasDestroy(ctx->blas));
    if (ctx->blas_workspace)
        CUDA_OK(ctx, cudaFree(ctx->blas_workspace));
    if (ctx->scratch)
        CUDA_OK(ctx, cudaFree(ctx->scratch));
    if (ctx->stream)
        CUDA_OK(ctx, cudaStreamDestroy(ctx->stream));
}

static void cuda_destroy(dl_backend *be)
{
    cuda_ctx *ctx = static_cast<cuda_ctx *>(be->ctx);
    bool failed_before = ctx->failed;
    cuda_close(ctx);
    if (ctx->failed && !failed_before) // nobody asks `status` any more
        fprintf(stderr, "dltrain: %s\n", ctx->error.msg);
    delete ctx;
    free(be);
}

static dl_backend *cuda_create_failed(dl_err *err, const char *message)
{
    if (err) {
        err->exit_code = DL_EXIT_FAIL;
        snprintf(err->msg, sizeof err->msg, "%s", message);
    }
    return nullptr;
}

extern "C" __attribute__((visibility("default"))) dl_backend *
dl_cuda_backend_create(int abi_version, size_t table_size, dl_err *err)
{
    if (abi_version != DL_GPU_ABI_VERSION || table_size != sizeof(dl_backend)) {
        char message[256];
        snprintf(message, sizeof message,
                 "the CUDA backend (ABI %d, op table of %zu bytes) does not match this dltrain "
                 "(ABI %d, %zu bytes): rebuild both with make",
                 DL_GPU_ABI_VERSION, sizeof(dl_backend), abi_version, table_size);
        return cuda_create_failed(err, message);
    }
    dl_backend *be = static_cast<dl_backend *>(calloc(1, sizeof(dl_backend)));
    cuda_ctx *ctx = new (std::nothrow) cuda_ctx();
    if (!be || !ctx) {
        free(be);
        delete ctx;
        return cuda_create_failed(err, "CUDA backend: out of memory");
    }
    const char *sync = getenv("DLTRAIN_CUDA_SYNC");
    ctx->sync_each_op = sync && !strcmp(sync, "1");
    if (!cuda_open(ctx)) {
        dl_backend *none = cuda_create_failed(err, ctx->error.msg);
        cuda_close(ctx);
        delete ctx;
        free(be);
        return none;
    }
    be->name = "cuda";
    be->device = ctx->device_name;
    be->ctx = ctx;
    be->alloc = cuda_alloc;
    be->release = cuda_release;
    be->host_alloc = cuda_host_alloc;
    be->host_release = cuda_host_release;
    be->upload = cuda_upload;
    be->download = cuda_download;
    be->fill = cuda_fill;
    be->copy = cuda_copy;
    be->status = cuda_status;
    be->destroy = cuda_destroy;
    cuda_set_blas_ops(be);
    cuda_set_elementwise_ops(be);
    cuda_set_reduce_ops(be);
    cuda_set_conv_ops(be);
    cuda_set_pool_ops(be);
    cuda_set_norm_ops(be);
    cuda_set_image_ops(be);
    return be;
}
