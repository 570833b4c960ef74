// cuda_image.cu: the image ops, NHWC: zero padding and its crop,
// nearest-neighbour upsampling, spatial dropout, augmentation. One thread
// per output element (or per sample channel where an element's value
// needs the whole channel), the index math from kernel_rows.h and the
// random draws from kernels.h, so masks and augmentations are the CPU's.
#include "engine/backend/cuda_ctx.cuh"

bool cuda_copy_window(cuda_ctx *ctx, const dl_row_window *g, const float *src, float *dst)
{
    dl_row_window window = *g;
    return FOR_EACH(ctx, dl_row_window_size(&window),
                    [=] __device__(size_t i) { dst[i] = dl_row_window_at(&window, src, i); });
}

// y [n, h + top + bottom, w + left + right, c]
static void cuda_pad2d(dl_backend *be, const float *x, int n, int h, int w, int c, int top,
                       int bottom, int left, int right, float *y)
{
    dl_row_window pad = {n, c, h, w, h + top + bottom, w + left + right, -top, -left};
    if (cuda_ctx *ctx = cuda_live(be))
        cuda_copy_window(ctx, &pad, x, y);
}

// dx [n, h, w, c]: dy cropped
static void cuda_pad2d_backward(dl_backend *be, const float *dy, int n, int h, int w, int c,
                                int top, int bottom, int left, int right, float *dx)
{
    dl_row_window crop = {n, c, h + top + bottom, w + left + right, h, w, top, left};
    if (cuda_ctx *ctx = cuda_live(be))
        cuda_copy_window(ctx, &crop, dy, dx);
}

// y [n, h*fh, w*fw, c]
static void cuda_upsample2d(dl_backend *be, const float *x, int n, int h, int w, int c, int fh,
                            int fw, float *y)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, (size_t)n * h * fh * w * fw * c,
                 [=] __device__(size_t i) { y[i] = dl_row_upsample_at(x, h, w, c, fh, fw, i); });
}

// dx [n, h, w, c]: the sums of dy's blocks
static void cuda_upsample2d_backward(dl_backend *be, const float *dy, int n, int h, int w, int c,
                                     int fh, int fw, float *dx)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, (size_t)n * h * w * c, [=] __device__(size_t i) {
            dx[i] = dl_row_upsample_backward_at(dy, h, w, c, fh, fw, i);
        });
}

// mask [n, c] entry i keeps with Philox number offset + i, as the CPU's;
// y [n, hw, c] = x times its sample's channel entry
static void cuda_channel_dropout(dl_backend *be, uint64_t seed, uint64_t offset, float rate,
                                 const float *x, int n, int hw, int c, float *y, float *mask)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx || !FOR_EACH(ctx, (size_t)n * c, [=] __device__(size_t i) {
            mask[i] = dl_dropout_mask(dl_rand_u32(seed, 0, offset + i), rate);
        }))
        return;
    FOR_EACH(ctx, (size_t)n * hw * c,
             [=] __device__(size_t i) { y[i] = x[i] * mask[dl_row_channel_of(i, hw, c)]; });
}

static void cuda_channel_mask_backward(dl_backend *be, const float *dy, const float *mask, int n,
                                       int hw, int c, float *dx)
{
    if (cuda_ctx *ctx = cuda_live(be))
        FOR_EACH(ctx, (size_t)n * hw * c,
                 [=] __device__(size_t i) { dx[i] = dy[i] * mask[dl_row_channel_of(i, hw, c)]; });
}

// Geometric kinds: a thread per output pixel; contrast: per sample channel
// (each value needs its channel's mean).
static void cuda_augment(dl_backend *be, const dl_aug_desc *d, const float *x, float *y)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx)
        return;
    dl_aug_desc desc = *d;
    if (desc.kind == DL_AUG_CONTRAST)
        FOR_EACH(ctx, (size_t)desc.n * desc.c,
                 [=] __device__(size_t bk) { dl_row_contrast_channel(&desc, x, y, bk); });
    else
        FOR_EACH(ctx, (size_t)desc.n * desc.h * desc.w,
                 [=] __device__(size_t p) { dl_row_warp_pixel(&desc, x, y, p); });
}

// The transpose, per sample channel: a warp's taps scatter, and a thread
// owning a whole channel adds them in the CPU's order without atomics.
static void cuda_augment_backward(dl_backend *be, const dl_aug_desc *d, const float *x,
                                  const float *dy, float *dx)
{
    cuda_ctx *ctx = cuda_live(be);
    if (!ctx)
        return;
    dl_aug_desc desc = *d;
    if (desc.kind == DL_AUG_CONTRAST)
        FOR_EACH(ctx, (size_t)desc.n * desc.c, [=] __device__(size_t bk) {
            dl_row_contrast_backward_channel(&desc, x, dy, dx, bk);
        });
    else
        FOR_EACH(ctx, (size_t)desc.n * desc.c,
                 [=] __device__(size_t bk) { dl_row_warp_backward_channel(&desc, dy, dx, bk); });
}

void cuda_set_image_ops(dl_backend *be)
{
    be->pad2d = cuda_pad2d;
    be->pad2d_backward = cuda_pad2d_backward;
    be->upsample2d = cuda_upsample2d;
    be->upsample2d_backward = cuda_upsample2d_backward;
    be->channel_dropout = cuda_channel_dropout;
    be->channel_mask_backward = cuda_channel_mask_backward;
    be->augment = cuda_augment;
    be->augment_backward = cuda_augment_backward;
}
