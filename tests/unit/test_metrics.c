/* test_metrics.c: the CPU metric op's accumulators on small hand-made
 * batches with known counts (most from the Keras documentation's examples),
 * and dl_auc_from_counts against Keras's worked example and against the
 * Mann-Whitney statistic. */
#include "engine/backend/backend.h"
#include "tests/unit/check.h"

#include <string.h>

/* Runs one metric over a batch into fresh accumulators acc [nacc]. */
static void run_metric(dl_backend *be, const dl_metric_desc *d, const float *pred,
                       const float *target, int rows, int cols, double *acc)
{
    memset(acc, 0, sizeof(double) * (size_t)dl_metric_nacc(d));
    be->metric(be, d, pred, target, rows, cols, acc);
}

static void test_binary_accuracy(dl_backend *be)
{
    dl_metric_desc d = {DL_METRIC_BINARY_ACCURACY, 0, 0.5f, 0, 0};
    double acc[2];
    float target[4] = {1, 1, 0, 0}, pred[4] = {0.98f, 1.0f, 0.0f, 0.6f};
    run_metric(be, &d, pred, target, 4, 1, acc);
    CHECK(acc[0] == 3.0 && acc[1] == 4.0, "binary accuracy: {%g, %g}, want {3, 4}", acc[0],
          acc[1]);
    /* per-sample means over 2 columns: row 0 1/2, row 1 2/2; 0.5 is not > 0.5 */
    float target2[4] = {1, 0, 0, 1}, pred2[4] = {0.5f, 0.2f, 0.1f, 0.9f};
    run_metric(be, &d, pred2, target2, 2, 2, acc);
    CHECK(acc[0] == 1.5 && acc[1] == 2.0, "binary accuracy 2 cols: {%g, %g}, want {1.5, 2}",
          acc[0], acc[1]);
    d.threshold = 0.4f;
    run_metric(be, &d, pred2, target2, 2, 2, acc);
    CHECK(acc[0] == 2.0, "binary accuracy threshold 0.4: %g correct, want 2", acc[0]);
}

static void test_categorical_accuracy(dl_backend *be)
{
    float pred[6] = {0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0.0f};
    float onehot[6] = {0, 0, 1, 0, 1, 0}, ids[2] = {2, 1};
    double acc[2];
    dl_metric_desc d = {DL_METRIC_CATEGORICAL_ACCURACY, 0, 0.5f, 0, 0};
    run_metric(be, &d, pred, onehot, 2, 3, acc);
    CHECK(acc[0] == 1.0 && acc[1] == 2.0, "categorical accuracy: {%g, %g}, want {1, 2}",
          acc[0], acc[1]);
    d.sparse_target = 1;
    run_metric(be, &d, pred, ids, 2, 3, acc);
    CHECK(acc[0] == 1.0 && acc[1] == 2.0, "sparse categorical accuracy: {%g, %g}, want {1, 2}",
          acc[0], acc[1]);
    /* a tie goes to the first maximum; a label that is no class id never matches */
    float tie[3] = {0.4f, 0.4f, 0.2f}, first[1] = {0}, second[1] = {1}, bogus[1] = {0.5f};
    run_metric(be, &d, tie, first, 1, 3, acc);
    CHECK(acc[0] == 1.0, "tied argmax must be the first index");
    run_metric(be, &d, tie, second, 1, 3, acc);
    CHECK(acc[0] == 0.0, "tied argmax matched the second index");
    run_metric(be, &d, tie, bogus, 1, 3, acc);
    CHECK(acc[0] == 0.0 && acc[1] == 1.0, "label 0.5 matched a class");
}

