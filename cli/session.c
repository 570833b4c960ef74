/* session.c: assembling config, backend, model, trainer and data. */
#include "cli/session.h"

#include "engine/backend/gpu.h"
#include "layers/registry.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int session_load_config(session *s, const char *path, const char *const *overrides, int n,
                        dl_err *err)
{
    if (config_load(path, overrides, n, &s->cfg, err))
        return DL_ERR;
    s->have_cfg = 1;
    return DL_OK;
}

/* gpu: the CUDA backend or an error saying why not; auto: the CUDA
 * backend when it loads, the CPU otherwise (saying why when verbose). */
int session_backend(session *s, int threads, int verbose, dl_err *err)
{
    if (s->cfg.device != CFG_DEVICE_CPU) {
        dl_err why = {0};
        const char *device = s->cfg.device == CFG_DEVICE_GPU ? "gpu" : "auto";
        if ((s->be = be_gpu_create(&why))) {
            if (verbose > 1)
                fprintf(stderr, "device %s: training on %s\n", device, s->be->device);
            return DL_OK;
        }
        if (s->cfg.device == CFG_DEVICE_GPU)
            return dl_fail(err, DL_EXIT_FAIL, "device: gpu: %s", why.msg);
        if (verbose > 0)
            fprintf(stderr, "device auto: %s; training on the CPU\n", why.msg);
    }
    s->be = be_cpu_create(threads, err);
    return s->be ? DL_OK : DL_ERR;
}

int session_shape_backend(session *s, dl_err *err)
{
    s->be = be_cpu_create(1, err);
    return s->be ? DL_OK : DL_ERR;
}

int session_model(session *s, int init, dl_err *err)
{
    const cfg_model *spec = &s->cfg.model;
    if (model_build(&s->m, spec->name, &spec->input_shape, &spec->layers, s->be,
                    config_seed(&s->cfg), err))
        return DL_ERR;
    return init ? model_init_weights(&s->m, config_seed(&s->cfg), err) : DL_OK;
}

int session_compile(session *s, dl_err *err)
{
    const cfg_fit *fit = &s->cfg.fit;
    int cap = fit->validation_batch_size > fit->batch_size ? fit->validation_batch_size
                                                           : fit->batch_size;
    if (trainer_init(&s->t, &s->m, &s->cfg.compile.optimizer, &s->cfg.compile.loss,
                     &s->cfg.compile.metrics, cap, err))
        return DL_ERR;
    s->compiled = 1;
    return DL_OK;
}

/* The data must fit the model: sample size and targets. */
static int check_data(session *s, const ds_dataset *d, const char *which, const char *where,
                      dl_err *err)
{
    size_t want = dl_shape_size(&s->m.input_shape);
    if (d->sample_size != want) {
        char shape[96] = "[";
        for (int i = 0; i < s->m.input_shape.ndim; i++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%d", i ? ", " : "",
                     s->m.input_shape.dim[i]);
        return dl_fail(err, DL_EXIT_USAGE,
                       "%s: %s (%s): samples have %zu values, but model.input_shape %s] takes "
                       "%zu",
                       where, which, d->source, d->sample_size, shape, want);
    }
    const loss_plan *plan = &s->t.loss;
    const dl_shape *out = model_output_shape(&s->m);
    int classes = out->dim[out->ndim - 1];
    if (plan->target != LOSS_TARGET_VALUE)
        return ds_check_classes(d, classes, err);
    if (s->t.target_cols != 1)
        return dl_fail(err, DL_EXIT_USAGE,
                       "%s: %s: the model outputs %d values per sample, the data has one target",
                       where, which, s->t.target_cols);
    for (size_t i = 0; i < d->n; i++) {
        int bad = plan->desc.kind == DL_LOSS_BCE ? !(d->labels[i] >= 0 && d->labels[i] <= 1)
                                                 : !isfinite(d->labels[i]);
        if (bad) {
            char place[512];
            ds_where(d, i, place, sizeof place);
            return dl_fail(err, DL_EXIT_FAIL, "%s: target %g is %s", place, d->labels[i],
                           plan->desc.kind == DL_LOSS_BCE ? "outside [0, 1] for "
                                                            "binary_crossentropy"
                                                          : "not a finite number");
        }
    }
    return DL_OK;
}

static void feed_begin_epoch(void *ctx, int epoch)
{
    ds_batcher_epoch(&((data_feed *)ctx)->batcher, epoch);
}

static void feed_seek(void *ctx, size_t batches)
{
    ds_batcher_seek(&((data_feed *)ctx)->batcher, batches);
}

