/* init.c: Keras initializers (keras-reference.md §1.2, tests/data/keras
 * README §13) and the L1/L2 regularizer kinds. Every initial value is a
 * pure function of (key, stream, element index) through Philox, so a
 * weight tensor comes out the same on every device and in any order. */
#include "engine/init.h"
#include "engine/backend/kernels.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#define INIT_TWO_PI 6.283185307179586
#define INIT_TRUNC_STD 0.87962566103423978  /* std of a unit normal cut at ±2 */
#define INIT_MAX_SEED 9007199254740992.0    /* 2^53: seeds stay exact in a double */
#define INIT_MAX_REDRAWS 64                 /* a redraw is needed 4.6% of the time */

enum { INIT_FAN_IN, INIT_FAN_OUT, INIT_FAN_AVG };
enum { INIT_DIST_TRUNCATED, INIT_DIST_UNTRUNCATED, INIT_DIST_UNIFORM };

/* One args struct for every initializer; each kind's table lists only its
 * own keys. */
typedef struct init_args {
    double value;           /* Constant */
    double minval, maxval;  /* RandomUniform */
    double mean, stddev;    /* RandomNormal, TruncatedNormal */
    double scale;           /* VarianceScaling */
    int mode;               /* VarianceScaling: INIT_FAN_* */
    int distribution;       /* VarianceScaling: INIT_DIST_* */
    double seed;            /* NAN: none, the caller's seed is the key */
} init_args;

/* How a kind fills a tensor. The Glorot/He/LeCun presets are
 * VarianceScaling with fixed scale, mode and distribution. */
enum {
    INIT_ZEROS,
    INIT_ONES,
    INIT_CONSTANT,
    INIT_UNIFORM,
    INIT_NORMAL,
    INIT_TRUNCATED,
    INIT_VARIANCE,          /* scale, mode, distribution from the args */
    INIT_PRESET             /* scale, mode, distribution from init_kind */
};

typedef struct init_kind {
    dl_kind kind;
    int method;             /* INIT_* above */
    double scale;           /* INIT_PRESET only */
    int mode, distribution;
} init_kind;

static int init_check_seed(const void *args, char *why, size_t why_len)
{
    const init_args *a = args;
    if (!isnan(a->seed) && a->seed != floor(a->seed)) {
        snprintf(why, why_len, "seed must be an integer, got %g", a->seed);
        return DL_ERR;
    }
    return DL_OK;
}

static int init_check_uniform(const void *args, char *why, size_t why_len)
{
    const init_args *a = args;
    if (a->maxval < a->minval) {
        snprintf(why, why_len, "maxval (%g) must not be less than minval (%g)", a->maxval,
                 a->minval);
        return DL_ERR;
    }
    return init_check_seed(args, why, why_len);
}

#define INIT_SEED_ROW                                                                     \
    {.key = "seed", .type = DL_ARG_FLOAT, .offset = offsetof(init_args, seed), .def = "null", \
     .min = 0, .max = INIT_MAX_SEED, .flags = DL_ARG_NULLABLE}
#define INIT_FLOAT_ROW(name, field, default_text, lo, hi, row_flags)                      \
    {.key = name, .type = DL_ARG_FLOAT, .offset = offsetof(init_args, field),              \
     .def = default_text, .min = lo, .max = hi, .flags = row_flags}

static const char *const init_modes[] = {"fan_in", "fan_out", "fan_avg", NULL};
static const char *const init_distributions[] = {"truncated_normal", "untruncated_normal",
                                                 "uniform", NULL};

static const dl_arg init_no_args[] = {{0}};
static const dl_arg init_seed_args[] = {INIT_SEED_ROW, {0}};
static const dl_arg init_constant_args[] = {INIT_FLOAT_ROW("value", value, "0.0", 0, 0, 0), {0}};
static const dl_arg init_uniform_args[] = {
    INIT_FLOAT_ROW("minval", minval, "-0.05", 0, 0, 0),
    INIT_FLOAT_ROW("maxval", maxval, "0.05", 0, 0, 0),
    INIT_SEED_ROW,
    {0},
};
static const dl_arg init_normal_args[] = {
    INIT_FLOAT_ROW("mean", mean, "0.0", 0, 0, 0),
    INIT_FLOAT_ROW("stddev", stddev, "0.05", 0, DBL_MAX, 0),
    INIT_SEED_ROW,
    {0},
};
static const dl_arg init_variance_args[] = {
    INIT_FLOAT_ROW("scale", scale, "1.0", 0, DBL_MAX, DL_ARG_MIN_OPEN),
    {.key = "mode", .type = DL_ARG_ENUM, .offset = offsetof(init_args, mode), .def = "fan_in",
     .choices = init_modes},
    {.key = "distribution", .type = DL_ARG_ENUM, .offset = offsetof(init_args, distribution),
     .def = "truncated_normal", .choices = init_distributions},
    INIT_SEED_ROW,
    {0},
};

#define INIT_KIND(class_name, snake_name, other_name, table, check_fn)                    \
    {.name = class_name, .alias = snake_name, .alias2 = other_name, .args = table,         \
     .args_size = sizeof(init_args), .check = check_fn}

