/* metric.c: metric kinds, their resolution and their final values. */
#include "engine/metric.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ROW_NAME                                                                                 \
    {"name", DL_ARG_STRING, offsetof(metric_args, name), "null", 0, 0, DL_ARG_NULLABLE, NULL, 0, \
     NULL, NULL}
#define ROW_THRESHOLD                                                                            \
    {"threshold", DL_ARG_FLOAT, offsetof(metric_args, threshold), "0.5", 0, 1, 0, NULL, 0, NULL, \
     NULL}
#define ROW_K {"k", DL_ARG_INT, offsetof(metric_args, k), "5", 1, 1 << 20, 0, NULL, 0, NULL, NULL}

static const dl_arg plain_args[] = {ROW_NAME, {0}};
static const dl_arg threshold_args[] = {ROW_NAME, ROW_THRESHOLD, {0}};
static const dl_arg top_k_args[] = {ROW_NAME, ROW_K, {0}};
static const dl_arg auc_args[] = {
    ROW_NAME,
    {"num_thresholds", DL_ARG_INT, offsetof(metric_args, num_thresholds), "200", 2,
     METRIC_MAX_ACC / 4, 0, NULL, 0, NULL, NULL},
    {0},
};

#define METRIC_KIND(var, cls, alias, alias2, table)                                              \
    static const dl_kind var = {cls, alias, alias2, table, sizeof(metric_args), NULL}

METRIC_KIND(m_accuracy, "Accuracy", "accuracy", "acc", plain_args);
METRIC_KIND(m_binary, "BinaryAccuracy", "binary_accuracy", NULL, threshold_args);
METRIC_KIND(m_categorical, "CategoricalAccuracy", "categorical_accuracy", NULL, plain_args);
METRIC_KIND(m_sparse, "SparseCategoricalAccuracy", "sparse_categorical_accuracy", NULL,
            plain_args);
METRIC_KIND(m_top_k, "TopKCategoricalAccuracy", "top_k_categorical_accuracy", NULL, top_k_args);
METRIC_KIND(m_sparse_top_k, "SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy",
            NULL, top_k_args);
METRIC_KIND(m_mse, "MeanSquaredError", "mean_squared_error", "mse", plain_args);
METRIC_KIND(m_mae, "MeanAbsoluteError", "mean_absolute_error", "mae", plain_args);
METRIC_KIND(m_precision, "Precision", "precision", NULL, threshold_args);
METRIC_KIND(m_recall, "Recall", "recall", NULL, threshold_args);
METRIC_KIND(m_auc, "AUC", "auc", NULL, auc_args);

static const dl_kind *const metric_kinds[] = {
    &m_accuracy, &m_binary, &m_categorical, &m_sparse, &m_top_k, &m_sparse_top_k,
    &m_mse,      &m_mae,    &m_precision,   &m_recall, &m_auc,
};

const dl_family metric_family = {"metric", metric_kinds, 11, NULL, NULL};

int metric_resolve(const dl_kind_ref *ref, const loss_plan *loss, int out_cols, metric *m,
                   dl_err *err)
{
    const metric_args *a = ref->args;
    const dl_kind *k = ref->kind;
    int sparse = loss->target == LOSS_TARGET_CLASS_ID;
    memset(m, 0, sizeof *m);
    /* Keras displays a metric under the name the user wrote, else its own */
    snprintf(m->name, sizeof m->name, "%s",
             a->name ? a->name : ref->written ? ref->written : k->alias);
    m->desc.sparse_target = sparse;
    m->desc.threshold = (float)a->threshold;
    m->desc.k = a->k;
    m->desc.num_thresholds = a->num_thresholds;
    if (k == &m_accuracy) {
        if (out_cols == 1 || loss->desc.kind == DL_LOSS_BCE) {
            m->desc.kind = DL_METRIC_BINARY_ACCURACY;
            m->desc.threshold = 0.5f;
        } else {
            m->desc.kind = DL_METRIC_CATEGORICAL_ACCURACY;
        }
    } else if (k == &m_binary) {
        m->desc.kind = DL_METRIC_BINARY_ACCURACY;
    } else if (k == &m_categorical || k == &m_sparse) {
        m->desc.kind = DL_METRIC_CATEGORICAL_ACCURACY;
        if ((k == &m_sparse) != sparse)
            return dl_fail(err, DL_EXIT_USAGE,
                           "metric %s needs %s targets, but the loss uses %s ones; use accuracy",
                           k->alias, k == &m_sparse ? "class-id" : "one-hot",
                           sparse ? "class-id" : "one-hot");
    } else if (k == &m_top_k || k == &m_sparse_top_k) {
        m->desc.kind = DL_METRIC_TOP_K;
    } else if (k == &m_mse || k == &m_mae) {
        m->desc.kind = k == &m_mse ? DL_METRIC_MSE : DL_METRIC_MAE;
        if (sparse)
            return dl_fail(err, DL_EXIT_USAGE,
                           "metric %s compares values, but the targets are class ids", k->alias);
    } else {
        m->desc.kind = k == &m_precision ? DL_METRIC_PRECISION
                       : k == &m_recall  ? DL_METRIC_RECALL
                                         : DL_METRIC_AUC;
    }
    if (m->desc.kind == DL_METRIC_CATEGORICAL_ACCURACY || m->desc.kind == DL_METRIC_TOP_K) {
        if (out_cols < 2)
            return dl_fail(err, DL_EXIT_USAGE, "metric %s needs one output per class, got %d",
                           m->name, out_cols);
        if (m->desc.kind == DL_METRIC_TOP_K && m->desc.k > out_cols)
            return dl_fail(err, DL_EXIT_USAGE, "metric %s: k = %d is more than the %d classes",
                           m->name, m->desc.k, out_cols);
    }
    m->nacc = dl_metric_nacc(&m->desc);
    return DL_OK;
}

void metric_reset(metric *m)
{
    memset(m->acc, 0, sizeof(double) * (size_t)m->nacc);
}

double metric_result(const metric *m)
{
    const double *a = m->acc;
    switch (m->desc.kind) {
    case DL_METRIC_PRECISION:
    case DL_METRIC_RECALL:
        return a[0] + a[1] > 0 ? a[0] / (a[0] + a[1]) : 0.0;
    case DL_METRIC_AUC:
        return dl_auc_from_counts(a, m->desc.num_thresholds);
    default:
        return a[1] > 0 ? a[0] / a[1] : 0.0;
    }
}
