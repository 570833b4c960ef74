/* fit.c: the epoch loop. Order as Keras 3: the progress line of an epoch is
 * printed before the callbacks' epoch-end messages (the progress bar is the
 * first callback there). A non-finite loss stops the run before the bad
 * update is applied; an interrupt stops it after the current batch with a
 * checkpoint that continues exactly there. */
#include "engine/fit.h"

#include "engine/callbacks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
    int resuming = f->epoch == f->start_epoch && f->start_batch > 0;
    if (obs && obs->epoch_begin)
        obs->epoch_begin(obs->user, f->epoch, f->epochs, f->train->steps);
    /* a resumed epoch keeps the running loss and metrics restored with it */
    if (!resuming)
        trainer_begin_pass(t);
    f->train->begin_epoch(f->train->ctx, f->epoch);
    f->batch = resuming ? f->start_batch : 0;
    if (resuming)
        f->train->seek(f->train->ctx, (size_t)f->start_batch);
    for (int rows; !f->stop_training && (rows = f->train->next(f->train->ctx, t->x_host,
                                                                 t->y_host)) > 0;) {
        double loss = trainer_train_batch(t, rows);
        if (!isfinite(loss) && trainer_device_status(t, err))
            return DL_ERR;
        f->batch++;
        if (obs && obs->batch_end)
            obs->batch_end(obs->user, (size_t)f->batch, t);
        EACH_CALLBACK(f, batch_end, (size_t)f->batch - 1, loss, err);
        if (!isfinite(loss)) {
            char where[400];
            trainer_find_nonfinite(t, where, sizeof where);
            snprintf(f->nonfinite, sizeof f->nonfinite, "epoch %d, batch %d: the loss is %s; %s",
                     f->epoch + 1, f->batch, isnan(loss) ? "NaN" : loss > 0 ? "inf" : "-inf",
                     where);
            f->nan_stopped = f->stop_training = 1;
        } else if (f->interrupt && *f->interrupt) {
            f->interrupted = f->stop_training = 1;
        }
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
    for (int i = 0; f->resume_state && i < f->ncallbacks; i++) {
        callback *c = &f->callbacks[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "callback.%d.%s.", i, c->kind->base.name);
        if (c->kind->load_state && c->kind->load_state(c, f->resume_state, prefix, err))
            return DL_ERR;
    }
    for (f->epoch = f->start_epoch; f->epoch < f->epochs && !f->stop_training; f->epoch++) {
        EACH_CALLBACK(f, epoch_begin, err);
        /* the device has finished the epoch's last update before anything
         * is evaluated or saved */
        if (train_one_epoch(f, err) || trainer_device_status(t, err))
            return DL_ERR;
        if (f->nan_stopped)
            break;
        if (f->interrupted) {
            if (f->checkpoint && f->checkpoint(f->checkpointer, f, err))
                return DL_ERR;
            break;
        }
        train_logs logs;
        logs_clear(&logs);
        trainer_pass_logs(t, "", &logs);
        if (f->val) {
            /* validation draws no bar of its own, as in Keras */
            t->obs = NULL;
            int rc = trainer_evaluate(t, f->val, "val_", &logs);
            t->obs = obs;
            if (rc)
                return trainer_device_status(t, err);
        }
        if (obs && obs->epoch_end)
            obs->epoch_end(obs->user, f->epoch, &logs);
        EACH_CALLBACK(f, epoch_end, &logs, err);
        f->last = logs;
        f->epochs_run++;
        if (f->checkpoint && f->checkpoint(f->checkpointer, f, err))
            return DL_ERR;
    }
    EACH_CALLBACK(f, train_end, err);
    return DL_OK;
}

/* ---- resumable state ---- */

static int put_indexed(ckpt *k, const char *prefix, int i, int j, double value)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%d.%d", prefix, i, j);
    return ckpt_put_number(k, name, value);
}

