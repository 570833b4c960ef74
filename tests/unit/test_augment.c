/* test_augment.c: the augmentation layers RandomFlip, RandomTranslation,
 * RandomRotation, RandomZoom and RandomContrast as a model runs them
 * (tests/unit/layer_probe.h), in training mode at a fixed step unless said:
 *   - the identity in inference mode;
 *   - RandomFlip: about half the samples flipped, each exactly mirrored;
 *   - RandomTranslation by whole pixels against the fill modes' documented
 *     patterns (reflect, wrap, constant, nearest), both interpolations;
 *   - RandomRotation by a quarter turn either way = the 90-degree rotation;
 *   - RandomZoom: Keras's sign convention, the centre fixed, the aspect
 *     kept when width_factor is null, about half the samples zoomed out;
 *   - RandomContrast: one factor per sample in range, channel means kept,
 *     the value range clipped;
 *   - the same (seed, step) repeats the draw, another step or seed not;
 *   - finite-difference gradients (the transform is linear in x for fixed
 *     draws), nearest and bilinear, every fill mode, contrast's clipping;
 *   - build errors. */
#include "tests/unit/layer_probe.h"

/* ---- identity in inference, reproducibility ---- */

/* Each kind with the run's seed and with its own seed argument. */
static const char *const all_layers[][2] = {
    {"[RandomFlip]", "[{RandomFlip: {seed: 77}}]"},
    {"[{RandomTranslation: {height_factor: 0.3, width_factor: 0.3}}]",
     "[{RandomTranslation: {height_factor: 0.3, width_factor: 0.3, seed: 77}}]"},
    {"[{RandomRotation: {factor: 0.2}}]", "[{RandomRotation: {factor: 0.2, seed: 77}}]"},
    {"[{RandomZoom: {height_factor: 0.3}}]", "[{RandomZoom: {height_factor: 0.3, seed: 77}}]"},
    {"[{RandomContrast: {factor: 0.5, value_range: [-10, 10]}}]",
     "[{RandomContrast: {factor: 0.5, value_range: [-10, 10], seed: 77}}]"},
};

/* Inference: y = x. Training: y != x; the same step repeats y; the next
 * step or the layer's own seed draws differently. */
static void check_draws(dl_backend *be, const char *layers, const char *seeded)
{
    probe p;
    if (!probe_open_checked(&p, be, "[5, 6, 2]", layers, 6))
        return;
    size_t bytes = p.n_out * sizeof(float);
    float *first = malloc(bytes);
    p.ctx.training = 0;
    probe_forward(&p);
    CHECK(!memcmp(p.y, p.x, bytes), "%s: inference is not the identity", layers);
    p.ctx.training = 1;
    probe_forward(&p);
    memcpy(first, p.y, bytes);
    CHECK(memcmp(first, p.x, bytes), "%s: training left every sample unchanged", layers);
    probe_forward(&p);
    CHECK(!memcmp(first, p.y, bytes), "%s: the same step gave another output", layers);
    p.ctx.step++;
    probe_forward(&p);
    CHECK(memcmp(first, p.y, bytes), "%s: the next step repeated the output", layers);
    probe_close(&p);
    if (probe_open_checked(&p, be, "[5, 6, 2]", seeded, 6)) {
        probe_forward(&p);
        CHECK(memcmp(first, p.y, bytes), "%s: seed 77 drew as the run seed did", seeded);
        probe_close(&p);
    }
    free(first);
}

static void test_draws(dl_backend *be)
{
    for (size_t i = 0; i < sizeof all_layers / sizeof all_layers[0]; i++)
        check_draws(be, all_layers[i][0], all_layers[i][1]);
}

/* ---- RandomFlip ---- */

enum { FLIP_N = 200, FLIP_H = 4, FLIP_W = 5, FLIP_C = 2 };

/* Sample s of y read from x at (i, j) -> (flip_v ? H-1-i : i, flip_h ?
 * W-1-j : j). */
