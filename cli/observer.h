/* observer.h: the engine's progress hooks drawn as Keras's console output
 * on stderr, and (with --json) one JSON object per epoch on stdout. */
#ifndef CLI_OBSERVER_H
#define CLI_OBSERVER_H

#include "cli/progress.h"
#include "engine/train.h"

typedef struct cli_observer {
    train_observer hooks;
    progress bar;
    int verbose;                /* 0 silent, 1 bar (a line per epoch when not a
                                   terminal), 2 a line per epoch */
    int json;                   /* epoch lines on stdout */
    const char *monitor;        /* "val_loss" or "loss": picks the best epoch */
    int best_epoch;             /* 1-based; 0 before the first epoch */
    train_logs best, last;
} cli_observer;

void cli_observer_init(cli_observer *o, int verbose, int json, const char *monitor);

/* Prints logs as a JSON object line ("epoch" first when epoch >= 0). */
void cli_print_json_logs(FILE *out, int epoch, const train_logs *logs);

#endif
