/* checkpoint.h: resumable checkpoints (checkpoints/last.safetensors): the
 * model file plus everything fit needs to continue exactly: optimizer
 * slots and iteration count, schedule position, the position in the data
 * (epoch, batch), the running metrics of an interrupted epoch, callback
 * state and the best/last epoch logs. Numbers go into the metadata as
 * exact decimal text, arrays into "state/..." tensors. Written atomically. */
#ifndef CLI_CHECKPOINT_H
#define CLI_CHECKPOINT_H

#include "cli/observer.h"
#include "cli/session.h"
#include "engine/fit.h"

int checkpoint_save(const session *s, const fit_ctx *f, const cli_observer *obs,
                    const char *path, dl_err *err);

/* Loads the weights into the session's model (built from the config given
 * with --resume, which must match) and the state into k and obs. */
int checkpoint_load(session *s, const char *path, ckpt *k, cli_observer *obs, dl_err *err);

/* --resume RUN_DIR or a checkpoint file inside RUN_DIR/checkpoints: the
 * checkpoint's path and the run directory it continues. */
int checkpoint_locate(const char *arg, char *path, size_t path_len, char *run_dir,
                      size_t run_dir_len, dl_err *err);

#endif
