/* config.c: the config's own sections as argument tables, loading with
 * overrides, and the resolved text. */
#include "configs/config.h"

#include "datasets/dataset.h"
#include "engine/callbacks.h"
#include "engine/loss.h"
#include "engine/metric.h"
#include "engine/optimizer.h"
#include "layers/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const device_names[] = {"cpu", "gpu", "auto", NULL};
static const char *const verbose_names[] = {"0", "1", "2", "auto", NULL};

static const dl_arg data_table[] = {
    {"train", DL_ARG_KIND, offsetof(cfg_data, train), NULL, 0, 0, 0, NULL, 0, &ds_format_family,
     NULL},
    {"validation", DL_ARG_KIND, offsetof(cfg_data, validation), "null", 0, 0, DL_ARG_NULLABLE,
     NULL, 0, &ds_format_family, NULL},
    {"test", DL_ARG_KIND, offsetof(cfg_data, test), "null", 0, 0, DL_ARG_NULLABLE, NULL, 0,
     &ds_format_family, NULL},
    {"validation_split", DL_ARG_FLOAT, offsetof(cfg_data, validation_split), "0.0", 0, 1,
     DL_ARG_MAX_OPEN, NULL, 0, NULL, NULL},
    {"rescale", DL_ARG_FLOAT, offsetof(cfg_data, rescale), "1.0", 0, 0, 0, NULL, 0, NULL, NULL},
    {"class_names", DL_ARG_STRINGS, offsetof(cfg_data, class_names), "[]", 0, 0, 0, NULL, 0,
     NULL, NULL},
    {0},
};

static const dl_arg model_table[] = {
    {"name", DL_ARG_STRING, offsetof(cfg_model, name), "sequential", 0, 0, 0, NULL, 0, NULL,
     NULL},
    {"input_shape", DL_ARG_SHAPE, offsetof(cfg_model, input_shape), NULL, 0, 0, 0, NULL, 0, NULL,
     NULL},
    {"layers", DL_ARG_KINDS, offsetof(cfg_model, layers), NULL, 0, 0, 0, NULL, 0, &ly_family,
     NULL},
    {0},
};

static const dl_arg compile_table[] = {
    {"optimizer", DL_ARG_KIND, offsetof(cfg_compile, optimizer), "rmsprop", 0, 0, 0, NULL, 0,
     &opt_family, NULL},
    {"loss", DL_ARG_KIND, offsetof(cfg_compile, loss), NULL, 0, 0, 0, NULL, 0, &loss_family,
     NULL},
    {"metrics", DL_ARG_KINDS, offsetof(cfg_compile, metrics), "[]", 0, 0, DL_ARG_NULLABLE, NULL,
     0, &metric_family, NULL},
    {0},
};

static const dl_arg fit_table[] = {
    {"epochs", DL_ARG_INT, offsetof(cfg_fit, epochs), "1", 1, 1e9, 0, NULL, 0, NULL, NULL},
    {"batch_size", DL_ARG_INT, offsetof(cfg_fit, batch_size), "32", 1, 1 << 20, 0, NULL, 0, NULL,
     NULL},
    {"validation_batch_size", DL_ARG_INT, offsetof(cfg_fit, validation_batch_size), "0", 0,
     1 << 20, 0, NULL, 0, NULL, NULL},
    {"shuffle", DL_ARG_BOOL, offsetof(cfg_fit, shuffle), "true", 0, 0, 0, NULL, 0, NULL, NULL},
    {"verbose", DL_ARG_ENUM, offsetof(cfg_fit, verbose), "auto", 0, 0, 0, verbose_names, 0, NULL,
     NULL},
    {"checkpoint", DL_ARG_BOOL, offsetof(cfg_fit, checkpoint), "true", 0, 0, 0, NULL, 0, NULL,
     NULL},
    {"callbacks", DL_ARG_KINDS, offsetof(cfg_fit, callbacks), "[]", 0, 0, DL_ARG_NULLABLE, NULL,
     0, &cb_family, NULL},
    {0},
};

static const dl_arg root_table[] = {
    {"name", DL_ARG_STRING, offsetof(dl_config, name), "null", 0, 0, DL_ARG_NULLABLE, NULL, 0,
     NULL, NULL},
    {"seed", DL_ARG_INT, offsetof(dl_config, seed), "-1", -1, 2147483647, 0, NULL, 0, NULL,
     NULL},
    {"device", DL_ARG_ENUM, offsetof(dl_config, device), "auto", 0, 0, 0, device_names, 0, NULL,
     NULL},
    {"runs_dir", DL_ARG_STRING, offsetof(dl_config, runs_dir), "runs", 0, 0, 0, NULL, 0, NULL,
     NULL},
    {"data", DL_ARG_SECTION, offsetof(dl_config, data), NULL, 0, 0, 0, NULL, 0, NULL, data_table},
    {"model", DL_ARG_SECTION, offsetof(dl_config, model), NULL, 0, 0, 0, NULL, 0, NULL,
     model_table},
    {"compile", DL_ARG_SECTION, offsetof(dl_config, compile), NULL, 0, 0, 0, NULL, 0, NULL,
     compile_table},
    {"fit", DL_ARG_SECTION, offsetof(dl_config, fit), "{}", 0, 0, 0, NULL, 0, NULL, fit_table},
    {0},
};