static void test_top_k(dl_backend *be)
{
    float pred[6] = {0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0.0f};
    float onehot[6] = {0, 0, 1, 0, 1, 0}, ids[2] = {2, 1};
    double acc[2];
    dl_metric_desc d = {DL_METRIC_TOP_K, 0, 0.5f, 1, 0};
    run_metric(be, &d, pred, onehot, 2, 3, acc);
    CHECK(acc[0] == 1.0 && acc[1] == 2.0, "top-1: {%g, %g}, want {1, 2}", acc[0], acc[1]);
    d.k = 2;
    run_metric(be, &d, pred, onehot, 2, 3, acc);
    CHECK(acc[0] == 2.0, "top-2: %g hits, want 2", acc[0]);
    d.k = 1;
    d.sparse_target = 1;
    run_metric(be, &d, pred, ids, 2, 3, acc);
    CHECK(acc[0] == 1.0 && acc[1] == 2.0, "sparse top-1: {%g, %g}, want {1, 2}", acc[0],
          acc[1]);
    /* in_top_k: ties count in the target's favour; a NaN target score never hits */
    float tie[3] = {0.5f, 0.5f, 0.1f}, second[1] = {1}, nan_pred[3] = {NAN, 0.1f, 0.2f};
    float zero[1] = {0};
    run_metric(be, &d, tie, second, 1, 3, acc);
    CHECK(acc[0] == 1.0, "top-1 with a tie must count as a hit");
    run_metric(be, &d, nan_pred, zero, 1, 3, acc);
    CHECK(acc[0] == 0.0, "top-1 with a NaN target score must miss");
}

static void test_regression_metrics(dl_backend *be)
{
    float target[4] = {0, 1, 0, 0}, pred[4] = {1, 1, 1, 0};
    double acc[2];
    dl_metric_desc d = {DL_METRIC_MSE, 0, 0.5f, 0, 0};
    run_metric(be, &d, pred, target, 2, 2, acc);
    CHECK(acc[0] == 1.0 && acc[1] == 2.0, "mse: {%g, %g}, want {1, 2}", acc[0], acc[1]);
    float pred3[4] = {2, 1, -1, 0};
    run_metric(be, &d, pred3, target, 2, 2, acc);
    CHECK(acc[0] == 2.5, "mse: per-sample means sum %g, want 2 + 0.5", acc[0]);
    d.kind = DL_METRIC_MAE;
    run_metric(be, &d, pred3, target, 2, 2, acc);
    CHECK(acc[0] == 1.5 && acc[1] == 2.0, "mae: {%g, %g}, want {1.5, 2}", acc[0], acc[1]);
}

static void test_precision_recall(dl_backend *be)
{
    float target[4] = {0, 1, 1, 1}, pred[4] = {1, 0, 1, 1};
    double acc[2];
    dl_metric_desc d = {DL_METRIC_PRECISION, 0, 0.5f, 0, 0};
    run_metric(be, &d, pred, target, 4, 1, acc);
    CHECK(acc[0] == 2.0 && acc[1] == 1.0, "precision {tp, fp}: {%g, %g}, want {2, 1}", acc[0],
          acc[1]);
    d.kind = DL_METRIC_RECALL;
    run_metric(be, &d, pred, target, 4, 1, acc);
    CHECK(acc[0] == 2.0 && acc[1] == 1.0, "recall {tp, fn}: {%g, %g}, want {2, 1}", acc[0],
          acc[1]);
    /* elementwise over [2, 3]; threshold 0.7; class ids expand to one-hot */
    float probs[6] = {0.8f, 0.1f, 0.75f, 0.2f, 0.6f, 0.9f};
    float onehot[6] = {1, 0, 0, 0, 1, 0}, ids[2] = {0, 1};
    d.threshold = 0.7f;
    d.kind = DL_METRIC_PRECISION;
    run_metric(be, &d, probs, onehot, 2, 3, acc);
    CHECK(acc[0] == 1.0 && acc[1] == 2.0, "precision @0.7: {%g, %g}, want {1, 2}", acc[0],
          acc[1]);
    d.sparse_target = 1;
    run_metric(be, &d, probs, ids, 2, 3, acc);
    CHECK(acc[0] == 1.0 && acc[1] == 2.0, "sparse precision @0.7: {%g, %g}, want {1, 2}",
          acc[0], acc[1]);
    d.kind = DL_METRIC_RECALL;
    run_metric(be, &d, probs, ids, 2, 3, acc);
    CHECK(acc[0] == 1.0 && acc[1] == 1.0, "sparse recall @0.7: {%g, %g}, want {1, 1}", acc[0],
          acc[1]);
}

