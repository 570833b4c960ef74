/* cpu_elementwise.c: the CPU's elementwise and row-wise ops: bias,
 * activations, softmax, scale/axpy/mul/clip and dropout. Loops run over
 * contiguous memory and tolerate in-place calls (an output equal to an
 * input), which the layers use. Bias, activations and dropout split large
 * buffers over the backend's threads (cpu_threads.c) without changing a
 * single result. */
#include "engine/backend/cpu_ops.h"

#include <math.h>

typedef struct bias_job {
    float *y;                   /* add_bias: [rows, cols]; bias_grad: db [cols] */
    const float *bias;          /* add_bias: [cols]; bias_grad: dy [rows, cols] */
    int rows, cols, accumulate;
} bias_job;

/* rows [lo, hi) of y += bias */
static void add_bias_rows(const void *ctx, size_t lo, size_t hi)
{
    const bias_job *j = ctx;
    const float *bias = j->bias;
    int cols = j->cols;
    for (size_t r = lo; r < hi; r++) {
        float *row = j->y + r * cols; /* [cols] */
        for (int c = 0; c < cols; c++)
            row[c] += bias[c];
    }
}

void cpu_add_bias(dl_backend *be, float *y, const float *bias, int rows, int cols)
{
    bias_job j = {y, bias, rows, cols, 0};
    cpu_parallel(cpu_pool_of(be), (size_t)rows, CPU_GRAIN / (size_t)cols + 1, add_bias_rows, &j);
}

/* columns [lo, hi) of db (+)= the sum over rows of dy [rows, cols], on
 * this thread: each column summed in row order */
void cpu_bias_grad_serial(float *db, const float *dy, int rows, int cols, size_t lo, size_t hi,
                          int accumulate)
{
    if (!accumulate)
        for (size_t c = lo; c < hi; c++)
            db[c] = 0.0f;
    for (int r = 0; r < rows; r++) {
        const float *row = dy + (size_t)r * cols; /* [cols] */
        for (size_t c = lo; c < hi; c++)
            db[c] += row[c];
    }
}

/* columns [lo, hi) of db = sum over the rows of dy: each column summed in
 * row order whatever the split, so threads do not change the result */
static void bias_grad_columns(const void *ctx, size_t lo, size_t hi)
{
    const bias_job *j = ctx;
    cpu_bias_grad_serial(j->y, j->bias, j->rows, j->cols, lo, hi, j->accumulate);
}

void cpu_bias_grad(dl_backend *be, float *db, const float *dy, int rows, int cols,
                   int accumulate)
{
    bias_job j = {db, dy, rows, cols, accumulate};
    /* split by columns (16 at least) when the whole is worth splitting */
    size_t grain = (size_t)rows * cols >= 2 * CPU_GRAIN ? 16 : (size_t)cols;
    cpu_parallel(cpu_pool_of(be), (size_t)cols, grain, bias_grad_columns, &j);
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

typedef struct act_job {
    int act;
    float alpha;
    const float *x, *y, *dy;
    float *out;
} act_job;

/* y [n] = f(x [n]) on this thread */
void cpu_act_forward_serial(int act, float alpha, const float *x, float *y, size_t n)
{
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

/* out [lo, hi) = f(x) */
static void act_forward_range(const void *ctx, size_t lo, size_t hi)
{
    const act_job *j = ctx;
    cpu_act_forward_serial(j->act, j->alpha, j->x + lo, j->out + lo, hi - lo);
}

/* dx [n] = dy [n] * f'(x [n]) on this thread, y [n] = f(x) */
void cpu_act_backward_serial(int act, float alpha, const float *x, const float *y,
                             const float *dy, float *dx, size_t n)
{
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

/* out [lo, hi) = dy * f'(x) */
static void act_backward_range(const void *ctx, size_t lo, size_t hi)
{
    const act_job *j = ctx;
    cpu_act_backward_serial(j->act, j->alpha, j->x + lo, j->y + lo, j->dy + lo, j->out + lo,
                            hi - lo);
}

/* y [n] = f(x [n]) */
void cpu_act_forward(dl_backend *be, int act, float alpha, const float *x, float *y, size_t n)
{
    act_job j = {act, alpha, x, NULL, NULL, y};
    cpu_parallel(cpu_pool_of(be), n, CPU_GRAIN, act_forward_range, &j);
}

/* dx [n] = dy [n] * f'(x [n]), y [n] = f(x) */
void cpu_act_backward(dl_backend *be, int act, float alpha, const float *x, const float *y,
                      const float *dy, float *dx, size_t n)
{
    act_job j = {act, alpha, x, y, dy, dx};
    cpu_parallel(cpu_pool_of(be), n, CPU_GRAIN, act_backward_range, &j);
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

typedef struct dropout_job {
    uint64_t seed, offset;
    float rate;
    const float *x;
    float *y, *mask;
} dropout_job;

/* Elements [lo, hi): element i uses random number offset + i of stream 0;
 * a Philox block gives four, so each block is computed once. */
static void dropout_range(const void *ctx, size_t lo, size_t hi)
{
    const dropout_job *j = ctx;
    uint32_t block[4];
    for (size_t i = lo; i < hi; i++) {
        uint64_t index = j->offset + i;
        if (i == lo || (index & 3) == 0)
            dl_philox4x32(j->seed, 0, index >> 2, block);
        j->mask[i] = dl_dropout_mask(block[index & 3], j->rate);
        j->y[i] = j->x[i] * j->mask[i];
    }
}

/* Inverted dropout over x [n] */
void cpu_dropout(dl_backend *be, uint64_t seed, uint64_t offset, float rate, const float *x,
                 float *y, float *mask, size_t n)
{
    dropout_job j = {seed, offset, rate, x, y, mask};
    cpu_parallel(cpu_pool_of(be), n, CPU_GRAIN / 4, dropout_range, &j);
}
