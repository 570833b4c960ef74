/* schedule.c: learning-rate schedules with Keras 3's arguments, defaults and
 * formulas (tests/data/keras/README.md §14), evaluated in double. */
#include "engine/schedule.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>

/* A schedule kind: the generic kind plus its formula. */
typedef struct sched_kind {
    dl_kind base;       /* first member: the family lists &kind.base */
    double (*value)(const sched_args *a, double step);
} sched_kind;

/* Row builders; a row is {key, type, offset, default, min, max, flags,
 * choices, len, family, fields}. */
#define SCHED_FLOAT(key, field, def, lo, hi, flags)                                              \
    {key, DL_ARG_FLOAT, offsetof(sched_args, field), def, lo, hi, flags, NULL, 0, NULL, NULL}
#define SCHED_STEPS(key, field, def, lo)                                                         \
    {key, DL_ARG_INT, offsetof(sched_args, field), def, lo, INT_MAX, 0, NULL, 0, NULL, NULL}
#define SCHED_BOOL(key, field)                                                                   \
    {key, DL_ARG_BOOL, offsetof(sched_args, field), "false", 0, 0, 0, NULL, 0, NULL, NULL}
#define SCHED_FLOATS(key, field)                                                                 \
    {key, DL_ARG_FLOATS, offsetof(sched_args, field), NULL, 0, 0, 0, NULL, 0, NULL, NULL}
#define SCHED_LR0 SCHED_FLOAT("initial_learning_rate", initial_learning_rate, NULL, 0, HUGE_VAL, 0)
#define SCHED_ALPHA SCHED_FLOAT("alpha", alpha, "0.0", 0, 1, 0)

/* ---- formulas (step s) ---- */

static double sched_constant(const sched_args *a, double s)
{
    (void)s;
    return a->value;
}

static double sched_exponential(const sched_args *a, double s)
{
    double p = s / a->decay_steps;
    if (a->staircase)
        p = floor(p);
    return a->initial_learning_rate * pow(a->decay_rate, p);
}

/* values[i] for b[i-1] < s <= b[i]: a boundary belongs to the lower interval */
static double sched_piecewise(const sched_args *a, double s)
{
    int i = 0;
    while (i < a->boundaries.n && s > a->boundaries.v[i])
        i++;
    return a->values.v[i];
}

static double sched_polynomial(const sched_args *a, double s)
{
    double steps = a->decay_steps;
    if (a->cycle)
        steps *= s == 0.0 ? 1.0 : ceil(s / a->decay_steps);
    else
        s = fmin(s, steps);
    double lr0 = a->initial_learning_rate, end = a->end_learning_rate;
    return (lr0 - end) * pow(1.0 - s / steps, a->power) + end;
}

static double sched_inverse_time(const sched_args *a, double s)
{
    double p = s / a->decay_steps;
    if (a->staircase)
        p = floor(p);
    return a->initial_learning_rate / (1.0 + a->decay_rate * p);
}

/* lr0 ((1 - alpha) (1 + cos(pi s/steps)) / 2 + alpha) for s in [0, steps] */
static double sched_cosine_decay(double lr0, double alpha, double s, double steps)
{
    double cosine = 0.5 * (1.0 + cos(M_PI * s / steps));
    return lr0 * ((1.0 - alpha) * cosine + alpha);
}

/* With warmup_target: a linear ramp from lr0 to warmup_target over
 * warmup_steps, then the cosine decay from warmup_target. */
static double sched_cosine(const sched_args *a, double s)
{
    double lr0 = a->initial_learning_rate, steps = a->decay_steps;
    if (isnan(a->warmup_target))
        return sched_cosine_decay(lr0, a->alpha, fmin(s, steps), steps);
    double warmup = a->warmup_steps;
    s = fmin(s, steps + warmup);
    if (s < warmup)
        return lr0 + (a->warmup_target - lr0) * s / warmup;
    return sched_cosine_decay(a->warmup_target, a->alpha, s - warmup, steps);
}

/* SGDR: restart i lasts first_decay_steps * t_mul^i steps and peaks at
 * lr0 * m_mul^i; f is the fraction done of the current period. */
static double sched_cosine_restarts(const sched_args *a, double s)
{
    double f = s / a->first_decay_steps, t_mul = a->t_mul, i;
    if (t_mul == 1.0) {
        i = floor(f);
        f -= i;
    } else {
        i = floor(log(1.0 - f * (1.0 - t_mul)) / log(t_mul));
        f = (f - (1.0 - pow(t_mul, i)) / (1.0 - t_mul)) / pow(t_mul, i);
    }
    double cosine = 0.5 * pow(a->m_mul, i) * (1.0 + cos(M_PI * f));
    return a->initial_learning_rate * ((1.0 - a->alpha) * cosine + a->alpha);
}

/* ---- checks ---- */

