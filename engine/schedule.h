/* schedule.h: learning-rate schedules (keras-reference.md §1.6), evaluated
 * on the optimizer's iteration count (the first step uses step 0). */
#ifndef SCHED_SCHEDULE_H
#define SCHED_SCHEDULE_H

#include "engine/backend/common.h"

/* Constant (selected by a bare number) + ExponentialDecay,
 * PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
 * CosineDecayRestarts with Keras's arguments and defaults. */
extern const dl_family sched_family;

double sched_value(const dl_kind_ref *lr, int64_t step);
int sched_is_constant(const dl_kind_ref *lr);

#endif
