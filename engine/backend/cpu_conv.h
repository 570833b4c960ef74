/* cpu_conv.h: what the CPU's two convolution paths share: im2col + sgemm
 * (cpu_conv.c) and direct loops for shallow receptive fields
 * (cpu_conv_direct.c). */
#ifndef DL_CPU_CONV_H
#define DL_CPU_CONV_H

#include "engine/backend/cpu_ops.h"

/* K: the floats of one receptive field, kh*kw*c */
static inline size_t conv_depth(const dl_conv_desc *d)
{
    return (size_t)d->kh * d->kw * d->c;
}

/* The taps t in [lo, hi) of a window along one axis that land inside the
 * input [0, size), tap t sitting at start + t*dilation; lo == hi when none.
 * Computed per output pixel: without a division for the usual dilation 1. */
typedef struct conv_taps {
    int lo, hi;
} conv_taps;

static inline conv_taps conv_valid_taps(int start, int taps, int dilation, int size)
{
    int first_inside, end_inside;
    if (dilation == 1) {
        first_inside = start >= 0 ? 0 : -start;
        end_inside = size - start;
    } else {
        first_inside = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
        end_inside = start >= size ? 0 : (size - 1 - start) / dilation + 1;
    }
    conv_taps t;
    t.hi = end_inside < taps ? end_inside : taps;
    t.hi = t.hi > 0 ? t.hi : 0;
    t.lo = first_inside < t.hi ? first_inside : t.hi;
    return t;
}

/* 1x1, stride 1, no padding: x already is the cols matrix [M, c] */
static inline int conv_is_pointwise(const dl_conv_desc *d)
{
    return d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->pad_top == 0 &&
           d->pad_left == 0;
}

/* Receptive fields of at most this many floats (a first layer on grayscale
 * or RGB images, 3x3 or 5x5) take the direct loops: a product with so
 * short an inner dimension spends its time storing its output rather than
 * multiplying, and im2col copies every input pixel K times to feed it. The
 * loops work on vectors of 8 filters. */
#define CONV_DIRECT_DEPTH 32

static inline int conv_is_direct(const dl_conv_desc *d)
{
    return conv_depth(d) <= CONV_DIRECT_DEPTH && d->filters % 8 == 0 && !conv_is_pointwise(d);
}

/* cpu_conv_direct.c: as cpu_conv_forward and cpu_conv_backward_filter
 * (dkernel and dbias overwritten, dz over z) */
void conv_direct_forward(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                         const float *x, const float *kernel, float *z, float *y);
void conv_direct_filter(dl_backend *be, const dl_conv_desc *d, const dl_conv_act *a,
                        const float *x, float *z, const float *y, const float *dy,
                        float *dkernel, float *dbias);

#endif
