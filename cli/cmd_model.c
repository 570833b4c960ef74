/* cmd_model.c: commands on a saved model: evaluate and predict. */
#include "cli/commands.h"

#include "cli/modelio.h"
#include "cli/observer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_evaluate(int argc, char **argv)
{
    cli_args a;
    dl_err err = {0};
    if (cli_parse("evaluate", argc, argv, 2, "data set threads json quiet verbose", &a, &err))
        return cli_report(&err);
    if (a.npositional != 1)
        return cli_usage("evaluate", "expected one MODEL file");
    session s = {0};
    dl_config data_cfg = {0};
    int have_data_cfg = 0, rc = DL_ERR;
    const dl_kind_ref *source = NULL;
    if (modelio_load(&s, a.positional[0], a.overrides, a.noverrides, a.threads, &err) ||
        session_compile(&s, &err))
        goto done;
    source = &s.cfg.data.test;
    if (a.data) {
        if (config_load(a.data, NULL, 0, &data_cfg, &err))
            goto done;
        have_data_cfg = 1;
        source = &data_cfg.data.test;
    }
    if (!source->kind) {
        dl_fail(&err, DL_EXIT_USAGE,
                "%s names no data.test to evaluate on; pass --data CONFIG or "
                "--set data.test.images=... (or .path=...)",
                a.data ? a.data : a.positional[0]);
        goto done;
    }
    if (session_eval_data(&s, source, "data.test", &err))
        goto done;
    cli_observer obs;
    cli_observer_init(&obs, cli_verbosity(&a, s.cfg.fit.verbose), 0, "loss");
    s.t.obs = &obs.hooks;
    train_logs logs;
    logs_clear(&logs);
    if (trainer_evaluate(&s.t, &s.test.src, "", &logs)) {
        trainer_device_status(&s.t, &err);
        goto done;
    }
    if (a.json)
        cli_print_json_logs(stdout, -1, &logs);
    else
        for (int i = 0; i < logs.n; i++)
            printf("%s: %.6g\n", logs.keys[i], logs.values[i]);
    rc = DL_OK;
done:
    if (have_data_cfg)
        config_free(&data_cfg);
    session_close(&s);
    return rc ? cli_report(&err) : DL_EXIT_OK;
}

/* The first n bytes of a file (fewer if it is shorter or unreadable):
 * how many were read. */
static size_t file_head(const char *path, unsigned char *head, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(head, 1, n, f);
    fclose(f);
    return got;
}

/* IDX (raw or gzip) by its first bytes, CSV otherwise. */
static int looks_like_idx(const char *path)
{
    unsigned char head[4];
    return file_head(path, head, sizeof head) == 4 &&
           ((head[0] == 0x1f && head[1] == 0x8b) ||
            (head[0] == 0 && head[1] == 0 && head[2] >= 0x08 && head[2] <= 0x0e));
}

/* The input as a data source: IDX images, or CSV read like the training
 * CSV (same feature columns). */
static int open_input(const session *s, const char *path, ds_dataset *d, dl_err *err)
{
    ds_idx_args idx = {(char *)path, NULL};
    ds_csv_args csv = {(char *)path, NULL, {0, NULL}, 1, (char *)","};
    dl_kind_ref ref = {&ds_idx_kind, &idx, NULL, NULL};
    if (!looks_like_idx(path)) {
        if (s->cfg.data.train.kind == &ds_csv_kind) {
            csv = *(const ds_csv_args *)s->cfg.data.train.args;
            csv.path = (char *)path;
        }
        ref = (dl_kind_ref){&ds_csv_kind, &csv, NULL, NULL};
    }
    if (ds_open(&ref, DS_NO_LABELS, d, err))
        return DL_ERR;
    size_t want = dl_shape_size(&s->m.input_shape);
    if (d->sample_size != want)
        return dl_fail(err, DL_EXIT_FAIL, "%s: samples have %zu values, the model takes %zu",
                       path, d->sample_size, want);
    return DL_OK;
}

static void write_header(FILE *out, const session *s, int cols, int classify)
{
    for (int k = 0; k < cols; k++) {
        const char *name = session_class_name(s, k);
        if (!classify)
            fprintf(out, "%sprediction_%d", k ? "," : "", k);
        else if (name)
            fprintf(out, "%s\"%s\"", k ? "," : "", name);
        else
            fprintf(out, "%sclass_%d", k ? "," : "", k);
    }
    fprintf(out, classify ? ",class\n" : "\n");
}

