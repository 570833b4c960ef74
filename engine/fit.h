/* fit.h: Keras's fit(): epochs of training, validation at each epoch's
 * end, callbacks at the usual points, stop requests honoured. */
#ifndef FIT_FIT_H
#define FIT_FIT_H

#include "engine/tb_writer.h"
#include "engine/train.h"

#include <signal.h>
#include <stdio.h>

typedef struct callback callback;

typedef struct fit_ctx {
    trainer *t;
    batch_source *train;
    batch_source *val;          /* NULL: no validation */
    int epochs;
    int epoch;                  /* 0-based, current */
    const char *run_dir;        /* relative callback paths resolve here */
    FILE *msg;                  /* callback messages (stderr) */
    int stop_training;          /* set by callbacks */
    int nan_stopped;            /* TerminateOnNaN stopped the run */
    volatile sig_atomic_t *interrupt; /* set by a signal handler: stop after
                                         the current batch (may be NULL) */
    int interrupted;            /* the run stopped on *interrupt */
    /* Saves the model's current weights with its config, atomically. */
    void *saver;
    int (*save)(void *saver, const char *path, dl_err *err);
    int ncallbacks;
    callback *callbacks;
    /* for the TensorBoard callback: the run's hyperparameters (HParams),
     * the resolved config and the Keras-style model JSON (may be NULL) */
    const tb_hparam *hparams;
    int nhparams;
    const char *config_text;
    const char *model_json;
    train_logs last;            /* logs of the last finished epoch */
    int epochs_run;
} fit_ctx;

/* Runs epochs [0, f->epochs) or until a callback stops training. */
int fit_run(fit_ctx *f, dl_err *err);

#endif
