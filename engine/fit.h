/* fit.h: Keras's fit(): epochs of training, validation at each epoch's
 * end, callbacks at the usual points, stop requests honoured. */
#ifndef FIT_FIT_H
#define FIT_FIT_H

#include "engine/ckpt.h"
#include "engine/tb_writer.h"
#include "engine/train.h"

#include <signal.h>
#include <stdio.h>

typedef struct callback callback;
typedef struct fit_ctx fit_ctx;

struct fit_ctx {
    trainer *t;
    batch_source *train;
    batch_source *val;          /* NULL: no validation */
    int epochs;
    int epoch;                  /* 0-based, current */
    int batch;                  /* batches done in the current epoch */
    int start_epoch, start_batch; /* where a resumed run continues */
    int resumed;                /* continuing from a checkpoint */
    const ckpt *resume_state;   /* the checkpoint's state, for the callbacks */
    const char *run_dir;        /* relative callback paths resolve here */
    FILE *msg;                  /* callback messages (stderr) */
    int stop_training;          /* set by callbacks */
    int nan_stopped;            /* a non-finite loss stopped the run */
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
    /* Called after each epoch (once its callbacks ran) and when
     * interrupted; writes a checkpoint of the run (NULL: none). */
    void *checkpointer;
    int (*checkpoint)(void *checkpointer, fit_ctx *f, dl_err *err);
    char nonfinite[512];        /* set when a batch's loss was not finite:
                                   which batch and where it went non-finite */
    train_logs last;            /* logs of the last finished epoch */
    int epochs_run;
};

/* Runs epochs [start_epoch, epochs) (the first from start_batch) or until
 * a callback, a non-finite loss or an interrupt stops training. */
int fit_run(fit_ctx *f, dl_err *err);

/* The resumable state of the run (optimizer, trainer, position,
 * callbacks) into k, and back. */
int fit_save_state(const fit_ctx *f, ckpt *k);
int fit_load_state(fit_ctx *f, const ckpt *k, dl_err *err);

#endif
