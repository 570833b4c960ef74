/* cmd_info.c: commands that describe without training: summary and check. */
#include "cli/commands.h"

#include "cli/modelio.h"
#include "cli/progress.h"
#include "cli/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* A .safetensors file is a model, anything else a config. */
static int is_model_file(const char *path)
{
    size_t len = strlen(path);
    return len > 12 && !strcmp(path + len - 12, ".safetensors");
}

/* Keras: 88 columns when the terminal has at least 92, else 76. */
static int summary_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 92)
        return 88;
    return 76;
}

static void print_summary(const model *m)
{
    summary_row *rows = calloc((size_t)m->nlayers + 1, sizeof *rows);
    char (*shapes)[96] = calloc((size_t)m->nlayers + 1, sizeof *shapes);
    long long trainable = 0, frozen = 0;
    if (!rows || !shapes) {
        free(rows);
        free(shapes);
        return;
    }
    for (int i = 0; i < m->nlayers; i++) {
        const ly_layer *l = &m->layers[i];
        long long params = 0;
        for (int j = 0; j < l->nparams; j++) {
            long long n = (long long)dl_shape_size(&l->params[j].shape);
            params += n;
            if (l->params[j].trainable)
                trainable += n;
            else
                frozen += n;
        }
        dl_shape_format(&l->out, shapes[i], sizeof shapes[i]);
        rows[i] = (summary_row){l->name, l->kind->base.name, shapes[i], params};
    }
    summary_print(stdout, m->name, rows, m->nlayers, trainable, frozen, -1, summary_width());
    free(rows);
    free(shapes);
}

int cmd_summary(int argc, char **argv)
{
    cli_args a;
    dl_err err = {0};
    if (cli_parse("summary", argc, argv, 2, "set", &a, &err))
        return cli_report(&err);
    if (a.npositional != 1)
        return cli_usage("summary", "expected one CONFIG or MODEL file");
    session s = {0};
    int rc;
    if (is_model_file(a.positional[0])) {
        a.overrides[a.noverrides++] = "device=cpu"; /* only shapes are needed */
        rc = modelio_load(&s, a.positional[0], a.overrides, a.noverrides, 1, &err);
    }
    else
        rc = session_load_config(&s, a.positional[0], a.overrides, a.noverrides, &err) ||
             session_shape_backend(&s, &err) || session_model(&s, 0, &err);
    if (rc == DL_OK)
        print_summary(&s.m);
    session_close(&s);
    return rc ? cli_report(&err) : DL_EXIT_OK;
}

int cmd_check(int argc, char **argv)
{
    cli_args a;
    dl_err err = {0};
    if (cli_parse("check", argc, argv, 2, "set seed device", &a, &err))
        return cli_report(&err);
    if (a.npositional != 1)
        return cli_usage("check", "expected one CONFIG file");
    session s = {0};
    int rc = session_load_config(&s, a.positional[0], a.overrides, a.noverrides, &err) ||
             session_shape_backend(&s, &err) || session_model(&s, 0, &err) ||
             session_compile(&s, &err);
    if (rc == DL_OK && s.cfg.has_sweep) {
        int ntrials = 0;
        rc = sweep_check_config(a.positional[0], a.overrides, a.noverrides, &ntrials, &err);
        if (rc == DL_OK)
            fprintf(stderr, "sweep: %d trial%s, each one's config, model and compile checked\n",
                    ntrials, ntrials == 1 ? "" : "s");
    }
    if (rc == DL_OK) {
        char *text = config_emit(&s.cfg);
        if (text)
            fputs(text, stdout);
        free(text);
    }
    session_close(&s);
    return rc ? cli_report(&err) : DL_EXIT_OK;
}
