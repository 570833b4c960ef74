/* test_conv.c: the Conv2D and Conv1D layers as a model runs them, built
 * from YAML through the config:
 *   - every case of tests/data/keras/conv2d.json and conv1d.json (y, dx,
 *     dkernel, dbias; the README's tolerances);
 *   - forward and backward against a direct nested-loop convolution in
 *     double, over a table of geometries (strides, valid/same/causal,
 *     dilations, 1x1 and non-square kernels, batch and channels > 1);
 *   - finite-difference gradients with activations, with and without bias;
 *   - a batch smaller than the one the buffers were reserved for;
 *   - output shapes and the build errors of shapes that do not fit.
 * The layers run through tests/unit/layer_probe.h. */
#include "tests/unit/layer_probe.h"
#include "tests/unit/testdata.h"

#define FWD_RTOL 1e-5
#define FWD_ATOL 1e-6
#define GRAD_RTOL 1e-4
#define GRAD_ATOL 1e-5

/* Sums of up to a hundred float32 products of values in [-1, 1] against a
 * double reference: a few ulps of the largest term, not of the (possibly
 * cancelled) result. */
#define LOOP_ATOL 1e-5

/* The probe's forward (into p->y) and backward (dx [n_in], the parameter
 * gradients left on the device), with every buffer they write starting as
 * NaN: the model reuses its buffers between steps and layers, so the layer
 * must overwrite its outputs and gradients and never read the shared
 * workspace before writing it. */
static void run_layer(probe *p, float *dx)
{
    dl_backend *be = p->be;
    ly_layer *l = p->l;
    size_t workspace = l->kind->workspace ? l->kind->workspace(l, p->batch) : 0;
    float *dy_dev = be->alloc(be, p->n_out), *dx_dev = be->alloc(be, p->n_in);
    be->fill(be, l->workspace, NAN, workspace);
    be->fill(be, p->m.acts[1], NAN, p->n_out);
    probe_forward(p);
    be->fill(be, l->workspace, NAN, workspace);
    for (int i = 0; i < l->nparams; i++)
        be->fill(be, l->params[i].g, NAN, dl_shape_size(&l->params[i].shape));
    be->fill(be, dx_dev, NAN, p->n_in);
    be->upload(be, dy_dev, p->dy, p->n_out);
    l->kind->backward(l, p->m.acts[0], p->m.acts[1], dy_dev, dx_dev, p->batch);
    be->download(be, dx, dx_dev, p->n_in);
    be->release(be, dy_dev);
    be->release(be, dx_dev);
}

/* ---- the Keras reference data ---- */

enum { C_X, C_KERNEL, C_BIAS, C_DY, C_Y, C_DX, C_DKERNEL, C_DBIAS, C_COUNT };
static const char *const conv_fields[C_COUNT] = {
    "inputs.x", "inputs.kernel", "inputs.bias", "inputs.dy",
    "outputs.y", "outputs.dx", "outputs.dkernel", "outputs.dbias",
};

/* The layer of a case's config as YAML: Conv2D lists two entries per
 * tuple, Conv1D one number. */
static void reference_layer_yaml(const cJSON *c, int rank, char *buf, size_t len)
{
    const cJSON *padding = td_get(c, "config.padding");
    const char *pad = cJSON_IsString(padding) ? padding->valuestring : "?";
    int filters = (int)td_number(c, "config.filters");
    if (rank == 1) {
        snprintf(buf, len,
                 "[{Conv1D: {filters: %d, kernel_size: %d, strides: %d, padding: %s, "
                 "dilation_rate: %d}}]",
                 filters, (int)td_number(c, "config.kernel_size"),
                 (int)td_number(c, "config.strides"), pad,
                 (int)td_number(c, "config.dilation_rate"));
        return;
    }
    const cJSON *k = td_get(c, "config.kernel_size"), *s = td_get(c, "config.strides");
    const cJSON *d = td_get(c, "config.dilation_rate");
    snprintf(buf, len,
             "[{Conv2D: {filters: %d, kernel_size: [%d, %d], strides: [%d, %d], padding: %s, "
             "dilation_rate: [%d, %d]}}]",
             filters, cJSON_GetArrayItem(k, 0)->valueint, cJSON_GetArrayItem(k, 1)->valueint,
             cJSON_GetArrayItem(s, 0)->valueint, cJSON_GetArrayItem(s, 1)->valueint, pad,
             cJSON_GetArrayItem(d, 0)->valueint, cJSON_GetArrayItem(d, 1)->valueint);
}

