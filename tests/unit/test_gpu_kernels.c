/* test_gpu_kernels.c: the CUDA backend's math that a machine without a GPU
 * can check, against the CPU backend on the same inputs:
 *   - gpu.h's host mappings: each row-major gemm as the column-major call
 *     cuBLAS receives (run by OpenBLAS's column-major sgemm), the transpose
 *     as cublasSgeam's arguments (run by a reference geam), and cuDNN's
 *     padding: where the rule accepts symmetric padding, and the explicit
 *     padding and cropping otherwise, both run through the CPU convolution;
 *   - every body of kernel_rows.h over its whole grid, as a CUDA kernel
 *     runs it one thread per index.
 * The bodies add in the CPU's order, so they match it to 1e-6 (most bit
 * for bit); sums in another order to 1e-5. */
#include "engine/backend/gpu.h"
#include "engine/backend/kernel_rows.h"
#include "tests/unit/gpu_check.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#define SAME_ORDER_RTOL 1e-6
#define OTHER_ORDER_RTOL 1e-5
#define ATOL 1e-6

static float *floats(size_t n)
{
    return calloc(n ? n : 1, sizeof(float));
}

/* ---- gpu.h: cuBLAS's view of row-major matrices ---- */

static void test_gemm_mapping(void)
{
    gc_rng rng = {11};
    int m = 7, n = 5, k = 9, pad = 3; /* pad: leading dimensions beyond the rows */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
            float a[(9 + 3) * 9], b[(9 + 3) * 9], want[7 * (5 + 3)], got[7 * (5 + 3)];
            gc_fill(&rng, a, sizeof a / sizeof *a, -1, 1);
            gc_fill(&rng, b, sizeof b / sizeof *b, -1, 1);
            gc_fill(&rng, want, sizeof want / sizeof *want, -1, 1);
            memcpy(got, want, sizeof got);
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                        tb ? CblasTrans : CblasNoTrans, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, want,
                        ldc);
            dl_colmajor_gemm g = dl_gemm_colmajor(ta, tb, m, n, k, lda, ldb, ldc);
            cblas_sgemm(CblasColMajor, g.trans_first ? CblasTrans : CblasNoTrans,
                        g.trans_second ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, 0.5f, b,
                        g.ld_first, a, g.ld_second, 0.25f, got, g.ldc);
            char what[64];
            snprintf(what, sizeof what, "gemm as cuBLAS (trans_a %d, trans_b %d)", ta, tb);
            gc_check_arrays(what, got, want, sizeof got / sizeof *got, OTHER_ORDER_RTOL, ATOL);
        }
}

/* cublasSgeam's C = op(A) with op = T, column-major, as cuBLAS defines it. */
static void reference_geam_transpose(dl_colmajor_transpose t, const float *a, float *c)
{
    for (int j = 0; j < t.n; j++)
        for (int i = 0; i < t.m; i++)
            c[i + (size_t)j * t.ldc] = a[j + (size_t)i * t.lda];
}

/* The Keras kernel [kh, kw, c, f] through the transpose is cuDNN's [f, kh,
 * kw, c] (cuda-notes §3.3's index identity), and back. */
static void test_transpose_mapping(void)
{
    enum { KH = 3, KW = 2, C = 4, F = 5, K = KH * KW * C };
    float keras[K * F], cudnn[F * K], back[K * F];
    gc_rng rng = {12};
    gc_fill(&rng, keras, K * F, -1, 1);
    reference_geam_transpose(dl_transpose_colmajor(K, F), keras, cudnn);
    int bad = 0;
    for (int f = 0; f < F; f++)
        for (int r = 0; r < KH; r++)
            for (int s = 0; s < KW; s++)
                for (int c = 0; c < C; c++)
                    bad += cudnn[((f * KH + r) * KW + s) * C + c] !=
                           keras[((r * KW + s) * C + c) * F + f];
    CHECK(bad == 0, "transpose: %d elements of the cuDNN-ordered kernel misplaced", bad);
    reference_geam_transpose(dl_transpose_colmajor(F, K), cudnn, back);
    gc_check_arrays("transpose back", back, keras, K * F, 0, 0);
}

