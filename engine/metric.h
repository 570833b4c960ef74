/* metric.h: Keras metrics as a kind family; stateful accumulators like
 * Keras 3's (the epoch value is over all samples seen, not a mean of batch
 * values). */
#ifndef METRIC_METRIC_H
#define METRIC_METRIC_H

#include "engine/loss.h"

typedef struct metric_args {
    char *name;                 /* display name; NULL: Keras's default */
    double threshold;           /* binary accuracy, precision, recall */
    int k;                      /* top-k */
    int num_thresholds;         /* AUC */
} metric_args;

/* accuracy (acc), binary_accuracy, categorical_accuracy,
 * sparse_categorical_accuracy, top_k_categorical_accuracy,
 * sparse_top_k_categorical_accuracy, mse, mae, Precision, Recall, AUC. */
extern const dl_family metric_family;

#define METRIC_MAX_ACC (4 * DL_AUC_MAX_THRESHOLDS) /* AUC: tp, fp, tn, fn per threshold */

typedef struct metric {
    char name[64];              /* key in logs: "accuracy", "auc" */
    dl_metric_desc desc;
    int nacc;
    double acc[METRIC_MAX_ACC];
} metric;

/* Resolves a configured metric against the loss plan and output width
 * ("accuracy" becomes binary, sparse or categorical accuracy as in Keras).
 * A metric that cannot apply is an error (exit 2). */
int metric_resolve(const dl_kind_ref *ref, const loss_plan *loss, int out_cols, metric *m,
                   dl_err *err);
void metric_reset(metric *m);
double metric_result(const metric *m);

#endif