static bool flipped_as(const float *x, const float *y, int s, bool flip_h, bool flip_v)
{
    for (int i = 0; i < FLIP_H; i++)
        for (int j = 0; j < FLIP_W; j++)
            for (int k = 0; k < FLIP_C; k++) {
                int si = flip_v ? FLIP_H - 1 - i : i, sj = flip_h ? FLIP_W - 1 - j : j;
                size_t at = (((size_t)s * FLIP_H + i) * FLIP_W + j) * FLIP_C + k;
                if (y[at] != x[(((size_t)s * FLIP_H + si) * FLIP_W + sj) * FLIP_C + k])
                    return false;
            }
    return true;
}

/* Every sample is unchanged or flipped along the mode's axes (Keras 3:
 * horizontal_and_vertical flips both or neither), about half flipped. */
static void check_flip(dl_backend *be, const char *mode, bool flip_h, bool flip_v)
{
    char layers[96];
    snprintf(layers, sizeof layers, "[{RandomFlip: {mode: %s, seed: 7}}]", mode);
    probe p;
    if (!probe_open_checked(&p, be, "[4, 5, 2]", layers, FLIP_N))
        return;
    probe_forward(&p);
    int flipped = 0, neither = 0;
    for (int s = 0; s < FLIP_N; s++) {
        if (flipped_as(p.x, p.y, s, flip_h, flip_v))
            flipped++;
        else if (!flipped_as(p.x, p.y, s, false, false))
            neither++;
    }
    /* binomial(200, 0.5): standard deviation ~7 */
    CHECK(neither == 0 && flipped > 65 && flipped < 135,
          "RandomFlip(%s): %d of %d samples flipped, %d neither flipped nor unchanged", mode,
          flipped, FLIP_N, neither);
    probe_close(&p);
}

static void test_flip(dl_backend *be)
{
    check_flip(be, "horizontal", true, false);
    check_flip(be, "vertical", false, true);
    check_flip(be, "horizontal_and_vertical", true, true);
}

/* ---- RandomTranslation by whole pixels ---- */

enum { FILL_REFLECT, FILL_WRAP, FILL_CONSTANT, FILL_NEAREST };
static const char *const fill_names[] = {"reflect", "wrap", "constant", "nearest"};

/* Index i on an axis of n pixels extended by the fill mode, as Keras
 * documents it: reflect (d c b a | a b c d | d c b a), wrap (a b c d |
 * a b c d | a b c d), nearest (a a a a | a b c d | d d d d); -1: constant
 * (the fill value). */
static int extended_index(int i, int n, int fill)
{
    if (i >= 0 && i < n)
        return i;
    switch (fill) {
    case FILL_REFLECT: return i < 0 ? -i - 1 : 2 * n - 1 - i;
    case FILL_WRAP: return (i % n + n) % n;
    case FILL_NEAREST: return i < 0 ? 0 : n - 1;
    default: return -1;
    }
}

/* A 4 x 4 image shifted 1 row up and 2 columns right (height_factor -0.25,
 * width_factor 0.5): y(i, j) = x(i + 1, j - 2) on the extended image. */
static void check_translation(dl_backend *be, int fill, const char *interpolation)
{
    enum { N = 2, S = 4, C = 2 };
    const float fill_value = 7.5f;
    char layers[200];
    snprintf(layers, sizeof layers,
             "[{RandomTranslation: {height_factor: [-0.25, -0.25], width_factor: [0.5, 0.5], "
             "fill_mode: %s, interpolation: %s, fill_value: %g}}]",
             fill_names[fill], interpolation, fill_value);
    probe p;
    if (!probe_open_checked(&p, be, "[4, 4, 2]", layers, N))
        return;
    probe_forward(&p);
    size_t off = 0;
    for (int s = 0; s < N; s++)
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++)
                for (int k = 0; k < C; k++) {
                    int si = extended_index(i + 1, S, fill), sj = extended_index(j - 2, S, fill);
                    float want = si < 0 || sj < 0 ? fill_value
                                                  : p.x[(((size_t)s * S + si) * S + sj) * C + k];
                    off += p.y[(((size_t)s * S + i) * S + j) * C + k] != want;
                }
    CHECK(off == 0, "RandomTranslation (-1, +2) pixels, %s, %s: %zu of %zu values off",
          fill_names[fill], interpolation, off, p.n_out);
    probe_close(&p);
}

