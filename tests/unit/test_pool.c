/* test_pool.c: the pooling layers (MaxPooling2D/1D, AveragePooling2D/1D
 * and their Global forms) as a model runs them, built from YAML through
 * the config:
 *   - every case of tests/data/keras/pooling.json (y and dx, the README's
 *     tolerances);
 *   - forward and backward against direct nested loops in double, over a
 *     table of windows, strides (given and defaulted), valid/same padding,
 *     1-D and 2-D, global with and without keepdims;
 *   - max pooling's tie rule (the first maximum takes the gradient);
 *   - finite-difference gradients of every kind;
 *   - output shapes and the build errors of shapes that do not fit.
 * The layers run through tests/unit/layer_probe.h. */
#include "tests/unit/layer_probe.h"
#include "tests/unit/testdata.h"

#define FWD_RTOL 1e-5
#define FWD_ATOL 1e-6
#define GRAD_RTOL 1e-4
#define GRAD_ATOL 1e-5

/* The probe's forward (into p->y) and backward (dx [n_in]) with both
 * outputs starting as NaN: the model reuses its buffers, so the layer must
 * overwrite every value. */
static void run_layer(probe *p, float *dx)
{
    dl_backend *be = p->be;
    float *dy_dev = be->alloc(be, p->n_out), *dx_dev = be->alloc(be, p->n_in);
    be->fill(be, p->m.acts[1], NAN, p->n_out);
    probe_forward(p);
    be->fill(be, dx_dev, NAN, p->n_in);
    be->upload(be, dy_dev, p->dy, p->n_out);
    p->l->kind->backward(p->l, p->m.acts[0], p->m.acts[1], dy_dev, dx_dev, p->batch);
    be->download(be, dx, dx_dev, p->n_in);
    be->release(be, dy_dev);
    be->release(be, dx_dev);
}

/* ---- the Keras reference data ---- */

/* The case's layer as YAML: windowed kinds list pool_size, strides and
 * padding; global kinds keepdims. */
static void reference_layer_yaml(const cJSON *c, const char *layer, char *buf, size_t len)
{
    const cJSON *pool = td_get(c, "config.pool_size"), *strides = td_get(c, "config.strides");
    const cJSON *padding = td_get(c, "config.padding");
    if (!pool) {
        snprintf(buf, len, "[{%s: {keepdims: %s}}]", layer,
                 cJSON_IsTrue(td_get(c, "config.keepdims")) ? "true" : "false");
        return;
    }
    snprintf(buf, len, "[{%s: {pool_size: [%d, %d], strides: [%d, %d], padding: %s}}]", layer,
             cJSON_GetArrayItem(pool, 0)->valueint, cJSON_GetArrayItem(pool, 1)->valueint,
             cJSON_GetArrayItem(strides, 0)->valueint, cJSON_GetArrayItem(strides, 1)->valueint,
             cJSON_IsString(padding) ? padding->valuestring : "?");
}

