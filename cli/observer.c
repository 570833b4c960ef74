/* observer.c: progress bar and JSON epoch lines. */
#include "cli/observer.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void show(progress *p, size_t step, const trainer *t, int final, const train_logs *logs)
{
    const char *keys[TRAIN_MAX_LOGS];
    train_logs running;
    if (!logs) {
        logs_clear(&running);
        trainer_pass_logs(t, "", &running);
        logs = &running;
    }
    for (int i = 0; i < logs->n; i++)
        keys[i] = logs->keys[i];
    if (final)
        progress_finish(p, keys, logs->values, logs->n);
    else
        progress_update(p, (int)step, keys, logs->values, logs->n);
}

static void on_epoch_begin(void *user, int epoch, int epochs, size_t steps)
{
    cli_observer *o = user;
    if (!o->verbose)
        return;
    progress_epoch_header(&o->bar, epoch + 1, epochs);
    progress_start(&o->bar, (int)steps);
}

static void on_batch_end(void *user, size_t step, const trainer *t)
{
    cli_observer *o = user;
    /* the running logs cost a little: only build them when a redraw is due */
    if (o->verbose && o->bar.dynamic && progress_now() - o->bar.t_last_draw >= 0.05)
        show(&o->bar, step, t, 0, NULL);
    else if (o->verbose && step == 1)
        o->bar.t_first_step = progress_now();
}

static void on_epoch_end(void *user, int epoch, const train_logs *logs)
{
    cli_observer *o = user;
    if (o->verbose)
        show(&o->bar, 0, NULL, 1, logs);
    if (o->json)
        cli_print_json_logs(stdout, epoch + 1, logs);
    double value, best;
    if (logs_get(logs, o->monitor, &value) == DL_OK &&
        (!o->best_epoch || logs_get(&o->best, o->monitor, &best) || value < best)) {
        o->best = *logs;
        o->best_epoch = epoch + 1;
    }
    o->last = *logs;
}

static void on_eval_begin(void *user, size_t steps)
{
    cli_observer *o = user;
    if (o->verbose)
        progress_start(&o->bar, (int)steps);
}

static void on_eval_end(void *user, const train_logs *logs)
{
    cli_observer *o = user;
    if (o->verbose)
        show(&o->bar, 0, NULL, 1, logs);
}

void cli_observer_init(cli_observer *o, int verbose, int json, const char *monitor)
{
    memset(o, 0, sizeof *o);
    o->verbose = verbose;
    o->json = json;
    o->monitor = monitor;
    progress_init(&o->bar, stderr, verbose == 1 && isatty(STDERR_FILENO));
    o->hooks = (train_observer){o,           on_epoch_begin, on_batch_end, on_epoch_end,
                                on_eval_begin, on_batch_end,  on_eval_end};
}

void cli_print_json_logs(FILE *out, int epoch, const train_logs *logs)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return;
    if (epoch >= 0)
        cJSON_AddNumberToObject(obj, "epoch", epoch);
    for (int i = 0; i < logs->n; i++)
        cJSON_AddNumberToObject(obj, logs->keys[i], logs->values[i]);
    char *text = cJSON_PrintUnformatted(obj);
    if (text) {
        fprintf(out, "%s\n", text);
        fflush(out);
    }
    free(text);
    cJSON_Delete(obj);
}