/* ---- gpu.h + dl_row_window: cuDNN's padding against Keras's ---- */

typedef struct conv_case {
    int h, w, kh, kw, sh, sw, dh, dw, padding;
} conv_case;

/* x padded with (row, col) pixels before and whatever makes `extent`
 * after: the copy cuDNN reads, pad 0. */
static float *padded_copy(const dl_conv_desc *d, const float *x, int before_h, int before_w,
                          int extent_h, int extent_w)
{
    dl_row_window pad = {d->n, d->c, d->h, d->w, extent_h, extent_w, -before_h, -before_w};
    float *out = floats(dl_row_window_size(&pad));
    for (size_t i = 0; i < dl_row_window_size(&pad); i++)
        out[i] = dl_row_window_at(&pad, x, i);
    return out;
}

/* One convolution as the CUDA backend bridges it, with the CPU
 * convolution standing in for cuDNN: where dl_cudnn_pad_matches accepts,
 * symmetric padding (bottom/right as much as top/left) must give Keras's
 * output; elsewhere the explicit padding to dl_cudnn_padded_extent must,
 * and its backward-data crop must give Keras's dx. */
static void check_conv_bridge(dl_backend *cpu, const conv_case *cc, int *explicit_cases)
{
    dl_conv_desc d = gc_conv_desc(2, cc->h, cc->w, 3, cc->kh, cc->kw, 4, cc->sh, cc->sw, cc->dh,
                                  cc->dw, cc->padding);
    int span_h = (d.kh - 1) * d.dh + 1, span_w = (d.kw - 1) * d.dw + 1;
    int symmetric = dl_cudnn_pad_matches(d.h, d.pad_top, span_h, d.sh, d.oh) &&
                    dl_cudnn_pad_matches(d.w, d.pad_left, span_w, d.sw, d.ow);
    dl_conv_desc p = d; /* the unpadded convolution over the padded copy */
    p.h = symmetric ? d.h + 2 * d.pad_top : dl_cudnn_padded_extent(span_h, d.sh, d.oh);
    p.w = symmetric ? d.w + 2 * d.pad_left : dl_cudnn_padded_extent(span_w, d.sw, d.ow);
    p.pad_top = p.pad_left = 0;
    *explicit_cases += !symmetric;
    size_t nx = (size_t)d.n * d.h * d.w * d.c, ny = (size_t)d.n * d.oh * d.ow * d.filters;
    size_t nk = (size_t)d.kh * d.kw * d.c * d.filters, np = (size_t)p.n * p.h * p.w * p.c;
    float *x = floats(nx), *kernel = floats(nk), *dy = floats(ny), *y = floats(ny);
    float *y_bridge = floats(ny), *dx = floats(nx), *dx_padded = floats(np),
          *dx_bridge = floats(nx);
    float *dk = floats(nk), *dk_bridge = floats(nk);
    gc_rng rng = {13};
    gc_fill(&rng, x, nx, -1, 1);
    gc_fill(&rng, kernel, nk, -1, 1);
    gc_fill(&rng, dy, ny, -1, 1);
    float *xp = padded_copy(&d, x, d.pad_top, d.pad_left, p.h, p.w);
    size_t work = cpu->conv_workspace(cpu, &d), work_p = cpu->conv_workspace(cpu, &p);
    float *ws = floats(work > work_p ? work : work_p);
    const dl_conv_act none = {NULL, DL_ACT_LINEAR, 0.0f};
    cpu->conv_forward(cpu, &d, &none, x, kernel, y, NULL, ws);
    cpu->conv_forward(cpu, &p, &none, xp, kernel, y_bridge, NULL, ws);
    char what[160];
    snprintf(what, sizeof what, "conv %dx%d k%dx%d s%d,%d d%d,%d padding %d: %s forward", cc->h,
             cc->w, cc->kh, cc->kw, cc->sh, cc->sw, cc->dh, cc->dw, cc->padding,
             symmetric ? "symmetric" : "explicit");
    gc_check_arrays(what, y_bridge, y, ny, OTHER_ORDER_RTOL, ATOL);
    if (!symmetric) {
        cpu->conv_backward_data(cpu, &d, dy, kernel, dx, ws);
        cpu->conv_backward_data(cpu, &p, dy, kernel, dx_padded, ws);
        dl_row_window crop = {d.n, d.c, p.h, p.w, d.h, d.w, d.pad_top, d.pad_left};
        for (size_t i = 0; i < nx; i++)
            dx_bridge[i] = dl_row_window_at(&crop, dx_padded, i);
        strcat(what, ", backward data");
        gc_check_arrays(what, dx_bridge, dx, nx, OTHER_ORDER_RTOL, ATOL);
        cpu->conv_backward_filter(cpu, &d, &none, x, NULL, NULL, dy, dk, NULL, ws);
        cpu->conv_backward_filter(cpu, &p, &none, xp, NULL, NULL, dy, dk_bridge, NULL, ws);
        strcat(what, ", filter");
        gc_check_arrays(what, dk_bridge, dk, nk, OTHER_ORDER_RTOL, ATOL);
    }
    free(x);
    free(kernel);
    free(dy);
    free(y);
    free(y_bridge);
    free(dx);
    free(dx_padded);
    free(dx_bridge);
    free(dk);
    free(dk_bridge);
    free(xp);
    free(ws);
}

