/* test_gpu_parity_nn.c: the CUDA backend against the CPU backend for the
 * layers' ops: convolution, pooling, normalization, padding, upsampling,
 * dropout by channel and image augmentation (tolerances and the loader:
 * test_gpu_parity.c, gpu_pair.h). Without a GPU it compares two CPU
 * backends and says so. */
#include "tests/unit/gpu_pair.h"

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
    twin dy = twin_random(p, ny, -1, 1), y = twin_zeros(p, ny), z = twin_zeros(p, ny);
    twin dx = twin_zeros(p, nx), dk = twin_zeros(p, nk), bias = twin_random(p, d.filters, -1, 1);
    twin db = twin_zeros(p, d.filters);
    float *workspace[2];
    /* NaN: an op must not read scratch it has not written. The forward
     * with the bias and elu; the filter gradient through elu from the
     * CPU's z and y on both sides. */
    dl_conv_act act[2] = {{bias.cpu, DL_ACT_ELU, 1.0f}, {bias.other, DL_ACT_ELU, 1.0f}};
    ON_BOTH(p, size_t floats = be->conv_workspace(be, &planned);
            workspace[side] = be->alloc(be, floats); be->fill(be, workspace[side], NAN, floats);
            be->conv_forward(be, &d, &act[side], DEV(x), DEV(kernel), DEV(z), DEV(y),
                             workspace[side]));
    char what[160];
    int len = snprintf(what, sizeof what, "conv n%d %dx%dx%d k%dx%d f%d s%d,%d d%d,%d pad %d", d.n,
                       d.h, d.w, d.c, d.kh, d.kw, d.filters, d.sh, d.sw, d.dh, d.dw, cc->padding);
    snprintf(what + len, sizeof what - (size_t)len, " forward");
    compare(p, what, &y, MATMUL_RTOL, 1e-5 * sqrt((double)d.kh * d.kw * d.c));
    twin_sync(p, &z);
    twin_sync(p, &y);
    ON_BOTH(p, be->conv_backward_filter(be, &d, &act[side], DEV(x), DEV(z), DEV(y), DEV(dy),
                                        DEV(dk), DEV(db), workspace[side]);
            be->conv_backward_data(be, &d, DEV(dy), DEV(kernel), DEV(dx), workspace[side]));
    snprintf(what + len, sizeof what - (size_t)len, " elu gradient");
    compare(p, what, &z, MATMUL_RTOL, 1e-6);
    snprintf(what + len, sizeof what - (size_t)len, " bias gradient");
    compare(p, what, &db, MATMUL_RTOL, 1e-5 * sqrt((double)d.n * d.oh * d.ow));
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
    twin_free(p, &z);
    twin_free(p, &bias);
    twin_free(p, &db);
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
    static const pair_group groups[] = {
        {"convolution", test_conv},
        {"pooling", test_pooling},
        {"normalization", test_normalization},
        {"images", test_images},
        {"batchnorm of one row", test_batchnorm_one_row},
    };
    return pair_main("GPU parity, layers", groups, sizeof groups / sizeof *groups);
}
