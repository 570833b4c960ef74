/* test_norm.c: BatchNormalization and LayerNormalization as a model runs
 * them (tests/unit/layer_probe.h):
 *   - every case of tests/data/keras/normalization.json with the README's
 *     tolerances: BatchNormalization training (y, the op's batch mean and
 *     variance, the new moving statistics, dx, dgamma, dbeta) and inference
 *     (y), LayerNormalization 2-D and 3-D (y, the op's row statistics, dx,
 *     dgamma, dbeta);
 *   - BatchNormalization on NHWC input against nested loops in double
 *     (rows = n*h*w), also past the op's 64-channel blocks;
 *   - finite-difference gradients in training mode, with and without
 *     center and scale;
 *   - inference mode: the moving statistics, unchanged; training mode: the
 *     moving statistics updated in the weight slab (what a model file
 *     saves), non-trainable;
 *   - build errors. */
#include "tests/unit/layer_probe.h"
#include "tests/unit/testdata.h"

#define FWD_RTOL 1e-5
#define FWD_ATOL 1e-6
#define GRAD_RTOL 1e-4
#define GRAD_ATOL 1e-5

/* ---- the Keras reference data ---- */

enum {
    N_X, N_GAMMA, N_BETA, N_MOVING_MEAN, N_MOVING_VAR, N_DY,
    N_Y, N_MEAN, N_VAR, N_NEW_MEAN, N_NEW_VAR, N_DX, N_DGAMMA, N_DBETA, N_COUNT
};
static const char *const norm_fields[N_COUNT] = {
    "inputs.x", "inputs.gamma", "inputs.beta", "inputs.moving_mean", "inputs.moving_variance",
    "inputs.dy", "outputs.y", "outputs.batch_mean", "outputs.batch_variance",
    "outputs.new_moving_mean", "outputs.new_moving_variance", "outputs.dx", "outputs.dgamma",
    "outputs.dbeta",
};

typedef enum { CASE_BN_TRAIN, CASE_BN_INFER, CASE_LAYERNORM } case_kind;

/* The fields a case of that kind carries. */
static bool case_has(case_kind kind, int field)
{
    switch (field) {
    case N_MOVING_MEAN:
    case N_MOVING_VAR: return kind != CASE_LAYERNORM;
    case N_NEW_MEAN:
    case N_NEW_VAR: return kind == CASE_BN_TRAIN;
    case N_DX:
    case N_DGAMMA:
    case N_DBETA: return kind != CASE_BN_INFER;
    default: return true;
    }
}

/* The op's statistics of the case's x: BatchNormalization per channel
 * (batch_mean, batch_variance), LayerNormalization per row (mean,
 * variance); the variance comes back as 1/inv_std^2 - epsilon. */
static void check_op_statistics(dl_backend *be, const char *name, case_kind kind, td_tensor *t,
                                float epsilon, const td_tensor *want_mean,
                                const td_tensor *want_var)
{
    int c = t[N_X].shape[t[N_X].ndim - 1], rows = (int)(t[N_X].size / (size_t)c);
    int nstats = kind == CASE_LAYERNORM ? rows : c;
    float *x = be->alloc(be, t[N_X].size), *y = be->alloc(be, t[N_X].size);
    float *gamma = be->alloc(be, c), *beta = be->alloc(be, c);
    float *moving = be->alloc(be, 2 * (size_t)c), *stats = be->alloc(be, 2 * (size_t)nstats);
    float *host = malloc(2 * (size_t)nstats * sizeof(float));
    be->upload(be, x, t[N_X].data, t[N_X].size);
    be->upload(be, gamma, t[N_GAMMA].data, c);
    be->upload(be, beta, t[N_BETA].data, c);
    if (kind == CASE_LAYERNORM)
        be->layernorm_forward(be, x, rows, c, gamma, beta, epsilon, y, stats, stats + rows);
    else
        be->batchnorm_train(be, x, rows, c, gamma, beta, epsilon, 0.99f, moving, moving + c, y,
                            stats, stats + c);
    be->download(be, host, stats, 2 * (size_t)nstats);
    for (int i = 0; i < nstats; i++)
        host[nstats + i] = 1.0f / (host[nstats + i] * host[nstats + i]) - epsilon;
    CHECK_TENSOR(host, want_mean->data, (size_t)nstats, FWD_RTOL, FWD_ATOL, "%s: op mean", name);
    CHECK_TENSOR(host + nstats, want_var->data, (size_t)nstats, FWD_RTOL, FWD_ATOL,
                 "%s: op variance", name);
    free(host);
    be->release(be, x);
    be->release(be, y);
    be->release(be, gamma);
    be->release(be, beta);
    be->release(be, moving);
    be->release(be, stats);
}

