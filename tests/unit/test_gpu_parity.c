/* test_gpu_parity.c: the CUDA backend against the CPU backend.
 *
 * First the loader, on every machine: a backend path that does not exist
 * and the real backend either load or fail with a reason and exit code 1,
 * never a crash. Then, when the CUDA backend loads, every op of the table
 * runs on both backends on the same random inputs and the results are
 * compared (test_gpu_training.c compares a short training run). Without
 * a GPU the test prints "GPU parity: skipped: <reason>" and runs the same
 * comparisons between two CPU backends, which checks the harness itself.
 *
 * Tolerances, |gpu - cpu| <= atol + rtol |cpu|, with TF32 off (cuBLAS in
 * FP32 math, cuDNN convolutions in FMA math):
 *   gemm, convolution            rtol 1e-4, atol 1e-5 sqrt(K), K the summed length
 *   copies, masks, index math    1e-6 (most are exact)
 *   elementwise arithmetic       1e-6; transcendental activations 1e-5 (the
 *                                device's expf, erfcf, tanhf are within 2 ulp)
 *   reductions, softmax, losses, normalization, optimizer steps, augmentation  1e-5
 *   metric accumulators          1e-9 (counts: exact) */
#include "engine/backend/gpu.h"
#include "tests/unit/gpu_check.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_RTOL 1e-6
#define ARITH_RTOL 1e-6
#define TRANSCENDENTAL_RTOL 1e-5
#define REDUCE_RTOL 1e-5
#define MATMUL_RTOL 1e-4
#define ATOL 1e-6

/* The two backends compared: the CPU, and the CUDA backend or (without a
 * GPU) a second CPU backend. */
typedef struct pair {
    dl_backend *cpu, *other;
    gc_rng rng;
} pair;

/* One buffer on both backends, from the same host values. */
typedef struct twin {
    size_t n;
    float *cpu, *other;
} twin;

/* Runs `call` on each backend in turn: `be` is the backend, DEV(t) its
 * copy of twin t, `side` 0 for the CPU and 1 for the other. */
#define ON_BOTH(p, call)                                                                           \
    for (int side = 0; side < 2; side++) {                                                         \
        dl_backend *be = side ? (p)->other : (p)->cpu;                                             \
        call;                                                                                      \
    }
#define DEV(t) (side ? (t).other : (t).cpu)

static twin twin_of(pair *p, const float *values, size_t n)
{
    twin t = {n, p->cpu->alloc(p->cpu, n), p->other->alloc(p->other, n)};
    p->cpu->upload(p->cpu, t.cpu, values, n);
    p->other->upload(p->other, t.other, values, n);
    return t;
}

/* Zero-filled on both (outputs). */
static twin twin_zeros(pair *p, size_t n)
{
    twin t = {n, p->cpu->alloc(p->cpu, n), p->other->alloc(p->other, n)};
    return t;
}

static twin twin_random(pair *p, size_t n, float lo, float hi)
{
    float *values = malloc((n ? n : 1) * sizeof(float));
    gc_fill(&p->rng, values, n, lo, hi);
    twin t = twin_of(p, values, n);
    free(values);
    return t;
}

/* Distinct values in [lo, hi): no ties for max pooling to route. */
static twin twin_distinct(pair *p, size_t n, float lo, float hi)
{
    const size_t prime = 1000003; /* > n, so i -> 7919 i mod prime is one-to-one */
    float *values = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        values[i] = lo + (hi - lo) * (float)(i * 7919 % prime) / (float)prime;
    twin t = twin_of(p, values, n);
    free(values);
    return t;
}

static void twin_free(pair *p, twin *t)
{
    p->cpu->release(p->cpu, t->cpu);
    p->other->release(p->other, t->other);
}

/* One check: the other backend's copy against the CPU's. */
static void compare(pair *p, const char *what, const twin *t, double rtol, double atol)
{
    size_t n = t->n ? t->n : 1;
    float *want = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
    p->cpu->download(p->cpu, want, t->cpu, t->n);
    p->other->download(p->other, got, t->other, t->n);
    gc_check_arrays(what, got, want, t->n, rtol, atol);
    free(want);
    free(got);
}

/* Every op of the table is there. */
static void test_table(const dl_backend *be)
{
#define OP(name) {#name, offsetof(dl_backend, name)}
    static const struct {
        const char *name;
        size_t offset;
    } ops[] = {
        OP(alloc), OP(release), OP(host_alloc), OP(host_release), OP(upload), OP(download),
        OP(fill), OP(copy), OP(status), OP(gemm), OP(add_bias), OP(bias_grad), OP(act_forward),
        OP(act_backward), OP(softmax), OP(softmax_backward), OP(scale), OP(axpy), OP(mul), OP(clip),
        OP(loss), OP(metric), OP(dropout), OP(sumsq), OP(count_nonfinite), OP(regularize),
        OP(opt_update), OP(conv_workspace), OP(conv_forward), OP(conv_backward_data),
        OP(conv_backward_filter), OP(pool_forward), OP(pool_backward), OP(batchnorm_train),
        OP(batchnorm_infer), OP(batchnorm_backward), OP(layernorm_forward), OP(layernorm_backward),
        OP(pad2d), OP(pad2d_backward), OP(upsample2d), OP(upsample2d_backward), OP(scale_shift),
        OP(channel_dropout), OP(channel_mask_backward), OP(augment), OP(augment_backward),
        OP(destroy),
    };
#undef OP
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        void (*op)(void);
        memcpy(&op, (const char *)be + ops[i].offset, sizeof op);
        CHECK(op != NULL, "%s backend: no %s op", be->name, ops[i].name);
    }
}