static void test_conv_padding(dl_backend *cpu)
{
    /* cuda-notes §3.4's offenders among ordinary cases */
    CHECK(!dl_cudnn_pad_matches(28, 0, 3, 2, 14),
          "3x3/2 same on 28 (pads 0, 1) needs explicit padding");
    CHECK(dl_cudnn_pad_matches(28, 1, 3, 1, 28), "3x3/1 same on 28 is symmetric");
    CHECK(!dl_cudnn_pad_matches(27, 0, 2, 2, 14), "2x2/2 same on 27 needs explicit padding");
    CHECK(dl_cudnn_pad_matches(27, 0, 2, 2, 13), "2x2/2 valid on 27 is symmetric");
    CHECK(dl_cudnn_padded_extent(3, 2, 14) == 29, "3x3/2 on 28 -> 14 reads 29 rows");
    static const conv_case cases[] = {
        {9, 8, 3, 3, 1, 1, 1, 1, WIN_SAME},    {9, 8, 3, 3, 2, 2, 1, 1, WIN_SAME},
        {10, 7, 2, 4, 1, 1, 1, 1, WIN_SAME},   {11, 9, 5, 4, 2, 3, 1, 1, WIN_SAME},
        {12, 12, 3, 3, 1, 2, 2, 2, WIN_SAME},  {9, 9, 3, 2, 2, 2, 1, 1, WIN_VALID},
        {1, 13, 1, 3, 1, 1, 1, 2, WIN_CAUSAL}, {1, 12, 1, 4, 1, 2, 1, 1, WIN_SAME},
        {8, 8, 1, 1, 2, 2, 1, 1, WIN_SAME},
    };
    int explicit_cases = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_conv_bridge(cpu, &cases[i], &explicit_cases);
    CHECK(explicit_cases >= 3, "the table covers explicit padding (%d cases)", explicit_cases);
}

/* ---- kernel_rows.h bodies against the CPU ops ---- */

