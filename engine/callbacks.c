/* callbacks.c: the callback family, instance lifetime, and the callbacks
 * that steer training: EarlyStopping, ReduceLROnPlateau,
 * LearningRateScheduler, TerminateOnNaN. Logic and messages follow Keras 3. */
#include "engine/callbacks.h"

#include "engine/schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const cb_kind cb_model_checkpoint, cb_csv_logger, cb_tensorboard;
const void *cb_tensorboard_default_args(void);

static const char *const mode_names[] = {"auto", "min", "max", NULL};
enum { MODE_AUTO, MODE_MIN, MODE_MAX };

int cb_mode_is_max(int mode, const char *monitor)
{
    if (mode != MODE_AUTO)
        return mode == MODE_MAX;
    static const char *const higher_is_better[] = {"acc", "auc", "precision", "recall", NULL};
    for (int i = 0; higher_is_better[i]; i++)
        if (strstr(monitor, higher_is_better[i]))
            return 1;
    return 0;
}

const char *cb_path(const fit_ctx *f, const char *path, char *buf, size_t n)
{
    if (path[0] == '/' || !f->run_dir)
        snprintf(buf, n, "%s", path);
    else
        snprintf(buf, n, "%s/%s", f->run_dir, path);
    return buf;
}

/* The monitored value, or a one-time warning listing what is available. */
static int monitored(fit_ctx *f, const char *who, const char *monitor, const train_logs *logs,
                     int *warned, double *value)
{
    if (logs_get(logs, monitor, value) == DL_OK)
        return 1;
    if (!*warned) {
        fprintf(f->msg, "%s conditioned on metric `%s` which is not available. Available "
                        "metrics are:", who, monitor);
        for (int i = 0; i < logs->n; i++)
            fprintf(f->msg, "%s%s", i ? "," : " ", logs->keys[i]);
        fputc('\n', f->msg);
        *warned = 1;
    }
    return 0;
}

/* ---- EarlyStopping ---- */

typedef struct early_args {
    char *monitor;
    double min_delta;
    int patience, verbose, mode;
    double baseline;            /* NAN: none */
    int restore_best_weights, start_from_epoch;
} early_args;

typedef struct early_state {
    int wait, stopped_epoch, best_epoch, warned, maximize;
    double best;
    size_t nweights;
    float *best_weights;        /* host [nweights], NULL until the first epoch */
} early_state;

static const dl_arg early_table[] = {
    {"monitor", DL_ARG_STRING, offsetof(early_args, monitor), "val_loss", 0, 0, 0, NULL, 0, NULL,
     NULL},
    {"min_delta", DL_ARG_FLOAT, offsetof(early_args, min_delta), "0.0", 0, 1e30, 0, NULL, 0, NULL,
     NULL},
    {"patience", DL_ARG_INT, offsetof(early_args, patience), "0", 0, 1e9, 0, NULL, 0, NULL, NULL},
    {"verbose", DL_ARG_INT, offsetof(early_args, verbose), "0", 0, 2, 0, NULL, 0, NULL, NULL},
    {"mode", DL_ARG_ENUM, offsetof(early_args, mode), "auto", 0, 0, 0, mode_names, 0, NULL, NULL},
    {"baseline", DL_ARG_FLOAT, offsetof(early_args, baseline), "null", 0, 0, DL_ARG_NULLABLE,
     NULL, 0, NULL, NULL},
    {"restore_best_weights", DL_ARG_BOOL, offsetof(early_args, restore_best_weights), "false", 0,
     0, 0, NULL, 0, NULL, NULL},
    {"start_from_epoch", DL_ARG_INT, offsetof(early_args, start_from_epoch), "0", 0, 1e9, 0, NULL,
     0, NULL, NULL},
    {0},
};

static int improved(int maximize, double value, double min_delta, double reference)
{
    return maximize ? value - min_delta > reference : value + min_delta < reference;
}

static int early_train_begin(callback *c, fit_ctx *f, dl_err *err)
{
    const early_args *a = c->args;
    early_state *s = c->state;
    s->maximize = cb_mode_is_max(a->mode, a->monitor);
    s->best = s->maximize ? -INFINITY : INFINITY;
    s->wait = s->stopped_epoch = s->best_epoch = 0;
    s->nweights = f->t->m->nweights;
    free(s->best_weights);
    s->best_weights = NULL;
    (void)err;
    return DL_OK;
}

static int snapshot(float **dst, const model *m, dl_err *err)
{
    if (!*dst && !(*dst = malloc(m->nweights * sizeof(float))))
        return dl_fail(err, DL_EXIT_FAIL, "out of memory for restore_best_weights");
    model_get_weights(m, *dst);
    return DL_OK;
}