/* ---- the loader ---- */

/* The real backend (next to the test's working directory unless
 * DLTRAIN_CUDA_BACKEND says otherwise), or NULL with why it did not load. */
static dl_backend *load_cuda(char *why, size_t n)
{
    const char *configured = getenv(DL_GPU_BACKEND_ENV);
    char path[4096];
    snprintf(path, sizeof path, "%s", configured ? configured : "./" DL_GPU_BACKEND_FILE);

    dl_err err = {0};
    setenv(DL_GPU_BACKEND_ENV, "/nonexistent/" DL_GPU_BACKEND_FILE, 1);
    CHECK(be_gpu_create(&err) == NULL && err.exit_code == DL_EXIT_FAIL &&
              strstr(err.msg, "no CUDA backend") && strstr(err.msg, "/nonexistent/"),
          "a missing backend is reported with its path: \"%s\"", err.msg);

    memset(&err, 0, sizeof err);
    int devices = dl_gpu_probe(&err);
    CHECK(devices > 0 || (devices == DL_ERR && err.exit_code == DL_EXIT_FAIL && err.msg[0]),
          "the probe finds devices or says why not (%d: \"%s\")", devices, err.msg);

    memset(&err, 0, sizeof err);
    setenv(DL_GPU_BACKEND_ENV, path, 1);
    dl_backend *be = be_gpu_create(&err);
    CHECK(be || (err.exit_code == DL_EXIT_FAIL && err.msg[0]),
          "the CUDA backend loads or says why not");
    snprintf(why, n, "%s", err.msg);
    return be;
}

/* ---- memory and matrices ---- */

static void test_memory(pair *p)
{
    enum { N = 1000 };
    twin zeros = twin_zeros(p, N), t = twin_random(p, N, -1, 1), copy = twin_random(p, N, -1, 1);
    compare(p, "alloc zero-fills", &zeros, 0, 0);
    ON_BOTH(p, be->fill(be, DEV(t), 0.375f, N / 2); be->copy(be, DEV(copy), DEV(t), N));
    compare(p, "fill + copy", &copy, 0, 0);
    /* staging memory: upload from it, download into it */
    float *staging = p->other->host_alloc(p->other, N), *back = malloc(N * sizeof(float));
    gc_fill(&p->rng, staging, N, -1, 1);
    p->other->upload(p->other, t.other, staging, N);
    p->other->download(p->other, back, t.other, N);
    gc_check_arrays("upload from host_alloc memory and back", back, staging, N, 0, 0);
    p->other->host_release(p->other, staging);
    free(back);
    twin_free(p, &zeros);
    twin_free(p, &t);
    twin_free(p, &copy);
}

static void test_gemm(pair *p)
{
    int m = 37, n = 29, k = 53, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
            twin a = twin_random(p, (size_t)(ta ? k : m) * lda, -1, 1);
            twin b = twin_random(p, (size_t)(tb ? n : k) * ldb, -1, 1);
            twin c = twin_random(p, (size_t)m * ldc, -1, 1);
            ON_BOTH(p, be->gemm(be, ta, tb, m, n, k, 0.5f, DEV(a), lda, DEV(b), ldb, 0.25f, DEV(c),
                                ldc));
            char what[64];
            snprintf(what, sizeof what, "gemm trans_a %d trans_b %d, beta 0.25", ta, tb);
            compare(p, what, &c, MATMUL_RTOL, 1e-5 * sqrt(k));
            ON_BOTH(p, be->fill(be, DEV(c), NAN, c.n); be->gemm(
                be, ta, tb, m, n, k, 1.0f, DEV(a), lda, DEV(b), ldb, 0.0f, DEV(c), ldc));
            snprintf(what, sizeof what, "gemm trans_a %d trans_b %d, beta 0 over NaN", ta, tb);
            compare(p, what, &c, MATMUL_RTOL, 1e-5 * sqrt(k));
            twin_free(p, &a);
            twin_free(p, &b);
            twin_free(p, &c);
        }
    twin c = twin_random(p, (size_t)m * n, -1, 1);
    ON_BOTH(p, be->gemm(be, 0, 0, m, n, 0, 1.0f, DEV(c), 1, DEV(c), 1, 0.5f, DEV(c), n));
    compare(p, "gemm with k = 0 scales C", &c, EXACT_RTOL, 0);
    twin_free(p, &c);
}