/* Keras's AUC docstring: num_thresholds 3, thresholds [-1e-7, 0.5, 1+1e-7],
 * tp [2, 1, 0], fp [2, 0, 0], tn [0, 2, 2], fn [0, 1, 2], AUC 0.75. */
static void test_auc_keras_example(dl_backend *be)
{
    float target[4] = {0, 0, 1, 1}, pred[4] = {0.0f, 0.5f, 0.3f, 0.9f};
    double acc[12];
    double want[12] = {2, 1, 0, 2, 0, 0, 0, 2, 2, 0, 1, 2};
    dl_metric_desc d = {DL_METRIC_AUC, 0, 0.5f, 0, 3};
    CHECK(dl_metric_nacc(&d) == 12, "AUC with 3 thresholds needs 12 accumulators");
    run_metric(be, &d, pred, target, 4, 1, acc);
    CHECK(!memcmp(acc, want, sizeof want), "AUC counts differ from Keras's example");
    double auc = dl_auc_from_counts(acc, 3);
    CHECK_CLOSE(auc, 0.75, 1e-12, 0.0, "AUC %g, want 0.75", auc);
    CHECK(dl_auc_threshold(0, 3) < 0.0f && dl_auc_threshold(1, 3) == 0.5f &&
              dl_auc_threshold(2, 3) > 1.0f,
          "AUC thresholds must be [-1e-7, 0.5, 1 + 1e-7]");
}

/* With 200 thresholds and scores that fall in distinct threshold buckets,
 * the interpolated ROC AUC equals the Mann-Whitney statistic: the share of
 * (positive, negative) pairs ranked correctly, ties counting one half.
 * The counts accumulate over two batches as over one. */
static void test_auc_mann_whitney(dl_backend *be)
{
    enum { N = 40, T = 200 };
    static const float levels[8] = {0.02f, 0.13f, 0.27f, 0.41f, 0.5f, 0.66f, 0.79f, 0.97f};
    float pred[N], target[N];
    uint32_t s = 12345u;
    for (int i = 0; i < N; i++) {
        s = s * 1664525u + 1013904223u;
        pred[i] = levels[(s >> 16) % 8];
        s = s * 1664525u + 1013904223u;
        target[i] = (float)((s >> 16) & 1);
    }
    double pairs = 0.0, correct = 0.0;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            if (target[i] == 1.0f && target[j] == 0.0f) {
                pairs += 1.0;
                correct += pred[i] > pred[j] ? 1.0 : pred[i] == pred[j] ? 0.5 : 0.0;
            }
        }
    }
    dl_metric_desc d = {DL_METRIC_AUC, 0, 0.5f, 0, T};
    static double acc[4 * T];
    memset(acc, 0, sizeof acc);
    be->metric(be, &d, pred, target, N / 2, 1, acc);
    be->metric(be, &d, pred + N / 2, target + N / 2, N / 2, 1, acc);
    double auc = dl_auc_from_counts(acc, T), want = correct / pairs;
    CHECK(pairs > 0, "test data has no positive/negative pair");
    CHECK_CLOSE(auc, want, 1e-12, 1e-12, "AUC %.15g, Mann-Whitney %.15g", auc, want);
    double total = 0.0;
    for (int k = 0; k < 4; k++)
        total += acc[k * T + 100];
    CHECK(total == N, "AUC: %g counts at one threshold, want %d", total, N);
}

int main(void)
{
    dl_err err;
    dl_backend *be = be_cpu_create(1, &err);
    if (!be) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_binary_accuracy(be);
    test_categorical_accuracy(be);
    test_top_k(be);
    test_regression_metrics(be);
    test_precision_recall(be);
    test_auc_keras_example(be);
    test_auc_mann_whitney(be);
    be->destroy(be);
    return check_report("metrics");
}
