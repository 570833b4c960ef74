/* train.h: one training step, an epoch, an evaluation. The data arrive
 * through a batch source (the CLI adapts the dataset batcher), progress
 * leaves through an observer (the CLI draws Keras's bar): the engine knows
 * neither loaders nor terminals. */
#ifndef TRAIN_TRAIN_H
#define TRAIN_TRAIN_H

#include "engine/metric.h"
#include "engine/model.h"

#define TRAIN_MAX_METRICS 16
#define TRAIN_MAX_LOGS 48

/* Named results of an epoch or an evaluation. Keras 3 order: training keys
 * sorted, then the val_ keys sorted. */
typedef struct train_logs {
    int n;
    char keys[TRAIN_MAX_LOGS][72];
    double values[TRAIN_MAX_LOGS];
} train_logs;

void logs_clear(train_logs *l);
void logs_set(train_logs *l, const char *key, double value);
/* DL_OK and *value if present, DL_ERR if not. */
int logs_get(const train_logs *l, const char *key, double *value);

/* Batches of (x [rows, sample], y [rows] or [rows, classes]) in host memory. */
typedef struct batch_source {
    void *ctx;
    size_t steps;               /* batches per epoch */
    size_t samples;
    void (*begin_epoch)(void *ctx, int epoch);
    void (*seek)(void *ctx, size_t batches);      /* skip an epoch's first batches */
    int (*next)(void *ctx, float *x, float *y);   /* rows, 0 at the end */
} batch_source;

typedef struct trainer trainer;

/* Progress reporting (the CLI's bar). Any member may be NULL. */
typedef struct train_observer {
    void *user;
    void (*epoch_begin)(void *user, int epoch, int epochs, size_t steps);
    /* after each training batch; trainer_pass_logs gives the averages */
    void (*batch_end)(void *user, size_t step, const trainer *t);
    void (*epoch_end)(void *user, int epoch, const train_logs *logs);
    void (*eval_begin)(void *user, size_t steps);
    void (*eval_batch_end)(void *user, size_t step, const trainer *t);
    void (*eval_end)(void *user, const train_logs *logs);
} train_observer;

struct trainer {
    model *m;
    dl_backend *be;
    optimizer opt;
    loss_plan loss;
    int nmetrics;
    metric metrics[TRAIN_MAX_METRICS];
    int target_cols;            /* floats per target row */
    int batch_cap;
    float *x_host;              /* [cap, input size], staging (be->host_alloc) */
    float *y_host;              /* [cap, target_cols], staging */
    float *y_dev;               /* device [cap, target_cols] */
    float *grad_dev;            /* device [cap, output size] */
    int64_t step;               /* training batches done (RNG counter) */
    double loss_sum;            /* running: sum of per-sample loss */
    size_t seen;                /* running: samples */
    double last_batch_loss;
    int last_rows;              /* rows of the last training batch */
    const train_observer *obs;
};

/* Compiles: plans the loss against the model's output, resolves metrics,
 * creates the optimizer and the batch buffers. Errors (exit 2) say which
 * part of `compile` does not fit the model. */
int trainer_init(trainer *t, model *m, const dl_kind_ref *optimizer, const dl_kind_ref *loss,
                 const dl_kind_list *metrics, int batch_cap, dl_err *err);
void trainer_free(trainer *t);

/* A pass is a sequence of batches whose loss and metrics accumulate. */
void trainer_begin_pass(trainer *t);
/* x_host/y_host hold `rows` samples. Uploads them, runs forward, loss,
 * backward, regularizers and the optimizer step, and updates the pass's
 * metrics; returns the batch loss (mean + regularization penalty). A
 * non-finite loss is returned before any gradient or update: the weights
 * stay as they were. After a device error the loss is NaN and
 * trainer_device_status says what failed. */
double trainer_train_batch(trainer *t, int rows);
/* DL_OK, or DL_ERR with the backend's first device error in err (exit 1).
 * The batch functions check it once per batch. */
int trainer_device_status(const trainer *t, dl_err *err);
/* After a non-finite loss: names the first layer whose output holds a
 * non-finite value (or says the outputs are finite). */
void trainer_find_nonfinite(const trainer *t, char *buf, size_t n);
/* The same without gradients or updates. */
double trainer_eval_batch(trainer *t, int rows);
/* Loss and metrics of the pass so far, keys prefixed ("" or "val_"). */
void trainer_pass_logs(const trainer *t, const char *prefix, train_logs *logs);
/* A whole evaluation pass over src (observer's eval hooks called). DL_ERR
 * after a device error (trainer_device_status has it). */
int trainer_evaluate(trainer *t, batch_source *src, const char *prefix, train_logs *logs);

#endif
