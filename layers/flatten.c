/* flatten.c: Flatten() and Reshape(target_shape). Both keep the data in
 * row-major (channels-last) order, so forward and backward are copies. */
#include "layers/registry.h"

#include <stdio.h>

typedef struct reshape_args {
    dl_shape target_shape;      /* one entry may be -1 */
} reshape_args;

static const dl_arg flatten_table[] = {{0}};

static const dl_arg reshape_table[] = {
    {"target_shape", DL_ARG_SHAPE, offsetof(reshape_args, target_shape), NULL, 0, 0,
     DL_ARG_NEG_ONE, NULL, 0, NULL, NULL},
    {0},
};

static int flatten_build(ly_layer *l, dl_err *err)
{
    l->out.ndim = 1;
    l->out.dim[0] = (int)dl_shape_size(&l->in);
    (void)err;
    return DL_OK;
}

static int reshape_build(ly_layer *l, dl_err *err)
{
    const reshape_args *a = l->args;
    size_t in = dl_shape_size(&l->in), known = 1;
    int unknown = -1;
    l->out = a->target_shape;
    for (int i = 0; i < l->out.ndim; i++) {
        if (l->out.dim[i] == -1)
            unknown = i;
        else
            known *= (size_t)l->out.dim[i];
    }
    if (unknown >= 0 && known > 0 && in % known == 0)
        l->out.dim[unknown] = (int)(in / known);
    if (dl_shape_size(&l->out) != in || (unknown >= 0 && known == 0)) {
        char from[96], to[96];
        dl_shape_format(&l->in, from, sizeof from);
        dl_shape_format(&a->target_shape, to, sizeof to);
        return dl_fail(err, DL_EXIT_USAGE,
                       "target_shape %s does not hold the %zu values of input %s", to, in, from);
    }
    return DL_OK;
}

static void copy_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y, int batch)
{
    l->be->copy(l->be, y, x, (size_t)batch * dl_shape_size(&l->in));
    (void)ctx;
}

static void copy_backward(ly_layer *l, const float *x, float *y, const float *dy,
                          float *dx, int batch)
{
    (void)x;
    (void)y;
    if (dx)
        l->be->copy(l->be, dx, dy, (size_t)batch * dl_shape_size(&l->in));
}

const ly_kind ly_flatten = {
    .base = {"Flatten", NULL, NULL, flatten_table, 0, NULL},
    .snake = "flatten",
    .build = flatten_build,
    .forward = copy_forward,
    .backward = copy_backward,
};

const ly_kind ly_reshape = {
    .base = {"Reshape", NULL, NULL, reshape_table, sizeof(reshape_args), NULL},
    .snake = "reshape",
    .build = reshape_build,
    .forward = copy_forward,
    .backward = copy_backward,
};