static const init_kind init_kinds[] = {
    {INIT_KIND("GlorotUniform", "glorot_uniform", NULL, init_seed_args, init_check_seed),
     INIT_PRESET, 1.0, INIT_FAN_AVG, INIT_DIST_UNIFORM},
    {INIT_KIND("GlorotNormal", "glorot_normal", NULL, init_seed_args, init_check_seed),
     INIT_PRESET, 1.0, INIT_FAN_AVG, INIT_DIST_TRUNCATED},
    {INIT_KIND("HeUniform", "he_uniform", NULL, init_seed_args, init_check_seed),
     INIT_PRESET, 2.0, INIT_FAN_IN, INIT_DIST_UNIFORM},
    {INIT_KIND("HeNormal", "he_normal", NULL, init_seed_args, init_check_seed),
     INIT_PRESET, 2.0, INIT_FAN_IN, INIT_DIST_TRUNCATED},
    {INIT_KIND("LecunUniform", "lecun_uniform", NULL, init_seed_args, init_check_seed),
     INIT_PRESET, 1.0, INIT_FAN_IN, INIT_DIST_UNIFORM},
    {INIT_KIND("LecunNormal", "lecun_normal", NULL, init_seed_args, init_check_seed),
     INIT_PRESET, 1.0, INIT_FAN_IN, INIT_DIST_TRUNCATED},
    /* "zero", "one", "uniform", "normal": Keras 3's extra aliases. */
    {INIT_KIND("Zeros", "zeros", "zero", init_no_args, NULL), INIT_ZEROS, 0, 0, 0},
    {INIT_KIND("Ones", "ones", "one", init_no_args, NULL), INIT_ONES, 0, 0, 0},
    {INIT_KIND("Constant", "constant", NULL, init_constant_args, NULL), INIT_CONSTANT, 0, 0, 0},
    {INIT_KIND("RandomUniform", "random_uniform", "uniform", init_uniform_args,
               init_check_uniform), INIT_UNIFORM, 0, 0, 0},
    {INIT_KIND("RandomNormal", "random_normal", "normal", init_normal_args, init_check_seed),
     INIT_NORMAL, 0, 0, 0},
    {INIT_KIND("TruncatedNormal", "truncated_normal", NULL, init_normal_args, init_check_seed),
     INIT_TRUNCATED, 0, 0, 0},
    {INIT_KIND("VarianceScaling", "variance_scaling", NULL, init_variance_args,
               init_check_seed), INIT_VARIANCE, 0, 0, 0},
};
#define INIT_NKINDS ((int)(sizeof init_kinds / sizeof init_kinds[0]))

static const dl_kind *const init_kind_list[INIT_NKINDS] = {
    &init_kinds[0].kind,  &init_kinds[1].kind,  &init_kinds[2].kind,  &init_kinds[3].kind,
    &init_kinds[4].kind,  &init_kinds[5].kind,  &init_kinds[6].kind,  &init_kinds[7].kind,
    &init_kinds[8].kind,  &init_kinds[9].kind,  &init_kinds[10].kind, &init_kinds[11].kind,
    &init_kinds[12].kind,
};

const dl_family init_family = {.what = "initializer", .kinds = init_kind_list,
                               .n = INIT_NKINDS};

void init_fans(const int *shape, int ndim, double *fan_in, double *fan_out)
{
    if (ndim == 0) {
        *fan_in = *fan_out = 1.0;
    } else if (ndim == 1) {
        *fan_in = *fan_out = shape[0];
    } else if (ndim == 2) {
        *fan_in = shape[0];
        *fan_out = shape[1];
    } else {
        double receptive_field = 1.0;
        for (int d = 0; d < ndim - 2; d++)
            receptive_field *= shape[d];
        *fan_in = shape[ndim - 2] * receptive_field;
        *fan_out = shape[ndim - 1] * receptive_field;
    }
}

/* Standard normal number v of a stream by Box-Muller: the uniforms at
 * indices v & ~1 and v | 1 make a pair, the even v takes the cosine and the
 * odd v the sine, so every index yields one independent normal. */
static double init_normal_at(uint64_t key, uint64_t stream, uint64_t v)
{
    uint64_t pair = v & ~(uint64_t)1;
    /* 1 - u lies in (0, 1], so the log is finite. */
    double u1 = 1.0 - dl_u32_to_unit(dl_rand_u32(key, stream, pair));
    double u2 = dl_u32_to_unit(dl_rand_u32(key, stream, pair + 1));
    double radius = sqrt(-2.0 * log(u1));
    double angle = INIT_TWO_PI * u2;
    return (v & 1) ? radius * sin(angle) : radius * cos(angle);
}

/* A unit normal redrawn while outside ±2: redraw r of element i of n uses
 * normal number r * n + i, so no two draws share one. */
static double init_truncated_at(uint64_t key, uint64_t stream, uint64_t i, uint64_t n)
{
    double z = init_normal_at(key, stream, i);
    for (uint64_t r = 1; fabs(z) > 2.0 && r <= INIT_MAX_REDRAWS; r++)
        z = init_normal_at(key, stream, r * n + i);
    /* Only bounds the loop: 64 redraws in a row have odds of 1e-86. */
    return fmax(-2.0, fmin(2.0, z));
}

