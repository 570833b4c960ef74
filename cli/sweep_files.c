/* sweep_files.c: SWEEP_DIR/sweep.json, the sweep's manifest. Written
 * atomically before the first trial starts and again as each one ends, it
 * holds everything --resume needs: the config, the directory the trials
 * run in, the common overrides, the dimensions (as flag text), the monitor
 * and every trial's overrides, name and last known outcome. */
#include "cli/sweep.h"

#include "cli/files.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_FORMAT "dltrain-sweep-1"
#define MANIFEST_MAX_BYTES (64L << 20)

static cJSON *strings_json(char *const *v, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
    return arr;
}

static cJSON *trial_json(const sweep_trial *t)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "index", t->index);
    cJSON_AddStringToObject(obj, "name", t->name);
    cJSON_AddItemToObject(obj, "overrides", strings_json(t->overrides, t->noverrides));
    /* a trial running when the manifest is written is pending to --resume */
    cJSON_AddStringToObject(obj, "status", sweep_status_name(t->status == TRIAL_RUNNING
                                                                 ? TRIAL_PENDING
                                                                 : t->status));
    if (t->status != TRIAL_PENDING && t->status != TRIAL_RUNNING) {
        cJSON_AddNumberToObject(obj, "exit_code", t->exit_code);
        cJSON_AddNumberToObject(obj, "seconds", t->seconds);
    }
    if (t->error[0])
        cJSON_AddStringToObject(obj, "error", t->error);
    return obj;
}

int sweep_write_manifest(const sweep *sw, dl_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", MANIFEST_FORMAT);
    cJSON_AddStringToObject(root, "config", sw->config);
    cJSON_AddStringToObject(root, "cwd", sw->cwd);
    cJSON_AddItemToObject(root, "set", strings_json(sw->set, sw->nset));
    cJSON *dims = cJSON_AddArrayToObject(root, "dimensions");
    for (int i = 0; dims && i < sw->ndims; i++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, sw->dims[i].dist == SWEEP_GRID ? "grid" : "random",
                                sw->dims[i].spec);
        cJSON_AddItemToArray(dims, d);
    }
    cJSON_AddNumberToObject(root, "draws", sw->draws);
    cJSON_AddNumberToObject(root, "seed", (double)sw->seed);
    cJSON_AddStringToObject(root, "monitor", sw->monitor);
    cJSON_AddStringToObject(root, "mode", sw->maximize ? "max" : "min");
    cJSON_AddNumberToObject(root, "jobs", sw->jobs);
    cJSON_AddNumberToObject(root, "threads", sw->threads);
    cJSON *trials = cJSON_AddArrayToObject(root, "trials");
    for (int k = 0; trials && k < sw->ntrials; k++)
        cJSON_AddItemToArray(trials, trial_json(&sw->trials[k]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.json", sw->dir);
    int rc = text ? files_write_atomic(path, text, strlen(text), err)
                  : dl_fail(err, DL_EXIT_FAIL, "out of memory");
    free(text);
    return rc;
}

/* ---- reading it back -------------------------------------------------------- */

typedef struct manifest_reader {
    sweep *sw;
    const char *path;
    dl_err *err;
} manifest_reader;

static int bad(manifest_reader *r, const char *what)
{
    return dl_fail(r->err, DL_EXIT_USAGE, "%s: %s; not a sweep manifest dltrain can resume",
                   r->path, what);
}

static char *get_string(manifest_reader *r, const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v))
        return NULL;
    char *s = cfg_arena_strdup(r->sw->arena, v->valuestring);
    if (!s)
        dl_fail(r->err, DL_EXIT_FAIL, "out of memory");
    return s;
}

/* An integer in [min, max], or DL_ERR. */
static int get_int(const cJSON *obj, const char *key, double min, double max, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < min ||
        v->valuedouble > max)
        return DL_ERR;
    *out = (int)v->valuedouble;
    return DL_OK;
}

static int get_strings(manifest_reader *r, const cJSON *obj, const char *key, char ***out,
                       int *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(arr))
        return DL_ERR;
    *n = cJSON_GetArraySize(arr);
    *out = cfg_arena_alloc(r->sw->arena, sizeof(char *) * (size_t)(*n + 1));
    if (!*out)
        return dl_fail(r->err, DL_EXIT_FAIL, "out of memory");
    int i = 0;
    for (const cJSON *v = arr->child; v; v = v->next, i++)
        if (!cJSON_IsString(v) || !((*out)[i] = cfg_arena_strdup(r->sw->arena, v->valuestring)))
            return DL_ERR;
    return DL_OK;
}

/* A trial's name is one directory under the sweep's: nothing that climbs
 * out of it. */
static int safe_name(const char *name)
{
    return name && name[0] && strlen(name) < 160 && !strchr(name, '/') && strcmp(name, ".") &&
           strcmp(name, "..");
}

