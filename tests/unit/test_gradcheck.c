/* test_gradcheck.c: every analytic gradient against central finite
 * differences of the value it differentiates. Layers are checked through
 * L = sum(y * dy) for a random upstream dy (their backward must return dL/dx
 * and dL/dparams), losses through the batch-mean loss the loss op returns,
 * and two whole models through loss + regularization penalty, on the fused
 * softmax/sigmoid + cross-entropy paths the trainer takes. Models are built
 * from YAML through the config, as the CLI builds them. */
#include "configs/config.h"
#include "engine/train.h"
#include "layers/registry.h"
#include "tests/unit/check.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Step and tolerances: |analytic - numeric| <= FD_ATOL + FD_RTOL |numeric|.
 * Truncation: a central difference errs by eps^2 |f'''| / 6, ~1e-7 relative
 * on these inputs. Rounding: every output entering the objective is float32
 * (~6e-8 relative, a few ulps after a dot product); the difference of two
 * such outputs over 2 eps = 2e-3 makes that an absolute error of at most
 * ~1e-4 here (|y| < 10). FD_ATOL bounds it where the gradient is near zero,
 * FD_RTOL where it is large. On this data the worst element uses under a
 * fifth of its tolerance, while the mistakes a backward pass makes (a
 * factor, a sign, a missing term) put elements off by 5% and more. */
#define FD_EPS 1e-3f
#define FD_RTOL 2e-2
#define FD_ATOL 2e-4

#define TEST_SEED 20240611u

/* The regularized layer's L1L2 factors: large enough that a wrong
 * regularizer gradient moves the total gradient by more than FD_RTOL. */
#define REG_L1 0.05
#define REG_L2 0.1

static size_t gradients_compared, elements_compared;

/* Uniform in [lo, hi) from a Philox stream: fixed inputs, so a failure
 * reproduces. */
static void fill_uniform(float *v, size_t n, float lo, float hi, uint64_t stream)
{
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * dl_u32_to_unit(dl_rand_u32(TEST_SEED, stream, i));
}

typedef double (*objective_fn)(void *ctx);

/* grad[i] = d objective / d values[i] by central differences in double; the
 * objective reads values (host) on every call. The step is the difference
 * of the two float32 values actually taken. */
static void numeric_gradient(float *values, size_t n, objective_fn objective, void *ctx,
                             double *grad)
{
    for (size_t i = 0; i < n; i++) {
        float saved = values[i], up = saved + FD_EPS, down = saved - FD_EPS;
        values[i] = up;
        double l_up = objective(ctx);
        values[i] = down;
        double l_down = objective(ctx);
        values[i] = saved;
        grad[i] = (l_up - l_down) / ((double)up - (double)down);
    }
}

/* One check over n > 0 elements: every one within tolerance, and the
 * numeric gradient not vanishing (agreeing on zeros would prove nothing). */
static void check_gradient(const char *what, const float *analytic, const double *numeric,
                           size_t n)
{
    size_t passing = 0, worst = 0;
    double worst_excess = -INFINITY, largest = 0.0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)analytic[i] - numeric[i]);
        double excess = diff - (FD_ATOL + FD_RTOL * fabs(numeric[i]));
        passing += excess <= 0.0;
        if (!(excess <= worst_excess)) {
            worst_excess = excess;
            worst = i;
        }
        largest = fmax(largest, fabs(numeric[i]));
    }
    CHECK(passing == n && largest > 10 * FD_ATOL,
          "%s: %zu of %zu elements (%.1f%%) within tolerance, largest |numeric| %.3g; "
          "worst [%zu]: analytic %.7g, numeric %.7g",
          what, passing, n, 100.0 * (double)passing / (double)n, largest, worst,
          analytic[worst], numeric[worst]);
    gradients_compared++;
    elements_compared += n;
}

/* ---- models from YAML ---- */

typedef struct built_model {
    dl_config cfg;              /* owns the layers' args */
    model m;
} built_model;

/* layers: a YAML flow list; compile: the compile section as a flow map.
 * One check; on failure nothing is left to free. */
static bool build_model(built_model *b, dl_backend *be, const char *input_shape,
                        const char *layers, const char *compile, int batch)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "seed: 11\n"
             "data: {train: {format: idx, images: unused, labels: unused}}\n"
             "model: {input_shape: %s, layers: %s}\n"
             "compile: %s\n",
             input_shape, layers, compile);
    dl_err err = {0};
    const cfg_model *spec = &b->cfg.model;
    memset(b, 0, sizeof *b);
    int rc = config_load_text(yaml, "test_gradcheck", NULL, 0, &b->cfg, &err);
    if (rc == DL_OK)
        rc = model_build(&b->m, spec->name, &spec->input_shape, &spec->layers, be, 11, &err);
    if (rc == DL_OK && (rc = model_reserve(&b->m, batch, &err)) != DL_OK)
        model_free(&b->m);
    if (rc != DL_OK)
        config_free(&b->cfg);
    CHECK(rc == DL_OK, "building %s on %s: %s", layers, input_shape, err.msg);
    return rc == DL_OK;
}

static void built_model_free(built_model *b)
{
    model_free(&b->m);
    config_free(&b->cfg);
}

/* ---- layers: L = sum(y * dy) ---- */

typedef struct layer_probe {
    built_model b;              /* one layer */
    int batch;
    ly_ctx ctx;
    size_t n_in, n_out;         /* floats per batch */
    float *x;                   /* host [n_in] */
    float *dy;                  /* host [n_out] */
    float *y;                   /* host [n_out] */
    float *weights;             /* host [nweights] */
} layer_probe;

static double layer_objective(void *ctx)
{
    layer_probe *p = ctx;
    model *m = &p->b.m;
    m->be->upload(m->be, m->acts[0], p->x, p->n_in);
    if (m->nweights)
        model_set_weights(m, p->weights);
    m->be->download(m->be, p->y, model_forward(m, p->batch, &p->ctx), p->n_out);
    double sum = 0.0;
    for (size_t i = 0; i < p->n_out; i++)
        sum += (double)p->y[i] * p->dy[i];
    return sum;
}

/* Distance from z to the nearest point where the activation has no
 * derivative; INFINITY for the smooth ones (elu with alpha 1 is smooth
 * enough: its first derivative is continuous). */
static float kink_distance(int act, float z)
{
    switch (act) {
    case DL_ACT_RELU:
    case DL_ACT_LEAKY_RELU:
    case DL_ACT_SELU: return fabsf(z);
    case DL_ACT_RELU6: return fminf(fabsf(z), fabsf(z - 6.0f));
    case DL_ACT_HARD_SIGMOID: return fminf(fabsf(z + 3.0f), fabsf(z - 3.0f));
    default: return INFINITY;
    }
}

/* z [rows, units] = x kernel + bias on the host, for a Dense layer that
 * applies its activation in place and keeps no pre-activation. */
static void dense_preactivation_on_host(const layer_probe *p, const ly_layer *l, float *z)
{
    int units = l->out.dim[l->out.ndim - 1], in = l->in.dim[l->in.ndim - 1];
    size_t rows = p->n_out / (size_t)units;
    const float *kernel = p->weights + l->params[0].offset; /* [in, units] */
    const float *bias = l->nparams > 1 ? p->weights + l->params[1].offset : NULL;
    for (size_t r = 0; r < rows; r++)
        for (int u = 0; u < units; u++) {
            double sum = bias ? bias[u] : 0.0;
            for (int k = 0; k < in; k++)
                sum += (double)p->x[r * in + k] * kernel[(size_t)k * units + u];
            z[r * units + u] = (float)sum;
        }
}

/* Draws x in [x_lo, x_hi), weights and dy in [-1, 1) until no
 * pre-activation lies within reach of a kink: one step moves a
 * pre-activation by at most eps * max(1, |x|, |w|), so it must stay twice
 * that away. */
static bool draw_layer_inputs(layer_probe *p, float x_lo, float x_hi)
{
    ly_layer *l = &p->b.m.layers[0];
    dl_backend *be = p->b.m.be;
    int act = l->kind->output_activation ? l->kind->output_activation(l) : DL_ACT_LINEAR;
    float margin = 2.0f * FD_EPS * fmaxf(1.0f, fmaxf(fabsf(x_lo), fabsf(x_hi)));
    for (uint64_t attempt = 0; attempt < 100; attempt++) {
        fill_uniform(p->x, p->n_in, x_lo, x_hi, 3 * attempt);
        fill_uniform(p->weights, p->b.m.nweights, -1.0f, 1.0f, 3 * attempt + 1);
        fill_uniform(p->dy, p->n_out, -1.0f, 1.0f, 3 * attempt + 2);
        if (kink_distance(act, 0.0f) == INFINITY)
            return true;
        layer_objective(p);
        float *z = p->y; /* the pre-activation has the output's size */
        const float *kept = l->kind->preactivation(l, p->b.m.acts[0]);
        if (kept)
            be->download(be, z, kept, p->n_out);
        else if (!strcmp(l->kind->base.name, "Dense"))
            dense_preactivation_on_host(p, l, z);
        else
            return false;
        bool clear = true;
        for (size_t i = 0; i < p->n_out && clear; i++)
            clear = kink_distance(act, z[i]) > margin;
        if (clear)
            return true;
    }
    return false;
}

/* The layer's dx and the gradient of each of its weights against finite
 * differences; `what` names the layer in messages. */
static void check_layer(dl_backend *be, const char *what, const char *input_shape,
                        const char *layers, int batch, int training, float x_lo, float x_hi)
{
    layer_probe p = {.batch = batch, .ctx = {training, 5}};
    if (!build_model(&p.b, be, input_shape, layers, "{loss: mse}", batch))
        return;
    model *m = &p.b.m;
    ly_layer *l = &m->layers[0];
    p.n_in = (size_t)batch * dl_shape_size(&l->in);
    p.n_out = (size_t)batch * dl_shape_size(&l->out);
    size_t largest = p.n_in > m->nweights ? p.n_in : m->nweights;
    p.x = malloc(p.n_in * sizeof(float));
    p.dy = malloc(p.n_out * sizeof(float));
    p.y = malloc(p.n_out * sizeof(float));
    p.weights = malloc((m->nweights + 1) * sizeof(float));
    float *analytic = malloc(largest * sizeof(float));
    double *numeric = malloc(largest * sizeof(double));
    float *dy_dev = be->alloc(be, p.n_out), *dx_dev = be->alloc(be, p.n_in);

    bool drawn = draw_layer_inputs(&p, x_lo, x_hi);
    CHECK(drawn, "%s: no draw keeps the pre-activations away from the kinks", what);
    if (drawn) {
        char label[160];
        layer_objective(&p); /* forward at the drawn point, then backward */
        be->upload(be, dy_dev, p.dy, p.n_out);
        l->kind->backward(l, m->acts[0], m->acts[1], dy_dev, dx_dev, batch);
        be->download(be, analytic, dx_dev, p.n_in);
        numeric_gradient(p.x, p.n_in, layer_objective, &p, numeric);
        snprintf(label, sizeof label, "%s: dx", what);
        check_gradient(label, analytic, numeric, p.n_in);
        for (int i = 0; i < l->nparams; i++) {
            const ly_param *param = &l->params[i];
            size_t n = dl_shape_size(&param->shape);
            /* the backward pass above left every parameter gradient */
            be->download(be, analytic, param->g, n);
            numeric_gradient(p.weights + param->offset, n, layer_objective, &p, numeric);
            snprintf(label, sizeof label, "%s: d%s", what, param->name);
            check_gradient(label, analytic, numeric, n);
        }
    }
    be->release(be, dy_dev);
    be->release(be, dx_dev);
    free(p.x);
    free(p.dy);
    free(p.y);
    free(p.weights);
    free(analytic);
    free(numeric);
    built_model_free(&p.b);
}

/* An activation's name as YAML takes it ("silu|swish" lists two). */
static int activation_name_length(int act)
{
    return (int)strcspn(ly_activation_names[act], "|");
}

/* Every activation as an Activation layer over [2, 5] per sample (softmax
 * on rows of 5); x spans both kinks of relu6 and of hard_sigmoid. */
static void test_activation_layers(dl_backend *be)
{
    for (int act = 0; act < DL_ACT_COUNT; act++) {
        char layers[96], what[64];
        int len = activation_name_length(act);
        const char *name = ly_activation_names[act];
        snprintf(layers, sizeof layers, "[{Activation: {activation: %.*s}}]", len, name);
        snprintf(what, sizeof what, "Activation(%.*s)", len, name);
        check_layer(be, what, "[2, 5]", layers, 3, 0, -4.5f, 7.5f);
    }
}

/* Dense(5) on 4 inputs with every activation, with and without bias, and
 * on a [3, 4] input (applied to the last axis). */
static void test_dense_layers(dl_backend *be)
{
    for (int act = 0; act < DL_ACT_COUNT; act++)
        for (int use_bias = 1; use_bias >= 0; use_bias--) {
            char layers[128], what[80];
            int len = activation_name_length(act);
            const char *name = ly_activation_names[act];
            snprintf(layers, sizeof layers,
                     "[{Dense: {units: 5, activation: %.*s, use_bias: %s}}]", len, name,
                     use_bias ? "true" : "false");
            snprintf(what, sizeof what, "Dense(%.*s%s)", len, name, use_bias ? "" : ", no bias");
            check_layer(be, what, "[4]", layers, 3, 0, -2.0f, 2.0f);
        }
    check_layer(be, "Dense(gelu) on [3, 4]", "[3, 4]", "[{Dense: {units: 5, activation: gelu}}]",
                2, 0, -2.0f, 2.0f);
}

/* Dropout while training (the step fixes the mask), Flatten, Reshape. */
static void test_shape_layers(dl_backend *be)
{
    check_layer(be, "Dropout(0.3) training", "[6]", "[{Dropout: {rate: 0.3}}]", 4, 1, -2.0f,
                2.0f);
    check_layer(be, "Flatten", "[2, 3]", "[Flatten]", 3, 0, -2.0f, 2.0f);
    check_layer(be, "Reshape([3, -1])", "[2, 3, 2]", "[{Reshape: {target_shape: [3, -1]}}]", 2,
                0, -2.0f, 2.0f);
}

/* ---- losses: the batch-mean loss of the loss op ---- */

enum { TARGET_VALUE, TARGET_PROBABILITY, TARGET_ONE_HOT, TARGET_CLASS_ID };

typedef struct loss_case {
    const char *name;
    dl_loss_desc desc;
    int cols;
    float pred_lo, pred_hi;
    int target;                 /* TARGET_* */
} loss_case;

static const loss_case loss_cases[] = {
    {"mse", {DL_LOSS_MSE, 0, 0.0f, 0.0f, 0}, 3, -3.0f, 3.0f, TARGET_VALUE},
    {"mae", {DL_LOSS_MAE, 0, 0.0f, 0.0f, 0}, 3, -3.0f, 3.0f, TARGET_VALUE},
    {"huber", {DL_LOSS_HUBER, 0, 0.0f, 1.0f, 0}, 3, -3.0f, 3.0f, TARGET_VALUE},
    {"bce", {DL_LOSS_BCE, 0, 0.0f, 0.0f, 0}, 3, 0.05f, 0.95f, TARGET_PROBABILITY},
    {"bce ls 0.1", {DL_LOSS_BCE, 0, 0.1f, 0.0f, 0}, 3, 0.05f, 0.95f, TARGET_PROBABILITY},
    {"bce from_logits", {DL_LOSS_BCE, 1, 0.0f, 0.0f, 0}, 3, -4.0f, 4.0f, TARGET_PROBABILITY},
    {"bce from_logits ls 0.1", {DL_LOSS_BCE, 1, 0.1f, 0.0f, 0}, 3, -4.0f, 4.0f,
     TARGET_PROBABILITY},
    /* unnormalised rows: the gradient goes through Keras's renormalisation */
    {"cce", {DL_LOSS_CCE, 0, 0.0f, 0.0f, 0}, 5, 0.05f, 1.0f, TARGET_ONE_HOT},
    {"cce ls 0.1", {DL_LOSS_CCE, 0, 0.1f, 0.0f, 0}, 5, 0.05f, 1.0f, TARGET_ONE_HOT},
    {"cce from_logits", {DL_LOSS_CCE, 1, 0.0f, 0.0f, 0}, 5, -3.0f, 3.0f, TARGET_ONE_HOT},
    {"cce from_logits ls 0.1", {DL_LOSS_CCE, 1, 0.1f, 0.0f, 0}, 5, -3.0f, 3.0f,
     TARGET_ONE_HOT},
    {"sparse cce", {DL_LOSS_CCE, 0, 0.0f, 0.0f, 1}, 5, 0.05f, 1.0f, TARGET_CLASS_ID},
    {"sparse cce from_logits", {DL_LOSS_CCE, 1, 0.0f, 0.0f, 1}, 5, -3.0f, 3.0f,
     TARGET_CLASS_ID},
};

typedef struct loss_probe {
    dl_backend *be;
    const dl_loss_desc *desc;
    int rows, cols;
    float *pred;                /* host [rows, cols] */
    float *pred_dev, *target_dev, *grad_dev;
} loss_probe;

static double loss_objective(void *ctx)
{
    loss_probe *p = ctx;
    size_t n = (size_t)p->rows * p->cols;
    p->be->upload(p->be, p->pred_dev, p->pred, n);
    return p->be->loss(p->be, p->desc, p->pred_dev, p->target_dev, p->grad_dev, p->rows,
                       p->cols);
}

/* Targets [rows] (class ids) or [rows, cols] of the case's kind. */
static void draw_targets(const loss_case *c, int rows, float *target)
{
    int cols = c->cols;
    if (c->target == TARGET_VALUE || c->target == TARGET_PROBABILITY) {
        bool value = c->target == TARGET_VALUE;
        fill_uniform(target, (size_t)rows * cols, value ? -3.0f : 0.0f, value ? 3.0f : 1.0f, 100);
        return;
    }
    for (int r = 0; r < rows; r++) {
        int id = (int)(dl_rand_u32(TEST_SEED, 101, (uint64_t)r) % (uint32_t)cols);
        if (c->target == TARGET_CLASS_ID) {
            target[r] = (float)id;
            continue;
        }
        for (int k = 0; k < cols; k++)
            target[(size_t)r * cols + k] = k == id ? 1.0f : 0.0f;
    }
}

static void check_loss(dl_backend *be, const loss_case *c)
{
    enum { ROWS = 4, MAX_COLS = 5 };
    size_t n = (size_t)ROWS * c->cols, n_target = c->target == TARGET_CLASS_ID ? ROWS : n;
    float pred[ROWS * MAX_COLS], target[ROWS * MAX_COLS], analytic[ROWS * MAX_COLS];
    double numeric[ROWS * MAX_COLS];
    loss_probe p = {be, &c->desc, ROWS, c->cols, pred, be->alloc(be, n), be->alloc(be, n_target),
                    be->alloc(be, n)};
    fill_uniform(pred, n, c->pred_lo, c->pred_hi, 102);
    draw_targets(c, ROWS, target);
    size_t within_delta = 0;
    for (size_t i = 0; i < n; i++) {
        float error = pred[i] - target[i];
        /* mae's kink at a zero error: keep every error clear of it */
        if (c->desc.kind == DL_LOSS_MAE && fabsf(error) < 4.0f * FD_EPS)
            pred[i] = target[i] + (error < 0.0f ? -4.0f : 4.0f) * FD_EPS;
        within_delta += fabsf(error) <= c->desc.delta;
    }
    if (c->desc.kind == DL_LOSS_HUBER)
        CHECK(within_delta > 0 && within_delta < n,
              "huber: %zu of %zu errors within delta; both sides must be covered",
              within_delta, n);
    be->upload(be, p.target_dev, target, n_target);
    loss_objective(&p);
    be->download(be, analytic, p.grad_dev, n);
    numeric_gradient(pred, n, loss_objective, &p, numeric);
    char label[80];
    snprintf(label, sizeof label, "loss %s: dpred", c->name);
    check_gradient(label, analytic, numeric, n);
    be->release(be, p.pred_dev);
    be->release(be, p.target_dev);
    be->release(be, p.grad_dev);
}

static void test_losses(dl_backend *be)
{
    for (size_t i = 0; i < sizeof loss_cases / sizeof loss_cases[0]; i++)
        check_loss(be, &loss_cases[i]);
}

/* ---- whole models on the trainer's fused paths ---- */

typedef struct model_probe {
    built_model b;
    trainer t;
    int rows;
    int regularized_layer;      /* its kernel carries L1L2(REG_L1, REG_L2) */
    float *x, *targets;         /* host [rows, inputs], [rows, target_cols] */
    float *weights;             /* host [nweights] */
} model_probe;

/* REG_L1 sum|w| + REG_L2 sum w^2 over the regularized kernel, from the
 * host weights (independent of the backend's regularize op). */
static double host_penalty(const model_probe *p)
{
    const ly_param *kernel = &p->b.m.layers[p->regularized_layer].params[0];
    const float *w = p->weights + kernel->offset;
    double penalty = 0.0;
    for (size_t i = 0; i < dl_shape_size(&kernel->shape); i++)
        penalty += REG_L1 * fabs((double)w[i]) + REG_L2 * (double)w[i] * w[i];
    return penalty;
}

/* Forward and loss as the trainer's forward_loss does them: the loss op on
 * the last layer's pre-activation when the plan fuses it. Leaves the loss
 * gradient in t.grad_dev. */
static double model_loss(model_probe *p)
{
    model *m = &p->b.m;
    dl_backend *be = m->be;
    trainer *t = &p->t;
    int cols = model_output_shape(m)->dim[0];
    model_set_weights(m, p->weights);
    be->upload(be, m->acts[0], p->x, (size_t)p->rows * dl_shape_size(&m->input_shape));
    be->upload(be, t->y_dev, p->targets, (size_t)p->rows * t->target_cols);
    ly_ctx ctx = {0, 0};
    const float *y = model_forward(m, p->rows, &ctx);
    ly_layer *last = model_last(m);
    const float *pred = t->loss.fused ? last->kind->preactivation(last, m->acts[m->nlayers - 1])
                                      : y;
    return be->loss(be, &t->loss.desc, pred, t->y_dev, t->grad_dev, p->rows, cols);
}

static double model_objective(void *ctx)
{
    model_probe *p = ctx;
    return model_loss(p) + host_penalty(p);
}

/* With fusion the loss is taken from the logits; it must be the loss of
 * the probabilities the model outputs. */
static void check_fusion_keeps_loss(model_probe *p, const char *what, double fused_loss)
{
    model *m = &p->b.m;
    dl_backend *be = m->be;
    dl_loss_desc on_probabilities = p->t.loss.desc;
    on_probabilities.from_logits = 0;
    int cols = model_output_shape(m)->dim[0];
    double loss = be->loss(be, &on_probabilities, m->acts[m->nlayers], p->t.y_dev,
                           p->t.grad_dev, p->rows, cols);
    CHECK(p->t.loss.fused && fabs(loss - fused_loss) <= 1e-5 * fabs(loss),
          "%s: fused %d, loss %.9g from logits vs %.9g from probabilities", what,
          p->t.loss.fused, fused_loss, loss);
}

/* One SGD step of the trainer at the same point: it reports the same loss
 * and moves every weight by -lr times the gradient checked here. */
static void check_trainer_step(model_probe *p, const char *what, double objective,
                               const float *grads, float lr)
{
    model *m = &p->b.m;
    float *after = malloc(m->nweights * sizeof(float));
    memcpy(p->t.x_host, p->x, (size_t)p->rows * dl_shape_size(&m->input_shape) * sizeof(float));
    memcpy(p->t.y_host, p->targets, (size_t)p->rows * p->t.target_cols * sizeof(float));
    model_set_weights(m, p->weights);
    double batch_loss = trainer_train_batch(&p->t, p->rows);
    CHECK(fabs(batch_loss - objective) <= 1e-6 * fabs(objective),
          "%s: trainer_train_batch loss %.9g, loss + penalty here %.9g", what, batch_loss,
          objective);
    model_get_weights(m, after);
    size_t off = 0;
    for (size_t i = 0; i < m->nweights; i++) {
        float want = p->weights[i] - lr * grads[i];
        off += fabsf(after[i] - want) > 1e-6f + 1e-5f * fabsf(want);
    }
    CHECK(off == 0, "%s: %zu of %zu weights after one SGD step are not w - lr * grad", what,
          off, m->nweights);
    free(after);
}

/* A model of `layers` on 4 inputs, compiled with SGD and `loss_name`
 * (targets: class ids below `classes`): the gradient of loss + penalty that
 * model_backward and model_regularize leave in m->grads, over every weight. */
static void check_model(dl_backend *be, const char *what, const char *layers,
                        const char *loss_name, int regularized_layer, int classes)
{
    enum { ROWS = 4 };
    const float lr = 0.1f;
    char compile[160];
    snprintf(compile, sizeof compile, "{optimizer: {class_name: SGD, learning_rate: %g}, loss: %s}",
             lr, loss_name);
    model_probe p = {.rows = ROWS, .regularized_layer = regularized_layer};
    if (!build_model(&p.b, be, "[4]", layers, compile, ROWS))
        return;
    model *m = &p.b.m;
    cfg_compile *c = &p.b.cfg.compile;
    dl_err err = {0};
    int rc = trainer_init(&p.t, m, &c->optimizer, &c->loss, &c->metrics, ROWS, &err);
    CHECK(rc == DL_OK, "%s: trainer_init: %s", what, err.msg);
    if (rc != DL_OK) {
        trainer_free(&p.t);
        built_model_free(&p.b);
        return;
    }
    float x[ROWS * 4], targets[ROWS];
    float *weights = malloc(m->nweights * sizeof(float));
    float *grads = malloc(m->nweights * sizeof(float));
    double *numeric = malloc(m->nweights * sizeof(double));
    p.x = x;
    p.targets = targets;
    p.weights = weights;
    fill_uniform(x, ROWS * 4, -1.0f, 1.0f, 200);
    fill_uniform(weights, m->nweights, -1.0f, 1.0f, 201);
    for (size_t i = 0; i < m->nweights; i++) /* clear of L1's kink at 0 */
        if (fabsf(weights[i]) < 4.0f * FD_EPS)
            weights[i] = weights[i] < 0.0f ? -4.0f * FD_EPS : 4.0f * FD_EPS;
    for (int r = 0; r < ROWS; r++) /* class ids; 0/1 for one sigmoid unit */
        targets[r] = (float)(r % classes);

    double loss = model_loss(&p);
    model_backward(m, p.t.grad_dev, ROWS);
    double penalty = model_regularize(m);
    be->download(be, grads, m->grads, m->nweights);
    CHECK(fabs(penalty - host_penalty(&p)) <= 1e-5 * host_penalty(&p),
          "%s: model_regularize penalty %.9g, want %.9g", what, penalty, host_penalty(&p));
    check_fusion_keeps_loss(&p, what, loss);

    numeric_gradient(weights, m->nweights, model_objective, &p, numeric);
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i].nparams; j++) {
            const ly_param *param = &m->layers[i].params[j];
            char label[160];
            snprintf(label, sizeof label, "%s: %s/%s", what, m->layers[i].name, param->name);
            check_gradient(label, grads + param->offset, numeric + param->offset,
                           dl_shape_size(&param->shape));
        }
    check_trainer_step(&p, what, loss + penalty, grads, lr);
    free(weights);
    free(grads);
    free(numeric);
    trainer_free(&p.t);
    built_model_free(&p.b);
}

static void test_fused_models(dl_backend *be)
{
    char layers[256];
    snprintf(layers, sizeof layers,
             "[{Dense: {units: 5, activation: tanh, kernel_regularizer: "
             "{class_name: L1L2, l1: %g, l2: %g}}}, {Dense: {units: 3, activation: softmax}}]",
             REG_L1, REG_L2);
    check_model(be, "softmax + sparse_cce", layers, "sparse_categorical_crossentropy", 0, 3);
    snprintf(layers, sizeof layers,
             "[{Dense: {units: 5, activation: gelu}}, {Dense: {units: 1, activation: sigmoid, "
             "kernel_regularizer: {class_name: L1L2, l1: %g, l2: %g}}}]",
             REG_L1, REG_L2);
    check_model(be, "sigmoid + bce", layers, "binary_crossentropy", 1, 2);
}

int main(void)
{
    dl_err err = {0};
    dl_backend *be = be_cpu_create(1, &err);
    if (!be) {
        fprintf(stderr, "cpu backend: %s\n", err.msg);
        return 1;
    }
    test_activation_layers(be);
    test_dense_layers(be);
    test_shape_layers(be);
    test_losses(be);
    test_fused_models(be);
    be->destroy(be);
    printf("%zu gradients compared over %zu elements\n", gradients_compared, elements_compared);
    return check_report("gradcheck");
}
