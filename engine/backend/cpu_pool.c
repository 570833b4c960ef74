/* cpu_pool.c: max and average pooling, NHWC (dl_pool_desc in kernels.h).
 * Each output pixel's window is clipped to the input, so padding never
 * wins a maximum and an average divides by the valid pixels only (Keras
 * "same").
 *
 * Both directions work one output row at a time and read the input rows
 * under it one after another, left to right, channels innermost: the
 * input streams through once while the output row (forward) or the
 * gradients being routed (backward) stay in cache. Visiting window by
 * window instead, hopping between input rows, ran 3-4 times slower once
 * the input had left the cache. Samples are split over the backend's
 * threads. */
#include "engine/backend/cpu_ops.h"

#include <math.h>
#include <string.h>

/* The input pixels [r0, r1) x [c0, c1) that output pixel (i, j) covers. */
typedef struct pool_window {
    int r0, r1, c0, c1;
} pool_window;

static pool_window pool_window_at(const dl_pool_desc *d, int i, int j)
{
    int top = i * d->sh - d->pad_top, left = j * d->sw - d->pad_left;
    pool_window win = {top, top + d->ph, left, left + d->pw};
    win.r0 = win.r0 > 0 ? win.r0 : 0;
    win.c0 = win.c0 > 0 ? win.c0 : 0;
    win.r1 = win.r1 < d->h ? win.r1 : d->h;
    win.c1 = win.c1 < d->w ? win.c1 : d->w;
    return win;
}

static float pool_inv_count(pool_window win)
{
    return 1.0f / (float)((win.r1 - win.r0) * (win.c1 - win.c0));
}

/* Where pixel (r, col) of sample b starts in an input-shaped [n, h, w, c]
 * buffer. */
static size_t pool_offset(const dl_pool_desc *d, int b, int r, int col)
{
    return (((size_t)b * d->h + r) * d->w + col) * d->c;
}

/* Output row i of sample b, out_row [ow, c]: every pixel of the input rows
 * under it is combined into the output pixels whose windows hold it. */
static void pool_forward_row(const dl_pool_desc *d, const float *x, int b, int i,
                             float *restrict out_row)
{
    size_t c = (size_t)d->c, row_len = (size_t)d->ow * c;
    int max = d->kind == DL_POOL_MAX;
    pool_window rows = pool_window_at(d, i, 0);
    for (size_t k = 0; k < row_len; k++)
        out_row[k] = max ? -INFINITY : 0.0f;
    for (int r = rows.r0; r < rows.r1; r++)
        for (int j = 0; j < d->ow; j++) {
            pool_window win = pool_window_at(d, i, j);
            float *out = out_row + (size_t)j * c;
            for (int col = win.c0; col < win.c1; col++) {
                const float *px = x + pool_offset(d, b, r, col); /* [c] */
                if (max)
                    for (size_t ch = 0; ch < c; ch++)
                        out[ch] = px[ch] > out[ch] ? px[ch] : out[ch];
                else
                    for (size_t ch = 0; ch < c; ch++)
                        out[ch] += px[ch];
            }
        }
    for (int j = 0; j < d->ow && !max; j++) {
        float inv_count = pool_inv_count(pool_window_at(d, i, j));
        for (size_t ch = 0; ch < c; ch++)
            out_row[(size_t)j * c + ch] *= inv_count;
    }
}

typedef struct pool_job {
    const dl_pool_desc *d;
    const float *x, *y, *dy;
    float *out;                 /* forward: y; backward: dx */
} pool_job;

/* samples [lo, hi) of the forward */
static void pool_forward_samples(const void *ctx, size_t lo, size_t hi)
{
    const pool_job *j = ctx;
    const dl_pool_desc desc = *j->d; /* a local copy: no store to y can change it */
    const dl_pool_desc *d = &desc;
    for (int b = (int)lo; b < (int)hi; b++)
        for (int i = 0; i < d->oh; i++)
            pool_forward_row(d, j->x, b, i, j->out + ((size_t)b * d->oh + i) * d->ow * d->c);
}

/* Samples per block: about CPU_GRAIN input floats. */
static size_t pool_grain(const dl_pool_desc *d)
{
    return CPU_GRAIN / ((size_t)d->h * d->w * d->c + 1) + 1;
}

/* y [n, oh, ow, c] */
void cpu_pool_forward(dl_backend *be, const dl_pool_desc *d, const float *x, float *y)
{
    pool_job j = {d, x, NULL, NULL, y};
    cpu_parallel(cpu_pool_of(be), (size_t)d->n, pool_grain(d), pool_forward_samples, &j);
}

/* Zeros the pixels of sample b of dx [n, h, w, c] that no window covers, for windows
 * that tile the input (stride = window): the rows and columns past the
 * last window ('valid' drops them). */
static void pool_zero_uncovered(const dl_pool_desc *d, float *dx, int b)
{
    int rows = d->oh * d->sh - d->pad_top, cols = d->ow * d->sw - d->pad_left;
    rows = rows < d->h ? rows : d->h;
    cols = cols < d->w ? cols : d->w;
    size_t c = (size_t)d->c;
    for (int r = 0; r < rows && cols < d->w; r++)
        memset(dx + pool_offset(d, b, r, cols), 0, (size_t)(d->w - cols) * c * sizeof(float));
    if (rows < d->h)
        memset(dx + pool_offset(d, b, rows, 0), 0, (size_t)(d->h - rows) * d->w * c * sizeof(float));
}