/* ---- elementwise ---- */

static void test_elementwise(pair *p)
{
    enum { ROWS = 67, COLS = 13, N = ROWS * COLS };
    twin x = twin_random(p, N, -4, 4), y = twin_random(p, N, -1, 1), dy = twin_random(p, N, -1, 1);
    twin dx = twin_random(p, N, -1, 1), bias = twin_random(p, COLS, -1, 1);
    twin db = twin_random(p, COLS, -1, 1);
    ON_BOTH(p, be->add_bias(be, DEV(y), DEV(bias), ROWS, COLS));
    compare(p, "add_bias", &y, ARITH_RTOL, ATOL);
    ON_BOTH(p, be->bias_grad(be, DEV(db), DEV(dy), ROWS, COLS, 1));
    compare(p, "bias_grad, accumulating", &db, REDUCE_RTOL, ATOL);
    ON_BOTH(p, be->bias_grad(be, DEV(db), DEV(dy), ROWS, COLS, 0));
    compare(p, "bias_grad", &db, REDUCE_RTOL, ATOL);
    for (int act = 0; act < DL_ACT_SOFTMAX; act++) {
        float alpha = act == DL_ACT_LEAKY_RELU ? 0.2f : 1.0f;
        int piecewise_linear = act == DL_ACT_LINEAR || act == DL_ACT_RELU || act == DL_ACT_RELU6 ||
                               act == DL_ACT_LEAKY_RELU || act == DL_ACT_HARD_SIGMOID;
        double rtol = piecewise_linear ? ARITH_RTOL : TRANSCENDENTAL_RTOL;
        char what[64];
        ON_BOTH(p, be->act_forward(be, act, alpha, DEV(x), DEV(y), N));
        snprintf(what, sizeof what, "activation %d forward", act);
        compare(p, what, &y, rtol, ATOL);
        ON_BOTH(p, be->act_backward(be, act, alpha, DEV(x), DEV(y), DEV(dy), DEV(dx), N));
        snprintf(what, sizeof what, "activation %d backward", act);
        compare(p, what, &dx, rtol, ATOL);
    }
    ON_BOTH(p, be->softmax(be, DEV(x), DEV(y), ROWS, COLS));
    compare(p, "softmax", &y, REDUCE_RTOL, ATOL);
    ON_BOTH(p, be->softmax_backward(be, DEV(y), DEV(dy), DEV(dx), ROWS, COLS));
    compare(p, "softmax_backward", &dx, REDUCE_RTOL, ATOL);
    ON_BOTH(p, be->copy(be, DEV(dx), DEV(x), N); be->softmax(be, DEV(dx), DEV(dx), ROWS, COLS));
    compare(p, "softmax in place", &dx, REDUCE_RTOL, ATOL);
    ON_BOTH(p, be->scale(be, DEV(y), 1.5f, N); be->axpy(be, -0.5f, DEV(x), DEV(y), N);
            be->mul(be, DEV(y), DEV(dy), DEV(dx), N); be->clip(be, DEV(dx), -0.1f, 0.2f, N));
    compare(p, "scale, axpy, mul, clip", &dx, ARITH_RTOL, ATOL);
    ON_BOTH(p, be->scale_shift(be, DEV(x), 0.25f, -1.0f, DEV(y), N));
    compare(p, "scale_shift", &y, ARITH_RTOL, ATOL);
    twin_free(p, &x);
    twin_free(p, &y);
    twin_free(p, &dy);
    twin_free(p, &dx);
    twin_free(p, &bias);
    twin_free(p, &db);
}

static void test_dropout(pair *p)
{
    enum { N = 4, HW = 50, C = 6, SIZE = N * HW * C };
    twin x = twin_random(p, SIZE, -1, 1), y = twin_random(p, SIZE, -1, 1);
    twin mask = twin_random(p, SIZE, -1, 1), dx = twin_random(p, SIZE, -1, 1);
    ON_BOTH(p, be->dropout(be, 42, 1234567, 0.3f, DEV(x), DEV(y), DEV(mask), SIZE));
    compare(p, "dropout mask", &mask, 0, 0);
    compare(p, "dropout", &y, EXACT_RTOL, 0);
    ON_BOTH(p, be->channel_dropout(be, 43, 99, 0.5f, DEV(x), N, HW, C, DEV(y), DEV(mask)));
    ON_BOTH(p, be->channel_mask_backward(be, DEV(x), DEV(mask), N, HW, C, DEV(dx)));
    compare(p, "channel_dropout", &y, EXACT_RTOL, 0);
    compare(p, "channel_mask_backward", &dx, EXACT_RTOL, 0);
    twin_free(p, &x);
    twin_free(p, &y);
    twin_free(p, &mask);
    twin_free(p, &dx);
}

/* ---- host values: losses, metrics, reductions ---- */