static void test_window_and_upsample(dl_backend *cpu)
{
    enum { N = 2, H = 5, W = 4, C = 3, TOP = 1, BOTTOM = 2, LEFT = 0, RIGHT = 3, FH = 2, FW = 3 };
    size_t nx = N * H * W * C, ny = N * (H + TOP + BOTTOM) * (W + LEFT + RIGHT) * C;
    size_t nu = (size_t)N * H * FH * W * FW * C;
    float *x = floats(nx), *y = floats(ny), *body = floats(ny > nu ? ny : nu);
    float *dx = floats(nx), *dx_body = floats(nx), *up = floats(nu), *dup = floats(nu);
    gc_rng rng = {21};
    gc_fill(&rng, x, nx, -1, 1);
    cpu->pad2d(cpu, x, N, H, W, C, TOP, BOTTOM, LEFT, RIGHT, y);
    dl_row_window pad = {N, C, H, W, H + TOP + BOTTOM, W + LEFT + RIGHT, -TOP, -LEFT};
    for (size_t i = 0; i < dl_row_window_size(&pad); i++)
        body[i] = dl_row_window_at(&pad, x, i);
    gc_check_arrays("pad2d", body, y, ny, 0, 0);
    cpu->pad2d_backward(cpu, y, N, H, W, C, TOP, BOTTOM, LEFT, RIGHT, dx);
    dl_row_window crop = {N, C, H + TOP + BOTTOM, W + LEFT + RIGHT, H, W, TOP, LEFT};
    for (size_t i = 0; i < nx; i++)
        dx_body[i] = dl_row_window_at(&crop, y, i);
    gc_check_arrays("pad2d_backward", dx_body, dx, nx, 0, 0);
    cpu->upsample2d(cpu, x, N, H, W, C, FH, FW, up);
    for (size_t i = 0; i < nu; i++)
        body[i] = dl_row_upsample_at(x, H, W, C, FH, FW, i);
    gc_check_arrays("upsample2d", body, up, nu, 0, 0);
    gc_fill(&rng, dup, nu, -1, 1);
    cpu->upsample2d_backward(cpu, dup, N, H, W, C, FH, FW, dx);
    for (size_t i = 0; i < nx; i++)
        dx_body[i] = dl_row_upsample_backward_at(dup, H, W, C, FH, FW, i);
    gc_check_arrays("upsample2d_backward", dx_body, dx, nx, SAME_ORDER_RTOL, ATOL);
    free(x);
    free(y);
    free(body);
    free(dx);
    free(dx_body);
    free(up);
    free(dup);
}

static void test_channel_dropout(dl_backend *cpu)
{
    enum { N = 3, HW = 10, C = 4 };
    float x[N * HW * C], y[N * HW * C], mask[N * C], body[N * HW * C];
    gc_rng rng = {22};
    gc_fill(&rng, x, N * HW * C, -1, 1);
    cpu->channel_dropout(cpu, 5, 17, 0.4f, x, N, HW, C, y, mask);
    for (size_t i = 0; i < N * HW * C; i++)
        body[i] = x[i] * mask[dl_row_channel_of(i, HW, C)];
    gc_check_arrays("channel_dropout", body, y, N * HW * C, 0, 0);
}

/* Values on a coarse grid, so windows hold ties: max pooling must route
 * to the same (first) pixel as the CPU. */
static void test_pooling(dl_backend *cpu)
{
    static const int cases[][10] = {
        /* kind, n, h, w, c, ph, pw, sh, sw, padding */
        {DL_POOL_MAX, 2, 7, 9, 3, 2, 2, 2, 2, WIN_SAME},
        {DL_POOL_AVG, 2, 7, 9, 3, 2, 2, 2, 2, WIN_SAME},
        {DL_POOL_MAX, 2, 8, 8, 2, 3, 3, 1, 1, WIN_SAME},
        {DL_POOL_AVG, 2, 8, 8, 2, 3, 3, 1, 1, WIN_SAME},
        {DL_POOL_MAX, 1, 9, 7, 2, 3, 3, 2, 2, WIN_VALID},
        {DL_POOL_AVG, 1, 9, 7, 2, 3, 2, 2, 1, WIN_SAME},
        {DL_POOL_MAX, 2, 6, 5, 4, 6, 5, 6, 5, WIN_VALID},
        {DL_POOL_AVG, 2, 6, 5, 4, 6, 5, 6, 5, WIN_VALID},
    };
    gc_rng rng = {23};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const int *k = cases[t];
        dl_pool_desc d = gc_pool_desc(k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9]);
        size_t nx = (size_t)d.n * d.h * d.w * d.c, ny = (size_t)d.n * d.oh * d.ow * d.c;
        float *x = floats(nx), *y = floats(ny), *dy = floats(ny), *dx = floats(nx);
        float *body = floats(nx > ny ? nx : ny);
        for (size_t i = 0; i < nx; i++)
            x[i] = floorf(gc_uniform(&rng, 0, 4)) / 4.0f;
        gc_fill(&rng, dy, ny, -1, 1);
        cpu->pool_forward(cpu, &d, x, y);
        for (size_t i = 0; i < ny; i++)
            body[i] = dl_row_pool_forward_at(&d, x, i);
        char what[96];
        snprintf(what, sizeof what, "pooling case %zu forward", t);
        gc_check_arrays(what, body, y, ny, SAME_ORDER_RTOL, 0);
        cpu->pool_backward(cpu, &d, x, y, dy, dx);
        for (size_t i = 0; i < nx; i++)
            body[i] = dl_row_pool_backward_at(&d, x, y, dy, i);
        snprintf(what, sizeof what, "pooling case %zu backward", t);
        gc_check_arrays(what, body, dx, nx, SAME_ORDER_RTOL, 0);
        free(x);
        free(y);
        free(dy);
        free(dx);
        free(body);
    }
}

