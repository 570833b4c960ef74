/* optimizer.c: the Keras optimizers (argument tables and defaults) and one
 * apply(): learning rate, gradient clipping, then the fused update of every
 * variable (weight decay and the rule itself, kernels.h). */
#include "engine/optimizer.h"

#include "engine/schedule.h"

#include <math.h>
#include <stdio.h>

/* An optimizer kind: the generic kind plus its update rule. */
typedef struct opt_kind {
    dl_kind base;       /* first member: the family lists &kind.base */
    int op;             /* DL_OPT_* */
} opt_kind;

/* Row builders; a row is {key, type, offset, default, min, max, flags,
 * choices, len, family, fields}. */
#define OPT_FLOAT(key, field, def, lo, hi, flags)                                                \
    {key, DL_ARG_FLOAT, offsetof(opt_args, field), def, lo, hi, flags, NULL, 0, NULL, NULL}
#define OPT_BOOL(key, field)                                                                     \
    {key, DL_ARG_BOOL, offsetof(opt_args, field), "false", 0, 0, 0, NULL, 0, NULL, NULL}
#define OPT_LEARNING_RATE(def)                                                                   \
    {"learning_rate", DL_ARG_KIND, offsetof(opt_args, learning_rate), def, 0, 0, 0, NULL, 0,     \
     &sched_family, NULL}
#define OPT_BETAS                                                                                \
    OPT_FLOAT("beta_1", beta_1, "0.9", 0, 1, DL_ARG_MAX_OPEN),                                   \
        OPT_FLOAT("beta_2", beta_2, "0.999", 0, 1, DL_ARG_MAX_OPEN)
#define OPT_EPSILON OPT_FLOAT("epsilon", epsilon, "1e-07", 0, HUGE_VAL, 0)
/* Every optimizer takes these; AdamW only changes weight_decay's default. */
#define OPT_COMMON(weight_decay_def, weight_decay_flags)                                         \
    OPT_FLOAT("weight_decay", weight_decay, weight_decay_def, 0, HUGE_VAL, weight_decay_flags),  \
        OPT_FLOAT("clipnorm", clipnorm, "null", 0, HUGE_VAL,                                     \
                  DL_ARG_NULLABLE | DL_ARG_MIN_OPEN),                                            \
        OPT_FLOAT("clipvalue", clipvalue, "null", 0, HUGE_VAL,                                   \
                  DL_ARG_NULLABLE | DL_ARG_MIN_OPEN),                                            \
        OPT_FLOAT("global_clipnorm", global_clipnorm, "null", 0, HUGE_VAL,                       \
                  DL_ARG_NULLABLE | DL_ARG_MIN_OPEN),                                            \
        {0}
#define OPT_COMMON_NO_DECAY OPT_COMMON("null", DL_ARG_NULLABLE)

static const dl_arg sgd_args[] = {
    OPT_LEARNING_RATE("0.01"),
    OPT_FLOAT("momentum", momentum, "0.0", 0, 1, 0),
    OPT_BOOL("nesterov", nesterov),
    OPT_COMMON_NO_DECAY,
};
static const dl_arg adam_args[] = {
    OPT_LEARNING_RATE("0.001"), OPT_BETAS, OPT_EPSILON, OPT_BOOL("amsgrad", amsgrad),
    OPT_COMMON_NO_DECAY,
};
static const dl_arg adamw_args[] = {
    OPT_LEARNING_RATE("0.001"), OPT_BETAS, OPT_EPSILON, OPT_BOOL("amsgrad", amsgrad),
    OPT_COMMON("0.004", 0),
};
static const dl_arg rmsprop_args[] = {
    OPT_LEARNING_RATE("0.001"),
    OPT_FLOAT("rho", rho, "0.9", 0, 1, DL_ARG_MAX_OPEN),
    OPT_FLOAT("momentum", momentum, "0.0", 0, 1, 0),
    OPT_EPSILON,
    OPT_BOOL("centered", centered),
    OPT_COMMON_NO_DECAY,
};
static const dl_arg adagrad_args[] = {
    OPT_LEARNING_RATE("0.001"),
    OPT_FLOAT("initial_accumulator_value", initial_accumulator_value, "0.1", 0, HUGE_VAL, 0),
    OPT_EPSILON,
    OPT_COMMON_NO_DECAY,
};
static const dl_arg adamax_args[] = {
    OPT_LEARNING_RATE("0.001"), OPT_BETAS, OPT_EPSILON, OPT_COMMON_NO_DECAY,
};
static const dl_arg nadam_args[] = {
    OPT_LEARNING_RATE("0.001"), OPT_BETAS, OPT_EPSILON, OPT_COMMON_NO_DECAY,
};

/* At most one of the clipping options (Keras raises otherwise). */
static int opt_check(const void *args, char *why, size_t why_len)
{
    const opt_args *a = args;
    const char *names[3] = {"clipnorm", "clipvalue", "global_clipnorm"};
    double values[3] = {a->clipnorm, a->clipvalue, a->global_clipnorm};
    const char *set[3];
    int nset = 0;
    for (int i = 0; i < 3; i++)
        if (!isnan(values[i]))
            set[nset++] = names[i];
    if (nset < 2)
        return DL_OK;
    snprintf(why, why_len,
             "only one of clipnorm, clipvalue and global_clipnorm may be set, got %s and %s%s%s",
             set[0], set[1], nset > 2 ? " and " : "", nset > 2 ? set[2] : "");
    return DL_ERR;
}