/* The case through the layer with the case's weights. */
static void check_reference_run(const char *name, case_kind kind, probe *p, td_tensor *t)
{
    dl_backend *be = p->be;
    ly_layer *l = p->l;
    float got[64], *dx = malloc(p->n_in * sizeof(float));
    int c = t[N_GAMMA].shape[0];
    static const int weight_fields[] = {N_GAMMA, N_BETA, N_MOVING_MEAN, N_MOVING_VAR};
    for (int i = 0; i < l->nparams; i++)
        memcpy(p->weights + l->params[i].offset, t[weight_fields[i]].data, c * sizeof(float));
    memcpy(p->x, t[N_X].data, p->n_in * sizeof(float));
    memcpy(p->dy, t[N_DY].data, p->n_out * sizeof(float));
    p->ctx.training = kind != CASE_BN_INFER;
    probe_forward(p);
    CHECK_TENSOR(p->y, t[N_Y].data, p->n_out, FWD_RTOL, FWD_ATOL, "%s: y", name);
    if (kind == CASE_BN_TRAIN) {
        be->download(be, got, l->params[2].w, c);
        CHECK_TENSOR(got, t[N_NEW_MEAN].data, c, FWD_RTOL, FWD_ATOL, "%s: new moving_mean", name);
        be->download(be, got, l->params[3].w, c);
        CHECK_TENSOR(got, t[N_NEW_VAR].data, c, FWD_RTOL, FWD_ATOL, "%s: new moving_variance",
                     name);
    }
    if (kind != CASE_BN_INFER) {
        probe_backward(p, dx);
        CHECK_TENSOR(dx, t[N_DX].data, p->n_in, GRAD_RTOL, GRAD_ATOL, "%s: dx", name);
        be->download(be, got, l->params[0].g, c);
        CHECK_TENSOR(got, t[N_DGAMMA].data, c, GRAD_RTOL, GRAD_ATOL, "%s: dgamma", name);
        be->download(be, got, l->params[1].g, c);
        CHECK_TENSOR(got, t[N_DBETA].data, c, GRAD_RTOL, GRAD_ATOL, "%s: dbeta", name);
    }
    free(dx);
}

static void check_reference_case(dl_backend *be, const cJSON *c)
{
    const cJSON *name_item = cJSON_GetObjectItemCaseSensitive(c, "name");
    const cJSON *layer = td_get(c, "config.layer");
    const char *name = cJSON_IsString(name_item) ? name_item->valuestring : "?";
    bool batchnorm = cJSON_IsString(layer) && !strcmp(layer->valuestring, "BatchNormalization");
    case_kind kind = !batchnorm ? CASE_LAYERNORM
                     : cJSON_IsTrue(td_get(c, "config.training")) ? CASE_BN_TRAIN
                                                                   : CASE_BN_INFER;
    double epsilon = td_number(c, "config.epsilon"), momentum = td_number(c, "config.momentum");
    td_tensor t[N_COUNT];
    bool complete = cJSON_IsString(layer) && epsilon > 0;
    for (int i = 0; i < N_COUNT; i++) {
        const char *field = norm_fields[i];
        if (kind == CASE_LAYERNORM && (i == N_MEAN || i == N_VAR))
            field = i == N_MEAN ? "outputs.mean" : "outputs.variance";
        memset(&t[i], 0, sizeof t[i]);
        bool wanted = case_has(kind, i) && !(kind == CASE_BN_INFER && (i == N_MEAN || i == N_VAR));
        if (wanted && td_tensor_read(td_get(c, field), &t[i]))
            complete = false;
    }
    complete = complete && t[N_X].ndim >= 2 && t[N_X].ndim <= 4 && t[N_GAMMA].shape[0] <= 64;
    CHECK(complete, "normalization.json: case %s incomplete", name);
    char layers[160], input_shape[64] = "[";
    for (int i = 1; complete && i < t[N_X].ndim; i++)
        snprintf(input_shape + strlen(input_shape), sizeof input_shape - strlen(input_shape),
                 "%d%s", t[N_X].shape[i], i + 1 < t[N_X].ndim ? ", " : "]");
    if (batchnorm)
        snprintf(layers, sizeof layers, "[{BatchNormalization: {momentum: %.17g, epsilon: %.17g}}]",
                 momentum, epsilon);
    else
        snprintf(layers, sizeof layers, "[{LayerNormalization: {epsilon: %.17g}}]", epsilon);
    probe p;
    if (complete && probe_open_checked(&p, be, input_shape, layers, t[N_X].shape[0])) {
        check_reference_run(name, kind, &p, t);
        if (kind != CASE_BN_INFER)
            check_op_statistics(be, name, kind, t, (float)epsilon, &t[N_MEAN], &t[N_VAR]);
        probe_close(&p);
    }
    for (int i = 0; i < N_COUNT; i++)
        td_tensor_free(&t[i]);
}

