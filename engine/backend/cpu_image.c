/* cpu_image.c: the CPU's image reshaping ops, NHWC: zero padding,
 * nearest-neighbour upsampling, rescaling and per-channel (spatial)
 * dropout, each with its backward. Pixels are copied as whole rows of c
 * channels. */
#include "engine/backend/cpu_ops.h"

#include <string.h>

void cpu_pad2d(dl_backend *be, const float *x, int n, int h, int w, int c, int top, int bottom,
               int left, int right, float *y)
{
    (void)be;
    int oh = h + top + bottom, ow = w + left + right;
    size_t in_row = (size_t)w * c, out_row = (size_t)ow * c;
    memset(y, 0, (size_t)n * oh * out_row * sizeof(float));
    for (int s = 0; s < n; s++)
        for (int i = 0; i < h; i++) {
            const float *src = x + ((size_t)s * h + i) * in_row;                   /* [w, c] */
            float *dst = y + ((size_t)s * oh + i + top) * out_row + (size_t)left * c; /* [w, c] */
            memcpy(dst, src, in_row * sizeof(float));
        }
}

void cpu_pad2d_backward(dl_backend *be, const float *dy, int n, int h, int w, int c, int top,
                        int bottom, int left, int right, float *dx)
{
    (void)be;
    int oh = h + top + bottom, ow = w + left + right;
    size_t in_row = (size_t)w * c, out_row = (size_t)ow * c;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < h; i++) {
            const float *src = dy + ((size_t)s * oh + i + top) * out_row + (size_t)left * c;
            memcpy(dx + ((size_t)s * h + i) * in_row, src, in_row * sizeof(float));
        }
}

/* y [n, h*fh, w*fw, c]: output pixel (i, j) copies input pixel (i/fh, j/fw). */
void cpu_upsample2d(dl_backend *be, const float *x, int n, int h, int w, int c, int fh, int fw,
                    float *y)
{
    (void)be;
    int oh = h * fh, ow = w * fw;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < oh; i++) {
            const float *src = x + ((size_t)s * h + i / fh) * w * c; /* [w, c] */
            float *dst = y + ((size_t)s * oh + i) * ow * c;           /* [ow, c] */
            for (int j = 0; j < ow; j++)
                memcpy(dst + (size_t)j * c, src + (size_t)(j / fw) * c, (size_t)c * sizeof(float));
        }
}

/* dx [n, h, w, c] = the sums of dy over each fh x fw block. */
void cpu_upsample2d_backward(dl_backend *be, const float *dy, int n, int h, int w, int c, int fh,
                             int fw, float *dx)
{
    (void)be;
    int oh = h * fh, ow = w * fw;
    memset(dx, 0, (size_t)n * h * w * c * sizeof(float));
    for (int s = 0; s < n; s++)
        for (int i = 0; i < oh; i++) {
            const float *src = dy + ((size_t)s * oh + i) * ow * c; /* [ow, c] */
            float *dst = dx + ((size_t)s * h + i / fh) * w * c;     /* [w, c] */
            for (int j = 0; j < ow; j++) {
                const float *px = src + (size_t)j * c;
                float *acc = dst + (size_t)(j / fw) * c;
                for (int k = 0; k < c; k++)
                    acc[k] += px[k];
            }
        }
}

void cpu_scale_shift(dl_backend *be, const float *x, float scale, float offset, float *y, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * scale + offset;
}

/* out [n, hw, c] = in * mask [n, c] broadcast over the hw positions. */
static void scale_channels(const float *in, const float *mask, int n, int hw, int c, float *out)
{
    for (int s = 0; s < n; s++) {
        const float *m = mask + (size_t)s * c; /* [c] */
        for (int p = 0; p < hw; p++) {
            size_t at = ((size_t)s * hw + p) * c;
            for (int k = 0; k < c; k++)
                out[at + k] = in[at + k] * m[k];
        }
    }
}

/* mask [n, c]: element i (sample i / c, channel i % c) keeps with random
 * number offset + i of Philox(seed, stream 0), counted as cpu_dropout. */
void cpu_channel_dropout(dl_backend *be, uint64_t seed, uint64_t offset, float rate,
                         const float *x, int n, int hw, int c, float *y, float *mask)
{
    (void)be;
    for (size_t i = 0; i < (size_t)n * c; i++)
        mask[i] = dl_dropout_mask(dl_rand_u32(seed, 0, offset + i), rate);
    scale_channels(x, mask, n, hw, c, y);
}

void cpu_channel_mask_backward(dl_backend *be, const float *dy, const float *mask, int n, int hw,
                               int c, float *dx)
{
    (void)be;
    scale_channels(dy, mask, n, hw, c, dx);
}