/* A block of output pixels [j0, j0 + pixels) x channels [ch0, ch0 +
 * channels) of one output row, whose gradients backward routes together. */
typedef struct pool_block {
    int j0, pixels;
    int ch0, channels;
} pool_block;

/* The gradient of one block of output row i of sample b onto dx, reading
 * the windows' input rows one after another like the forward. share
 * [pixels, channels] starts as each pixel's dy (max) or dy / count
 * (average). Max: per channel, the whole gradient goes to the window's
 * first pixel in row-major order whose value equals the maximum y, and
 * share keeps what is not yet routed (0 once routed). Average: every valid
 * pixel gets its share. With `accumulate` the shares add to dx (windows
 * overlap), otherwise they are dx. */
static void pool_backward_block(const dl_pool_desc *d, const float *x, const float *y_row,
                                float *restrict share, float *dx, int b, int i, pool_block blk,
                                int accumulate)
{
    size_t c = (size_t)d->c;
    int max = d->kind == DL_POOL_MAX;
    pool_window rows = pool_window_at(d, i, 0);
    for (int r = rows.r0; r < rows.r1; r++)
        for (int jb = 0; jb < blk.pixels; jb++) {
            int j = blk.j0 + jb;
            pool_window win = pool_window_at(d, i, j);
            float *pending = share + (size_t)jb * blk.channels; /* [channels] */
            const float *top = y_row + (size_t)j * c + blk.ch0; /* [channels]: the maxima */
            for (int col = win.c0; col < win.c1; col++) {
                size_t at = pool_offset(d, b, r, col) + blk.ch0;
                for (int k = 0; k < blk.channels; k++) {
                    int routed_here = !max || x[at + k] == top[k];
                    float g = routed_here ? pending[k] : 0.0f;
                    dx[at + k] = accumulate ? dx[at + k] + g : g;
                    pending[k] = max && routed_here ? 0.0f : pending[k];
                }
            }
        }
}

/* share [pixels, channels] of a block: each output pixel's dy (from dy_row
 * [ow, c], output row i), divided by its window's valid pixels for average
 * pooling. */
static void pool_block_shares(const dl_pool_desc *d, const float *dy_row, int i, pool_block blk,
                              float *restrict share)
{
    for (int jb = 0; jb < blk.pixels; jb++) {
        const float *g = dy_row + (size_t)(blk.j0 + jb) * d->c + blk.ch0; /* [channels] */
        float scale = d->kind == DL_POOL_MAX ? 1.0f
                                             : pool_inv_count(pool_window_at(d, i, blk.j0 + jb));
        for (int k = 0; k < blk.channels; k++)
            share[jb * blk.channels + k] = g[k] * scale;
    }
}

/* Floats of gradient shares kept on the stack: a block's size. */
#define POOL_SHARE_FLOATS 1024

/* samples [lo, hi) of the backward: dx (overwritten) */
static void pool_backward_samples(const void *ctx, size_t lo, size_t hi)
{
    const pool_job *j = ctx;
    const dl_pool_desc desc = *j->d; /* a local copy: no store to dx can change it */
    const dl_pool_desc *d = &desc;
    float share[POOL_SHARE_FLOATS];
    int tiled = d->sh == d->ph && d->sw == d->pw;
    int channels = d->c < POOL_SHARE_FLOATS ? d->c : POOL_SHARE_FLOATS;
    int pixels = POOL_SHARE_FLOATS / channels;
    size_t sample = (size_t)d->h * d->w * d->c;
    for (int b = (int)lo; b < (int)hi; b++) {
        if (tiled)
            pool_zero_uncovered(d, j->out, b);
        else
            memset(j->out + b * sample, 0, sample * sizeof(float));
        for (int i = 0; i < d->oh; i++) {
            size_t row = ((size_t)b * d->oh + i) * d->ow * d->c; /* output row i in y, dy */
            for (int ch0 = 0; ch0 < d->c; ch0 += channels)
                for (int j0 = 0; j0 < d->ow; j0 += pixels) {
                    pool_block blk = {j0, d->ow - j0 < pixels ? d->ow - j0 : pixels, ch0,
                                      d->c - ch0 < channels ? d->c - ch0 : channels};
                    pool_block_shares(d, j->dy + row, i, blk, share);
                    pool_backward_block(d, j->x, j->y + row, share, j->out, b, i, blk, !tiled);
                }
        }
    }
}

/* dx [n, h, w, c] (overwritten). Overlapping windows add up; windows that
 * tile the input write their pixels directly, which saves clearing dx. */
void cpu_pool_backward(dl_backend *be, const dl_pool_desc *d, const float *x, const float *y,
                       const float *dy, float *dx)
{
    pool_job j = {d, x, y, dy, dx};
    cpu_parallel(cpu_pool_of(be), (size_t)d->n, pool_grain(d), pool_backward_samples, &j);
}
