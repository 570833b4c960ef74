/* cb_files.c: the callbacks that write files: ModelCheckpoint (path
 * templates such as "model.{epoch:02d}-{val_loss:.2f}.safetensors") and
 * CSVLogger. Relative paths are inside the run directory. */
#include "engine/callbacks.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const mode_names[] = {"auto", "min", "max", NULL};

/* Creates the directories leading to a file path. */
static int make_parents(const char *path, dl_err *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) && errno != EEXIST)
            return dl_fail(err, DL_EXIT_FAIL, "cannot create directory %s: %s", dir,
                           strerror(errno));
        *p = '/';
    }
    return DL_OK;
}

/* A format spec we pass to printf: [width][.precision][d|f|e|g]. */
static int valid_spec(const char *spec)
{
    const char *p = spec;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p && strchr("dfeg", *p))
        p++;
    return *p == '\0' && p - spec < 8;
}

/* Python-style "{name}" / "{name:spec}" with spec [0][width]d or .N[feg]:
 * epoch is 1-based, other names come from the logs. */
static int format_path(const char *tpl, int epoch, const train_logs *logs, char *out, size_t n,
                       dl_err *err)
{
    size_t used = 0;
    for (const char *p = tpl; *p && used + 1 < n;) {
        if (*p != '{') {
            out[used++] = *p++;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close)
            return dl_fail(err, DL_EXIT_USAGE, "ModelCheckpoint filepath '%s': unclosed '{'",
                           tpl);
        char field[128], spec[32] = "", fmt[48];
        snprintf(field, sizeof field, "%.*s", (int)(close - p - 1), p + 1);
        char *colon = strchr(field, ':');
        if (colon) {
            snprintf(spec, sizeof spec, "%s", colon + 1);
            *colon = '\0';
        }
        if (!valid_spec(spec))
            return dl_fail(err, DL_EXIT_USAGE,
                           "ModelCheckpoint filepath '%s': unsupported format '%s' (use e.g. "
                           "02d, .4f, .2e)",
                           tpl, spec);
        double value;
        int is_int = !strcmp(field, "epoch");
        if (is_int)
            value = epoch + 1;
        else if (logs_get(logs, field, &value))
            return dl_fail(err, DL_EXIT_USAGE,
                           "ModelCheckpoint filepath '%s': no value named '%s' in the logs",
                           tpl, field);
        /* spec = width/precision flags, then an optional conversion */
        size_t len = strlen(spec);
        char kind = len && strchr("dfeg", spec[len - 1]) ? spec[--len] : is_int ? 'd' : 'g';
        spec[len] = '\0';
        if (kind == 'd') {
            snprintf(fmt, sizeof fmt, "%%%slld", spec);
            used += (size_t)snprintf(out + used, n - used, fmt, (long long)value);
        } else {
            snprintf(fmt, sizeof fmt, "%%%s%c", spec, kind);
            used += (size_t)snprintf(out + used, n - used, fmt, value);
        }
        if (used >= n)
            return dl_fail(err, DL_EXIT_USAGE, "ModelCheckpoint filepath '%s' is too long", tpl);
        p = close + 1;
    }
    out[used < n ? used : n - 1] = '\0';
    return DL_OK;
}

/* ---- ModelCheckpoint ---- */

typedef struct checkpoint_args {
    char *filepath;
    char *monitor;
    int verbose, save_best_only, mode;
    double initial_value_threshold; /* NAN: none */
} checkpoint_args;

typedef struct checkpoint_state {
    int maximize, warned;
    double best;
} checkpoint_state;

static const dl_arg checkpoint_table[] = {
    {"filepath", DL_ARG_STRING, offsetof(checkpoint_args, filepath), "checkpoint.safetensors", 0,
     0, 0, NULL, 0, NULL, NULL},
    {"monitor", DL_ARG_STRING, offsetof(checkpoint_args, monitor), "val_loss", 0, 0, 0, NULL, 0,
     NULL, NULL},
    {"verbose", DL_ARG_INT, offsetof(checkpoint_args, verbose), "0", 0, 2, 0, NULL, 0, NULL, NULL},
    {"save_best_only", DL_ARG_BOOL, offsetof(checkpoint_args, save_best_only), "false", 0, 0, 0,
     NULL, 0, NULL, NULL},
    {"mode", DL_ARG_ENUM, offsetof(checkpoint_args, mode), "auto", 0, 0, 0, mode_names, 0, NULL,
     NULL},
    {"initial_value_threshold", DL_ARG_FLOAT, offsetof(checkpoint_args, initial_value_threshold),
     "null", 0, 0, DL_ARG_NULLABLE, NULL, 0, NULL, NULL},
    {0},
};

static int checkpoint_train_begin(callback *c, fit_ctx *f, dl_err *err)
{
    const checkpoint_args *a = c->args;
    checkpoint_state *s = c->state;
    s->maximize = cb_mode_is_max(a->mode, a->monitor);
    s->best = !isnan(a->initial_value_threshold) ? a->initial_value_threshold
              : s->maximize                      ? -INFINITY
                                                 : INFINITY;
    (void)f;
    (void)err;
    return DL_OK;
}

