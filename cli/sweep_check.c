/* sweep_check.c: every trial's config is loaded, and its model built and
 * compiled, in this process before any trial runs (what `dltrain check`
 * does), so a value that cannot work stops the sweep with exit 2 instead
 * of failing trial after trial. The same pass gathers what the HParams
 * experiment lists: the hparams each trial's run will record (cli/runinfo.c
 * names them) and the metric keys its logs will have. */
#include "cli/sweep.h"

#include "cli/runinfo.h"
#include "cli/session.h"
#include "engine/callbacks.h"

#include <stdio.h>
#include <string.h>

/* Builds what `dltrain check` builds; the caller closes s. */
static int load_session(session *s, const char *config, const char *const *overrides, int n,
                        dl_err *err)
{
    return session_load_config(s, config, overrides, n, err) || session_shape_backend(s, err) ||
           session_model(s, 0, err) || session_compile(s, err);
}

/* The loss and metric keys of the logs (without "val_"). */
static void gather_metrics(sweep *sw, session *s)
{
    train_logs logs;
    logs_clear(&logs);
    trainer_begin_pass(&s->t);
    trainer_pass_logs(&s->t, "", &logs);
    for (int i = 0; i < logs.n; i++) {
        int known = 0;
        for (int j = 0; j < sw->nmetrics; j++)
            known |= !strcmp(sw->metrics[j], logs.keys[i]);
        if (!known && sw->nmetrics < SWEEP_MAX_METRICS)
            snprintf(sw->metrics[sw->nmetrics++], sizeof sw->metrics[0], "%s", logs.keys[i]);
    }
    sw->has_validation |= s->cfg.data.validation.kind || s->cfg.data.validation_split > 0;
}

static void add_column_value(sweep_column *c, const tb_hparam *h)
{
    if (c->nvalues < 0 || h->type != c->type || h->type == TB_HPARAM_BOOL)
        return;
    for (int i = 0; i < c->nvalues; i++)
        if (h->type == TB_HPARAM_NUMBER ? c->numbers[i] == h->number_value
                                        : !strcmp(c->strings[i], h->string_value))
            return;
    if (c->nvalues == SWEEP_MAX_DOMAIN) {
        c->nvalues = -1;
        return;
    }
    if (h->type == TB_HPARAM_NUMBER)
        c->numbers[c->nvalues] = h->number_value;
    else
        snprintf(c->strings[c->nvalues], sizeof c->strings[0], "%s", h->string_value);
    c->nvalues++;
}

static void gather_columns(sweep *sw, const run_hparams *h)
{
    for (int i = 0; i < h->n; i++) {
        int c = 0;
        while (c < sw->ncolumns && strcmp(sw->columns[c].name, h->v[i].name))
            c++;
        if (c == SWEEP_MAX_COLUMNS)
            continue;
        if (c == sw->ncolumns) {
            sweep_column *col = &sw->columns[sw->ncolumns++];
            memset(col, 0, sizeof *col);
            snprintf(col->name, sizeof col->name, "%s", h->v[i].name);
            col->type = h->v[i].type;
        }
        add_column_value(&sw->columns[c], &h->v[i]);
    }
}

int sweep_check_base(sweep *sw, char *name, size_t name_len, char *runs_dir,
                     size_t runs_dir_len, int *seed, dl_err *err)
{
    session s = {0};
    int rc = load_session(&s, sw->config, (const char *const *)sw->set, sw->nset, err);
    if (rc == DL_OK) {
        snprintf(name, name_len, "%s", s.cfg.name);
        snprintf(runs_dir, runs_dir_len, "%s", s.cfg.runs_dir);
        *seed = s.cfg.seed;
        gather_metrics(sw, &s);
    }
    session_close(&s);
    return rc;
}

int sweep_set_monitor(sweep *sw, const char *where, dl_err *err)
{
    if (!sw->monitor[0])
        snprintf(sw->monitor, sizeof sw->monitor, "%s", sw->has_validation ? "val_loss" : "loss");
    const char *key = sw->monitor;
    if (sw->has_validation && !strncmp(key, "val_", 4))
        key += 4;
    for (int i = 0; i < sw->nmetrics; i++)
        if (!strcmp(sw->metrics[i], key)) {
            sw->maximize = cb_mode_is_max(0 /* mode auto */, sw->monitor);
            return DL_OK;
        }
    char known[1024] = "";
    for (int v = 0; v <= sw->has_validation; v++)
        for (int i = 0; i < sw->nmetrics; i++) {
            size_t used = strlen(known);
            snprintf(known + used, sizeof known - used, "%s%s%s", used ? ", " : "",
                     v ? "val_" : "", sw->metrics[i]);
        }
    return dl_fail(err, DL_EXIT_USAGE, "%s: '%s' is not a metric of this config's runs (%s)",
                   where, sw->monitor, known);
}

/* A config error caused by one of the trial's overrides starts with
 * "--set PATH=VALUE: " (configs/tree.h); it is told again from where the
 * dimension was written. Any other error names the trial. */
static void explain(const sweep *sw, const sweep_trial *t, dl_err *err)
{
    for (int i = 0; i < t->noverrides; i++) {
        char prefix[SWEEP_MAX_VALUE + 300];
        int len = snprintf(prefix, sizeof prefix, "--set %s: ", t->overrides[i]);
        if (strncmp(err->msg, prefix, (size_t)len))
            continue;
        memmove(err->msg, err->msg + len, strlen(err->msg + len) + 1);
        dl_err_prefix(err, "%s", sw->dims[i].where);
        return;
    }
    dl_err_prefix(err, "sweep trial %s", t->name);
}

int sweep_check_trials(sweep *sw, dl_err *err)
{
    int n = sw->nset + sw->ndims;
    const char **overrides = cfg_arena_alloc(sw->arena, sizeof(char *) * (size_t)(n + 1));
    if (!overrides)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    memcpy(overrides, sw->set, sizeof(char *) * (size_t)sw->nset);
    for (int k = 0; k < sw->ntrials; k++) {
        const sweep_trial *t = &sw->trials[k];
        memcpy(overrides + sw->nset, t->overrides, sizeof(char *) * (size_t)t->noverrides);
        session s = {0};
        int rc = load_session(&s, sw->config, overrides, n, err);
        if (rc == DL_OK) {
            run_hparams h;
            runinfo_hparams(&s, overrides, n, &h);
            gather_columns(sw, &h);
            gather_metrics(sw, &s);
        } else {
            explain(sw, t, err);
        }
        session_close(&s);
        if (rc)
            return DL_ERR;
    }
    return DL_OK;
}
