/* test_layers.c: the layers as a model runs them, built from YAML through
 * the config like the CLI builds them. Dense against the Keras reference
 * (tests/data/keras/dense.json) with the README's tolerances; Dropout
 * against the semantics of dropout.json with its own Philox mask; Flatten
 * and Reshape as row-major copies; the activations Dense and Conv apply in
 * place. */
#include "configs/config.h"
#include "engine/model.h"
#include "layers/registry.h"
#include "tests/unit/testdata.h"

#include <stdbool.h>
#include <string.h>

#define FWD_RTOL 1e-5
#define FWD_ATOL 1e-6
#define GRAD_RTOL 1e-4
#define GRAD_ATOL 1e-5

/* A model of `layers` (a YAML flow list) on per-sample `input_shape`, with
 * its config (which owns the layers' args) and batch buffers for `batch`. */
typedef struct fixture {
    dl_config cfg;
    model m;
    bool built;
} fixture;

static int fixture_build(fixture *f, dl_backend *be, const char *input_shape,
                         const char *layers, int batch, dl_err *err)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "seed: 7\n"
             "data: {train: {format: idx, images: unused, labels: unused}}\n"
             "model: {input_shape: %s, layers: %s}\n"
             "compile: {loss: mse}\n",
             input_shape, layers);
    memset(f, 0, sizeof *f);
    const cfg_model *spec = &f->cfg.model;
    if (config_load_text(yaml, "test_layers", NULL, 0, &f->cfg, err) ||
        model_build(&f->m, spec->name, &spec->input_shape, &spec->layers, be, 7, err)) {
        config_free(&f->cfg); /* the arena outlives a failed validation */
        return DL_ERR;
    }
    f->built = true;
    return model_reserve(&f->m, batch, err);
}

static void fixture_free(fixture *f)
{
    if (!f->built)
        return;
    model_free(&f->m);
    config_free(&f->cfg);
    f->built = false;
}

/* Builds the fixture as one check, printing the error if it fails. */
static bool build_checked(fixture *f, dl_backend *be, const char *input_shape,
                          const char *layers, int batch)
{
    dl_err err = {0};
    int rc = fixture_build(f, be, input_shape, layers, batch, &err);
    CHECK(rc == DL_OK, "building %s on %s: %s", layers, input_shape, err.msg);
    if (rc != DL_OK)
        fixture_free(f);
    return rc == DL_OK;
}

/* Runs the first layer's backward on dy [n_out] (host) and returns dx
 * [n_in] in host memory; the layer's forward must have run just before. */
static void layer_backward(fixture *f, const float *dy, float *dx, int batch)
{
    dl_backend *be = f->m.be;
    ly_layer *l = &f->m.layers[0];
    size_t n_in = (size_t)batch * dl_shape_size(&l->in);
    size_t n_out = (size_t)batch * dl_shape_size(&l->out);
    float *dy_dev = be->alloc(be, n_out), *dx_dev = be->alloc(be, n_in);
    be->upload(be, dy_dev, dy, n_out);
    l->kind->backward(l, f->m.acts[0], f->m.acts[1], dy_dev, dx_dev, batch);
    be->download(be, dx, dx_dev, n_in);
    be->release(be, dy_dev);
    be->release(be, dx_dev);
}

/* ---- Dense against dense.json ---- */

enum { D_X, D_KERNEL, D_BIAS, D_DY, D_Z, D_Y, D_DX, D_DKERNEL, D_DBIAS, D_COUNT };
static const char *const dense_fields[D_COUNT] = {
    "inputs.x",  "inputs.kernel", "inputs.bias", "inputs.dy",      "outputs.z",
    "outputs.y", "outputs.dx",    "outputs.dkernel", "outputs.dbias",
};

/* Forward (y, and the kept pre-activation z for an activation that is not
 * applied in place) and backward (dx, dkernel, dbias) of one case, given
 * the case's weights. */
