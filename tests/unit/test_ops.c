/* test_ops.c: the CPU backend's ops. Activations, softmax, losses and
 * dropout against the Keras reference data (tests/data/keras:
 * activations.json, losses.json, dropout.json) with the README's
 * tolerances; memory, gemm, elementwise and reduction ops against plain
 * reference loops. The metric op has its own test (test_metrics.c). */
#include "engine/backend/backend.h"
#include "tests/unit/testdata.h"

#include <stdint.h>
#include <string.h>

#define FWD_RTOL 1e-5
#define FWD_ATOL 1e-6
#define GRAD_RTOL 1e-4
#define GRAD_ATOL 1e-5

static const struct {
    const char *name;
    int act;
} activation_names[] = {
    {"linear", DL_ACT_LINEAR},     {"relu", DL_ACT_RELU},
    {"relu6", DL_ACT_RELU6},       {"leaky_relu", DL_ACT_LEAKY_RELU},
    {"elu", DL_ACT_ELU},           {"selu", DL_ACT_SELU},
    {"gelu", DL_ACT_GELU},         {"silu", DL_ACT_SILU},
    {"softplus", DL_ACT_SOFTPLUS}, {"softsign", DL_ACT_SOFTSIGN},
    {"tanh", DL_ACT_TANH},         {"sigmoid", DL_ACT_SIGMOID},
    {"hard_sigmoid", DL_ACT_HARD_SIGMOID},
};

/* Value and derivative of every activation on the 27-point grid, kinks
 * included (kernels.h adopts TensorFlow's conventions there); then the same
 * through in-place calls (y = x, dx = x), as the layers make them. */
static void test_activations(dl_backend *be)
{
    cJSON *root = td_load("activations.json");
    int ncases = (int)(sizeof activation_names / sizeof activation_names[0]);
    for (int i = 0; i < ncases; i++) {
        const char *name = activation_names[i].name;
        int act = activation_names[i].act;
        const cJSON *c = td_case(root, name);
        td_tensor x = {0}, y = {0}, dy_dx = {0};
        CHECK(c && !td_tensor_read(td_get(c, "inputs.x"), &x) &&
                  !td_tensor_read(td_get(c, "outputs.y"), &y) &&
                  !td_tensor_read(td_get(c, "outputs.dy_dx"), &dy_dx),
              "activations.json: case %s incomplete", name);
        if (!x.data || !y.data || !dy_dx.data) {
            td_tensor_free(&x);
            td_tensor_free(&y);
            td_tensor_free(&dy_dx);
            continue;
        }
        float alpha = act == DL_ACT_LEAKY_RELU ? (float)td_number(c, "config.negative_slope")
                      : act == DL_ACT_ELU      ? (float)td_number(c, "config.alpha")
                                               : 0.0f;
        size_t n = x.size;
        float *got = malloc(n * sizeof(float)), *ones = malloc(n * sizeof(float));
        float *dx = malloc(n * sizeof(float));
        for (size_t k = 0; k < n; k++)
            ones[k] = 1.0f;

        be->act_forward(be, act, alpha, x.data, got, n);
        CHECK_TENSOR(got, y.data, n, FWD_RTOL, FWD_ATOL, "%s: value", name);
        be->act_backward(be, act, alpha, x.data, got, ones, dx, n);
        CHECK_TENSOR(dx, dy_dx.data, n, GRAD_RTOL, GRAD_ATOL, "%s: derivative", name);

        memcpy(got, x.data, n * sizeof(float));
        be->act_forward(be, act, alpha, got, got, n);
        CHECK_TENSOR(got, y.data, n, FWD_RTOL, FWD_ATOL, "%s: value in place", name);
        memcpy(dx, x.data, n * sizeof(float));
        be->act_backward(be, act, alpha, dx, got, ones, dx, n);
        CHECK_TENSOR(dx, dy_dx.data, n, GRAD_RTOL, GRAD_ATOL, "%s: derivative into x", name);

        free(got);
        free(ones);
        free(dx);
        td_tensor_free(&x);
        td_tensor_free(&y);
        td_tensor_free(&dy_dx);
    }
    cJSON_Delete(root);
}

