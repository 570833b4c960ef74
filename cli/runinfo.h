/* runinfo.h: what a run tells TensorBoard about itself: its
 * hyperparameters for the HParams table and the model as Keras JSON for the
 * Graphs tab. */
#ifndef CLI_RUNINFO_H
#define CLI_RUNINFO_H

#include "cli/session.h"
#include "engine/tb_writer.h"

#define RUNINFO_MAX_HPARAMS 64

typedef struct run_hparams {
    int n;
    tb_hparam v[RUNINFO_MAX_HPARAMS];
    char names[RUNINFO_MAX_HPARAMS][128];
    char strings[RUNINFO_MAX_HPARAMS][128];
} run_hparams;

/* Every override ("PATH=VALUE" becomes hparam PATH) plus the key settings
 * under their config paths: compile.optimizer, its learning_rate,
 * compile.loss, fit.batch_size, fit.epochs and each layer's units/rate. */
void runinfo_hparams(const session *s, const char *const *overrides, int noverrides,
                     run_hparams *h);

/* {"class_name": "Sequential", "config": {"name": ..., "layers": [...]}}
 * as Keras serializes a model (malloc'd; NULL if out of memory). */
char *runinfo_model_json(const session *s);

#endif
