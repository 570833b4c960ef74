/* kernel_image.h: per-element math of normalization and image
 * augmentation shared by the CPU (cpu_norm.c, cpu_augment.c) and CUDA
 * backends: host-and-device inline functions, C and C++ (nvcc) alike, as
 * kernels.h. */
#ifndef DL_KERNEL_IMAGE_H
#define DL_KERNEL_IMAGE_H

#include "engine/backend/kernels.h"

/* ---- normalization: BatchNormalization, LayerNormalization ----
 * The statistics (means, biased variances) are reductions that each backend
 * organizes its own way; these are the per-element formulas around them. */

DL_HD float dl_norm_inv_std(float variance, float epsilon)
{
    return 1.0f / sqrtf(variance + epsilon);
}

/* y = gamma (x - mean) inv_std + beta */
DL_HD float dl_norm_apply(float x, float mean, float inv_std, float gamma, float beta)
{
    return gamma * ((x - mean) * inv_std) + beta;
}

/* Keras's moving statistic: momentum weighs the old value. */
DL_HD float dl_norm_moving(float moving, float batch, float momentum)
{
    return moving * momentum + batch * (1.0f - momentum);
}

/* dx of one element through the mean and variance it was normalized with:
 * scale (g - mean_g - xhat mean_g_xhat), where xhat is the normalized x, g
 * the gradient w.r.t. xhat up to the factor in scale, and the means run over
 * the values that share the statistics. BatchNormalization: g = dy, scale =
 * gamma inv_std; LayerNormalization (gamma varies along the row): g = dy
 * gamma, scale = inv_std. */
DL_HD float dl_norm_backward(float g, float xhat, float scale, float mean_g, float mean_g_xhat)
{
    return scale * (g - mean_g - xhat * mean_g_xhat);
}

/* ---- image augmentation (dl_aug_desc) ----
 * Output pixel (x, y) of a sample reads the input at (x_in, y_in) = A (x, y,
 * 1), the sample's affine map from output to input coordinates (Keras's
 * transform rows [a0 a1 a2; b0 b1 b2], run by TensorFlow's
 * ImageProjectiveTransformV3), after the fill mode has mapped the point into
 * the image. For fixed draws the output is linear in the input: a weighted
 * sum of at most four input pixels (the taps) plus fill_value times the
 * weight that fell outside the image; backward scatters the same taps. */

typedef struct dl_aug_sample {
    float a0, a1, a2;           /* x_in = a0 x + a1 y + a2 */
    float b0, b1, b2;           /* y_in = b0 x + b1 y + b2 */
    float contrast;             /* RandomContrast factor */
} dl_aug_sample;

typedef struct dl_aug_taps {
    int n;                      /* taps inside the image */
    int pixel[4];               /* y_in * w + x_in of each */
    float weight[4];
    float outside;              /* weight of the taps outside: times fill_value */
} dl_aug_taps;

/* Uniform in [lo, hi) from 32 random bits (lo when lo == hi). */
DL_HD float dl_aug_uniform(uint32_t bits, float lo, float hi)
{
    return lo + (hi - lo) * dl_u32_to_unit(bits);
}

/* The parameters of sample `sample` of the batch: one Philox block keyed
 * by the seed, stream = step, counter = sample. */
DL_HD void dl_aug_draw(const dl_aug_desc *d, int sample, dl_aug_sample *s)
{
    uint32_t r[4];
    float w1 = (float)(d->w - 1), h1 = (float)(d->h - 1);
    dl_philox4x32(d->seed, d->step, (uint64_t)sample, r);
    s->a0 = 1.0f;
    s->a1 = 0.0f;
    s->a2 = 0.0f;
    s->b0 = 0.0f;
    s->b1 = 1.0f;
    s->b2 = 0.0f;
    s->contrast = 1.0f;
    switch (d->kind) {
    case DL_AUG_FLIP:
        /* Keras 3: one draw per sample flips every axis the mode names */
        if (dl_u32_to_unit(r[0]) <= 0.5f) {
            if (d->flip_h) {
                s->a0 = -1.0f;
                s->a2 = w1;
            }
            if (d->flip_v) {
                s->b1 = -1.0f;
                s->b2 = h1;
            }
        }
        break;
    case DL_AUG_TRANSLATE: /* a positive shift moves the content right / down */
        s->b2 = -dl_aug_uniform(r[0], d->height_lo, d->height_hi) * (float)d->h;
        s->a2 = -dl_aug_uniform(r[1], d->width_lo, d->width_hi) * (float)d->w;
        break;
    case DL_AUG_ROTATE: { /* about the image centre; positive: counter-clockwise */
        float angle = dl_aug_uniform(r[0], d->factor_lo, d->factor_hi) * 6.28318531f;
        float cs = cosf(angle), sn = sinf(angle);
        s->a0 = cs;
        s->a1 = -sn;
        s->a2 = 0.5f * (w1 - (cs * w1 - sn * h1));
        s->b0 = sn;
        s->b1 = cs;
        s->b2 = 0.5f * (h1 - (sn * w1 + cs * h1));
        break;
    }
    case DL_AUG_ZOOM: { /* about the centre; a factor > 0 zooms out (Keras) */
        float zy = 1.0f + dl_aug_uniform(r[0], d->height_lo, d->height_hi);
        float zx = d->zoom_keep_aspect ? zy : 1.0f + dl_aug_uniform(r[1], d->width_lo, d->width_hi);
        s->a0 = zx;
        s->a2 = 0.5f * w1 * (1.0f - zx);
        s->b1 = zy;
        s->b2 = 0.5f * h1 * (1.0f - zy);
        break;
    }
    default: /* DL_AUG_CONTRAST */
        s->contrast = dl_aug_uniform(r[0], 1.0f - d->factor_lo, 1.0f + d->factor_hi);
        break;
    }
}

