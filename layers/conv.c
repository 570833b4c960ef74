/* conv.c: Conv2D(filters, kernel_size) on [height, width, channels] and
 * Conv1D(filters, kernel_size) on [steps, channels], y = act(x conv kernel
 * + bias), channels-last as Keras. Both run as one dl_conv_desc (Conv1D is
 * a convolution of height 1) through the backend's conv ops, which also
 * add the bias and apply the activation (dl_conv_act) over rows =
 * batch*oh*ow. Kernel [kh, kw, c, filters]
 * (Conv1D [k, c, filters]), bias [filters]. With an activation that
 * needs it (ly_activation_in_place) the pre-activation z [batch, oh, ow,
 * filters] is kept in scratch for backward (and for a fused
 * softmax/sigmoid + cross-entropy), as in dense.c. */
#include "layers/registry.h"

#include "engine/init.h"
#include "layers/window.h"

#include <stdio.h>

typedef struct conv_args {
    int filters;
    dl_tuple kernel_size;       /* 2 entries for Conv2D, 1 for Conv1D */
    dl_tuple strides;
    int padding;                /* WIN_* */
    dl_tuple dilation_rate;
    int activation;             /* DL_ACT_* */
    int use_bias;
    dl_kind_ref kernel_initializer, bias_initializer;
    dl_kind_ref kernel_regularizer, bias_regularizer;
} conv_args;

static const char *const conv2d_paddings[] = {"valid", "same", NULL};
static const char *const conv1d_paddings[] = {"valid", "same", "causal", NULL};

/* The geometry rows of a convolution over `rank` spatial axes. */
#define CONV_GEOMETRY_ROWS(rank, paddings)                                                         \
    {.key = "filters", .type = DL_ARG_INT, .offset = offsetof(conv_args, filters), .min = 1,       \
     .max = 1 << 24},                                                                              \
    {.key = "kernel_size", .type = DL_ARG_TUPLE, .offset = offsetof(conv_args, kernel_size),       \
     .min = 1, .max = 1 << 16, .len = rank},                                                       \
    {.key = "strides", .type = DL_ARG_TUPLE, .offset = offsetof(conv_args, strides),               \
     .def = "1", .min = 1, .max = 1 << 16, .len = rank},                                           \
    {.key = "padding", .type = DL_ARG_ENUM, .offset = offsetof(conv_args, padding),                \
     .def = "valid", .choices = paddings},                                                         \
    {.key = "dilation_rate", .type = DL_ARG_TUPLE, .offset = offsetof(conv_args, dilation_rate),   \
     .def = "1", .min = 1, .max = 1 << 16, .len = rank}

/* The rows every convolution shares after its geometry rows. */
#define CONV_COMMON_ROWS                                                                           \
    {.key = "activation", .type = DL_ARG_ENUM, .offset = offsetof(conv_args, activation),          \
     .def = "linear", .choices = ly_activation_names},                                             \
    {.key = "use_bias", .type = DL_ARG_BOOL, .offset = offsetof(conv_args, use_bias),              \
     .def = "true"},                                                                               \
    {.key = "kernel_initializer", .type = DL_ARG_KIND,                                             \
     .offset = offsetof(conv_args, kernel_initializer), .def = "glorot_uniform",                   \
     .family = &init_family},                                                                      \
    {.key = "bias_initializer", .type = DL_ARG_KIND,                                               \
     .offset = offsetof(conv_args, bias_initializer), .def = "zeros", .family = &init_family},     \
    {.key = "kernel_regularizer", .type = DL_ARG_KIND,                                             \
     .offset = offsetof(conv_args, kernel_regularizer), .def = "null",                             \
     .flags = DL_ARG_NULLABLE, .family = &reg_family},                                             \
    {.key = "bias_regularizer", .type = DL_ARG_KIND,                                               \
     .offset = offsetof(conv_args, bias_regularizer), .def = "null", .flags = DL_ARG_NULLABLE,     \
     .family = &reg_family},                                                                       \
    {0}

static const dl_arg conv2d_table[] = {
    CONV_GEOMETRY_ROWS(2, conv2d_paddings),
    CONV_COMMON_ROWS,
};

