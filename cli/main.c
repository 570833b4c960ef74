/* main.c: dltrain's front door: the subcommand table, help and version. */
#include "cli/commands.h"
#include "cli/modelio.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
} command;

static const command commands[] = {
    {"fit", cmd_fit,
     "dltrain fit CONFIG [--set K=V]... [--run-dir DIR | --run-name NAME | --resume RUN]\n"
     "                   [--device D] [--seed N] [--threads N] [--json] [-q|-v]",
     "Train the model a config describes and save it in a run directory\n"
     "(runs_dir/NAME: config.yaml, model.safetensors, checkpoints/last.safetensors,\n"
     "TensorBoard event files, callback files). Ctrl-C stops after the current\n"
     "batch with a checkpoint (exit 130); a non-finite loss stops the run (exit 1).\n"
     "  --set K=V       change a config value (YAML), e.g. --set fit.epochs=5,\n"
     "                  --set model.layers[1].Dense.units=512; repeatable\n"
     "  --run-dir DIR   write the run here (must not hold a model yet)\n"
     "  --run-name NAME run directory runs_dir/NAME (NAME_1, ... if taken)\n"
     "  --resume RUN    continue RUN (or RUN/checkpoints/FILE) exactly where its\n"
     "                  checkpoint stopped; raise fit.epochs with --set to go further\n"
     "  --device D      cpu, gpu or auto        --seed N   the run's seed\n"
     "  --threads N     CPU threads (default: all) --json  JSON lines on stdout\n"
     "  -q              no progress output      -v         more detail\n"},
    {"evaluate", cmd_evaluate,
     "dltrain evaluate MODEL [--data CONFIG] [--set K=V]... [--threads N] [--json] [-q]",
     "Loss and metrics of a saved model on the test data its config names\n"
     "(data.test), or on the data.test of another CONFIG.\n"},
    {"predict", cmd_predict, "dltrain predict MODEL INPUT... [--output FILE] [--threads N]",
     "Write a CSV of the model's outputs (class probabilities and the predicted\n"
     "class) for each sample of INPUT (IDX images or CSV rows).\n"},
    {"summary", cmd_summary, "dltrain summary CONFIG|MODEL [--set K=V]...",
     "Print Keras's model summary: layers, output shapes and parameter counts.\n"},
    {"check", cmd_check, "dltrain check CONFIG [--set K=V]... [--seed N] [--device D]",
     "Validate a config (keys, types, ranges, shapes) and print it resolved; with a\n"
     "sweep: section, also the section and every trial's config.\n"},
    {"sweep", cmd_sweep,
     "dltrain sweep CONFIG [--grid K=[V,...]]... [--random K=DIST]... [--trials N] [--seed S]\n"
     "                     [--jobs J] [--threads T] [--set K=V]... [--sweep-dir DIR]\n"
     "                     [--monitor KEY] [--json] [-q]\n"
     "       dltrain sweep --resume SWEEP_DIR [--jobs J] [--threads T] [--json] [-q]",
     "Train one run per trial of a hyperparameter search, J at a time, each a\n"
     "`dltrain fit` in SWEEP_DIR/<trial>; then rank them on stderr and write\n"
     "SWEEP_DIR/sweep.csv. The config's `sweep:` section may hold the same\n"
     "settings (grid, random, trials, seed, jobs, monitor); flags win.\n"
     "  --grid K=[V,...]  every value of a YAML list; several: their product\n"
     "  --random K=DIST   a value drawn per trial: choice(a, b, ...), uniform(lo, hi),\n"
     "                    loguniform(lo, hi), int(lo, hi) (inclusive)\n"
     "  --trials N        random draws (default 10), per grid point with --grid\n"
     "  --seed S          the search's seed (default: the config's seed)\n"
     "  --jobs J          trials at once (default 1), as separate processes\n"
     "  --threads T       threads per trial (default: cores / J)\n"
     "  --set K=V         change the config of every trial\n"
     "  --sweep-dir DIR   default runs_dir/sweeps/NAME (NAME_1, ... if taken)\n"
     "  --monitor KEY     rank by this log key (default val_loss, or loss without\n"
     "                    validation; acc/auc/precision/recall: higher is better)\n"
     "  --json            one JSON line per trial, then a summary, on stdout\n"
     "  --resume DIR      run the trials of DIR/sweep.json that did not complete\n"
     "Exit codes: 0 at least one trial completed, 1 none did, 2 usage or config\n"
     "error (every trial is checked before the first runs), 130 interrupted.\n"},
};

#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

int cli_report(const dl_err *err)
{
    fprintf(stderr, "dltrain: %s\n", err->msg);
    return err->exit_code ? err->exit_code : DL_EXIT_FAIL;
}

int cli_usage(const char *command, const char *what)
{
    fprintf(stderr, "dltrain %s: %s\n", command, what);
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, command))
            fprintf(stderr, "usage: %s\n", commands[i].usage);
    return DL_EXIT_USAGE;
}

int cmd_help(const char *name)
{
    if (name) {
        for (int i = 0; i < NCOMMANDS; i++)
            if (!strcmp(commands[i].name, name)) {
                printf("usage: %s\n\n%s", commands[i].usage, commands[i].help);
                return DL_EXIT_OK;
            }
        fprintf(stderr, "dltrain help: unknown command '%s'\n", name);
        return DL_EXIT_USAGE;
    }
    printf("dltrain: train Keras-style models from YAML configs\n\nusage:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        printf("  %s\n", commands[i].usage);
    printf("  dltrain help COMMAND | --help | --version\n\n"
           "Exit codes: 0 done, 1 failure (data, I/O, numeric), 2 usage or config error.\n");
    return DL_EXIT_OK;
}

/* OpenBLAS's idle threads spin on sched_yield for 2^28 cycles after each
 * product, on the cores that the CPU backend's own workers need between
 * products: on 2 threads an epoch of the example MLP at batch 32 took 0.8
 * to 2.5 s from one process to the next, with a fifth of the CPU time in
 * the kernel. OpenBLAS reads OPENBLAS_THREAD_TIMEOUT only as it loads,
 * before main, so dltrain sets it (spin 2^4 cycles, then sleep) and runs
 * itself again, same process, arguments and descriptors. A value already
 * in the environment is kept; if the exec fails, OpenBLAS keeps its
 * default. */
static void blas_short_spin(char **argv)
{
    if (getenv("OPENBLAS_THREAD_TIMEOUT") || setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    blas_short_spin(argv);
    /* past a file-size limit, writes fail with EFBIG (reported, the old
     * files kept) instead of the process dying */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        cmd_help(NULL);
        return DL_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help"))
        return cmd_help(argc > 2 ? argv[2] : NULL);
    if (!strcmp(name, "--version")) {
        printf("dltrain %s\n", DLTRAIN_VERSION);
        return DL_EXIT_OK;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name)) {
            for (int j = 2; j < argc; j++)
                if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h"))
                    return cmd_help(name);
            return commands[i].run(argc, argv);
        }
    fprintf(stderr, "dltrain: unknown command '%s' (see dltrain --help)\n", name);
    return DL_EXIT_USAGE;
}
