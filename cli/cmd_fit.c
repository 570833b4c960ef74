/* cmd_fit.c: dltrain fit CONFIG. Everything is checked (config, model,
 * compile, data) before the run directory is created, so a bad config
 * leaves nothing behind. */
#include "cli/commands.h"

#include "cli/files.h"
#include "cli/modelio.h"
#include "cli/observer.h"
#include "cli/runinfo.h"
#include "engine/callbacks.h"
#include "engine/fit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* First SIGINT/SIGTERM: stop after the current batch; a second SIGINT ends
 * the process at once. */
static volatile sig_atomic_t interrupt_requested;

static void on_interrupt(int sig)
{
    if (interrupt_requested && sig == SIGINT)
        _exit(DL_EXIT_INTERRUPTED);
    interrupt_requested = 1;
}

static void catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

typedef struct fit_run_info {
    char run_dir[4096];
    char model_path[4200];
    char config_path[4200];
    train_logs test;
    int has_test_logs;
} fit_run_info;

/* runs_dir/NAME, or NAME_1, NAME_2, ... when taken; --run-dir is used as
 * given but must not already hold a model. */
static int make_run_dir(const session *s, const cli_args *a, char *out, size_t n, dl_err *err)
{
    if (a->run_dir) {
        snprintf(out, n, "%s", a->run_dir);
        char model[4200];
        snprintf(model, sizeof model, "%s/model.safetensors", out);
        if (files_exists(model))
            return dl_fail(err, DL_EXIT_USAGE,
                           "run directory %s already holds a model; choose another --run-dir "
                           "or remove it",
                           out);
        return files_mkdirs(out, err);
    }
    const char *name = a->run_name ? a->run_name : s->cfg.name;
    if (files_mkdirs(s->cfg.runs_dir, err))
        return DL_ERR;
    for (int i = 0; i < 100000; i++) {
        if (i)
            snprintf(out, n, "%s/%s_%d", s->cfg.runs_dir, name, i);
        else
            snprintf(out, n, "%s/%s", s->cfg.runs_dir, name);
        if (mkdir(out, 0777) == 0)
            return DL_OK;
        if (errno != EEXIST)
            return dl_fail(err, DL_EXIT_FAIL, "cannot create run directory %s: %s", out,
                           strerror(errno));
    }
    return dl_fail(err, DL_EXIT_FAIL, "no free run directory name under %s", s->cfg.runs_dir);
}

static int save_current(void *saver, const char *path, dl_err *err)
{
    return modelio_save(saver, path, err);
}

static void add_logs(cJSON *obj, const char *name, const train_logs *logs)
{
    cJSON *o = cJSON_AddObjectToObject(obj, name);
    for (int i = 0; o && i < logs->n; i++)
        cJSON_AddNumberToObject(o, logs->keys[i], logs->values[i]);
}

static void print_results(const cli_args *a, const fit_run_info *info, const cli_observer *obs,
                          const fit_ctx *f)
{
    if (!a->json) {
        printf("model: %s\n", info->model_path);
        for (int i = 0; info->has_test_logs && i < info->test.n; i++)
            printf("test_%s: %.6g\n", info->test.keys[i], info->test.values[i]);
        return;
    }
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return;
    cJSON_AddStringToObject(obj, "status", f->nan_stopped ? "nan" : "completed");
    cJSON_AddNumberToObject(obj, "epochs", f->epochs_run);
    cJSON_AddNumberToObject(obj, "best_epoch", obs->best_epoch);
    cJSON_AddStringToObject(obj, "monitor", obs->monitor);
    add_logs(obj, "best", &obs->best);
    add_logs(obj, "last", &obs->last);
    if (info->has_test_logs)
        add_logs(obj, "test", &info->test);
    cJSON_AddStringToObject(obj, "run_dir", info->run_dir);
    cJSON_AddStringToObject(obj, "model", info->model_path);
    cJSON_AddStringToObject(obj, "config", info->config_path);
    char *text = cJSON_PrintUnformatted(obj);
    if (text)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(obj);
}

