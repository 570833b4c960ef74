/* cmd_fit.c: dltrain fit CONFIG [--resume RUN]. Everything is checked
 * (config, model, compile, data, the checkpoint) before anything is
 * written, so a bad config leaves nothing behind. Each epoch ends with a
 * checkpoint (checkpoints/last.safetensors); SIGINT/SIGTERM stop after the
 * current batch with a checkpoint there (exit 130); a non-finite loss stops
 * before the bad update, keeping the last good checkpoint (exit 1). */
#include "cli/commands.h"

#include "cli/checkpoint.h"
#include "cli/files.h"
#include "cli/modelio.h"
#include "cli/observer.h"
#include "cli/rundir.h"
#include "cli/runinfo.h"
#include "engine/callbacks.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

typedef struct fit_job {
    session *s;
    const cli_args *a;
    run_paths paths;
    cli_observer obs;
    ckpt resume;                /* the checkpoint's state (--resume) */
    train_logs test;
    int has_test_logs;
} fit_job;

static int save_current(void *saver, const char *path, dl_err *err)
{
    return modelio_save(saver, path, err);
}

/* Every epoch (when fit.checkpoint) and on an interrupt. */
static int write_checkpoint(void *user, fit_ctx *f, dl_err *err)
{
    fit_job *r = user;
    if (!r->s->cfg.fit.checkpoint && !f->interrupted)
        return DL_OK;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", r->paths.dir);
    if (files_mkdirs(dir, err))
        return DL_ERR;
    return checkpoint_save(r->s, f, &r->obs, r->paths.checkpoint, err);
}

static void add_logs(cJSON *obj, const char *name, const train_logs *logs)
{
    cJSON *o = cJSON_AddObjectToObject(obj, name);
    for (int i = 0; o && i < logs->n; i++)
        cJSON_AddNumberToObject(o, logs->keys[i], logs->values[i]);
}

static void print_results(const fit_job *r, const fit_ctx *f)
{
    if (!r->a->json) {
        printf("model: %s\n", r->paths.model);
        for (int i = 0; r->has_test_logs && i < r->test.n; i++)
            printf("test_%s: %.6g\n", r->test.keys[i], r->test.values[i]);
        return;
    }
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return;
    cJSON_AddStringToObject(obj, "status", "completed");
    cJSON_AddNumberToObject(obj, "epochs", f->epoch);
    cJSON_AddNumberToObject(obj, "best_epoch", r->obs.best_epoch);
    cJSON_AddStringToObject(obj, "monitor", r->obs.monitor);
    add_logs(obj, "best", &r->obs.best);
    add_logs(obj, "last", &r->obs.last);
    if (r->has_test_logs)
        add_logs(obj, "test", &r->test);
    cJSON_AddStringToObject(obj, "run_dir", r->paths.dir);
    cJSON_AddStringToObject(obj, "model", r->paths.model);
    cJSON_AddStringToObject(obj, "config", r->paths.config);
    cJSON_AddStringToObject(obj, "checkpoint", r->paths.checkpoint);
    char *text = cJSON_PrintUnformatted(obj);
    if (text)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(obj);
}

/* Config, model, compile, data; with --resume the checkpoint too. */
static int prepare(fit_job *r, dl_err *err)
{
    session *s = r->s;
    const cli_args *a = r->a;
    char checkpoint[4200], dir[4096];
    if (a->resume && checkpoint_locate(a->resume, checkpoint, sizeof checkpoint, dir,
                                       sizeof dir, err))
        return DL_ERR;
    if (session_load_config(s, a->positional[0], a->overrides, a->noverrides, err) ||
        session_backend(s, a->threads, a->verbose ? 2 : 1, err) || session_model(s, 1, err) ||
        session_compile(s, err) || session_train_data(s, err))
        return DL_ERR;
    if (s->cfg.data.test.kind && session_eval_data(s, &s->cfg.data.test, "data.test", err))
        return DL_ERR;
    cli_observer_init(&r->obs, cli_verbosity(a, s->cfg.fit.verbose), a->json,
                      s->has_val ? "val_loss" : "loss");
    if (a->resume) {
        rundir_paths(&r->paths, dir);
        return checkpoint_load(s, checkpoint, &r->resume, &r->obs, err);
    }
    return rundir_create(s, a, &r->paths, err);
}

