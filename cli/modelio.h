/* modelio.h: model files: safetensors with one tensor per weight
 * ("dense/kernel", Keras 3's variable paths) and the resolved config in
 * __metadata__ ("dltrain.config"), so a file rebuilds its own model. A
 * checkpoint is a model file with more: the state of the run
 * ("dltrain.checkpoint" metadata and state tensors, cli/checkpoint.c). */
#ifndef CLI_MODELIO_H
#define CLI_MODELIO_H

#include "cli/session.h"
#include "engine/safetensors.h"

#define DLTRAIN_VERSION "0.1.0"

/* Writes the session's model atomically. */
int modelio_save(const session *s, const char *path, dl_err *err);

/* The same with extra tensors and metadata pairs (a checkpoint). */
int modelio_save_with(const session *s, const char *path, const st_out *extra, int nextra,
                      const char *const *keys, const char *const *values, int nmeta,
                      dl_err *err);

/* Copies the model's weights out of an open file: every weight must be
 * there with its exact shape; other tensors are errors unless
 * allow_state (a checkpoint's state tensors). */
int modelio_load_weights(session *s, const st_file *f, int allow_state, dl_err *err);

/* Opens a model file (or a checkpoint) into a fresh session: its config
 * (with overrides), the backend, the model and its weights. */
int modelio_load(session *s, const char *path, const char *const *overrides, int noverrides,
                 int threads, dl_err *err);

#endif