static int feed_next(void *ctx, float *x, float *y)
{
    return ds_batcher_next(&((data_feed *)ctx)->batcher, x, y);
}

static int feed_init(session *s, data_feed *f, ds_dataset *d, size_t begin, size_t count,
                     int batch_size, int shuffle, dl_err *err)
{
    int one_hot = 0;
    if (s->t.loss.target == LOSS_TARGET_ONE_HOT) {
        const dl_shape *out = model_output_shape(&s->m);
        one_hot = out->dim[out->ndim - 1];
    }
    f->ds = d;
    if (ds_batcher_init(&f->batcher, d, begin, count, batch_size, (float)s->cfg.data.rescale,
                        shuffle, config_seed(&s->cfg), one_hot, err))
        return DL_ERR;
    f->src = (batch_source){f, ds_batcher_steps(&f->batcher), count, feed_begin_epoch, feed_seek,
                            feed_next};
    return DL_OK;
}

static int open_checked(session *s, const dl_kind_ref *src, const char *which, ds_dataset *d,
                        dl_err *err)
{
    if (ds_open(src, DS_NEED_LABELS, d, err))
        return DL_ERR;
    return check_data(s, d, which, src->where ? src->where : s->cfg.path, err);
}

/* An image folder names its classes: they go into the config (and so into
 * the saved model) unless the config lists its own. */
static int adopt_class_names(session *s, const ds_dataset *d, dl_err *err)
{
    dl_strings *names = &s->cfg.data.class_names;
    if (names->n || !d->nclasses)
        return DL_OK;
    names->v = cfg_arena_alloc(s->cfg.arena, sizeof(char *) * (size_t)d->nclasses);
    for (int k = 0; names->v && k < d->nclasses; k++)
        if (!(names->v[k] = cfg_arena_strdup(s->cfg.arena, d->class_names[k])))
            names->v = NULL;
    if (!names->v)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    names->n = d->nclasses;
    return DL_OK;
}

int session_train_data(session *s, dl_err *err)
{
    const cfg_data *data = &s->cfg.data;
    const cfg_fit *fit = &s->cfg.fit;
    int val_batch = fit->validation_batch_size ? fit->validation_batch_size : fit->batch_size;
    if (open_checked(s, &data->train, "data.train", &s->train_ds, err) ||
        adopt_class_names(s, &s->train_ds, err))
        return DL_ERR;
    size_t n = s->train_ds.n, train_count = n;
    if (data->validation.kind) {
        if (open_checked(s, &data->validation, "data.validation", &s->val_ds, err) ||
            feed_init(s, &s->val, &s->val_ds, 0, s->val_ds.n, val_batch, 0, err))
            return DL_ERR;
        s->has_val = 1;
    } else if (data->validation_split > 0) {
        train_count = ds_split_point(n, data->validation_split);
        if (train_count == 0 || train_count == n)
            return dl_fail(err, DL_EXIT_USAGE,
                           "%s: data.validation_split %g of %zu samples leaves %s empty",
                           s->cfg.path, data->validation_split, n,
                           train_count ? "the validation set" : "no training samples");
        if (feed_init(s, &s->val, &s->train_ds, train_count, n - train_count, val_batch, 0, err))
            return DL_ERR;
        s->has_val = 1;
    }
    return feed_init(s, &s->train, &s->train_ds, 0, train_count, fit->batch_size, fit->shuffle,
                     err);
}

int session_eval_data(session *s, const dl_kind_ref *source, const char *which, dl_err *err)
{
    const cfg_fit *fit = &s->cfg.fit;
    int batch = fit->validation_batch_size ? fit->validation_batch_size : fit->batch_size;
    if (open_checked(s, source, which, &s->test_ds, err) ||
        feed_init(s, &s->test, &s->test_ds, 0, s->test_ds.n, batch, 0, err))
        return DL_ERR;
    s->has_test = 1;
    return DL_OK;
}

void session_close(session *s)
{
    ds_batcher_free(&s->train.batcher);
    ds_batcher_free(&s->val.batcher);
    ds_batcher_free(&s->test.batcher);
    ds_free(&s->train_ds);
    ds_free(&s->val_ds);
    ds_free(&s->test_ds);
    if (s->compiled)
        trainer_free(&s->t);
    model_free(&s->m);
    if (s->be)
        s->be->destroy(s->be);
    if (s->have_cfg)
        config_free(&s->cfg);
    memset(s, 0, sizeof *s);
}

const char *session_class_name(const session *s, int k)
{
    const dl_strings *names = &s->cfg.data.class_names;
    return k >= 0 && k < names->n ? names->v[k] : NULL;
}
