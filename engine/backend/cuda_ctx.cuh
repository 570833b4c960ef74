// cuda_ctx.cuh: what the CUDA backend's files share: the context every op
// reaches through be->ctx (handles, stream, scratch, plan caches, the
// latched error), the checks that latch a failed CUDA, cuBLAS or cuDNN call
// with its file, line and the library's message, and the launch helpers:
// one thread per index, fixed-shape reductions.
//
// Error model (backend.h): ops return nothing; the first failure is kept in
// the context, every later op returns at once, and `status` reports it.
#ifndef DL_CUDA_CTX_CUH
#define DL_CUDA_CTX_CUH

#include "engine/backend/gpu.h"
#include "engine/backend/kernel_rows.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <vector>

// One cuDNN convolution of one dl_conv_desc (batch size included), chosen
// once and kept. The workspace the layers pass holds, 256-byte aligned:
// the kernel in cuDNN's order [filters, kh, kw, c]; the zero-padded input
// (or its gradient) when cuDNN cannot pad as Keras; cuDNN's own scratch.
struct cuda_conv_plan {
    dl_conv_desc desc;
    int explicit_padding;         // 1: x is copied into a padded buffer first
    int padded_h, padded_w;       // its extent (dl_cudnn_padded_extent)
    cudnnTensorDescriptor_t x, y; // x: the padded extent when explicit_padding
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    cudnnConvolutionFwdAlgo_t forward;
    cudnnConvolutionBwdDataAlgo_t backward_data;
    cudnnConvolutionBwdFilterAlgo_t backward_filter;
    size_t kernel_bytes, padded_bytes, cudnn_bytes; // the workspace's three parts
};

// One pooling shape: cuDNN where its symmetric padding gives Keras's
// windows, the backend's own kernels (kernel_rows.h) elsewhere.
struct cuda_pool_plan {
    dl_pool_desc desc;
    int use_cudnn;
    cudnnTensorDescriptor_t x, y;
    cudnnPoolingDescriptor_t pool;
};

// The epsilon a BatchNormalization forward used, by its inv_std buffer:
// cuDNN's backward wants it again and the op does not carry it.
struct cuda_bn_epsilon {
    const float *inv_std;
    double epsilon;
};

struct cuda_ctx {
    int device;
    char device_name[256]; // be->device
    cudaStream_t stream;   // every op, copy and library call, in order
    cublasHandle_t blas;
    cudnnHandle_t dnn;
    void *blas_workspace; // given to cuBLAS after cublasSetStream
    void *scratch;        // device bytes for one op at a time
    size_t scratch_bytes;
    cudnnTensorDescriptor_t rows, channels; // set by each op that uses them
    std::vector<cuda_conv_plan> conv_plans;
    std::vector<cuda_pool_plan> pool_plans;
    std::vector<cuda_bn_epsilon> bn_epsilons;
    std::vector<double> auc_buckets; // host: the AUC metric's counts of one batch
    bool sync_each_op;               // DLTRAIN_CUDA_SYNC=1: errors show at their op
    bool failed;
    dl_err error; // the first failure
};

// The context of a backend whose device still works, else NULL (the op
// then does nothing: a device error stops the run at the next status).
cuda_ctx *cuda_live(dl_backend *be);

// Latches "file:line: call: message" unless a failure is latched already.
void cuda_fail(cuda_ctx *ctx, const char *file, int line, const char *call, const char *message);

// true when the call succeeded; otherwise latches its error.
bool cuda_check(cuda_ctx *ctx, cudaError_t status, const char *file, int line, const char *call);
bool cuda_check(cuda_ctx *ctx, cublasStatus_t status, const char *file, int line, const char *call);
bool cuda_check(cuda_ctx *ctx, cudnnStatus_t status, const char *file, int line, const char *call);
#define CUDA_OK(ctx, call) cuda_check((ctx), (call), __FILE__, __LINE__, #call)

// After a kernel launch: the launch error, and in sync mode the kernel's.
bool cuda_launched(cuda_ctx *ctx, const char *file, int line, const char *kernel);

// Device scratch of at least `bytes`, valid until the next op (grown when
// a larger one is asked for, which happens in the first steps only).
void *cuda_scratch(cuda_ctx *ctx, size_t bytes, const char *file, int line);

