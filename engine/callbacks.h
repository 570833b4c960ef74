/* callbacks.h: Keras callbacks with Keras defaults and messages:
 * EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler,
 * CSVLogger, TerminateOnNaN, TensorBoard. */
#ifndef CB_CALLBACKS_H
#define CB_CALLBACKS_H

#include "engine/ckpt.h"
#include "engine/fit.h"

extern const dl_family cb_family;

/* Each hook may be NULL; a hook that fails (I/O) returns DL_ERR. */
typedef struct cb_kind {
    dl_kind base;
    size_t state_size;
    int (*train_begin)(callback *c, fit_ctx *f, dl_err *err);
    int (*epoch_begin)(callback *c, fit_ctx *f, dl_err *err);
    int (*batch_end)(callback *c, fit_ctx *f, size_t batch, double loss, dl_err *err);
    int (*epoch_end)(callback *c, fit_ctx *f, train_logs *logs, dl_err *err);
    int (*train_end)(callback *c, fit_ctx *f, dl_err *err);
    void (*release)(callback *c);
    /* What a resumed run needs (best values, patience counters, ...),
     * under names starting with prefix; called after train_begin. */
    int (*save_state)(const callback *c, ckpt *k, const char *prefix);
    int (*load_state)(callback *c, const ckpt *k, const char *prefix, dl_err *err);
} cb_kind;

struct callback {
    const cb_kind *kind;
    const void *args;
    void *state;                /* [kind->state_size] */
};

/* Instances for a configured list (fit.callbacks), plus a TensorBoard
 * instance with default arguments when the list has none. */
int cb_create(const dl_kind_list *list, callback **out, int *n, dl_err *err);
void cb_free(callback *cbs, int n);

/* "val_loss" -> minimise, "accuracy"/"auc"/... -> maximise (mode auto). */
int cb_mode_is_max(int mode, const char *monitor);

/* Resolves a callback path relative to the run directory into buf. */
const char *cb_path(const fit_ctx *f, const char *path, char *buf, size_t n);

#endif