static int prepare(session *s, const cli_args *a, dl_err *err)
{
    if (session_load_config(s, a->positional[0], a->overrides, a->noverrides, err) ||
        session_backend(s, a->threads, a->verbose ? 2 : 1, err) || session_model(s, 1, err) ||
        session_compile(s, err) || session_train_data(s, err))
        return DL_ERR;
    if (s->cfg.data.test.kind && session_eval_data(s, &s->cfg.data.test, "data.test", err))
        return DL_ERR;
    return DL_OK;
}

static int train(session *s, const cli_args *a, fit_run_info *info, const char *config,
                 const char *model_json, dl_err *err);

/* Checks everything, creates the run directory and its config.yaml. */
static int run(session *s, const cli_args *a, fit_run_info *info, dl_err *err)
{
    if (prepare(s, a, err) || make_run_dir(s, a, info->run_dir, sizeof info->run_dir, err))
        return DL_ERR;
    snprintf(info->config_path, sizeof info->config_path, "%s/config.yaml", info->run_dir);
    snprintf(info->model_path, sizeof info->model_path, "%s/model.safetensors", info->run_dir);
    char *config = config_emit(&s->cfg);
    char *model_json = runinfo_model_json(s);
    int rc = config && model_json
                 ? files_write_atomic(info->config_path, config, strlen(config), err)
                 : dl_fail(err, DL_EXIT_FAIL, "out of memory");
    if (rc == DL_OK)
        rc = train(s, a, info, config, model_json, err);
    free(config);
    free(model_json);
    return rc;
}

/* Fits, saves the model, evaluates on the test data. */
static int train(session *s, const cli_args *a, fit_run_info *info, const char *config,
                 const char *model_json, dl_err *err)
{
    run_hparams hparams;
    runinfo_hparams(s, a->overrides, a->noverrides, &hparams);

    cli_observer obs;
    cli_observer_init(&obs, cli_verbosity(a, s->cfg.fit.verbose), a->json,
                      s->has_val ? "val_loss" : "loss");
    s->t.obs = &obs.hooks;
    fit_ctx f = {0};
    f.t = &s->t;
    f.train = &s->train.src;
    f.val = s->has_val ? &s->val.src : NULL;
    f.epochs = s->cfg.fit.epochs;
    f.run_dir = info->run_dir;
    f.msg = stderr;
    f.saver = s;
    f.save = save_current;
    f.hparams = hparams.v;
    f.nhparams = hparams.n;
    f.config_text = config;
    f.model_json = model_json;
    f.interrupt = &interrupt_requested;
    catch_interrupts();
    if (cb_create(&s->cfg.fit.callbacks, &f.callbacks, &f.ncallbacks, err))
        return DL_ERR;
    int rc = fit_run(&f, err);
    cb_free(f.callbacks, f.ncallbacks);
    if (rc)
        return DL_ERR;
    if (f.interrupted)
        return dl_fail(err, DL_EXIT_INTERRUPTED,
                       "interrupted in epoch %d; the model was not saved", f.epoch + 1);
    if (f.nan_stopped)
        return dl_fail(err, DL_EXIT_FAIL,
                       "training stopped: the loss is not finite (epoch %d); the model was "
                       "not saved",
                       f.epochs_run);
    if (modelio_save(s, info->model_path, err))
        return DL_ERR;
    if (s->has_test) {
        logs_clear(&info->test);
        trainer_evaluate(&s->t, &s->test.src, "", &info->test);
        info->has_test_logs = 1;
    }
    print_results(a, info, &obs, &f);
    return DL_OK;
}

int cmd_fit(int argc, char **argv)
{
    cli_args a;
    dl_err err = {0};
    if (cli_parse("fit", argc, argv, 2, "set run-dir run-name device seed threads json quiet "
                                        "verbose",
                  &a, &err))
        return cli_report(&err);
    if (a.npositional != 1)
        return cli_usage("fit", "expected one CONFIG file");
    session s = {0};
    fit_run_info info = {0};
    int rc = run(&s, &a, &info, &err);
    session_close(&s);
    return rc ? cli_report(&err) : DL_EXIT_OK;
}
