/* schedule.h: learning-rate schedules (keras-reference.md §1.6), evaluated
 * on the optimizer's iteration count (the first step uses step 0). */
#ifndef SCHED_SCHEDULE_H
#define SCHED_SCHEDULE_H

#include "engine/backend/common.h"

/* One args struct shared by every schedule kind; each kind's table lists
 * only its own keys (Keras's constructor arguments). */
typedef struct sched_args {
    double value;                   /* Constant: the learning rate */
    double initial_learning_rate;
    int decay_steps;                /* Exponential, Polynomial, InverseTime, Cosine */
    double decay_rate;              /* Exponential, InverseTime */
    int staircase;
    dl_floats boundaries, values;   /* PiecewiseConstantDecay */
    double end_learning_rate, power;
    int cycle;                      /* PolynomialDecay */
    double alpha;                   /* Cosine, CosineRestarts: final fraction of lr0 */
    double warmup_target;           /* CosineDecay: NAN for no warmup */
    int warmup_steps;
    int first_decay_steps;          /* CosineDecayRestarts */
    double t_mul, m_mul;
} sched_args;

/* Constant (selected by a bare number) + ExponentialDecay,
 * PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
 * CosineDecayRestarts with Keras's arguments and defaults. */
extern const dl_family sched_family;

double sched_value(const dl_kind_ref *lr, int64_t step);
int sched_is_constant(const dl_kind_ref *lr);

#endif