/* Row-wise softmax (rows around +-1000 need the max subtracted) and its VJP. */
static void test_softmax(dl_backend *be)
{
    cJSON *root = td_load("activations.json");
    const cJSON *c = td_case(root, "softmax");
    td_tensor x = {0}, dy = {0}, y = {0}, dx = {0};
    CHECK(c && !td_tensor_read(td_get(c, "inputs.x"), &x) &&
              !td_tensor_read(td_get(c, "inputs.dy"), &dy) &&
              !td_tensor_read(td_get(c, "outputs.y"), &y) &&
              !td_tensor_read(td_get(c, "outputs.dx"), &dx),
          "activations.json: softmax case incomplete");
    if (x.data && dy.data && y.data && dx.data && x.ndim == 2) {
        int rows = x.shape[0], cols = x.shape[1];
        float *got_y = malloc(x.size * sizeof(float)), *got_dx = malloc(x.size * sizeof(float));
        be->softmax(be, x.data, got_y, rows, cols);
        CHECK_TENSOR(got_y, y.data, x.size, FWD_RTOL, FWD_ATOL, "softmax: value");
        be->softmax_backward(be, got_y, dy.data, got_dx, rows, cols);
        CHECK_TENSOR(got_dx, dx.data, x.size, GRAD_RTOL, GRAD_ATOL, "softmax: VJP");
        memcpy(got_y, x.data, x.size * sizeof(float));
        be->softmax(be, got_y, got_y, rows, cols);
        CHECK_TENSOR(got_y, y.data, x.size, FWD_RTOL, FWD_ATOL, "softmax: value in place");
        free(got_y);
        free(got_dx);
    }
    td_tensor_free(&x);
    td_tensor_free(&dy);
    td_tensor_free(&y);
    td_tensor_free(&dx);
    cJSON_Delete(root);
}

/* The loss description a losses.json config asks for. */
static int loss_desc_from_config(const cJSON *config, dl_loss_desc *d)
{
    static const struct {
        const char *name;
        int kind, sparse;
    } names[] = {
        {"mean_squared_error", DL_LOSS_MSE, 0},
        {"mean_absolute_error", DL_LOSS_MAE, 0},
        {"huber", DL_LOSS_HUBER, 0},
        {"binary_crossentropy", DL_LOSS_BCE, 0},
        {"categorical_crossentropy", DL_LOSS_CCE, 0},
        {"sparse_categorical_crossentropy", DL_LOSS_CCE, 1},
    };
    const cJSON *loss = td_get(config, "loss");
    memset(d, 0, sizeof *d);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (cJSON_IsString(loss) && !strcmp(loss->valuestring, names[i].name)) {
            double ls = td_number(config, "label_smoothing"), delta = td_number(config, "delta");
            d->kind = names[i].kind;
            d->sparse_target = names[i].sparse;
            d->from_logits = cJSON_IsTrue(td_get(config, "from_logits"));
            d->label_smoothing = isnan(ls) ? 0.0f : (float)ls;
            d->delta = isnan(delta) ? 1.0f : (float)delta;
            return 0;
        }
    }
    return -1;
}

/* Every losses.json case: the batch-mean loss and dy_pred (for the
 * categorical losses on probabilities, the field with Keras's row
 * renormalisation). The fused softmax case runs the from_logits path; its
 * probs check the softmax op on the same logits. */
