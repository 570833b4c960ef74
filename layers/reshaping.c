/* reshaping.c: ZeroPadding2D, UpSampling2D, Rescaling and SpatialDropout2D.
 * The 2-D layers take images, per sample [h, w, c] (NHWC); Rescaling takes
 * any shape. SpatialDropout2D keeps its mask [batch, c] in scratch and is
 * seeded like Dropout (layers/dropout.c). */
#include "layers/registry.h"

#include <math.h>
#include <stdio.h>

/* The per-sample input must be an image [h, w, c]. */
static int require_image(const ly_layer *l, dl_err *err)
{
    char shape[96];
    if (l->in.ndim == 3)
        return DL_OK;
    dl_shape_format(&l->in, shape, sizeof shape);
    return dl_fail(err, DL_EXIT_USAGE,
                   "expected images (batch, height, width, channels), got input %s", shape);
}

/* ---- ZeroPadding2D(padding) ----
 * padding: an int (every side), [height, width] (top = bottom = height,
 * left = right = width) or [top, bottom, left, right]; Keras's nested
 * ((top, bottom), (left, right)) is the flat list of four here. */
typedef struct zero_padding_args {
    dl_floats padding;
} zero_padding_args;

static const dl_arg zero_padding_table[] = {
    {"padding", DL_ARG_FLOATS, offsetof(zero_padding_args, padding), "1", 0, 1 << 20, 0, NULL, 0,
     NULL, NULL},
    {0},
};

static int zero_padding_check(const void *args, char *why, size_t why_len)
{
    const dl_floats *p = &((const zero_padding_args *)args)->padding;
    if (p->n != 1 && p->n != 2 && p->n != 4) {
        snprintf(why, why_len,
                 "padding: expected an integer, [height, width] or [top, bottom, left, right], "
                 "got a list of %d",
                 p->n);
        return DL_ERR;
    }
    for (int i = 0; i < p->n; i++)
        if (p->v[i] != floor(p->v[i])) {
            snprintf(why, why_len, "padding: expected whole pixels, got %g", p->v[i]);
            return DL_ERR;
        }
    return DL_OK;
}

/* side [4] = top, bottom, left, right */
static void zero_padding_sides(const ly_layer *l, int side[4])
{
    const dl_floats *p = &((const zero_padding_args *)l->args)->padding;
    for (int i = 0; i < 4; i++)
        side[i] = (int)p->v[p->n == 4 ? i : p->n == 2 ? i / 2 : 0];
}

static int zero_padding_build(ly_layer *l, dl_err *err)
{
    int side[4];
    if (require_image(l, err))
        return DL_ERR;
    zero_padding_sides(l, side);
    l->out = l->in;
    l->out.dim[0] += side[0] + side[1];
    l->out.dim[1] += side[2] + side[3];
    return DL_OK;
}

static void zero_padding_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y,
                                 int batch)
{
    int side[4];
    (void)ctx;
    zero_padding_sides(l, side);
    l->be->pad2d(l->be, x, batch, l->in.dim[0], l->in.dim[1], l->in.dim[2], side[0], side[1],
                 side[2], side[3], y);
}

static void zero_padding_backward(ly_layer *l, const float *x, float *y, const float *dy,
                                  float *dx, int batch)
{
    int side[4];
    (void)x;
    (void)y;
    if (!dx)
        return;
    zero_padding_sides(l, side);
    l->be->pad2d_backward(l->be, dy, batch, l->in.dim[0], l->in.dim[1], l->in.dim[2], side[0],
                          side[1], side[2], side[3], dx);
}

/* ---- UpSampling2D(size, interpolation) ----
 * Keras's interpolation choices are listed so that the error for one
 * other than nearest says that only nearest is implemented. */
typedef struct upsampling_args {
    dl_tuple size;              /* rows, columns */
    int interpolation;          /* index in upsampling_interpolations; 0 = nearest */
} upsampling_args;

static const char *const upsampling_interpolations[] = {
    "nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", NULL,
};

static const dl_arg upsampling_table[] = {
    {"size", DL_ARG_TUPLE, offsetof(upsampling_args, size), "2", 1, 1 << 16, 0, NULL, 2, NULL,
     NULL},
    {"interpolation", DL_ARG_ENUM, offsetof(upsampling_args, interpolation), "nearest", 0, 0, 0,
     upsampling_interpolations, 0, NULL, NULL},
    {0},
};

static int upsampling_check(const void *args, char *why, size_t why_len)
{
    int interpolation = ((const upsampling_args *)args)->interpolation;
    if (interpolation == 0)
        return DL_OK;
    snprintf(why, why_len,
             "interpolation: '%s' is not supported; UpSampling2D implements 'nearest' only",
             upsampling_interpolations[interpolation]);
    return DL_ERR;
}

static int upsampling_build(ly_layer *l, dl_err *err)
{
    const upsampling_args *a = l->args;
    if (require_image(l, err))
        return DL_ERR;
    l->out = l->in;
    l->out.dim[0] *= a->size.v[0];
    l->out.dim[1] *= a->size.v[1];
    return DL_OK;
}

static void upsampling_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y,
                               int batch)
{
    const upsampling_args *a = l->args;
    (void)ctx;
    l->be->upsample2d(l->be, x, batch, l->in.dim[0], l->in.dim[1], l->in.dim[2], a->size.v[0],
                      a->size.v[1], y);
}

