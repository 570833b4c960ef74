/* loss.c: the loss kinds (Keras names and defaults) and the plan that ties
 * a loss to the model's output: the target encoding and whether the output
 * activation is folded into the loss. Keras on TensorFlow computes a
 * cross-entropy that follows a softmax (or sigmoid) from the cached logits;
 * the fused path gives the same numbers, stably. */
#include "engine/loss.h"

#include <stdio.h>
#include <string.h>

#define ROW_FROM_LOGITS                                                                          \
    {"from_logits", DL_ARG_BOOL, offsetof(loss_args, from_logits), "false", 0, 0, 0, NULL, 0,    \
     NULL, NULL}
#define ROW_LABEL_SMOOTHING                                                                      \
    {"label_smoothing", DL_ARG_FLOAT, offsetof(loss_args, label_smoothing), "0.0", 0, 1, 0,      \
     NULL, 0, NULL, NULL}

static const dl_arg no_args[] = {{0}};
static const dl_arg huber_args[] = {
    {"delta", DL_ARG_FLOAT, offsetof(loss_args, delta), "1.0", 0, 1e30, DL_ARG_MIN_OPEN, NULL, 0,
     NULL, NULL},
    {0},
};
static const dl_arg bce_args[] = {ROW_FROM_LOGITS, ROW_LABEL_SMOOTHING, {0}};
static const dl_arg cce_args[] = {ROW_FROM_LOGITS, ROW_LABEL_SMOOTHING, {0}};
static const dl_arg sparse_cce_args[] = {ROW_FROM_LOGITS, {0}};

static const dl_kind loss_mse = {"MeanSquaredError", "mean_squared_error", "mse", no_args,
                                 sizeof(loss_args), NULL};
static const dl_kind loss_mae = {"MeanAbsoluteError", "mean_absolute_error", "mae", no_args,
                                 sizeof(loss_args), NULL};
static const dl_kind loss_huber = {"Huber", "huber", NULL, huber_args, sizeof(loss_args), NULL};
static const dl_kind loss_bce = {"BinaryCrossentropy", "binary_crossentropy", NULL, bce_args,
                                 sizeof(loss_args), NULL};
static const dl_kind loss_cce = {"CategoricalCrossentropy", "categorical_crossentropy", NULL,
                                 cce_args, sizeof(loss_args), NULL};
static const dl_kind loss_sparse_cce = {"SparseCategoricalCrossentropy",
                                        "sparse_categorical_crossentropy", NULL, sparse_cce_args,
                                        sizeof(loss_args), NULL};

static const dl_kind *const loss_kinds[] = {
    &loss_mse, &loss_mae, &loss_huber, &loss_bce, &loss_cce, &loss_sparse_cce,
};

const dl_family loss_family = {"loss", loss_kinds, 6, NULL, NULL};

int loss_plan_for(const dl_kind_ref *loss, int out_cols, int out_act, loss_plan *plan,
                  dl_err *err)
{
    const loss_args *a = loss->args;
    const dl_kind *k = loss->kind;
    memset(plan, 0, sizeof *plan);
    plan->desc.from_logits = a->from_logits;
    plan->desc.label_smoothing = (float)a->label_smoothing;
    plan->desc.delta = (float)a->delta;
    plan->target = LOSS_TARGET_VALUE;
    if (k == &loss_mse || k == &loss_mae || k == &loss_huber) {
        plan->desc.kind = k == &loss_mse ? DL_LOSS_MSE : k == &loss_mae ? DL_LOSS_MAE
                                                                         : DL_LOSS_HUBER;
        return DL_OK;
    }
    if (k == &loss_bce) {
        plan->desc.kind = DL_LOSS_BCE;
        plan->classification = 1;
        if (out_cols != 1)
            return dl_fail(err, DL_EXIT_USAGE,
                           "binary_crossentropy needs 1 output unit (sigmoid), the model has %d; "
                           "use sparse_categorical_crossentropy for %d classes",
                           out_cols, out_cols);
        if (out_act == DL_ACT_SOFTMAX)
            return dl_fail(err, DL_EXIT_USAGE,
                           "binary_crossentropy after a softmax over 1 unit is always 1; use "
                           "activation: sigmoid");
        plan->fused = !a->from_logits && out_act == DL_ACT_SIGMOID;
    } else {
        plan->desc.kind = DL_LOSS_CCE;
        plan->classification = 1;
        plan->desc.sparse_target = k == &loss_sparse_cce;
        plan->target = k == &loss_sparse_cce ? LOSS_TARGET_CLASS_ID : LOSS_TARGET_ONE_HOT;
        if (out_cols < 2)
            return dl_fail(err, DL_EXIT_USAGE,
                           "%s needs one output unit per class (at least 2), the model has %d; "
                           "use binary_crossentropy with a sigmoid for two classes",
                           k->alias, out_cols);
        plan->fused = !a->from_logits && out_act == DL_ACT_SOFTMAX;
    }
    if (plan->fused)
        plan->desc.from_logits = 1;
    return DL_OK;
}