static void test_translation(dl_backend *be)
{
    for (int fill = 0; fill < 4; fill++) {
        check_translation(be, fill, "nearest");
        check_translation(be, fill, "bilinear");
    }
}

/* ---- RandomRotation by a quarter turn ---- */

/* factor [q, q] with q = +-0.25 on a square image: counter-clockwise
 * (q > 0) y(i, j) = x(j, S-1-i); clockwise y(i, j) = x(S-1-j, i). */
static void check_quarter_turn(dl_backend *be, float q, const char *interpolation)
{
    enum { N = 2, S = 5, C = 2 };
    char layers[160];
    snprintf(layers, sizeof layers,
             "[{RandomRotation: {factor: [%g, %g], interpolation: %s}}]", q, q, interpolation);
    probe p;
    if (!probe_open_checked(&p, be, "[5, 5, 2]", layers, N))
        return;
    probe_forward(&p);
    size_t off = 0;
    for (int s = 0; s < N; s++)
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++)
                for (int k = 0; k < C; k++) {
                    int si = q > 0 ? j : S - 1 - j, sj = q > 0 ? S - 1 - i : i;
                    float want = p.x[(((size_t)s * S + si) * S + sj) * C + k];
                    off += fabsf(p.y[(((size_t)s * S + i) * S + j) * C + k] - want) > 1e-5f;
                }
    CHECK(off == 0, "RandomRotation factor %g, %s: %zu of %zu values off the 90-degree turn", q,
          interpolation, off, p.n_out);
    probe_close(&p);
}

static void test_rotation(dl_backend *be)
{
    check_quarter_turn(be, 0.25f, "nearest");
    check_quarter_turn(be, 0.25f, "bilinear");
    check_quarter_turn(be, -0.25f, "nearest");
    check_quarter_turn(be, -0.25f, "bilinear");
}

/* ---- RandomZoom ---- */

enum { ZOOM_S = 9, ZOOM_N = 200 };

/* A fixed zoom on a 9 x 9 image, nearest, constant fill 0: zooming out
 * (factor 0.5, 1.5x) shows a border of fill around a 5 x 5 copy; zooming
 * in (factor -0.5) fixes the centre and reads pixel (2 + i/2, 2 + j/2). */
static void test_zoom_sign(dl_backend *be)
{
    probe p;
    if (!probe_open_checked(&p, be, "[9, 9, 1]",
                            "[{RandomZoom: {height_factor: [0.5, 0.5], fill_mode: constant, "
                            "interpolation: nearest}}]",
                            1))
        return;
    for (int i = 0; i < ZOOM_S * ZOOM_S; i++)
        p.x[i] = 1.0f;
    probe_forward(&p);
    size_t off = 0;
    for (int i = 0; i < ZOOM_S; i++)
        for (int j = 0; j < ZOOM_S; j++) /* input (1.5 i - 2, 1.5 j - 2), rounded */
            off += p.y[i * ZOOM_S + j] != (i >= 2 && i <= 6 && j >= 2 && j <= 6 ? 1.0f : 0.0f);
    CHECK(off == 0, "RandomZoom factor +0.5: %zu pixels off a 5 x 5 copy inside a fill border",
          off);
    probe_close(&p);
    if (!probe_open_checked(&p, be, "[9, 9, 1]",
                            "[{RandomZoom: {height_factor: -0.5, width_factor: [-0.5, -0.5], "
                            "interpolation: nearest}}]",
                            1))
        return;
    /* height_factor -0.5 alone is the range [-0.5, 0.5]: the draw must not
     * matter for the centre pixel */
    probe_forward(&p);
    CHECK(p.y[4 * ZOOM_S + 4] == p.x[4 * ZOOM_S + 4],
          "RandomZoom: the centre pixel moved (%g, want %g)", p.y[4 * ZOOM_S + 4],
          p.x[4 * ZOOM_S + 4]);
    probe_close(&p);
    if (!probe_open_checked(&p, be, "[9, 9, 1]",
                            "[{RandomZoom: {height_factor: [-0.5, -0.5], interpolation: "
                            "nearest}}]",
                            1))
        return;
    probe_forward(&p);
    off = 0;
    for (int i = 0; i < ZOOM_S; i++)
        for (int j = 0; j < ZOOM_S; j++) {
            int si = (int)lroundf(0.5f * i + 2.0f), sj = (int)lroundf(0.5f * j + 2.0f);
            off += p.y[i * ZOOM_S + j] != p.x[si * ZOOM_S + sj];
        }
    CHECK(off == 0, "RandomZoom factor -0.5: %zu pixels off the 2x magnified centre", off);
    probe_close(&p);
}

