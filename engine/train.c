/* train.c: compile, one training or evaluation batch, passes and logs. */
#include "engine/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void logs_clear(train_logs *l)
{
    l->n = 0;
}

/* Keras 3 order: plain keys sorted, then val_ keys sorted. */
static int key_before(const char *a, const char *b)
{
    int va = !strncmp(a, "val_", 4), vb = !strncmp(b, "val_", 4);
    return va != vb ? va < vb : strcmp(a, b) < 0;
}

void logs_set(train_logs *l, const char *key, double value)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->keys[i], key)) {
            l->values[i] = value;
            return;
        }
    if (l->n == TRAIN_MAX_LOGS)
        return;
    int at = l->n;
    while (at > 0 && key_before(key, l->keys[at - 1])) {
        memcpy(l->keys[at], l->keys[at - 1], sizeof l->keys[at]);
        l->values[at] = l->values[at - 1];
        at--;
    }
    snprintf(l->keys[at], sizeof l->keys[at], "%s", key);
    l->values[at] = value;
    l->n++;
}

int logs_get(const train_logs *l, const char *key, double *value)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->keys[i], key)) {
            *value = l->values[i];
            return DL_OK;
        }
    return DL_ERR;
}

int trainer_init(trainer *t, model *m, const dl_kind_ref *optimizer, const dl_kind_ref *loss,
                 const dl_kind_list *metrics, int batch_cap, dl_err *err)
{
    memset(t, 0, sizeof *t);
    t->m = m;
    t->be = m->be;
    const dl_shape *out = model_output_shape(m);
    ly_layer *last = model_last(m);
    int out_cols = out->dim[out->ndim - 1];
    int out_act = last->kind->output_activation ? last->kind->output_activation(last)
                                                : DL_ACT_LINEAR;
    if (loss_plan_for(loss, out_cols, out_act, &t->loss, err)) {
        dl_err_prefix(err, "%s: compile.loss", loss->where ? loss->where : "config");
        return DL_ERR;
    }
    if (t->loss.target == LOSS_TARGET_CLASS_ID && out->ndim != 1)
        return dl_fail(err, DL_EXIT_USAGE,
                       "%s: compile.loss: class targets need a flat output, the model ends "
                       "with %d axes; add Flatten before the last Dense",
                       loss->where ? loss->where : "config", out->ndim);
    last->fused_output = t->loss.fused;
    if (metrics->n > TRAIN_MAX_METRICS)
        return dl_fail(err, DL_EXIT_USAGE, "compile.metrics: at most %d metrics",
                       TRAIN_MAX_METRICS);
    for (int i = 0; i < metrics->n; i++) {
        if (metric_resolve(&metrics->v[i], &t->loss, out_cols, &t->metrics[i], err)) {
            dl_err_prefix(err, "%s: compile.metrics[%d]",
                          metrics->v[i].where ? metrics->v[i].where : "config", i);
            return DL_ERR;
        }
        t->nmetrics++;
    }
    t->target_cols = t->loss.target == LOSS_TARGET_CLASS_ID ? 1 : (int)dl_shape_size(out);
    t->batch_cap = batch_cap;
    size_t in = dl_shape_size(&m->input_shape), out_size = dl_shape_size(out);
    t->x_host = t->be->host_alloc(t->be, (size_t)batch_cap * in);
    t->y_host = t->be->host_alloc(t->be, (size_t)batch_cap * (size_t)t->target_cols);
    t->y_dev = t->be->alloc(t->be, (size_t)batch_cap * (size_t)t->target_cols);
    t->grad_dev = t->be->alloc(t->be, (size_t)batch_cap * out_size);
    if (!t->x_host || !t->y_host || !t->y_dev || !t->grad_dev)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory for batches of %d", batch_cap);
    if (model_reserve(m, batch_cap, err))
        return DL_ERR;
    if (optim_init(&t->opt, optimizer, t->be, m->nweights, err)) {
        dl_err_prefix(err, "%s: compile.optimizer", optimizer->where ? optimizer->where
                                                                      : "config");
        return DL_ERR;
    }
    return DL_OK;
}

void trainer_free(trainer *t)
{
    if (!t->be)
        return;
    optim_free(&t->opt);
    t->be->host_release(t->be, t->x_host);
    t->be->host_release(t->be, t->y_host);
    t->be->release(t->be, t->y_dev);
    t->be->release(t->be, t->grad_dev);
    memset(t, 0, sizeof *t);
}

