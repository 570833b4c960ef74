/* cpu_conv_direct.c: convolutions whose receptive field holds few floats
 * (conv_is_direct: a first layer on grayscale or RGB images), computed
 * straight from x, without im2col or a matrix product. Everything works on
 * vectors of 8 filters.
 *
 * Forward: an output pixel's filters start at the bias and take, for each
 * float of its receptive field in the kernel's order, that input value
 * times the kernel's row [F]. Interior pixels go two at a time with the
 * field's offsets precomputed (8 independent sums for 32 filters); pixels
 * whose field reaches into the padding skip the padded taps. The
 * activation follows each output row while it is in cache. Samples are
 * split over the backend's threads.
 *
 * Backward-filter, image by image while the image's rows are in cache: the
 * activation's gradient (dz over z) and the bias's column sums (in row
 * order, as cpu_bias_grad), then for each receptive-field float (tap) and
 * each vector of filters the sum over the output pixels the tap reaches of
 * input value times dz row, as two interleaved partial sums (even and odd
 * columns), added to dkernel in image order. Filters are split over the
 * threads; no filter's sums depend on the split. Backward-data keeps
 * im2col's transpose (cpu_conv.c). */
#include "engine/backend/cpu_conv.h"

#include <stddef.h>
#include <string.h>
#if defined(__FMA__)
#include <immintrin.h>
#endif

/* 8 floats; loads and stores go through memcpy: no alignment assumed.
 * Without AVX (NATIVE=0) GCC warns that passing such vectors by value
 * changes the ABI; these helpers are static to this file, so no caller
 * compiled elsewhere can disagree. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v8f __attribute__((vector_size(32)));

static inline v8f v8_load(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void v8_store(float *p, v8f v)
{
    memcpy(p, &v, sizeof v);
}

static inline v8f v8_splat(float s)
{
    return (v8f){s, s, s, s, s, s, s, s};
}

/* acc + a * b, fused where the CPU has FMA */
static inline v8f v8_fma(v8f a, v8f b, v8f acc)
{
#if defined(__FMA__)
    return (v8f)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)acc);
#else
    return acc + a * b;
#endif
}

/* Vectors of filters one pass holds: 32 filters. */
#define DIRECT_VECTORS 4

typedef struct forward_job {
    const dl_conv_desc *d;
    const dl_conv_act *a;
    const float *x, *kernel;
    float *z, *y;
} forward_job;

typedef struct filter_job {
    const dl_conv_desc *d;
    const dl_conv_act *a;
    const float *x, *y, *dy;
    float *z;                   /* becomes dz */
    float *dkernel, *dbias;
} filter_job;

/* The output indexes [lo, hi) along one axis whose tap t (at i*stride -
 * pad + t*dilation) lands inside the input [0, size). */
static conv_taps direct_reach(int out, int stride, int pad, int t, int dilation, int size)
{
    conv_taps r = {0, out};
    while (r.lo < out && r.lo * stride - pad + t * dilation < 0)
        r.lo++;
    while (r.hi > r.lo && (r.hi - 1) * stride - pad + t * dilation >= size)
        r.hi--;
    return r;
}

/* ---- forward ---- */

/* z rows of npx (1 or 2) interior output pixels, filters [f0, f0 + 8*nv):
 * the fields start at px and px + step, off [K] locates their floats. */
static inline void direct_interior(const float *px, ptrdiff_t step, int npx,
                                   const ptrdiff_t *off, size_t depth, const float *kernel,
                                   const float *bias, int f, int f0, int nv, float *z_row)
{
    v8f acc[2][DIRECT_VECTORS];
    for (int p = 0; p < npx; p++)
        for (int v = 0; v < nv; v++)
            acc[p][v] = bias ? v8_load(bias + f0 + 8 * v) : v8_splat(0.0f);
    for (size_t t = 0; t < depth; t++) {
        const float *k_row = kernel + t * f + f0;
        v8f first = v8_splat(px[off[t]]);
        v8f second = npx == 2 ? v8_splat(px[step + off[t]]) : first;
        for (int v = 0; v < nv; v++) {
            v8f k = v8_load(k_row + 8 * v);
            acc[0][v] = v8_fma(first, k, acc[0][v]);
            if (npx == 2)
                acc[1][v] = v8_fma(second, k, acc[1][v]);
        }
    }
    for (int p = 0; p < npx; p++)
        for (int v = 0; v < nv; v++)
            v8_store(z_row + (size_t)p * f + f0 + 8 * v, acc[p][v]);
}

/* z row [F] of output pixel (i, j) of sample b whose field may reach into
 * the padding: only the taps inside count. */
