/* cpu_conv.c: 2-D convolution, NHWC, as im2col + sgemm (dl_conv_desc in
 * kernels.h; Conv1D is h = kh = 1).
 *
 * cols [M, K] with M = n*oh*ow output pixels and K = kh*kw*c holds each
 * output pixel's receptive field in the kernel's own order, so a Keras
 * kernel [kh, kw, c, filters] is the gemm's right-hand matrix [K, F]:
 *
 *     forward          y [M, F]      = cols [M, K] x kernel [K, F]
 *     backward_filter  dkernel [K, F] = cols^T [K, M] x dy [M, F]
 *     backward_data    dcols [M, K]  = dy [M, F] x kernel^T [F, K], then
 *                      col2im adds each dcols row back onto dx
 *
 * The batch goes through in chunks of whole images whose cols and output
 * fit in about half a megabyte per thread: im2col writes a chunk, OpenBLAS
 * packs it and col2im reads it back while it is still in the core's cache,
 * instead of streaming a batch-sized matrix (9 MB for the example CNN's
 * second layer) through memory three times; im2col and col2im split a
 * chunk's images over the backend's threads. The bias and the activation
 * (dl_conv_act) visit a chunk's output right after its product, and its
 * gradient right before, in cache too: the bias is the product's starting
 * value (beta = 1), which also spares clearing the output first. A
 * pointwise convolution (1x1, stride 1, no padding) needs no im2col: x
 * already is the cols matrix [M, c]. Shallow receptive fields (K <= 32,
 * a multiple of 8 filters) take the direct loops of cpu_conv_direct.c for
 * forward and backward-filter instead. */
#include "engine/backend/cpu_conv.h"

#include <string.h>

static size_t conv_rows(const dl_conv_desc *d)
{
    return (size_t)d->n * d->oh * d->ow;
}

static void conv_zero(float *dst, size_t n)
{
    if (n)
        memset(dst, 0, n * sizeof(float));
}

/* The longest valid run of one kernel row that one memcpy copies: kw*c
 * floats with dilation 1, c floats otherwise. */
static size_t conv_run(const dl_conv_desc *d)
{
    return d->dw == 1 ? (size_t)d->kw * d->c : (size_t)d->c;
}

/* im2col output pixel by output pixel: each kernel row's valid taps are
 * copied with one memcpy (dilation 1) or one per tap, padding zeroed. For
 * runs long enough that a memcpy call costs little. */
static void im2col_by_pixel(const dl_conv_desc *d, const float *x, float *cols, int b_lo,
                            int b_hi)
{
    size_t depth = conv_depth(d), kernel_row = (size_t)d->kw * d->c, c = (size_t)d->c;
    float *field = cols + (size_t)b_lo * d->oh * d->ow * depth; /* [depth]: a pixel's row */
    for (int b = b_lo; b < b_hi; b++)
        for (int i = 0; i < d->oh; i++) {
            int row0 = i * d->sh - d->pad_top;
            conv_taps rows = conv_valid_taps(row0, d->kh, d->dh, d->h);
            for (int j = 0; j < d->ow; j++, field += depth) {
                int col0 = j * d->sw - d->pad_left;
                conv_taps taps = conv_valid_taps(col0, d->kw, d->dw, d->w);
                size_t before = taps.lo * c, inside = (size_t)(taps.hi - taps.lo) * c;
                conv_zero(field, rows.lo * kernel_row);
                for (int ki = rows.lo; ki < rows.hi; ki++) {
                    float *dst = field + ki * kernel_row;
                    /* the input pixel under the kernel row's first valid tap */
                    size_t r = (size_t)(row0 + ki * d->dh), q = (size_t)(col0 + taps.lo * d->dw);
                    const float *src = inside ? x + (((size_t)b * d->h + r) * d->w + q) * c : x;
                    conv_zero(dst, before);
                    if (d->dw == 1)
                        memcpy(dst + before, src, inside * sizeof(float));
                    else
                        for (int kj = taps.lo; kj < taps.hi; kj++)
                            memcpy(dst + kj * c, src + (size_t)(kj - taps.lo) * d->dw * c,
                                   c * sizeof(float));
                    conv_zero(dst + before + inside, kernel_row - before - inside);
                }
                conv_zero(field + rows.hi * kernel_row, (d->kh - rows.hi) * kernel_row);
            }
        }
}

