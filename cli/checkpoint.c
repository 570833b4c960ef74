/* checkpoint.c: writing and reading resumable checkpoints. */
#include "cli/checkpoint.h"

#include "cli/modelio.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_STATE_TENSORS 64
#define STATE_PREFIX "state/"

/* The observer's best and last logs, as numbers. */
static int put_observer(ckpt *k, const cli_observer *obs)
{
    char name[128];
    int rc = ckpt_put_number(k, "observer.best_epoch", obs->best_epoch);
    for (int i = 0; i < obs->best.n; i++) {
        snprintf(name, sizeof name, "observer.best.%s", obs->best.keys[i]);
        rc |= ckpt_put_number(k, name, obs->best.values[i]);
    }
    for (int i = 0; i < obs->last.n; i++) {
        snprintf(name, sizeof name, "observer.last.%s", obs->last.keys[i]);
        rc |= ckpt_put_number(k, name, obs->last.values[i]);
    }
    return rc ? DL_ERR : DL_OK;
}

/* Numbers as {"name": "%.17g text"}: exact, and inf/nan survive. */
static char *numbers_json(const ckpt *k)
{
    cJSON *obj = cJSON_CreateObject();
    char text[40];
    for (int i = 0; obj && i < k->n; i++)
        if (!k->entries[i].is_array) {
            snprintf(text, sizeof text, "%.17g", k->entries[i].number);
            cJSON_AddStringToObject(obj, k->entries[i].name, text);
        }
    char *json = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    return json;
}

int checkpoint_save(const session *s, const fit_ctx *f, const cli_observer *obs,
                    const char *path, dl_err *err)
{
    ckpt k;
    ckpt_init(&k);
    st_out tensors[MAX_STATE_TENSORS];
    char names[MAX_STATE_TENSORS][128];
    int n = 0, rc = DL_ERR;
    char *json = NULL;
    if (fit_save_state(f, &k) || put_observer(&k, obs) || !(json = numbers_json(&k))) {
        dl_fail(err, DL_EXIT_FAIL, "out of memory writing %s", path);
        goto done;
    }
    for (int i = 0; i < k.n; i++) {
        if (!k.entries[i].is_array)
            continue;
        if (n == MAX_STATE_TENSORS) {
            dl_fail(err, DL_EXIT_FAIL, "%s: too many state arrays", path);
            goto done;
        }
        snprintf(names[n], sizeof names[n], STATE_PREFIX "%s", k.entries[i].name);
        tensors[n] = (st_out){names[n], ST_F32, 1, {(int64_t)k.entries[i].n},
                              k.entries[i].floats};
        n++;
    }
    const char *keys[] = {"dltrain.checkpoint"};
    const char *values[] = {json};
    rc = modelio_save_with(s, path, tensors, n, keys, values, 1, err);
done:
    free(json);
    ckpt_free(&k);
    return rc;
}

static int read_numbers(const st_file *f, ckpt *k, dl_err *err)
{
    const char *json = st_meta(f, "dltrain.checkpoint");
    cJSON *obj = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return dl_fail(err, DL_EXIT_FAIL, "%s: not a dltrain checkpoint (no valid "
                                          "dltrain.checkpoint metadata)",
                       f->path);
    }
    int rc = DL_OK;
    for (const cJSON *e = obj->child; e && rc == DL_OK; e = e->next) {
        char *end;
        double v = cJSON_IsString(e) ? strtod(e->valuestring, &end) : 0;
        if (!cJSON_IsString(e) || *end || end == e->valuestring)
            rc = dl_fail(err, DL_EXIT_FAIL, "%s: checkpoint value '%s' is not a number",
                         f->path, e->string);
        else if (ckpt_put_number(k, e->string, v))
            rc = dl_fail(err, DL_EXIT_FAIL, "out of memory");
    }
    cJSON_Delete(obj);
    return rc;
}

static int read_arrays(const st_file *f, ckpt *k, dl_err *err)
{
    for (int i = 0; i < f->ntensors; i++) {
        const st_tensor *t = &f->tensors[i];
        if (strncmp(t->name, STATE_PREFIX, strlen(STATE_PREFIX)))
            continue;
        size_t n = t->ndim == 1 ? (size_t)t->shape[0] : 0;
        float *host = malloc((n ? n : 1) * sizeof(float));
        int rc = !host || t->ndim != 1 ? dl_fail(err, DL_EXIT_FAIL, "%s: bad state tensor '%s'",
                                                  f->path, t->name)
                                        : st_read_f32(f, t, host, n, err);
        if (rc == DL_OK && ckpt_put_floats(k, t->name + strlen(STATE_PREFIX), host, n))
            rc = dl_fail(err, DL_EXIT_FAIL, "out of memory");
        free(host);
        if (rc)
            return DL_ERR;
    }
    return DL_OK;
}

static void restore_observer(const ckpt *k, cli_observer *obs)
{
    for (int i = 0; i < k->n; i++) {
        const ckpt_entry *e = &k->entries[i];
        if (!strcmp(e->name, "observer.best_epoch"))
            obs->best_epoch = (int)e->number;
        else if (!strncmp(e->name, "observer.best.", 14))
            logs_set(&obs->best, e->name + 14, e->number);
        else if (!strncmp(e->name, "observer.last.", 14))
            logs_set(&obs->last, e->name + 14, e->number);
    }
}

int checkpoint_load(session *s, const char *path, ckpt *k, cli_observer *obs, dl_err *err)
{
    st_file f;
    if (st_open(path, &f, err))
        return DL_ERR;
    int rc = read_numbers(&f, k, err) || read_arrays(&f, k, err) ||
                     modelio_load_weights(s, &f, 1, err)
                 ? DL_ERR
                 : DL_OK;
    st_close(&f);
    if (rc == DL_OK)
        restore_observer(k, obs);
    return rc;
}

int checkpoint_locate(const char *arg, char *path, size_t path_len, char *run_dir,
                      size_t run_dir_len, dl_err *err)
{
    struct stat st;
    if (stat(arg, &st))
        return dl_fail(err, DL_EXIT_USAGE, "--resume %s: no such run directory or checkpoint",
                       arg);
    if (S_ISDIR(st.st_mode)) {
        snprintf(run_dir, run_dir_len, "%s", arg);
        snprintf(path, path_len, "%s/checkpoints/last.safetensors", arg);
        if (stat(path, &st))
            return dl_fail(err, DL_EXIT_USAGE, "--resume %s: the run has no checkpoint (%s)",
                           arg, path);
        return DL_OK;
    }
    snprintf(path, path_len, "%s", arg);
    /* RUN/checkpoints/NAME.safetensors continues RUN */
    snprintf(run_dir, run_dir_len, "%s", arg);
    char *slash = strrchr(run_dir, '/');
    if (slash)
        *slash = '\0';
    slash = strrchr(run_dir, '/');
    const char *parent = slash ? slash + 1 : run_dir;
    if (strcmp(parent, "checkpoints"))
        return dl_fail(err, DL_EXIT_USAGE,
                       "--resume %s: a checkpoint is resumed in its run directory; give the "
                       "run directory or RUN/checkpoints/FILE",
                       arg);
    if (slash)
        *slash = '\0';
    else
        snprintf(run_dir, run_dir_len, ".");
    return DL_OK;
}