static void check_reference_case(dl_backend *be, const cJSON *c)
{
    const cJSON *name_item = cJSON_GetObjectItemCaseSensitive(c, "name");
    const cJSON *layer = td_get(c, "config.layer");
    const char *name = cJSON_IsString(name_item) ? name_item->valuestring : "?";
    td_tensor x = {0}, dy = {0}, want_y = {0}, want_dx = {0};
    bool complete = cJSON_IsString(layer) && !td_tensor_read(td_get(c, "inputs.x"), &x) &&
                    !td_tensor_read(td_get(c, "inputs.dy"), &dy) &&
                    !td_tensor_read(td_get(c, "outputs.y"), &want_y) &&
                    !td_tensor_read(td_get(c, "outputs.dx"), &want_dx) && x.ndim == 4;
    CHECK(complete, "pooling %s: case incomplete", name);
    char layers[256], input_shape[64];
    probe p;
    if (complete) {
        reference_layer_yaml(c, layer->valuestring, layers, sizeof layers);
        snprintf(input_shape, sizeof input_shape, "[%d, %d, %d]", x.shape[1], x.shape[2],
                 x.shape[3]);
    }
    if (complete && probe_open_checked(&p, be, input_shape, layers, x.shape[0])) {
        bool shape_ok = p.n_out == want_y.size;
        CHECK(shape_ok, "pooling %s: %zu outputs, the file has %zu", name, p.n_out, want_y.size);
        if (shape_ok) {
            float *dx = malloc(x.size * sizeof(float));
            memcpy(p.x, x.data, x.size * sizeof(float));
            memcpy(p.dy, dy.data, dy.size * sizeof(float));
            run_layer(&p, dx);
            CHECK_TENSOR(p.y, want_y.data, want_y.size, FWD_RTOL, FWD_ATOL, "pooling %s: y", name);
            CHECK_TENSOR(dx, want_dx.data, want_dx.size, GRAD_RTOL, GRAD_ATOL, "pooling %s: dx",
                         name);
            free(dx);
        }
        probe_close(&p);
    }
    td_tensor_free(&x);
    td_tensor_free(&dy);
    td_tensor_free(&want_y);
    td_tensor_free(&want_dx);
}

static void test_reference_file(dl_backend *be)
{
    cJSON *root = td_load("pooling.json");
    const cJSON *c;
    int ncases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        check_reference_case(be, c);
        ncases++;
    }
    CHECK(ncases == 11, "pooling.json: %d cases, the README lists 11", ncases);
    cJSON_Delete(root);
}

/* ---- direct nested loops ---- */

typedef struct loop_case {
    const char *layer;          /* Keras class name */
    int rank;                   /* 1 or 2 spatial axes (1: h = ph = sh = 1) */
    int max;                    /* max (1) or average (0) */
    int global;                 /* window = the whole input */
    int keepdims;               /* global only */
    int batch, h, w, c;
    int ph, pw, sh, sw;         /* sh = sw = 0: strides left to default */
    int same;                   /* padding same (1) or valid (0) */
} loop_case;

static const loop_case loop_cases[] = {
    /* layer, rank, max, global, keepdims, batch, h, w, c, ph, pw, sh, sw, same */
    {"MaxPooling2D", 2, 1, 0, 0, 2, 6, 6, 3, 2, 2, 0, 0, 0},
    /* 2x2 windows: odd sizes ('valid' drops the last row and column),
     * 'same' on even sizes, channels not a multiple of 8 */
    {"MaxPooling2D", 2, 1, 0, 0, 2, 7, 5, 5, 2, 2, 0, 0, 0},
    {"MaxPooling2D", 2, 1, 0, 0, 2, 6, 4, 9, 2, 2, 2, 2, 1},
    {"AveragePooling2D", 2, 0, 0, 0, 3, 5, 7, 9, 2, 2, 0, 0, 0},
    {"AveragePooling2D", 2, 0, 0, 0, 2, 4, 6, 2, 2, 2, 0, 0, 1},
    {"MaxPooling2D", 2, 1, 0, 0, 2, 7, 5, 2, 3, 2, 2, 1, 0},
    {"MaxPooling2D", 2, 1, 0, 0, 2, 7, 6, 3, 3, 3, 2, 2, 1},
    {"MaxPooling2D", 2, 1, 0, 0, 3, 5, 7, 2, 2, 3, 1, 3, 1},
    /* more than the backend's backward block of 1024 floats: split by pixels, by channels */
    {"MaxPooling1D", 1, 1, 0, 0, 2, 1, 40, 70, 1, 2, 0, 0, 0},
    {"MaxPooling2D", 2, 1, 0, 0, 1, 5, 5, 1030, 2, 2, 1, 1, 1},
    {"AveragePooling2D", 2, 0, 0, 0, 1, 4, 5, 1100, 3, 2, 2, 1, 1},
    {"GlobalMaxPooling2D", 2, 1, 1, 0, 2, 2, 3, 1100, 0, 0, 0, 0, 0},
    {"AveragePooling2D", 2, 0, 0, 0, 2, 6, 6, 3, 2, 2, 0, 0, 0},
    {"AveragePooling2D", 2, 0, 0, 0, 2, 7, 5, 2, 3, 2, 2, 1, 1},
    {"AveragePooling2D", 2, 0, 0, 0, 2, 5, 8, 3, 3, 3, 1, 1, 1},
    {"AveragePooling2D", 2, 0, 0, 0, 3, 8, 7, 2, 4, 2, 3, 2, 0},
    {"MaxPooling1D", 1, 1, 0, 0, 2, 1, 9, 3, 1, 2, 0, 0, 0},
    {"MaxPooling1D", 1, 1, 0, 0, 2, 1, 9, 3, 1, 3, 1, 2, 1},
    {"AveragePooling1D", 1, 0, 0, 0, 2, 1, 10, 2, 1, 4, 1, 3, 1},
    {"AveragePooling1D", 1, 0, 0, 0, 3, 1, 7, 3, 1, 2, 1, 1, 0},
    {"GlobalMaxPooling2D", 2, 1, 1, 0, 2, 4, 5, 3, 0, 0, 0, 0, 0},
    {"GlobalAveragePooling2D", 2, 0, 1, 1, 2, 5, 3, 4, 0, 0, 0, 0, 0},
    {"GlobalMaxPooling1D", 1, 1, 1, 1, 3, 1, 6, 2, 0, 0, 0, 0, 0},
    {"GlobalAveragePooling1D", 1, 0, 1, 0, 2, 1, 7, 3, 0, 0, 0, 0, 0},
};