static void test_losses(pair *p)
{
    enum { ROWS = 33, COLS = 7, N = ROWS * COLS };
    static const dl_loss_desc cases[] = {
        {DL_LOSS_MSE, 0, 0, 1, 0}, {DL_LOSS_MAE, 0, 0, 1, 0},    {DL_LOSS_HUBER, 0, 0, 0.7f, 0},
        {DL_LOSS_BCE, 0, 0, 1, 0}, {DL_LOSS_BCE, 1, 0.1f, 1, 0}, {DL_LOSS_CCE, 0, 0.1f, 1, 0},
        {DL_LOSS_CCE, 1, 0, 1, 0}, {DL_LOSS_CCE, 0, 0, 1, 1},    {DL_LOSS_CCE, 1, 0.1f, 1, 1},
    };
    twin probs = twin_random(p, N, 0.02f, 0.98f), logits = twin_random(p, N, -3, 3);
    float host_ids[ROWS], host_one_hot[N];
    for (int r = 0; r < ROWS; r++) {
        host_ids[r] = (float)(r * 3 % COLS);
        for (int c = 0; c < COLS; c++)
            host_one_hot[r * COLS + c] = c == r * 3 % COLS;
    }
    twin ids = twin_of(p, host_ids, ROWS), one_hot = twin_of(p, host_one_hot, N);
    twin values = twin_random(p, N, -1, 1), grad = twin_random(p, N, -1, 1);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const dl_loss_desc *d = &cases[t];
        int regression =
            d->kind == DL_LOSS_MSE || d->kind == DL_LOSS_MAE || d->kind == DL_LOSS_HUBER;
        twin *pred = d->from_logits || regression ? &logits : &probs;
        twin *target = regression ? &values : d->sparse_target ? &ids : &one_hot;
        double loss[2];
        ON_BOTH(p, loss[side] = be->loss(be, d, DEV(*pred), DEV(*target), DEV(grad), ROWS, COLS));
        CHECK_CLOSE(loss[1], loss[0], REDUCE_RTOL, 0, "loss case %zu: %.9g, CPU %.9g", t, loss[1],
                    loss[0]);
        char what[64];
        snprintf(what, sizeof what, "loss case %zu gradient", t);
        compare(p, what, &grad, REDUCE_RTOL, ATOL);
    }
    twin_free(p, &probs);
    twin_free(p, &logits);
    twin_free(p, &ids);
    twin_free(p, &one_hot);
    twin_free(p, &values);
    twin_free(p, &grad);
}

static void test_metrics(pair *p)
{
    enum { ROWS = 300, COLS = 6, N = ROWS * COLS };
    static const dl_metric_desc cases[] = {
        {DL_METRIC_BINARY_ACCURACY, 0, 0.5f, 0, 0},
        {DL_METRIC_CATEGORICAL_ACCURACY, 0, 0, 0, 0},
        {DL_METRIC_CATEGORICAL_ACCURACY, 1, 0, 0, 0},
        {DL_METRIC_TOP_K, 1, 0, 2, 0},
        {DL_METRIC_MSE, 0, 0, 0, 0},
        {DL_METRIC_MAE, 1, 0, 0, 0},
        {DL_METRIC_PRECISION, 0, 0.5f, 0, 0},
        {DL_METRIC_RECALL, 1, 0.5f, 0, 0},
        {DL_METRIC_AUC, 0, 0, 0, 200},
        {DL_METRIC_AUC, 1, 0, 0, 13},
    };
    twin pred = twin_random(p, N, 0, 1);
    float host_labels[N], host_ids[ROWS];
    for (int i = 0; i < N; i++)
        host_labels[i] = gc_uniform(&p->rng, 0, 1) < 0.3f;
    for (int r = 0; r < ROWS; r++)
        host_ids[r] = (float)(r * 5 % COLS);
    twin labels = twin_of(p, host_labels, N), ids = twin_of(p, host_ids, ROWS);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const dl_metric_desc *d = &cases[t];
        int nacc = dl_metric_nacc(d);
        double *acc[2] = {calloc((size_t)nacc, sizeof(double)),
                          calloc((size_t)nacc, sizeof(double))};
        /* two batches add up */
        for (int batch = 0; batch < 2; batch++)
            ON_BOTH(p, be->metric(be, d, DEV(pred), d->sparse_target ? DEV(ids) : DEV(labels), ROWS,
                                  COLS, acc[side]));
        int bad = -1;
        for (int j = 0; j < nacc && bad < 0; j++)
            if (fabs(acc[1][j] - acc[0][j]) > 1e-9 * (1.0 + fabs(acc[0][j])))
                bad = j;
        CHECK(bad < 0, "metric case %zu: accumulator %d is %.9g, CPU %.9g", t, bad,
              bad < 0 ? 0.0 : acc[1][bad], bad < 0 ? 0.0 : acc[0][bad]);
        free(acc[0]);
        free(acc[1]);
    }
    twin_free(p, &pred);
    twin_free(p, &labels);
    twin_free(p, &ids);
}

