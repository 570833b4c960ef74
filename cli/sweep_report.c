/* sweep_report.c: what a sweep shows of its trials: the HParams experiment
 * at the sweep root (tensorboard-format.md §7.6) and, at the end, the
 * leaderboard on stderr, SWEEP_DIR/sweep.csv and the results on stdout
 * (one JSON object per trial and a summary with --json). Trials are
 * ranked by the monitor's best value, best first; trials without one
 * (interrupted, not run) follow, failed ones come last. */
#include "cli/sweep.h"

#include "cli/files.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the HParams experiment ------------------------------------------------- */

static int root_has_events(const char *dir)
{
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d));)
        found = !strncmp(e->d_name, "events.out.tfevents.", 20);
    if (d)
        closedir(d);
    return found;
}

static const sweep_dim *find_dim(const sweep *sw, const char *path)
{
    for (int i = 0; i < sw->ndims; i++)
        if (!strcmp(sw->dims[i].path, path))
            return &sw->dims[i];
    return NULL;
}

/* A swept column's domain: the range drawn from, or the listed values when
 * they all have the column's type. */
static void dim_domain(const sweep_dim *d, tb_hparam_info *info, const char **strings,
                       double *numbers)
{
    if (d->dist == SWEEP_UNIFORM || d->dist == SWEEP_LOGUNIFORM || d->dist == SWEEP_INT) {
        info->has_interval = info->type == TB_HPARAM_NUMBER;
        info->min_value = d->low;
        info->max_value = d->high;
        return;
    }
    if (d->nvalues > SWEEP_MAX_DOMAIN)
        return;
    for (int i = 0; i < d->nvalues; i++) {
        if (sweep_value_type(d->values[i]) != info->type)
            return;
        strings[i] = d->values[i];
        numbers[i] = strtod(d->values[i], NULL);
    }
    info->nchoices = info->type == TB_HPARAM_BOOL ? 0 : d->nvalues;
}

int sweep_write_experiment(const sweep *sw, dl_err *err)
{
    if (root_has_events(sw->dir))
        return DL_OK;
    tb_hparam_info infos[SWEEP_MAX_COLUMNS];
    const char *strings[SWEEP_MAX_COLUMNS][SWEEP_MAX_DOMAIN];
    double numbers[SWEEP_MAX_COLUMNS][SWEEP_MAX_DOMAIN];
    for (int c = 0; c < sw->ncolumns; c++) {
        const sweep_column *col = &sw->columns[c];
        tb_hparam_info *info = &infos[c];
        memset(info, 0, sizeof *info);
        info->name = col->name;
        info->type = col->type;
        info->string_choices = strings[c];
        info->number_choices = numbers[c];
        const sweep_dim *d = find_dim(sw, col->name);
        if (d) {
            dim_domain(d, info, strings[c], numbers[c]);
            continue;
        }
        for (int i = 0; i < col->nvalues; i++) {
            strings[c][i] = col->strings[i];
            numbers[c][i] = col->numbers[i];
        }
        info->nchoices = col->type == TB_HPARAM_BOOL || col->nvalues < 0 ? 0 : col->nvalues;
    }
    char tags[2 * SWEEP_MAX_METRICS][80];
    const char *tag_ptrs[2 * SWEEP_MAX_METRICS], *groups[2 * SWEEP_MAX_METRICS];
    int nmetrics = 0;
    for (int v = 0; v <= sw->has_validation; v++)
        for (int i = 0; i < sw->nmetrics; i++) {
            snprintf(tags[nmetrics], sizeof tags[0], "epoch_%s", sw->metrics[i]);
            tag_ptrs[nmetrics] = tags[nmetrics];
            groups[nmetrics++] = v ? "validation" : "train";
        }
    tb_writer *w = NULL;
    if (tb_open(&w, sw->dir, err) ||
        tb_hparams_experiment(w, infos, sw->ncolumns, tag_ptrs, groups, nmetrics, err)) {
        dl_err ignored;
        tb_close(w, &ignored);
        return DL_ERR;
    }
    return tb_close(w, err);
}

