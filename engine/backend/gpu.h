/* gpu.h: the CUDA backend as the main binary sees it. dltrain never links
 * CUDA: gpu_probe.c asks the NVIDIA driver (libcuda.so.1, dlopen'd) whether
 * a usable device exists, then dlopens libdltrain_cuda.so from next to the
 * executable (or from $DLTRAIN_CUDA_BACKEND) and calls its one exported
 * entry point. Both halves include this header, so they agree on the ABI
 * they check at load.
 *
 * The rest are the host-side mappings from dltrain's conventions to
 * cuBLAS's and cuDNN's, pure functions that the CPU tests check
 * (tests/unit/test_gpu_parity.c). */
#ifndef DL_GPU_H
#define DL_GPU_H

#include "engine/backend/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever dl_backend, dl_err or a struct its ops take changes. */
#define DL_GPU_ABI_VERSION 1
#define DL_GPU_BACKEND_FILE "libdltrain_cuda.so"
#define DL_GPU_BACKEND_ENV "DLTRAIN_CUDA_BACKEND"
#define DL_GPU_ENTRY_NAME "dl_cuda_backend_create"

/* The backend's entry point: refuses a caller built with another ABI
 * version or op table size; creates the backend on the current CUDA
 * device, or returns NULL with the reason in err. */
typedef dl_backend *(*dl_gpu_entry)(int abi_version, size_t table_size, dl_err *err);

/* The number of CUDA devices the driver reports (> 0), or DL_ERR with the
 * reason in err: no driver, a stub driver, a driver too old for CUDA 13, no
 * device. Needs no CUDA library besides the driver itself. */
int dl_gpu_probe(dl_err *err);

/* Finds, probes, loads and creates the CUDA backend. NULL with the reason
 * in err (exit code 1): no CUDA build, no driver, no device, a CUDA library
 * missing, or the backend's own initialisation failing. */
dl_backend *be_gpu_create(dl_err *err);

/* ---- cuBLAS with row-major matrices ----
 * A row-major [r, c] matrix is, byte for byte, a column-major [c, r] one
 * with leading dimension c. So row-major C = op(A) op(B) is column-major
 * C^T = op(B)^T op(A)^T: B goes first, m and n swap, and every matrix keeps
 * its row stride as leading dimension. */
typedef struct dl_colmajor_gemm {
    int trans_first, trans_second; /* 1: CUBLAS_OP_T */
    int m, n, k;
    int ld_first, ld_second, ldc; /* first = B, second = A */
} dl_colmajor_gemm;

static inline dl_colmajor_gemm dl_gemm_colmajor(int trans_a, int trans_b, int m, int n, int k,
                                                int lda, int ldb, int ldc)
{
    dl_colmajor_gemm g;
    g.trans_first = trans_b;
    g.trans_second = trans_a;
    g.m = n;
    g.n = m;
    g.k = k;
    g.ld_first = ldb;
    g.ld_second = lda;
    g.ldc = ldc;
    return g;
}

/* The transpose of a row-major [rows, cols] matrix into [cols, rows] as
 * cublasSgeam (C = 1 op(A) + 0 B, column-major): A is column-major [cols,
 * rows] with leading dimension cols, the result column-major [rows, cols]
 * with leading dimension rows; op(A) = A^T. */
typedef struct dl_colmajor_transpose {
    int m, n; /* the result's column-major rows and columns */
    int lda, ldc;
} dl_colmajor_transpose;

static inline dl_colmajor_transpose dl_transpose_colmajor(int rows, int cols)
{
    dl_colmajor_transpose t;
    t.m = rows;
    t.n = cols;
    t.lda = cols;
    t.ldc = rows;
    return t;
}

/* ---- cuDNN padding ----
 * cuDNN pads symmetrically; Keras "same" puts the odd pixel after. A window
 * of `span` input pixels ((k - 1) * dilation + 1) with stride `stride` and
 * `before` padding gives `out` outputs over `in` pixels. cuDNN with pad =
 * before starts every window where Keras does, and computes the same
 * outputs, exactly when its own output count is `out`: whatever it pads
 * after then lies outside every window Keras uses. Otherwise the input
 * needs explicit padding to the extent dl_cudnn_padded_extent. */
static inline int dl_cudnn_pad_matches(int in, int before, int span, int stride, int out)
{
    int reach = in + 2 * before - span;
    return reach >= 0 && reach / stride + 1 == out;
}

/* The input extent that `out` windows read: rows (or columns) of an
 * explicitly padded copy, starting `before` pixels ahead of the input. */
static inline int dl_cudnn_padded_extent(int span, int stride, int out)
{
    return (out - 1) * stride + span;
}

#ifdef __cplusplus
}
#endif

#endif