static void check_dense_run(const char *name, fixture *f, td_tensor *t, bool use_bias,
                            bool has_preactivation)
{
    dl_backend *be = f->m.be;
    ly_layer *l = &f->m.layers[0];
    int rows = t[D_X].shape[0];
    size_t n_y = t[D_Y].size;
    float *got = malloc((n_y > t[D_KERNEL].size ? n_y : t[D_KERNEL].size) * sizeof(float));
    float *dx = malloc(t[D_X].size * sizeof(float));

    be->upload(be, l->params[0].w, t[D_KERNEL].data, t[D_KERNEL].size);
    if (use_bias)
        be->upload(be, l->params[1].w, t[D_BIAS].data, t[D_BIAS].size);
    be->upload(be, f->m.acts[0], t[D_X].data, t[D_X].size);
    ly_ctx inference = {0, 0};
    be->download(be, got, model_forward(&f->m, rows, &inference), n_y);
    CHECK_TENSOR(got, t[D_Y].data, n_y, FWD_RTOL, FWD_ATOL, "dense %s: y", name);
    const float *z = l->kind->preactivation(l, f->m.acts[0]);
    CHECK((z != NULL) == has_preactivation, "dense %s: pre-activation %s", name,
          has_preactivation ? "not kept" : "kept, though the activation works in place");
    if (z && has_preactivation) {
        be->download(be, got, z, n_y);
        CHECK_TENSOR(got, t[D_Z].data, n_y, FWD_RTOL, FWD_ATOL, "dense %s: pre-activation z",
                     name);
    }

    layer_backward(f, t[D_DY].data, dx, rows);
    CHECK_TENSOR(dx, t[D_DX].data, t[D_DX].size, GRAD_RTOL, GRAD_ATOL, "dense %s: dx", name);
    be->download(be, got, l->params[0].g, t[D_DKERNEL].size);
    CHECK_TENSOR(got, t[D_DKERNEL].data, t[D_DKERNEL].size, GRAD_RTOL, GRAD_ATOL,
                 "dense %s: dkernel", name);
    if (use_bias) {
        be->download(be, got, l->params[1].g, t[D_DBIAS].size);
        CHECK_TENSOR(got, t[D_DBIAS].data, t[D_DBIAS].size, GRAD_RTOL, GRAD_ATOL,
                     "dense %s: dbias", name);
    }
    free(got);
    free(dx);
}

/* DL_ACT_* of an activation name (-1: none such) */
static int dense_activation(const char *name)
{
    for (int act = 0; ly_activation_names[act]; act++)
        if (!strcmp(ly_activation_names[act], name))
            return act;
    return -1;
}

static void check_dense_case(dl_backend *be, const cJSON *c)
{
    const cJSON *name_item = cJSON_GetObjectItemCaseSensitive(c, "name");
    const cJSON *act = td_get(c, "config.activation");
    const char *name = cJSON_IsString(name_item) ? name_item->valuestring : "?";
    bool use_bias = cJSON_IsTrue(td_get(c, "config.use_bias"));
    int units = (int)td_number(c, "config.units");
    td_tensor t[D_COUNT];
    bool complete = cJSON_IsString(act);
    for (int i = 0; i < D_COUNT; i++) {
        bool wanted = use_bias || (i != D_BIAS && i != D_DBIAS);
        memset(&t[i], 0, sizeof t[i]);
        if (wanted && td_tensor_read(td_get(c, dense_fields[i]), &t[i]))
            complete = false;
    }
    CHECK(complete && units == 5 && t[D_X].ndim == 2 && t[D_KERNEL].ndim == 2,
          "dense.json: case %s incomplete or not the documented 5-unit layer", name);
    fixture f;
    char layers[160], input_shape[32];
    if (complete) {
        snprintf(layers, sizeof layers, "[{Dense: {units: %d, activation: %s, use_bias: %s}}]",
                 units, act->valuestring, use_bias ? "true" : "false");
        snprintf(input_shape, sizeof input_shape, "[%d]", t[D_X].shape[1]);
    }
    if (complete && build_checked(&f, be, input_shape, layers, t[D_X].shape[0])) {
        const ly_layer *l = &f.m.layers[0];
        const dl_shape *k = &l->params[0].shape;
        bool layout = l->nparams == (use_bias ? 2 : 1) && k->ndim == 2 &&
                      k->dim[0] == t[D_KERNEL].shape[0] && k->dim[1] == t[D_KERNEL].shape[1];
        CHECK(layout, "dense %s: %d params, kernel [%d, %d]; want %d params, kernel [%d, %d]",
              name, l->nparams, k->dim[0], k->dim[1], use_bias ? 2 : 1, t[D_KERNEL].shape[0],
              t[D_KERNEL].shape[1]);
        if (layout)
            check_dense_run(name, &f, t, use_bias,
                            !ly_activation_in_place(dense_activation(act->valuestring)));
        fixture_free(&f);
    }
    for (int i = 0; i < D_COUNT; i++)
        td_tensor_free(&t[i]);
}

static void test_dense_reference(dl_backend *be)
{
    cJSON *root = td_load("dense.json");
    const cJSON *c;
    int ncases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        check_dense_case(be, c);
        ncases++;
    }
    CHECK(ncases == 6, "dense.json: %d cases, the README lists 6", ncases);
    cJSON_Delete(root);
}