/* Keras's output length and padding before, written out here as the
 * README states them, independently of the layer. */
static int keras_axis(int same, int n, int k, int s, int *pad_before)
{
    if (!same) {
        *pad_before = 0;
        return (n - k) / s + 1;
    }
    int out = (n + s - 1) / s;
    int total = (out - 1) * s + k - n;
    *pad_before = total > 0 ? total / 2 : 0;
    return out;
}

/* The case's geometry in a dl_pool_desc (only as a carrier of numbers). */
static dl_pool_desc loop_geometry(const loop_case *lc)
{
    dl_pool_desc g = {.n = lc->batch, .h = lc->h, .w = lc->w, .c = lc->c, .ph = lc->h,
                      .pw = lc->w, .sh = 1, .sw = 1, .oh = 1, .ow = 1};
    if (lc->global)
        return g;
    g.ph = lc->ph;
    g.pw = lc->pw;
    g.sh = lc->sh ? lc->sh : lc->ph;
    g.sw = lc->sw ? lc->sw : lc->pw;
    g.oh = keras_axis(lc->same, lc->h, g.ph, g.sh, &g.pad_top);
    g.ow = keras_axis(lc->same, lc->w, g.pw, g.sw, &g.pad_left);
    return g;
}

/* want_y and want_dx (zero-initialised by the caller): each window over
 * its valid pixels; the maximum's gradient goes to its first occurrence
 * in row-major order, the average's is shared by the valid pixels. */
static void loop_reference(const dl_pool_desc *g, int max, const float *x, const float *dy,
                           double *want_y, double *want_dx)
{
    for (int b = 0; b < g->n; b++)
        for (int i = 0; i < g->oh; i++)
            for (int j = 0; j < g->ow; j++)
                for (int ch = 0; ch < g->c; ch++) {
                    size_t out = (((size_t)b * g->oh + i) * g->ow + j) * g->c + ch;
                    size_t argmax = 0;
                    int count = 0;
                    double sum = 0.0, best = -INFINITY;
                    for (int a = 0; a < g->ph; a++)
                        for (int e = 0; e < g->pw; e++) {
                            int r = i * g->sh + a - g->pad_top, q = j * g->sw + e - g->pad_left;
                            if (r < 0 || r >= g->h || q < 0 || q >= g->w)
                                continue;
                            size_t xi = (((size_t)b * g->h + r) * g->w + q) * g->c + ch;
                            count++;
                            sum += x[xi];
                            if (x[xi] > best) {
                                best = x[xi];
                                argmax = xi;
                            }
                        }
                    want_y[out] = max ? best : sum / count;
                    if (max) {
                        want_dx[argmax] += dy[out];
                        continue;
                    }
                    for (int a = 0; a < g->ph; a++)
                        for (int e = 0; e < g->pw; e++) {
                            int r = i * g->sh + a - g->pad_top, q = j * g->sw + e - g->pad_left;
                            if (r >= 0 && r < g->h && q >= 0 && q < g->w)
                                want_dx[(((size_t)b * g->h + r) * g->w + q) * g->c + ch] +=
                                    dy[out] / count;
                        }
                }
}