void trainer_begin_pass(trainer *t)
{
    t->loss_sum = 0.0;
    t->seen = 0;
    for (int i = 0; i < t->nmetrics; i++)
        metric_reset(&t->metrics[i]);
}

/* Upload, forward, loss (gradient into grad_dev), metrics. */
static double forward_loss(trainer *t, int rows, const ly_ctx *ctx)
{
    model *m = t->m;
    dl_backend *be = t->be;
    const dl_shape *out = model_output_shape(m);
    int cols = out->dim[out->ndim - 1];
    int loss_rows = rows * (int)(dl_shape_size(out) / (size_t)cols);
    be->upload(be, m->acts[0], t->x_host, (size_t)rows * dl_shape_size(&m->input_shape));
    be->upload(be, t->y_dev, t->y_host, (size_t)rows * (size_t)t->target_cols);
    const float *y = model_forward(m, rows, ctx);
    ly_layer *last = model_last(m);
    const float *pred = t->loss.fused ? last->kind->preactivation(last, m->acts[m->nlayers - 1])
                                      : y;
    double loss = be->loss(be, &t->loss.desc, pred, t->y_dev, t->grad_dev, loss_rows, cols);
    for (int i = 0; i < t->nmetrics; i++)
        be->metric(be, &t->metrics[i].desc, y, t->y_dev, loss_rows, cols, t->metrics[i].acc);
    return loss;
}

int trainer_device_status(const trainer *t, dl_err *err)
{
    return t->be->status(t->be, err);
}

double trainer_train_batch(trainer *t, int rows)
{
    ly_ctx ctx = {1, t->step};
    double loss = forward_loss(t, rows, &ctx);
    t->last_rows = rows;
    /* the loss came back from the device: this step's forward and the last
     * step's updates have run, and any failure among them is latched */
    if (trainer_device_status(t, NULL))
        return NAN;
    if (!isfinite(loss))
        return loss;
    model_backward(t->m, t->grad_dev, rows);
    loss += model_regularize(t->m);
    optim_apply(&t->opt, t->m->vars, t->m->nvars);
    t->step++;
    t->loss_sum += loss * rows;
    t->seen += (size_t)rows;
    t->last_batch_loss = loss;
    return loss;
}

void trainer_find_nonfinite(const trainer *t, char *buf, size_t n)
{
    const model *m = t->m;
    int rows = t->last_rows;
    for (int i = 0; i < m->nlayers; i++) {
        const ly_layer *l = &m->layers[i];
        size_t bad = t->be->count_nonfinite(t->be, m->acts[i + 1],
                                            (size_t)rows * dl_shape_size(&l->out));
        if (bad) {
            snprintf(buf, n, "the output of layer %d, %s (%s), is the first to hold non-finite "
                             "values",
                     i, l->name, l->kind->base.name);
            return;
        }
    }
    snprintf(buf, n, "every layer's output is finite: the loss itself overflowed (check the "
                     "targets and the loss)");
}

double trainer_eval_batch(trainer *t, int rows)
{
    ly_ctx ctx = {0, t->step};
    double loss = forward_loss(t, rows, &ctx) + model_regularize(t->m);
    if (trainer_device_status(t, NULL))
        return NAN;
    t->loss_sum += loss * rows;
    t->seen += (size_t)rows;
    return loss;
}

void trainer_pass_logs(const trainer *t, const char *prefix, train_logs *logs)
{
    char key[80];
    snprintf(key, sizeof key, "%sloss", prefix);
    logs_set(logs, key, t->seen ? t->loss_sum / (double)t->seen : 0.0);
    for (int i = 0; i < t->nmetrics; i++) {
        snprintf(key, sizeof key, "%s%s", prefix, t->metrics[i].name);
        logs_set(logs, key, metric_result(&t->metrics[i]));
    }
}

int trainer_evaluate(trainer *t, batch_source *src, const char *prefix, train_logs *logs)
{
    const train_observer *obs = t->obs;
    trainer_begin_pass(t);
    src->begin_epoch(src->ctx, 0);
    if (obs && obs->eval_begin)
        obs->eval_begin(obs->user, src->steps);
    size_t step = 0;
    for (int rows; (rows = src->next(src->ctx, t->x_host, t->y_host)) > 0;) {
        if (!isfinite(trainer_eval_batch(t, rows)) && trainer_device_status(t, NULL))
            return DL_ERR;
        if (obs && obs->eval_batch_end)
            obs->eval_batch_end(obs->user, ++step, t);
    }
    trainer_pass_logs(t, prefix, logs);
    if (obs && obs->eval_end)
        obs->eval_end(obs->user, logs);
    return DL_OK;
}