static void test_reductions(pair *p)
{
    enum { N = 100003 };
    float host[N];
    gc_fill(&p->rng, host, N, -2, 2);
    host[17] = NAN;
    host[N - 1] = INFINITY;
    twin with_nonfinite = twin_of(p, host, N), w = twin_random(p, N, -1, 1);
    twin g = twin_random(p, N, -1, 1);
    size_t count[2];
    double sumsq[2], penalty[2];
    ON_BOTH(p, count[side] = be->count_nonfinite(be, DEV(with_nonfinite), N);
            sumsq[side] = be->sumsq(be, DEV(w), N);
            penalty[side] = be->regularize(be, DEV(w), DEV(g), N, 0.01f, 0.003f));
    CHECK(count[1] == count[0] && count[0] == 2, "count_nonfinite %zu, CPU %zu", count[1],
          count[0]);
    CHECK_CLOSE(sumsq[1], sumsq[0], REDUCE_RTOL, 0, "sumsq %.9g, CPU %.9g", sumsq[1], sumsq[0]);
    CHECK_CLOSE(penalty[1], penalty[0], REDUCE_RTOL, 0, "regularize %.9g, CPU %.9g", penalty[1],
                penalty[0]);
    compare(p, "regularize gradient", &g, ARITH_RTOL, ATOL);
    twin_free(p, &with_nonfinite);
    twin_free(p, &w);
    twin_free(p, &g);
}

/* Three steps of each optimizer, every option on somewhere. */
static void test_optimizers(pair *p)
{
    enum { N = 5000 };
    dl_opt_step cases[8];
    memset(cases, 0, sizeof cases);
    for (int i = 0; i < 8; i++) {
        cases[i].lr = 0.01;
        cases[i].beta_1 = 0.9;
        cases[i].beta_2 = 0.999;
        cases[i].epsilon = 1e-7;
        cases[i].rho = 0.9;
    }
    cases[0].kind = DL_OPT_SGD;
    cases[1].kind = DL_OPT_SGD;
    cases[1].momentum = 0.9;
    cases[1].nesterov = 1;
    cases[1].weight_decay = 0.01;
    cases[2].kind = DL_OPT_ADAM;
    cases[3].kind = DL_OPT_ADAM;
    cases[3].amsgrad = 1;
    cases[3].weight_decay = 0.004;
    cases[4].kind = DL_OPT_RMSPROP;
    cases[4].centered = 1;
    cases[4].momentum = 0.5;
    cases[5].kind = DL_OPT_ADAGRAD;
    cases[6].kind = DL_OPT_ADAMAX;
    cases[7].kind = DL_OPT_NADAM;
    for (int c = 0; c < 8; c++) {
        size_t nslots = (size_t)dl_opt_nslots(cases[c].kind) * N;
        twin w = twin_random(p, N, -1, 1), g = twin_random(p, N, -1, 1);
        twin slots = twin_zeros(p, nslots);
        double nadam_u_product = 1.0;
        for (int t = 1; t <= 3; t++) {
            dl_opt_step s = cases[c];
            s.t = t;
            dl_opt_prepare(&s, &nadam_u_product);
            ON_BOTH(p, be->opt_update(be, &s, DEV(w), DEV(g), DEV(slots), N, N));
        }
        char what[64];
        snprintf(what, sizeof what, "optimizer case %d weights", c);
        compare(p, what, &w, REDUCE_RTOL, ATOL);
        snprintf(what, sizeof what, "optimizer case %d slots", c);
        compare(p, what, &slots, REDUCE_RTOL, ATOL);
        twin_free(p, &w);
        twin_free(p, &g);
        twin_free(p, &slots);
    }
}

/* ---- convolution and pooling ---- */

typedef struct conv_case {
    int n, h, w, c, kh, kw, filters, sh, sw, dh, dw, padding;
    int run_n; /* the batch the ops run with: below n, a partial batch */
} conv_case;