/* Forward and backward of one case with the case's weights. */
static void check_reference_run(const char *name, probe *p, td_tensor *t)
{
    ly_layer *l = p->l;
    bool shape_ok = p->n_out == t[C_Y].size &&
                    dl_shape_size(&l->params[0].shape) == t[C_KERNEL].size;
    CHECK(shape_ok, "%s: output of %zu values, kernel of %zu; the file has %zu and %zu", name,
          p->n_out, dl_shape_size(&l->params[0].shape), t[C_Y].size, t[C_KERNEL].size);
    if (!shape_ok)
        return;
    float *dx = malloc(t[C_X].size * sizeof(float));
    float *grad = malloc(t[C_KERNEL].size * sizeof(float));
    memcpy(p->x, t[C_X].data, t[C_X].size * sizeof(float));
    memcpy(p->dy, t[C_DY].data, t[C_DY].size * sizeof(float));
    memcpy(p->weights + l->params[0].offset, t[C_KERNEL].data, t[C_KERNEL].size * sizeof(float));
    memcpy(p->weights + l->params[1].offset, t[C_BIAS].data, t[C_BIAS].size * sizeof(float));
    run_layer(p, dx);
    CHECK_TENSOR(p->y, t[C_Y].data, t[C_Y].size, FWD_RTOL, FWD_ATOL, "%s: y", name);
    CHECK_TENSOR(dx, t[C_DX].data, t[C_DX].size, GRAD_RTOL, GRAD_ATOL, "%s: dx", name);
    p->be->download(p->be, grad, l->params[0].g, t[C_DKERNEL].size);
    CHECK_TENSOR(grad, t[C_DKERNEL].data, t[C_DKERNEL].size, GRAD_RTOL, GRAD_ATOL,
                 "%s: dkernel", name);
    p->be->download(p->be, grad, l->params[1].g, t[C_DBIAS].size);
    CHECK_TENSOR(grad, t[C_DBIAS].data, t[C_DBIAS].size, GRAD_RTOL, GRAD_ATOL, "%s: dbias",
                 name);
    free(dx);
    free(grad);
}

static void check_reference_case(dl_backend *be, const cJSON *c, int rank)
{
    const cJSON *name_item = cJSON_GetObjectItemCaseSensitive(c, "name");
    char name[96], layers[256], input_shape[64];
    snprintf(name, sizeof name, "Conv%dD %s", rank,
             cJSON_IsString(name_item) ? name_item->valuestring : "?");
    td_tensor t[C_COUNT];
    bool complete = true;
    for (int i = 0; i < C_COUNT; i++)
        if (td_tensor_read(td_get(c, conv_fields[i]), &t[i]))
            complete = false;
    complete = complete && t[C_X].ndim == rank + 2;
    CHECK(complete, "%s: case incomplete", name);
    probe p;
    if (complete) {
        reference_layer_yaml(c, rank, layers, sizeof layers);
        if (rank == 2)
            snprintf(input_shape, sizeof input_shape, "[%d, %d, %d]", t[C_X].shape[1],
                     t[C_X].shape[2], t[C_X].shape[3]);
        else
            snprintf(input_shape, sizeof input_shape, "[%d, %d]", t[C_X].shape[1],
                     t[C_X].shape[2]);
    }
    if (complete && probe_open_checked(&p, be, input_shape, layers, t[C_X].shape[0])) {
        check_reference_run(name, &p, t);
        probe_close(&p);
    }
    for (int i = 0; i < C_COUNT; i++)
        td_tensor_free(&t[i]);
}