/* ---- ranking ------------------------------------------------------------------ */

static int rank_group(const sweep_trial *t)
{
    if (t->status == TRIAL_COMPLETED)
        return isnan(t->best_value) ? 1 : 0;
    return t->status == TRIAL_FAILED ? 3 : 2;
}

static int compare_trials(const void *pa, const void *pb, void *user)
{
    const sweep *sw = user;
    const sweep_trial *a = &sw->trials[*(const int *)pa], *b = &sw->trials[*(const int *)pb];
    int ga = rank_group(a), gb = rank_group(b);
    if (ga != gb)
        return ga - gb;
    if (ga == 0 && a->best_value != b->best_value)
        return (a->best_value < b->best_value) == !sw->maximize ? -1 : 1;
    return a->index - b->index;
}

/* ---- text building ------------------------------------------------------------- */

typedef struct out_buf {
    char *s;
    size_t len, cap;
    int failed;
} out_buf;

static void out_printf(out_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(out_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->failed || n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = 2 * (b->len + (size_t)n + 1);
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* RFC 4180: quoted when it holds a comma, a quote or a line break. */
static void csv_field(out_buf *b, const char *text, int first)
{
    if (!first)
        out_printf(b, ",");
    if (!strpbrk(text, ",\"\r\n")) {
        out_printf(b, "%s", text);
        return;
    }
    out_printf(b, "\"");
    for (const char *p = text; *p; p++)
        out_printf(b, *p == '"' ? "\"\"" : "%c", *p);
    out_printf(b, "\"");
}

/* The keys of one logs object (best, last or test) over all trials, in the
 * order first seen. */
typedef struct key_list {
    int n;
    char keys[2 * SWEEP_MAX_METRICS][72];
} key_list;

static void collect_keys(const sweep *sw, int which, key_list *k)
{
    k->n = 0;
    for (int t = 0; t < sw->ntrials; t++) {
        const sweep_trial *tr = &sw->trials[t];
        const cJSON *logs = which == 0 ? tr->best : which == 1 ? tr->last : tr->test;
        for (const cJSON *v = logs ? logs->child : NULL; v; v = v->next) {
            int known = 0;
            for (int i = 0; i < k->n; i++)
                known |= !strcmp(k->keys[i], v->string);
            if (!known && k->n < 2 * SWEEP_MAX_METRICS)
                snprintf(k->keys[k->n++], sizeof k->keys[0], "%s", v->string);
        }
    }
}

static const char *const log_prefixes[] = {"best_", "last_", "test_"};

static int write_csv(const sweep *sw, const int *order, dl_err *err)
{
    key_list keys[3];
    out_buf b = {0};
    const char *header[] = {"rank", "trial", "status", "exit_code", "seconds", "epochs",
                            "best_epoch"};
    for (int i = 0; i < 7; i++)
        csv_field(&b, header[i], i == 0);
    for (int i = 0; i < sw->ndims; i++)
        csv_field(&b, sw->dims[i].path, 0);
    for (int w = 0; w < 3; w++) {
        collect_keys(sw, w, &keys[w]);
        for (int i = 0; i < keys[w].n; i++)
            out_printf(&b, ",%s%s", log_prefixes[w], keys[w].keys[i]);
    }
    out_printf(&b, ",error\n");
    for (int r = 0; r < sw->ntrials; r++) {
        const sweep_trial *t = &sw->trials[order[r]];
        out_printf(&b, "%d,", r + 1);
        csv_field(&b, t->name, 1);
        out_printf(&b, ",%s,", sweep_status_name(t->status));
        if (t->status != TRIAL_PENDING)
            out_printf(&b, "%d,%.3f", t->exit_code, t->seconds);
        else
            out_printf(&b, ",");
        out_printf(&b, ",%d,%d", t->epochs, t->best_epoch);
        for (int i = 0; i < t->noverrides; i++)
            csv_field(&b, strchr(t->overrides[i], '=') + 1, 0);
        for (int w = 0; w < 3; w++) {
            const cJSON *logs = w == 0 ? t->best : w == 1 ? t->last : t->test;
            for (int i = 0; i < keys[w].n; i++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(logs, keys[w].keys[i]);
                out_printf(&b, ",");
                if (cJSON_IsNumber(v))
                    out_printf(&b, "%.10g", v->valuedouble);
            }
        }
        csv_field(&b, t->error, 0);
        out_printf(&b, "\n");
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.csv", sw->dir);
    int rc = b.failed ? dl_fail(err, DL_EXIT_FAIL, "out of memory")
                      : files_write_atomic(path, b.s, b.len, err);
    free(b.s);
    return rc;
}

/* ---- the leaderboard on stderr ------------------------------------------------ */

/* "label=value label=value" (values cut at 40 characters). */
static void overrides_text(const sweep *sw, const sweep_trial *t, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < t->noverrides; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s=%.40s", i ? " " : "", sw->dims[i].label,
                 strchr(t->overrides[i], '=') + 1);
    }
}

static void print_leaderboard(const sweep *sw, const int *order)
{
    int wide = 9;
    char text[1024], best[64];
    for (int k = 0; k < sw->ntrials; k++) {
        overrides_text(sw, &sw->trials[k], text, sizeof text);
        if ((int)strlen(text) > wide)
            wide = (int)strlen(text);
    }
    int id = (int)strcspn(sw->trials[0].name, "-");
    int id_width = id > 5 ? id : 5;
    int mon = (int)strlen(sw->monitor) > 10 ? (int)strlen(sw->monitor) : 10;
    fprintf(stderr, "\n%4s  %-*s  %-*s  %*s  %10s  %6s  %8s  %s\n", "rank", id_width, "trial", wide,
            "overrides", mon, sw->monitor, "best_epoch", "epochs", "seconds", "status");
    for (int r = 0; r < sw->ntrials; r++) {
        const sweep_trial *t = &sw->trials[order[r]];
        overrides_text(sw, t, text, sizeof text);
        if (isnan(t->best_value))
            snprintf(best, sizeof best, "-");
        else
            snprintf(best, sizeof best, "%.6g", t->best_value);
        fprintf(stderr, "%4d  %-*.*s  %-*s  %*s  %10d  %6d  %8.1f  %s", r + 1, id_width, id,
                t->name, wide, text, mon, best, t->best_epoch, t->epochs, t->seconds,
                sweep_status_name(t->status));
        if (t->status == TRIAL_FAILED)
            fprintf(stderr, " (exit %d)", t->exit_code);
        fprintf(stderr, "\n");
    }
    for (int r = 0; r < sw->ntrials; r++) {
        const sweep_trial *t = &sw->trials[order[r]];
        if (t->status == TRIAL_FAILED)
            fprintf(stderr, "%.*s failed: %s\n", id, t->name, t->error);
    }
}

/* ---- stdout ---------------------------------------------------------------------- */

static void print_json_line(cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);
    if (text)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(obj);
}