/* What follows a fit: the model file, the test evaluation, the results. */
static int finish(fit_job *r, const fit_ctx *f, dl_err *err)
{
    session *s = r->s;
    if (f->interrupted) {
        fprintf(stderr, "interrupted: checkpoint saved to %s; continue with: dltrain fit %s "
                        "--resume %s\n",
                r->paths.checkpoint, r->a->positional[0], r->paths.dir);
        return dl_fail(err, DL_EXIT_INTERRUPTED, "interrupted in epoch %d", f->epoch + 1);
    }
    if (f->nan_stopped)
        return dl_fail(err, DL_EXIT_FAIL, "training stopped at %s; the model was not saved%s%s",
                       f->nonfinite,
                       files_exists(r->paths.checkpoint) ? "; the last good checkpoint is "
                                                         : "",
                       files_exists(r->paths.checkpoint) ? r->paths.checkpoint : "");
    if (modelio_save(s, r->paths.model, err))
        return DL_ERR;
    if (s->has_test) {
        logs_clear(&r->test);
        if (trainer_evaluate(&s->t, &s->test.src, "", &r->test))
            return trainer_device_status(&s->t, err);
        r->has_test_logs = 1;
    }
    print_results(r, f);
    return DL_OK;
}

static int train(fit_job *r, const char *config, const char *model_json, dl_err *err)
{
    session *s = r->s;
    run_hparams hparams;
    runinfo_hparams(s, r->a->overrides, r->a->noverrides, &hparams);
    s->t.obs = &r->obs.hooks;
    fit_ctx f = {0};
    f.t = &s->t;
    f.train = &s->train.src;
    f.val = s->has_val ? &s->val.src : NULL;
    f.epochs = s->cfg.fit.epochs;
    f.run_dir = r->paths.dir;
    f.msg = stderr;
    f.saver = s;
    f.save = save_current;
    f.hparams = hparams.v;
    f.nhparams = hparams.n;
    f.config_text = config;
    f.model_json = model_json;
    f.checkpointer = r;
    f.checkpoint = write_checkpoint;
    f.interrupt = &interrupt_requested;
    if (r->a->resume) {
        if (fit_load_state(&f, &r->resume, err))
            return DL_ERR;
        f.resume_state = &r->resume;
    }
    catch_interrupts();
    if (cb_create(&s->cfg.fit.callbacks, &f.callbacks, &f.ncallbacks, err))
        return DL_ERR;
    int rc = fit_run(&f, err);
    cb_free(f.callbacks, f.ncallbacks);
    return rc ? DL_ERR : finish(r, &f, err);
}

static int run(fit_job *r, dl_err *err)
{
    if (prepare(r, err))
        return DL_ERR;
    char *config = config_emit(&r->s->cfg);
    char *model_json = runinfo_model_json(r->s);
    int rc = config && model_json
                 ? files_write_atomic(r->paths.config, config, strlen(config), err)
                 : dl_fail(err, DL_EXIT_FAIL, "out of memory");
    if (rc == DL_OK)
        rc = train(r, config, model_json, err);
    free(config);
    free(model_json);
    return rc;
}

int cmd_fit(int argc, char **argv)
{
    cli_args a;
    dl_err err = {0};
    if (cli_parse("fit", argc, argv, 2, "set run-dir run-name resume device seed threads json "
                                        "quiet verbose",
                  &a, &err))
        return cli_report(&err);
    if (a.npositional != 1)
        return cli_usage("fit", "expected one CONFIG file");
    session s = {0};
    fit_job r = {.s = &s, .a = &a};
    ckpt_init(&r.resume);
    int rc = run(&r, &err);
    ckpt_free(&r.resume);
    session_close(&s);
    return rc ? cli_report(&err) : DL_EXIT_OK;
}