int fit_save_state(const fit_ctx *f, ckpt *k)
{
    const trainer *t = f->t;
    const optimizer *o = &t->opt;
    /* an interrupted epoch continues at its next batch, a finished one at
     * the next epoch */
    int rc = ckpt_put_number(k, "fit.epoch", f->interrupted ? f->epoch : f->epoch + 1) |
             ckpt_put_number(k, "fit.batch", f->interrupted ? f->batch : 0) |
             ckpt_put_number(k, "optimizer.iterations", (double)o->iterations) |
             ckpt_put_number(k, "optimizer.nadam_u_product", o->nadam_u_product) |
             ckpt_put_number(k, "optimizer.lr_override", o->lr_override) |
             ckpt_put_number(k, "trainer.step", (double)t->step) |
             ckpt_put_number(k, "trainer.loss_sum", t->loss_sum) |
             ckpt_put_number(k, "trainer.seen", (double)t->seen);
    for (int i = 0; i < t->nmetrics; i++)
        for (int j = 0; j < t->metrics[i].nacc; j++)
            rc |= put_indexed(k, "trainer.metric", i, j, t->metrics[i].acc[j]);
    size_t nslots = (size_t)o->nslots * o->nweights;
    float *slots = malloc((nslots ? nslots : 1) * sizeof(float));
    if (!slots)
        return DL_ERR;
    o->be->download(o->be, slots, o->slots, nslots);
    rc |= ckpt_put_floats(k, "optimizer.slots", slots, nslots);
    free(slots);
    for (int i = 0; i < f->ncallbacks; i++) {
        const callback *c = &f->callbacks[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "callback.%d.%s.", i, c->kind->base.name);
        if (c->kind->save_state)
            rc |= c->kind->save_state(c, k, prefix);
    }
    return rc ? DL_ERR : DL_OK;
}

static int get_count(const ckpt *k, const char *name, int64_t *out, dl_err *err)
{
    double v;
    if (ckpt_get_number(k, name, &v, err))
        return DL_ERR;
    if (!(v >= 0 && v < 9007199254740992.0 && v == floor(v)))
        return dl_fail(err, DL_EXIT_FAIL, "checkpoint state '%s' = %g is not a count", name, v);
    *out = (int64_t)v;
    return DL_OK;
}

/* The position, optimizer and trainer; callbacks follow in fit_run. */
int fit_load_state(fit_ctx *f, const ckpt *k, dl_err *err)
{
    trainer *t = f->t;
    optimizer *o = &t->opt;
    int64_t epoch = 0, batch = 0, iterations = 0, step = 0, seen = 0;
    if (get_count(k, "fit.epoch", &epoch, err) || get_count(k, "fit.batch", &batch, err) ||
        get_count(k, "optimizer.iterations", &iterations, err) ||
        get_count(k, "trainer.step", &step, err) || get_count(k, "trainer.seen", &seen, err) ||
        ckpt_get_number(k, "optimizer.nadam_u_product", &o->nadam_u_product, err) ||
        ckpt_get_number(k, "optimizer.lr_override", &o->lr_override, err) ||
        ckpt_get_number(k, "trainer.loss_sum", &t->loss_sum, err))
        return DL_ERR;
    if (epoch > f->epochs || batch > (int64_t)f->train->steps)
        return dl_fail(err, DL_EXIT_USAGE,
                       "the checkpoint is at epoch %lld, batch %lld, past this config's %d "
                       "epochs of %zu batches; raise fit.epochs to continue",
                       (long long)epoch + 1, (long long)batch, f->epochs, f->train->steps);
    f->start_epoch = (int)epoch;
    f->start_batch = (int)batch;
    o->iterations = iterations;
    t->step = step;
    t->seen = (size_t)seen;
    for (int i = 0; i < t->nmetrics; i++)
        for (int j = 0; j < t->metrics[i].nacc; j++) {
            char name[96];
            snprintf(name, sizeof name, "trainer.metric.%d.%d", i, j);
            if (ckpt_get_number(k, name, &t->metrics[i].acc[j], err))
                return DL_ERR;
        }
    size_t nslots = (size_t)o->nslots * o->nweights;
    float *slots = malloc((nslots ? nslots : 1) * sizeof(float));
    if (!slots)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    int rc = ckpt_get_floats(k, "optimizer.slots", slots, nslots, err);
    if (rc == DL_OK)
        o->be->upload(o->be, o->slots, slots, nslots);
    free(slots);
    f->resumed = 1;
    return rc;
}