static void test_reference_file(dl_backend *be, const char *file, int rank, int want_cases)
{
    cJSON *root = td_load(file);
    const cJSON *c;
    int ncases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        check_reference_case(be, c, rank);
        ncases++;
    }
    CHECK(ncases == want_cases, "%s: %d cases, the README lists %d", file, ncases, want_cases);
    cJSON_Delete(root);
}

/* ---- a direct nested-loop convolution ---- */

enum { PAD_VALID, PAD_SAME, PAD_CAUSAL };
static const char *const padding_names[] = {"valid", "same", "causal"};

typedef struct loop_case {
    int rank;                   /* 2: Conv2D; 1: Conv1D (h = kh = sh = dh = 1) */
    int batch, h, w, c, filters;
    int kh, kw, sh, sw, dh, dw;
    int padding;                /* PAD_* */
    int relu;                   /* 1: activation relu (0: linear) */
    int no_bias;                /* 1: use_bias: false (rows that leave it out have a bias) */
} loop_case;

static const loop_case loop_cases[] = {
    /* rank, batch, h, w, c, filters, kh, kw, sh, sw, dh, dw, padding, relu, no_bias */
    {2, 2, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, PAD_VALID, 0, 0},
    {2, 2, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, PAD_SAME, 0, 0},
    {2, 2, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, PAD_SAME, 1, 1},
    {2, 3, 4, 4, 3, 5, 1, 1, 1, 1, 1, 1, PAD_VALID, 0, 0}, /* pointwise: no im2col */
    {2, 2, 4, 3, 2, 3, 1, 1, 1, 1, 1, 1, PAD_SAME, 0, 0},  /* pointwise through 'same' */
    {2, 2, 5, 6, 3, 2, 1, 1, 2, 2, 1, 1, PAD_VALID, 0, 0}, /* 1x1 strided */
    {2, 2, 7, 6, 2, 3, 3, 2, 2, 1, 1, 1, PAD_SAME, 0, 0},
    {2, 2, 6, 7, 2, 3, 1, 4, 1, 2, 1, 1, PAD_SAME, 0, 0},
    {2, 3, 8, 8, 2, 2, 4, 4, 3, 3, 1, 1, PAD_SAME, 0, 0},
    {2, 2, 8, 7, 2, 3, 2, 3, 3, 2, 1, 1, PAD_VALID, 0, 0},
    {2, 2, 7, 8, 3, 2, 3, 3, 1, 1, 2, 2, PAD_SAME, 0, 0},
    {2, 2, 9, 7, 1, 2, 3, 2, 1, 1, 3, 2, PAD_VALID, 0, 0},
    {2, 2, 6, 6, 2, 2, 2, 2, 1, 1, 1, 3, PAD_SAME, 0, 0},
    {2, 2, 3, 3, 2, 3, 5, 5, 1, 1, 1, 1, PAD_SAME, 0, 0}, /* kernel larger than the input */
    {2, 4, 2, 9, 4, 3, 2, 3, 2, 2, 1, 1, PAD_SAME, 0, 0},
    {2, 1, 3, 2, 2, 2, 1, 2, 1, 1, 1, 4, PAD_SAME, 0, 0}, /* windows with no tap on the input */
    /* channels enough for the backend's long-run path (kw * c >= 16) */
    {2, 2, 6, 6, 8, 3, 3, 3, 1, 1, 1, 1, PAD_SAME, 0, 0},
    /* batches the CPU backend splits into chunks (cpu_conv.c's 128K floats
     * of cols and output on one thread), the bias and relu applied chunk by
     * chunk: one image per chunk, 2 + 2 + 1 images, pointwise 1 + 1 + 1 */
    {2, 3, 40, 40, 16, 4, 3, 3, 1, 1, 1, 1, PAD_SAME, 1, 0},
    {2, 5, 20, 20, 16, 3, 3, 3, 1, 1, 1, 1, PAD_VALID, 1, 0},
    {2, 5, 20, 20, 16, 3, 3, 3, 1, 1, 1, 1, PAD_VALID, 0, 0},
    {2, 3, 64, 64, 4, 24, 1, 1, 1, 1, 1, 1, PAD_VALID, 1, 0},
    {2, 2, 7, 8, 6, 3, 3, 3, 2, 2, 1, 1, PAD_VALID, 0, 0},
    {2, 2, 7, 7, 16, 2, 3, 3, 1, 1, 2, 2, PAD_SAME, 0, 0},
    {2, 1, 3, 2, 16, 2, 1, 2, 1, 1, 1, 4, PAD_SAME, 0, 0},
    {1, 2, 1, 7, 9, 2, 1, 2, 1, 1, 1, 1, PAD_SAME, 0, 0},
    {1, 2, 1, 9, 3, 4, 1, 3, 1, 1, 1, 1, PAD_VALID, 0, 0},
    {1, 2, 1, 9, 3, 4, 1, 4, 1, 2, 1, 1, PAD_SAME, 0, 0},
    {1, 3, 1, 8, 2, 3, 1, 3, 1, 1, 1, 2, PAD_CAUSAL, 0, 0},
    {1, 2, 1, 9, 2, 2, 1, 2, 1, 3, 1, 1, PAD_CAUSAL, 0, 0},
    {1, 2, 1, 10, 2, 3, 1, 3, 1, 1, 1, 3, PAD_SAME, 0, 0},
    {1, 2, 1, 6, 5, 2, 1, 1, 1, 1, 1, 1, PAD_VALID, 0, 0},
    /* the CPU's direct loops (cpu_conv_direct.c: kh*kw*c <= 32, filters a
     * multiple of 8): interior pixels in pairs and one left over, fields
     * reaching into the padding, 32 + 8 filters, strides, dilations, no
     * tap on the input, Conv1D, the example's first layer */
    {2, 2, 6, 7, 1, 8, 3, 3, 1, 1, 1, 1, PAD_VALID, 0, 0},
    {2, 2, 6, 7, 1, 8, 3, 3, 1, 1, 1, 1, PAD_SAME, 1, 1},
    {2, 2, 7, 6, 3, 40, 3, 3, 1, 1, 1, 1, PAD_SAME, 1, 0},
    {2, 3, 9, 8, 1, 16, 3, 2, 2, 1, 1, 1, PAD_SAME, 0, 0},
    {2, 2, 9, 9, 2, 8, 3, 3, 1, 1, 2, 1, PAD_SAME, 1, 0},
    {2, 2, 8, 9, 2, 8, 2, 3, 1, 1, 1, 2, PAD_VALID, 0, 0},
    {2, 2, 3, 2, 1, 8, 5, 5, 1, 1, 1, 1, PAD_SAME, 0, 0},
    {2, 1, 3, 2, 2, 8, 1, 2, 1, 1, 1, 4, PAD_SAME, 0, 0},
    {1, 2, 1, 9, 3, 32, 1, 3, 1, 1, 1, 1, PAD_VALID, 1, 0},
    {1, 3, 1, 8, 2, 8, 1, 3, 1, 1, 1, 2, PAD_CAUSAL, 0, 0},
    {2, 5, 28, 28, 1, 32, 3, 3, 1, 1, 1, 1, PAD_VALID, 1, 0},
};

