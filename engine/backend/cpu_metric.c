/* cpu_metric.c: the metric op on the CPU: adds one batch's counts to the
 * host accumulators (layouts in kernels.h, dl_metric_nacc). pred [rows,
 * cols]; target [rows, cols], or [rows] class ids when sparse_target. */
#include "engine/backend/cpu_ops.h"

#include <math.h>

/* Index of the first maximum of x [n] (as argmax in Keras). */
static int cpu_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* Element (r, c) of the target; a class id counts as its one-hot row. */
static float cpu_target_value(const dl_metric_desc *d, const float *target, int r, int c,
                              int cols)
{
    if (d->sparse_target)
        return cpu_class_id(target[r], cols) == c ? 1.0f : 0.0f;
    return target[(size_t)r * cols + c];
}

/* The target class of row r: its class id, or the argmax of its one-hot row. */
static int cpu_target_class(const dl_metric_desc *d, const float *target, int r, int cols)
{
    if (d->sparse_target)
        return cpu_class_id(target[r], cols);
    return cpu_argmax(target + (size_t)r * cols, cols);
}

/* Keras's in_top_k: the target is a hit when fewer than k predictions are
 * strictly larger than its own (ties count in its favour); a non-finite
 * prediction for the target is never a hit. */
static int cpu_in_top_k(const float *p, int cols, int target, int k)
{
    if (target < 0 || !isfinite(p[target]))
        return 0;
    int larger = 0;
    for (int c = 0; c < cols; c++)
        larger += p[c] > p[target];
    return larger < k;
}

/* Number of AUC thresholds that p exceeds (they ascend, so a binary search
 * finds the first threshold not below p). */
static int cpu_auc_exceeded(float p, int T)
{
    int lo = 0, hi = T;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (p > dl_auc_threshold(mid, T))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* acc = {tp[T], fp[T], tn[T], fn[T]}, over every element: prediction
 * positive at threshold i when p > threshold i. */
static void cpu_auc_counts(const dl_metric_desc *d, const float *pred, const float *target,
                           int rows, int cols, double *acc)
{
    int T = d->num_thresholds;
    double *tp = acc, *fp = acc + T, *tn = acc + 2 * T, *fn = acc + 3 * T;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            int exceeded = cpu_auc_exceeded(pred[(size_t)r * cols + c], T);
            double *above = fp, *below = tn;
            if (cpu_target_value(d, target, r, c, cols) != 0.0f) { /* Keras: bool(label) */
                above = tp;
                below = fn;
            }
            for (int i = 0; i < exceeded; i++)
                above[i] += 1.0;
            for (int i = exceeded; i < T; i++)
                below[i] += 1.0;
        }
    }
}

void cpu_metric(dl_backend *be, const dl_metric_desc *d, const float *pred, const float *target,
                int rows, int cols, double *acc)
{
    (void)be;
    if (d->kind == DL_METRIC_AUC) {
        cpu_auc_counts(d, pred, target, rows, cols, acc);
        return;
    }
    for (int r = 0; r < rows; r++) {
        const float *pr = pred + (size_t)r * cols; /* [cols] */
        switch (d->kind) {
        case DL_METRIC_BINARY_ACCURACY: { /* {sum of per-sample means, samples} */
            int matches = 0;
            for (int c = 0; c < cols; c++)
                matches += cpu_target_value(d, target, r, c, cols) ==
                           (pr[c] > d->threshold ? 1.0f : 0.0f);
            acc[0] += (double)matches / cols;
            acc[1] += 1.0;
            break;
        }
        case DL_METRIC_CATEGORICAL_ACCURACY: /* {correct, samples} */
            acc[0] += cpu_argmax(pr, cols) == cpu_target_class(d, target, r, cols);
            acc[1] += 1.0;
            break;
        case DL_METRIC_TOP_K:
            acc[0] += cpu_in_top_k(pr, cols, cpu_target_class(d, target, r, cols), d->k);
            acc[1] += 1.0;
            break;
        case DL_METRIC_MSE:
        case DL_METRIC_MAE: { /* {sum of per-sample means, samples} */
            double sum = 0.0;
            for (int c = 0; c < cols; c++) {
                double e = (double)pr[c] - cpu_target_value(d, target, r, c, cols);
                sum += d->kind == DL_METRIC_MSE ? e * e : fabs(e);
            }
            acc[0] += sum / cols;
            acc[1] += 1.0;
            break;
        }
        case DL_METRIC_PRECISION: /* {tp, fp} */
        case DL_METRIC_RECALL:    /* {tp, fn} */
            for (int c = 0; c < cols; c++) {
                int pred_pos = pr[c] > d->threshold;
                int label_pos = cpu_target_value(d, target, r, c, cols) != 0.0f;
                if (pred_pos && label_pos)
                    acc[0] += 1.0;
                else if (d->kind == DL_METRIC_PRECISION ? pred_pos : label_pos)
                    acc[1] += 1.0;
            }
            break;
        default:
            break;
        }
    }
}
