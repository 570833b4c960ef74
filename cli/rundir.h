/* rundir.h: where a fit writes: the run directory, its config.yaml,
 * model.safetensors and checkpoints/last.safetensors. */
#ifndef CLI_RUNDIR_H
#define CLI_RUNDIR_H

#include "cli/args.h"
#include "cli/session.h"

typedef struct run_paths {
    char dir[4096];
    char config[4200];
    char model[4200];
    char checkpoint[4200];      /* checkpoints/last.safetensors */
} run_paths;

/* A new run directory: runs_dir/NAME (NAME_1, NAME_2, ... when taken), or
 * --run-dir as given (which must not hold a model yet). */
int rundir_create(const session *s, const cli_args *a, run_paths *p, dl_err *err);
/* The paths inside an existing run directory (a resumed run). */
void rundir_paths(run_paths *p, const char *dir);

#endif