static int checkpoint_epoch_end(callback *c, fit_ctx *f, train_logs *logs, dl_err *err)
{
    const checkpoint_args *a = c->args;
    checkpoint_state *s = c->state;
    char name[4096], path[4096];
    if (format_path(a->filepath, f->epoch, logs, name, sizeof name, err))
        return DL_ERR;
    cb_path(f, name, path, sizeof path);
    if (a->save_best_only) {
        double current;
        if (logs_get(logs, a->monitor, &current)) {
            if (!s->warned)
                fprintf(f->msg, "Can save best model only with %s available, skipping.\n",
                        a->monitor);
            s->warned = 1;
            return DL_OK;
        }
        int better = s->maximize ? current > s->best : current < s->best;
        if (!better) {
            if (a->verbose > 0)
                fprintf(f->msg, "\nEpoch %d: %s did not improve from %.5f\n", f->epoch + 1,
                        a->monitor, s->best);
            return DL_OK;
        }
        if (a->verbose > 0)
            fprintf(f->msg, "\nEpoch %d: %s improved from %.5f to %.5f, saving model to %s\n",
                    f->epoch + 1, a->monitor, s->best, current, path);
        s->best = current;
    } else if (a->verbose > 0) {
        fprintf(f->msg, "\nEpoch %d: saving model to %s\n", f->epoch + 1, path);
    }
    if (make_parents(path, err))
        return DL_ERR;
    return f->save(f->saver, path, err);
}

static int checkpoint_save(const callback *c, ckpt *k, const char *prefix)
{
    char name[160];
    snprintf(name, sizeof name, "%sbest", prefix);
    return ckpt_put_number(k, name, ((const checkpoint_state *)c->state)->best);
}

static int checkpoint_load(callback *c, const ckpt *k, const char *prefix, dl_err *err)
{
    char name[160];
    snprintf(name, sizeof name, "%sbest", prefix);
    return ckpt_get_number(k, name, &((checkpoint_state *)c->state)->best, err);
}

const cb_kind cb_model_checkpoint = {
    .base = {"ModelCheckpoint", NULL, NULL, checkpoint_table, sizeof(checkpoint_args), NULL},
    .state_size = sizeof(checkpoint_state),
    .train_begin = checkpoint_train_begin,
    .epoch_end = checkpoint_epoch_end,
    .save_state = checkpoint_save,
    .load_state = checkpoint_load,
};

/* ---- CSVLogger ---- */

typedef struct csv_args {
    char *filename, *separator;
    int append;
} csv_args;

typedef struct csv_state {
    FILE *out;
    int wrote_header;
    char path[4096];
} csv_state;

static int csv_check(const void *args, char *why, size_t n)
{
    const csv_args *a = args;
    if (strlen(a->separator) != 1) {
        snprintf(why, n, "separator must be one character, got \"%s\"", a->separator);
        return DL_ERR;
    }
    return DL_OK;
}

static const dl_arg csv_table[] = {
    {"filename", DL_ARG_STRING, offsetof(csv_args, filename), "history.csv", 0, 0, 0, NULL, 0,
     NULL, NULL},
    {"separator", DL_ARG_STRING, offsetof(csv_args, separator), "\",\"", 0, 0, 0, NULL, 0, NULL,
     NULL},
    {"append", DL_ARG_BOOL, offsetof(csv_args, append), "false", 0, 0, 0, NULL, 0, NULL, NULL},
    {0},
};

static int csv_train_begin(callback *c, fit_ctx *f, dl_err *err)
{
    const csv_args *a = c->args;
    csv_state *s = c->state;
    cb_path(f, a->filename, s->path, sizeof s->path);
    if (make_parents(s->path, err))
        return DL_ERR;
    /* a resumed run continues its own history */
    int append = a->append || f->resumed;
    struct stat st;
    s->wrote_header = append && stat(s->path, &st) == 0 && st.st_size > 0;
    if (!(s->out = fopen(s->path, append ? "a" : "w")))
        return dl_fail(err, DL_EXIT_FAIL, "CSVLogger: cannot open %s: %s", s->path,
                       strerror(errno));
    return DL_OK;
}

/* The shortest text that reads back as the same double (Python's repr). */
static void repr_double(double v, char *buf, size_t n)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, n, "%.*g", digits, v);
        if (strtod(buf, NULL) == v || isnan(v))
            return;
    }
}

static int csv_epoch_end(callback *c, fit_ctx *f, train_logs *logs, dl_err *err)
{
    const csv_args *a = c->args;
    csv_state *s = c->state;
    char sep = a->separator[0], value[40];
    if (!s->wrote_header) {
        fprintf(s->out, "epoch");
        for (int i = 0; i < logs->n; i++)
            fprintf(s->out, "%c%s", sep, logs->keys[i]);
        fputc('\n', s->out);
        s->wrote_header = 1;
    }
    fprintf(s->out, "%d", f->epoch);
    for (int i = 0; i < logs->n; i++) {
        repr_double(logs->values[i], value, sizeof value);
        fprintf(s->out, "%c%s", sep, value);
    }
    fputc('\n', s->out);
    if (fflush(s->out))
        return dl_fail(err, DL_EXIT_FAIL, "CSVLogger: cannot write %s: %s", s->path,
                       strerror(errno));
    return DL_OK;
}

static int csv_train_end(callback *c, fit_ctx *f, dl_err *err)
{
    csv_state *s = c->state;
    int rc = s->out && fclose(s->out) ? DL_ERR : DL_OK;
    s->out = NULL;
    (void)f;
    if (rc)
        return dl_fail(err, DL_EXIT_FAIL, "CSVLogger: cannot close %s: %s", s->path,
                       strerror(errno));
    return DL_OK;
}

static void csv_release(callback *c)
{
    csv_state *s = c->state;
    if (s->out)
        fclose(s->out);
}

const cb_kind cb_csv_logger = {
    .base = {"CSVLogger", NULL, NULL, csv_table, sizeof(csv_args), csv_check},
    .state_size = sizeof(csv_state),
    .train_begin = csv_train_begin,
    .epoch_end = csv_epoch_end,
    .train_end = csv_train_end,
    .release = csv_release,
};