static void test_losses(dl_backend *be)
{
    cJSON *root = td_load("losses.json");
    const cJSON *c;
    int ncases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        dl_loss_desc d;
        td_tensor y_true = {0}, y_pred = {0}, loss = {0}, dy_pred = {0}, probs = {0};
        int ok = !loss_desc_from_config(td_get(c, "config"), &d) &&
                 !td_tensor_read(td_get(c, "inputs.y_true"), &y_true) &&
                 !td_tensor_read(td_get(c, "inputs.y_pred"), &y_pred) &&
                 !td_tensor_read(td_get(c, "outputs.loss"), &loss) &&
                 !td_tensor_read(td_get(c, "outputs.dy_pred"), &dy_pred) && y_pred.ndim == 2;
        CHECK(ok, "losses.json: case %s unreadable", name);
        ncases++;
        if (ok) {
            int rows = y_pred.shape[0], cols = y_pred.shape[1];
            float *grad = malloc(y_pred.size * sizeof(float));
            double got = be->loss(be, &d, y_pred.data, y_true.data, grad, rows, cols);
            CHECK_CLOSE(got, loss.data[0], FWD_RTOL, FWD_ATOL, "%s: loss %.9g, want %.9g",
                        name, got, loss.data[0]);
            CHECK_TENSOR(grad, dy_pred.data, y_pred.size, GRAD_RTOL, GRAD_ATOL, "%s: dy_pred",
                         name);
            const cJSON *probs_obj = td_get(c, "outputs.probs");
            if (probs_obj && !td_tensor_read(probs_obj, &probs)) {
                be->softmax(be, y_pred.data, grad, rows, cols);
                CHECK_TENSOR(grad, probs.data, probs.size, FWD_RTOL, FWD_ATOL, "%s: probs",
                             name);
                td_tensor_free(&probs);
            }
            free(grad);
        }
        td_tensor_free(&y_true);
        td_tensor_free(&y_pred);
        td_tensor_free(&loss);
        td_tensor_free(&dy_pred);
    }
    CHECK(ncases == 15, "losses.json: %d cases, expected 15", ncases);
    cJSON_Delete(root);
}

/* dropout.json fixes the semantics with an explicit keep mask: y = x*mask,
 * dx = dy*mask with mask = keep/(1 - rate). Our op draws its own mask, so
 * the reference mask goes through mul, and our mask is checked for the
 * same form, its keep rate and its reproducibility. */
/* The elements of y [n] that are not zero. */
static size_t count_nonzero(const float *y, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        kept += y[i] != 0.0f;
    return kept;
}

static void test_dropout(dl_backend *be)
{
    cJSON *root = td_load("dropout.json");
    const cJSON *c = td_case(root, "dropout_train");
    td_tensor x = {0}, keep = {0}, dy = {0}, y = {0}, dx = {0};
    CHECK(c && !td_tensor_read(td_get(c, "inputs.x"), &x) &&
              !td_tensor_read(td_get(c, "inputs.keep_mask"), &keep) &&
              !td_tensor_read(td_get(c, "inputs.dy"), &dy) &&
              !td_tensor_read(td_get(c, "outputs.y"), &y) &&
              !td_tensor_read(td_get(c, "outputs.dx"), &dx),
          "dropout.json: case incomplete");
    float rate = (float)td_number(c, "config.rate");
    if (x.data && keep.data && dy.data && y.data && dx.data) {
        size_t n = x.size;
        float *mask = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            mask[i] = keep.data[i] / (1.0f - rate);
        be->mul(be, x.data, mask, out, n);
        CHECK_TENSOR(out, y.data, n, FWD_RTOL, FWD_ATOL, "dropout: y = x * mask");
        be->mul(be, dy.data, mask, out, n);
        CHECK_TENSOR(out, dx.data, n, GRAD_RTOL, GRAD_ATOL, "dropout: dx = dy * mask");

        be->dropout(be, 7, 0, rate, x.data, out, mask, n);
        int form_ok = 1;
        for (size_t i = 0; i < n; i++)
            form_ok &= (mask[i] == 0.0f || mask[i] == 1.0f / (1.0f - rate)) &&
                       out[i] == x.data[i] * mask[i];
        CHECK(form_ok, "dropout op: mask not in {0, 1/(1-rate)} or y != x*mask");
        free(mask);
        free(out);
    }
    td_tensor_free(&x);
    td_tensor_free(&keep);
    td_tensor_free(&dy);
    td_tensor_free(&y);
    td_tensor_free(&dx);
    cJSON_Delete(root);

    size_t n = 1000000;
    float *ones = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
    float *mask_a = malloc(n * sizeof(float)), *mask_b = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0f;
    be->dropout(be, 42, 0, 0.3f, ones, out, mask_a, n);
    size_t kept = count_nonzero(mask_a, n);
    CHECK(fabs((double)kept / n - 0.7) <= 0.003, "dropout: kept %zu of %zu at rate 0.3", kept,
          n);
    be->dropout(be, 42, 0, 0.3f, ones, out, mask_b, n);
    CHECK(!memcmp(mask_a, mask_b, n * sizeof(float)), "dropout: same seed, different mask");
    be->dropout(be, 42, n, 0.3f, ones, out, mask_b, n);
    CHECK(memcmp(mask_a, mask_b, n * sizeof(float)), "dropout: new offset, same mask");
    /* element i is number offset + i: a mask drawn from offset 5 is the
     * first mask shifted by 5, even across Philox block boundaries */
    be->dropout(be, 42, 5, 0.3f, ones, out, mask_b, 1000);
    CHECK(!memcmp(mask_a + 5, mask_b, 1000 * sizeof(float)), "dropout: offset not additive");
    be->dropout(be, 43, 0, 0.3f, ones, out, mask_b, n);
    CHECK(memcmp(mask_a, mask_b, n * sizeof(float)), "dropout: new seed, same mask");
    be->dropout(be, 42, 0, 0.0f, ones, out, mask_b, n);
    size_t all_kept = 0;
    for (size_t i = 0; i < n; i++)
        all_kept += mask_b[i] == 1.0f;
    CHECK(all_kept == n, "dropout: rate 0 dropped %zu elements", n - all_kept);
    free(ones);
    free(out);
    free(mask_a);
    free(mask_b);
}