/* im2col kernel tap by kernel tap, for few channels (a first layer on
 * grayscale or RGB images): each tap's channels for a whole output row
 * at once, looping over the row's pixels innermost, where one memcpy per
 * pixel would cost more than its few floats. */
static void im2col_by_tap(const dl_conv_desc *d, const float *x, float *cols, int b_lo,
                          int b_hi)
{
    size_t depth = conv_depth(d), c = (size_t)d->c, step = (size_t)d->sw * c;
    for (int b = b_lo; b < b_hi; b++)
        for (int i = 0; i < d->oh; i++) {
            float *fields = cols + ((size_t)b * d->oh + i) * d->ow * depth; /* [ow, depth] */
            for (int ki = 0; ki < d->kh; ki++) {
                int r = i * d->sh + ki * d->dh - d->pad_top;
                for (int kj = 0; kj < d->kw; kj++) {
                    float *tap = fields + ((size_t)ki * d->kw + kj) * c; /* [ow] runs of c */
                    int col0 = kj * d->dw - d->pad_left; /* input column under pixel 0 */
                    conv_taps js = {0, 0};               /* the pixels j over the input */
                    if (r >= 0 && r < d->h)
                        js = conv_valid_taps(col0, d->ow, d->sw, d->w);
                    const float *src = x; /* under pixel js.lo, when there is one */
                    if (js.hi > js.lo)
                        src += (((size_t)b * d->h + r) * d->w + (size_t)(col0 + js.lo * d->sw)) * c;
                    for (size_t t = 0; t < c; t++) {
                        for (int j = 0; j < js.lo; j++)
                            tap[j * depth + t] = 0.0f;
                        for (int j = js.lo; j < js.hi; j++)
                            tap[j * depth + t] = src[(size_t)(j - js.lo) * step + t];
                        for (int j = js.hi; j < d->ow; j++)
                            tap[j * depth + t] = 0.0f;
                    }
                }
            }
        }
}

/* Runs shorter than this many floats take im2col_by_tap. */
#define CONV_SHORT_RUN 16

typedef struct conv_job {
    const dl_conv_desc *d;
    const float *in;            /* im2col: x; col2im: cols */
    float *out;                 /* im2col: cols; col2im: dx */
} conv_job;

/* samples [lo, hi) of im2col */
static void im2col_samples(const void *ctx, size_t lo, size_t hi)
{
    const conv_job *job = ctx;
    if (conv_run(job->d) < CONV_SHORT_RUN)
        im2col_by_tap(job->d, job->in, job->out, (int)lo, (int)hi);
    else
        im2col_by_pixel(job->d, job->in, job->out, (int)lo, (int)hi);
}

/* cols [n*oh*ow, kh*kw*c] from x [n, h, w, c]: each output pixel's row is
 * its receptive field in the kernel's order, zeros where it reaches into
 * the padding. Split by samples over the backend's threads. */
static void im2col(dl_backend *be, const dl_conv_desc *d, const float *x, float *cols)
{
    conv_job j = {d, x, cols};
    cpu_parallel(cpu_pool_of(be), (size_t)d->n, 1, im2col_samples, &j);
}

static void conv_add_run(float *restrict dst, const float *restrict src, size_t n)
{
    for (size_t t = 0; t < n; t++)
        dst[t] += src[t];
}