/* Keras's output length and padding before, written out here as the
 * README states them, independently of the layer. */
static int keras_axis(int padding, int n, int k, int s, int d, int *pad_before)
{
    int span = (k - 1) * d + 1;
    if (padding == PAD_VALID) {
        *pad_before = 0;
        return (n - span) / s + 1;
    }
    int out = (n + s - 1) / s;
    int total = (out - 1) * s + span - n;
    *pad_before = padding == PAD_CAUSAL ? span - 1 : total > 0 ? total / 2 : 0;
    return out;
}

/* The case's geometry in a dl_conv_desc (only as a carrier of numbers). */
static dl_conv_desc loop_geometry(const loop_case *lc)
{
    dl_conv_desc g = {.n = lc->batch, .h = lc->h, .w = lc->w, .c = lc->c, .kh = lc->kh,
                      .kw = lc->kw, .filters = lc->filters, .sh = lc->sh, .sw = lc->sw,
                      .dh = lc->dh, .dw = lc->dw};
    g.oh = keras_axis(lc->padding, lc->h, lc->kh, lc->sh, lc->dh, &g.pad_top);
    g.ow = keras_axis(lc->padding, lc->w, lc->kw, lc->sw, lc->dw, &g.pad_left);
    return g;
}

/* Every product of the convolution, x[xi] * kernel[ki + o] into output
 * element out + o (taps in the padding skipped): without dz, added into
 * want_y; with dz [n, oh, ow, filters], the gradients it sends back into
 * want_dx and want_dk. */