/* Deterministic values in [-1, 1). */
static void fill_random(float *x, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 8388608.0f - 1.0f;
    }
}

static void test_memory(dl_backend *be)
{
    size_t n = 1000;
    float *a = be->alloc(be, n), *b = be->alloc(be, n);
    CHECK(a && b, "alloc returned NULL");
    if (!a || !b)
        return;
    CHECK(((uintptr_t)a & 63) == 0 && ((uintptr_t)b & 63) == 0, "alloc: not 64-byte aligned");
    int zero = 1;
    for (size_t i = 0; i < n; i++)
        zero &= a[i] == 0.0f;
    CHECK(zero, "alloc: memory not zero-filled");

    float host[1000], back[1000];
    fill_random(host, n, 1);
    be->upload(be, a, host, n);
    be->copy(be, b, a, n);
    be->download(be, back, b, n);
    CHECK(!memcmp(host, back, sizeof host), "upload/copy/download changed the data");
    be->fill(be, a, 2.5f, n);
    be->download(be, back, a, n);
    int filled = 1;
    for (size_t i = 0; i < n; i++)
        filled &= back[i] == 2.5f;
    CHECK(filled, "fill: not every element is 2.5");
    dl_err err;
    CHECK(be->status(be, &err) == DL_OK, "status: not DL_OK");
    be->release(be, a);
    be->release(be, b);
    float *empty = be->alloc(be, 0);
    CHECK(empty != NULL, "alloc(0) returned NULL");
    be->release(be, empty);
}

/* C = alpha op(A) op(B) + beta C with row strides wider than the rows, in
 * double, as the reference. */
static void naive_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                       const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int p = 0; p < k; p++) {
                float av = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                float bv = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                sum += (double)av * bv;
            }
            c[(size_t)i * ldc + j] = (float)(alpha * sum + beta * c[(size_t)i * ldc + j]);
        }
    }
}

