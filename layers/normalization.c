/* normalization.c: BatchNormalization and LayerNormalization over the last
 * axis (Keras axis -1), x [rows, c] with c the last input axis.
 * BatchNormalization: rows = batch * every other axis (NHWC: statistics per
 * channel over the batch and all positions); while training it normalizes
 * with the batch statistics and updates the non-trainable moving_mean and
 * moving_variance (weights of the model, so saved with it), otherwise it
 * uses the moving statistics. Its backward is the training-mode backward:
 * the trainer only differentiates training forwards. LayerNormalization:
 * statistics per row.
 *
 * Scratch, constants first: [ones c | dgamma sink c] without scale,
 * [zeros c | dbeta sink c] without center (the ops always take gamma and
 * beta), then the saved statistics: BatchNormalization mean, inv_std [c];
 * LayerNormalization mean, inv_std [rows]. */
#include "layers/registry.h"

#include "engine/init.h"

typedef struct norm_args {
    int axis;
    double momentum;            /* BatchNormalization only */
    double epsilon;
    int center, scale;
    dl_kind_ref beta_initializer, gamma_initializer;
    dl_kind_ref moving_mean_initializer, moving_variance_initializer; /* BatchNormalization */
    dl_kind_ref beta_regularizer, gamma_regularizer;
} norm_args;

#define NORM_ROW(key, type, field, def, min, max, flags, family)                                  \
    {key, type, offsetof(norm_args, field), def, min, max, flags, NULL, 0, family, NULL}

static const dl_arg batchnorm_table[] = {
    NORM_ROW("axis", DL_ARG_INT, axis, "-1", 0, 0, 0, NULL),
    NORM_ROW("momentum", DL_ARG_FLOAT, momentum, "0.99", 0, 1, 0, NULL),
    NORM_ROW("epsilon", DL_ARG_FLOAT, epsilon, "0.001", 0, 1e30, DL_ARG_MIN_OPEN, NULL),
    NORM_ROW("center", DL_ARG_BOOL, center, "true", 0, 0, 0, NULL),
    NORM_ROW("scale", DL_ARG_BOOL, scale, "true", 0, 0, 0, NULL),
    NORM_ROW("beta_initializer", DL_ARG_KIND, beta_initializer, "zeros", 0, 0, 0, &init_family),
    NORM_ROW("gamma_initializer", DL_ARG_KIND, gamma_initializer, "ones", 0, 0, 0, &init_family),
    NORM_ROW("moving_mean_initializer", DL_ARG_KIND, moving_mean_initializer, "zeros", 0, 0, 0,
             &init_family),
    NORM_ROW("moving_variance_initializer", DL_ARG_KIND, moving_variance_initializer, "ones", 0,
             0, 0, &init_family),
    NORM_ROW("beta_regularizer", DL_ARG_KIND, beta_regularizer, "null", 0, 0, DL_ARG_NULLABLE,
             &reg_family),
    NORM_ROW("gamma_regularizer", DL_ARG_KIND, gamma_regularizer, "null", 0, 0, DL_ARG_NULLABLE,
             &reg_family),
    {0},
};

static const dl_arg layernorm_table[] = {
    NORM_ROW("axis", DL_ARG_INT, axis, "-1", 0, 0, 0, NULL),
    NORM_ROW("epsilon", DL_ARG_FLOAT, epsilon, "0.001", 0, 1e30, DL_ARG_MIN_OPEN, NULL),
    NORM_ROW("center", DL_ARG_BOOL, center, "true", 0, 0, 0, NULL),
    NORM_ROW("scale", DL_ARG_BOOL, scale, "true", 0, 0, 0, NULL),
    NORM_ROW("beta_initializer", DL_ARG_KIND, beta_initializer, "zeros", 0, 0, 0, &init_family),
    NORM_ROW("gamma_initializer", DL_ARG_KIND, gamma_initializer, "ones", 0, 0, 0, &init_family),
    NORM_ROW("beta_regularizer", DL_ARG_KIND, beta_regularizer, "null", 0, 0, DL_ARG_NULLABLE,
             &reg_family),
    NORM_ROW("gamma_regularizer", DL_ARG_KIND, gamma_regularizer, "null", 0, 0, DL_ARG_NULLABLE,
             &reg_family),
    {0},
};

/* Where a forward or backward finds its vectors. */
typedef struct norm_view {
    int c;                      /* the normalized (last) axis */
    const float *gamma, *beta;  /* [c]: the weights or the scratch constants */
    float *dgamma, *dbeta;      /* [c]: the gradients or the scratch sinks */
    float *moving_mean, *moving_var; /* [c], BatchNormalization */
    float *stats;               /* scratch after the constants: mean, then inv_std */
} norm_view;

static int norm_channels(const ly_layer *l)
{
    return l->in.dim[l->in.ndim - 1];
}

/* Floats of constants and sinks at the start of scratch. */
static size_t norm_constants(const norm_args *a, int c)
{
    return (size_t)c * (2 * !a->scale + 2 * !a->center);
}