static int early_epoch_end(callback *c, fit_ctx *f, train_logs *logs, dl_err *err)
{
    const early_args *a = c->args;
    early_state *s = c->state;
    double current;
    if (!monitored(f, "Early stopping", a->monitor, logs, &s->warned, &current) ||
        f->epoch < a->start_from_epoch)
        return DL_OK;
    if (a->restore_best_weights && !s->best_weights && snapshot(&s->best_weights, f->t->m, err))
        return DL_ERR;
    s->wait++;
    if (improved(s->maximize, current, a->min_delta, s->best)) {
        s->best = current;
        s->best_epoch = f->epoch;
        if (a->restore_best_weights && snapshot(&s->best_weights, f->t->m, err))
            return DL_ERR;
        if (isnan(a->baseline) || improved(s->maximize, current, a->min_delta, a->baseline)) {
            s->wait = 0;
            return DL_OK;
        }
    }
    if (s->wait >= a->patience && f->epoch > 0) {
        s->stopped_epoch = f->epoch;
        f->stop_training = 1;
    }
    return DL_OK;
}

static int early_train_end(callback *c, fit_ctx *f, dl_err *err)
{
    const early_args *a = c->args;
    early_state *s = c->state;
    if (f->interrupted)
        return DL_OK; /* the checkpoint holds the current weights; keep them */
    if (s->stopped_epoch > 0 && a->verbose > 0)
        fprintf(f->msg, "Epoch %d: early stopping\n", s->stopped_epoch + 1);
    if (a->restore_best_weights && s->best_weights) {
        if (a->verbose > 0)
            fprintf(f->msg, "Restoring model weights from the end of the best epoch: %d.\n",
                    s->best_epoch + 1);
        model_set_weights(f->t->m, s->best_weights);
    }
    (void)err;
    return DL_OK;
}

static void early_release(callback *c)
{
    early_state *s = c->state;
    free(s->best_weights);
}

/* name = prefix + field */
static const char *field(char *buf, size_t n, const char *prefix, const char *name)
{
    snprintf(buf, n, "%s%s", prefix, name);
    return buf;
}

static int early_save(const callback *c, ckpt *k, const char *prefix)
{
    const early_state *s = c->state;
    char n[160];
    int rc = ckpt_put_number(k, field(n, sizeof n, prefix, "wait"), s->wait) |
             ckpt_put_number(k, field(n, sizeof n, prefix, "stopped_epoch"), s->stopped_epoch) |
             ckpt_put_number(k, field(n, sizeof n, prefix, "best_epoch"), s->best_epoch) |
             ckpt_put_number(k, field(n, sizeof n, prefix, "best"), s->best) |
             ckpt_put_number(k, field(n, sizeof n, prefix, "has_best_weights"),
                             s->best_weights != NULL);
    if (s->best_weights)
        rc |= ckpt_put_floats(k, field(n, sizeof n, prefix, "best_weights"), s->best_weights,
                              s->nweights);
    return rc ? DL_ERR : DL_OK;
}

static int early_load(callback *c, const ckpt *k, const char *prefix, dl_err *err)
{
    early_state *s = c->state;
    char n[160];
    double wait, stopped, best_epoch, has_weights;
    if (ckpt_get_number(k, field(n, sizeof n, prefix, "wait"), &wait, err) ||
        ckpt_get_number(k, field(n, sizeof n, prefix, "stopped_epoch"), &stopped, err) ||
        ckpt_get_number(k, field(n, sizeof n, prefix, "best_epoch"), &best_epoch, err) ||
        ckpt_get_number(k, field(n, sizeof n, prefix, "best"), &s->best, err) ||
        ckpt_get_number(k, field(n, sizeof n, prefix, "has_best_weights"), &has_weights, err))
        return DL_ERR;
    s->wait = (int)wait;
    s->stopped_epoch = (int)stopped;
    s->best_epoch = (int)best_epoch;
    if (!has_weights)
        return DL_OK;
    if (!s->best_weights && !(s->best_weights = malloc(s->nweights * sizeof(float))))
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    return ckpt_get_floats(k, field(n, sizeof n, prefix, "best_weights"), s->best_weights,
                           s->nweights, err);
}

static const cb_kind cb_early_stopping = {
    .base = {"EarlyStopping", NULL, NULL, early_table, sizeof(early_args), NULL},
    .state_size = sizeof(early_state),
    .train_begin = early_train_begin,
    .epoch_end = early_epoch_end,
    .train_end = early_train_end,
    .release = early_release,
    .save_state = early_save,
    .load_state = early_load,
};

/* ---- ReduceLROnPlateau ---- */

