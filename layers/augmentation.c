/* augmentation.c: Keras's random image augmentation layers RandomFlip,
 * RandomTranslation, RandomRotation, RandomZoom and RandomContrast, on
 * images [h, w, c] per sample. They act only while fitting (ly_ctx.training)
 * and are the identity otherwise. Each sample's parameters come from Philox
 * keyed like Dropout (the run seed and the layer, or the layer's own seed)
 * with the training step as the stream, so a run reproduces; backward
 * redraws them with the step of the last training forward (l->step) and
 * applies the transpose of that forward (the trainer differentiates
 * training forwards only). */
#include "layers/registry.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* One args struct for the five kinds; each table reads its own fields. */
typedef struct aug_args {
    int mode;                   /* RandomFlip: AUG_FLIP_* */
    dl_floats height_factor;    /* RandomTranslation, RandomZoom */
    dl_floats width_factor;     /* ... (RandomZoom: empty = null, the height's draw) */
    dl_floats factor;           /* RandomRotation (turns), RandomContrast */
    dl_floats value_range;      /* RandomContrast: [low, high] */
    int fill_mode;              /* DL_FILL_* */
    int interpolation;          /* AUG_NEAREST, AUG_BILINEAR */
    int seed;                   /* -1: derive from the run seed and the layer */
    double fill_value;
} aug_args;

enum { AUG_FLIP_HORIZONTAL, AUG_FLIP_VERTICAL, AUG_FLIP_BOTH };
enum { AUG_NEAREST, AUG_BILINEAR };

static const char *const aug_flip_modes[] = {"horizontal", "vertical", "horizontal_and_vertical",
                                             NULL};
static const char *const aug_fill_modes[] = {"reflect", "wrap", "constant", "nearest", NULL};
static const char *const aug_interpolations[] = {"nearest", "bilinear", NULL};

#define AUG_ROW(key, type, field, def, min, max, flags, choices)                                  \
    {key, type, offsetof(aug_args, field), def, min, max, flags, choices, 0, NULL, NULL}
#define AUG_SEED_ROW AUG_ROW("seed", DL_ARG_INT, seed, "-1", -1, 2147483647, 0, NULL)
/* the rows every geometric transform shares, in Keras's order */
#define AUG_FILL_ROWS                                                                             \
    AUG_ROW("fill_mode", DL_ARG_ENUM, fill_mode, "reflect", 0, 0, 0, aug_fill_modes),             \
        AUG_ROW("interpolation", DL_ARG_ENUM, interpolation, "bilinear", 0, 0, 0,                 \
                aug_interpolations),                                                              \
        AUG_SEED_ROW, AUG_ROW("fill_value", DL_ARG_FLOAT, fill_value, "0.0", 0, 0, 0, NULL)

static const dl_arg flip_table[] = {
    AUG_ROW("mode", DL_ARG_ENUM, mode, "horizontal_and_vertical", 0, 0, 0, aug_flip_modes),
    AUG_SEED_ROW,
    {0},
};

static const dl_arg translation_table[] = {
    AUG_ROW("height_factor", DL_ARG_FLOATS, height_factor, NULL, -1, 1, 0, NULL),
    AUG_ROW("width_factor", DL_ARG_FLOATS, width_factor, NULL, -1, 1, 0, NULL),
    AUG_FILL_ROWS,
    {0},
};

static const dl_arg rotation_table[] = {
    AUG_ROW("factor", DL_ARG_FLOATS, factor, NULL, -1, 1, 0, NULL),
    AUG_FILL_ROWS,
    {0},
};

static const dl_arg zoom_table[] = {
    AUG_ROW("height_factor", DL_ARG_FLOATS, height_factor, NULL, -1, 1, 0, NULL),
    AUG_ROW("width_factor", DL_ARG_FLOATS, width_factor, "null", -1, 1, DL_ARG_NULLABLE, NULL),
    AUG_FILL_ROWS,
    {0},
};

static const dl_arg contrast_table[] = {
    AUG_ROW("factor", DL_ARG_FLOATS, factor, NULL, 0, 1, 0, NULL),
    AUG_ROW("value_range", DL_ARG_FLOATS, value_range, "[0, 255]", 0, 0, 0, NULL),
    AUG_SEED_ROW,
    {0},
};

/* A factor is one number or a pair [lower, upper]. */
static int pair_check(const dl_floats *f, const char *key, char *why, size_t why_len)
{
    if (f->n == 1 || f->n == 2)
        return DL_OK;
    snprintf(why, why_len, "%s: expected a number or a list of two numbers, got a list of %d",
             key, f->n);
    return DL_ERR;
}

static int translation_check(const void *args, char *why, size_t why_len)
{
    const aug_args *a = args;
    return pair_check(&a->height_factor, "height_factor", why, why_len) ||
                   pair_check(&a->width_factor, "width_factor", why, why_len)
               ? DL_ERR
               : DL_OK;
}

static int rotation_check(const void *args, char *why, size_t why_len)
{
    return pair_check(&((const aug_args *)args)->factor, "factor", why, why_len);
}

static int zoom_check(const void *args, char *why, size_t why_len)
{
    const aug_args *a = args;
    if (pair_check(&a->height_factor, "height_factor", why, why_len))
        return DL_ERR;
    return a->width_factor.n ? pair_check(&a->width_factor, "width_factor", why, why_len) : DL_OK;
}

