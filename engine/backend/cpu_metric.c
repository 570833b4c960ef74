/* cpu_metric.c: the metric op on the CPU: the shared row bodies of
 * kernel_rows.h (the CUDA backend runs the same ones) over every row, and
 * AUC through per-element threshold buckets. */
#include "engine/backend/cpu_ops.h"
#include "engine/backend/kernel_rows.h"

#include <string.h>

void cpu_metric(dl_backend *be, const dl_metric_desc *d, const float *pred, const float *target,
                int rows, int cols, double *acc)
{
    (void)be;
    if (d->kind != DL_METRIC_AUC) {
        for (int r = 0; r < rows; r++)
            dl_row_metric_row(d, pred, target, r, cols, acc);
        return;
    }
    int T = d->num_thresholds;
    double buckets[2 * (DL_AUC_MAX_THRESHOLDS + 1)]; /* [label, thresholds exceeded] */
    memset(buckets, 0, sizeof(double) * 2 * (size_t)(T + 1));
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        buckets[dl_row_auc_bucket(d, pred, target, cols, i)] += 1.0;
    dl_row_auc_accumulate(buckets, T, acc);
}