typedef struct plateau_args {
    char *monitor;
    double factor;
    int patience, verbose, mode;
    double min_delta;
    int cooldown;
    double min_lr;
} plateau_args;

typedef struct plateau_state {
    int wait, cooldown_counter, warned, maximize;
    double best;
} plateau_state;

static const dl_arg plateau_table[] = {
    {"monitor", DL_ARG_STRING, offsetof(plateau_args, monitor), "val_loss", 0, 0, 0, NULL, 0,
     NULL, NULL},
    {"factor", DL_ARG_FLOAT, offsetof(plateau_args, factor), "0.1", 0, 1, DL_ARG_MAX_OPEN, NULL,
     0, NULL, NULL},
    {"patience", DL_ARG_INT, offsetof(plateau_args, patience), "10", 0, 1e9, 0, NULL, 0, NULL,
     NULL},
    {"verbose", DL_ARG_INT, offsetof(plateau_args, verbose), "0", 0, 2, 0, NULL, 0, NULL, NULL},
    {"mode", DL_ARG_ENUM, offsetof(plateau_args, mode), "auto", 0, 0, 0, mode_names, 0, NULL,
     NULL},
    {"min_delta", DL_ARG_FLOAT, offsetof(plateau_args, min_delta), "0.0001", 0, 1e30, 0, NULL, 0,
     NULL, NULL},
    {"cooldown", DL_ARG_INT, offsetof(plateau_args, cooldown), "0", 0, 1e9, 0, NULL, 0, NULL,
     NULL},
    {"min_lr", DL_ARG_FLOAT, offsetof(plateau_args, min_lr), "0.0", 0, 1e30, 0, NULL, 0, NULL,
     NULL},
    {0},
};

static int plateau_train_begin(callback *c, fit_ctx *f, dl_err *err)
{
    const plateau_args *a = c->args;
    plateau_state *s = c->state;
    if (!sched_is_constant(&f->t->opt.args->learning_rate))
        return dl_fail(err, DL_EXIT_USAGE,
                       "ReduceLROnPlateau needs a constant learning rate, the optimizer has a "
                       "schedule");
    s->maximize = cb_mode_is_max(a->mode, a->monitor);
    s->best = s->maximize ? -INFINITY : INFINITY;
    s->wait = s->cooldown_counter = 0;
    return DL_OK;
}

static int plateau_epoch_end(callback *c, fit_ctx *f, train_logs *logs, dl_err *err)
{
    const plateau_args *a = c->args;
    plateau_state *s = c->state;
    optimizer *opt = &f->t->opt;
    double current, lr = optim_learning_rate(opt);
    logs_set(logs, "learning_rate", lr);
    if (!monitored(f, "Learning rate reduction", a->monitor, logs, &s->warned, &current))
        return DL_OK;
    if (s->cooldown_counter > 0) {
        s->cooldown_counter--;
        s->wait = 0;
    }
    if (improved(s->maximize, current, a->min_delta, s->best)) {
        s->best = current;
        s->wait = 0;
    } else if (s->cooldown_counter <= 0 && ++s->wait >= a->patience) {
        if (lr > a->min_lr) {
            /* the optimizer keeps its learning rate in float32, as Keras does */
            double new_lr = (float)fmax(lr * a->factor, a->min_lr);
            opt->lr_override = new_lr;
            if (a->verbose > 0)
                fprintf(f->msg, "\nEpoch %d: ReduceLROnPlateau reducing learning rate to %.8g.\n",
                        f->epoch + 1, new_lr);
            s->cooldown_counter = a->cooldown;
            s->wait = 0;
        }
    }
    (void)err;
    return DL_OK;
}

static int plateau_save(const callback *c, ckpt *k, const char *prefix)
{
    const plateau_state *s = c->state;
    char n[160];
    int rc = ckpt_put_number(k, field(n, sizeof n, prefix, "wait"), s->wait) |
             ckpt_put_number(k, field(n, sizeof n, prefix, "cooldown_counter"),
                             s->cooldown_counter) |
             ckpt_put_number(k, field(n, sizeof n, prefix, "best"), s->best);
    return rc ? DL_ERR : DL_OK;
}

static int plateau_load(callback *c, const ckpt *k, const char *prefix, dl_err *err)
{
    plateau_state *s = c->state;
    char n[160];
    double wait, cooldown;
    if (ckpt_get_number(k, field(n, sizeof n, prefix, "wait"), &wait, err) ||
        ckpt_get_number(k, field(n, sizeof n, prefix, "cooldown_counter"), &cooldown, err) ||
        ckpt_get_number(k, field(n, sizeof n, prefix, "best"), &s->best, err))
        return DL_ERR;
    s->wait = (int)wait;
    s->cooldown_counter = (int)cooldown;
    return DL_OK;
}