static void add_logs(cJSON *obj, const char *key, const cJSON *logs)
{
    if (logs)
        cJSON_AddItemToObject(obj, key, cJSON_Duplicate(logs, 1));
}

static cJSON *trial_result(const sweep *sw, const sweep_trial *t, int rank)
{
    char dir[4400];
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "rank", rank);
    cJSON_AddStringToObject(obj, "trial", t->name);
    cJSON_AddNumberToObject(obj, "index", t->index);
    cJSON_AddStringToObject(obj, "status", sweep_status_name(t->status));
    cJSON *overrides = cJSON_AddObjectToObject(obj, "overrides");
    for (int i = 0; overrides && i < t->noverrides; i++)
        cJSON_AddItemToObject(overrides, sw->dims[i].path,
                              sweep_value_json(strchr(t->overrides[i], '=') + 1));
    if (t->status != TRIAL_PENDING) {
        cJSON_AddNumberToObject(obj, "exit_code", t->exit_code);
        cJSON_AddNumberToObject(obj, "seconds", t->seconds);
    }
    cJSON_AddNumberToObject(obj, "epochs", t->epochs);
    cJSON_AddStringToObject(obj, "monitor", sw->monitor);
    if (!isnan(t->best_value)) {
        cJSON_AddNumberToObject(obj, "best_value", t->best_value);
        cJSON_AddNumberToObject(obj, "best_epoch", t->best_epoch);
    }
    add_logs(obj, "best", t->best);
    add_logs(obj, "last", t->last);
    add_logs(obj, "test", t->test);
    cJSON_AddStringToObject(obj, "run_dir", sweep_trial_dir(sw, t, dir, sizeof dir));
    if (t->model)
        cJSON_AddStringToObject(obj, "model", t->model);
    if (t->error[0])
        cJSON_AddStringToObject(obj, "error", t->error);
    return obj;
}