static void check_conv(pair *p, const conv_case *cc)
{
    dl_conv_desc planned = gc_conv_desc(cc->n, cc->h, cc->w, cc->c, cc->kh, cc->kw, cc->filters,
                                        cc->sh, cc->sw, cc->dh, cc->dw, cc->padding);
    dl_conv_desc d = planned;
    d.n = cc->run_n;
    size_t nx = (size_t)d.n * d.h * d.w * d.c, ny = (size_t)d.n * d.oh * d.ow * d.filters;
    size_t nk = (size_t)d.kh * d.kw * d.c * d.filters;
    twin x = twin_random(p, nx, -1, 1), kernel = twin_random(p, nk, -1, 1);
    twin dy = twin_random(p, ny, -1, 1), y = twin_zeros(p, ny);
    twin dx = twin_zeros(p, nx), dk = twin_zeros(p, nk);
    float *workspace[2];
    /* NaN: an op must not read scratch it has not written */
    ON_BOTH(p, size_t floats = be->conv_workspace(be, &planned);
            workspace[side] = be->alloc(be, floats); be->fill(be, workspace[side], NAN, floats);
            be->conv_forward(be, &d, DEV(x), DEV(kernel), DEV(y), workspace[side]);
            be->conv_backward_filter(be, &d, DEV(x), DEV(dy), DEV(dk), workspace[side]);
            be->conv_backward_data(be, &d, DEV(dy), DEV(kernel), DEV(dx), workspace[side]));
    char what[160];
    int len = snprintf(what, sizeof what, "conv n%d %dx%dx%d k%dx%d f%d s%d,%d d%d,%d pad %d", d.n,
                       d.h, d.w, d.c, d.kh, d.kw, d.filters, d.sh, d.sw, d.dh, d.dw, cc->padding);
    snprintf(what + len, sizeof what - (size_t)len, " forward");
    compare(p, what, &y, MATMUL_RTOL, 1e-5 * sqrt((double)d.kh * d.kw * d.c));
    snprintf(what + len, sizeof what - (size_t)len, " backward filter");
    compare(p, what, &dk, MATMUL_RTOL, 1e-5 * sqrt((double)d.n * d.oh * d.ow));
    snprintf(what + len, sizeof what - (size_t)len, " backward data");
    compare(p, what, &dx, MATMUL_RTOL, 1e-5 * sqrt((double)d.kh * d.kw * d.filters));
    ON_BOTH(p, be->release(be, workspace[side]));
    twin_free(p, &x);
    twin_free(p, &kernel);
    twin_free(p, &dy);
    twin_free(p, &y);
    twin_free(p, &dx);
    twin_free(p, &dk);
}

static void test_conv(pair *p)
{
    static const conv_case cases[] = {
        {4, 12, 12, 3, 3, 3, 8, 1, 1, 1, 1, WIN_VALID, 4},
        {4, 12, 12, 3, 3, 3, 8, 2, 2, 1, 1, WIN_SAME, 4},  /* pads (0, 1): explicit */
        {3, 11, 9, 5, 5, 4, 6, 2, 3, 1, 1, WIN_SAME, 3},   /* kh != kw, c != filters */
        {2, 13, 13, 4, 3, 3, 4, 1, 1, 2, 2, WIN_SAME, 2},  /* dilation */
        {4, 8, 8, 16, 1, 1, 32, 1, 1, 1, 1, WIN_VALID, 4}, /* pointwise */
        {3, 1, 20, 6, 1, 5, 7, 1, 2, 1, 1, WIN_SAME, 3},   /* Conv1D */
        {3, 1, 16, 4, 1, 3, 5, 1, 1, 1, 1, WIN_CAUSAL, 3}, /* Conv1D, all padding before */
        {8, 10, 10, 3, 3, 3, 4, 1, 1, 1, 1, WIN_SAME, 5},  /* the last, partial batch */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_conv(p, &cases[i]);
}

static void test_pooling(pair *p)
{
    static const int cases[][10] = {
        /* kind, n, h, w, c, ph, pw, sh, sw, padding */
        {DL_POOL_MAX, 4, 12, 12, 8, 2, 2, 2, 2, WIN_VALID}, /* cuDNN */
        {DL_POOL_AVG, 4, 12, 12, 8, 2, 2, 2, 2, WIN_VALID},
        {DL_POOL_MAX, 3, 9, 8, 5, 3, 3, 1, 1, WIN_SAME}, /* symmetric: cuDNN, overlapping */
        {DL_POOL_AVG, 3, 9, 8, 5, 3, 3, 1, 1, WIN_SAME},
        {DL_POOL_MAX, 3, 9, 7, 4, 2, 2, 2, 2, WIN_SAME}, /* pads (0, 1): own kernels */
        {DL_POOL_AVG, 3, 9, 7, 4, 3, 3, 2, 2, WIN_SAME},
        {DL_POOL_MAX, 2, 6, 5, 16, 6, 5, 6, 5, WIN_VALID}, /* global */
        {DL_POOL_AVG, 2, 6, 5, 16, 6, 5, 6, 5, WIN_VALID},
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const int *k = cases[t];
        dl_pool_desc d = gc_pool_desc(k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9]);
        size_t nx = (size_t)d.n * d.h * d.w * d.c, ny = (size_t)d.n * d.oh * d.ow * d.c;
        twin x = twin_distinct(p, nx, -1, 1), y = twin_zeros(p, ny);
        twin dy = twin_random(p, ny, -1, 1), dx = twin_zeros(p, nx);
        ON_BOTH(p, be->pool_forward(be, &d, DEV(x), DEV(y));
                be->pool_backward(be, &d, DEV(x), DEV(y), DEV(dy), DEV(dx)));
        char what[64];
        snprintf(what, sizeof what, "pooling case %zu forward", t);
        compare(p, what, &y, REDUCE_RTOL, ATOL);
        snprintf(what, sizeof what, "pooling case %zu backward", t);
        compare(p, what, &dx, REDUCE_RTOL, ATOL);
        twin_free(p, &x);
        twin_free(p, &y);
        twin_free(p, &dy);
        twin_free(p, &dx);
    }
}

