/* dropout.c: Dropout(rate), inverted: while training y = x * mask with
 * mask = keep / (1 - rate); identity otherwise. The mask comes from Philox
 * keyed by the run seed and the layer, counted by the training step, so a
 * run (and a resumed run) reproduces bit for bit. mask [batch, size] lives in
 * scratch for backward. */
#include "layers/registry.h"

typedef struct dropout_args {
    double rate;
    int seed;                   /* -1: derive from the run seed and the layer */
} dropout_args;

static const dl_arg dropout_table[] = {
    {"rate", DL_ARG_FLOAT, offsetof(dropout_args, rate), NULL, 0, 1, DL_ARG_MAX_OPEN, NULL, 0,
     NULL, NULL},
    {"seed", DL_ARG_INT, offsetof(dropout_args, seed), "-1", -1, 2147483647, 0, NULL, 0, NULL,
     NULL},
    {0},
};

static int dropout_build(ly_layer *l, dl_err *err)
{
    l->out = l->in;
    l->scratch_per_sample = dl_shape_size(&l->in);
    (void)err;
    return DL_OK;
}

static void dropout_forward(ly_layer *l, const ly_ctx *ctx, const float *x, float *y, int batch)
{
    const dropout_args *a = l->args;
    size_t per_sample = dl_shape_size(&l->in), n = (size_t)batch * per_sample;
    if (!ctx->training || a->rate == 0.0) {
        l->be->copy(l->be, y, x, n);
        return;
    }
    /* the layer index picks the key; the step (times a fixed per-step
     * stride, so partial batches do not shift later masks) the counter */
    uint64_t key = a->seed < 0 ? l->seed + 0x9E3779B97F4A7C15ull * (uint64_t)(l->index + 1)
                               : (uint64_t)a->seed;
    uint64_t stride = (uint64_t)per_sample << 20;
    l->be->dropout(l->be, key, (uint64_t)ctx->step * stride, (float)a->rate, x, y, l->scratch, n);
}

static void dropout_backward(ly_layer *l, const float *x, float *y, const float *dy,
                             float *dx, int batch)
{
    const dropout_args *a = l->args;
    size_t n = (size_t)batch * dl_shape_size(&l->in);
    (void)x;
    (void)y;
    if (!dx)
        return;
    if (a->rate == 0.0)
        l->be->copy(l->be, dx, dy, n);
    else
        l->be->mul(l->be, dy, l->scratch, dx, n);
}

const ly_kind ly_dropout = {
    .base = {"Dropout", NULL, NULL, dropout_table, sizeof(dropout_args), NULL},
    .snake = "dropout",
    .build = dropout_build,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
