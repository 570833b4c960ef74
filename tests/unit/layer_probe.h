/* layer_probe.h: one layer as a model runs it, for the layer tests. The
 * model is built from YAML through the config, as the CLI builds it; the
 * probe holds host copies of its input x, output y, upstream gradient dy
 * and weights, and checks the first layer's backward against central
 * finite differences of L = sum(y * dy) (test_gradcheck.c's method and
 * tolerances). Header-only. */
#ifndef PROBE_LAYER_PROBE_H
#define PROBE_LAYER_PROBE_H

#include "configs/config.h"
#include "engine/model.h"
#include "tests/unit/check.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Central differences: |analytic - numeric| <= PROBE_FD_ATOL +
 * PROBE_FD_RTOL |numeric| (test_gradcheck.c explains the bounds). */
#define PROBE_FD_EPS 1e-3f
#define PROBE_FD_RTOL 2e-2
#define PROBE_FD_ATOL 2e-4

#define PROBE_SEED 20240611u

typedef struct probe {
    dl_config cfg;              /* owns the layers' args */
    model m;
    dl_backend *be;
    ly_layer *l;                /* the first layer */
    int batch;
    ly_ctx ctx;                 /* of every forward */
    size_t n_in, n_out;         /* floats per batch */
    float *x, *y, *dy;          /* host [n_in], [n_out], [n_out] */
    float *weights;             /* host [nweights + 1] */
} probe;

/* Uniform in [lo, hi) from a Philox stream: fixed inputs, so a failure
 * reproduces. */
static inline void probe_fill(float *v, size_t n, float lo, float hi, uint64_t stream)
{
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * dl_u32_to_unit(dl_rand_u32(PROBE_SEED, stream, i));
}

/* Builds `layers` (a YAML flow list) on per-sample `input_shape` with
 * buffers for `batch`; the host weights start as the initializers drew
 * them, x and dy as uniform draws in [-1, 1). DL_ERR leaves nothing to
 * free and err filled (the config's or the build's exit code). */
static inline int probe_open(probe *p, dl_backend *be, const char *input_shape,
                             const char *layers, int batch, dl_err *err)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "seed: 11\n"
             "data: {train: {format: idx, images: unused, labels: unused}}\n"
             "model: {input_shape: %s, layers: %s}\n"
             "compile: {loss: mse}\n",
             input_shape, layers);
    memset(p, 0, sizeof *p);
    const cfg_model *spec = &p->cfg.model;
    if (config_load_text(yaml, "layer_probe", NULL, 0, &p->cfg, err))
        return DL_ERR;
    if (model_build(&p->m, spec->name, &spec->input_shape, &spec->layers, be, 11, err)) {
        config_free(&p->cfg);
        return DL_ERR;
    }
    if (model_init_weights(&p->m, 11, err) || model_reserve(&p->m, batch, err)) {
        model_free(&p->m);
        config_free(&p->cfg);
        return DL_ERR;
    }
    p->be = be;
    p->l = &p->m.layers[0];
    p->batch = batch;
    p->ctx = (ly_ctx){1, 5};
    p->n_in = (size_t)batch * dl_shape_size(&p->l->in);
    p->n_out = (size_t)batch * dl_shape_size(&p->l->out);
    p->x = malloc(p->n_in * sizeof(float));
    p->y = malloc(p->n_out * sizeof(float));
    p->dy = malloc(p->n_out * sizeof(float));
    p->weights = malloc((p->m.nweights + 1) * sizeof(float));
    if (!p->x || !p->y || !p->dy || !p->weights) {
        fprintf(stderr, "layer_probe: out of memory\n");
        exit(1);
    }
    model_get_weights(&p->m, p->weights);
    probe_fill(p->x, p->n_in, -1.0f, 1.0f, 1);
    probe_fill(p->dy, p->n_out, -1.0f, 1.0f, 2);
    return DL_OK;
}

/* probe_open as one check, printing the error if it fails. */
static inline bool probe_open_checked(probe *p, dl_backend *be, const char *input_shape,
                                      const char *layers, int batch)
{
    dl_err err = {0};
    int rc = probe_open(p, be, input_shape, layers, batch, &err);
    CHECK(rc == DL_OK, "building %s on %s: %s", layers, input_shape, err.msg);
    return rc == DL_OK;
}

static inline void probe_close(probe *p)
{
    model_free(&p->m);
    config_free(&p->cfg);
    free(p->x);
    free(p->y);
    free(p->dy);
    free(p->weights);
    memset(p, 0, sizeof *p);
}

/* Uploads x and the weights, runs the model forward with p->ctx and
 * leaves the first layer's output in p->y. */
static inline void probe_forward(probe *p)
{
    model *m = &p->m;
    p->be->upload(p->be, m->acts[0], p->x, p->n_in);
    if (m->nweights)
        model_set_weights(m, p->weights);
    model_forward(m, p->batch, &p->ctx);
    p->be->download(p->be, p->y, m->acts[1], p->n_out);
}

