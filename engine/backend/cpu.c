/* cpu.c: the CPU backend: memory (host memory, 64-byte aligned), gemm
 * through OpenBLAS, and the op table. The other ops live in
 * cpu_elementwise.c, cpu_reduce.c, cpu_loss.c and cpu_metric.c; be->ctx is
 * the pool of worker threads that splits them (cpu_threads.c). The CPU has
 * no device state to latch: status is always DL_OK.
 *
 * Denormal floats are flushed to zero, as Keras's TensorFlow and JAX
 * backends do on the CPU (both set the FTZ and DAZ bits around every op):
 * without it, Adam's first moment of a weight whose gradient stays zero
 * (a border pixel of Fashion-MNIST) decays into the denormal range after
 * some 800 steps and each update of it takes a microcode assist. */
#include "engine/backend/cpu_ops.h"

#include <cblas.h>
#include <stdint.h>
#if defined(__SSE__)
#include <pmmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#define CPU_ALIGN 64

static float *cpu_alloc(dl_backend *be, size_t n)
{
    (void)be;
    if (n > (SIZE_MAX - CPU_ALIGN) / sizeof(float))
        return NULL;
    /* aligned_alloc wants a multiple of the alignment; never 0 bytes */
    size_t bytes = (n * sizeof(float) + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
    if (bytes == 0)
        bytes = CPU_ALIGN;
    float *p = aligned_alloc(CPU_ALIGN, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

static void cpu_release(dl_backend *be, float *p)
{
    (void)be;
    free(p);
}

/* Staging buffers need nothing special on the CPU. */
static float *cpu_host_alloc(dl_backend *be, size_t n)
{
    (void)be;
    return malloc((n ? n : 1) * sizeof(float));
}

static void cpu_copy(dl_backend *be, float *dst, const float *src, size_t n)
{
    (void)be;
    if (n)
        memmove(dst, src, n * sizeof(float));
}

static void cpu_fill(dl_backend *be, float *x, float value, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] = value;
}

static int cpu_status(dl_backend *be, dl_err *err)
{
    (void)be;
    (void)err;
    return DL_OK;
}

/* C[m,n] = alpha op(A) op(B) + beta C (backend.h). OpenBLAS rejects a
 * leading dimension below 1, which k = 0 would give; that product is empty
 * and only scales C. With beta = 0, C is cleared here and the product added
 * with beta = 1: OpenBLAS's own clearing pass (sgemm_beta) stores one float
 * at a time and took 8% of a batch-32 MLP epoch, memset stores a vector at a
 * time; the sums are the same. */
void cpu_gemm(dl_backend *be, int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    (void)be;
    if (m <= 0 || n <= 0)
        return;
    if (beta == 0.0f) {
        if (ldc == n)
            memset(c, 0, (size_t)m * n * sizeof *c);
        else
            for (int i = 0; i < m; i++)
                memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof *c);
        beta = 1.0f;
    }
    if (k <= 0) {
        if (beta != 1.0f)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    c[(size_t)i * ldc + j] *= beta;
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* FTZ and DAZ for this thread and the threads it starts from now on (they
 * inherit the floating-point environment); OpenBLAS hands the caller's
 * MXCSR to its own threads with each product. */
static void cpu_flush_denormals(void)
{
#if defined(__SSE__)
    _mm_setcsr(_mm_getcsr() | _MM_FLUSH_ZERO_ON | _MM_DENORMALS_ZERO_ON);
#endif
}

static void cpu_destroy(dl_backend *be)
{
    cpu_pool_free(cpu_pool_of(be));
    free(be);
}

dl_backend *be_cpu_create(int threads, dl_err *err)
{
    dl_backend *be = calloc(1, sizeof *be);
    if (!be) {
        dl_fail(err, DL_EXIT_FAIL, "cpu backend: out of memory");
        return NULL;
    }
    cpu_flush_denormals();
    if (threads > 0)
        openblas_set_num_threads(threads);
    be->name = "cpu";
    be->device = "CPU (OpenBLAS)";
    /* as many workers as OpenBLAS has threads (its default: every core);
     * NULL with one: every op on this thread */
    be->ctx = cpu_pool_new(threads > 0 ? threads : openblas_get_num_threads());
    be->alloc = cpu_alloc;
    be->release = cpu_release;
    be->host_alloc = cpu_host_alloc;
    be->host_release = cpu_release;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->fill = cpu_fill;
    be->copy = cpu_copy;
    be->status = cpu_status;
    be->gemm = cpu_gemm;
    be->add_bias = cpu_add_bias;
    be->bias_grad = cpu_bias_grad;
    be->act_forward = cpu_act_forward;
    be->act_backward = cpu_act_backward;
    be->softmax = cpu_softmax;
    be->softmax_backward = cpu_softmax_backward;
    be->scale = cpu_scale;
    be->axpy = cpu_axpy;
    be->mul = cpu_mul;
    be->clip = cpu_clip;
    be->loss = cpu_loss;
    be->metric = cpu_metric;
    be->dropout = cpu_dropout;
    be->sumsq = cpu_sumsq;
    be->count_nonfinite = cpu_count_nonfinite;
    be->regularize = cpu_regularize;
    be->opt_update = cpu_opt_update;
    be->conv_workspace = cpu_conv_workspace;
    be->conv_forward = cpu_conv_forward;
    be->conv_backward_data = cpu_conv_backward_data;
    be->conv_backward_filter = cpu_conv_backward_filter;
    be->pool_forward = cpu_pool_forward;
    be->pool_backward = cpu_pool_backward;
    be->batchnorm_train = cpu_batchnorm_train;
    be->batchnorm_infer = cpu_batchnorm_infer;
    be->batchnorm_backward = cpu_batchnorm_backward;
    be->layernorm_forward = cpu_layernorm_forward;
    be->layernorm_backward = cpu_layernorm_backward;
    be->pad2d = cpu_pad2d;
    be->pad2d_backward = cpu_pad2d_backward;
    be->upsample2d = cpu_upsample2d;
    be->upsample2d_backward = cpu_upsample2d_backward;
    be->scale_shift = cpu_scale_shift;
    be->channel_dropout = cpu_channel_dropout;
    be->channel_mask_backward = cpu_channel_mask_backward;
    be->augment = cpu_augment;
    be->augment_backward = cpu_augment_backward;
    be->destroy = cpu_destroy;
    return be;
}
