/* cb_tensorboard.c: the TensorBoard callback, Keras 3's layout and tags
 * (keras-reference.md §1.8, tensorboard-format.md §7.6):
 *   <log_dir>/events...            HParams session start/end, the config text
 *   <log_dir>/train/events...      epoch_<metric> (step = epoch),
 *                                  epoch_learning_rate, batch_<metric>,
 *                                  weight histograms/images, the Keras graph
 *   <log_dir>/validation/events... epoch_<metric>,
 *                                  evaluation_<metric>_vs_iterations
 * Every fit writes these (a default instance runs when the config names no
 * TensorBoard callback). A run stopped by a non-finite loss, an interrupt or
 * an error ends its HParams session as FAILURE (with a "status" text saying
 * which, where known). The writers buffer in memory and flush at each
 * epoch's end and every few seconds, so no step pays for a system call. */
#include "engine/callbacks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tensorboard_args {
    char *log_dir;              /* NULL: the run directory */
    int histogram_freq;         /* epochs between weight histograms; 0: none */
    int write_graph;
    int write_images;
    char *update_freq;          /* "epoch", "batch" or a number of batches */
} tensorboard_args;

typedef struct tensorboard_state {
    tb_writer *root, *train, *val;
    int batch_every;            /* 0: epoch-level scalars only */
    float *weights;             /* host [nweights]: histogram/image source */
    uint8_t *pixels;            /* host [largest weight]: one image */
    int ended;
} tensorboard_state;

static int update_freq_check(const void *args, char *why, size_t n)
{
    const tensorboard_args *a = args;
    char *end;
    long v = strtol(a->update_freq, &end, 10);
    if (!strcmp(a->update_freq, "epoch") || !strcmp(a->update_freq, "batch") ||
        (*a->update_freq && !*end && v > 0))
        return DL_OK;
    snprintf(why, n, "update_freq must be \"epoch\", \"batch\" or a positive number of "
                     "batches, got \"%s\"",
             a->update_freq);
    return DL_ERR;
}

static const dl_arg tensorboard_table[] = {
    {"log_dir", DL_ARG_STRING, offsetof(tensorboard_args, log_dir), "null", 0, 0,
     DL_ARG_NULLABLE, NULL, 0, NULL, NULL},
    {"histogram_freq", DL_ARG_INT, offsetof(tensorboard_args, histogram_freq), "0", 0, 1e9, 0,
     NULL, 0, NULL, NULL},
    {"write_graph", DL_ARG_BOOL, offsetof(tensorboard_args, write_graph), "true", 0, 0, 0, NULL,
     0, NULL, NULL},
    {"write_images", DL_ARG_BOOL, offsetof(tensorboard_args, write_images), "false", 0, 0, 0,
     NULL, 0, NULL, NULL},
    {"update_freq", DL_ARG_STRING, offsetof(tensorboard_args, update_freq), "epoch", 0, 0,
     DL_ARG_INT_OR_STRING, NULL, 0, NULL, NULL},
    {0},
};

static int open_writers(tensorboard_state *s, const fit_ctx *f, const tensorboard_args *a,
                        dl_err *err)
{
    char dir[4096], sub[4200];
    if (a->log_dir)
        cb_path(f, a->log_dir, dir, sizeof dir);
    else
        snprintf(dir, sizeof dir, "%s", f->run_dir ? f->run_dir : ".");
    if (tb_open(&s->root, dir, err))
        return DL_ERR;
    snprintf(sub, sizeof sub, "%s/train", dir);
    if (tb_open(&s->train, sub, err))
        return DL_ERR;
    snprintf(sub, sizeof sub, "%s/validation", dir);
    return f->val ? tb_open(&s->val, sub, err) : DL_OK;
}

static int tensorboard_train_begin(callback *c, fit_ctx *f, dl_err *err)
{
    const tensorboard_args *a = c->args;
    tensorboard_state *s = c->state;
    const model *m = f->t->m;
    size_t largest = 1;
    for (int i = 0; i < m->nparams; i++)
        if (dl_shape_size(&m->params[i]->shape) > largest)
            largest = dl_shape_size(&m->params[i]->shape);
    s->batch_every = !strcmp(a->update_freq, "epoch") ? 0
                     : !strcmp(a->update_freq, "batch") ? 1
                                                        : atoi(a->update_freq);
    s->weights = malloc(m->nweights * sizeof(float) + sizeof(float));
    s->pixels = malloc(largest);
    if (!s->weights || !s->pixels)
        return dl_fail(err, DL_EXIT_FAIL, "TensorBoard: out of memory");
    if (open_writers(s, f, a, err))
        return DL_ERR;
    if (tb_hparams_session_start(s->root, f->hparams, f->nhparams, "", tb_wall_time(), err))
        return DL_ERR;
    if (f->config_text && tb_text(s->root, "config", 0, f->config_text, err))
        return DL_ERR;
    if (a->write_graph && f->model_json && tb_keras_graph(s->train, f->model_json, err))
        return DL_ERR;
    return tb_flush(s->root, err) || tb_flush(s->train, err) ? DL_ERR : DL_OK;
}

static int tensorboard_batch_end(callback *c, fit_ctx *f, size_t batch, double loss,
                                 dl_err *err)
{
    tensorboard_state *s = c->state;
    int64_t batches = f->t->step; /* the global batch count, also after a resume */
    if (!s->batch_every || batches % s->batch_every)
        return DL_OK;
    train_logs logs;
    char tag[96];
    logs_clear(&logs);
    trainer_pass_logs(f->t, "", &logs);
    for (int i = 0; i < logs.n; i++) {
        snprintf(tag, sizeof tag, "batch_%s", logs.keys[i]);
        if (tb_scalar(s->train, tag, batches, logs.values[i], err))
            return DL_ERR;
    }
    (void)batch;
    (void)loss;
    return DL_OK;
}