static void direct_border(const dl_conv_desc *d, const float *x, const float *kernel,
                          const float *bias, int b, int i, int j, float *z_row)
{
    int f = d->filters, c = d->c;
    int row0 = i * d->sh - d->pad_top, col0 = j * d->sw - d->pad_left;
    conv_taps rows = conv_valid_taps(row0, d->kh, d->dh, d->h);
    conv_taps cols = conv_valid_taps(col0, d->kw, d->dw, d->w);
    for (int f0 = 0; f0 < f; f0 += 8) {
        v8f acc = bias ? v8_load(bias + f0) : v8_splat(0.0f);
        for (int ki = rows.lo; ki < rows.hi; ki++)
            for (int kj = cols.lo; kj < cols.hi; kj++) {
                int r = row0 + ki * d->dh, q = col0 + kj * d->dw;
                const float *px = x + (((size_t)b * d->h + r) * d->w + q) * c;
                const float *tap = kernel + ((size_t)ki * d->kw + kj) * c * f + f0;
                for (int ch = 0; ch < c; ch++)
                    acc = v8_fma(v8_splat(px[ch]), v8_load(tap + (size_t)ch * f), acc);
            }
        v8_store(z_row + f0, acc);
    }
}

/* Output row i of sample b: z_row [ow, F]. */
static void direct_forward_row(const dl_conv_desc *d, const float *x, const float *kernel,
                               const float *bias, const ptrdiff_t *off, conv_taps inner, int b,
                               int i, float *z_row)
{
    int f = d->filters;
    size_t depth = conv_depth(d);
    int row0 = i * d->sh - d->pad_top;
    conv_taps rows = conv_valid_taps(row0, d->kh, d->dh, d->h);
    if (rows.lo != 0 || rows.hi != d->kh)
        inner.lo = inner.hi = d->ow; /* the whole row reaches into the padding */
    for (int j = 0; j < inner.lo; j++)
        direct_border(d, x, kernel, bias, b, i, j, z_row + (size_t)j * f);
    for (int j = inner.hi > inner.lo ? inner.hi : inner.lo; j < d->ow; j++)
        direct_border(d, x, kernel, bias, b, i, j, z_row + (size_t)j * f);
    ptrdiff_t step = (ptrdiff_t)d->sw * d->c;
    for (int j = inner.lo; j < inner.hi; j += 2) {
        int npx = inner.hi - j >= 2 ? 2 : 1;
        const float *px =
            x + (((size_t)b * d->h + row0) * d->w + (size_t)(j * d->sw - d->pad_left)) * d->c;
        float *out = z_row + (size_t)j * f;
        int f0 = 0;
        /* npx and nv as literals: the inlined loops over them unroll */
        for (; f0 + 8 * DIRECT_VECTORS <= f; f0 += 8 * DIRECT_VECTORS)
            if (npx == 2)
                direct_interior(px, step, 2, off, depth, kernel, bias, f, f0, DIRECT_VECTORS, out);
            else
                direct_interior(px, step, 1, off, depth, kernel, bias, f, f0, DIRECT_VECTORS, out);
        for (; f0 < f; f0 += 8)
            direct_interior(px, step, npx, off, depth, kernel, bias, f, f0, 1, out);
    }
}

/* samples [lo, hi) of the forward */
static void direct_forward_samples(const void *ctx, size_t lo, size_t hi)
{
    const forward_job *job = ctx;
    const dl_conv_desc desc = *job->d; /* a local copy: no store to z can change it */
    const dl_conv_desc *d = &desc;
    const dl_conv_act *a = job->a;
    ptrdiff_t off[CONV_DIRECT_DEPTH]; /* [K]: a field's floats from its first */
    size_t t = 0;
    for (int ki = 0; ki < d->kh; ki++)
        for (int kj = 0; kj < d->kw; kj++)
            for (int ch = 0; ch < d->c; ch++)
                off[t++] = ((ptrdiff_t)ki * d->dh * d->w + (ptrdiff_t)kj * d->dw) * d->c + ch;
    /* the columns whose whole field lies inside the input */
    conv_taps inner = direct_reach(d->ow, d->sw, d->pad_left, 0, d->dw, d->w);
    conv_taps last = direct_reach(d->ow, d->sw, d->pad_left, d->kw - 1, d->dw, d->w);
    inner.lo = inner.lo > last.lo ? inner.lo : last.lo;
    inner.hi = inner.hi < last.hi ? inner.hi : last.hi;
    inner.hi = inner.hi > inner.lo ? inner.hi : inner.lo;
    size_t row_len = (size_t)d->ow * d->filters;
    for (int b = (int)lo; b < (int)hi; b++)
        for (int i = 0; i < d->oh; i++) {
            size_t at = ((size_t)b * d->oh + i) * row_len;
            direct_forward_row(d, job->x, job->kernel, a->bias, off, inner, b, i, job->z + at);
            if (a->act != DL_ACT_LINEAR)
                cpu_act_forward_serial(a->act, a->alpha, job->z + at, job->y + at, row_len);
        }
}

void conv_direct_forward(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                         const float *x, const float *kernel, float *z, float *y)
{
    forward_job j = {d, a, x, kernel, z, y};
    cpu_parallel(cpu_pool_of(be), (size_t)d->n, 1, direct_forward_samples, &j);
}

/* ---- backward-filter ---- */

/* The sum over image b's output pixels that tap (ki, kj, ch) reaches of
 * input value times gradient, filters [f0, f0 + 8*nv), into sum [nv]. */