// Copies device bytes to the host and waits for them.
bool cuda_fetch(cuda_ctx *ctx, void *host, const void *device, size_t bytes, const char *file,
                int line);

// Each file's part of the op table.
void cuda_set_blas_ops(dl_backend *be);
void cuda_set_elementwise_ops(dl_backend *be);
void cuda_set_reduce_ops(dl_backend *be);
void cuda_set_conv_ops(dl_backend *be);
void cuda_set_pool_ops(dl_backend *be);
void cuda_set_norm_ops(dl_backend *be);
void cuda_set_image_ops(dl_backend *be);

// Destroy the plans' cuDNN descriptors (backend shutdown).
void cuda_release_conv_plans(cuda_ctx *ctx);
void cuda_release_pool_plans(cuda_ctx *ctx);

// cuBLAS transpose of a row-major [rows, cols] matrix into dst [cols, rows].
bool cuda_transpose(cuda_ctx *ctx, const float *src, int rows, int cols, float *dst);

// A padded copy or a crop (kernel_rows.h's dl_row_window).
bool cuda_copy_window(cuda_ctx *ctx, const dl_row_window *g, const float *src, float *dst);

// ---- launches ----
constexpr int CUDA_THREADS = 256; // threads per block, everywhere
constexpr long long CUDA_MAX_BLOCKS = 65535;
constexpr int CUDA_REDUCE_PARTS = 256; // blocks of a whole-buffer reduction

template <class Body>
__global__ void __launch_bounds__(CUDA_THREADS) cuda_each_index(long long n, Body body)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        body((size_t)i);
}

// body(i) for every i in [0, n): a grid-stride loop over at most
// CUDA_MAX_BLOCKS blocks; nothing for n <= 0.
template <class Body>
bool cuda_for_each(cuda_ctx *ctx, long long n, const char *file, int line, Body body)
{
    if (n <= 0)
        return true;
    long long blocks = std::min((n + CUDA_THREADS - 1) / CUDA_THREADS, CUDA_MAX_BLOCKS);
    cuda_each_index<<<(unsigned)blocks, CUDA_THREADS, 0, ctx->stream>>>(n, body);
    return cuda_launched(ctx, file, line, "cuda_each_index");
}
#define FOR_EACH(ctx, n, ...) cuda_for_each((ctx), (long long)(n), __FILE__, __LINE__, __VA_ARGS__)

// ---- reductions: fixed grids and fixed trees, no atomics, so the same
// inputs give the same bits on every run ----

// The block's threads' acc[K] summed by a fixed tree into tile[k][0].
template <int K>
__device__ void cuda_block_tree(double (&tile)[K][CUDA_THREADS], const double *acc)
{
    for (int k = 0; k < K; k++)
        tile[k][threadIdx.x] = acc[k];
    __syncthreads();
    for (int half = CUDA_THREADS / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half)
            for (int k = 0; k < K; k++)
                tile[k][threadIdx.x] += tile[k][threadIdx.x + half];
        __syncthreads();
    }
}

// Block b's sums of term(i, acc[K]) over its grid-stride share of [0, n),
// into partials [gridDim.x, K].
template <int K, class Term>
__global__ void __launch_bounds__(CUDA_THREADS)
    cuda_partial_sums(long long n, Term term, double *partials)
{
    __shared__ double tile[K][CUDA_THREADS];
    double acc[K] = {};
    for (long long i = blockIdx.x * (long long)CUDA_THREADS + threadIdx.x; i < n;
         i += (long long)gridDim.x * CUDA_THREADS)
        term((size_t)i, acc);
    cuda_block_tree<K>(tile, acc);
    if (threadIdx.x == 0)
        for (int k = 0; k < K; k++)
            partials[blockIdx.x * K + k] = tile[k][0];
}

// sums [K] = the column sums of partials [parts, K], one block.
template <int K>
__global__ void __launch_bounds__(CUDA_THREADS)
    cuda_final_sums(int parts, const double *partials, double *sums)
{
    __shared__ double tile[K][CUDA_THREADS];
    double acc[K] = {};
    for (int p = threadIdx.x; p < parts; p += CUDA_THREADS)
        for (int k = 0; k < K; k++)
            acc[k] += partials[p * K + k];
    cuda_block_tree<K>(tile, acc);
    if (threadIdx.x == 0)
        for (int k = 0; k < K; k++)
            sums[k] = tile[k][0];
}