/* Writes one CSV row per sample: the outputs, then the predicted class. */
static int predict_file(session *s, const char *path, FILE *out, int header, dl_err *err)
{
    ds_dataset d = {0};
    ds_batcher b = {0};
    model *m = &s->m;
    const dl_shape *shape = model_output_shape(m);
    int cols = (int)dl_shape_size(shape);
    int classify = s->t.loss.classification;
    int rc = DL_ERR;
    float *probs = malloc((size_t)s->t.batch_cap * (size_t)cols * sizeof(float));
    if (!probs) {
        dl_fail(err, DL_EXIT_FAIL, "out of memory");
        goto done;
    }
    if (open_input(s, path, &d, err) ||
        ds_batcher_init(&b, &d, 0, d.n, s->t.batch_cap, (float)s->cfg.data.rescale, 0, 0, 0,
                        err))
        goto done;
    if (header)
        write_header(out, s, cols, classify);
    ds_batcher_epoch(&b, 0);
    ly_ctx ctx = {0, 0};
    for (int rows; (rows = ds_batcher_next(&b, s->t.x_host, NULL)) > 0;) {
        m->be->upload(m->be, m->acts[0], s->t.x_host,
                      (size_t)rows * dl_shape_size(&m->input_shape));
        m->be->download(m->be, probs, model_forward(m, rows, &ctx), (size_t)rows * cols);
        for (int r = 0; r < rows; r++) {
            const float *p = probs + (size_t)r * cols;
            int best = 0;
            for (int k = 0; k < cols; k++) {
                fprintf(out, "%s%.6g", k ? "," : "", p[k]);
                best = p[k] > p[best] ? k : best;
            }
            if (classify && cols == 1)
                best = p[0] > 0.5f;
            if (classify && session_class_name(s, best))
                fprintf(out, ",\"%s\"", session_class_name(s, best));
            else if (classify)
                fprintf(out, ",%d", best);
            fputc('\n', out);
        }
    }
    rc = DL_OK;
done:
    free(probs);
    ds_batcher_free(&b);
    ds_free(&d);
    return rc;
}

static int is_png(const char *path)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    return file_head(path, head, sizeof head) == sizeof head &&
           !memcmp(head, signature, sizeof head);
}

/* Writes "image.png: Sneaker 0.9731, Sandal 0.0212, Bag 0.0040" (the top
 * three classes by probability, names from the model's class_names). */
static void print_top_classes(FILE *out, const session *s, const char *path, const float *p,
                              int cols)
{
    int shown[3] = {-1, -1, -1};
    fprintf(out, "%s:", path);
    for (int rank = 0; rank < 3 && rank < cols; rank++) {
        int best = -1;
        for (int k = 0; k < cols; k++)
            if (k != shown[0] && k != shown[1] && (best < 0 || p[k] > p[best]))
                best = k;
        shown[rank] = best;
        const char *name = session_class_name(s, best);
        if (name)
            fprintf(out, "%s %s %.4f", rank ? "," : "", name, p[best]);
        else
            fprintf(out, "%s class_%d %.4f", rank ? "," : "", best, p[best]);
    }
    fputc('\n', out);
}

/* PNG inputs: decoded and resized to the model's [h, w, c] input like the
 * training images, in batches. */
static int predict_images(session *s, char *const *paths, int n, FILE *out, dl_err *err)
{
    model *m = &s->m;
    const dl_shape *in = &m->input_shape;
    int cols = (int)dl_shape_size(model_output_shape(m));
    if (in->ndim != 3 || in->dim[2] < 1 || in->dim[2] > 4)
        return dl_fail(err, DL_EXIT_USAGE,
                       "%s: the model's input_shape is not [height, width, 1..4 channels]; "
                       "it does not take images",
                       paths[0]);
    size_t size = dl_shape_size(in);
    uint8_t *pixels = malloc(size);
    float *probs = malloc((size_t)s->t.batch_cap * (size_t)cols * sizeof(float));
    int rc = pixels && probs ? DL_OK : dl_fail(err, DL_EXIT_FAIL, "out of memory");
    ly_ctx ctx = {0, 0};
    for (int first = 0; rc == DL_OK && first < n; first += s->t.batch_cap) {
        int rows = n - first < s->t.batch_cap ? n - first : s->t.batch_cap;
        for (int r = 0; r < rows && rc == DL_OK; r++) {
            rc = ds_load_image(paths[first + r], in->dim[2], in->dim[0], in->dim[1], pixels, err);
            for (size_t i = 0; rc == DL_OK && i < size; i++)
                s->t.x_host[(size_t)r * size + i] = pixels[i] * (float)s->cfg.data.rescale;
        }
        if (rc)
            break;
        m->be->upload(m->be, m->acts[0], s->t.x_host, (size_t)rows * size);
        m->be->download(m->be, probs, model_forward(m, rows, &ctx), (size_t)rows * cols);
        for (int r = 0; r < rows; r++)
            print_top_classes(out, s, paths[first + r], probs + (size_t)r * cols, cols);
    }
    free(pixels);
    free(probs);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    cli_args a;
    dl_err err = {0};
    if (cli_parse("predict", argc, argv, 2, "output set threads", &a, &err))
        return cli_report(&err);
    if (a.npositional < 2)
        return cli_usage("predict", "expected a MODEL file and at least one INPUT");
    session s = {0};
    FILE *out = stdout;
    int rc = DL_ERR;
    if (modelio_load(&s, a.positional[0], a.overrides, a.noverrides, a.threads, &err) ||
        session_compile(&s, &err))
        goto done;
    if (a.output && !(out = fopen(a.output, "w"))) {
        out = stdout;
        dl_fail(&err, DL_EXIT_FAIL, "cannot write %s", a.output);
        goto done;
    }
    rc = DL_OK;
    if (is_png(a.positional[1]))
        rc = predict_images(&s, (char *const *)a.positional + 1, a.npositional - 1, out, &err);
    else
        for (int i = 1; i < a.npositional && rc == DL_OK; i++)
            rc = predict_file(&s, a.positional[i], out, i == 1, &err);
    if (fflush(out) && rc == DL_OK)
        rc = dl_fail(&err, DL_EXIT_FAIL, "cannot write %s", a.output ? a.output : "stdout");
done:
    if (out != stdout)
        fclose(out);
    session_close(&s);
    return rc ? cli_report(&err) : DL_EXIT_OK;
}