/* A coordinate mapped into [0, len - 1] by the fill mode, exactly as
 * TensorFlow does: reflect (d c b a | a b c d | d c b a), wrap (a b c d |
 * a b c d), nearest (a a | a b c d | d d); constant leaves it (the taps
 * outside read fill_value). TensorFlow's wrap divides by len - 1, so it is
 * periodic only for shifts below len - 1 pixels; this keeps that. */
DL_HD float dl_aug_map_coord(float coord, int len, int fill_mode)
{
    float n = (float)len, hi = (float)(len - 1);
    if (fill_mode == DL_FILL_CONSTANT)
        return coord;
    if (len <= 1)
        return 0.0f;
    if (fill_mode == DL_FILL_REFLECT) {
        float period = 2.0f * n;
        if (coord < 0.0f) {
            coord += period * (float)(int)(-coord / period);
            coord = coord < -n ? coord + period : -coord - 1.0f;
        } else if (coord > hi) {
            coord -= period * (float)(int)(coord / period);
            if (coord >= n)
                coord = period - coord - 1.0f;
        }
    } else if (fill_mode == DL_FILL_WRAP) {
        if (coord < 0.0f)
            coord += n * (float)((int)(-coord / hi) + 1);
        else if (coord > hi)
            coord -= n * (float)(int)(coord / hi);
    }
    return fminf(fmaxf(coord, 0.0f), hi);
}

/* Adds one tap at integer (yi, xi) with weight wt. */
DL_HD void dl_aug_add_tap(const dl_aug_desc *d, float yi, float xi, float wt, dl_aug_taps *t)
{
    if (yi >= 0.0f && yi < (float)d->h && xi >= 0.0f && xi < (float)d->w) {
        t->pixel[t->n] = (int)yi * d->w + (int)xi;
        t->weight[t->n] = wt;
        t->n++;
    } else {
        t->outside += wt;
    }
}

/* The taps of output pixel (oy, ox) of a sample: nearest (round half away
 * from zero) or bilinear, as TensorFlow. */
DL_HD void dl_aug_taps_at(const dl_aug_desc *d, const dl_aug_sample *s, int oy, int ox,
                          dl_aug_taps *t)
{
    float x = (float)ox, y = (float)oy;
    float xin = dl_aug_map_coord(s->a0 * x + s->a1 * y + s->a2, d->w, d->fill_mode);
    float yin = dl_aug_map_coord(s->b0 * x + s->b1 * y + s->b2, d->h, d->fill_mode);
    t->n = 0;
    t->outside = 0.0f;
    if (!d->bilinear) {
        dl_aug_add_tap(d, roundf(yin), roundf(xin), 1.0f, t);
        return;
    }
    float x0 = floorf(xin), y0 = floorf(yin);
    float fx = xin - x0, fy = yin - y0;
    dl_aug_add_tap(d, y0, x0, (1.0f - fy) * (1.0f - fx), t);
    dl_aug_add_tap(d, y0, x0 + 1.0f, (1.0f - fy) * fx, t);
    dl_aug_add_tap(d, y0 + 1.0f, x0, fy * (1.0f - fx), t);
    dl_aug_add_tap(d, y0 + 1.0f, x0 + 1.0f, fy * fx, t);
}

/* RandomContrast of one value given its channel's mean over the image:
 * (x - mean) factor + mean, clipped to the value range (Keras 3). */
DL_HD float dl_aug_contrast(float x, float mean, float factor, float lo, float hi)
{
    return fminf(fmaxf((x - mean) * factor + mean, lo), hi);
}

/* 1 where dl_aug_contrast is not clipped (the gradient passes), else 0. */
DL_HD float dl_aug_contrast_pass(float x, float mean, float factor, float lo, float hi)
{
    float v = (x - mean) * factor + mean;
    return v >= lo && v <= hi ? 1.0f : 0.0f;
}

#endif
