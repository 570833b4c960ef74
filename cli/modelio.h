/* modelio.h: model files: safetensors with one tensor per weight
 * ("dense/kernel", Keras 3's variable paths) and the resolved config in
 * __metadata__ ("dltrain.config"), so a file rebuilds its own model. */
#ifndef CLI_MODELIO_H
#define CLI_MODELIO_H

#include "cli/session.h"

#define DLTRAIN_VERSION "0.1.0"

/* Writes the session's model atomically. */
int modelio_save(const session *s, const char *path, dl_err *err);

/* Opens a model file into a fresh session: its config (with overrides),
 * the backend, the model and its weights. Every tensor must be present with
 * the exact shape; an unexpected tensor is an error too. */
int modelio_load(session *s, const char *path, const char *const *overrides, int noverrides,
                 int threads, dl_err *err);

#endif