/* Of 200 samples of an image symmetric about its diagonal, (i - 4)^2 +
 * (j - 4)^2, how many stay symmetric (top-middle = middle-left pixel):
 * all when both axes share one zoom. With constant fill these two pixels
 * change strictly with their axis's zoom, so other zooms do not match. */
static int zoom_symmetric_samples(dl_backend *be, const char *layers)
{
    probe p;
    if (!probe_open_checked(&p, be, "[9, 9, 1]", layers, ZOOM_N))
        return -1;
    for (size_t i = 0; i < p.n_in; i++) {
        int r = (int)(i % (ZOOM_S * ZOOM_S)) / ZOOM_S - 4, c = (int)(i % ZOOM_S) - 4;
        p.x[i] = (float)(r * r + c * c);
    }
    probe_forward(&p);
    int symmetric = 0;
    for (int s = 0; s < ZOOM_N; s++) {
        const float *y = p.y + (size_t)s * ZOOM_S * ZOOM_S;
        symmetric += fabsf(y[4] - y[4 * ZOOM_S]) <= 1e-4f * (1.0f + fabsf(y[4]));
    }
    probe_close(&p);
    return symmetric;
}

/* width_factor null keeps the aspect (one zoom for both axes), an own
 * width_factor draws the width's zoom apart; about half the samples zoom
 * out, which pulls the constant fill into the corner of an image of ones. */
static void test_zoom_statistics(dl_backend *be)
{
    int same = zoom_symmetric_samples(be, "[{RandomZoom: {height_factor: 0.4, fill_mode: "
                                          "constant}}]");
    int apart = zoom_symmetric_samples(be, "[{RandomZoom: {height_factor: 0.4, width_factor: "
                                           "0.4, fill_mode: constant}}]");
    CHECK(same == ZOOM_N && apart >= 0 && apart < ZOOM_N / 20,
          "RandomZoom: %d of %d samples keep the aspect with width_factor null, %d with their "
          "own width_factor; want all and almost none",
          same, ZOOM_N, apart);
    probe p;
    if (!probe_open_checked(&p, be, "[9, 9, 1]",
                            "[{RandomZoom: {height_factor: 0.4, fill_mode: constant}}]", ZOOM_N))
        return;
    for (size_t i = 0; i < p.n_in; i++)
        p.x[i] = 1.0f;
    probe_forward(&p);
    int zoomed_out = 0;
    for (int s = 0; s < ZOOM_N; s++)
        zoomed_out += p.y[(size_t)s * ZOOM_S * ZOOM_S] < 1.0f - 1e-6f;
    /* binomial(200, 0.5): standard deviation ~7 */
    CHECK(zoomed_out > 65 && zoomed_out < 135,
          "RandomZoom(0.4): %d of %d samples zoomed out, want about half", zoomed_out, ZOOM_N);
    probe_close(&p);
}

/* ---- RandomContrast ---- */

enum { CON_N = 50, CON_HW = 36, CON_C = 3 };

/* factor 0.5 on values in [50, 200): no clipping within [0, 255]; per
 * sample one factor r = (y - mean) / (x - mean) in [0.5, 1.5], the channel
 * means kept, the factors spread over the range. */
