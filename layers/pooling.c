/* pooling.c: MaxPooling2D, AveragePooling2D, MaxPooling1D,
 * AveragePooling1D on [height, width, channels] / [steps, channels], and
 * their global forms GlobalMaxPooling2D/1D, GlobalAveragePooling2D/1D
 * ([C], or [1, 1, C] / [1, C] with keepdims). Each is one dl_pool_desc for
 * the backend's pooling ops (1-D is a pooling of height 1; global pooling
 * is one window over the whole input). Max pooling's backward recomputes
 * the window maxima from x and y: nothing is kept in scratch. */
#include "layers/registry.h"

#include "layers/window.h"

/* One args struct for all eight kinds: the windowed kinds' tables fill
 * pool_size, strides and padding, the global kinds' table only keepdims,
 * so a pool_size of no entries marks a global pooling. */
typedef struct pool_args {
    dl_tuple pool_size;         /* 2 entries for 2-D, 1 for 1-D */
    dl_tuple strides;           /* no entries (null): pool_size */
    int padding;                /* WIN_VALID or WIN_SAME */
    int keepdims;
} pool_args;

static const char *const pool_paddings[] = {"valid", "same", NULL};

/* The rows of a windowed pooling over `rank` axes; pool_default NULL: the
 * argument is required (AveragePooling in Keras 3). */
#define POOL_ROWS(rank, pool_default)                                                              \
    {.key = "pool_size", .type = DL_ARG_TUPLE, .offset = offsetof(pool_args, pool_size),           \
     .def = pool_default, .min = 1, .max = 1 << 16, .len = rank},                                  \
    {.key = "strides", .type = DL_ARG_TUPLE, .offset = offsetof(pool_args, strides),               \
     .def = "null", .min = 1, .max = 1 << 16, .flags = DL_ARG_NULLABLE, .len = rank},              \
    {.key = "padding", .type = DL_ARG_ENUM, .offset = offsetof(pool_args, padding),                \
     .def = "valid", .choices = pool_paddings},                                                    \
    {0}

static const dl_arg max_pooling2d_table[] = {POOL_ROWS(2, "[2, 2]")};
static const dl_arg average_pooling2d_table[] = {POOL_ROWS(2, NULL)};
static const dl_arg max_pooling1d_table[] = {POOL_ROWS(1, "2")};
static const dl_arg average_pooling1d_table[] = {POOL_ROWS(1, NULL)};

static const dl_arg global_pooling_table[] = {
    {.key = "keepdims", .type = DL_ARG_BOOL, .offset = offsetof(pool_args, keepdims),
     .def = "false"},
    {0},
};

/* The pooling of a batch; the layer's rank (1 or 2 spatial axes) is its
 * input's, checked by build(). Spatial axes map onto the descriptor's
 * height (2-D only) and width. */
static dl_pool_desc pool_desc(const ly_layer *l, int op, int batch)
{
    const pool_args *a = l->args;
    int rank = l->in.ndim - 1;
    int size[2] = {1, 1}, window[2] = {1, 1}, stride[2] = {1, 1}, pad[2] = {0, 0};
    int out[2] = {1, 1};
    for (int ax = 0; ax < rank; ax++) {
        int at = 2 - rank + ax;
        size[at] = window[at] = l->in.dim[ax];
        if (a->pool_size.n == 0)
            continue; /* global: one window over the whole axis */
        window[at] = a->pool_size.v[ax];
        stride[at] = a->strides.n ? a->strides.v[ax] : window[at];
        out[at] = win_output_length(a->padding, size[at], window[at], stride[at], 1, &pad[at]);
    }
    dl_pool_desc d = {
        .kind = op, .n = batch, .h = size[0], .w = size[1], .c = l->in.dim[rank],
        .ph = window[0], .pw = window[1], .sh = stride[0], .sw = stride[1],
        .pad_top = pad[0], .pad_left = pad[1], .oh = out[0], .ow = out[1],
    };
    return d;
}

static int pool_check_rank(const ly_layer *l, int rank, dl_err *err)
{
    if (l->in.ndim == rank + 1)
        return DL_OK;
    char got[96];
    dl_shape_format(&l->in, got, sizeof got);
    return dl_fail(err, DL_EXIT_USAGE, "expected an input of shape %s, got %s",
                   rank == 2 ? "(None, height, width, channels)" : "(None, steps, channels)",
                   got);
}

static int pool_build(ly_layer *l, dl_err *err)
{
    static const char *const axis_names[2][2] = {{"steps"}, {"height", "width"}};
    const pool_args *a = l->args;
    int rank = a->pool_size.n;
    if (pool_check_rank(l, rank, err))
        return DL_ERR;
    for (int ax = 0; ax < rank; ax++)
        if (l->in.dim[ax] < a->pool_size.v[ax] && a->padding == WIN_VALID) {
            char got[96];
            dl_shape_format(&l->in, got, sizeof got);
            return dl_fail(err, DL_EXIT_USAGE,
                           "pool_size %d is larger than the input's %s of %d (input %s, "
                           "padding valid); expected %s >= %d",
                           a->pool_size.v[ax], axis_names[rank - 1][ax], l->in.dim[ax], got,
                           axis_names[rank - 1][ax], a->pool_size.v[ax]);
        }
    dl_pool_desc d = pool_desc(l, DL_POOL_MAX, 1);
    l->out = rank == 2 ? (dl_shape){3, {d.oh, d.ow, d.c}} : (dl_shape){2, {d.ow, d.c}};
    return DL_OK;
}

