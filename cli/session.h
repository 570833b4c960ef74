/* session.h: what every command assembles from a config: the backend, the
 * model, the compiled trainer and the data, each step checked against the
 * others (data shape vs input_shape, labels vs the model's classes). */
#ifndef CLI_SESSION_H
#define CLI_SESSION_H

#include "configs/config.h"
#include "datasets/dataset.h"
#include "engine/train.h"

/* A dataset split (or all of it) behind the engine's batch_source. */
typedef struct data_feed {
    ds_dataset *ds;
    ds_batcher batcher;
    batch_source src;
} data_feed;

typedef struct session {
    dl_config cfg;
    int have_cfg;
    dl_backend *be;
    model m;
    trainer t;
    int compiled;
    ds_dataset train_ds, val_ds, test_ds;
    data_feed train, val, test;
    int has_val, has_test;
} session;

/* Loads a config with overrides into s->cfg. */
int session_load_config(session *s, const char *path, const char *const *overrides, int n,
                        dl_err *err);
/* Creates the backend for cfg.device (threads <= 0: OpenBLAS default). */
int session_backend(session *s, int threads, int verbose, dl_err *err);
/* A one-thread CPU backend whatever cfg.device says: for commands that only
 * need shapes (check, summary, sweep validation). */
int session_shape_backend(session *s, dl_err *err);
/* Builds the model (and draws initial weights when init is set). */
int session_model(session *s, int init, dl_err *err);
/* Plans loss and metrics, allocates batch buffers. */
int session_compile(session *s, dl_err *err);
/* Loads train (+ validation split or source) for fit. */
int session_train_data(session *s, dl_err *err);
/* Loads a source (the test data) for evaluation; which names it in
 * messages ("data.test"). */
int session_eval_data(session *s, const dl_kind_ref *source, const char *which, dl_err *err);
void session_close(session *s);

/* Keras class names of the model's output classes, if configured. */
const char *session_class_name(const session *s, int k);

#endif