/* samples [lo, hi) of col2im */
static void col2im_samples(const void *ctx, size_t lo, size_t hi)
{
    const conv_job *job = ctx;
    const dl_conv_desc desc = *job->d; /* a local copy: no store to dx can change it */
    const dl_conv_desc *d = &desc;
    float *dx = job->out;
    size_t depth = conv_depth(d), kernel_row = (size_t)d->kw * d->c, c = (size_t)d->c;
    conv_zero(dx + lo * d->h * d->w * c, (hi - lo) * d->h * d->w * c);
    const float *field = job->in + lo * d->oh * d->ow * depth; /* [depth] */
    for (int b = (int)lo; b < (int)hi; b++)
        for (int i = 0; i < d->oh; i++) {
            int row0 = i * d->sh - d->pad_top;
            conv_taps rows = conv_valid_taps(row0, d->kh, d->dh, d->h);
            for (int j = 0; j < d->ow; j++, field += depth) {
                int col0 = j * d->sw - d->pad_left;
                conv_taps taps = conv_valid_taps(col0, d->kw, d->dw, d->w);
                size_t before = taps.lo * c, inside = (size_t)(taps.hi - taps.lo) * c;
                for (int ki = rows.lo; ki < rows.hi && inside; ki++) {
                    const float *src = field + ki * kernel_row + before;
                    /* the input pixel under the kernel row's first valid tap */
                    size_t r = (size_t)(row0 + ki * d->dh), q = (size_t)(col0 + taps.lo * d->dw);
                    float *dst = dx + (((size_t)b * d->h + r) * d->w + q) * c;
                    if (d->dw == 1)
                        conv_add_run(dst, src, inside);
                    else
                        for (int kj = taps.lo; kj < taps.hi; kj++)
                            conv_add_run(dst + (size_t)(kj - taps.lo) * d->dw * c,
                                         src + (size_t)(kj - taps.lo) * c, c);
                }
            }
        }
}

/* The transpose of im2col: dx [n, h, w, c] = the sum over every receptive
 * field of its row of cols [n*oh*ow, kh*kw*c] (padding taps dropped).
 * Split by samples, whose fields never overlap. */
static void col2im(dl_backend *be, const dl_conv_desc *d, const float *cols, float *dx)
{
    conv_job j = {d, cols, dx};
    cpu_parallel(cpu_pool_of(be), (size_t)d->n, 1, col2im_samples, &j);
}

/* Floats of cols and output per chunk and thread: 512 KiB. Chosen when
 * only the cols counted (best on one thread for the example CNN's layers
 * among 64 KiB to 4 MiB); counting the output as well keeps the second
 * layer's chunks at 3 images and cuts the first's from 21 to 4. */
#define CONV_CHUNK_FLOATS (128 * 1024)

/* Images per chunk: as many as fit in CONV_CHUNK_FLOATS per thread (each
 * core has its own cache, and OpenBLAS splits a product over the threads),
 * at least one. */
static int conv_chunk_images(dl_backend *be, const dl_conv_desc *d)
{
    size_t cols = conv_is_pointwise(d) ? 0 : conv_depth(d);
    size_t per_image = (size_t)d->oh * d->ow * (cols + (size_t)d->filters);
    size_t floats = CONV_CHUNK_FLOATS * (size_t)cpu_pool_threads(cpu_pool_of(be));
    size_t images = per_image ? floats / per_image : 1;
    if (images < 1)
        images = 1;
    return images < (size_t)d->n ? (int)images : d->n;
}

/* The chunk of d's batch that starts at image first: its descriptor, its
 * output rows m (= images*oh*ow), and the float offsets of its input
 * [images, h, w, c] and output [images, oh, ow, filters] in the whole
 * batch's buffers. */
typedef struct conv_chunk {
    dl_conv_desc d;
    int m;
    size_t x_at, y_at;
} conv_chunk;

static conv_chunk conv_chunk_at(const dl_conv_desc *d, int first, int images)
{
    conv_chunk ch = {*d, 0, 0, 0};
    ch.d.n = images < d->n - first ? images : d->n - first;
    ch.m = (int)conv_rows(&ch.d);
    ch.x_at = (size_t)first * d->h * d->w * d->c;
    ch.y_at = (size_t)first * d->oh * d->ow * d->filters;
    return ch;
}

/* The cols matrix [images*oh*ow, K] of a chunk: x's own rows for a
 * pointwise convolution, im2col's copy in the workspace otherwise. */
static const float *conv_chunk_cols(dl_backend *be, const conv_chunk *ch, const float *x,
                                    float *workspace)
{
    if (conv_is_pointwise(&ch->d))
        return x + ch->x_at;
    im2col(be, &ch->d, x + ch->x_at, workspace);
    return workspace;
}