static void test_reference_file(dl_backend *be)
{
    cJSON *root = td_load("normalization.json");
    const cJSON *c;
    int ncases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        check_reference_case(be, c);
        ncases++;
    }
    CHECK(ncases == 6, "normalization.json: %d cases, the README lists 6", ncases);
    cJSON_Delete(root);
}

/* ---- BatchNormalization on NHWC input against nested loops ---- */

/* Per channel k over the M = n*h*w pixels of x [M, c]: Keras's training
 * forward, moving update and backward in double. out: y, dx [M, c];
 * new_mean, new_var, dgamma, dbeta [c]. */
static void batchnorm_loops(const float *x, const float *dy, const float *w, int m, int c,
                            double momentum, double epsilon, double *y, double *dx,
                            double *new_mean, double *new_var, double *dgamma, double *dbeta)
{
    const float *gamma = w, *beta = w + c, *mean0 = w + 2 * c, *var0 = w + 3 * c;
    for (int k = 0; k < c; k++) {
        double mean = 0.0, var = 0.0, sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int r = 0; r < m; r++)
            mean += x[(size_t)r * c + k];
        mean /= m;
        for (int r = 0; r < m; r++)
            var += (x[(size_t)r * c + k] - mean) * (x[(size_t)r * c + k] - mean);
        var /= m;
        double inv_std = 1.0 / sqrt(var + epsilon);
        for (int r = 0; r < m; r++) {
            size_t at = (size_t)r * c + k;
            double xhat = (x[at] - mean) * inv_std;
            y[at] = gamma[k] * xhat + beta[k];
            sum_dy += dy[at];
            sum_dy_xhat += dy[at] * xhat;
        }
        for (int r = 0; r < m; r++) {
            size_t at = (size_t)r * c + k;
            double xhat = (x[at] - mean) * inv_std;
            dx[at] = gamma[k] * inv_std * (dy[at] - sum_dy / m - xhat * sum_dy_xhat / m);
        }
        new_mean[k] = mean0[k] * momentum + mean * (1.0 - momentum);
        new_var[k] = var0[k] * momentum + var * (1.0 - momentum);
        dgamma[k] = sum_dy_xhat;
        dbeta[k] = sum_dy;
    }
}

/* got [n] (float) against want [n] (double) as one check */
static void check_against_double(const float *got, const double *want, size_t n, double rtol,
                                 double atol, const char *what, const char *shape)
{
    float *want_f = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        want_f[i] = (float)want[i];
    CHECK_TENSOR(got, want_f, n, rtol, atol, "BatchNormalization on %s: %s", shape, what);
    free(want_f);
}

static void check_batchnorm_loops(dl_backend *be, const char *input_shape, int batch, int c)
{
    const double momentum = 0.8, epsilon = 0.01;
    probe p;
    if (!probe_open_checked(&p, be, input_shape,
                            "[{BatchNormalization: {momentum: 0.8, epsilon: 0.01}}]", batch))
        return;
    int m = (int)(p.n_in / (size_t)c);
    double *y = malloc(p.n_in * sizeof(double)), *dx = malloc(p.n_in * sizeof(double));
    double *vectors = malloc(4 * (size_t)c * sizeof(double)); /* new mean, var, dgamma, dbeta */
    float *got = malloc(p.n_in * sizeof(float));
    probe_fill(p.x, p.n_in, -2.0f, 3.0f, 40); /* channel means away from 0 */
    probe_fill(p.weights, 2 * (size_t)c, 0.5f, 1.5f, 41);
    probe_fill(p.weights + 2 * c, 2 * (size_t)c, 0.2f, 2.0f, 42);
    batchnorm_loops(p.x, p.dy, p.weights, m, c, momentum, epsilon, y, dx, vectors,
                    vectors + c, vectors + 2 * c, vectors + 3 * c);
    probe_forward(&p);
    check_against_double(p.y, y, p.n_in, FWD_RTOL, FWD_ATOL, "y", input_shape);
    static const char *const names[] = {"moving_mean", "moving_variance", "dgamma", "dbeta"};
    for (int i = 0; i < 2; i++) {
        be->download(be, got, p.l->params[2 + i].w, c);
        check_against_double(got, vectors + i * c, c, FWD_RTOL, FWD_ATOL, names[i], input_shape);
    }
    probe_backward(&p, got);
    check_against_double(got, dx, p.n_in, GRAD_RTOL, GRAD_ATOL, "dx", input_shape);
    for (int i = 0; i < 2; i++) {
        be->download(be, got, p.l->params[i].g, c);
        check_against_double(got, vectors + (2 + i) * c, c, GRAD_RTOL, GRAD_ATOL, names[2 + i],
                             input_shape);
    }
    free(y);
    free(dx);
    free(vectors);
    free(got);
    probe_close(&p);
}