static void init_fill_uniform(float *out, size_t n, double lo, double hi, uint64_t key,
                              uint64_t stream)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(lo + (hi - lo) * dl_u32_to_unit(dl_rand_u32(key, stream, i)));
}

static void init_fill_normal(float *out, size_t n, double mean, double stddev, int truncated,
                             uint64_t key, uint64_t stream)
{
    for (size_t i = 0; i < n; i++) {
        double z = truncated ? init_truncated_at(key, stream, i, n)
                             : init_normal_at(key, stream, i);
        out[i] = (float)(mean + stddev * z);
    }
}

/* VarianceScaling: scale / max(1, fan) sets the variance of the draw. */
static void init_fill_variance(float *out, size_t n, double scale, int mode, int distribution,
                               const int *shape, int ndim, uint64_t key, uint64_t stream)
{
    double fan_in, fan_out;
    init_fans(shape, ndim, &fan_in, &fan_out);
    double fan = mode == INIT_FAN_IN ? fan_in
               : mode == INIT_FAN_OUT ? fan_out
                                      : (fan_in + fan_out) / 2.0;
    double variance = scale / fmax(1.0, fan);
    if (distribution == INIT_DIST_UNIFORM) {
        double limit = sqrt(3.0 * variance);
        init_fill_uniform(out, n, -limit, limit, key, stream);
    } else if (distribution == INIT_DIST_TRUNCATED) {
        init_fill_normal(out, n, 0.0, sqrt(variance) / INIT_TRUNC_STD, 1, key, stream);
    } else {
        init_fill_normal(out, n, 0.0, sqrt(variance), 0, key, stream);
    }
}

static void init_fill_constant(float *out, size_t n, float value)
{
    for (size_t i = 0; i < n; i++)
        out[i] = value;
}

/* The Philox key: the initializer's own seed when it has one. */
static uint64_t init_key(const init_args *a, uint64_t seed)
{
    return a && !isnan(a->seed) ? (uint64_t)a->seed : seed;
}

void init_fill(const dl_kind_ref *init, const int *shape, int ndim, uint64_t seed,
               uint64_t stream, float *out)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    const init_kind *k = NULL;
    for (int i = 0; i < INIT_NKINDS; i++)
        if (init->kind == &init_kinds[i].kind)
            k = &init_kinds[i];
    /* A null kind (no initializer chosen) leaves the weights at zero. */
    if (!k) {
        init_fill_constant(out, n, 0.0f);
        return;
    }
    const init_args *a = init->args; /* filled from the kind's table */
    switch (k->method) {
    case INIT_ZEROS:
        init_fill_constant(out, n, 0.0f);
        break;
    case INIT_ONES:
        init_fill_constant(out, n, 1.0f);
        break;
    case INIT_CONSTANT:
        init_fill_constant(out, n, (float)a->value);
        break;
    case INIT_UNIFORM:
        init_fill_uniform(out, n, a->minval, a->maxval, init_key(a, seed), stream);
        break;
    case INIT_NORMAL:
    case INIT_TRUNCATED:
        init_fill_normal(out, n, a->mean, a->stddev, k->method == INIT_TRUNCATED,
                         init_key(a, seed), stream);
        break;
    case INIT_VARIANCE:
        init_fill_variance(out, n, a->scale, a->mode, a->distribution, shape, ndim,
                           init_key(a, seed), stream);
        break;
    case INIT_PRESET:
        init_fill_variance(out, n, k->scale, k->mode, k->distribution, shape, ndim,
                           init_key(a, seed), stream);
        break;
    }
}

/* ---- regularizers ---- */

#define REG_ROW(name, field, default_text)                                                \
    {.key = name, .type = DL_ARG_FLOAT, .offset = offsetof(reg_args, field),                \
     .def = default_text, .min = 0, .max = DBL_MAX}

static const dl_arg reg_l1_args[] = {REG_ROW("l1", l1, "0.01"), {0}};
static const dl_arg reg_l2_args[] = {REG_ROW("l2", l2, "0.01"), {0}};
static const dl_arg reg_l1l2_args[] = {REG_ROW("l1", l1, "0.0"), REG_ROW("l2", l2, "0.0"), {0}};

#define REG_KIND(class_name, snake_name, table)                                            \
    {.name = class_name, .alias = snake_name, .args = table, .args_size = sizeof(reg_args)}

static const dl_kind reg_kinds[] = {
    REG_KIND("L1", "l1", reg_l1_args),
    REG_KIND("L2", "l2", reg_l2_args),
    REG_KIND("L1L2", "l1_l2", reg_l1l2_args),
};
static const dl_kind *const reg_kind_list[] = {&reg_kinds[0], &reg_kinds[1], &reg_kinds[2]};

const dl_family reg_family = {.what = "regularizer", .kinds = reg_kind_list,
                              .n = (int)(sizeof reg_kind_list / sizeof reg_kind_list[0])};
