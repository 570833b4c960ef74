/* optimizer.h: Keras optimizers (update rules and defaults of Keras 3,
 * keras-reference.md §1.5) over the model's flat parameter slab. One
 * apply() = schedule lookup, gradient clipping, decoupled weight decay, the
 * fused update of every variable, iterations += 1. */
#ifndef OPT_OPTIMIZER_H
#define OPT_OPTIMIZER_H

#include "engine/backend/backend.h"

/* One args struct shared by every optimizer kind; each kind's table lists
 * only its own keys. */
typedef struct opt_args {
    dl_kind_ref learning_rate;  /* schedule family; a number is a constant */
    double beta_1, beta_2, epsilon;
    double rho, momentum;
    double initial_accumulator_value;
    int nesterov, amsgrad, centered;
    double weight_decay;        /* NAN: none */
    double clipnorm, clipvalue, global_clipnorm;  /* NAN: none; at most one set */
} opt_args;

extern const dl_family opt_family;  /* SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, Nadam */

/* A trainable variable: a view into the model's weight and gradient slabs. */
typedef struct opt_var {
    float *w;                   /* device [n] */
    float *g;                   /* device [n] */
    size_t n;
    size_t offset;              /* position in the slab; slot arrays use the same */
} opt_var;

typedef struct optimizer {
    const dl_kind *kind;
    const opt_args *args;
    int op;                     /* DL_OPT_* */
    dl_backend *be;
    size_t nweights;
    int nslots;
    float *slots;               /* device [nslots, nweights] */
    int64_t iterations;         /* completed steps */
    double nadam_u_product;     /* Nadam's momentum-schedule product */
    double lr_override;         /* NAN: follow the schedule; else set by a callback */
} optimizer;

int optim_init(optimizer *o, const dl_kind_ref *spec, dl_backend *be, size_t nweights,
               dl_err *err);
/* The learning rate the next step will use. */
double optim_learning_rate(const optimizer *o);
/* One step over all trainable variables (gradients are modified by clipping). */
void optim_apply(optimizer *o, const opt_var *vars, int nvars);
void optim_free(optimizer *o);

#endif