static void test_batchnorm_loops(dl_backend *be)
{
    check_batchnorm_loops(be, "[4, 5, 6]", 3, 6);
    check_batchnorm_loops(be, "[2, 3, 70]", 2, 70);
}

/* ---- finite differences (training mode for BatchNormalization) ---- */

static void test_gradients(dl_backend *be)
{
    probe_gradcheck_layer(be, "BatchNormalization [5]", "[5]", "[BatchNormalization]", 4, 1,
                          -1.0f, 1.0f);
    probe_gradcheck_layer(be, "BatchNormalization NHWC", "[3, 3, 4]", "[BatchNormalization]", 2,
                          1, -1.0f, 2.0f);
    probe_gradcheck_layer(be, "BatchNormalization center false", "[4]",
                          "[{BatchNormalization: {center: false}}]", 5, 1, -1.0f, 1.0f);
    probe_gradcheck_layer(be, "BatchNormalization scale false", "[4]",
                          "[{BatchNormalization: {scale: false}}]", 5, 1, -1.0f, 1.0f);
    probe_gradcheck_layer(be, "LayerNormalization [6]", "[6]", "[LayerNormalization]", 3, 1,
                          -1.0f, 1.0f);
    probe_gradcheck_layer(be, "LayerNormalization [3, 5]", "[3, 5]", "[LayerNormalization]", 2,
                          0, -1.0f, 2.0f);
    probe_gradcheck_layer(be, "LayerNormalization no center, no scale", "[6]",
                          "[{LayerNormalization: {center: false, scale: false}}]", 3, 1, -1.0f,
                          1.0f);
}

/* ---- behaviour ---- */

/* Layout: gamma, beta trainable; moving_mean, moving_variance not (no
 * gradient, not in the optimizer's variables), all four in the weight
 * slab. Inference uses and keeps the moving statistics; each training
 * forward moves them in the slab. */
static void test_moving_statistics(dl_backend *be)
{
    enum { C = 3, BATCH = 4 };
    static const char *const names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    probe p;
    if (!probe_open_checked(&p, be, "[3]", "[BatchNormalization]", BATCH))
        return;
    ly_layer *l = p.l;
    bool layout = l->nparams == 4 && p.m.nweights == 4 * C && p.m.ntrainable == 2 * C &&
                  p.m.nvars == 2;
    for (int i = 0; layout && i < 4; i++)
        layout = !strcmp(l->params[i].name, names[i]) && l->params[i].trainable == (i < 2) &&
                 (l->params[i].g != NULL) == (i < 2);
    CHECK(layout, "BatchNormalization(3): %d params, %zu weights, %zu trainable, %d variables; "
                  "want gamma, beta trainable, moving_mean, moving_variance not",
          l->nparams, p.m.nweights, p.m.ntrainable, p.m.nvars);
    CHECK(p.weights[0] == 1.0f && p.weights[C] == 0.0f && p.weights[2 * C] == 0.0f &&
              p.weights[3 * C] == 1.0f,
          "BatchNormalization initial weights: gamma %g, beta %g, moving %g, %g", p.weights[0],
          p.weights[C], p.weights[2 * C], p.weights[3 * C]);
    if (!layout) {
        probe_close(&p);
        return;
    }
    static const float w[4 * C] = {1.5f, 0.5f, 2.0f, 0.1f, -0.2f, 0.3f,
                                   0.4f, -1.0f, 2.0f, 0.25f, 4.0f, 1.0f};
    memcpy(p.weights, w, sizeof w);
    p.ctx.training = 0;
    probe_forward(&p);
    size_t off = 0;
    for (int r = 0; r < BATCH; r++)
        for (int k = 0; k < C; k++) {
            float x = p.x[r * C + k];
            float want = w[k] * (x - w[2 * C + k]) / sqrtf(w[3 * C + k] + 1e-3f) + w[C + k];
            off += fabsf(p.y[r * C + k] - want) > 1e-5f * (1.0f + fabsf(want));
        }
    float after[4 * C];
    model_get_weights(&p.m, after);
    CHECK(off == 0 && !memcmp(after, w, sizeof w),
          "BatchNormalization inference: %zu outputs off the moving-statistics formula, moving "
          "statistics %s",
          off, memcmp(after, w, sizeof w) ? "changed" : "kept");

    /* two training steps: moving = moving * 0.99 + batch * 0.01, twice */
    p.ctx.training = 1;
    double want[2 * C];
    for (int k = 0; k < C; k++) {
        double mean = 0.0, var = 0.0;
        for (int r = 0; r < BATCH; r++)
            mean += p.x[r * C + k] / (double)BATCH;
        for (int r = 0; r < BATCH; r++)
            var += (p.x[r * C + k] - mean) * (p.x[r * C + k] - mean) / BATCH;
        want[k] = (w[2 * C + k] * 0.99 + mean * 0.01) * 0.99 + mean * 0.01;
        want[C + k] = (w[3 * C + k] * 0.99 + var * 0.01) * 0.99 + var * 0.01;
    }
    model *m = &p.m;
    p.be->upload(p.be, m->acts[0], p.x, p.n_in);
    model_set_weights(m, w);
    model_forward(m, BATCH, &p.ctx);
    model_forward(m, BATCH, &p.ctx);
    model_get_weights(m, after);
    off = 0;
    for (int i = 0; i < 2 * C; i++)
        off += fabs(after[2 * C + i] - want[i]) > 1e-6 * (1.0 + fabs(want[i]));
    CHECK(off == 0 && !memcmp(after, w, 2 * C * sizeof(float)),
          "BatchNormalization after two training forwards: %zu moving statistics off; gamma "
          "and beta %s",
          off, memcmp(after, w, 2 * C * sizeof(float)) ? "changed" : "kept");
    probe_close(&p);
}

