/* test_image.c: ZeroPadding2D, UpSampling2D, Rescaling and SpatialDropout2D
 * as a model runs them (tests/unit/layer_probe.h):
 *   - forward and backward against direct index arithmetic on NHWC
 *     (padding in its three spellings, upsampling by unequal factors);
 *   - SpatialDropout2D: whole channels dropped at about the rate, the kept
 *     ones scaled by 1/(1 - rate), dx through the same mask, the identity in
 *     inference, masks fixed by (seed, step);
 *   - finite-difference gradients;
 *   - build errors. */
#include "tests/unit/layer_probe.h"

/* ---- ZeroPadding2D ---- */

/* The layer's y and dx on x [2, 3, 4, 2] against the index arithmetic of
 * padding (top, bottom, left, right) = side. */
static void check_padding(dl_backend *be, const char *layers, const int side[4])
{
    enum { N = 2, H = 3, W = 4, C = 2 };
    int oh = H + side[0] + side[1], ow = W + side[2] + side[3];
    probe p;
    if (!probe_open_checked(&p, be, "[3, 4, 2]", layers, N))
        return;
    bool shape_ok = p.l->out.ndim == 3 && p.l->out.dim[0] == oh && p.l->out.dim[1] == ow &&
                    p.l->out.dim[2] == C;
    CHECK(shape_ok, "%s: output (%d, %d, %d), want (%d, %d, %d)", layers, p.l->out.dim[0],
          p.l->out.dim[1], p.l->out.dim[2], oh, ow, C);
    if (!shape_ok) {
        probe_close(&p);
        return;
    }
    float *dx = malloc(p.n_in * sizeof(float));
    probe_forward(&p);
    probe_backward(&p, dx);
    size_t y_off = 0, dx_off = 0;
    for (int s = 0; s < N; s++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
                for (int k = 0; k < C; k++) {
                    int si = i - side[0], sj = j - side[2];
                    bool inside = si >= 0 && si < H && sj >= 0 && sj < W;
                    size_t at = (((size_t)s * oh + i) * ow + j) * C + k;
                    size_t src = (((size_t)s * H + si) * W + sj) * C + k;
                    y_off += p.y[at] != (inside ? p.x[src] : 0.0f);
                    if (inside)
                        dx_off += dx[src] != p.dy[at];
                }
    CHECK(y_off == 0 && dx_off == 0, "%s: %zu outputs and %zu input gradients misplaced", layers,
          y_off, dx_off);
    free(dx);
    probe_close(&p);
}

static void test_zero_padding(dl_backend *be)
{
    static const int one[4] = {1, 1, 1, 1}, pair[4] = {1, 1, 2, 2}, four[4] = {0, 2, 3, 1};
    check_padding(be, "[ZeroPadding2D]", one);
    check_padding(be, "[{ZeroPadding2D: {padding: [1, 2]}}]", pair);
    check_padding(be, "[{ZeroPadding2D: {padding: [0, 2, 3, 1]}}]", four);
}

/* ---- UpSampling2D ---- */

/* size (2, 3) on x [2, 2, 3, 2]: y repeats each pixel over a 2 x 3 block;
 * dx sums dy over the block. */
static void test_upsampling(dl_backend *be)
{
    enum { N = 2, H = 2, W = 3, C = 2, FH = 2, FW = 3 };
    probe p;
    if (!probe_open_checked(&p, be, "[2, 3, 2]", "[{UpSampling2D: {size: [2, 3]}}]", N))
        return;
    float dx[N * H * W * C];
    double want_dx[N * H * W * C] = {0};
    probe_forward(&p);
    probe_backward(&p, dx);
    size_t y_off = 0, dx_off = 0;
    for (int s = 0; s < N; s++)
        for (int i = 0; i < H * FH; i++)
            for (int j = 0; j < W * FW; j++)
                for (int k = 0; k < C; k++) {
                    size_t at = (((size_t)s * H * FH + i) * W * FW + j) * C + k;
                    size_t src = (((size_t)s * H + i / FH) * W + j / FW) * C + k;
                    y_off += p.y[at] != p.x[src];
                    want_dx[src] += p.dy[at];
                }
    for (int i = 0; i < N * H * W * C; i++)
        dx_off += fabs(dx[i] - want_dx[i]) > 1e-6;
    CHECK(p.n_out == (size_t)N * H * FH * W * FW * C && y_off == 0 && dx_off == 0,
          "UpSampling2D (2, 3): %zu outputs (want %d), %zu misplaced, %zu block sums of dy off",
          p.n_out, N * H * FH * W * FW * C, y_off, dx_off);
    probe_close(&p);
    if (!probe_open_checked(&p, be, "[5, 4, 3]", "[UpSampling2D]", 1))
        return;
    CHECK(p.l->out.dim[0] == 10 && p.l->out.dim[1] == 8 && p.l->out.dim[2] == 3,
          "UpSampling2D default size: output (%d, %d, %d), want (10, 8, 3)", p.l->out.dim[0],
          p.l->out.dim[1], p.l->out.dim[2]);
    probe_close(&p);
}

/* ---- Rescaling ---- */

static void test_rescaling(dl_backend *be)
{
    probe p;
    if (!probe_open_checked(&p, be, "[2, 3]", "[{Rescaling: {scale: 0.25, offset: -1.5}}]", 3))
        return;
    float dx[18];
    probe_forward(&p);
    probe_backward(&p, dx);
    size_t off = 0;
    for (size_t i = 0; i < p.n_in; i++)
        off += p.y[i] != p.x[i] * 0.25f - 1.5f || dx[i] != p.dy[i] * 0.25f;
    CHECK(off == 0, "Rescaling(0.25, -1.5): %zu of %zu values off y = 0.25 x - 1.5, dx = 0.25 dy",
          off, p.n_in);
    probe_close(&p);
}

/* ---- SpatialDropout2D ---- */

enum { SD_N = 8, SD_HW = 6, SD_C = 40 };

/* Each (sample, channel) of y [SD_N, SD_HW, SD_C] is dropped (all zero) or
 * kept (all x * scale); mask [SD_N * SD_C] receives 0 or 1. Returns
 * false if some channel is neither. */
static bool channel_pattern(const float *x, const float *y, float scale, float *mask)
{
    for (int s = 0; s < SD_N; s++)
        for (int k = 0; k < SD_C; k++) {
            bool dropped = true, kept = true;
            for (int p = 0; p < SD_HW; p++) {
                size_t at = ((size_t)s * SD_HW + p) * SD_C + k;
                dropped = dropped && y[at] == 0.0f;
                kept = kept && fabsf(y[at] - x[at] * scale) <= 1e-6f * fabsf(x[at] * scale);
            }
            if (dropped == kept)
                return false;
            mask[s * SD_C + k] = kept ? 1.0f : 0.0f;
        }
    return true;
}

static void test_spatial_dropout(dl_backend *be)
{
    probe p;
    if (!probe_open_checked(&p, be, "[2, 3, 40]", "[{SpatialDropout2D: {rate: 0.5}}]", SD_N))
        return;
    float mask[SD_N * SD_C], again[SD_N * SD_C], other[SD_N * SD_C];
    float *dx = malloc(p.n_in * sizeof(float)), *dx_mask = malloc(p.n_in * sizeof(float));
    probe_forward(&p);
    bool whole = channel_pattern(p.x, p.y, 2.0f, mask);
    int kept = 0;
    for (int i = 0; i < SD_N * SD_C; i++)
        kept += mask[i] == 1.0f;
    int repeated = 0; /* samples whose 40 draws repeat another's: 2^-40 by chance */
    for (int s = 1; s < SD_N; s++)
        for (int t = 0; t < s; t++)
            repeated += !memcmp(mask + s * SD_C, mask + t * SD_C, SD_C * sizeof(float));
    /* 320 draws at p = 0.5: the count's standard deviation is ~9 */
    CHECK(whole && kept > 120 && kept < 200 && repeated == 0,
          "SpatialDropout2D(0.5): channels %s, %d of %d kept, %d sample pairs with one mask",
          whole ? "whole" : "split", kept, SD_N * SD_C, repeated);
    probe_backward(&p, dx);
    CHECK(channel_pattern(p.dy, dx, 2.0f, dx_mask) && !memcmp(mask, dx_mask, sizeof mask),
          "SpatialDropout2D(0.5): dx is not dy through the forward's channel mask");

    probe_forward(&p);
    channel_pattern(p.x, p.y, 2.0f, again);
    p.ctx.step++;
    probe_forward(&p);
    channel_pattern(p.x, p.y, 2.0f, other);
    CHECK(!memcmp(mask, again, sizeof mask) && memcmp(mask, other, sizeof mask),
          "SpatialDropout2D: the same step must repeat the mask and the next step change it");

    p.ctx.training = 0;
    probe_forward(&p);
    CHECK(!memcmp(p.y, p.x, p.n_in * sizeof(float)), "SpatialDropout2D: inference is not the "
                                                     "identity");
    free(dx);
    free(dx_mask);
    probe_close(&p);
}

/* ---- finite differences and build errors ---- */

static void test_gradients(dl_backend *be)
{
    probe_gradcheck_layer(be, "ZeroPadding2D [1, 2, 0, 1]", "[3, 4, 2]",
                          "[{ZeroPadding2D: {padding: [1, 2, 0, 1]}}]", 2, 0, -1.0f, 1.0f);
    probe_gradcheck_layer(be, "UpSampling2D (2, 3)", "[2, 3, 2]",
                          "[{UpSampling2D: {size: [2, 3]}}]", 2, 0, -1.0f, 1.0f);
    probe_gradcheck_layer(be, "Rescaling", "[5]", "[{Rescaling: {scale: 3.0, offset: 0.5}}]", 2,
                          0, -1.0f, 1.0f);
    probe_gradcheck_layer(be, "SpatialDropout2D training", "[2, 3, 4]",
                          "[{SpatialDropout2D: {rate: 0.3}}]", 3, 1, -1.0f, 1.0f);
}

static void test_build_errors(dl_backend *be)
{
    probe_expect_usage_error(be, "[8]", "[ZeroPadding2D]",
                             "expected images (batch, height, width, channels), got input "
                             "(None, 8)");
    probe_expect_usage_error(be, "[4, 4, 1]", "[{ZeroPadding2D: {padding: [1, 2, 3]}}]",
                             "[top, bottom, left, right]");
    probe_expect_usage_error(be, "[4, 4, 1]", "[{ZeroPadding2D: {padding: 1.5}}]",
                             "whole pixels");
    probe_expect_usage_error(be, "[4, 4, 1]", "[{ZeroPadding2D: {padding: -1}}]", "padding");
    probe_expect_usage_error(be, "[4, 4, 1]", "[{UpSampling2D: {interpolation: bilinear}}]",
                             "'bilinear' is not supported; UpSampling2D implements 'nearest' "
                             "only");
    probe_expect_usage_error(be, "[4, 4]", "[UpSampling2D]", "expected images");
    probe_expect_usage_error(be, "[4, 4, 1]", "[{UpSampling2D: {size: 0}}]", "size");
    probe_expect_usage_error(be, "[4, 4]", "[{SpatialDropout2D: {rate: 0.1}}]",
                             "expected images");
    probe_expect_usage_error(be, "[4, 4, 1]", "[{SpatialDropout2D: {rate: 1.0}}]", "rate");
    probe_expect_usage_error(be, "[4]", "[{Rescaling: {offset: 1.0}}]", "scale");
}

int main(void)
{
    dl_err err = {0};
    dl_backend *be = be_cpu_create(1, &err);
    if (!be) {
        fprintf(stderr, "cpu backend: %s\n", err.msg);
        return 1;
    }
    test_zero_padding(be);
    test_upsampling(be);
    test_rescaling(be);
    test_spatial_dropout(be);
    test_gradients(be);
    test_build_errors(be);
    be->destroy(be);
    return check_report("image");
}
