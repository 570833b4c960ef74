/* dense.c: Dense(units), y = act(x @ kernel + bias) on the last axis.
 * x [rows, in], kernel [in, units], bias [units], y [rows, units] where
 * rows = batch * (all but the last input axis), as Keras applies Dense to
 * N-d inputs. With an activation that needs it (ly_activation_in_place) the
 * pre-activation z [rows, units] is kept in scratch for backward (and for a
 * fused softmax/sigmoid + cross-entropy); the others work in y. */
#include "layers/registry.h"

#include "engine/init.h"

typedef struct dense_args {
    int units;
    int activation;             /* DL_ACT_* */
    int use_bias;
    dl_kind_ref kernel_initializer, bias_initializer;
    dl_kind_ref kernel_regularizer, bias_regularizer;
} dense_args;

static const dl_arg dense_table[] = {
    {"units", DL_ARG_INT, offsetof(dense_args, units), NULL, 1, 1 << 24, 0, NULL, 0, NULL, NULL},
    {"activation", DL_ARG_ENUM, offsetof(dense_args, activation), "linear", 0, 0, 0,
     ly_activation_names, 0, NULL, NULL},
    {"use_bias", DL_ARG_BOOL, offsetof(dense_args, use_bias), "true", 0, 0, 0, NULL, 0, NULL,
     NULL},
    {"kernel_initializer", DL_ARG_KIND, offsetof(dense_args, kernel_initializer),
     "glorot_uniform", 0, 0, 0, NULL, 0, &init_family, NULL},
    {"bias_initializer", DL_ARG_KIND, offsetof(dense_args, bias_initializer), "zeros", 0, 0, 0,
     NULL, 0, &init_family, NULL},
    {"kernel_regularizer", DL_ARG_KIND, offsetof(dense_args, kernel_regularizer), "null", 0, 0,
     DL_ARG_NULLABLE, NULL, 0, &reg_family, NULL},
    {"bias_regularizer", DL_ARG_KIND, offsetof(dense_args, bias_regularizer), "null", 0, 0,
     DL_ARG_NULLABLE, NULL, 0, &reg_family, NULL},
    {0},
};

static int dense_build(ly_layer *l, dl_err *err)
{
    const dense_args *a = l->args;
    int in = l->in.dim[l->in.ndim - 1];
    l->out = l->in;
    l->out.dim[l->out.ndim - 1] = a->units;
    dl_shape kernel = {2, {in, a->units}};
    ly_add_param(l, "kernel", &kernel, 1, &a->kernel_initializer, &a->kernel_regularizer);
    if (a->use_bias) {
        dl_shape bias = {1, {a->units}};
        ly_add_param(l, "bias", &bias, 1, &a->bias_initializer, &a->bias_regularizer);
    }
    if (!ly_activation_in_place(a->activation))
        l->scratch_per_sample = dl_shape_size(&l->out);
    (void)err;
    return DL_OK;
}

static void dense_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y, int batch)
{
    const dense_args *a = l->args;
    dl_backend *be = l->be;
    int rows = ly_rows(&l->in, batch), in = l->in.dim[l->in.ndim - 1], units = a->units;
    float *z = ly_activation_in_place(a->activation) ? y : l->scratch; /* [rows, units] */
    be->gemm(be, 0, 0, rows, units, in, 1.0f, x, in, l->params[0].w, units, 0.0f, z, units);
    if (a->use_bias)
        be->add_bias(be, z, l->params[1].w, rows, units);
    if (a->activation == DL_ACT_SOFTMAX)
        be->softmax(be, z, y, rows, units);
    else if (a->activation != DL_ACT_LINEAR)
        be->act_forward(be, a->activation, ly_activation_alpha(a->activation), z, y,
                        (size_t)rows * units);
    (void)ctx;
}

static void dense_backward(ly_layer *l, const float *x, float *y, const float *dy,
                           float *dx, int batch)
{
    const dense_args *a = l->args;
    dl_backend *be = l->be;
    int rows = ly_rows(&l->in, batch), in = l->in.dim[l->in.ndim - 1], units = a->units;
    const float *dz = dy; /* [rows, units] gradient w.r.t. the pre-activation */
    if (a->activation != DL_ACT_LINEAR && !l->fused_output) {
        /* overwritten by dz: z is not needed afterwards */
        float *z = ly_activation_in_place(a->activation) ? y : l->scratch;
        if (a->activation == DL_ACT_SOFTMAX)
            be->softmax_backward(be, y, dy, z, rows, units);
        else
            be->act_backward(be, a->activation, ly_activation_alpha(a->activation), z, y, dy,
                             z, (size_t)rows * units);
        dz = z;
    }
    /* dkernel [in, units] = x^T dz; dbias = column sums of dz */
    be->gemm(be, 1, 0, in, units, rows, 1.0f, x, in, dz, units, 0.0f, l->params[0].g, units);
    if (a->use_bias)
        be->bias_grad(be, l->params[1].g, dz, rows, units, 0);
    /* dx [rows, in] = dz kernel^T */
    if (dx)
        be->gemm(be, 0, 1, rows, in, units, 1.0f, dz, units, l->params[0].w, units, 0.0f, dx,
                 in);
}

static int dense_output_activation(const ly_layer *l)
{
    return ((const dense_args *)l->args)->activation;
}

static const float *dense_preactivation(const ly_layer *l, const float *x)
{
    (void)x;
    return l->scratch;
}

const ly_kind ly_dense = {
    .base = {"Dense", NULL, NULL, dense_table, sizeof(dense_args), NULL},
    .snake = "dense",
    .build = dense_build,
    .forward = dense_forward,
    .backward = dense_backward,
    .output_activation = dense_output_activation,
    .preactivation = dense_preactivation,
};