static void print_results(const sweep *sw, const int *order, const char *status)
{
    const sweep_trial *best = rank_group(&sw->trials[order[0]]) == 0 ? &sw->trials[order[0]]
                                                                      : NULL;
    char path[4200];
    if (!sw->json) {
        printf("sweep: %s\nresults: %s/sweep.csv\n", sw->dir, sw->dir);
        if (best)
            printf("best: %s (%s %.6g, epoch %d)\nmodel: %s\n", best->name, sw->monitor,
                   best->best_value, best->best_epoch, best->model ? best->model : "-");
        return;
    }
    for (int r = 0; r < sw->ntrials; r++)
        print_json_line(trial_result(sw, &sw->trials[order[r]], r + 1));
    int counts[TRIAL_INTERRUPTED + 1] = {0};
    for (int k = 0; k < sw->ntrials; k++)
        counts[sw->trials[k].status]++;
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "status", status);
    cJSON_AddNumberToObject(obj, "trials", sw->ntrials);
    for (int s = TRIAL_PENDING; s <= TRIAL_INTERRUPTED; s++)
        if (s != TRIAL_RUNNING)
            cJSON_AddNumberToObject(obj, sweep_status_name((trial_status)s), counts[s]);
    cJSON_AddStringToObject(obj, "monitor", sw->monitor);
    cJSON_AddStringToObject(obj, "mode", sw->maximize ? "max" : "min");
    if (best) {
        cJSON_AddStringToObject(obj, "best_trial", best->name);
        cJSON_AddNumberToObject(obj, "best_value", best->best_value);
        if (best->model)
            cJSON_AddStringToObject(obj, "best_model", best->model);
    }
    cJSON_AddStringToObject(obj, "sweep_dir", sw->dir);
    snprintf(path, sizeof path, "%s/sweep.csv", sw->dir);
    cJSON_AddStringToObject(obj, "csv", path);
    snprintf(path, sizeof path, "%s/sweep.json", sw->dir);
    cJSON_AddStringToObject(obj, "manifest", path);
    print_json_line(obj);
}

int sweep_report(const sweep *sw, const char *status, dl_err *err)
{
    int *order = malloc(sizeof(int) * (size_t)sw->ntrials);
    if (!order)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (int k = 0; k < sw->ntrials; k++)
        order[k] = k;
    qsort_r(order, (size_t)sw->ntrials, sizeof *order, compare_trials, (void *)sw);
    if (!sw->quiet)
        print_leaderboard(sw, order);
    print_results(sw, order, status);
    fflush(stdout);
    int rc = write_csv(sw, order, err);
    free(order);
    return rc;
}