/* Inputs a loss expects: regression values; probabilities in (0, 1)
 * (cross-entropy renormalises its rows) or logits; targets 0/1, one-hot
 * rows or class ids (row 1's id out of range: it matches no class). */
static void loss_inputs(const dl_loss_desc *d, int rows, int cols, float *pred, float *target,
                        gc_rng *rng)
{
    int regression = d->kind == DL_LOSS_MSE || d->kind == DL_LOSS_MAE || d->kind == DL_LOSS_HUBER;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            size_t at = (size_t)r * cols + c;
            pred[at] = regression || d->from_logits ? gc_uniform(rng, -3, 3)
                                                    : gc_uniform(rng, 0.02f, 0.98f);
            target[at] = regression ? gc_uniform(rng, -1, 1) : (float)(c == r % cols);
        }
    if (d->sparse_target)
        for (int r = 0; r < rows; r++)
            target[r] = r == 1 ? (float)cols : (float)(r % cols);
}

static void test_losses(dl_backend *cpu)
{
    enum { ROWS = 9, COLS = 5 };
    static const dl_loss_desc cases[] = {
        {DL_LOSS_MSE, 0, 0, 1, 0},    {DL_LOSS_MAE, 0, 0, 1, 0},    {DL_LOSS_HUBER, 0, 0, 0.7f, 0},
        {DL_LOSS_BCE, 0, 0.1f, 1, 0}, {DL_LOSS_BCE, 1, 0, 1, 0},    {DL_LOSS_CCE, 0, 0, 1, 0},
        {DL_LOSS_CCE, 1, 0.1f, 1, 0}, {DL_LOSS_CCE, 0, 0.1f, 1, 1}, {DL_LOSS_CCE, 1, 0, 1, 1},
    };
    gc_rng rng = {24};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const dl_loss_desc *d = &cases[t];
        float pred[ROWS * COLS], target[ROWS * COLS], grad[ROWS * COLS], body_grad[ROWS * COLS];
        loss_inputs(d, ROWS, COLS, pred, target, &rng);
        double want = cpu->loss(cpu, d, pred, target, grad, ROWS, COLS), got = 0.0;
        if (d->kind == DL_LOSS_CCE) {
            for (int r = 0; r < ROWS; r++)
                got += dl_row_cce_row(d, pred, target, body_grad, r, COLS, 1.0f / ROWS);
            got /= ROWS;
        } else {
            for (size_t i = 0; i < ROWS * COLS; i++)
                got += dl_row_loss_elem_at(d, pred, target, body_grad, 1.0f / (ROWS * COLS), i);
            got /= ROWS * COLS;
        }
        CHECK_CLOSE(got, want, SAME_ORDER_RTOL, 0, "loss case %zu: %.9g, expected %.9g", t, got,
                    want);
        char what[64];
        snprintf(what, sizeof what, "loss case %zu gradient", t);
        gc_check_arrays(what, body_grad, grad, ROWS * COLS, SAME_ORDER_RTOL, 0);
    }
}