/* ---- normalization ---- */

static void check_batchnorm(pair *p, int rows, int c)
{
    size_t n = (size_t)rows * c;
    twin x = twin_random(p, n, -1, 3), dy = twin_random(p, n, -1, 1), y = twin_zeros(p, n);
    twin dx = twin_zeros(p, n), gamma = twin_random(p, c, 0.5f, 1.5f);
    twin beta = twin_random(p, c, -0.5f, 0.5f), mean = twin_zeros(p, c);
    twin inv_std = twin_zeros(p, c), moving_mean = twin_random(p, c, -0.1f, 0.1f);
    twin moving_var = twin_random(p, c, 0.9f, 1.1f), dgamma = twin_zeros(p, c);
    twin dbeta = twin_zeros(p, c);
    ON_BOTH(p,
            be->batchnorm_train(be, DEV(x), rows, c, DEV(gamma), DEV(beta), 1e-3f, 0.99f,
                                DEV(moving_mean), DEV(moving_var), DEV(y), DEV(mean), DEV(inv_std));
            be->batchnorm_backward(be, DEV(x), DEV(dy), rows, c, DEV(gamma), DEV(mean),
                                   DEV(inv_std), DEV(dx), DEV(dgamma), DEV(dbeta)));
    char what[96];
    int len = snprintf(what, sizeof what, "batchnorm %d rows x %d:", rows, c);
    static const char *const names[] = {" y",  " mean",   " inv_std", " moving_mean", " moving_var",
                                        " dx", " dgamma", " dbeta",   " inference"};
    const twin *outputs[] = {&y, &mean, &inv_std, &moving_mean, &moving_var, &dx, &dgamma, &dbeta};
    for (int i = 0; i < 8; i++) {
        snprintf(what + len, sizeof what - (size_t)len, "%s", names[i]);
        compare(p, what, outputs[i], REDUCE_RTOL, 1e-5);
    }
    ON_BOTH(p, be->batchnorm_infer(be, DEV(x), rows, c, DEV(gamma), DEV(beta), DEV(moving_mean),
                                   DEV(moving_var), 1e-3f, DEV(y)));
    snprintf(what + len, sizeof what - (size_t)len, "%s", names[8]);
    compare(p, what, &y, REDUCE_RTOL, 1e-5);
    twin *all[] = {&x,    &dy,      &y,           &dx,         &gamma,  &beta,
                   &mean, &inv_std, &moving_mean, &moving_var, &dgamma, &dbeta};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        twin_free(p, all[i]);
}

static void test_normalization(pair *p)
{
    check_batchnorm(p, 64, 8);        /* Dense: [batch, features] */
    check_batchnorm(p, 2 * 7 * 7, 5); /* Conv2D: [batch * h * w, channels] */
    enum { ROWS = 21, C = 19 };
    twin x = twin_random(p, ROWS * C, -1, 2), dy = twin_random(p, ROWS * C, -1, 1);
    twin y = twin_zeros(p, ROWS * C), dx = twin_zeros(p, ROWS * C);
    twin gamma = twin_random(p, C, 0.5f, 1.5f), beta = twin_random(p, C, -0.5f, 0.5f);
    twin mean = twin_zeros(p, ROWS), inv_std = twin_zeros(p, ROWS);
    twin dgamma = twin_zeros(p, C), dbeta = twin_zeros(p, C);
    ON_BOTH(p, be->layernorm_forward(be, DEV(x), ROWS, C, DEV(gamma), DEV(beta), 1e-3f, DEV(y),
                                     DEV(mean), DEV(inv_std));
            be->layernorm_backward(be, DEV(x), DEV(dy), ROWS, C, DEV(gamma), DEV(mean),
                                   DEV(inv_std), DEV(dx), DEV(dgamma), DEV(dbeta)));
    compare(p, "layernorm y", &y, REDUCE_RTOL, ATOL);
    compare(p, "layernorm inv_std", &inv_std, REDUCE_RTOL, ATOL);
    compare(p, "layernorm dx", &dx, REDUCE_RTOL, ATOL);
    compare(p, "layernorm dgamma", &dgamma, REDUCE_RTOL, 1e-5);
    compare(p, "layernorm dbeta", &dbeta, REDUCE_RTOL, 1e-5);
    twin *all[] = {&x, &dy, &y, &dx, &gamma, &beta, &mean, &inv_std, &dgamma, &dbeta};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        twin_free(p, all[i]);
}

/* ---- images ---- */