static const dl_arg conv1d_table[] = {
    CONV_GEOMETRY_ROWS(1, conv1d_paddings),
    CONV_COMMON_ROWS,
};

/* "(2, 2)", or "2" for a tuple of one */
static void conv_tuple_text(const dl_tuple *t, char *buf, size_t len)
{
    if (t->n == 1)
        snprintf(buf, len, "%d", t->v[0]);
    else
        snprintf(buf, len, "(%d, %d)", t->v[0], t->v[1]);
}

/* Keras refuses strides > 1 together with dilation_rate > 1. */
static int conv_check(const void *args, char *why, size_t why_len)
{
    const conv_args *a = args;
    int strided = 0, dilated = 0;
    for (int i = 0; i < a->strides.n; i++) {
        strided |= a->strides.v[i] > 1;
        dilated |= a->dilation_rate.v[i] > 1;
    }
    if (!(strided && dilated))
        return DL_OK;
    char strides[32], dilation[32];
    conv_tuple_text(&a->strides, strides, sizeof strides);
    conv_tuple_text(&a->dilation_rate, dilation, sizeof dilation);
    snprintf(why, why_len,
             "strides > 1 is not supported together with dilation_rate > 1; got strides=%s "
             "and dilation_rate=%s",
             strides, dilation);
    return DL_ERR;
}

/* The convolution of a batch. Spatial axis `ax` of the input maps onto the
 * descriptor's height (Conv2D only) and width: Conv1D is h = kh = 1. */
static dl_conv_desc conv_desc(const ly_layer *l, int batch)
{
    const conv_args *a = l->args;
    int rank = a->kernel_size.n;
    int size[2] = {1, 1}, kernel[2] = {1, 1}, stride[2] = {1, 1}, dilation[2] = {1, 1};
    int pad[2] = {0, 0}, out[2] = {1, 1};
    for (int ax = 0; ax < rank; ax++) {
        int at = 2 - rank + ax;
        size[at] = l->in.dim[ax];
        kernel[at] = a->kernel_size.v[ax];
        stride[at] = a->strides.v[ax];
        dilation[at] = a->dilation_rate.v[ax];
        out[at] = win_output_length(a->padding, size[at], kernel[at], stride[at], dilation[at],
                                    &pad[at]);
    }
    dl_conv_desc d = {
        .n = batch, .h = size[0], .w = size[1], .c = l->in.dim[rank],
        .kh = kernel[0], .kw = kernel[1], .filters = a->filters,
        .sh = stride[0], .sw = stride[1], .dh = dilation[0], .dw = dilation[1],
        .pad_top = pad[0], .pad_left = pad[1], .oh = out[0], .ow = out[1],
    };
    return d;
}

static int conv_build(ly_layer *l, dl_err *err)
{
    static const char *const axis_names[2][2] = {{"steps"}, {"height", "width"}};
    const conv_args *a = l->args;
    int rank = a->kernel_size.n;
    char got[96];
    dl_shape_format(&l->in, got, sizeof got);
    if (l->in.ndim != rank + 1)
        return dl_fail(err, DL_EXIT_USAGE, "expected an input of shape %s, got %s",
                       rank == 2 ? "(None, height, width, channels)" : "(None, steps, channels)",
                       got);
    for (int ax = 0; ax < rank; ax++) {
        int pad, k = a->kernel_size.v[ax], d = a->dilation_rate.v[ax];
        if (win_output_length(a->padding, l->in.dim[ax], k, a->strides.v[ax], d, &pad) <= 0)
            return dl_fail(err, DL_EXIT_USAGE,
                           "kernel_size %d with dilation_rate %d spans %d, more than the input's "
                           "%s of %d (input %s, padding valid); expected %s >= %d",
                           k, d, win_span(k, d), axis_names[rank - 1][ax], l->in.dim[ax], got,
                           axis_names[rank - 1][ax], win_span(k, d));
    }
    dl_conv_desc d = conv_desc(l, 1);
    dl_shape kernel = rank == 2 ? (dl_shape){4, {d.kh, d.kw, d.c, d.filters}}
                                : (dl_shape){3, {d.kw, d.c, d.filters}};
    l->out = rank == 2 ? (dl_shape){3, {d.oh, d.ow, d.filters}} : (dl_shape){2, {d.ow, d.filters}};
    ly_add_param(l, "kernel", &kernel, 1, &a->kernel_initializer, &a->kernel_regularizer);
    if (a->use_bias) {
        dl_shape bias = {1, {a->filters}};
        ly_add_param(l, "bias", &bias, 1, &a->bias_initializer, &a->bias_regularizer);
    }
    if (!ly_activation_in_place(a->activation))
        l->scratch_per_sample = dl_shape_size(&l->out);
    return DL_OK;
}

