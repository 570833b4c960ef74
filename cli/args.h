/* args.h: the command line of every subcommand (design.md). */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include "engine/backend/common.h"

#define CLI_MAX_OVERRIDES 256
#define CLI_MAX_POSITIONAL 64

typedef struct cli_args {
    const char *positional[CLI_MAX_POSITIONAL];
    int npositional;
    const char *overrides[CLI_MAX_OVERRIDES];   /* --set, then --seed/--device */
    int noverrides;
    const char *run_dir, *run_name, *data, *output, *resume;
    int threads;                /* 0: default */
    int json, quiet, verbose;
    char seed_set[64], device_set[64];
} cli_args;

/* Parses argv[first..] for command `cmd`, accepting only the options named
 * in `allowed` (e.g. "set json run-dir"). Usage errors exit 2. */
int cli_parse(const char *cmd, int argc, char **argv, int first, const char *allowed,
              cli_args *a, dl_err *err);

/* Progress verbosity: 0 with -q, else fit.verbose (auto = 1: the bar on a
 * terminal, a line per epoch otherwise). */
int cli_verbosity(const cli_args *a, int config_verbose);

#endif
