// cuda_reduce.cu: the ops that return host values: the loss, the metrics'
// counts, the sums of squares, the non-finite count and the L1/L2
// penalty. Per-element and per-row terms come from kernels.h and
// kernel_rows.h; the sums are cuda_sum's fixed trees in double, so a run
// repeats bit for bit. Each op waits for its result: one value per step
// and op comes back to the host.
#include "engine/backend/cuda_ctx.cuh"

// Batch mean of the per-sample losses; grad [rows, cols] = d(mean)/d pred.
static double cuda_loss(dl_backend *be, const dl_loss_desc *d, const float *pred,
                        const float *target, float *grad, int rows, int cols)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx)
        return NAN;
    dl_loss_desc desc = *d;
    double total;
    if (desc.kind == DL_LOSS_CCE) { // a sum over classes per sample, one thread per row
        float grad_scale = (float)(1.0 / rows);
        bool ok = SUM(1, ctx, rows, &total, [=] __device__(size_t r, double *acc) {
            acc[0] += dl_row_cce_row(&desc, pred, target, grad, (int)r, cols, grad_scale);
        });
        return ok ? total / rows : NAN;
    }
    size_t n = (size_t)rows * cols; // the others average over every element
    float grad_scale = (float)(1.0 / (double)n);
    bool ok = SUM(1, ctx, n, &total, [=] __device__(size_t i, double *acc) {
        acc[0] += dl_row_loss_elem_at(&desc, pred, target, grad, grad_scale, i);
    });
    return ok ? total / (double)n : NAN;
}

// AUC: every element counted in its bucket (kernel_rows.h) with integer
// atomics, whose totals do not depend on their order; the host turns the
// 2 (T + 1) buckets into the {tp, fp, tn, fn} per threshold.
static void cuda_auc(cuda_ctx *ctx, const dl_metric_desc *d, const float *pred, const float *target,
                     int rows, int cols, double *acc)
{
    dl_metric_desc desc = *d;
    size_t buckets = 2 * (size_t)(desc.num_thresholds + 1);
    unsigned long long *counts = static_cast<unsigned long long *>(
        cuda_scratch(ctx, buckets * (sizeof(unsigned long long) + sizeof(double)), __FILE__,
                     __LINE__)); // [buckets]
    if (!counts)
        return;
    double *as_double = reinterpret_cast<double *>(counts + buckets); // [buckets]
    ctx->auc_buckets.resize(buckets);
    double *host = ctx->auc_buckets.data();
    if (CUDA_OK(ctx, cudaMemsetAsync(counts, 0, buckets * sizeof *counts, ctx->stream)) &&
        FOR_EACH(ctx, (size_t)rows * cols,
                 [=] __device__(size_t i) {
                     atomicAdd(&counts[dl_row_auc_bucket(&desc, pred, target, cols, i)], 1ULL);
                 }) &&
        FOR_EACH(ctx, buckets, [=] __device__(size_t b) { as_double[b] = (double)counts[b]; }) &&
        cuda_fetch(ctx, host, as_double, buckets * sizeof(double), __FILE__, __LINE__))
        dl_row_auc_accumulate(host, desc.num_thresholds, acc);
}

// Adds this batch's counts to acc (layouts: dl_metric_nacc).
static void cuda_metric(dl_backend *be, const dl_metric_desc *d, const float *pred,
                        const float *target, int rows, int cols, double *acc)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx)
        return;
    if (d->kind == DL_METRIC_AUC) {
        cuda_auc(ctx, d, pred, target, rows, cols, acc);
        return;
    }
    dl_metric_desc desc = *d;
    double sums[2];
    if (SUM(2, ctx, rows, sums, [=] __device__(size_t r, double *a) {
            dl_row_metric_row(&desc, pred, target, (int)r, cols, a);
        })) {
        acc[0] += sums[0];
        acc[1] += sums[1];
    }
}

static double cuda_sumsq(dl_backend *be, const float *x, size_t n)
{
    cuda_ctx *ctx = cuda_live(be);
    double sum;
    bool ok = ctx && SUM(1, ctx, n, &sum,
                         [=] __device__(size_t i, double *acc) { acc[0] += (double)x[i] * x[i]; });
    return ok ? sum : NAN;
}

static size_t cuda_count_nonfinite(dl_backend *be, const float *x, size_t n)
{
    cuda_ctx *ctx = cuda_live(be);
    double count;
    bool ok = ctx && SUM(1, ctx, n, &count,
                         [=] __device__(size_t i, double *acc) { acc[0] += !isfinite(x[i]); });
    return ok ? (size_t)count : 0;
}

// g [n] += l1 sign(w) + 2 l2 w; returns l1 sum|w| + l2 sum w^2
static double cuda_regularize(dl_backend *be, const float *w, float *g, size_t n, float l1,
                              float l2)
{
    cuda_ctx *ctx = cuda_live(be);
    double sums[2]; // sum |w|, sum w^2
    bool ok = ctx && SUM(2, ctx, n, sums, [=] __device__(size_t i, double *acc) {
                  dl_row_regularize_at(w, g, l1, l2, i, acc);
              });
    return ok ? l1 * sums[0] + l2 * sums[1] : NAN;
}

void cuda_set_reduce_ops(dl_backend *be)
{
    be->loss = cuda_loss;
    be->metric = cuda_metric;
    be->sumsq = cuda_sumsq;
    be->count_nonfinite = cuda_count_nonfinite;
    be->regularize = cuda_regularize;
}
