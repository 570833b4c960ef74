/* sweep.h: dltrain sweep, a hyperparameter search over `dltrain fit` runs.
 *
 * A sweep is a list of dimensions (an override path and its values: a grid
 * list, or a random distribution), expanded into trials (one set of
 * "PATH=VALUE" overrides each). Every trial is checked in-process before
 * any runs; then each runs as its own `dltrain fit` child process in
 * SWEEP_DIR/<trial name>, J at a time. SWEEP_DIR/sweep.json records the
 * whole plan and every trial's outcome, so an interrupted sweep can be
 * resumed; SWEEP_DIR/sweep.csv and stderr's leaderboard rank the trials;
 * an HParams experiment in SWEEP_DIR lists every swept hyperparameter.
 *
 * The parts: sweep_spec.c (dimensions from flags and the `sweep:` section,
 * trials and their names), sweep_check.c (in-process validation, the
 * HParams columns), sweep_run.c (child processes, signals, outcomes),
 * sweep_files.c (sweep.json), sweep_report.c (leaderboard, CSV, JSON,
 * the HParams experiment), cmd_sweep.c (the command). */
#ifndef CLI_SWEEP_H
#define CLI_SWEEP_H

#include "cli/args.h"
#include "configs/schema.h"
#include "engine/tb_writer.h"

#include <cjson/cJSON.h>

#define SWEEP_MAX_DIMS 32
#define SWEEP_MAX_TRIALS 10000
#define SWEEP_MAX_JOBS 256
#define SWEEP_MAX_VALUE 512         /* characters of one value's YAML text */
#define SWEEP_MAX_COLUMNS 64        /* HParams columns */
#define SWEEP_MAX_DOMAIN 32         /* distinct values listed per column */
#define SWEEP_MAX_METRICS 48

typedef enum sweep_dist {
    SWEEP_GRID,                     /* every value of a list */
    SWEEP_CHOICE,                   /* one value of a list, drawn */
    SWEEP_UNIFORM,                  /* [low, high] */
    SWEEP_LOGUNIFORM,               /* [low, high], uniform in log */
    SWEEP_INT                       /* integers low..high, inclusive */
} sweep_dist;

typedef struct sweep_dim {
    char *path;                     /* the override path */
    char *label;                    /* its short form in trial names */
    sweep_dist dist;
    char *spec;                     /* "PATH=[...]" or "PATH=dist(...)", as flags take it */
    char *where;                    /* where it was written, for messages */
    int nvalues;                    /* GRID, CHOICE: YAML flow texts */
    char **values;
    double low, high;               /* UNIFORM, LOGUNIFORM, INT */
} sweep_dim;

typedef enum trial_status {
    TRIAL_PENDING,
    TRIAL_RUNNING,
    TRIAL_COMPLETED,
    TRIAL_FAILED,
    TRIAL_INTERRUPTED
} trial_status;

typedef struct sweep_trial {
    int index;                      /* 1-based, the order of the plan */
    char *name;                     /* directory name: t003-learning_rate=0.01_units=64 */
    char **overrides;               /* "PATH=VALUE", one per dimension */
    int noverrides;
    trial_status status;
    int exit_code;
    double seconds;
    char error[512];                /* failed: the last line of its stderr */
    int epochs, best_epoch;         /* best_epoch by the sweep's monitor; 0: none */
    double best_value;              /* the monitor at best_epoch (NAN: none) */
    cJSON *best, *last, *test;      /* logs from fit.jsonl (NULL: none) */
    char *model;                    /* the model file fit reported */
} sweep_trial;

/* One HParams column: an hparam of the trials' sessions (cli/runinfo.c
 * names and types them) and the distinct values seen (nvalues -1: more
 * than SWEEP_MAX_DOMAIN, listed as no domain). */
typedef struct sweep_column {
    char name[128];
    tb_hparam_type type;
    int nvalues;
    double numbers[SWEEP_MAX_DOMAIN];
    char strings[SWEEP_MAX_DOMAIN][128];
} sweep_column;

typedef struct sweep {
    cfg_arena *arena;               /* every string and array below */
    char *config;                   /* absolute path */
    char *cwd;                      /* where the trials run (relative data paths) */
    char **set;                     /* --set for every trial, then seed= if added */
    int nset;
    sweep_dim dims[SWEEP_MAX_DIMS];
    int ndims;
    int draws;                      /* random draws per grid point */
    uint64_t seed;                  /* the search's seed */
    int jobs, threads;
    char monitor[72];
    int maximize;
    char *dir;                      /* the sweep directory, absolute */
    int json, quiet;
    sweep_trial *trials;
    int ntrials;
    /* what the trials log, from the in-process check */
    sweep_column columns[SWEEP_MAX_COLUMNS];
    int ncolumns;
    char metrics[SWEEP_MAX_METRICS][72];    /* log keys without "val_" */
    int nmetrics;
    int has_validation;
} sweep;

