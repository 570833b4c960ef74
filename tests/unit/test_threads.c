/* test_threads.c: the CPU backend's worker pool (cpu_threads.c). Every
 * index of a job is run exactly once, for many job sizes and back-to-back
 * jobs; and every op the pool splits gives bit for bit what it gives on
 * one thread (the split never changes a sum's order; convolutions, which
 * run in thread-sized chunks of images, are checked to float rounding),
 * on inputs of many blocks. OpenBLAS runs on one thread in
 * both, so only the pool differs. */
#include "engine/backend/backend.h"
#include "engine/backend/cpu_threads.h"
#include "tests/unit/testdata.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pool itself ---- */

typedef struct count_job {
    unsigned char *seen;        /* [n] times each index ran */
} count_job;

static void count_range(const void *ctx, size_t lo, size_t hi)
{
    const count_job *j = ctx;
    for (size_t i = lo; i < hi; i++)
        j->seen[i]++;
}

static void check_coverage(cpu_pool *p, int threads, size_t n, size_t grain)
{
    unsigned char *seen = calloc(n ? n : 1, 1);
    count_job j = {seen};
    cpu_parallel(p, n, grain, count_range, &j);
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += seen[i] != 1;
    CHECK(wrong == 0, "%d threads, n %zu, grain %zu: %zu indexes not run exactly once", threads,
          n, grain, wrong);
    free(seen);
}

static void test_pool(void)
{
    static const size_t sizes[][2] = {{0, 1},    {1, 1},       {5, 4},      {8, 4},
                                      {9, 4},    {1000, 7},    {1000, 500}, {1001, 500},
                                      {65536, 16384}, {100003, 1024}};
    CHECK(cpu_pool_new(1) == NULL, "one thread needs no pool");
    for (int threads = 2; threads <= 4; threads++) {
        cpu_pool *p = cpu_pool_new(threads);
        CHECK(p != NULL, "a pool of %d threads", threads);
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
            check_coverage(p, threads, sizes[k][0], sizes[k][1]);
        /* back-to-back jobs, as the ops come: none may run into the next */
        unsigned char seen[256] = {0};
        count_job j = {seen};
        for (int rep = 0; rep < 3000; rep++)
            cpu_parallel(p, sizeof seen, 8, count_range, &j);
        int wrong = 0;
        for (size_t i = 0; i < sizeof seen; i++)
            wrong += seen[i] != (unsigned char)(3000 % 256);
        CHECK(wrong == 0, "%d threads: 3000 jobs in a row, %d indexes counted wrong", threads,
              wrong);
        cpu_pool_free(p);
    }
}

/* ---- the ops: one thread against three ---- */

static float *random_floats(size_t n, unsigned seed)
{
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    }
    return x;
}

static void check_same(const float *one, const float *many, size_t n, const char *what)
{
    CHECK(memcmp(one, many, n * sizeof(float)) == 0, "%s: 3 threads differ from 1", what);
}

static void test_elementwise(dl_backend *one, dl_backend *many)
{
    size_t n = 200003;
    float *x = random_floats(n, 1), *dy = random_floats(n, 2);
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    float *ma = malloc(n * sizeof(float)), *mb = malloc(n * sizeof(float));
    for (int act = DL_ACT_RELU; act <= DL_ACT_GELU; act++) {
        one->act_forward(one, act, 0.2f, x, a, n);
        many->act_forward(many, act, 0.2f, x, b, n);
        check_same(a, b, n, "act_forward");
        one->act_backward(one, act, 0.2f, x, a, dy, ma, n);
        many->act_backward(many, act, 0.2f, x, a, dy, mb, n);
        check_same(ma, mb, n, "act_backward");
    }
    one->dropout(one, 7, 5, 0.3f, x, a, ma, n);
    many->dropout(many, 7, 5, 0.3f, x, b, mb, n);
    check_same(a, b, n, "dropout output");
    check_same(ma, mb, n, "dropout mask");

    int rows = 5000, cols = 40; /* bias_grad splits 40 columns as 16 + 16 + 8 */
    float *bias = random_floats((size_t)cols, 3);
    memcpy(a, x, (size_t)rows * cols * sizeof(float));
    memcpy(b, x, (size_t)rows * cols * sizeof(float));
    one->add_bias(one, a, bias, rows, cols);
    many->add_bias(many, b, bias, rows, cols);
    check_same(a, b, (size_t)rows * cols, "add_bias");
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        memcpy(ma, bias, (size_t)cols * sizeof(float));
        memcpy(mb, bias, (size_t)cols * sizeof(float));
        one->bias_grad(one, ma, dy, rows, cols, accumulate);
        many->bias_grad(many, mb, dy, rows, cols, accumulate);
        check_same(ma, mb, (size_t)cols, accumulate ? "bias_grad (accumulate)" : "bias_grad");
    }
    free(bias);

    dl_opt_step s = {.kind = DL_OPT_ADAM, .lr = 1e-3, .beta_1 = 0.9, .beta_2 = 0.999,
                     .epsilon = 1e-7, .t = 3};
    double nadam_product = 1.0;
    dl_opt_prepare(&s, &nadam_product);
    float *slots_a = random_floats(2 * n, 4), *slots_b = malloc(2 * n * sizeof(float));
    for (size_t i = 0; i < 2 * n; i++)
        slots_a[i] = slots_a[i] * slots_a[i]; /* second moments are >= 0 */
    memcpy(slots_b, slots_a, 2 * n * sizeof(float));
    memcpy(a, x, n * sizeof(float));
    memcpy(b, x, n * sizeof(float));
    one->opt_update(one, &s, a, dy, slots_a, n, n);
    many->opt_update(many, &s, b, dy, slots_b, n, n);
    check_same(a, b, n, "opt_update weights");
    check_same(slots_a, slots_b, 2 * n, "opt_update slots");
    free(slots_a);
    free(slots_b);
    free(x);
    free(dy);
    free(a);
    free(b);
    free(ma);
    free(mb);
}