// sums [K] (host) = the totals of term(i, acc) over i in [0, n); zeros
// when n <= 0. Waits for the result.
template <int K, class Term>
bool cuda_sum(cuda_ctx *ctx, long long n, double *sums, const char *file, int line, Term term)
{
    std::fill(sums, sums + K, 0.0);
    if (n <= 0)
        return true;
    int parts = (int)std::min((n + CUDA_THREADS - 1) / CUDA_THREADS, (long long)CUDA_REDUCE_PARTS);
    double *partials = (double *)cuda_scratch(ctx, sizeof(double) * K * (parts + 1), file, line);
    if (!partials)
        return false;
    double *device_sums = partials + (size_t)parts * K; // [K]
    cuda_partial_sums<K><<<parts, CUDA_THREADS, 0, ctx->stream>>>(n, term, partials);
    if (!cuda_launched(ctx, file, line, "cuda_partial_sums"))
        return false;
    cuda_final_sums<K><<<1, CUDA_THREADS, 0, ctx->stream>>>(parts, partials, device_sums);
    return cuda_launched(ctx, file, line, "cuda_final_sums") &&
           cuda_fetch(ctx, sums, device_sums, sizeof(double) * K, file, line);
}
#define SUM(K, ctx, n, sums, ...)                                                                  \
    cuda_sum<K>((ctx), (long long)(n), (sums), __FILE__, __LINE__, __VA_ARGS__)

// Column sums of a [rows, cols] matrix: blocks of 32 columns x 8 row
// lanes, the rows cut into gridDim.y parts of rows_per_part; term(r, c,
// acc[K]) adds element (r, c). partials [parts, cols, K].
template <int K, class Term>
__global__ void __launch_bounds__(CUDA_THREADS)
    cuda_column_partials(int rows, int cols, int rows_per_part, Term term, double *partials)
{
    __shared__ double lanes[8][32][K];
    int c = blockIdx.x * 32 + threadIdx.x;
    int first = blockIdx.y * rows_per_part, end = min(rows, first + rows_per_part);
    double acc[K] = {};
    if (c < cols)
        for (int r = first + threadIdx.y; r < end; r += 8)
            term(r, c, acc);
    for (int k = 0; k < K; k++)
        lanes[threadIdx.y][threadIdx.x][k] = acc[k];
    __syncthreads();
    if (threadIdx.y == 0 && c < cols)
        for (int k = 0; k < K; k++) {
            double sum = 0.0;
            for (int lane = 0; lane < 8; lane++)
                sum += lanes[lane][threadIdx.x][k];
            partials[((size_t)blockIdx.y * cols + c) * K + k] = sum;
        }
}

// For each column c: finish(c, sums[K]) with its totals over all rows (on
// the device; zeros when rows == 0).
template <int K, class Term, class Finish>
bool cuda_column_sums(cuda_ctx *ctx, int rows, int cols, const char *file, int line, Term term,
                      Finish finish)
{
    if (cols <= 0)
        return true;
    // about 64 rows per lane group, at most 64 parts: few partials to add
    int parts = std::max(1, std::min(64, rows / 512));
    int rows_per_part = std::max(1, (rows + parts - 1) / parts);
    double *partials =
        (double *)cuda_scratch(ctx, sizeof(double) * K * parts * (size_t)cols, file, line);
    if (!partials)
        return false;
    dim3 grid((unsigned)((cols + 31) / 32), (unsigned)parts), block(32, 8);
    cuda_column_partials<K>
        <<<grid, block, 0, ctx->stream>>>(rows, cols, rows_per_part, term, partials);
    if (!cuda_launched(ctx, file, line, "cuda_column_partials"))
        return false;
    return cuda_for_each(ctx, cols, file, line, [=] __device__(size_t c) {
        double sums[K] = {};
        for (int p = 0; p < parts; p++)
            for (int k = 0; k < K; k++)
                sums[k] += partials[((size_t)p * cols + c) * K + k];
        finish(c, sums);
    });
}
#define COLUMN_SUMS(K, ctx, rows, cols, ...)                                                       \
    cuda_column_sums<K>((ctx), (rows), (cols), __FILE__, __LINE__, __VA_ARGS__)

#endif