/* center/scale false drop beta/gamma: y is the normalized x plus beta, or
 * gamma times the normalized x. */
static void test_center_scale(dl_backend *be)
{
    probe p;
    if (!probe_open_checked(&p, be, "[2]", "[{BatchNormalization: {center: false, scale: false}}]",
                            6))
        return;
    CHECK(p.l->nparams == 2 && !strcmp(p.l->params[0].name, "moving_mean") &&
              p.m.ntrainable == 0,
          "BatchNormalization(center, scale false): %d params, %zu trainable; want the moving "
          "statistics only",
          p.l->nparams, p.m.ntrainable);
    probe_forward(&p);
    double mean[2] = {0}, sq[2] = {0};
    for (int i = 0; i < 12; i++) {
        mean[i % 2] += p.y[i] / 6.0;
        sq[i % 2] += p.y[i] * p.y[i] / 6.0;
    }
    CHECK(fabs(mean[0]) < 1e-6 && fabs(mean[1]) < 1e-6 && fabs(sq[0] - 1.0) < 0.05 &&
              fabs(sq[1] - 1.0) < 0.05,
          "BatchNormalization(center, scale false): channel means %g, %g and mean squares %g, "
          "%g; want 0 and about 1",
          mean[0], mean[1], sq[0], sq[1]);
    probe_close(&p);
    if (!probe_open_checked(&p, be, "[2]", "[{LayerNormalization: {center: false}}]", 3))
        return;
    CHECK(p.l->nparams == 1 && !strcmp(p.l->params[0].name, "gamma"),
          "LayerNormalization(center false): %d params, first %s; want gamma only",
          p.l->nparams, p.l->nparams ? p.l->params[0].name : "none");
    probe_close(&p);
}

static void test_build_errors(dl_backend *be)
{
    probe_expect_usage_error(be, "[4, 5, 6]", "[{BatchNormalization: {axis: 1}}]",
                             "only the last axis");
    probe_expect_usage_error(be, "[3, 5]", "[{LayerNormalization: {axis: 1}}]",
                             "only the last axis");
    probe_expect_usage_error(be, "[3]", "[{BatchNormalization: {momentum: 1.5}}]", "momentum");
    probe_expect_usage_error(be, "[3]", "[{LayerNormalization: {epsilon: 0}}]", "epsilon");
    probe_expect_usage_error(be, "[3]", "[{LayerNormalization: {momentum: 0.9}}]", "momentum");
}

int main(void)
{
    dl_err err = {0};
    dl_backend *be = be_cpu_create(1, &err);
    if (!be) {
        fprintf(stderr, "cpu backend: %s\n", err.msg);
        return 1;
    }
    test_reference_file(be);
    test_batchnorm_loops(be);
    test_gradients(be);
    test_moving_statistics(be);
    test_center_scale(be);
    test_build_errors(be);
    be->destroy(be);
    return check_report("norm");
}