static void loop_case_yaml(const loop_case *lc, char *layers, size_t len, char *input_shape,
                           size_t input_len)
{
    char strides[32] = "";
    if (lc->rank == 2)
        snprintf(input_shape, input_len, "[%d, %d, %d]", lc->h, lc->w, lc->c);
    else
        snprintf(input_shape, input_len, "[%d, %d]", lc->w, lc->c);
    if (lc->global) {
        snprintf(layers, len, "[{%s: {keepdims: %s}}]", lc->layer,
                 lc->keepdims ? "true" : "false");
        return;
    }
    if (lc->sw && lc->rank == 2)
        snprintf(strides, sizeof strides, ", strides: [%d, %d]", lc->sh, lc->sw);
    else if (lc->sw)
        snprintf(strides, sizeof strides, ", strides: %d", lc->sw);
    if (lc->rank == 2)
        snprintf(layers, len, "[{%s: {pool_size: [%d, %d]%s, padding: %s}}]", lc->layer, lc->ph,
                 lc->pw, strides, lc->same ? "same" : "valid");
    else
        snprintf(layers, len, "[{%s: {pool_size: %d%s, padding: %s}}]", lc->layer, lc->pw,
                 strides, lc->same ? "same" : "valid");
}

/* got [n] (float) against want [n] (double) as one check */
static void check_against_double(const float *got, const double *want, size_t n, double rtol,
                                 double atol, const char *what, const char *layers)
{
    float *want_f = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        want_f[i] = (float)want[i];
    CHECK_TENSOR(got, want_f, n, rtol, atol, "%s: %s", layers, what);
    free(want_f);
}

/* n values spaced `spacing` apart around 0, in a random order: no ties,
 * and no two values closer than a finite-difference step moves them. */