static void test_contrast_statistics(dl_backend *be)
{
    probe p;
    if (!probe_open_checked(&p, be, "[6, 6, 3]", "[{RandomContrast: {factor: 0.5}}]", CON_N))
        return;
    probe_fill(p.x, p.n_in, 50.0f, 200.0f, 60);
    probe_forward(&p);
    int bad_mean = 0, bad_factor = 0;
    double low = INFINITY, high = -INFINITY;
    for (int s = 0; s < CON_N; s++) {
        double r = NAN;
        for (int k = 0; k < CON_C; k++) {
            double mx = 0.0, my = 0.0;
            for (int q = 0; q < CON_HW; q++) {
                size_t at = ((size_t)s * CON_HW + q) * CON_C + k;
                mx += p.x[at] / CON_HW;
                my += p.y[at] / CON_HW;
            }
            bad_mean += fabs(mx - my) > 1e-3;
            for (int q = 0; q < CON_HW; q++) {
                size_t at = ((size_t)s * CON_HW + q) * CON_C + k;
                double dev = p.x[at] - mx, this_r = (p.y[at] - mx) / dev;
                if (fabs(dev) < 5.0)
                    continue; /* the ratio of two small numbers */
                if (isnan(r))
                    r = this_r;
                bad_factor += fabs(this_r - r) > 1e-3 || r < 0.5 - 1e-6 || r > 1.5 + 1e-6;
            }
        }
        low = fmin(low, r);
        high = fmax(high, r);
    }
    CHECK(bad_mean == 0 && bad_factor == 0 && low < 0.8 && high > 1.2,
          "RandomContrast(0.5): %d channel means moved, %d pixels off their sample's factor; "
          "factors in [%.3f, %.3f], want one per sample spread over [0.5, 1.5]",
          bad_mean, bad_factor, low, high);
    probe_close(&p);
}

/* factor [0.9, 0.9] on values in [0, 1] with value_range [0, 1]: stronger
 * contrast leaves the range and is clipped to it. */
static void test_contrast_clip(dl_backend *be)
{
    probe p;
    if (!probe_open_checked(&p, be, "[4, 4, 2]",
                            "[{RandomContrast: {factor: [0.9, 0.9], value_range: [0, 1]}}]", 20))
        return;
    probe_fill(p.x, p.n_in, 0.0f, 1.0f, 61);
    probe_forward(&p);
    int outside = 0, at_bounds = 0;
    for (size_t i = 0; i < p.n_out; i++) {
        outside += p.y[i] < 0.0f || p.y[i] > 1.0f;
        at_bounds += p.y[i] == 0.0f || p.y[i] == 1.0f;
    }
    CHECK(outside == 0 && at_bounds > 0,
          "RandomContrast clipping to [0, 1]: %d values outside, %d at the bounds", outside,
          at_bounds);
    probe_close(&p);
}

/* ---- finite differences ---- */