size_t cpu_conv_workspace(dl_backend *be, const dl_conv_desc *d)
{
    if (conv_is_pointwise(d))
        return 0;
    return (size_t)conv_chunk_images(be, d) * d->oh * d->ow * conv_depth(d);
}

/* Every row of z [rows, f] = bias [f], stored from registers: z is only
 * written (copying what is filled so far would read it back as well). */
static void conv_fill_rows(float *restrict z, const float *restrict bias, int rows, int f)
{
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < f; k++)
            z[(size_t)r * f + k] = bias[k];
}

/* z [n*oh*ow, F] = cols x kernel [K, F] + bias, y = act(z), chunk by chunk */
void cpu_conv_forward(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                      const float *x, const float *kernel, float *z, float *y, float *workspace)
{
    if (conv_is_direct(d)) {
        conv_direct_forward(be, d, a, x, kernel, z, y);
        return;
    }
    int k = (int)conv_depth(d), f = d->filters;
    int images = conv_chunk_images(be, d);
    for (int first = 0; first < d->n; first += images) {
        conv_chunk ch = conv_chunk_at(d, first, images);
        const float *cols = conv_chunk_cols(be, &ch, x, workspace); /* [m, k] */
        float *zc = z + ch.y_at;                                    /* [m, f] */
        if (a->bias)
            conv_fill_rows(zc, a->bias, ch.m, f);
        cpu_gemm(be, 0, 0, ch.m, f, k, 1.0f, cols, k, kernel, f, a->bias ? 1.0f : 0.0f, zc, f);
        if (a->act != DL_ACT_LINEAR)
            cpu_act_forward(be, a->act, a->alpha, zc, y + ch.y_at, (size_t)ch.m * f);
    }
}

/* dcols [n*oh*ow, K] = dy x kernel^T, then col2im into dx, chunk by chunk
 * (pointwise: the product is dx itself) */
void cpu_conv_backward_data(dl_backend *be, const dl_conv_desc *d, const float *dy,
                            const float *kernel, float *dx, float *workspace)
{
    int k = (int)conv_depth(d), f = d->filters, pointwise = conv_is_pointwise(d);
    int images = conv_chunk_images(be, d);
    for (int first = 0; first < d->n; first += images) {
        conv_chunk ch = conv_chunk_at(d, first, images);
        float *dcols = pointwise ? dx + ch.x_at : workspace; /* [m, k] */
        cpu_gemm(be, 0, 1, ch.m, k, f, 1.0f, dy + ch.y_at, f, kernel, f, 0.0f, dcols, k);
        if (!pointwise)
            col2im(be, &ch.d, dcols, dx + ch.x_at);
    }
}

/* dz = dy * act'(z) (over z), dbias [F] = dz's column sums and dkernel
 * [K, F] = cols^T x dz [n*oh*ow, F], summed chunk by chunk: the columns
 * are summed in row order as in one pass over the batch. */
void cpu_conv_backward_filter(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                              const float *x, float *z, const float *y, const float *dy,
                              float *dkernel, float *dbias, float *workspace)
{
    int k = (int)conv_depth(d), f = d->filters;
    if (conv_is_direct(d)) {
        conv_direct_filter(be, d, a, x, z, y, dy, dkernel, dbias);
        return;
    }
    int images = conv_chunk_images(be, d);
    for (int first = 0; first < d->n; first += images) {
        conv_chunk ch = conv_chunk_at(d, first, images);
        size_t n = (size_t)ch.m * f;
        const float *dz = dy + ch.y_at; /* [m, f] */
        if (a->act != DL_ACT_LINEAR) {
            cpu_act_backward(be, a->act, a->alpha, z + ch.y_at, y + ch.y_at, dz, z + ch.y_at, n);
            dz = z + ch.y_at;
        }
        if (dbias)
            cpu_bias_grad(be, dbias, dz, ch.m, f, first != 0);
        const float *cols = conv_chunk_cols(be, &ch, x, workspace); /* [m, k] */
        cpu_gemm(be, 1, 0, k, f, ch.m, 1.0f, cols, k, dz, f, first ? 1.0f : 0.0f, dkernel,
                 f);
    }
}