static inline void direct_tap_sum(const dl_conv_desc *d, const float *x, const float *dz,
                                  int b, int ki, int kj, int ch, conv_taps rows, conv_taps cols,
                                  int f0, int nv, v8f *sum)
{
    int f = d->filters;
    v8f acc[2][DIRECT_VECTORS];
    for (int p = 0; p < 2; p++)
        for (int v = 0; v < nv; v++)
            acc[p][v] = v8_splat(0.0f);
    ptrdiff_t x_step = (ptrdiff_t)d->sw * d->c;
    for (int i = rows.lo; i < rows.hi && cols.lo < cols.hi; i++) {
        int r = i * d->sh - d->pad_top + ki * d->dh;
        int q = cols.lo * d->sw - d->pad_left + kj * d->dw;
        const float *px = x + (((size_t)b * d->h + r) * d->w + q) * d->c + ch;
        const float *g = dz + (((size_t)b * d->oh + i) * d->ow + cols.lo) * f + f0;
        int j = cols.lo;
        for (; j + 1 < cols.hi; j += 2, px += 2 * x_step, g += 2 * f)
            for (int v = 0; v < nv; v++) {
                acc[0][v] = v8_fma(v8_splat(px[0]), v8_load(g + 8 * v), acc[0][v]);
                acc[1][v] = v8_fma(v8_splat(px[x_step]), v8_load(g + f + 8 * v), acc[1][v]);
            }
        if (j < cols.hi)
            for (int v = 0; v < nv; v++)
                acc[0][v] = v8_fma(v8_splat(px[0]), v8_load(g + 8 * v), acc[0][v]);
    }
    for (int v = 0; v < nv; v++)
        sum[v] = acc[0][v] + acc[1][v];
}

/* Image b's part of dkernel's columns [f0, f0 + 8*nv): added to what the
 * images before it left there (the first overwrites). */
static void direct_filter_image(const dl_conv_desc *d, const float *x, const float *dz, int b,
                                int f0, int nv, float *dkernel)
{
    int f = d->filters;
    for (int ki = 0; ki < d->kh; ki++) {
        conv_taps rows = direct_reach(d->oh, d->sh, d->pad_top, ki, d->dh, d->h);
        for (int kj = 0; kj < d->kw; kj++) {
            conv_taps cols = direct_reach(d->ow, d->sw, d->pad_left, kj, d->dw, d->w);
            for (int ch = 0; ch < d->c; ch++) {
                v8f sum[DIRECT_VECTORS];
                if (nv == DIRECT_VECTORS)
                    direct_tap_sum(d, x, dz, b, ki, kj, ch, rows, cols, f0, DIRECT_VECTORS, sum);
                else
                    direct_tap_sum(d, x, dz, b, ki, kj, ch, rows, cols, f0, 1, sum);
                float *dk = dkernel + (((size_t)ki * d->kw + kj) * d->c + ch) * f + f0;
                for (int v = 0; v < nv; v++)
                    v8_store(dk + 8 * v, b ? v8_load(dk + 8 * v) + sum[v] : sum[v]);
            }
        }
    }
}

/* filters [lo, hi) (multiples of 8) of the backward-filter, image by
 * image: the activation's gradient over those columns of the image's rows
 * (dz over z), the bias gradient's column sums in row order as
 * cpu_bias_grad takes them, then the taps, while the rows are in cache. */
static void direct_filter_range(const void *ctx, size_t lo, size_t hi)
{
    const filter_job *job = ctx;
    const dl_conv_desc desc = *job->d; /* a local copy: no store to dkernel can change it */
    const dl_conv_desc *d = &desc;
    const dl_conv_act *a = job->a;
    size_t f = (size_t)d->filters, pixels = (size_t)d->oh * d->ow, n = hi - lo;
    const float *dz = a->act != DL_ACT_LINEAR ? job->z : job->dy; /* [n*oh*ow, F] */
    for (int b = 0; b < d->n; b++) {
        size_t first = (size_t)b * pixels * f; /* the image's rows */
        for (size_t p = 0; a->act != DL_ACT_LINEAR && p < pixels; p++) {
            size_t at = first + p * f + lo;
            cpu_act_backward_serial(a->act, a->alpha, job->z + at, job->y + at, job->dy + at,
                                    job->z + at, n);
        }
        if (job->dbias)
            cpu_bias_grad_serial(job->dbias, dz + first, (int)pixels, (int)f, lo, hi, b != 0);
        size_t f0 = lo;
        for (; f0 + 8 * DIRECT_VECTORS <= hi; f0 += 8 * DIRECT_VECTORS)
            direct_filter_image(d, job->x, dz, b, (int)f0, DIRECT_VECTORS, job->dkernel);
        for (; f0 < hi; f0 += 8)
            direct_filter_image(d, job->x, dz, b, (int)f0, 1, job->dkernel);
    }
}

void conv_direct_filter(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                        const float *x, float *z, const float *y, const float *dy,
                        float *dkernel, float *dbias)
{
    filter_job j = {d, a, x, y, dy, z, dkernel, dbias};
    cpu_parallel(cpu_pool_of(be), (size_t)d->filters, 8 * DIRECT_VECTORS / 2,
                 direct_filter_range, &j);
}