static int global_pool_build(ly_layer *l, int rank, dl_err *err)
{
    const pool_args *a = l->args;
    if (pool_check_rank(l, rank, err))
        return DL_ERR;
    int c = l->in.dim[rank];
    if (!a->keepdims)
        l->out = (dl_shape){1, {c}};
    else
        l->out = rank == 2 ? (dl_shape){3, {1, 1, c}} : (dl_shape){2, {1, c}};
    return DL_OK;
}

static int global_pool2d_build(ly_layer *l, dl_err *err)
{
    return global_pool_build(l, 2, err);
}

static int global_pool1d_build(ly_layer *l, dl_err *err)
{
    return global_pool_build(l, 1, err);
}

static void pool_forward(ly_layer *l, int op, const float *x, float *y, int batch)
{
    dl_pool_desc d = pool_desc(l, op, batch);
    l->be->pool_forward(l->be, &d, x, y);
}

static void pool_backward(ly_layer *l, int op, const float *x, float *y, const float *dy,
                          float *dx, int batch)
{
    if (!dx)
        return;
    dl_pool_desc d = pool_desc(l, op, batch);
    l->be->pool_backward(l->be, &d, x, y, dy, dx);
}

static void max_pool_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y, int batch)
{
    (void)ctx;
    pool_forward(l, DL_POOL_MAX, x, y, batch);
}

static void avg_pool_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y, int batch)
{
    (void)ctx;
    pool_forward(l, DL_POOL_AVG, x, y, batch);
}

static void max_pool_backward(ly_layer *l, const float *x, float *y, const float *dy,
                              float *dx, int batch)
{
    pool_backward(l, DL_POOL_MAX, x, y, dy, dx, batch);
}

static void avg_pool_backward(ly_layer *l, const float *x, float *y, const float *dy,
                              float *dx, int batch)
{
    pool_backward(l, DL_POOL_AVG, x, y, dy, dx, batch);
}

const ly_kind ly_max_pooling2d = {
    .base = {"MaxPooling2D", NULL, NULL, max_pooling2d_table, sizeof(pool_args), NULL},
    .snake = "max_pooling2d",
    .build = pool_build,
    .forward = max_pool_forward,
    .backward = max_pool_backward,
};

const ly_kind ly_average_pooling2d = {
    .base = {"AveragePooling2D", NULL, NULL, average_pooling2d_table, sizeof(pool_args), NULL},
    .snake = "average_pooling2d",
    .build = pool_build,
    .forward = avg_pool_forward,
    .backward = avg_pool_backward,
};

const ly_kind ly_max_pooling1d = {
    .base = {"MaxPooling1D", NULL, NULL, max_pooling1d_table, sizeof(pool_args), NULL},
    .snake = "max_pooling1d",
    .build = pool_build,
    .forward = max_pool_forward,
    .backward = max_pool_backward,
};

const ly_kind ly_average_pooling1d = {
    .base = {"AveragePooling1D", NULL, NULL, average_pooling1d_table, sizeof(pool_args), NULL},
    .snake = "average_pooling1d",
    .build = pool_build,
    .forward = avg_pool_forward,
    .backward = avg_pool_backward,
};

const ly_kind ly_global_max_pooling2d = {
    .base = {"GlobalMaxPooling2D", NULL, NULL, global_pooling_table, sizeof(pool_args), NULL},
    .snake = "global_max_pooling2d",
    .build = global_pool2d_build,
    .forward = max_pool_forward,
    .backward = max_pool_backward,
};

const ly_kind ly_global_average_pooling2d = {
    .base = {"GlobalAveragePooling2D", NULL, NULL, global_pooling_table, sizeof(pool_args),
             NULL},
    .snake = "global_average_pooling2d",
    .build = global_pool2d_build,
    .forward = avg_pool_forward,
    .backward = avg_pool_backward,
};

const ly_kind ly_global_max_pooling1d = {
    .base = {"GlobalMaxPooling1D", NULL, NULL, global_pooling_table, sizeof(pool_args), NULL},
    .snake = "global_max_pooling1d",
    .build = global_pool1d_build,
    .forward = max_pool_forward,
    .backward = max_pool_backward,
};

const ly_kind ly_global_average_pooling1d = {
    .base = {"GlobalAveragePooling1D", NULL, NULL, global_pooling_table, sizeof(pool_args),
             NULL},
    .snake = "global_average_pooling1d",
    .build = global_pool1d_build,
    .forward = avg_pool_forward,
    .backward = avg_pool_backward,
};