static int contrast_check(const void *args, char *why, size_t why_len)
{
    const aug_args *a = args;
    const dl_floats *range = &a->value_range;
    if (pair_check(&a->factor, "factor", why, why_len))
        return DL_ERR;
    if (range->n == 2 && range->v[0] < range->v[1])
        return DL_OK;
    snprintf(why, why_len, "value_range: expected [low, high] with low < high");
    return DL_ERR;
}

/* Keras's reading of a factor: f means [-|f|, |f|], a pair its sorted ends. */
static void factor_range(const dl_floats *f, float *lo, float *hi)
{
    float a = (float)f->v[0], b = (float)f->v[f->n - 1];
    if (f->n == 1) {
        a = -fabsf(a);
        b = -a;
    }
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
}

static int aug_kind_of(const ly_layer *l)
{
    if (l->kind == &ly_random_flip)
        return DL_AUG_FLIP;
    if (l->kind == &ly_random_translation)
        return DL_AUG_TRANSLATE;
    if (l->kind == &ly_random_rotation)
        return DL_AUG_ROTATE;
    if (l->kind == &ly_random_zoom)
        return DL_AUG_ZOOM;
    return DL_AUG_CONTRAST;
}

/* The op's description of this layer's transform of a batch at l->step. */
static void aug_describe(const ly_layer *l, int batch, dl_aug_desc *d)
{
    const aug_args *a = l->args;
    memset(d, 0, sizeof *d);
    d->kind = aug_kind_of(l);
    d->n = batch;
    d->h = l->in.dim[0];
    d->w = l->in.dim[1];
    d->c = l->in.dim[2];
    d->seed = a->seed < 0 ? l->seed + 0x9E3779B97F4A7C15ull * (uint64_t)(l->index + 1)
                          : (uint64_t)a->seed;
    d->step = (uint64_t)l->step;
    if (d->kind == DL_AUG_TRANSLATE || d->kind == DL_AUG_ROTATE || d->kind == DL_AUG_ZOOM) {
        d->fill_mode = a->fill_mode;
        d->fill_value = (float)a->fill_value;
        d->bilinear = a->interpolation == AUG_BILINEAR;
    }
    switch (d->kind) {
    case DL_AUG_FLIP: /* whole pixels: nearest reads them exactly */
        d->flip_h = a->mode != AUG_FLIP_VERTICAL;
        d->flip_v = a->mode != AUG_FLIP_HORIZONTAL;
        break;
    case DL_AUG_TRANSLATE:
        factor_range(&a->height_factor, &d->height_lo, &d->height_hi);
        factor_range(&a->width_factor, &d->width_lo, &d->width_hi);
        break;
    case DL_AUG_ROTATE:
        factor_range(&a->factor, &d->factor_lo, &d->factor_hi);
        break;
    case DL_AUG_ZOOM:
        factor_range(&a->height_factor, &d->height_lo, &d->height_hi);
        if (a->width_factor.n)
            factor_range(&a->width_factor, &d->width_lo, &d->width_hi);
        else
            d->zoom_keep_aspect = 1;
        break;
    default: /* contrast in [1 - lower, 1 + upper]; one number is both */
        d->factor_lo = (float)a->factor.v[0];
        d->factor_hi = (float)a->factor.v[a->factor.n - 1];
        d->value_lo = (float)a->value_range.v[0];
        d->value_hi = (float)a->value_range.v[1];
        break;
    }
}

static int aug_build(ly_layer *l, dl_err *err)
{
    char shape[96];
    l->out = l->in;
    if (l->in.ndim == 3)
        return DL_OK;
    dl_shape_format(&l->in, shape, sizeof shape);
    return dl_fail(err, DL_EXIT_USAGE,
                   "expected images (batch, height, width, channels), got input %s", shape);
}

static void aug_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y, int batch)
{
    dl_aug_desc d;
    if (!ctx->training) {
        l->be->copy(l->be, y, x, (size_t)batch * dl_shape_size(&l->in));
        return;
    }
    l->step = ctx->step;
    aug_describe(l, batch, &d);
    l->be->augment(l->be, &d, x, y);
}

static void aug_backward(ly_layer *l, const float *x, float *y, const float *dy, float *dx,
                         int batch)
{
    dl_aug_desc d;
    (void)y;
    if (!dx)
        return;
    aug_describe(l, batch, &d);
    l->be->augment_backward(l->be, &d, x, dy, dx);
}

#define AUG_KIND(class_name, snake_name, table, check_fn)                                         \
    {                                                                                             \
        .base = {class_name, NULL, NULL, table, sizeof(aug_args), check_fn},                      \
        .snake = snake_name, .build = aug_build, .forward = aug_forward,                          \
        .backward = aug_backward,                                                                 \
    }

const ly_kind ly_random_flip = AUG_KIND("RandomFlip", "random_flip", flip_table, NULL);
const ly_kind ly_random_translation =
    AUG_KIND("RandomTranslation", "random_translation", translation_table, translation_check);
const ly_kind ly_random_rotation =
    AUG_KIND("RandomRotation", "random_rotation", rotation_table, rotation_check);
const ly_kind ly_random_zoom = AUG_KIND("RandomZoom", "random_zoom", zoom_table, zoom_check);
const ly_kind ly_random_contrast =
    AUG_KIND("RandomContrast", "random_contrast", contrast_table, contrast_check);
