/* test_gpu_parity.c: the CUDA backend against the CPU backend: memory,
 * matrices, elementwise ops, losses, metrics, reductions and optimizer
 * steps (test_gpu_parity_nn.c: convolution, pooling, normalization and
 * images; gpu_pair.h: what the two share).
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
#include "tests/unit/gpu_pair.h"

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

int main(void)
{
    static const pair_group groups[] = {
        {"memory", test_memory},
        {"gemm", test_gemm},
        {"elementwise", test_elementwise},
        {"dropout", test_dropout},
        {"losses", test_losses},
        {"metrics", test_metrics},
        {"reductions", test_reductions},
        {"optimizers", test_optimizers},
    };
    return pair_main("GPU parity", groups, sizeof groups / sizeof *groups);
}