static void loop_products(const dl_conv_desc *g, const float *x, const float *kernel,
                          const double *dz, double *want_y, double *want_dx, double *want_dk)
{
    for (int b = 0; b < g->n; b++)
        for (int i = 0; i < g->oh; i++)
            for (int j = 0; j < g->ow; j++)
                for (int a = 0; a < g->kh; a++)
                    for (int e = 0; e < g->kw; e++) {
                        int r = i * g->sh + a * g->dh - g->pad_top;
                        int q = j * g->sw + e * g->dw - g->pad_left;
                        if (r < 0 || r >= g->h || q < 0 || q >= g->w)
                            continue;
                        size_t out = (((size_t)b * g->oh + i) * g->ow + j) * g->filters;
                        for (int ch = 0; ch < g->c; ch++) {
                            size_t xi = (((size_t)b * g->h + r) * g->w + q) * g->c + ch;
                            size_t ki = (((size_t)a * g->kw + e) * g->c + ch) * g->filters;
                            if (!dz)
                                for (int o = 0; o < g->filters; o++)
                                    want_y[out + o] += (double)x[xi] * kernel[ki + o];
                            else
                                for (int o = 0; o < g->filters; o++) {
                                    want_dx[xi] += dz[out + o] * kernel[ki + o];
                                    want_dk[ki + o] += (double)x[xi] * dz[out + o];
                                }
                        }
                    }
}

/* want_y = act(the convolution of x with kernel plus bias (NULL: none)),
 * act relu or none; want_dx, want_dk, want_db = the gradients of sum(y * dy). All
 * zero-initialised by the caller, shaped as in dl_conv_desc. */
static void loop_reference(const dl_conv_desc *g, int relu, const float *x, const float *kernel,
                           const float *bias, const float *dy, double *want_y, double *want_dx,
                           double *want_dk, double *want_db)
{
    size_t n_y = (size_t)g->n * g->oh * g->ow * g->filters;
    double *dz = malloc(n_y * sizeof(double)); /* [n, oh, ow, filters] */
    for (size_t t = 0; t < n_y; t++)
        want_y[t] = bias ? bias[t % g->filters] : 0.0;
    loop_products(g, x, kernel, NULL, want_y, NULL, NULL);
    for (size_t t = 0; t < n_y; t++) {
        bool passes = !relu || want_y[t] > 0.0;
        dz[t] = passes ? dy[t] : 0.0;
        want_y[t] = passes ? want_y[t] : 0.0;
        want_db[t % g->filters] += dz[t];
    }
    loop_products(g, x, kernel, dz, NULL, want_dx, want_dk);
    free(dz);
}