/* ---- Dropout ---- */

/* dropout.json's inputs through Dropout(rate): identity in inference; in
 * training every y is 0 or x/(1 - rate) (this layer draws its own mask, not
 * the file's), and dx routes dy through the same mask. */
static void test_dropout_semantics(dl_backend *be)
{
    cJSON *root = td_load("dropout.json");
    const cJSON *c = td_case(root, "dropout_train");
    td_tensor x = {0}, dy = {0}, y_inference = {0};
    double rate = td_number(c, "config.rate");
    bool complete = c && !td_tensor_read(td_get(c, "inputs.x"), &x) &&
                    !td_tensor_read(td_get(c, "inputs.dy"), &dy) &&
                    !td_tensor_read(td_get(c, "outputs.y_inference"), &y_inference) &&
                    x.ndim == 2 && rate > 0 && rate < 1;
    CHECK(complete, "dropout.json: case dropout_train incomplete");
    char layers[64], input_shape[32];
    fixture f;
    if (complete) {
        snprintf(layers, sizeof layers, "[{Dropout: {rate: %.17g}}]", rate);
        snprintf(input_shape, sizeof input_shape, "[%d]", x.shape[1]);
    }
    if (complete && build_checked(&f, be, input_shape, layers, x.shape[0])) {
        int batch = x.shape[0];
        size_t n = x.size;
        float *y = malloc(n * sizeof(float)), *dx = malloc(n * sizeof(float));
        float scale = (float)(1.0 / (1.0 - rate));
        be->upload(be, f.m.acts[0], x.data, n);

        ly_ctx inference = {0, 3};
        be->download(be, y, model_forward(&f.m, batch, &inference), n);
        CHECK_TENSOR(y, y_inference.data, n, 0.0, 0.0, "dropout: inference is the identity");

        ly_ctx training = {1, 3};
        be->download(be, y, model_forward(&f.m, batch, &training), n);
        layer_backward(&f, dy.data, dx, batch);
        size_t bad_y = 0, bad_dx = 0;
        for (size_t i = 0; i < n; i++) {
            bool kept = y[i] != 0.0f; /* no x in the file is 0 */
            float want_y = kept ? x.data[i] * scale : 0.0f;
            float want_dx = kept ? dy.data[i] * scale : 0.0f;
            bad_y += fabsf(y[i] - want_y) > 1e-6f * fabsf(want_y);
            bad_dx += fabsf(dx[i] - want_dx) > 1e-6f * fabsf(want_dx);
        }
        CHECK(bad_y == 0, "dropout: %zu of %zu outputs are neither 0 nor x/(1-rate)", bad_y, n);
        CHECK(bad_dx == 0, "dropout: %zu of %zu dx differ from dy through the mask of y",
              bad_dx, n);
        free(y);
        free(dx);
        fixture_free(&f);
    }
    td_tensor_free(&x);
    td_tensor_free(&dy);
    td_tensor_free(&y_inference);
    cJSON_Delete(root);
}

/* Dropout on 4 x 1000 ones: the mask is a function of the step alone (the
 * same step reproduces it, the next step draws another), and it keeps
 * about 1 - rate of the values (binomial sd 0.007 here; 0.04 is > 5 sd). */
static void test_dropout_mask_per_step(dl_backend *be)
{
    enum { BATCH = 4, WIDTH = 1000, N = BATCH * WIDTH };
    fixture f;
    if (!build_checked(&f, be, "[1000]", "[{Dropout: {rate: 0.25}}]", BATCH))
        return;
    static float ones[N], first[N], again[N], next_step[N];
    for (int i = 0; i < N; i++)
        ones[i] = 1.0f;
    be->upload(be, f.m.acts[0], ones, N);
    ly_ctx step_11 = {1, 11}, step_12 = {1, 12};
    be->download(be, first, model_forward(&f.m, BATCH, &step_11), N);
    be->download(be, next_step, model_forward(&f.m, BATCH, &step_12), N);
    be->download(be, again, model_forward(&f.m, BATCH, &step_11), N);

    int kept = 0, differ = 0;
    for (int i = 0; i < N; i++) {
        kept += first[i] != 0.0f;
        differ += (first[i] != 0.0f) != (next_step[i] != 0.0f);
    }
    CHECK(!memcmp(first, again, sizeof first), "dropout: step 11 drew a different mask twice");
    CHECK(differ > N / 10, "dropout: steps 11 and 12 differ in only %d of %d mask entries",
          differ, N);
    CHECK(fabs((double)kept / N - 0.75) < 0.04, "dropout: rate 0.25 kept %d of %d", kept, N);
    fixture_free(&f);
}