static norm_view norm_locate(const ly_layer *l)
{
    const norm_args *a = l->args;
    norm_view v = {.c = norm_channels(l)};
    float *scratch = l->scratch;
    int p = 0;
    if (a->scale) {
        v.gamma = l->params[p].w;
        v.dgamma = l->params[p++].g;
    } else {
        v.gamma = scratch;
        v.dgamma = scratch + v.c;
        scratch += 2 * v.c;
    }
    if (a->center) {
        v.beta = l->params[p].w;
        v.dbeta = l->params[p++].g;
    } else {
        v.beta = scratch; /* zeros: alloc zero-fills and nothing writes here */
        v.dbeta = scratch + v.c;
        scratch += 2 * v.c;
    }
    if (p < l->nparams) {
        v.moving_mean = l->params[p].w;
        v.moving_var = l->params[p + 1].w;
    }
    v.stats = scratch;
    return v;
}

/* gamma (scale), beta (center), then BatchNormalization's moving
 * statistics, non-trainable: Keras's variable order. */
static int norm_build(ly_layer *l, int moving, dl_err *err)
{
    const norm_args *a = l->args;
    if (a->axis != -1 && a->axis != l->in.ndim)
        return dl_fail(err, DL_EXIT_USAGE,
                       "axis %d: only the last axis (-1, channels-last) is supported", a->axis);
    int c = norm_channels(l);
    dl_shape vec = {1, {c}};
    l->out = l->in;
    if (a->scale)
        ly_add_param(l, "gamma", &vec, 1, &a->gamma_initializer, &a->gamma_regularizer);
    if (a->center)
        ly_add_param(l, "beta", &vec, 1, &a->beta_initializer, &a->beta_regularizer);
    if (moving) {
        ly_add_param(l, "moving_mean", &vec, 0, &a->moving_mean_initializer, NULL);
        ly_add_param(l, "moving_variance", &vec, 0, &a->moving_variance_initializer, NULL);
    }
    l->scratch_fixed = norm_constants(a, c);
    return DL_OK;
}

/* Before a forward: the ones standing in for a missing gamma. */
static void norm_prepare(ly_layer *l, const norm_view *v)
{
    const norm_args *a = l->args;
    if (!a->scale)
        l->be->fill(l->be, (float *)v->gamma, 1.0f, (size_t)v->c);
}

/* Where backward writes dx [batch, in] when the caller needs none. */
static size_t norm_workspace(const ly_layer *l, int batch)
{
    return (size_t)batch * dl_shape_size(&l->in);
}

static int batchnorm_build(ly_layer *l, dl_err *err)
{
    if (norm_build(l, 1, err))
        return DL_ERR;
    l->scratch_fixed += 2 * (size_t)norm_channels(l); /* mean, inv_std */
    return DL_OK;
}

static void batchnorm_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y,
                              int batch)
{
    const norm_args *a = l->args;
    dl_backend *be = l->be;
    norm_view v = norm_locate(l);
    int rows = ly_rows(&l->in, batch);
    norm_prepare(l, &v);
    if (ctx->training)
        be->batchnorm_train(be, x, rows, v.c, v.gamma, v.beta, (float)a->epsilon,
                            (float)a->momentum, v.moving_mean, v.moving_var, y, v.stats,
                            v.stats + v.c);
    else
        be->batchnorm_infer(be, x, rows, v.c, v.gamma, v.beta, v.moving_mean, v.moving_var,
                            (float)a->epsilon, y);
}

static void batchnorm_backward(ly_layer *l, const float *x, float *y, const float *dy,
                               float *dx, int batch)
{
    norm_view v = norm_locate(l);
    (void)y;
    l->be->batchnorm_backward(l->be, x, dy, ly_rows(&l->in, batch), v.c, v.gamma, v.stats,
                              v.stats + v.c, dx ? dx : l->workspace, v.dgamma, v.dbeta);
}

static int layernorm_build(ly_layer *l, dl_err *err)
{
    if (norm_build(l, 0, err))
        return DL_ERR;
    l->scratch_per_sample = 2 * (size_t)ly_rows(&l->in, 1); /* mean, inv_std per row */
    return DL_OK;
}

static void layernorm_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y,
                              int batch)
{
    const norm_args *a = l->args;
    norm_view v = norm_locate(l);
    int rows = ly_rows(&l->in, batch);
    (void)ctx;
    norm_prepare(l, &v);
    l->be->layernorm_forward(l->be, x, rows, v.c, v.gamma, v.beta, (float)a->epsilon, y, v.stats,
                             v.stats + rows);
}

static void layernorm_backward(ly_layer *l, const float *x, float *y, const float *dy,
                               float *dx, int batch)
{
    norm_view v = norm_locate(l);
    int rows = ly_rows(&l->in, batch);
    (void)y;
    l->be->layernorm_backward(l->be, x, dy, rows, v.c, v.gamma, v.stats, v.stats + rows,
                              dx ? dx : l->workspace, v.dgamma, v.dbeta);
}

const ly_kind ly_batch_normalization = {
    .base = {"BatchNormalization", NULL, NULL, batchnorm_table, sizeof(norm_args), NULL},
    .snake = "batch_normalization",
    .build = batchnorm_build,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .workspace = norm_workspace,
};

const ly_kind ly_layer_normalization = {
    .base = {"LayerNormalization", NULL, NULL, layernorm_table, sizeof(norm_args), NULL},
    .snake = "layer_normalization",
    .build = layernorm_build,
    .forward = layernorm_forward,
    .backward = layernorm_backward,
    .workspace = norm_workspace,
};
