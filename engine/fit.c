/* fit.c: the epoch loop. Order as Keras 3: the progress line of an epoch is
 * printed before the callbacks' epoch-end messages (the progress bar is the
 * first callback there). */
#include "engine/fit.h"

#include "engine/callbacks.h"

#define EACH_CALLBACK(f, hook, ...)                                                              \
    do {                                                                                         \
        for (int c_ = 0; c_ < (f)->ncallbacks; c_++) {                                           \
            callback *cb_ = &(f)->callbacks[c_];                                                 \
            if (cb_->kind->hook && cb_->kind->hook(cb_, (f), __VA_ARGS__))                       \
                return DL_ERR;                                                                   \
        }                                                                                        \
    } while (0)

static int train_one_epoch(fit_ctx *f, dl_err *err)
{
    trainer *t = f->t;
    const train_observer *obs = t->obs;
    if (obs && obs->epoch_begin)
        obs->epoch_begin(obs->user, f->epoch, f->epochs, f->train->steps);
    trainer_begin_pass(t);
    f->train->begin_epoch(f->train->ctx, f->epoch);
    size_t step = 0;
    for (int rows; !f->stop_training && (rows = f->train->next(f->train->ctx, t->x_host,
                                                                 t->y_host)) > 0;) {
        double loss = trainer_train_batch(t, rows);
        step++;
        if (obs && obs->batch_end)
            obs->batch_end(obs->user, step, t);
        EACH_CALLBACK(f, batch_end, step - 1, loss, err);
        if (f->interrupt && *f->interrupt)
            f->interrupted = f->stop_training = 1;
    }
    return DL_OK;
}

int fit_run(fit_ctx *f, dl_err *err)
{
    trainer *t = f->t;
    const train_observer *obs = t->obs;
    f->stop_training = 0;
    f->epochs_run = 0;
    EACH_CALLBACK(f, train_begin, err);
    for (f->epoch = 0; f->epoch < f->epochs && !f->stop_training; f->epoch++) {
        EACH_CALLBACK(f, epoch_begin, err);
        if (train_one_epoch(f, err))
            return DL_ERR;
        if (f->interrupted)
            break;
        train_logs logs;
        logs_clear(&logs);
        trainer_pass_logs(t, "", &logs);
        if (f->val && !f->nan_stopped) {
            /* validation draws no bar of its own, as in Keras */
            t->obs = NULL;
            trainer_evaluate(t, f->val, "val_", &logs);
            t->obs = obs;
        }
        if (obs && obs->epoch_end)
            obs->epoch_end(obs->user, f->epoch, &logs);
        EACH_CALLBACK(f, epoch_end, &logs, err);
        f->last = logs;
        f->epochs_run++;
    }
    EACH_CALLBACK(f, train_end, err);
    return DL_OK;
}