/* ---- Flatten and Reshape ---- */

/* One layer on [2, 3, 4]: the output shape is want_shape (ndim, dims) and
 * forward and backward copy the values unchanged in row-major order. */
static void check_copy_layer(dl_backend *be, const char *layers, int ndim, const int *want_dims)
{
    enum { BATCH = 2, N = BATCH * 24 };
    fixture f;
    if (!build_checked(&f, be, "[2, 3, 4]", layers, BATCH))
        return;
    const dl_shape *out = model_output_shape(&f.m);
    bool shape_ok = out->ndim == ndim;
    for (int i = 0; shape_ok && i < ndim; i++)
        shape_ok = out->dim[i] == want_dims[i];
    char got_shape[96];
    dl_shape_format(out, got_shape, sizeof got_shape);
    CHECK(shape_ok, "%s on (None, 2, 3, 4): output %s", layers, got_shape);

    float x[N], y[N], dy[N], dx[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i * 0.5f - 3.0f;
        dy[i] = (float)(N - i) * 0.25f;
    }
    be->upload(be, f.m.acts[0], x, N);
    ly_ctx training = {1, 0};
    be->download(be, y, model_forward(&f.m, BATCH, &training), N);
    layer_backward(&f, dy, dx, BATCH);
    CHECK(!memcmp(y, x, sizeof x), "%s: forward does not keep the row-major values", layers);
    CHECK(!memcmp(dx, dy, sizeof dy), "%s: backward does not copy dy", layers);
    fixture_free(&f);
}

static void test_flatten_reshape(dl_backend *be)
{
    check_copy_layer(be, "[Flatten]", 1, (const int[]){24});
    check_copy_layer(be, "[{Reshape: {target_shape: [3, 8]}}]", 2, (const int[]){3, 8});
    check_copy_layer(be, "[{Reshape: {target_shape: [-1, 6]}}]", 2, (const int[]){4, 6});
    check_copy_layer(be, "[{Reshape: {target_shape: [2, -1, 3]}}]", 3, (const int[]){2, 4, 3});

    /* 24 values do not split into rows of 5: a config error naming the layer */
    fixture f;
    dl_err err = {0};
    int rc = fixture_build(&f, be, "[2, 3, 4]", "[{Reshape: {target_shape: [5, -1]}}]", 1,
                           &err);
    CHECK(rc == DL_ERR && err.exit_code == DL_EXIT_USAGE && strstr(err.msg, "Reshape"),
          "Reshape [5, -1] of 24 values: rc %d, exit %d, message '%s'", rc, err.exit_code,
          err.msg);
    if (rc == DL_OK)
        fixture_free(&f);
}

/* ly_activation_in_place: each activation it names has the same
 * derivative from its output as from its input, at the kinks too (x = 0,
 * relu6's 6); the ones a fused cross-entropy reads keep their input. */
static void test_activation_in_place(void)
{
    static const float xs[] = {-8.0f, -3.0f, -1.0f, -1e-3f, -1e-30f, -0.0f, 0.0f, 1e-30f,
                               1e-3f, 0.5f,  1.0f,  3.0f,   5.999f, 6.0f,  6.001f, 8.0f};
    int in_place = 0;
    for (int act = 0; act < DL_ACT_SOFTMAX; act++) {
        if (!ly_activation_in_place(act))
            continue;
        in_place++;
        float alpha = ly_activation_alpha(act);
        for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
            float y = dl_act_f(act, xs[i], alpha);
            float from_x = dl_act_df(act, xs[i], y, alpha), from_y = dl_act_df(act, y, y, alpha);
            CHECK(from_y == from_x, "%s at x = %g: derivative %g from y, %g from x",
                  ly_activation_names[act], xs[i], from_y, from_x);
        }
    }
    CHECK(in_place == 7, "%d activations in place, want linear, relu, relu6, leaky_relu, elu, "
                         "selu and tanh", in_place);
    CHECK(!ly_activation_in_place(DL_ACT_SIGMOID) && !ly_activation_in_place(DL_ACT_SOFTMAX) &&
              !ly_activation_in_place(DL_ACT_GELU),
          "sigmoid, softmax and gelu keep their pre-activation");
}

int main(void)
{
    dl_err err = {0};
    dl_backend *be = be_cpu_create(1, &err);
    if (!be) {
        fprintf(stderr, "cpu backend: %s\n", err.msg);
        return 1;
    }
    test_dense_reference(be);
    test_dropout_semantics(be);
    test_dropout_mask_per_step(be);
    test_flatten_reshape(be);
    test_activation_in_place();
    be->destroy(be);
    return check_report("layers");
}