static void check_pool_op(dl_backend *one, dl_backend *many, const dl_pool_desc *d,
                          const char *what)
{
    size_t nx = (size_t)d->n * d->h * d->w * d->c, ny = (size_t)d->n * d->oh * d->ow * d->c;
    float *x = random_floats(nx, 5), *dy = random_floats(ny, 6);
    float *y1 = malloc(ny * sizeof(float)), *y3 = malloc(ny * sizeof(float));
    float *dx1 = malloc(nx * sizeof(float)), *dx3 = malloc(nx * sizeof(float));
    memset(dx1, 0x7f, nx * sizeof(float)); /* backward must overwrite all of dx */
    memset(dx3, 0x55, nx * sizeof(float));
    one->pool_forward(one, d, x, y1);
    many->pool_forward(many, d, x, y3);
    check_same(y1, y3, ny, what);
    one->pool_backward(one, d, x, y1, dy, dx1);
    many->pool_backward(many, d, x, y3, dy, dx3);
    check_same(dx1, dx3, nx, what);
    free(x);
    free(dy);
    free(y1);
    free(y3);
    free(dx1);
    free(dx3);
}

static void test_pooling(dl_backend *one, dl_backend *many)
{
    /* tiled max pooling with an uncovered last row and column */
    dl_pool_desc tiled = {.kind = DL_POOL_MAX, .n = 64, .h = 27, .w = 27, .c = 32, .ph = 2,
                          .pw = 2, .sh = 2, .sw = 2, .oh = 13, .ow = 13};
    check_pool_op(one, many, &tiled, "max pooling 2x2");
    /* overlapping average windows: dx accumulates */
    dl_pool_desc overlap = {.kind = DL_POOL_AVG, .n = 40, .h = 15, .w = 15, .c = 24, .ph = 3,
                            .pw = 3, .sh = 2, .sw = 2, .oh = 7, .ow = 7};
    check_pool_op(one, many, &overlap, "average pooling 3x3 stride 2");
}