/* The bias and activation the backend applies inside its convolution ops
 * (softmax, across a pixel's filters, stays a separate op). */
static dl_conv_act conv_act_of(const ly_layer *l)
{
    const conv_args *a = l->args;
    dl_conv_act act = {a->use_bias ? l->params[1].w : NULL, a->activation,
                       ly_activation_alpha(a->activation)};
    if (a->activation == DL_ACT_SOFTMAX)
        act.act = DL_ACT_LINEAR;
    return act;
}

static void conv_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y, int batch)
{
    const conv_args *a = l->args;
    dl_backend *be = l->be;
    dl_conv_desc d = conv_desc(l, batch);
    dl_conv_act act = conv_act_of(l);
    float *z = ly_activation_in_place(a->activation) ? y : l->scratch; /* [rows, filters] */
    be->conv_forward(be, &d, &act, x, l->params[0].w, z, y, l->workspace);
    if (a->activation == DL_ACT_SOFTMAX)
        be->softmax(be, z, y, batch * d.oh * d.ow, a->filters);
    (void)ctx;
}

/* Through the activation (in the backend's filter op, or softmax's here;
 * none when the loss took it over), then the kernel, bias and input
 * gradients. dz overwrites z (y itself for an in-place activation): z is
 * not needed afterwards. */
static void conv_backward(ly_layer *l, const float *x, float *y, const float *dy,
                          float *dx, int batch)
{
    const conv_args *a = l->args;
    dl_backend *be = l->be;
    dl_conv_desc d = conv_desc(l, batch);
    dl_conv_act act = conv_act_of(l);
    /* [rows, filters] the pre-activation, then dz */
    float *z = ly_activation_in_place(a->activation) ? y : l->scratch;
    const float *dz = dy;
    if (l->fused_output) /* conv_act_of already leaves softmax out */
        act.act = DL_ACT_LINEAR;
    if (a->activation == DL_ACT_SOFTMAX && !l->fused_output) {
        be->softmax_backward(be, y, dy, z, batch * d.oh * d.ow, a->filters);
        dz = z;
    }
    be->conv_backward_filter(be, &d, &act, x, z, y, dz, l->params[0].g,
                             a->use_bias ? l->params[1].g : NULL, l->workspace);
    if (act.act != DL_ACT_LINEAR)
        dz = z;
    if (dx)
        be->conv_backward_data(be, &d, dz, l->params[0].w, dx, l->workspace);
}

static int conv_output_activation(const ly_layer *l)
{
    return ((const conv_args *)l->args)->activation;
}

static const float *conv_preactivation(const ly_layer *l, const float *x)
{
    (void)x;
    return l->scratch;
}

/* im2col columns for the whole batch (backend-sized) */
static size_t conv_workspace(const ly_layer *l, int batch)
{
    dl_conv_desc d = conv_desc(l, batch);
    return l->be->conv_workspace(l->be, &d);
}

const ly_kind ly_conv2d = {
    .base = {"Conv2D", NULL, NULL, conv2d_table, sizeof(conv_args), conv_check},
    .snake = "conv2d",
    .build = conv_build,
    .forward = conv_forward,
    .backward = conv_backward,
    .output_activation = conv_output_activation,
    .preactivation = conv_preactivation,
    .workspace = conv_workspace,
};

const ly_kind ly_conv1d = {
    .base = {"Conv1D", NULL, NULL, conv1d_table, sizeof(conv_args), conv_check},
    .snake = "conv1d",
    .build = conv_build,
    .forward = conv_forward,
    .backward = conv_backward,
    .output_activation = conv_output_activation,
    .preactivation = conv_preactivation,
    .workspace = conv_workspace,
};
