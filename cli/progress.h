/* progress.h: Keras 3's console output (keras-reference.md §2): the
 * progress bar redrawn in place on a terminal, one plain line per epoch
 * otherwise (verbose=2 form), and the model.summary() table. */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdio.h>

typedef struct progress {
    FILE *out;
    int dynamic;            /* terminal: bar with colour, redrawn in place */
    int target;             /* steps in this epoch / evaluation (>= 1) */
    double t_start;         /* seconds (monotonic) at progress_start */
    double t_first_step;    /* time when step 1 finished (excluded from ETA); NAN before */
    double t_last_draw;     /* -INFINITY before the first draw */
    int prev_width;         /* characters of the last dynamic line */
} progress;

void progress_init(progress *p, FILE *out, int dynamic);
/* "Epoch i/N" (printed only when epochs > 1). */
void progress_epoch_header(progress *p, int epoch, int epochs);
void progress_start(progress *p, int target);
/* A running update: dynamic mode only, throttled to >= 0.05 s apart. keys are
 * already in display order. */
void progress_update(progress *p, int current, const char *const *keys, const double *values,
                     int n);
/* The final line of an epoch or evaluation (both modes). */
void progress_finish(progress *p, const char *const *keys, const double *values, int n);
/* Keras's value format: %.4f when |v| > 1e-3, else %.4e; NaN as "nan". */
void progress_format_value(double v, char *buf, size_t n);
double progress_now(void);   /* monotonic seconds */

/* The same three calls at an explicit clock reading `now` (seconds, as from
 * progress_now), so that tests can drive time; the calls above pass
 * progress_now(). */
void progress_start_at(progress *p, double now, int target);
void progress_update_at(progress *p, double now, int current, const char *const *keys,
                        const double *values, int n);
void progress_finish_at(progress *p, double now, const char *const *keys, const double *values,
                        int n);

/* One row of model.summary(). */
typedef struct summary_row {
    const char *name;       /* "dense_1" */
    const char *class_name; /* "Dense" */
    const char *shape;      /* "(None, 128)" */
    long long params;
} summary_row;

/* Keras 3's box table; width 88 (terminal >= 92 columns) or 76 otherwise.
 * optimizer_params < 0: no "Optimizer params" line. */
void summary_print(FILE *out, const char *model_name, const summary_row *rows, int n,
                   long long trainable, long long non_trainable, long long optimizer_params,
                   int width);

#endif