/* The three convolution ops with a bias and relu, on 3 threads against 1 */
static void check_conv(dl_backend *one, dl_backend *many, const dl_conv_desc *d,
                       const char *what)
{
    size_t nx = (size_t)d->n * d->h * d->w * d->c;
    size_t ny = (size_t)d->n * d->oh * d->ow * d->filters;
    size_t nk = (size_t)d->kh * d->kw * d->c * d->filters;
    size_t nws = many->conv_workspace(many, d); /* the larger: chunks grow with threads */
    float *x = random_floats(nx, 7), *k = random_floats(nk, 8), *dy = random_floats(ny, 9);
    float *bias = random_floats((size_t)d->filters, 10);
    float *ws = malloc((nws + 1) * sizeof(float));
    float *z1 = malloc(ny * sizeof(float)), *z3 = malloc(ny * sizeof(float));
    float *y1 = malloc(ny * sizeof(float)), *y3 = malloc(ny * sizeof(float));
    float *out1 = malloc((nx > nk ? nx : nk) * sizeof(float));
    float *out3 = malloc((nx > nk ? nx : nk) * sizeof(float));
    float *db1 = malloc((size_t)d->filters * sizeof(float));
    float *db3 = malloc((size_t)d->filters * sizeof(float));
    CHECK(one->conv_workspace(one, d) <= nws, "%s: workspace sizes", what);
    /* a chunk of images grows with the threads, and OpenBLAS may round a
     * product of another shape differently: checked to float rounding */
    dl_conv_act act = {bias, DL_ACT_RELU, 0.0f};
    one->conv_forward(one, d, &act, x, k, z1, y1, ws);
    many->conv_forward(many, d, &act, x, k, z3, y3, ws);
    CHECK_TENSOR(z3, z1, ny, 1e-5, 1e-5, "%s: pre-activation, 3 threads against 1", what);
    CHECK_TENSOR(y3, y1, ny, 1e-5, 1e-5, "%s: output, 3 threads against 1", what);
    one->conv_backward_data(one, d, dy, k, out1, ws);
    many->conv_backward_data(many, d, dy, k, out3, ws);
    CHECK_TENSOR(out3, out1, nx, 1e-5, 1e-5, "%s: input gradient, 3 threads against 1", what);
    /* the same z on both sides, so that relu lets the same gradients through */
    memcpy(z3, z1, ny * sizeof(float));
    memcpy(y3, y1, ny * sizeof(float));
    one->conv_backward_filter(one, d, &act, x, z1, y1, dy, out1, db1, ws);
    many->conv_backward_filter(many, d, &act, x, z3, y3, dy, out3, db3, ws);
    CHECK_TENSOR(z3, z1, ny, 0.0, 0.0, "%s: relu gradient, 3 threads against 1", what);
    CHECK_TENSOR(out3, out1, nk, 1e-5, 1e-4, "%s: filter gradient, 3 threads against 1", what);
    CHECK_TENSOR(db3, db1, (size_t)d->filters, 0.0, 0.0, "%s: bias gradient, 3 threads against 1",
                 what);
    free(x);
    free(k);
    free(dy);
    free(bias);
    free(ws);
    free(z1);
    free(z3);
    free(y1);
    free(y3);
    free(out1);
    free(out3);
    free(db1);
    free(db3);
}

static void test_conv(dl_backend *one, dl_backend *many)
{
    /* the example CNN's layers: the direct loops (1 channel, 32 filters),
     * im2col pixel by pixel */
    dl_conv_desc first = {.n = 64, .h = 28, .w = 28, .c = 1, .kh = 3, .kw = 3, .filters = 32,
                          .sh = 1, .sw = 1, .dh = 1, .dw = 1, .oh = 26, .ow = 26};
    check_conv(one, many, &first, "conv 28x28x1 -> 32");
    /* im2col tap by tap: 1 channel, filters not a multiple of 8 */
    dl_conv_desc taps = {.n = 16, .h = 28, .w = 28, .c = 1, .kh = 3, .kw = 3, .filters = 5,
                         .sh = 1, .sw = 1, .dh = 1, .dw = 1, .oh = 26, .ow = 26};
    check_conv(one, many, &taps, "conv 28x28x1 -> 5");
    /* the direct loops through padding, on 32 + 8 filters */
    dl_conv_desc direct = {.n = 9, .h = 12, .w = 11, .c = 3, .kh = 3, .kw = 3, .filters = 40,
                           .sh = 2, .sw = 2, .dh = 1, .dw = 1, .pad_top = 1, .pad_left = 1,
                           .oh = 6, .ow = 6};
    check_conv(one, many, &direct, "conv direct, strided, padded");
    dl_conv_desc second = {.n = 64, .h = 13, .w = 13, .c = 32, .kh = 3, .kw = 3, .filters = 64,
                           .sh = 1, .sw = 1, .dh = 1, .dw = 1, .oh = 11, .ow = 11};
    check_conv(one, many, &second, "conv 13x13x32 -> 64");
    dl_conv_desc padded = {.n = 9, .h = 12, .w = 12, .c = 8, .kh = 3, .kw = 3, .filters = 5,
                           .sh = 2, .sw = 2, .dh = 1, .dw = 1, .pad_top = 1, .pad_left = 1,
                           .oh = 6, .ow = 6};
    check_conv(one, many, &padded, "conv strided, padded");
}

int main(void)
{
    test_pool();
    dl_err err;
    dl_backend *one = be_cpu_create(1, &err), *many = be_cpu_create(3, &err);
    if (!one || !many) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    openblas_set_num_threads(1); /* the pool is what differs, not OpenBLAS */
    test_elementwise(one, many);
    test_pooling(one, many);
    test_conv(one, many);
    one->destroy(one);
    many->destroy(many);
    return check_report("threads");
}
