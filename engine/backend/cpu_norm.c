/* cpu_norm.c: the CPU's normalization ops over the last axis of x [rows, c]:
 * BatchNormalization (statistics per column, over the rows) and
 * LayerNormalization (statistics per row). Sums run in double; the
 * per-element formulas are kernel_image.h's dl_norm_*, and a LayerNorm
 * row is kernel_rows.h's (the CUDA backend runs the same rows). */
#include "engine/backend/cpu_ops.h"
#include "engine/backend/kernel_rows.h"

/* Columns per block of the column statistics: the block's double
 * accumulators stay in registers/L1 while the rows stream past. */
enum { NORM_BLOCK = 64 };

/* Per-column mean and biased variance of x [rows, c] for the columns
 * [c0, c0 + nb): mean, var [nb]. Two passes (mean, then squared
 * deviations), which keeps the variance accurate when |mean| >> std. */
static void column_stats(const float *x, int rows, int c, int c0, int nb, double *mean,
                         double *var)
{
    for (int j = 0; j < nb; j++)
        mean[j] = var[j] = 0.0;
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * c + c0; /* [nb] */
        for (int j = 0; j < nb; j++)
            mean[j] += row[j];
    }
    for (int j = 0; j < nb; j++)
        mean[j] /= rows;
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * c + c0;
        for (int j = 0; j < nb; j++) {
            double dev = row[j] - mean[j];
            var[j] += dev * dev;
        }
    }
    for (int j = 0; j < nb; j++)
        var[j] /= rows;
}

void cpu_batchnorm_train(dl_backend *be, const float *x, int rows, int c, const float *gamma,
                         const float *beta, float epsilon, float momentum, float *moving_mean,
                         float *moving_var, float *y, float *mean, float *inv_std)
{
    (void)be;
    double block_mean[NORM_BLOCK], block_var[NORM_BLOCK];
    for (int c0 = 0; c0 < c; c0 += NORM_BLOCK) {
        int nb = c - c0 < NORM_BLOCK ? c - c0 : NORM_BLOCK;
        column_stats(x, rows, c, c0, nb, block_mean, block_var);
        for (int j = 0; j < nb; j++) {
            int k = c0 + j;
            mean[k] = (float)block_mean[j];
            inv_std[k] = dl_norm_inv_std((float)block_var[j], epsilon);
            moving_mean[k] = dl_norm_moving(moving_mean[k], mean[k], momentum);
            moving_var[k] = dl_norm_moving(moving_var[k], (float)block_var[j], momentum);
        }
    }
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * c; /* [c] */
        float *yr = y + (size_t)r * c;
        for (int k = 0; k < c; k++)
            yr[k] = dl_norm_apply(xr[k], mean[k], inv_std[k], gamma[k], beta[k]);
    }
}

void cpu_batchnorm_infer(dl_backend *be, const float *x, int rows, int c, const float *gamma,
                         const float *beta, const float *moving_mean, const float *moving_var,
                         float epsilon, float *y)
{
    (void)be;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * c; /* [c] */
        float *yr = y + (size_t)r * c;
        for (int k = 0; k < c; k++)
            yr[k] = dl_norm_apply(xr[k], moving_mean[k], dl_norm_inv_std(moving_var[k], epsilon),
                                  gamma[k], beta[k]);
    }
}

void cpu_batchnorm_backward(dl_backend *be, const float *x, const float *dy, int rows, int c,
                            const float *gamma, const float *mean, const float *inv_std,
                            float *dx, float *dgamma, float *dbeta)
{
    (void)be;
    double sum_dy[NORM_BLOCK], sum_dy_xhat[NORM_BLOCK];
    for (int c0 = 0; c0 < c; c0 += NORM_BLOCK) {
        int nb = c - c0 < NORM_BLOCK ? c - c0 : NORM_BLOCK;
        for (int j = 0; j < nb; j++)
            sum_dy[j] = sum_dy_xhat[j] = 0.0;
        for (int r = 0; r < rows; r++) {
            const float *xr = x + (size_t)r * c + c0, *dyr = dy + (size_t)r * c + c0; /* [nb] */
            for (int j = 0; j < nb; j++) {
                float xhat = (xr[j] - mean[c0 + j]) * inv_std[c0 + j];
                sum_dy[j] += dyr[j];
                sum_dy_xhat[j] += (double)dyr[j] * xhat;
            }
        }
        for (int j = 0; j < nb; j++) {
            dbeta[c0 + j] = (float)sum_dy[j];
            dgamma[c0 + j] = (float)sum_dy_xhat[j];
        }
        for (int r = 0; r < rows; r++) {
            size_t at = (size_t)r * c + c0;
            for (int j = 0; j < nb; j++) {
                int k = c0 + j;
                float xhat = (x[at + j] - mean[k]) * inv_std[k];
                dx[at + j] = dl_norm_backward(dy[at + j], xhat, gamma[k] * inv_std[k],
                                              (float)(sum_dy[j] / rows),
                                              (float)(sum_dy_xhat[j] / rows));
            }
        }
    }
}

void cpu_layernorm_forward(dl_backend *be, const float *x, int rows, int c, const float *gamma,
                           const float *beta, float epsilon, float *y, float *mean,
                           float *inv_std)
{
    (void)be;
    for (int r = 0; r < rows; r++)
        dl_row_layernorm_row(x, r, c, gamma, beta, epsilon, y, mean, inv_std);
}

void cpu_layernorm_backward(dl_backend *be, const float *x, const float *dy, int rows, int c,
                            const float *gamma, const float *mean, const float *inv_std,
                            float *dx, float *dgamma, float *dbeta)
{
    (void)be;
    for (int k = 0; k < c; k++)
        dgamma[k] = dbeta[k] = 0.0f;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * c, *dyr = dy + (size_t)r * c; /* [c] */
        for (int k = 0; k < c; k++) {
            dgamma[k] += dyr[k] * ((xr[k] - mean[r]) * inv_std[r]);
            dbeta[k] += dyr[k];
        }
        dl_row_layernorm_backward_row(x, dy, r, c, gamma, mean, inv_std, dx);
    }
}