static void fill_distinct(float *v, size_t n, float spacing, uint64_t stream)
{
    for (size_t i = 0; i < n; i++)
        v[i] = ((float)i - 0.5f * (float)n) * spacing;
    for (size_t i = n; i > 1; i--) {
        size_t j = dl_rand_u32(PROBE_SEED, stream, i) % i;
        float t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* The layer against the loops, on distinct inputs: y and dx. */
static void check_loop_case(dl_backend *be, const loop_case *lc)
{
    char layers[256], input_shape[64];
    loop_case_yaml(lc, layers, sizeof layers, input_shape, sizeof input_shape);
    dl_pool_desc g = loop_geometry(lc);
    probe p;
    if (!probe_open_checked(&p, be, input_shape, layers, lc->batch))
        return;
    size_t n_y = (size_t)g.n * g.oh * g.ow * g.c;
    bool shape_ok = p.n_out == n_y;
    CHECK(shape_ok, "%s on %s: %zu outputs per sample, want %d x %d x %d", layers, input_shape,
          p.n_out / g.n, g.oh, g.ow, g.c);
    if (!shape_ok) {
        probe_close(&p);
        return;
    }
    float *dx = malloc(p.n_in * sizeof(float));
    double *want_y = calloc(n_y, sizeof(double)), *want_dx = calloc(p.n_in, sizeof(double));
    fill_distinct(p.x, p.n_in, 2.0f / (float)p.n_in, 20); /* in [-1, 1] */
    loop_reference(&g, lc->max, p.x, p.dy, want_y, want_dx);
    run_layer(&p, dx);
    check_against_double(p.y, want_y, n_y, FWD_RTOL, FWD_ATOL, "y", layers);
    check_against_double(dx, want_dx, p.n_in, GRAD_RTOL, GRAD_ATOL, "dx", layers);
    free(dx);
    free(want_y);
    free(want_dx);
    probe_close(&p);
}

static void test_against_loops(dl_backend *be)
{
    for (size_t i = 0; i < sizeof loop_cases / sizeof loop_cases[0]; i++)
        check_loop_case(be, &loop_cases[i]);
}

/* ---- ties ---- */

/* 2x2 windows over 4x4 of equal values (channel 0) and of a window whose
 * maximum appears twice (channel 1, at its second and fourth pixel): each
 * window's gradient goes whole to its first maximum in row-major order. */
static void test_max_ties(dl_backend *be)
{
    enum { H = 4, W = 4, C = 2, N_X = H * W * C, N_Y = 2 * 2 * C };
    probe p;
    if (!probe_open_checked(&p, be, "[4, 4, 2]", "[MaxPooling2D]", 1))
        return;
    float dx[N_X], want[N_X] = {0};
    for (int px = 0; px < H * W; px++) {
        p.x[px * C] = 0.5f;
        p.x[px * C + 1] = (float)px * 0.01f;
    }
    p.x[(0 * W + 1) * C + 1] = p.x[(1 * W + 1) * C + 1] = 1.0f; /* window (0, 0) */
    for (int i = 0; i < N_Y; i++)
        p.dy[i] = (float)(i + 1);
    run_layer(&p, dx);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            const float *g = &p.dy[(i * 2 + j) * C];
            want[((2 * i) * W + 2 * j) * C] = g[0];             /* top-left of the equals */
            want[((2 * i + 1) * W + 2 * j + 1) * C + 1] = g[1]; /* the largest, bottom-right */
        }
    want[(0 * W + 1) * C + 1] = p.dy[1]; /* window (0, 0): the first of its two 1.0s */
    want[(1 * W + 1) * C + 1] = 0.0f;
    CHECK(p.y[0] == 0.5f && p.y[1] == 1.0f, "MaxPooling2D ties: y (%g, %g), want (0.5, 1)",
          p.y[0], p.y[1]);
    CHECK(!memcmp(dx, want, sizeof dx),
          "MaxPooling2D ties: the gradient did not go to the first maximum of each window");
    probe_close(&p);
}

/* ---- finite differences ---- */

/* dx against finite differences at distinct x: no step changes which
 * pixel is a window's maximum. */
static void check_gradients(dl_backend *be, const char *what, const char *input_shape,
                            const char *layers)
{
    probe p;
    if (!probe_open_checked(&p, be, input_shape, layers, 2))
        return;
    fill_distinct(p.x, p.n_in, 10 * PROBE_FD_EPS, 30);
    probe_gradcheck(&p, what);
    probe_close(&p);
}

static void test_gradients(dl_backend *be)
{
    check_gradients(be, "MaxPooling2D 3x3 strides 2 same", "[6, 5, 2]",
                    "[{MaxPooling2D: {pool_size: 3, strides: 2, padding: same}}]");
    check_gradients(be, "MaxPooling2D default", "[5, 4, 3]", "[MaxPooling2D]");
    check_gradients(be, "AveragePooling2D 3x2 strides 1 same", "[4, 5, 2]",
                    "[{AveragePooling2D: {pool_size: [3, 2], strides: 1, padding: same}}]");
    check_gradients(be, "MaxPooling1D 3 strides 2 valid", "[9, 2]",
                    "[{MaxPooling1D: {pool_size: 3, strides: 2}}]");
    check_gradients(be, "AveragePooling1D 2 same", "[7, 3]",
                    "[{AveragePooling1D: {pool_size: 2, padding: same}}]");
    check_gradients(be, "GlobalMaxPooling2D", "[3, 4, 3]", "[GlobalMaxPooling2D]");
    check_gradients(be, "GlobalAveragePooling2D keepdims", "[3, 4, 3]",
                    "[{GlobalAveragePooling2D: {keepdims: true}}]");
    check_gradients(be, "GlobalMaxPooling1D", "[6, 3]", "[GlobalMaxPooling1D]");
    check_gradients(be, "GlobalAveragePooling1D", "[6, 3]", "[GlobalAveragePooling1D]");
}

/* ---- shapes and build errors ---- */

static void check_output_shape(dl_backend *be, const char *input_shape, const char *layers,
                               const char *want)
{
    probe p;
    if (!probe_open_checked(&p, be, input_shape, layers, 1))
        return;
    char got[96];
    dl_shape_format(model_output_shape(&p.m), got, sizeof got);
    CHECK(!strcmp(got, want), "%s on %s: output %s, want %s", layers, input_shape, got, want);
    probe_close(&p);
}

static void test_shapes(dl_backend *be)
{
    check_output_shape(be, "[26, 26, 32]", "[MaxPooling2D]", "(None, 13, 13, 32)");
    check_output_shape(be, "[7, 7, 2]", "[MaxPooling2D]", "(None, 3, 3, 2)");
    check_output_shape(be, "[7, 7, 2]", "[{MaxPooling2D: {padding: same}}]", "(None, 4, 4, 2)");
    check_output_shape(be, "[7, 9, 2]", "[{AveragePooling2D: {pool_size: [3, 2], strides: 1}}]",
                       "(None, 5, 8, 2)");
    check_output_shape(be, "[9, 4]", "[MaxPooling1D]", "(None, 4, 4)");
    check_output_shape(be, "[9, 4]", "[{AveragePooling1D: {pool_size: 3, padding: same}}]",
                       "(None, 3, 4)");
    check_output_shape(be, "[5, 6, 7]", "[GlobalAveragePooling2D]", "(None, 7)");
    check_output_shape(be, "[5, 6, 7]", "[{GlobalMaxPooling2D: {keepdims: true}}]",
                       "(None, 1, 1, 7)");
    check_output_shape(be, "[5, 7]", "[{GlobalAveragePooling1D: {keepdims: true}}]",
                       "(None, 1, 7)");
    check_output_shape(be, "[5, 7]", "[GlobalMaxPooling1D]", "(None, 7)");
}

static void test_build_errors(dl_backend *be)
{
    probe_expect_usage_error(be, "[1, 1, 3]", "[MaxPooling2D]", "expected height >= 2");
    probe_expect_usage_error(be, "[4, 2, 3]", "[{AveragePooling2D: {pool_size: [2, 3]}}]",
                             "expected width >= 3");
    probe_expect_usage_error(be, "[1, 3]", "[MaxPooling1D]", "expected steps >= 2");
    probe_expect_usage_error(be, "[784]", "[MaxPooling2D]",
                             "expected an input of shape (None, height, width, channels), got "
                             "(None, 784)");
    probe_expect_usage_error(be, "[28, 28, 1]", "[{AveragePooling1D: {pool_size: 2}}]",
                             "expected an input of shape (None, steps, channels), got "
                             "(None, 28, 28, 1)");
    probe_expect_usage_error(be, "[10]", "[GlobalAveragePooling2D]",
                             "expected an input of shape (None, height, width, channels)");
    probe_expect_usage_error(be, "[4, 4, 3]", "[GlobalMaxPooling1D]",
                             "expected an input of shape (None, steps, channels)");
    probe_expect_usage_error(be, "[4, 4, 3]", "[AveragePooling2D]", "pool_size");
    probe_expect_usage_error(be, "[4, 4, 3]", "[{MaxPooling2D: {padding: causal}}]",
                             "expected one of valid, same");
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
    test_against_loops(be);
    test_max_ties(be);
    test_gradients(be);
    test_shapes(be);
    test_build_errors(be);
    be->destroy(be);
    return check_report("pool");
}