static int sched_check_piecewise(const void *args, char *why, size_t why_len)
{
    const sched_args *a = args;
    if (a->values.n != a->boundaries.n + 1) {
        snprintf(why, why_len,
                 "values needs one entry more than boundaries (got %d boundaries, %d values)",
                 a->boundaries.n, a->values.n);
        return DL_ERR;
    }
    for (int i = 1; i < a->boundaries.n; i++) {
        if (!(a->boundaries.v[i] > a->boundaries.v[i - 1])) {
            snprintf(why, why_len, "boundaries must increase (entry %d, %g, follows %g)", i,
                     a->boundaries.v[i], a->boundaries.v[i - 1]);
            return DL_ERR;
        }
    }
    return DL_OK;
}

/* ---- kinds ---- */

static const dl_arg constant_args[] = {
    SCHED_FLOAT("value", value, NULL, 0, HUGE_VAL, DL_ARG_MIN_OPEN),
    {0},
};
static const dl_arg exponential_args[] = {
    SCHED_LR0,
    SCHED_STEPS("decay_steps", decay_steps, NULL, 1),
    SCHED_FLOAT("decay_rate", decay_rate, NULL, 0, HUGE_VAL, 0),
    SCHED_BOOL("staircase", staircase),
    {0},
};
static const dl_arg piecewise_args[] = {
    SCHED_FLOATS("boundaries", boundaries),
    SCHED_FLOATS("values", values),
    {0},
};
static const dl_arg polynomial_args[] = {
    SCHED_LR0,
    SCHED_STEPS("decay_steps", decay_steps, NULL, 1),
    SCHED_FLOAT("end_learning_rate", end_learning_rate, "0.0001", 0, HUGE_VAL, 0),
    SCHED_FLOAT("power", power, "1.0", 0, HUGE_VAL, 0),
    SCHED_BOOL("cycle", cycle),
    {0},
};
static const dl_arg inverse_time_args[] = {
    SCHED_LR0,
    SCHED_STEPS("decay_steps", decay_steps, NULL, 1),
    SCHED_FLOAT("decay_rate", decay_rate, NULL, 0, HUGE_VAL, 0),
    SCHED_BOOL("staircase", staircase),
    {0},
};
static const dl_arg cosine_args[] = {
    SCHED_LR0,
    SCHED_STEPS("decay_steps", decay_steps, NULL, 1),
    SCHED_ALPHA,
    SCHED_FLOAT("warmup_target", warmup_target, "null", 0, HUGE_VAL, DL_ARG_NULLABLE),
    SCHED_STEPS("warmup_steps", warmup_steps, "0", 0),
    {0},
};
static const dl_arg cosine_restarts_args[] = {
    SCHED_LR0,
    SCHED_STEPS("first_decay_steps", first_decay_steps, NULL, 1),
    SCHED_FLOAT("t_mul", t_mul, "2.0", 0, HUGE_VAL, DL_ARG_MIN_OPEN),
    SCHED_FLOAT("m_mul", m_mul, "1.0", 0, HUGE_VAL, 0),
    SCHED_ALPHA,
    {0},
};

#define SCHED_KIND(var, name, table, check, formula)                                             \
    static const sched_kind var = {{name, NULL, NULL, table, sizeof(sched_args), check}, formula}

SCHED_KIND(sched_constant_kind, "Constant", constant_args, NULL, sched_constant);
SCHED_KIND(sched_exponential_kind, "ExponentialDecay", exponential_args, NULL,
           sched_exponential);
SCHED_KIND(sched_piecewise_kind, "PiecewiseConstantDecay", piecewise_args,
           sched_check_piecewise, sched_piecewise);
SCHED_KIND(sched_polynomial_kind, "PolynomialDecay", polynomial_args, NULL, sched_polynomial);
SCHED_KIND(sched_inverse_time_kind, "InverseTimeDecay", inverse_time_args, NULL,
           sched_inverse_time);
SCHED_KIND(sched_cosine_kind, "CosineDecay", cosine_args, NULL, sched_cosine);
SCHED_KIND(sched_cosine_restarts_kind, "CosineDecayRestarts", cosine_restarts_args, NULL,
           sched_cosine_restarts);

static const dl_kind *const sched_kinds[] = {
    &sched_constant_kind.base,    &sched_exponential_kind.base,  &sched_piecewise_kind.base,
    &sched_polynomial_kind.base,  &sched_inverse_time_kind.base, &sched_cosine_kind.base,
    &sched_cosine_restarts_kind.base,
};

const dl_family sched_family = {"learning-rate schedule", sched_kinds,
                                (int)(sizeof sched_kinds / sizeof sched_kinds[0]),
                                &sched_constant_kind.base, NULL};

double sched_value(const dl_kind_ref *lr, int64_t step)
{
    const sched_kind *kind = (const sched_kind *)lr->kind;
    return kind->value(lr->args, (double)step);
}

int sched_is_constant(const dl_kind_ref *lr)
{
    return lr->kind == &sched_constant_kind.base;
}