/* "configs/examples/mnist.yaml" -> "mnist" */
static char *base_name(cfg_arena *arena, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t len = strcspn(base, ".");
    char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)(len ? len : strlen(base)), base);
    return cfg_arena_strdup(arena, buf[0] ? buf : "run");
}

/* The top-level `sweep:` section is dltrain sweep's (cli/sweep_spec.c
 * reads and checks it: its grid and random keys are config paths, which
 * no argument table describes); a run leaves it out of its config.
 * Returns 1 when there was one. */
static int drop_sweep_section(cfg_node *root)
{
    for (int i = 0; i < root->n; i++) {
        if (strcmp(root->keys[i]->value, "sweep"))
            continue;
        cfg_free(root->keys[i]);
        cfg_free(root->items[i]);
        size_t after = (size_t)(root->n - i - 1);
        memmove(root->keys + i, root->keys + i + 1, after * sizeof *root->keys);
        memmove(root->items + i, root->items + i + 1, after * sizeof *root->items);
        root->n--;
        return 1;
    }
    return 0;
}

static int validate(cfg_node *root, const char *origin, const char *const *overrides,
                    int noverrides, dl_config *cfg, dl_err *err)
{
    for (int i = 0; i < noverrides; i++)
        if (cfg_apply_override(root, overrides[i], err))
            return DL_ERR;
    if (root->type != CFG_MAP)
        return dl_fail(err, DL_EXIT_USAGE, "%s: expected a mapping of sections at the top",
                       origin);
    cfg->has_sweep = drop_sweep_section(root);
    for (const char *const *section = (const char *const[]){"data", "model", "compile", NULL};
         *section; section++)
        if (!cfg_map_get(root, *section))
            return dl_fail(err, DL_EXIT_USAGE, "%s: missing section '%s'", origin, *section);
    if (cfg_read_table(cfg->arena, root_table, cfg, root, "", err))
        return DL_ERR;
    if (cfg->model.layers.n == 0)
        return dl_fail(err, DL_EXIT_USAGE, "%s: model.layers: a model needs at least one layer",
                       origin);
    if (!cfg->name && !(cfg->name = base_name(cfg->arena, origin)))
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    if (cfg->seed < 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        cfg->seed = (int)(((uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^
                           (uint64_t)ts.tv_sec) & 0x7fffffff);
    }
    return DL_OK;
}

static int load_tree(cfg_node *root, const char *origin, const char *const *overrides,
                     int noverrides, dl_config *cfg, dl_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->arena = cfg_arena_new();
    if (!cfg->arena || !(cfg->path = cfg_arena_strdup(cfg->arena, origin))) {
        cfg_free(root);
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    }
    int rc = validate(root, origin, overrides, noverrides, cfg, err);
    cfg_free(root);
    if (rc)
        config_free(cfg);
    return rc;
}

int config_load(const char *path, const char *const *overrides, int noverrides, dl_config *cfg,
                dl_err *err)
{
    cfg_node *root = NULL;
    memset(cfg, 0, sizeof *cfg);
    if (cfg_parse_file(path, &root, err))
        return DL_ERR;
    return load_tree(root, path, overrides, noverrides, cfg, err);
}

int config_load_text(const char *text, const char *origin, const char *const *overrides,
                     int noverrides, dl_config *cfg, dl_err *err)
{
    cfg_node *root = NULL;
    memset(cfg, 0, sizeof *cfg);
    if (cfg_parse_string(text, strlen(text), origin, &root, err))
        return DL_ERR;
    return load_tree(root, origin, overrides, noverrides, cfg, err);
}

void config_free(dl_config *cfg)
{
    cfg_arena_free(cfg->arena);
    memset(cfg, 0, sizeof *cfg);
}

char *config_emit(const dl_config *cfg)
{
    cfg_node *tree = cfg_write_table(root_table, cfg);
    char *text = cfg_emit(tree);
    cfg_free(tree);
    return text;
}

uint64_t config_seed(const dl_config *cfg)
{
    return (uint64_t)cfg->seed;
}