static void test_metrics(dl_backend *cpu)
{
    enum { ROWS = 40, COLS = 5 };
    static const dl_metric_desc cases[] = {
        {DL_METRIC_BINARY_ACCURACY, 0, 0.5f, 0, 0},
        {DL_METRIC_CATEGORICAL_ACCURACY, 0, 0, 0, 0},
        {DL_METRIC_CATEGORICAL_ACCURACY, 1, 0, 0, 0},
        {DL_METRIC_TOP_K, 1, 0, 2, 0},
        {DL_METRIC_TOP_K, 0, 0, 3, 0},
        {DL_METRIC_MSE, 0, 0, 0, 0},
        {DL_METRIC_MAE, 1, 0, 0, 0},
        {DL_METRIC_PRECISION, 0, 0.5f, 0, 0},
        {DL_METRIC_RECALL, 1, 0.5f, 0, 0},
        {DL_METRIC_AUC, 0, 0, 0, 50},
        {DL_METRIC_AUC, 1, 0, 0, 7},
    };
    gc_rng rng = {25};
    float pred[ROWS * COLS], target[ROWS * COLS];
    for (size_t i = 0; i < ROWS * COLS; i++) {
        pred[i] = floorf(gc_uniform(&rng, 0, 20)) / 20.0f; /* ties for argmax and top-k */
        target[i] = gc_uniform(&rng, 0, 1) < 0.3f ? 1.0f : 0.0f;
    }
    pred[7] = NAN; /* a non-finite prediction never hits top-k */
    float ids[ROWS];
    for (int r = 0; r < ROWS; r++)
        ids[r] = r == 3 ? -1.0f : (float)((r * 7) % COLS);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const dl_metric_desc *d = &cases[t];
        const float *tgt = d->sparse_target ? ids : target;
        int nacc = dl_metric_nacc(d);
        double *want = calloc((size_t)nacc, sizeof(double)),
               *got = calloc((size_t)nacc, sizeof(double));
        cpu->metric(cpu, d, pred, tgt, ROWS, COLS, want);
        if (d->kind == DL_METRIC_AUC) {
            double *buckets = calloc(2 * (size_t)(d->num_thresholds + 1), sizeof(double));
            for (size_t i = 0; i < ROWS * COLS; i++)
                buckets[dl_row_auc_bucket(d, pred, tgt, COLS, i)] += 1.0;
            dl_row_auc_accumulate(buckets, d->num_thresholds, got);
            free(buckets);
        } else {
            for (int r = 0; r < ROWS; r++)
                dl_row_metric_row(d, pred, tgt, r, COLS, got);
        }
        int bad = -1;
        for (int j = 0; j < nacc && bad < 0; j++)
            if (fabs(got[j] - want[j]) > 1e-9 * (1.0 + fabs(want[j])))
                bad = j;
        CHECK(bad < 0, "metric case %zu (kind %d): accumulator %d is %.9g, expected %.9g", t,
              d->kind, bad, bad < 0 ? 0.0 : got[bad], bad < 0 ? 0.0 : want[bad]);
        free(want);
        free(got);
    }
}