static void test_gemm(dl_backend *be)
{
    enum { M = 5, N = 4, K = 3, PAD = 2 };
    for (int ta = 0; ta < 2; ta++) {
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + PAD, ldb = (tb ? K : N) + PAD, ldc = N + PAD;
            float a[(M + PAD) * (K + PAD)], b[(N + PAD) * (K + PAD)];
            float c[M * (N + PAD)], want[M * (N + PAD)];
            fill_random(a, sizeof a / sizeof a[0], 10 + ta);
            fill_random(b, sizeof b / sizeof b[0], 20 + tb);
            for (int beta = 0; beta < 2; beta++) {
                fill_random(c, sizeof c / sizeof c[0], 30);
                memcpy(want, c, sizeof c);
                be->gemm(be, ta, tb, M, N, K, 0.5f, a, lda, b, ldb, (float)beta, c, ldc);
                naive_gemm(ta, tb, M, N, K, 0.5f, a, lda, b, ldb, (float)beta, want, ldc);
                CHECK_TENSOR(c, want, sizeof c / sizeof c[0], 1e-5, 1e-6,
                             "gemm trans_a %d trans_b %d beta %d", ta, tb, beta);
            }
        }
    }
    /* k = 0: an empty product, C = beta C */
    float c[4] = {1, 2, 3, 4}, want[4] = {2, 4, 6, 8};
    be->gemm(be, 0, 0, 2, 2, 0, 1.0f, c, 1, c, 2, 2.0f, c, 2);
    CHECK_TENSOR(c, want, 4, 0.0, 0.0, "gemm with k = 0");
}

static void test_bias(dl_backend *be)
{
    enum { R = 3, C = 4 };
    float y[R * C], want[R * C], bias[C], db[C], want_db[C];
    fill_random(y, R * C, 2);
    fill_random(bias, C, 3);
    memcpy(want, y, sizeof y);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            want[r * C + c] += bias[c];
    be->add_bias(be, y, bias, R, C);
    CHECK_TENSOR(y, want, R * C, 0.0, 0.0, "add_bias");

    for (int c = 0; c < C; c++) {
        db[c] = 100.0f; /* overwritten when not accumulating */
        want_db[c] = 0.0f;
        for (int r = 0; r < R; r++)
            want_db[c] += y[r * C + c];
    }
    be->bias_grad(be, db, y, R, C, 0);
    CHECK_TENSOR(db, want_db, C, 1e-6, 1e-6, "bias_grad (overwrite)");
    for (int c = 0; c < C; c++)
        want_db[c] *= 2.0f;
    be->bias_grad(be, db, y, R, C, 1);
    CHECK_TENSOR(db, want_db, C, 1e-6, 1e-6, "bias_grad (accumulate)");
}

static void test_elementwise(dl_backend *be)
{
    enum { N = 37 };
    float x[N], y[N], want[N], out[N];
    fill_random(x, N, 4);
    fill_random(y, N, 5);

    memcpy(out, x, sizeof x);
    for (int i = 0; i < N; i++)
        want[i] = x[i] * -1.5f;
    be->scale(be, out, -1.5f, N);
    CHECK_TENSOR(out, want, N, 0.0, 0.0, "scale");

    memcpy(out, y, sizeof y);
    for (int i = 0; i < N; i++)
        want[i] = y[i] + 0.25f * x[i];
    be->axpy(be, 0.25f, x, out, N);
    CHECK_TENSOR(out, want, N, 1e-6, 1e-7, "axpy");

    for (int i = 0; i < N; i++)
        want[i] = x[i] * y[i];
    be->mul(be, x, y, out, N);
    CHECK_TENSOR(out, want, N, 0.0, 0.0, "mul");

    memcpy(out, x, sizeof x);
    for (int i = 0; i < N; i++)
        want[i] = x[i] < -0.5f ? -0.5f : x[i] > 0.3f ? 0.3f : x[i];
    be->clip(be, out, -0.5f, 0.3f, N);
    CHECK_TENSOR(out, want, N, 0.0, 0.0, "clip");
    float special[3] = {NAN, INFINITY, -INFINITY};
    be->clip(be, special, -1.0f, 1.0f, 3);
    CHECK(isnan(special[0]) && special[1] == 1.0f && special[2] == -1.0f,
          "clip: NaN must stay NaN and infinities clamp (got %g %g %g)", special[0],
          special[1], special[2]);
}

/* Denormals are flushed (FTZ) and read as zero (DAZ) on every thread of
 * the backend, as Keras's TensorFlow and JAX backends do: leaky_relu over
 * enough floats to be split across the pool, then a product split across
 * OpenBLAS's threads, whose every term is denormal. */