static void test_images(pair *p)
{
    enum { N = 3, H = 9, W = 8, C = 4, SIZE = N * H * W * C };
    twin x = twin_random(p, SIZE, 0, 1), dy = twin_random(p, SIZE, -1, 1);
    twin y = twin_zeros(p, SIZE), dx = twin_zeros(p, SIZE);
    twin padded = twin_zeros(p, (size_t)N * (H + 3) * (W + 2) * C);
    twin up = twin_random(p, (size_t)SIZE * 6, -1, 1);
    ON_BOTH(p, be->pad2d(be, DEV(x), N, H, W, C, 1, 2, 2, 0, DEV(padded));
            be->pad2d_backward(be, DEV(padded), N, H, W, C, 1, 2, 2, 0, DEV(dx)));
    compare(p, "pad2d", &padded, 0, 0);
    compare(p, "pad2d_backward", &dx, 0, 0);
    ON_BOTH(p, be->upsample2d_backward(be, DEV(up), N, H, W, C, 2, 3, DEV(dx));
            be->upsample2d(be, DEV(x), N, H, W, C, 2, 3, DEV(up)));
    compare(p, "upsample2d", &up, 0, 0);
    compare(p, "upsample2d_backward", &dx, ARITH_RTOL, ATOL);
    /* bilinear everywhere: nearest sampling could round a coordinate the
     * device computes an ulp apart to the neighbouring pixel */
    static const int kinds[] = {DL_AUG_FLIP, DL_AUG_TRANSLATE, DL_AUG_ROTATE, DL_AUG_ZOOM,
                                DL_AUG_CONTRAST};
    static const int fills[] = {DL_FILL_REFLECT, DL_FILL_WRAP, DL_FILL_CONSTANT, DL_FILL_NEAREST,
                                DL_FILL_REFLECT};
    for (int t = 0; t < 5; t++) {
        dl_aug_desc d;
        memset(&d, 0, sizeof d);
        d.kind = kinds[t];
        d.n = N;
        d.h = H;
        d.w = W;
        d.c = C;
        d.flip_h = d.flip_v = 1;
        d.height_lo = d.width_lo = -0.2f;
        d.height_hi = d.width_hi = 0.3f;
        d.factor_lo = d.factor_hi = kinds[t] == DL_AUG_CONTRAST ? 0.4f : 0.1f;
        d.fill_mode = fills[t];
        d.fill_value = 0.25f;
        d.bilinear = 1;
        d.value_hi = 1.0f;
        d.seed = 7;
        d.step = (uint64_t)t;
        ON_BOTH(p, be->augment(be, &d, DEV(x), DEV(y));
                be->augment_backward(be, &d, DEV(x), DEV(dy), DEV(dx)));
        char what[64];
        snprintf(what, sizeof what, "augmentation kind %d forward", d.kind);
        compare(p, what, &y, REDUCE_RTOL, 1e-5);
        snprintf(what, sizeof what, "augmentation kind %d backward", d.kind);
        compare(p, what, &dx, REDUCE_RTOL, 1e-5);
    }
    twin_free(p, &x);
    twin_free(p, &dy);
    twin_free(p, &y);
    twin_free(p, &dx);
    twin_free(p, &padded);
    twin_free(p, &up);
}

/* A last batch of one sample: a variance of zero (run last: if the device
 * refuses it, its error stops every later op of the backend). */
static void test_batchnorm_one_row(pair *p)
{
    check_batchnorm(p, 1, 4);
}

int main(void)
{
    static const struct {
        const char *name;
        void (*run)(pair *p);
    } groups[] = {
        {"memory", test_memory},
        {"gemm", test_gemm},
        {"elementwise", test_elementwise},
        {"dropout", test_dropout},
        {"losses", test_losses},
        {"metrics", test_metrics},
        {"reductions", test_reductions},
        {"optimizers", test_optimizers},
        {"convolution", test_conv},
        {"pooling", test_pooling},
        {"normalization", test_normalization},
        {"images", test_images},
        {"batchnorm of one row", test_batchnorm_one_row},
    };
    char why[sizeof((dl_err *)0)->msg];
    dl_err err;
    pair p = {.rng = {2024}};
    if (!(p.cpu = be_cpu_create(1, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (!(p.other = load_cuda(why, sizeof why))) {
        printf("GPU parity: skipped: %s\n", why);
        printf("GPU parity: comparing two CPU backends instead, to check the harness\n");
        p.other = be_cpu_create(1, &err);
    }
    const char *other_device = strcmp(p.other->name, "cpu") ? "gpu" : "cpu";
    test_table(p.cpu);
    test_table(p.other);
    /* a device error is latched: the first group after which status
     * reports it is where it happened */
    for (size_t i = 0; i < sizeof groups / sizeof *groups; i++) {
        groups[i].run(&p);
        CHECK(p.other->status(p.other, &err) == DL_OK, "%s backend after the %s ops: %s",
              p.other->name, groups[i].name, err.msg);
    }
    p.cpu->destroy(p.cpu);
    p.other->destroy(p.other);
    return check_report(strcmp(other_device, "gpu") ? "GPU parity (harness on two CPUs)"
                                                    : "GPU parity");
}
