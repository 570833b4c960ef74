/* cpu_elementwise.c: the CPU's elementwise and row-wise ops: bias,
 * activations, softmax, scale/axpy/mul/clip and dropout. Loops run over
 * contiguous memory and tolerate in-place calls (an output equal to an
 * input), which the layers use. */
#include "engine/backend/cpu_ops.h"

#include <math.h>

void cpu_add_bias(dl_backend *be, float *y, const float *bias, int rows, int cols)
{
    (void)be;
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * cols; /* [cols] */
        for (int c = 0; c < cols; c++)
            row[c] += bias[c];
    }
}

void cpu_bias_grad(dl_backend *be, float *db, const float *dy, int rows, int cols,
                   int accumulate)
{
    (void)be;
    if (!accumulate)
        for (int c = 0; c < cols; c++)
            db[c] = 0.0f;
    for (int r = 0; r < rows; r++) {
        const float *row = dy + (size_t)r * cols; /* [cols] */
        for (int c = 0; c < cols; c++)
            db[c] += row[c];
    }
}

/* One loop per activation: with a constant kind the inlined switch of
 * dl_act_f/dl_act_df folds to one formula, so the loop can vectorize. */
#define CPU_ACT_FORWARD(kind)                                                                    \
    case kind:                                                                                   \
        for (size_t i = 0; i < n; i++)                                                           \
            y[i] = dl_act_f(kind, x[i], alpha);                                                  \
        break

#define CPU_ACT_BACKWARD(kind)                                                                   \
    case kind:                                                                                   \
        for (size_t i = 0; i < n; i++)                                                           \
            dx[i] = dy[i] * dl_act_df(kind, x[i], y[i], alpha);                                  \
        break

/* y [n] = f(x [n]) */
void cpu_act_forward(dl_backend *be, int act, float alpha, const float *x, float *y, size_t n)
{
    (void)be;
    switch (act) {
        CPU_ACT_FORWARD(DL_ACT_RELU);
        CPU_ACT_FORWARD(DL_ACT_RELU6);
        CPU_ACT_FORWARD(DL_ACT_LEAKY_RELU);
        CPU_ACT_FORWARD(DL_ACT_ELU);
        CPU_ACT_FORWARD(DL_ACT_SELU);
        CPU_ACT_FORWARD(DL_ACT_GELU);
        CPU_ACT_FORWARD(DL_ACT_SILU);
        CPU_ACT_FORWARD(DL_ACT_SOFTPLUS);
        CPU_ACT_FORWARD(DL_ACT_SOFTSIGN);
        CPU_ACT_FORWARD(DL_ACT_TANH);
        CPU_ACT_FORWARD(DL_ACT_SIGMOID);
        CPU_ACT_FORWARD(DL_ACT_HARD_SIGMOID);
    default: /* DL_ACT_LINEAR */
        if (y != x)
            for (size_t i = 0; i < n; i++)
                y[i] = x[i];
        break;
    }
}

/* dx [n] = dy [n] * f'(x [n]), y [n] = f(x) */
void cpu_act_backward(dl_backend *be, int act, float alpha, const float *x, const float *y,
                      const float *dy, float *dx, size_t n)
{
    (void)be;
    switch (act) {
        CPU_ACT_BACKWARD(DL_ACT_RELU);
        CPU_ACT_BACKWARD(DL_ACT_RELU6);
        CPU_ACT_BACKWARD(DL_ACT_LEAKY_RELU);
        CPU_ACT_BACKWARD(DL_ACT_ELU);
        CPU_ACT_BACKWARD(DL_ACT_SELU);
        CPU_ACT_BACKWARD(DL_ACT_GELU);
        CPU_ACT_BACKWARD(DL_ACT_SILU);
        CPU_ACT_BACKWARD(DL_ACT_SOFTPLUS);
        CPU_ACT_BACKWARD(DL_ACT_SOFTSIGN);
        CPU_ACT_BACKWARD(DL_ACT_TANH);
        CPU_ACT_BACKWARD(DL_ACT_SIGMOID);
        CPU_ACT_BACKWARD(DL_ACT_HARD_SIGMOID);
    default: /* DL_ACT_LINEAR */
        if (dx != dy)
            for (size_t i = 0; i < n; i++)
                dx[i] = dy[i];
        break;
    }
}

/* y [rows, cols] = softmax(x [rows, cols]) per row; subtracting the row
 * maximum keeps exp from overflowing. */
void cpu_softmax(dl_backend *be, const float *x, float *y, int rows, int cols)
{
    (void)be;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols; /* [cols] */
        float *yr = y + (size_t)r * cols;       /* [cols] */
        float max = xr[0];
        for (int c = 1; c < cols; c++)
            max = fmaxf(max, xr[c]);
        double sum = 0.0;
        for (int c = 0; c < cols; c++) {
            yr[c] = expf(xr[c] - max);
            sum += yr[c];
        }
        float inv = (float)(1.0 / sum);
        for (int c = 0; c < cols; c++)
            yr[c] *= inv;
    }
}

/* dx [rows, cols] = y * (dy - sum(dy * y)) per row */
void cpu_softmax_backward(dl_backend *be, const float *y, const float *dy, float *dx, int rows,
                          int cols)
{
    (void)be;
    for (int r = 0; r < rows; r++) {
        const float *yr = y + (size_t)r * cols, *dyr = dy + (size_t)r * cols; /* [cols] */
        float *dxr = dx + (size_t)r * cols;                                    /* [cols] */
        double dot = 0.0;
        for (int c = 0; c < cols; c++)
            dot += (double)dyr[c] * yr[c];
        for (int c = 0; c < cols; c++)
            dxr[c] = yr[c] * (dyr[c] - (float)dot);
    }
}

void cpu_scale(dl_backend *be, float *x, float alpha, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

void cpu_axpy(dl_backend *be, float alpha, const float *x, float *y, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void cpu_mul(dl_backend *be, const float *a, const float *b, float *out, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

/* x [n] = clip(x, lo, hi); NaN stays NaN (as tf.clip_by_value), so a
 * non-finite gradient is still seen after clipvalue */
void cpu_clip(dl_backend *be, float *x, float lo, float hi, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}

/* Inverted dropout over x [n]: element i uses random number offset + i of
 * stream 0; a Philox block gives four, so each block is computed once. */
void cpu_dropout(dl_backend *be, uint64_t seed, uint64_t offset, float rate, const float *x,
                 float *y, float *mask, size_t n)
{
    (void)be;
    uint32_t block[4];
    for (size_t i = 0; i < n; i++) {
        uint64_t index = offset + i;
        if (i == 0 || (index & 3) == 0)
            dl_philox4x32(seed, 0, index >> 2, block);
        mask[i] = dl_dropout_mask(block[index & 3], rate);
        y[i] = x[i] * mask[i];
    }
}