static void test_layernorm(dl_backend *cpu)
{
    enum { ROWS = 6, C = 10 };
    float x[ROWS * C], gamma[C], beta[C], dy[ROWS * C], y[ROWS * C], mean[ROWS], inv_std[ROWS];
    float y_body[ROWS * C], mean_body[ROWS], inv_body[ROWS], dx[ROWS * C], dx_body[ROWS * C];
    float dgamma[C], dbeta[C], dgamma_body[C], dbeta_body[C];
    gc_rng rng = {26};
    gc_fill(&rng, x, ROWS * C, -2, 3);
    gc_fill(&rng, gamma, C, 0.5f, 1.5f);
    gc_fill(&rng, beta, C, -0.5f, 0.5f);
    gc_fill(&rng, dy, ROWS * C, -1, 1);
    cpu->layernorm_forward(cpu, x, ROWS, C, gamma, beta, 1e-3f, y, mean, inv_std);
    for (int r = 0; r < ROWS; r++)
        dl_row_layernorm_row(x, r, C, gamma, beta, 1e-3f, y_body, mean_body, inv_body);
    gc_check_arrays("layernorm y", y_body, y, ROWS * C, SAME_ORDER_RTOL, 0);
    gc_check_arrays("layernorm inv_std", inv_body, inv_std, ROWS, SAME_ORDER_RTOL, 0);
    cpu->layernorm_backward(cpu, x, dy, ROWS, C, gamma, mean, inv_std, dx, dgamma, dbeta);
    for (int r = 0; r < ROWS; r++)
        dl_row_layernorm_backward_row(x, dy, r, C, gamma, mean, inv_std, dx_body);
    for (int k = 0; k < C; k++) {
        double acc[2] = {0, 0};
        for (int r = 0; r < ROWS; r++)
            dl_row_layernorm_param_terms(x, dy, r, k, C, mean, inv_std, acc);
        dgamma_body[k] = (float)acc[0];
        dbeta_body[k] = (float)acc[1];
    }
    gc_check_arrays("layernorm dx", dx_body, dx, ROWS * C, SAME_ORDER_RTOL, 0);
    gc_check_arrays("layernorm dgamma", dgamma_body, dgamma, C, OTHER_ORDER_RTOL, ATOL);
    gc_check_arrays("layernorm dbeta", dbeta_body, dbeta, C, OTHER_ORDER_RTOL, ATOL);
}

/* The moving variance the CUDA backend recovers from cuDNN's inverse
 * standard deviation, against the CPU's biased batch variance. */
static void test_batchnorm_variance(dl_backend *cpu)
{
    enum { ROWS = 32, C = 6 };
    float x[ROWS * C], gamma[C], beta[C], y[ROWS * C], mean[C], inv_std[C], moving_mean[C];
    float moving_var[C], recovered[C];
    gc_rng rng = {27};
    gc_fill(&rng, x, ROWS * C, -1, 4);
    gc_fill(&rng, gamma, C, 0.5f, 1.5f);
    gc_fill(&rng, beta, C, -0.5f, 0.5f);
    memset(moving_mean, 0, sizeof moving_mean);
    memset(moving_var, 0, sizeof moving_var);
    /* momentum 0: the moving statistics become the batch's */
    cpu->batchnorm_train(cpu, x, ROWS, C, gamma, beta, 1e-3f, 0.0f, moving_mean, moving_var, y,
                         mean, inv_std);
    for (int k = 0; k < C; k++)
        recovered[k] = dl_row_variance_from_inv_std(inv_std[k], 1e-3f);
    gc_check_arrays("batchnorm variance from inv_std", recovered, moving_var, C, OTHER_ORDER_RTOL,
                    ATOL);
}

static void test_regularize(dl_backend *cpu)
{
    enum { N = 50 };
    float w[N], g[N], g_body[N];
    gc_rng rng = {28};
    gc_fill(&rng, w, N, -1, 1);
    w[3] = 0.0f;
    gc_fill(&rng, g, N, -1, 1);
    memcpy(g_body, g, sizeof g);
    double want = cpu->regularize(cpu, w, g, N, 0.01f, 0.02f), acc[2] = {0, 0};
    for (size_t i = 0; i < N; i++)
        dl_row_regularize_at(w, g_body, 0.01f, 0.02f, i, acc);
    double got = 0.01f * acc[0] + 0.02f * acc[1];
    CHECK_CLOSE(got, want, SAME_ORDER_RTOL, 0, "regularize: %.9g, expected %.9g", got, want);
    gc_check_arrays("regularize gradient", g_body, g, N, 0, 0);
}

/* A bilinear augmentation of [n, h, w, c] values in [0, 1]; the caller
 * sets the kind and its ranges. */
static dl_aug_desc aug_case(int n, int h, int w, int c, uint64_t step)
{
    dl_aug_desc d;
    memset(&d, 0, sizeof d);
    d.n = n;
    d.h = h;
    d.w = w;
    d.c = c;
    d.seed = 99;
    d.step = step;
    d.bilinear = 1;
    d.value_hi = 1.0f;
    return d;
}