/* The first layer's backward of p->dy after the last forward: dx [n_in]
 * into host memory; the parameter gradients stay on the device. */
static inline void probe_backward(probe *p, float *dx)
{
    float *dy_dev = p->be->alloc(p->be, p->n_out), *dx_dev = p->be->alloc(p->be, p->n_in);
    p->be->upload(p->be, dy_dev, p->dy, p->n_out);
    p->l->kind->backward(p->l, p->m.acts[0], p->m.acts[1], dy_dev, dx_dev, p->batch);
    p->be->download(p->be, dx, dx_dev, p->n_in);
    p->be->release(p->be, dy_dev);
    p->be->release(p->be, dx_dev);
}

/* L = sum(y * dy) at the current x and weights. */
static inline double probe_objective(probe *p)
{
    double sum = 0.0;
    probe_forward(p);
    for (size_t i = 0; i < p->n_out; i++)
        sum += (double)p->y[i] * p->dy[i];
    return sum;
}

/* One check: analytic [n] against central differences of L over values
 * [n] (host values the objective reads), every element within tolerance
 * and the gradient not vanishing (agreeing on zeros would prove nothing). */
static inline void probe_check_gradient(probe *p, const char *what, float *values,
                                        const float *analytic, size_t n)
{
    size_t passing = 0, worst = 0;
    double worst_excess = -INFINITY, largest = 0.0, worst_numeric = 0.0;
    for (size_t i = 0; i < n; i++) {
        float saved = values[i], up = saved + PROBE_FD_EPS, down = saved - PROBE_FD_EPS;
        values[i] = up;
        double l_up = probe_objective(p);
        values[i] = down;
        double l_down = probe_objective(p);
        values[i] = saved;
        double numeric = (l_up - l_down) / ((double)up - (double)down);
        double excess = fabs((double)analytic[i] - numeric) -
                        (PROBE_FD_ATOL + PROBE_FD_RTOL * fabs(numeric));
        passing += excess <= 0.0;
        if (!(excess <= worst_excess)) {
            worst_excess = excess;
            worst = i;
            worst_numeric = numeric;
        }
        largest = fmax(largest, fabs(numeric));
    }
    CHECK(passing == n && largest > 10 * PROBE_FD_ATOL,
          "%s: %zu of %zu elements within tolerance, largest |numeric| %.3g; worst [%zu]: "
          "analytic %.7g, numeric %.7g",
          what, passing, n, largest, worst, analytic[worst], worst_numeric);
}

/* The first layer's dx and the gradient of each trainable weight against
 * finite differences at the probe's x, weights and dy. */
static inline void probe_gradcheck(probe *p, const char *what)
{
    size_t largest = p->n_in > p->m.nweights ? p->n_in : p->m.nweights;
    float *analytic = malloc((largest + 1) * sizeof(float));
    char label[200];
    probe_forward(p);
    probe_backward(p, analytic);
    snprintf(label, sizeof label, "%s: dx", what);
    probe_check_gradient(p, label, p->x, analytic, p->n_in);
    for (int i = 0; i < p->l->nparams; i++) {
        const ly_param *param = &p->l->params[i];
        size_t n = dl_shape_size(&param->shape);
        if (!param->trainable)
            continue;
        probe_forward(p); /* the dx check's objectives overwrote the saved state */
        probe_backward(p, analytic);
        p->be->download(p->be, analytic, param->g, n);
        snprintf(label, sizeof label, "%s: d%s", what, param->name);
        probe_check_gradient(p, label, p->weights + param->offset, analytic, n);
    }
    free(analytic);
}

/* Builds, draws x in [x_lo, x_hi) and checks the gradients, as one probe. */
static inline void probe_gradcheck_layer(dl_backend *be, const char *what,
                                         const char *input_shape, const char *layers, int batch,
                                         int training, float x_lo, float x_hi)
{
    probe p;
    if (!probe_open_checked(&p, be, input_shape, layers, batch))
        return;
    p.ctx.training = training;
    probe_fill(p.x, p.n_in, x_lo, x_hi, 3);
    probe_fill(p.weights, p.m.nweights, 0.5f, 1.5f, 4);
    probe_gradcheck(&p, what);
    probe_close(&p);
}

/* The config + build of `layers` on `input_shape` fails with exit code 2
 * and a message containing `needle`: one check. */
static inline void probe_expect_usage_error(dl_backend *be, const char *input_shape,
                                            const char *layers, const char *needle)
{
    probe p;
    dl_err err = {0};
    int rc = probe_open(&p, be, input_shape, layers, 1, &err);
    CHECK(rc == DL_ERR && err.exit_code == DL_EXIT_USAGE && strstr(err.msg, needle),
          "%s on %s: rc %d, exit %d, message \"%s\"; want exit 2 mentioning \"%s\"", layers,
          input_shape, rc, err.exit_code, err.msg, needle);
    if (rc == DL_OK)
        probe_close(&p);
}

#endif