static void loop_case_yaml(const loop_case *lc, char *layers, size_t len, char *input_shape,
                           size_t input_len)
{
    const char *pad = padding_names[lc->padding], *act = lc->relu ? "relu" : "linear";
    const char *bias = lc->no_bias ? ", use_bias: false" : "";
    if (lc->rank == 1) {
        snprintf(layers, len,
                 "[{Conv1D: {filters: %d, kernel_size: %d, strides: %d, padding: %s, "
                 "dilation_rate: %d, activation: %s%s}}]",
                 lc->filters, lc->kw, lc->sw, pad, lc->dw, act, bias);
        snprintf(input_shape, input_len, "[%d, %d]", lc->w, lc->c);
        return;
    }
    snprintf(layers, len,
             "[{Conv2D: {filters: %d, kernel_size: [%d, %d], strides: [%d, %d], padding: %s, "
             "dilation_rate: [%d, %d], activation: %s%s}}]",
             lc->filters, lc->kh, lc->kw, lc->sh, lc->sw, pad, lc->dh, lc->dw, act, bias);
    snprintf(input_shape, input_len, "[%d, %d, %d]", lc->h, lc->w, lc->c);
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

/* The layer against the loops: y, dx, dkernel and dbias. */
static void check_loop_case(dl_backend *be, const loop_case *lc)
{
    char layers[256], input_shape[64];
    loop_case_yaml(lc, layers, sizeof layers, input_shape, sizeof input_shape);
    dl_conv_desc g = loop_geometry(lc);
    probe p;
    if (!probe_open_checked(&p, be, input_shape, layers, lc->batch))
        return;
    const ly_param *kernel = &p.l->params[0], *bias = lc->no_bias ? NULL : &p.l->params[1];
    size_t n_y = (size_t)g.n * g.oh * g.ow * g.filters, n_k = (size_t)g.kh * g.kw * g.c * g.filters;
    bool shape_ok = p.n_out == n_y && dl_shape_size(&kernel->shape) == n_k;
    CHECK(shape_ok, "%s on %s: output %zu values, want %d x %d x %d per sample", layers,
          input_shape, p.n_out / g.n, g.oh, g.ow, g.filters);
    if (!shape_ok) {
        probe_close(&p);
        return;
    }
    float *dx = malloc(p.n_in * sizeof(float)), *grad = malloc(n_k * sizeof(float));
    double *want_y = calloc(n_y, sizeof(double)), *want_dx = calloc(p.n_in, sizeof(double));
    double *want_dk = calloc(n_k, sizeof(double)), *want_db = calloc(g.filters, sizeof(double));
    probe_fill(p.weights, p.m.nweights, -1.0f, 1.0f, 10);
    loop_reference(&g, lc->relu, p.x, p.weights + kernel->offset,
                   bias ? p.weights + bias->offset : NULL, p.dy, want_y, want_dx, want_dk,
                   want_db);
    run_layer(&p, dx);
    check_against_double(p.y, want_y, n_y, FWD_RTOL, LOOP_ATOL, "y", layers);
    check_against_double(dx, want_dx, p.n_in, FWD_RTOL, LOOP_ATOL, "dx", layers);
    be->download(be, grad, kernel->g, n_k);
    /* each kernel and bias gradient sums n*oh*ow terms: float rounding
     * grows with the square root of that count */
    double terms = (double)g.n * g.oh * g.ow;
    check_against_double(grad, want_dk, n_k, FWD_RTOL, LOOP_ATOL * fmax(1.0, sqrt(terms / 100.0)),
                         "dkernel", layers);
    if (bias) {
        be->download(be, grad, bias->g, g.filters);
        check_against_double(grad, want_db, g.filters, FWD_RTOL,
                             LOOP_ATOL * fmax(1.0, sqrt(terms / 100.0)), "dbias", layers);
    }
    free(dx);
    free(grad);
    free(want_y);
    free(want_dx);
    free(want_dk);
    free(want_db);
    probe_close(&p);
}

static void test_against_loops(dl_backend *be)
{
    for (size_t i = 0; i < sizeof loop_cases / sizeof loop_cases[0]; i++)
        check_loop_case(be, &loop_cases[i]);
}

/* ---- finite differences ---- */

/* The layer's dx and parameter gradients at x, dy and weights drawn in
 * [-1, 1). */
static void check_gradients(dl_backend *be, const char *what, const char *input_shape,
                            const char *layers, int batch)
{
    probe p;
    if (!probe_open_checked(&p, be, input_shape, layers, batch))
        return;
    probe_fill(p.weights, p.m.nweights, -1.0f, 1.0f, 20);
    probe_gradcheck(&p, what);
    probe_close(&p);
}

static void test_gradients(dl_backend *be)
{
    check_gradients(be, "Conv2D 3x3 valid tanh", "[5, 5, 2]",
                    "[{Conv2D: {filters: 3, kernel_size: 3, activation: tanh}}]", 2);
    check_gradients(be, "Conv2D 3x2 same strides (2, 1) gelu, no bias", "[5, 6, 2]",
                    "[{Conv2D: {filters: 2, kernel_size: [3, 2], strides: [2, 1], padding: "
                    "same, activation: gelu, use_bias: false}}]",
                    2);
    check_gradients(be, "Conv2D 3x3 same dilation 2 sigmoid", "[6, 6, 2]",
                    "[{Conv2D: {filters: 2, kernel_size: 3, padding: same, dilation_rate: 2, "
                    "activation: sigmoid}}]",
                    1);
    check_gradients(be, "Conv2D 3x3 same tanh on 6 channels", "[4, 5, 6]",
                    "[{Conv2D: {filters: 2, kernel_size: 3, padding: same, activation: tanh}}]",
                    1);
    check_gradients(be, "Conv2D 2x2 valid strides 2 linear", "[5, 5, 3]",
                    "[{Conv2D: {filters: 2, kernel_size: 2, strides: 2}}]", 2);
    check_gradients(be, "Conv2D 1x1 tanh", "[3, 3, 3]",
                    "[{Conv2D: {filters: 2, kernel_size: 1, activation: tanh}}]", 2);
    check_gradients(be, "Conv2D 2x2 softmax over the filters", "[4, 4, 2]",
                    "[{Conv2D: {filters: 3, kernel_size: 2, activation: softmax}}]", 2);
    check_gradients(be, "Conv1D 3 valid gelu", "[7, 2]",
                    "[{Conv1D: {filters: 3, kernel_size: 3, activation: gelu}}]", 2);
    check_gradients(be, "Conv1D 3 causal dilation 2 tanh", "[8, 2]",
                    "[{Conv1D: {filters: 2, kernel_size: 3, padding: causal, dilation_rate: 2, "
                    "activation: tanh}}]",
                    2);
    check_gradients(be, "Conv1D 4 same strides 2 sigmoid, no bias", "[9, 3]",
                    "[{Conv1D: {filters: 2, kernel_size: 4, strides: 2, padding: same, "
                    "activation: sigmoid, use_bias: false}}]",
                    2);
}

/* ---- a partial batch ---- */

/* Buffers reserved for 3 samples, a forward of 2 (the last batch of an
 * epoch): the first two samples' outputs of the full batch, bit for bit. */
static void test_partial_batch(dl_backend *be)
{
    probe p;
    if (!probe_open_checked(&p, be, "[6, 5, 2]",
                            "[{Conv2D: {filters: 3, kernel_size: 3, padding: same, activation: "
                            "relu}}]",
                            3))
        return;
    size_t n_part = p.n_out / 3 * 2;
    float *part = malloc(n_part * sizeof(float));
    probe_forward(&p);
    p.be->fill(p.be, p.m.acts[1], NAN, p.n_out);
    p.l->kind->forward(p.l, &p.ctx, p.m.acts[0], p.m.acts[1], 2);
    p.be->download(p.be, part, p.m.acts[1], n_part);
    CHECK(!memcmp(part, p.y, n_part * sizeof(float)),
          "Conv2D: a batch of 2 in buffers for 3 differs from the full batch's first 2");
    free(part);
    probe_close(&p);
}

/* ---- shapes and build errors ---- */

/* One layer on input_shape has output `want` ("(None, 4, 4, 2)") and
 * `want_params` weights. */
static void check_output_shape(dl_backend *be, const char *input_shape, const char *layers,
                               const char *want, size_t want_params)
{
    probe p;
    if (!probe_open_checked(&p, be, input_shape, layers, 1))
        return;
    char got[96];
    dl_shape_format(model_output_shape(&p.m), got, sizeof got);
    CHECK(!strcmp(got, want) && p.m.nweights == want_params,
          "%s on %s: output %s with %zu weights, want %s with %zu", layers, input_shape, got,
          p.m.nweights, want, want_params);
    probe_close(&p);
}

static void test_shapes(dl_backend *be)
{
    check_output_shape(be, "[28, 28, 1]", "[{Conv2D: {filters: 32, kernel_size: 3}}]",
                       "(None, 26, 26, 32)", 320);
    check_output_shape(be, "[7, 7, 3]", "[{Conv2D: {filters: 4, kernel_size: 3, strides: 2, "
                                        "padding: same, use_bias: false}}]",
                       "(None, 4, 4, 4)", 108);
    check_output_shape(be, "[3, 3, 1]", "[{Conv2D: {filters: 2, kernel_size: 5, padding: same}}]",
                       "(None, 3, 3, 2)", 52);
    check_output_shape(be, "[10, 9, 2]",
                       "[{Conv2D: {filters: 2, kernel_size: [3, 2], dilation_rate: [2, 3]}}]",
                       "(None, 6, 6, 2)", 26);
    check_output_shape(be, "[9, 2]",
                       "[{Conv1D: {filters: 3, kernel_size: 4, strides: 2, padding: causal}}]",
                       "(None, 5, 3)", 27);
    check_output_shape(be, "[9, 2]", "[{Conv1D: {filters: 3, kernel_size: 4, strides: 2}}]",
                       "(None, 3, 3)", 27);
}

static void test_build_errors(dl_backend *be)
{
    probe_expect_usage_error(be, "[4, 4, 1]", "[{Conv2D: {filters: 2, kernel_size: 5}}]",
                             "expected height >= 5");
    probe_expect_usage_error(be, "[9, 4, 1]",
                             "[{Conv2D: {filters: 2, kernel_size: 3, dilation_rate: 2}}]",
                             "expected width >= 5");
    probe_expect_usage_error(be, "[3, 2]", "[{Conv1D: {filters: 2, kernel_size: 4}}]",
                             "expected steps >= 4");
    probe_expect_usage_error(be, "[784]", "[{Conv2D: {filters: 2, kernel_size: 3}}]",
                             "expected an input of shape (None, height, width, channels), got "
                             "(None, 784)");
    probe_expect_usage_error(be, "[28, 28, 1]", "[{Conv1D: {filters: 2, kernel_size: 3}}]",
                             "expected an input of shape (None, steps, channels), got "
                             "(None, 28, 28, 1)");
    probe_expect_usage_error(be, "[9, 9, 1]",
                             "[{Conv2D: {filters: 2, kernel_size: 3, strides: [1, 2], "
                             "dilation_rate: [2, 1]}}]",
                             "strides > 1 is not supported together with dilation_rate > 1");
    probe_expect_usage_error(be, "[9, 1]",
                             "[{Conv1D: {filters: 2, kernel_size: 3, strides: 2, "
                             "dilation_rate: 2}}]",
                             "got strides=2 and dilation_rate=2");
    probe_expect_usage_error(be, "[9, 9, 1]",
                             "[{Conv2D: {filters: 2, kernel_size: 3, padding: causal}}]",
                             "expected one of valid, same");
    probe_expect_usage_error(be, "[9, 9, 1]", "[{Conv2D: {kernel_size: 3}}]", "filters");
}

int main(void)
{
    dl_err err = {0};
    dl_backend *be = be_cpu_create(1, &err);
    if (!be) {
        fprintf(stderr, "cpu backend: %s\n", err.msg);
        return 1;
    }
    test_reference_file(be, "conv2d.json", 2, 11);
    test_reference_file(be, "conv1d.json", 1, 6);
    test_against_loops(be);
    test_gradients(be);
    test_partial_batch(be);
    test_shapes(be);
    test_build_errors(be);
    be->destroy(be);
    return check_report("conv");
}
