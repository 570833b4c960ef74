/* args.c: option parsing shared by the subcommands. */
#include "cli/args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether `name` is a word of the space-separated list. */
static int allowed_option(const char *allowed, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = allowed; (p = strstr(p, name)); p += len)
        if ((p == allowed || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return 1;
    return 0;
}

static int parse_count(const char *cmd, const char *opt, const char *text, int *out, dl_err *err)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 0 || v > 4096)
        return dl_fail(err, DL_EXIT_USAGE, "dltrain %s: %s expects a number, got '%s'", cmd, opt,
                       text);
    *out = (int)v;
    return DL_OK;
}

int cli_parse(const char *cmd, int argc, char **argv, int first, const char *allowed,
              cli_args *a, dl_err *err)
{
    memset(a, 0, sizeof *a);
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || !strcmp(arg, "-")) {
            if (a->npositional == CLI_MAX_POSITIONAL)
                return dl_fail(err, DL_EXIT_USAGE, "dltrain %s: too many arguments", cmd);
            a->positional[a->npositional++] = arg;
            continue;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *value = NULL;
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(name, "="), name);
        if (name[strlen(key)] == '=')
            value = name + strlen(key) + 1;
        int flag = !strcmp(key, "json") || !strcmp(key, "q") || !strcmp(key, "quiet") ||
                   !strcmp(key, "v") || !strcmp(key, "verbose");
        const char *canonical = !strcmp(key, "q")   ? "quiet"
                                : !strcmp(key, "v") ? "verbose"
                                : !strcmp(key, "o") ? "output"
                                                    : key;
        if (!allowed_option(allowed, canonical))
            return dl_fail(err, DL_EXIT_USAGE,
                           "dltrain %s: unknown option '%s' (see dltrain help %s)", cmd, arg,
                           cmd);
        if (!flag && !value) {
            if (i + 1 >= argc)
                return dl_fail(err, DL_EXIT_USAGE, "dltrain %s: %s needs a value", cmd, arg);
            value = argv[++i];
        }
        if (!strcmp(canonical, "json"))
            a->json = 1;
        else if (!strcmp(canonical, "quiet"))
            a->quiet = 1;
        else if (!strcmp(canonical, "verbose"))
            a->verbose = 1;
        else if (!strcmp(key, "set")) {
            if (a->noverrides >= CLI_MAX_OVERRIDES - 2)
                return dl_fail(err, DL_EXIT_USAGE, "dltrain %s: too many --set options", cmd);
            a->overrides[a->noverrides++] = value;
        } else if (!strcmp(key, "threads")) {
            if (parse_count(cmd, arg, value, &a->threads, err))
                return DL_ERR;
        } else if (!strcmp(key, "seed")) {
            snprintf(a->seed_set, sizeof a->seed_set, "seed=%s", value);
        } else if (!strcmp(key, "device")) {
            snprintf(a->device_set, sizeof a->device_set, "device=%s", value);
        } else if (!strcmp(key, "resume")) {
            a->resume = value;
        } else if (!strcmp(key, "run-dir")) {
            a->run_dir = value;
        } else if (!strcmp(key, "run-name")) {
            a->run_name = value;
        } else if (!strcmp(key, "data")) {
            a->data = value;
        } else if (!strcmp(canonical, "output")) {
            a->output = value;
        }
    }
    /* --seed and --device are overrides applied after the --set ones */
    if (a->seed_set[0])
        a->overrides[a->noverrides++] = a->seed_set;
    if (a->device_set[0])
        a->overrides[a->noverrides++] = a->device_set;
    if (!!a->run_dir + !!a->run_name + !!a->resume > 1)
        return dl_fail(err, DL_EXIT_USAGE,
                       "dltrain %s: give one of --run-dir, --run-name and --resume", cmd);
    return DL_OK;
}

int cli_verbosity(const cli_args *a, int config_verbose)
{
    if (a->quiet)
        return 0;
    return config_verbose == 3 ? 1 : config_verbose;
}
