/* gpu_check.h: what the GPU tests share (test_gpu_kernels.c,
 * test_gpu_parity.c, test_gpu_parity_nn.c): seeded random inputs,
 * whole-array comparisons, and the Keras geometry of convolution and
 * pooling descriptors. */
#ifndef DL_GPU_CHECK_H
#define DL_GPU_CHECK_H

#include "engine/backend/backend.h"
#include "layers/window.h"
#include "tests/unit/check.h"

#include <math.h>
#include <stdint.h>

/* A seeded stream of uniform floats (an LCG: tests need repeatability,
 * not quality). */
typedef struct gc_rng {
    uint32_t state;
} gc_rng;

static inline float gc_uniform(gc_rng *r, float lo, float hi)
{
    r->state = r->state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(r->state >> 8) * (1.0f / 16777216.0f);
}

static inline void gc_fill(gc_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = gc_uniform(r, lo, hi);
}

/* One check: every element within atol + rtol |want| (NaN matches NaN);
 * the message names the first that is not. */
static inline void gc_check_arrays(const char *what, const float *got, const float *want, size_t n,
                                   double rtol, double atol)
{
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++) {
        int both_nan = isnan(got[i]) && isnan(want[i]);
        if (!both_nan && !(fabs((double)got[i] - want[i]) <= atol + rtol * fabs((double)want[i])))
            bad = i;
    }
    CHECK(bad == n, "%s: element %zu of %zu is %.9g, expected %.9g (rtol %g, atol %g)", what, bad,
          n, bad < n ? got[bad] : 0.0, bad < n ? want[bad] : 0.0, rtol, atol);
}

/* A convolution as the Conv2D layer describes it (padding: WIN_*; Conv1D
 * is h = kh = 1). */
static inline dl_conv_desc gc_conv_desc(int n, int h, int w, int c, int kh, int kw, int filters,
                                        int sh, int sw, int dh, int dw, int padding)
{
    dl_conv_desc d = {0};
    d.n = n;
    d.h = h;
    d.w = w;
    d.c = c;
    d.kh = kh;
    d.kw = kw;
    d.filters = filters;
    d.sh = sh;
    d.sw = sw;
    d.dh = dh;
    d.dw = dw;
    d.oh = win_output_length(padding, h, kh, sh, dh, &d.pad_top);
    d.ow = win_output_length(padding, w, kw, sw, dw, &d.pad_left);
    return d;
}

static inline dl_pool_desc gc_pool_desc(int kind, int n, int h, int w, int c, int ph, int pw,
                                        int sh, int sw, int padding)
{
    dl_pool_desc d = {0};
    d.kind = kind;
    d.n = n;
    d.h = h;
    d.w = w;
    d.c = c;
    d.ph = ph;
    d.pw = pw;
    d.sh = sh;
    d.sw = sw;
    d.oh = win_output_length(padding, h, ph, sh, 1, &d.pad_top);
    d.ow = win_output_length(padding, w, pw, sw, 1, &d.pad_left);
    return d;
}

#endif