/* Weights as an 8-bit grayscale image, scaled from their min..max (Keras
 * hands raw values to the image summary, which saturates outside [0, 1]).
 * Vectors are one row; matrices are laid out wide, as Keras transposes
 * tall ones; higher ranks fold into [prod(leading), last]. */
static int write_weight_image(tensorboard_state *s, const ly_param *p, const float *w,
                              const char *tag, int64_t step, dl_err *err)
{
    size_t n = dl_shape_size(&p->shape);
    int cols = p->shape.dim[p->shape.ndim - 1], rows = (int)(n / (size_t)cols);
    int transpose = rows > cols;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(w[i])) {
            lo = fminf(lo, w[i]);
            hi = fmaxf(hi, w[i]);
        }
    float scale = hi > lo ? 255.0f / (hi - lo) : 0.0f;
    for (int r = 0; r < rows; r++)
        for (int col = 0; col < cols; col++) {
            float v = w[(size_t)r * cols + col];
            size_t at = transpose ? (size_t)col * rows + r : (size_t)r * cols + col;
            s->pixels[at] = isfinite(v) ? (uint8_t)lrintf((v - lo) * scale) : 0;
        }
    return tb_image(s->train, tag, step, s->pixels, transpose ? cols : rows,
                    transpose ? rows : cols, 1, err);
}

static int write_weights(tensorboard_state *s, const tensorboard_args *a, const model *m,
                         int epoch, dl_err *err)
{
    char tag[160];
    model_get_weights(m, s->weights);
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i].nparams; j++) {
            const ly_param *p = &m->layers[i].params[j];
            const float *w = s->weights + p->offset;
            snprintf(tag, sizeof tag, "%s/%s/histogram", m->layers[i].name, p->name);
            if (tb_histogram(s->train, tag, epoch, w, dl_shape_size(&p->shape), err))
                return DL_ERR;
            snprintf(tag, sizeof tag, "%s/%s/image", m->layers[i].name, p->name);
            if (a->write_images && write_weight_image(s, p, w, tag, epoch, err))
                return DL_ERR;
        }
    return DL_OK;
}

static int tensorboard_epoch_end(callback *c, fit_ctx *f, train_logs *logs, dl_err *err)
{
    const tensorboard_args *a = c->args;
    tensorboard_state *s = c->state;
    char tag[96];
    for (int i = 0; i < logs->n; i++) {
        const char *key = logs->keys[i];
        int is_val = !strncmp(key, "val_", 4);
        if ((is_val && !s->val) || !strcmp(key, "learning_rate"))
            continue;
        snprintf(tag, sizeof tag, "epoch_%s", is_val ? key + 4 : key);
        if (tb_scalar(is_val ? s->val : s->train, tag, f->epoch, logs->values[i], err))
            return DL_ERR;
        snprintf(tag, sizeof tag, "evaluation_%s_vs_iterations", key + 4);
        if (is_val && tb_scalar(s->val, tag, f->t->opt.iterations, logs->values[i], err))
            return DL_ERR;
    }
    if (tb_scalar(s->train, "epoch_learning_rate", f->epoch, optim_learning_rate(&f->t->opt),
                  err))
        return DL_ERR;
    if (a->histogram_freq && f->epoch % a->histogram_freq == 0 &&
        write_weights(s, a, f->t->m, f->epoch, err))
        return DL_ERR;
    if (tb_flush(s->train, err) || (s->val && tb_flush(s->val, err)))
        return DL_ERR;
    return DL_OK;
}

/* Ends the session (SUCCESS, or FAILURE after a non-finite loss or an
 * error) and closes every file with an fsync. */
static int end_session(tensorboard_state *s, int status, dl_err *err)
{
    int rc = DL_OK;
    if (s->root && !s->ended && tb_hparams_session_end(s->root, status, tb_wall_time(), err))
        rc = DL_ERR;
    s->ended = 1;
    tb_writer *writers[] = {s->root, s->train, s->val};
    for (int i = 0; i < 3; i++)
        if (writers[i] && tb_close(writers[i], rc ? NULL : err))
            rc = DL_ERR;
    s->root = s->train = s->val = NULL;
    return rc;
}

static int tensorboard_train_end(callback *c, fit_ctx *f, dl_err *err)
{
    tensorboard_state *s = c->state;
    const char *why = f->nan_stopped ? "stopped: the loss is not finite"
                      : f->interrupted ? "interrupted"
                                       : NULL;
    if (why && tb_text(s->root, "status", 0, why, err))
        return DL_ERR;
    return end_session(s, why ? TB_STATUS_FAILURE : TB_STATUS_SUCCESS, err);
}

/* A fit that failed part way still leaves a closed, readable session. */
static void tensorboard_release(callback *c)
{
    tensorboard_state *s = c->state;
    end_session(s, TB_STATUS_FAILURE, NULL);
    free(s->weights);
    free(s->pixels);
}

const cb_kind cb_tensorboard = {
    .base = {"TensorBoard", NULL, NULL, tensorboard_table, sizeof(tensorboard_args),
             update_freq_check},
    .state_size = sizeof(tensorboard_state),
    .train_begin = tensorboard_train_begin,
    .batch_end = tensorboard_batch_end,
    .epoch_end = tensorboard_epoch_end,
    .train_end = tensorboard_train_end,
    .release = tensorboard_release,
};

/* The arguments of the instance every fit gets when none is configured. */
const void *cb_tensorboard_default_args(void)
{
    static const tensorboard_args defaults = {NULL, 0, 1, 0, (char *)"epoch"};
    return &defaults;
}
