// cuda_blas.cu: cuBLAS for the row-major matrices of backend.h: gemm, and
// the transpose that turns Keras convolution kernels into cuDNN's order.
// The handle computes in FP32 (CUBLAS_DEFAULT_MATH, set at creation): no
// TF32, so results stay within float rounding of the CPU's.
#include "engine/backend/cuda_ctx.cuh"

static cublasOperation_t blas_op(int transpose)
{
    return transpose ? CUBLAS_OP_T : CUBLAS_OP_N;
}

// C[m,n] = alpha op(A) op(B) + beta C, row-major, as column-major C^T =
// op(B)^T op(A)^T (gpu.h's dl_gemm_colmajor).
static void cuda_gemm(dl_backend *be, int trans_a, int trans_b, int m, int n, int k, float alpha,
                      const float *a, int lda, const float *b, int ldb, float beta, float *c,
                      int ldc)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx || m <= 0 || n <= 0)
        return;
    if (k <= 0) { // an empty product only scales C; cuBLAS wants leading dimensions >= 1
        FOR_EACH(ctx, (size_t)m * n, [=] __device__(size_t i) {
            float *e = c + i / (size_t)n * (size_t)ldc + i % (size_t)n;
            *e = beta == 0.0f ? 0.0f : beta * *e;
        });
        return;
    }
    dl_colmajor_gemm g = dl_gemm_colmajor(trans_a, trans_b, m, n, k, lda, ldb, ldc);
    CUDA_OK(ctx, cublasSgemm(ctx->blas, blas_op(g.trans_first), blas_op(g.trans_second), g.m, g.n,
                             g.k, &alpha, b, g.ld_first, a, g.ld_second, &beta, c, g.ldc));
}

bool cuda_transpose(cuda_ctx *ctx, const float *src, int rows, int cols, float *dst)
{
    const float one = 1.0f, zero = 0.0f;
    dl_colmajor_transpose t = dl_transpose_colmajor(rows, cols);
    // beta = 0 leaves B unread; B = C is cuBLAS's documented in-place form
    return CUDA_OK(ctx, cublasSgeam(ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, t.m, t.n, &one, src, t.lda,
                                    &zero, dst, t.ldc, dst, t.ldc));
}

void cuda_set_blas_ops(dl_backend *be)
{
    be->gemm = cuda_gemm;
}
