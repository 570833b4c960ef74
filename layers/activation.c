/* activation.c: Activation(activation), y = f(x) elementwise (softmax on
 * the last axis). Its input is the pre-activation, so a softmax/sigmoid
 * here fuses with a following cross-entropy like a Dense activation does. */
#include "layers/registry.h"

typedef struct activation_args {
    int activation;             /* DL_ACT_* */
} activation_args;

static const dl_arg activation_table[] = {
    {"activation", DL_ARG_ENUM, offsetof(activation_args, activation), NULL, 0, 0, 0,
     ly_activation_names, 0, NULL, NULL},
    {0},
};

static int activation_build(ly_layer *l, dl_err *err)
{
    l->out = l->in;
    (void)err;
    return DL_OK;
}

static void activation_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y,
                               int batch)
{
    const activation_args *a = l->args;
    dl_backend *be = l->be;
    size_t n = (size_t)batch * dl_shape_size(&l->in);
    int cols = l->in.dim[l->in.ndim - 1];
    if (a->activation == DL_ACT_SOFTMAX)
        be->softmax(be, x, y, (int)(n / cols), cols);
    else if (a->activation == DL_ACT_LINEAR)
        be->copy(be, y, x, n);
    else
        be->act_forward(be, a->activation, ly_activation_alpha(a->activation), x, y, n);
    (void)ctx;
}

static void activation_backward(ly_layer *l, const float *x, float *y, const float *dy,
                                float *dx, int batch)
{
    const activation_args *a = l->args;
    dl_backend *be = l->be;
    size_t n = (size_t)batch * dl_shape_size(&l->in);
    int cols = l->in.dim[l->in.ndim - 1];
    if (!dx)
        return;
    if (l->fused_output || a->activation == DL_ACT_LINEAR)
        be->copy(be, dx, dy, n);
    else if (a->activation == DL_ACT_SOFTMAX)
        be->softmax_backward(be, y, dy, dx, (int)(n / cols), cols);
    else
        be->act_backward(be, a->activation, ly_activation_alpha(a->activation), x, y, dy, dx, n);
}

static int activation_output_activation(const ly_layer *l)
{
    return ((const activation_args *)l->args)->activation;
}

static const float *activation_preactivation(const ly_layer *l, const float *x)
{
    (void)l;
    return x;
}

const ly_kind ly_activation = {
    .base = {"Activation", NULL, NULL, activation_table, sizeof(activation_args), NULL},
    .snake = "activation",
    .build = activation_build,
    .forward = activation_forward,
    .backward = activation_backward,
    .output_activation = activation_output_activation,
    .preactivation = activation_preactivation,
};