static void test_denormals(dl_backend *be)
{
#if defined(__SSE__)
    size_t n = (size_t)1 << 20;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    CHECK(x && y, "denormals: out of memory");
    if (!x || !y) {
        free(x);
        free(y);
        return;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = -1e-30f;
    be->act_forward(be, DL_ACT_LEAKY_RELU, 1e-10f, x, y, n); /* -1e-40: denormal */
    size_t kept = count_nonzero(y, n);
    CHECK(kept == 0, "denormals: %zu of %zu denormal results not flushed to zero", kept, n);
    for (size_t i = 0; i < n; i++)
        x[i] = -1e-40f;
    uint32_t bits;
    memcpy(&bits, &x[0], sizeof bits); /* a comparison would itself read it as zero */
    CHECK((bits & 0x7f800000u) == 0 && (bits & 0x007fffffu) != 0,
          "denormals: the input is not stored as a denormal (bits %08x)", (unsigned)bits);
    be->act_forward(be, DL_ACT_LEAKY_RELU, 1e20f, x, y, n); /* -1e-20 unless read as 0 */
    kept = count_nonzero(y, n);
    CHECK(kept == 0, "denormals: %zu of %zu denormal inputs not read as zero", kept, n);
    int m = 256;
    for (size_t i = 0; i < (size_t)m * m; i++)
        x[i] = 1e-21f; /* products 1e-42, sums 2.6e-40: denormal */
    be->gemm(be, 0, 0, m, m, m, 1.0f, x, m, x, m, 0.0f, y, m);
    kept = count_nonzero(y, (size_t)m * m);
    CHECK(kept == 0, "denormals: %zu of %zu gemm results not flushed to zero", kept,
          (size_t)m * m);
    free(x);
    free(y);
#else
    (void)be;
    printf("ops: denormal flushing not checked: not an SSE machine\n");
#endif
}

static void test_reductions(dl_backend *be)
{
    enum { N = 1001 };
    float x[N], g[N], want_g[N];
    fill_random(x, N, 6);
    fill_random(g, N, 7);
    x[3] = 0.0f; /* sign(0) = 0 in the L1 gradient */
    double sq = 0.0, abs_sum = 0.0;
    for (int i = 0; i < N; i++) {
        sq += (double)x[i] * x[i];
        abs_sum += fabs(x[i]);
        float sign = x[i] > 0 ? 1.0f : x[i] < 0 ? -1.0f : 0.0f;
        want_g[i] = g[i] + 0.01f * sign + 2.0f * 0.02f * x[i];
    }
    double got_sq = be->sumsq(be, x, N);
    CHECK_CLOSE(got_sq, sq, 1e-12, 0.0, "sumsq %.17g, want %.17g", got_sq, sq);

    double penalty = be->regularize(be, x, g, N, 0.01f, 0.02f);
    double want_penalty = (double)0.01f * abs_sum + (double)0.02f * sq;
    CHECK_CLOSE(penalty, want_penalty, 1e-9, 0.0, "regularize penalty %.17g, want %.17g",
                penalty, want_penalty);
    CHECK_TENSOR(g, want_g, N, 1e-6, 1e-7, "regularize gradient");

    CHECK(be->count_nonfinite(be, x, N) == 0, "count_nonfinite on finite data");
    x[0] = NAN;
    x[500] = INFINITY;
    x[1000] = -INFINITY;
    size_t bad = be->count_nonfinite(be, x, N);
    CHECK(bad == 3, "count_nonfinite: %zu, want 3", bad);
}

int main(void)
{
    dl_err err;
    dl_backend *be = be_cpu_create(2, &err);
    if (!be) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    CHECK(!strcmp(be->name, "cpu"), "backend name %s", be->name);
    test_activations(be);
    test_softmax(be);
    test_losses(be);
    test_dropout(be);
    test_memory(be);
    test_gemm(be);
    test_bias(be);
    test_elementwise(be);
    test_reductions(be);
    test_denormals(be);
    be->destroy(be);
    return check_report("ops");
}