static void upsampling_backward(ly_layer *l, const float *x, float *y, const float *dy,
                                float *dx, int batch)
{
    const upsampling_args *a = l->args;
    (void)x;
    (void)y;
    if (dx)
        l->be->upsample2d_backward(l->be, dy, batch, l->in.dim[0], l->in.dim[1], l->in.dim[2],
                                   a->size.v[0], a->size.v[1], dx);
}

/* ---- Rescaling(scale, offset): y = x * scale + offset ---- */
typedef struct rescaling_args {
    double scale, offset;
} rescaling_args;

static const dl_arg rescaling_table[] = {
    {"scale", DL_ARG_FLOAT, offsetof(rescaling_args, scale), NULL, 0, 0, 0, NULL, 0, NULL, NULL},
    {"offset", DL_ARG_FLOAT, offsetof(rescaling_args, offset), "0.0", 0, 0, 0, NULL, 0, NULL,
     NULL},
    {0},
};

static int same_shape_build(ly_layer *l, dl_err *err)
{
    (void)err;
    l->out = l->in;
    return DL_OK;
}

static void rescaling_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y, int batch)
{
    const rescaling_args *a = l->args;
    (void)ctx;
    l->be->scale_shift(l->be, x, (float)a->scale, (float)a->offset, y,
                       (size_t)batch * dl_shape_size(&l->in));
}

static void rescaling_backward(ly_layer *l, const float *x, float *y, const float *dy,
                               float *dx, int batch)
{
    const rescaling_args *a = l->args;
    (void)x;
    (void)y;
    if (dx)
        l->be->scale_shift(l->be, dy, (float)a->scale, 0.0f, dx,
                           (size_t)batch * dl_shape_size(&l->in));
}

/* ---- SpatialDropout2D(rate, seed): drops whole channels ---- */
typedef struct spatial_dropout_args {
    double rate;
    int seed;                   /* -1: derive from the run seed and the layer */
} spatial_dropout_args;

static const dl_arg spatial_dropout_table[] = {
    {"rate", DL_ARG_FLOAT, offsetof(spatial_dropout_args, rate), NULL, 0, 1, DL_ARG_MAX_OPEN, NULL,
     0, NULL, NULL},
    {"seed", DL_ARG_INT, offsetof(spatial_dropout_args, seed), "-1", -1, 2147483647, 0, NULL, 0,
     NULL, NULL},
    {0},
};

static int spatial_dropout_build(ly_layer *l, dl_err *err)
{
    if (require_image(l, err))
        return DL_ERR;
    l->out = l->in;
    l->scratch_per_sample = (size_t)l->in.dim[2]; /* mask [batch, c] */
    return DL_OK;
}

static void spatial_dropout_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y,
                                    int batch)
{
    const spatial_dropout_args *a = l->args;
    int hw = l->in.dim[0] * l->in.dim[1], c = l->in.dim[2];
    if (!ctx->training || a->rate == 0.0) {
        l->be->copy(l->be, y, x, (size_t)batch * hw * c);
        return;
    }
    /* as Dropout: the layer picks the key, the step (times a fixed stride
     * that leaves room for 2^20 samples) the counter */
    uint64_t key = a->seed < 0 ? l->seed + 0x9E3779B97F4A7C15ull * (uint64_t)(l->index + 1)
                               : (uint64_t)a->seed;
    uint64_t stride = (uint64_t)c << 20;
    l->be->channel_dropout(l->be, key, (uint64_t)ctx->step * stride, (float)a->rate, x, batch, hw,
                           c, y, l->scratch);
}

static void spatial_dropout_backward(ly_layer *l, const float *x, float *y, const float *dy,
                                     float *dx, int batch)
{
    const spatial_dropout_args *a = l->args;
    int hw = l->in.dim[0] * l->in.dim[1], c = l->in.dim[2];
    (void)x;
    (void)y;
    if (!dx)
        return;
    if (a->rate == 0.0)
        l->be->copy(l->be, dx, dy, (size_t)batch * hw * c);
    else
        l->be->channel_mask_backward(l->be, dy, l->scratch, batch, hw, c, dx);
}

const ly_kind ly_zero_padding2d = {
    .base = {"ZeroPadding2D", NULL, NULL, zero_padding_table, sizeof(zero_padding_args),
             zero_padding_check},
    .snake = "zero_padding2d",
    .build = zero_padding_build,
    .forward = zero_padding_forward,
    .backward = zero_padding_backward,
};

const ly_kind ly_upsampling2d = {
    .base = {"UpSampling2D", NULL, NULL, upsampling_table, sizeof(upsampling_args),
             upsampling_check},
    .snake = "up_sampling2d",
    .build = upsampling_build,
    .forward = upsampling_forward,
    .backward = upsampling_backward,
};

const ly_kind ly_rescaling = {
    .base = {"Rescaling", NULL, NULL, rescaling_table, sizeof(rescaling_args), NULL},
    .snake = "rescaling",
    .build = same_shape_build,
    .forward = rescaling_forward,
    .backward = rescaling_backward,
};

const ly_kind ly_spatial_dropout2d = {
    .base = {"SpatialDropout2D", NULL, NULL, spatial_dropout_table, sizeof(spatial_dropout_args),
             NULL},
    .snake = "spatial_dropout2d",
    .build = spatial_dropout_build,
    .forward = spatial_dropout_forward,
    .backward = spatial_dropout_backward,
};