#define OPT_KIND(var, name, alias, table, op)                                                    \
    static const opt_kind var = {{name, alias, NULL, table, sizeof(opt_args), opt_check}, op}

OPT_KIND(opt_sgd, "SGD", "sgd", sgd_args, DL_OPT_SGD);
OPT_KIND(opt_adam, "Adam", "adam", adam_args, DL_OPT_ADAM);
OPT_KIND(opt_adamw, "AdamW", "adamw", adamw_args, DL_OPT_ADAM);
OPT_KIND(opt_rmsprop, "RMSprop", "rmsprop", rmsprop_args, DL_OPT_RMSPROP);
OPT_KIND(opt_adagrad, "Adagrad", "adagrad", adagrad_args, DL_OPT_ADAGRAD);
OPT_KIND(opt_adamax, "Adamax", "adamax", adamax_args, DL_OPT_ADAMAX);
OPT_KIND(opt_nadam, "Nadam", "nadam", nadam_args, DL_OPT_NADAM);

static const dl_kind *const opt_kinds[] = {
    &opt_sgd.base,     &opt_adam.base,   &opt_adamw.base, &opt_rmsprop.base,
    &opt_adagrad.base, &opt_adamax.base, &opt_nadam.base,
};

const dl_family opt_family = {"optimizer", opt_kinds,
                              (int)(sizeof opt_kinds / sizeof opt_kinds[0]), NULL, NULL};

int optim_init(optimizer *o, const dl_kind_ref *spec, dl_backend *be, size_t nweights,
               dl_err *err)
{
    *o = (optimizer){.kind = spec->kind, .args = spec->args, .be = be, .nweights = nweights,
                     .nadam_u_product = 1.0, .lr_override = NAN};
    int known = 0;
    for (int i = 0; i < opt_family.n; i++)
        known |= spec->kind == opt_family.kinds[i];
    if (!known)
        return dl_fail(err, DL_EXIT_USAGE, "%s is not an optimizer",
                       spec->kind ? spec->kind->name : "null");
    o->op = ((const opt_kind *)spec->kind)->op;
    o->nslots = dl_opt_nslots(o->op);
    o->slots = be->alloc(be, (size_t)o->nslots * nweights);
    if (!o->slots)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory for %d x %zu optimizer slots",
                       o->kind->name, o->nslots, nweights);
    if (o->op == DL_OPT_ADAGRAD)
        be->fill(be, o->slots, (float)o->args->initial_accumulator_value, nweights);
    return DL_OK;
}

double optim_learning_rate(const optimizer *o)
{
    if (!isnan(o->lr_override))
        return o->lr_override;
    return sched_value(&o->args->learning_rate, o->iterations);
}

/* Keras's clipping, on the gradients in place: clipnorm scales each
 * variable to norm <= clipnorm, global_clipnorm scales all of them together
 * (a non-finite global norm makes every gradient NaN, as in Keras),
 * clipvalue clamps each element. */
static void optim_clip(optimizer *o, const opt_var *vars, int nvars)
{
    const opt_args *a = o->args;
    dl_backend *be = o->be;
    if (!isnan(a->clipnorm)) {
        for (int i = 0; i < nvars; i++) {
            double norm = sqrt(be->sumsq(be, vars[i].g, vars[i].n));
            if (!(norm <= a->clipnorm))
                be->scale(be, vars[i].g, (float)(a->clipnorm / norm), vars[i].n);
        }
    } else if (!isnan(a->global_clipnorm)) {
        double sumsq = 0.0;
        for (int i = 0; i < nvars; i++)
            sumsq += be->sumsq(be, vars[i].g, vars[i].n);
        double norm = sqrt(sumsq);
        if (norm <= a->global_clipnorm)
            return;
        float scale = isfinite(norm) ? (float)(a->global_clipnorm / norm) : NAN;
        for (int i = 0; i < nvars; i++)
            be->scale(be, vars[i].g, scale, vars[i].n);
    } else if (!isnan(a->clipvalue)) {
        float v = (float)a->clipvalue;
        for (int i = 0; i < nvars; i++)
            be->clip(be, vars[i].g, -v, v, vars[i].n);
    }
}

void optim_apply(optimizer *o, const opt_var *vars, int nvars)
{
    const opt_args *a = o->args;
    dl_opt_step s = {0};
    s.kind = o->op;
    s.lr = optim_learning_rate(o);
    s.beta_1 = a->beta_1;
    s.beta_2 = a->beta_2;
    s.epsilon = a->epsilon;
    s.rho = a->rho;
    s.momentum = a->momentum;
    s.nesterov = a->nesterov;
    s.amsgrad = a->amsgrad;
    s.centered = a->centered;
    s.weight_decay = isnan(a->weight_decay) ? 0.0 : a->weight_decay;
    s.t = (int)(o->iterations + 1);
    dl_opt_prepare(&s, &o->nadam_u_product);
    optim_clip(o, vars, nvars);
    for (int i = 0; i < nvars; i++)
        o->be->opt_update(o->be, &s, vars[i].w, vars[i].g, o->slots + vars[i].offset,
                          o->nweights, vars[i].n);
    o->iterations++;
}

void optim_free(optimizer *o)
{
    if (o->slots)
        o->be->release(o->be, o->slots);
    o->slots = NULL;
}
