/* cpu_loss.c: the loss op on the CPU. Every loss is the batch mean of
 * per-sample losses; grad is d(batch mean)/d pred (d/d logits when
 * from_logits). The per-element and per-row math is kernel_rows.h's,
 * shared with the CUDA backend; sums run in double. */
#include "engine/backend/cpu_ops.h"
#include "engine/backend/kernel_rows.h"

double cpu_loss(dl_backend *be, const dl_loss_desc *d, const float *pred, const float *target,
                float *grad, int rows, int cols)
{
    (void)be;
    double sum = 0.0;
    if (d->kind == DL_LOSS_CCE) {
        /* the per-sample loss sums over the classes */
        float grad_scale = (float)(1.0 / rows);
        for (int r = 0; r < rows; r++)
            sum += dl_row_cce_row(d, pred, target, grad, r, cols, grad_scale);
        return sum / rows;
    }
    /* mse, mae, huber, bce: the per-sample loss is the mean over the last
     * axis, so the batch mean is the mean over all rows*cols elements */
    size_t n = (size_t)rows * cols;
    float grad_scale = (float)(1.0 / (double)n);
    for (size_t i = 0; i < n; i++)
        sum += dl_row_loss_elem_at(d, pred, target, grad, grad_scale, i);
    return sum / (double)n;
}
