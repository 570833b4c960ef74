/* cpu_augment.c: the CPU's image augmentation op and its transpose, one
 * sample at a time, x, y [n, h, w, c] (not aliased). Each sample draws its
 * parameters with dl_aug_draw; the geometric kinds read every output pixel
 * from the taps of dl_aug_taps_at (inverse mapping), and backward scatters
 * dy through the same taps, so it is the exact transpose of the forward's
 * linear map. */
#include "engine/backend/cpu_ops.h"
#include "engine/backend/kernel_image.h"

#include <string.h>

/* Mean of channel k of one image x [hw, c]. */
static float channel_mean(const float *x, int hw, int c, int k)
{
    double sum = 0.0;
    for (int p = 0; p < hw; p++)
        sum += x[(size_t)p * c + k];
    return (float)(sum / hw);
}

/* RandomContrast of one image x, y [hw, c]. */
static void contrast_forward(const dl_aug_desc *d, const dl_aug_sample *s, const float *x,
                             float *y)
{
    int hw = d->h * d->w, c = d->c;
    for (int k = 0; k < c; k++) {
        float mean = channel_mean(x, hw, c, k);
        for (int p = 0; p < hw; p++) {
            size_t at = (size_t)p * c + k;
            y[at] = dl_aug_contrast(x[at], mean, s->contrast, d->value_lo, d->value_hi);
        }
    }
}

/* Transpose of y = clip(f x + (1 - f) mean(x)): with g = dy where not
 * clipped (0 elsewhere), dx = f g + (1 - f) mean(g), per channel. */
static void contrast_backward(const dl_aug_desc *d, const dl_aug_sample *s, const float *x,
                              const float *dy, float *dx)
{
    int hw = d->h * d->w, c = d->c;
    float f = s->contrast;
    for (int k = 0; k < c; k++) {
        float mean = channel_mean(x, hw, c, k);
        double sum_g = 0.0;
        for (int p = 0; p < hw; p++) {
            size_t at = (size_t)p * c + k;
            sum_g += dy[at] * dl_aug_contrast_pass(x[at], mean, f, d->value_lo, d->value_hi);
        }
        float mean_term = (1.0f - f) * (float)(sum_g / hw);
        for (int p = 0; p < hw; p++) {
            size_t at = (size_t)p * c + k;
            float g = dy[at] * dl_aug_contrast_pass(x[at], mean, f, d->value_lo, d->value_hi);
            dx[at] = f * g + mean_term;
        }
    }
}

/* Flip, translation, rotation, zoom of one image x, y [h, w, c]. */
static void warp_forward(const dl_aug_desc *d, const dl_aug_sample *s, const float *x, float *y)
{
    int c = d->c;
    for (int oy = 0; oy < d->h; oy++)
        for (int ox = 0; ox < d->w; ox++) {
            dl_aug_taps t;
            dl_aug_taps_at(d, s, oy, ox, &t);
            float *out = y + ((size_t)oy * d->w + ox) * c; /* [c] */
            for (int k = 0; k < c; k++)
                out[k] = t.outside * d->fill_value;
            for (int j = 0; j < t.n; j++) {
                const float *px = x + (size_t)t.pixel[j] * c;
                for (int k = 0; k < c; k++)
                    out[k] += t.weight[j] * px[k];
            }
        }
}

/* dx [h, w, c] (overwritten) = the taps' weights times dy, scattered. */
static void warp_backward(const dl_aug_desc *d, const dl_aug_sample *s, const float *dy,
                          float *dx)
{
    int c = d->c;
    memset(dx, 0, (size_t)d->h * d->w * c * sizeof(float));
    for (int oy = 0; oy < d->h; oy++)
        for (int ox = 0; ox < d->w; ox++) {
            dl_aug_taps t;
            dl_aug_taps_at(d, s, oy, ox, &t);
            const float *g = dy + ((size_t)oy * d->w + ox) * c; /* [c] */
            for (int j = 0; j < t.n; j++) {
                float *px = dx + (size_t)t.pixel[j] * c;
                for (int k = 0; k < c; k++)
                    px[k] += t.weight[j] * g[k];
            }
        }
}

void cpu_augment(dl_backend *be, const dl_aug_desc *d, const float *x, float *y)
{
    (void)be;
    size_t image = (size_t)d->h * d->w * d->c;
    for (int i = 0; i < d->n; i++) {
        dl_aug_sample s;
        dl_aug_draw(d, i, &s);
        if (d->kind == DL_AUG_CONTRAST)
            contrast_forward(d, &s, x + i * image, y + i * image);
        else
            warp_forward(d, &s, x + i * image, y + i * image);
    }
}

void cpu_augment_backward(dl_backend *be, const dl_aug_desc *d, const float *x, const float *dy,
                          float *dx)
{
    (void)be;
    size_t image = (size_t)d->h * d->w * d->c;
    for (int i = 0; i < d->n; i++) {
        dl_aug_sample s;
        dl_aug_draw(d, i, &s);
        if (d->kind == DL_AUG_CONTRAST)
            contrast_backward(d, &s, x + i * image, dy + i * image, dx + i * image);
        else
            warp_backward(d, &s, dy + i * image, dx + i * image);
    }
}