/* The command line of `dltrain sweep` (cmd_sweep.c parses it). */
typedef struct sweep_options {
    const char *config, *resume, *sweep_dir, *monitor;
    const char *set[CLI_MAX_OVERRIDES];
    int nset;
    const char *grid[SWEEP_MAX_DIMS], *random[SWEEP_MAX_DIMS];
    int ngrid, nrandom;
    int trials, jobs, threads;      /* 0: not given */
    unsigned long long seed;
    int has_seed;
    int json, quiet;
} sweep_options;

/* sweep_spec.c */
/* Reads CONFIG's `sweep:` section (after the --set overrides) and the
 * flags into sw: dimensions, draws, seed, jobs, monitor. Also adds
 * "seed=N" to sw->set when the config leaves its seed to chance and the
 * sweep does not vary it (config_seed: the seed a load of it resolved), so
 * every trial starts from the same weights. Usage errors exit 2, naming
 * file:line:col or the flag. */
int sweep_spec_load(sweep *sw, const sweep_options *o, int config_seed, dl_err *err);
/* Adds one dimension from flag text: "PATH=[v, ...]" (grid) or
 * "PATH=dist(args)" (random); where names it in messages. */
int sweep_add_dim(sweep *sw, int random, const char *text, const char *where, dl_err *err);
/* Short, distinct labels for the dimensions (the paths' last parts). */
void sweep_label_dims(sweep *sw);
/* The trials: the grid's cartesian product (first dimension slowest),
 * each grid point with sw->draws random draws (one when the sweep has no
 * random dimension), named t001-label=value_... Errors (too many trials,
 * out of memory) exit 2 or 1. */
int sweep_make_trials(sweep *sw, dl_err *err);
/* A trial's YAML value as JSON (number, bool or string, as runinfo.c
 * types override values). */
cJSON *sweep_value_json(const char *text);
/* The type cli/runinfo.c gives an override's value. */
tb_hparam_type sweep_value_type(const char *text);

/* sweep_check.c */
/* Loads the config with the common overrides only (name, runs_dir and the
 * seed it resolves to), and learns its metric keys. Config errors exit 2. */
int sweep_check_base(sweep *sw, char *name, size_t name_len, char *runs_dir,
                     size_t runs_dir_len, int *seed, dl_err *err);
/* sw->monitor, or val_loss (loss without validation) when empty, must be
 * a key of the runs' logs; sets sw->maximize as callbacks do (acc, auc,
 * precision, recall: higher is better). where names the setting. */
int sweep_set_monitor(sweep *sw, const char *where, dl_err *err);
/* Builds every trial's config, model and compile in-process, as `dltrain
 * check` would, and gathers the HParams columns and metric keys. A bad
 * value exits 2 and names the dimension it came from. */
int sweep_check_trials(sweep *sw, dl_err *err);

/* cmd_sweep.c */
/* What `dltrain sweep CONFIG` checks before it creates anything: the
 * sweep: section and every trial's config, model and compile (for
 * `dltrain check`; set: its --set overrides). Config errors exit 2. */
int sweep_check_config(const char *config, const char *const *set, int nset, int *ntrials,
                       dl_err *err);

/* sweep_run.c */
/* Runs the trials that are not completed, sw->jobs at a time, each as
 * `dltrain fit` in its directory; rewrites sweep.json as each one ends
 * and prints a line per trial (unless quiet). A trial that cannot start
 * is recorded as failed. SIGINT/SIGTERM: no new trials, SIGINT goes on to
 * the running ones. Returns 1 when interrupted, else 0. */
int sweep_run(sweep *sw);
/* Reads SWEEP_DIR/<trial>/fit.jsonl: completed when its last line is fit's
 * final JSON object; fills epochs, the monitor's best, and the logs. */
int sweep_read_outcome(sweep *sw, sweep_trial *t);
/* "SWEEP_DIR/<trial name>" into buf. */
const char *sweep_trial_dir(const sweep *sw, const sweep_trial *t, char *buf, size_t len);
const char *sweep_status_name(trial_status status);

/* sweep_files.c */
/* Writes SWEEP_DIR/sweep.json atomically: the plan and every outcome. */
int sweep_write_manifest(const sweep *sw, dl_err *err);
/* Reads it back for --resume (the dimensions re-parsed from their specs). */
int sweep_read_manifest(sweep *sw, const char *dir, dl_err *err);

/* sweep_report.c */
/* Writes the HParams experiment into SWEEP_DIR, unless an event file
 * already lies there (a resumed sweep). */
int sweep_write_experiment(const sweep *sw, dl_err *err);
/* Sorts a copy of the trial order best first; writes sweep.csv, the
 * leaderboard on stderr (unless quiet) and the results on stdout (JSON
 * lines with --json). status: "completed", "failed" or "interrupted". */
int sweep_report(const sweep *sw, const char *status, dl_err *err);

#endif
