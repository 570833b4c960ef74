/* loss.h: Keras losses as a kind family, and what each needs from the data. */
#ifndef LOSS_LOSS_H
#define LOSS_LOSS_H

#include "engine/backend/backend.h"

typedef struct loss_args {
    int from_logits;
    double label_smoothing;     /* cross-entropies */
    double delta;               /* Huber */
} loss_args;

/* MeanSquaredError (mse), MeanAbsoluteError (mae), Huber, BinaryCrossentropy,
 * CategoricalCrossentropy, SparseCategoricalCrossentropy. */
extern const dl_family loss_family;

/* How targets are fed to the loss. */
enum {
    LOSS_TARGET_VALUE,          /* regression value(s), same shape as the output */
    LOSS_TARGET_CLASS_ID,       /* [rows] class ids (sparse) */
    LOSS_TARGET_ONE_HOT         /* [rows, classes] built from class ids */
};

typedef struct loss_plan {
    dl_loss_desc desc;          /* what the loss op gets */
    int target;                 /* LOSS_TARGET_* */
    int classification;         /* labels are class ids of the output's classes */
    int fused;                  /* the last layer's softmax/sigmoid is folded in
                                   (the loss takes its pre-activation) */
} loss_plan;

/* Plans the loss for a model whose last layer outputs out_cols values per
 * row after activation out_act (DL_ACT_*). A mismatch (a cross-entropy on
 * one output unit, a binary cross-entropy on a softmax, ...) is an error
 * (exit 2) naming what fits. */
int loss_plan_for(const dl_kind_ref *loss, int out_cols, int out_act, loss_plan *plan,
                  dl_err *err);

#endif
