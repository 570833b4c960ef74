/* cpu_loss.c: the loss op on the CPU. Every loss is the batch mean of
 * per-sample losses; grad is d(batch mean)/d pred (d/d logits when
 * from_logits). Sums run in double. */
#include "engine/backend/cpu_ops.h"

#include <math.h>

int cpu_class_id(float label, int cols)
{
    if (!(label >= 0.0f && label < (float)cols))
        return -1;
    int id = (int)label;
    return (float)id == label ? id : -1;
}

/* mse, mae, huber, bce: the per-sample loss is the mean over the last axis,
 * so the batch mean is the mean over all rows*cols elements. */
static double cpu_loss_elementwise(const dl_loss_desc *d, const float *pred, const float *target,
                                   float *grad, size_t n)
{
    float grad_scale = (float)(1.0 / (double)n);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        float dpred;
        sum += dl_loss_elem(d, pred[i], target[i], &dpred);
        grad[i] = dpred * grad_scale;
    }
    return sum / (double)n;
}

/* Smoothed target t'[k] of one row: t(1 - ls) + ls/K, where t is the row of
 * target [rows, cols] or the one-hot row of a class id. */
static void cpu_smoothed_targets(const dl_loss_desc *d, const float *target, int r, int cols,
                                 float *t_row)
{
    float keep = 1.0f - d->label_smoothing, spread = d->label_smoothing / (float)cols;
    if (d->sparse_target) {
        int id = cpu_class_id(target[r], cols);
        for (int k = 0; k < cols; k++)
            t_row[k] = (k == id ? keep : 0.0f) + spread;
    } else {
        const float *tr = target + (size_t)r * cols; /* [cols] */
        for (int k = 0; k < cols; k++)
            t_row[k] = tr[k] * keep + spread;
    }
}

/* Cross-entropy on logits z [cols] of one row: -sum t' log_softmax(z).
 * tg [cols] holds t' on entry and (softmax(z) sum t' - t') * grad_scale on
 * return. */
static double cpu_cce_logits_row(const float *z, float *tg, int cols, float grad_scale)
{
    float max = z[0];
    for (int k = 1; k < cols; k++)
        max = fmaxf(max, z[k]);
    double sum_exp = 0.0, t_sum = 0.0, t_dot_z = 0.0;
    for (int k = 0; k < cols; k++) {
        sum_exp += exp((double)(z[k] - max));
        t_sum += tg[k];
        t_dot_z += (double)tg[k] * (z[k] - max);
    }
    double log_sum = log(sum_exp);
    for (int k = 0; k < cols; k++) {
        double softmax = exp((double)(z[k] - max) - log_sum);
        tg[k] = (float)(softmax * t_sum - tg[k]) * grad_scale;
    }
    /* -sum t'_k (z_k - max - log_sum) */
    return t_sum * log_sum - t_dot_z;
}

/* Cross-entropy on probabilities p [cols] of one row, as Keras: p^ = p/S
 * with S = sum p, c = clip(p^), loss -sum t' log c. With g_k = -t'_k/c_k (0
 * where clipped) the gradient through the renormalisation is
 * (g_j - sum_k g_k p^_k) / S. tg [cols] holds t' on entry and that gradient
 * times grad_scale on return. */
static double cpu_cce_probs_row(const float *p, float *tg, int cols, float grad_scale)
{
    double sum_p = 0.0;
    for (int k = 0; k < cols; k++)
        sum_p += p[k];
    float inv_sum = (float)(1.0 / sum_p);
    double loss = 0.0, g_dot_p = 0.0;
    for (int k = 0; k < cols; k++) {
        float p_hat = p[k] * inv_sum;
        float c = fminf(fmaxf(p_hat, DL_PROB_LO), DL_PROB_HI);
        int inside = p_hat >= DL_PROB_LO && p_hat <= DL_PROB_HI;
        loss -= (double)tg[k] * log((double)c);
        tg[k] = inside ? -tg[k] / c : 0.0f;
        g_dot_p += (double)tg[k] * p_hat;
    }
    for (int k = 0; k < cols; k++)
        tg[k] = (float)((tg[k] - g_dot_p) / sum_p) * grad_scale;
    return loss;
}

/* Categorical cross-entropy (sum over classes per sample), one-hot/soft or
 * sparse targets. Each grad row first receives the row's smoothed targets. */
static double cpu_loss_categorical(const dl_loss_desc *d, const float *pred, const float *target,
                                   float *grad, int rows, int cols)
{
    float grad_scale = (float)(1.0 / rows);
    double sum = 0.0;
    for (int r = 0; r < rows; r++) {
        const float *pr = pred + (size_t)r * cols; /* [cols] */
        float *gr = grad + (size_t)r * cols;       /* [cols]: t' first, then the gradient */
        cpu_smoothed_targets(d, target, r, cols, gr);
        sum += d->from_logits ? cpu_cce_logits_row(pr, gr, cols, grad_scale)
                              : cpu_cce_probs_row(pr, gr, cols, grad_scale);
    }
    return sum / rows;
}

double cpu_loss(dl_backend *be, const dl_loss_desc *d, const float *pred, const float *target,
                float *grad, int rows, int cols)
{
    (void)be;
    if (d->kind == DL_LOSS_CCE)
        return cpu_loss_categorical(d, pred, target, grad, rows, cols);
    return cpu_loss_elementwise(d, pred, target, grad, (size_t)rows * cols);
}