static void test_gradients(dl_backend *be)
{
    static const char *const cases[][2] = {
        {"RandomFlip", "[RandomFlip]"},
        {"RandomTranslation reflect bilinear",
         "[{RandomTranslation: {height_factor: 0.4, width_factor: [-0.3, 0.5]}}]"},
        {"RandomTranslation wrap nearest",
         "[{RandomTranslation: {height_factor: 0.4, width_factor: 0.4, fill_mode: wrap, "
         "interpolation: nearest}}]"},
        {"RandomTranslation constant bilinear",
         "[{RandomTranslation: {height_factor: 0.4, width_factor: 0.4, fill_mode: constant, "
         "fill_value: 0.5}}]"},
        {"RandomTranslation nearest-fill nearest",
         "[{RandomTranslation: {height_factor: 0.4, width_factor: 0.4, fill_mode: nearest, "
         "interpolation: nearest}}]"},
        {"RandomRotation bilinear", "[{RandomRotation: {factor: 0.2}}]"},
        {"RandomRotation nearest constant",
         "[{RandomRotation: {factor: [-0.1, 0.3], interpolation: nearest, fill_mode: "
         "constant}}]"},
        {"RandomZoom bilinear", "[{RandomZoom: {height_factor: 0.3, width_factor: [-0.2, 0.4]}}]"},
        {"RandomZoom nearest wrap",
         "[{RandomZoom: {height_factor: 0.4, interpolation: nearest, fill_mode: wrap}}]"},
        {"RandomContrast",
         "[{RandomContrast: {factor: [0.3, 0.6], value_range: [-100, 100]}}]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        probe_gradcheck_layer(be, cases[i][0], "[4, 5, 2]", cases[i][1], 3, 1, -1.0f, 1.0f);
}

/* RandomContrast clipped to [-0.5, 0.5] (factor 0.2: f in [0.8, 1.2]):
 * per channel the pixels alternate between |x| ~ 0.9 (clipped by more than
 * 0.15) and |x| ~ 0.1 (inside by more than 0.3), balanced in sign so the
 * mean stays near 0; a step of 1e-3 crosses no bound, and the gradient is
 * zero through the clipped values, also in the mean term. */
static void test_contrast_clip_gradient(dl_backend *be)
{
    probe p;
    if (!probe_open_checked(&p, be, "[4, 5, 2]",
                            "[{RandomContrast: {factor: 0.2, value_range: [-0.5, 0.5]}}]", 3))
        return;
    probe_fill(p.x, p.n_in, -0.05f, 0.05f, 62);
    for (size_t i = 0; i < p.n_in; i++) {
        size_t pixel = i / 2; /* 2 channels */
        p.x[i] += (pixel % 2 ? 0.9f : 0.1f) * ((pixel / 2) % 2 ? -1.0f : 1.0f);
    }
    probe_gradcheck(&p, "RandomContrast clipped");
    probe_close(&p);
}

static void test_build_errors(dl_backend *be)
{
    probe_expect_usage_error(be, "[8, 8, 1]", "[{RandomFlip: {mode: diagonal}}]", "mode");
    probe_expect_usage_error(be, "[8]", "[RandomFlip]",
                             "expected images (batch, height, width, channels), got input "
                             "(None, 8)");
    probe_expect_usage_error(be, "[8, 8]", "[{RandomRotation: {factor: 0.1}}]",
                             "expected images");
    probe_expect_usage_error(be, "[8, 8, 1]",
                             "[{RandomTranslation: {height_factor: [0.1, 0.2, 0.3], "
                             "width_factor: 0.1}}]",
                             "height_factor: expected a number or a list of two numbers");
    probe_expect_usage_error(be, "[8, 8, 1]", "[{RandomTranslation: {height_factor: 0.1}}]",
                             "width_factor");
    probe_expect_usage_error(be, "[8, 8, 1]", "[{RandomRotation: {factor: 1.5}}]", "factor");
    probe_expect_usage_error(be, "[8, 8, 1]",
                             "[{RandomZoom: {height_factor: 0.1, fill_mode: mirror}}]",
                             "fill_mode");
    probe_expect_usage_error(be, "[8, 8, 1]",
                             "[{RandomZoom: {height_factor: 0.1, interpolation: bicubic}}]",
                             "interpolation");
    probe_expect_usage_error(be, "[8, 8, 1]", "[{RandomContrast: {factor: -0.1}}]", "factor");
    probe_expect_usage_error(be, "[8, 8, 1]",
                             "[{RandomContrast: {factor: 0.1, value_range: [1, 0]}}]",
                             "value_range: expected [low, high] with low < high");
}

int main(void)
{
    dl_err err = {0};
    dl_backend *be = be_cpu_create(1, &err);
    if (!be) {
        fprintf(stderr, "cpu backend: %s\n", err.msg);
        return 1;
    }
    test_draws(be);
    test_flip(be);
    test_translation(be);
    test_rotation(be);
    test_zoom_sign(be);
    test_zoom_statistics(be);
    test_contrast_statistics(be);
    test_contrast_clip(be);
    test_gradients(be);
    test_contrast_clip_gradient(be);
    test_build_errors(be);
    be->destroy(be);
    return check_report("augment");
}