static const cb_kind cb_reduce_lr = {
    .base = {"ReduceLROnPlateau", NULL, NULL, plateau_table, sizeof(plateau_args), NULL},
    .state_size = sizeof(plateau_state),
    .train_begin = plateau_train_begin,
    .epoch_end = plateau_epoch_end,
    .save_state = plateau_save,
    .load_state = plateau_load,
};

/* ---- LearningRateScheduler: a schedule evaluated on the epoch index ---- */

typedef struct lr_sched_args {
    dl_kind_ref schedule;
    int verbose;
} lr_sched_args;

static const dl_arg lr_sched_table[] = {
    {"schedule", DL_ARG_KIND, offsetof(lr_sched_args, schedule), NULL, 0, 0, 0, NULL, 0,
     &sched_family, NULL},
    {"verbose", DL_ARG_INT, offsetof(lr_sched_args, verbose), "0", 0, 2, 0, NULL, 0, NULL, NULL},
    {0},
};

static int lr_sched_epoch_begin(callback *c, fit_ctx *f, dl_err *err)
{
    const lr_sched_args *a = c->args;
    double lr = (float)sched_value(&a->schedule, f->epoch);
    if (!(lr > 0) || !isfinite(lr))
        return dl_fail(err, DL_EXIT_USAGE,
                       "LearningRateScheduler: the schedule gives learning rate %g at epoch %d",
                       lr, f->epoch + 1);
    f->t->opt.lr_override = lr;
    if (a->verbose > 0)
        fprintf(f->msg, "\nEpoch %d: LearningRateScheduler setting learning rate to %.8g.\n",
                f->epoch + 1, lr);
    return DL_OK;
}

static int lr_sched_epoch_end(callback *c, fit_ctx *f, train_logs *logs, dl_err *err)
{
    logs_set(logs, "learning_rate", optim_learning_rate(&f->t->opt));
    (void)c;
    (void)err;
    return DL_OK;
}

static const cb_kind cb_lr_scheduler = {
    .base = {"LearningRateScheduler", NULL, NULL, lr_sched_table, sizeof(lr_sched_args), NULL},
    .epoch_begin = lr_sched_epoch_begin,
    .epoch_end = lr_sched_epoch_end,
};

/* ---- TerminateOnNaN: Keras's message; stopping on a non-finite loss is
 * what every fit does (fit.c) ---- */

static const dl_arg no_args[] = {{0}};

static int nan_batch_end(callback *c, fit_ctx *f, size_t batch, double loss, dl_err *err)
{
    if (!isfinite(loss)) {
        fprintf(f->msg, "Batch %zu: Invalid loss, terminating training\n", batch);
    }
    (void)c;
    (void)err;
    return DL_OK;
}

static const cb_kind cb_terminate_on_nan = {
    .base = {"TerminateOnNaN", NULL, NULL, no_args, 0, NULL},
    .batch_end = nan_batch_end,
};

/* ---- the family ---- */

static const dl_kind *const cb_kinds[] = {
    &cb_early_stopping.base, &cb_model_checkpoint.base,   &cb_reduce_lr.base,
    &cb_lr_scheduler.base,   &cb_csv_logger.base,         &cb_terminate_on_nan.base,
    &cb_tensorboard.base,
};

const dl_family cb_family = {"callback", cb_kinds, 7, NULL, NULL};

static int cb_init(callback *c, const cb_kind *kind, const void *args, dl_err *err)
{
    c->state = calloc(1, kind->state_size ? kind->state_size : 1);
    if (!c->state)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    c->kind = kind;
    c->args = args;
    return DL_OK;
}

int cb_create(const dl_kind_list *list, callback **out, int *n, dl_err *err)
{
    int has_tensorboard = 0;
    *n = 0;
    *out = calloc((size_t)list->n + 1, sizeof **out);
    if (!*out)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (int i = 0; i < list->n; i++) {
        /* base is the first member of cb_kind */
        const cb_kind *kind = (const cb_kind *)list->v[i].kind;
        if (cb_init(&(*out)[i], kind, list->v[i].args, err))
            return DL_ERR;
        has_tensorboard |= kind == &cb_tensorboard;
        *n = i + 1;
    }
    if (!has_tensorboard) {
        if (cb_init(&(*out)[*n], &cb_tensorboard, cb_tensorboard_default_args(), err))
            return DL_ERR;
        (*n)++;
    }
    return DL_OK;
}

void cb_free(callback *cbs, int n)
{
    for (int i = 0; i < n; i++) {
        if (cbs[i].kind->release)
            cbs[i].kind->release(&cbs[i]);
        free(cbs[i].state);
    }
    free(cbs);
}