static void set_range(float *lo, float *hi, float lo_value, float hi_value)
{
    *lo = lo_value;
    *hi = hi_value;
}

static void test_augmentation(dl_backend *cpu)
{
    enum { N = 3, H = 6, W = 7, C = 2, SIZE = N * H * W * C };
    dl_aug_desc cases[6];
    for (int t = 0; t < 6; t++)
        cases[t] = aug_case(N, H, W, C, (uint64_t)t);
    cases[0].kind = DL_AUG_FLIP;
    cases[0].flip_h = cases[0].flip_v = 1;
    cases[1].kind = DL_AUG_TRANSLATE;
    cases[1].fill_mode = DL_FILL_REFLECT;
    set_range(&cases[1].height_lo, &cases[1].height_hi, -0.2f, 0.3f);
    set_range(&cases[1].width_lo, &cases[1].width_hi, -0.1f, 0.2f);
    cases[2].kind = DL_AUG_ROTATE;
    cases[2].fill_mode = DL_FILL_NEAREST;
    cases[2].bilinear = 0;
    set_range(&cases[2].factor_lo, &cases[2].factor_hi, -0.1f, 0.1f);
    cases[3].kind = DL_AUG_ZOOM;
    cases[3].fill_mode = DL_FILL_CONSTANT;
    cases[3].fill_value = 0.5f;
    set_range(&cases[3].height_lo, &cases[3].height_hi, -0.2f, 0.3f);
    set_range(&cases[3].width_lo, &cases[3].width_hi, -0.1f, 0.1f);
    cases[4].kind = DL_AUG_TRANSLATE;
    cases[4].fill_mode = DL_FILL_WRAP;
    set_range(&cases[4].height_lo, &cases[4].height_hi, -0.2f, 0.2f);
    set_range(&cases[4].width_lo, &cases[4].width_hi, -0.2f, 0.2f);
    cases[5].kind = DL_AUG_CONTRAST;
    set_range(&cases[5].factor_lo, &cases[5].factor_hi, 0.5f, 0.5f);
    gc_rng rng = {29};
    float x[SIZE], dy[SIZE], y[SIZE], dx[SIZE], y_body[SIZE], dx_body[SIZE];
    gc_fill(&rng, x, SIZE, 0, 1);
    gc_fill(&rng, dy, SIZE, -1, 1);
    for (int t = 0; t < 6; t++) {
        const dl_aug_desc *d = &cases[t];
        cpu->augment(cpu, d, x, y);
        cpu->augment_backward(cpu, d, x, dy, dx);
        if (d->kind == DL_AUG_CONTRAST) {
            for (size_t bk = 0; bk < N * C; bk++) {
                dl_row_contrast_channel(d, x, y_body, bk);
                dl_row_contrast_backward_channel(d, x, dy, dx_body, bk);
            }
        } else {
            for (size_t p = 0; p < N * H * W; p++)
                dl_row_warp_pixel(d, x, y_body, p);
            for (size_t bk = 0; bk < N * C; bk++)
                dl_row_warp_backward_channel(d, dy, dx_body, bk);
        }
        char what[64];
        snprintf(what, sizeof what, "augmentation case %d forward", t);
        gc_check_arrays(what, y_body, y, SIZE, SAME_ORDER_RTOL, 0);
        snprintf(what, sizeof what, "augmentation case %d backward", t);
        gc_check_arrays(what, dx_body, dx, SIZE, SAME_ORDER_RTOL, 0);
    }
}

int main(void)
{
    dl_err err;
    dl_backend *cpu = be_cpu_create(1, &err);
    if (!cpu) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_gemm_mapping();
    test_transpose_mapping();
    test_conv_padding(cpu);
    test_window_and_upsample(cpu);
    test_channel_dropout(cpu);
    test_pooling(cpu);
    test_losses(cpu);
    test_metrics(cpu);
    test_layernorm(cpu);
    test_batchnorm_variance(cpu);
    test_regularize(cpu);
    test_augmentation(cpu);
    cpu->destroy(cpu);
    return check_report("gpu kernels (on the CPU)");
}