static int read_trial(manifest_reader *r, const cJSON *obj, int k)
{
    sweep *sw = r->sw;
    sweep_trial *t = &sw->trials[k];
    char what[96];
    snprintf(what, sizeof what, "trials[%d] is incomplete or malformed", k);
    t->best_value = NAN;
    if (!cJSON_IsObject(obj) || get_int(obj, "index", 1, SWEEP_MAX_TRIALS, &t->index) ||
        !safe_name(t->name = get_string(r, obj, "name")) ||
        get_strings(r, obj, "overrides", &t->overrides, &t->noverrides) ||
        t->noverrides != sw->ndims)
        return bad(r, what);
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "status"));
    for (int s = TRIAL_PENDING; status && s <= TRIAL_INTERRUPTED; s++)
        if (!strcmp(status, sweep_status_name((trial_status)s)))
            t->status = s == TRIAL_RUNNING ? TRIAL_PENDING : (trial_status)s;
    const cJSON *seconds = cJSON_GetObjectItemCaseSensitive(obj, "seconds");
    t->seconds = cJSON_IsNumber(seconds) ? seconds->valuedouble : 0;
    if (get_int(obj, "exit_code", 0, 255, &t->exit_code))
        t->exit_code = 0;
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "error"));
    snprintf(t->error, sizeof t->error, "%s", error ? error : "");
    return DL_OK;
}

static int read_root(manifest_reader *r, const cJSON *root)
{
    sweep *sw = r->sw;
    const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "format"));
    if (!format || strcmp(format, MANIFEST_FORMAT))
        return bad(r, "no \"format\": \"" MANIFEST_FORMAT "\"");
    if (!(sw->config = get_string(r, root, "config")) || !(sw->cwd = get_string(r, root, "cwd")))
        return bad(r, "\"config\" or \"cwd\" is missing");
    if (get_strings(r, root, "set", &sw->set, &sw->nset))
        return bad(r, "\"set\" is not a list of overrides");
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(root, "dimensions");
    if (!cJSON_IsArray(dims) || cJSON_GetArraySize(dims) > SWEEP_MAX_DIMS)
        return bad(r, "\"dimensions\" is not a list");
    int i = 0;
    for (const cJSON *d = dims->child; d; d = d->next, i++) {
        const char *grid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "grid"));
        const char *random = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "random"));
        char where[4300];
        snprintf(where, sizeof where, "%s: dimensions[%d]", r->path, i);
        if (!grid && !random)
            return bad(r, "a dimension is neither grid nor random");
        if (sweep_add_dim(sw, !grid, grid ? grid : random, where, r->err))
            return DL_ERR;
    }
    int seed = 0;
    const char *monitor = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "monitor"));
    if (get_int(root, "draws", 1, SWEEP_MAX_TRIALS, &sw->draws) ||
        get_int(root, "seed", 0, 2147483647, &seed) ||
        get_int(root, "jobs", 1, SWEEP_MAX_JOBS, &sw->jobs) ||
        get_int(root, "threads", 1, 4096, &sw->threads) || !monitor)
        return bad(r, "draws, seed, jobs, threads or monitor is missing or out of range");
    sw->seed = (uint64_t)seed;
    snprintf(sw->monitor, sizeof sw->monitor, "%s", monitor);
    const cJSON *trials = cJSON_GetObjectItemCaseSensitive(root, "trials");
    sw->ntrials = cJSON_GetArraySize(trials);
    if (!cJSON_IsArray(trials) || sw->ntrials < 1 || sw->ntrials > SWEEP_MAX_TRIALS)
        return bad(r, "\"trials\" is not a list of trials");
    if (!(sw->trials = cfg_arena_alloc(sw->arena, sizeof(sweep_trial) * (size_t)sw->ntrials)))
        return dl_fail(r->err, DL_EXIT_FAIL, "out of memory");
    int k = 0;
    for (const cJSON *t = trials->child; t; t = t->next, k++)
        if (read_trial(r, t, k))
            return DL_ERR;
    for (k = 0; k < sw->ntrials; k++)
        for (int j = 0; j < k; j++)
            if (!strcmp(sw->trials[k].name, sw->trials[j].name))
                return bad(r, "two trials share a name");
    return DL_OK;
}

static char *read_text(const char *path, dl_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dl_fail(err, errno == ENOENT ? DL_EXIT_USAGE : DL_EXIT_FAIL, "cannot read %s: %s%s",
                path, strerror(errno),
                errno == ENOENT ? " (is it a directory dltrain sweep wrote?)" : "");
        return NULL;
    }
    long size = fseek(f, 0, SEEK_END) ? -1 : ftell(f);
    char *text = size >= 0 && size <= MANIFEST_MAX_BYTES ? malloc((size_t)size + 1) : NULL;
    int ok = text && fseek(f, 0, SEEK_SET) == 0 &&
             fread(text, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    if (!ok) {
        dl_fail(err, DL_EXIT_FAIL, "cannot read %s: %s", path,
                size > MANIFEST_MAX_BYTES ? "larger than 64 MiB"
                : size < 0                ? strerror(errno)
                                          : "read error or out of memory");
        free(text);
        return NULL;
    }
    text[size] = '\0';
    return text;
}

int sweep_read_manifest(sweep *sw, const char *dir, dl_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    char *text = read_text(path, err);
    if (!text)
        return DL_ERR;
    cJSON *root = cJSON_Parse(text);
    free(text);
    manifest_reader r = {sw, path, err};
    int rc = cJSON_IsObject(root) ? read_root(&r, root) : bad(&r, "not a JSON object");
    cJSON_Delete(root);
    if (rc == DL_OK)
        sweep_label_dims(sw);
    return rc;
}
