/* cmd_sweep.c: dltrain sweep CONFIG | --resume SWEEP_DIR. Plans the
 * trials, checks each of them, creates the sweep directory with its
 * manifest and HParams experiment, runs the trials (sweep_run.c) and
 * reports (sweep_report.c). Exit codes: 0 when at least one trial
 * completed, 1 when none did, 2 for usage and config errors (before any
 * trial runs), 130 when interrupted. */
#include "cli/commands.h"
#include "cli/files.h"
#include "cli/sweep.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage_error(dl_err *err, const char *what, const char *arg)
{
    return dl_fail(err, DL_EXIT_USAGE, "dltrain sweep: %s%s%s (see dltrain help sweep)", what,
                   arg ? " " : "", arg ? arg : "");
}

static int parse_count(const char *opt, const char *text, long long min, long long max,
                       long long *out, dl_err *err)
{
    char *end;
    errno = 0;
    *out = strtoll(text, &end, 10);
    if (!*text || *end || errno || *out < min || *out > max)
        return dl_fail(err, DL_EXIT_USAGE,
                       "dltrain sweep: %s expects an integer in [%lld, %lld], got '%s'", opt, min,
                       max, text);
    return DL_OK;
}

/* One option with its value; DL_ERR for an unknown or malformed one. */
static int take_option(sweep_options *o, const char *key, const char *value, dl_err *err)
{
    long long n = 0;
    const char **list = !strcmp(key, "set")      ? o->set
                        : !strcmp(key, "grid")   ? o->grid
                        : !strcmp(key, "random") ? o->random
                                                 : NULL;
    if (list) {
        int *count = list == o->set ? &o->nset : list == o->grid ? &o->ngrid : &o->nrandom;
        int cap = list == o->set ? CLI_MAX_OVERRIDES - 1 : SWEEP_MAX_DIMS;
        if (*count == cap)
            return usage_error(err, "too many options like", key);
        list[(*count)++] = value;
    } else if (!strcmp(key, "trials")) {
        if (parse_count("--trials", value, 1, SWEEP_MAX_TRIALS, &n, err))
            return DL_ERR;
        o->trials = (int)n;
    } else if (!strcmp(key, "jobs")) {
        if (parse_count("--jobs", value, 1, SWEEP_MAX_JOBS, &n, err))
            return DL_ERR;
        o->jobs = (int)n;
    } else if (!strcmp(key, "threads")) {
        if (parse_count("--threads", value, 1, 4096, &n, err))
            return DL_ERR;
        o->threads = (int)n;
    } else if (!strcmp(key, "seed")) {
        if (parse_count("--seed", value, 0, 2147483647, &n, err))
            return DL_ERR;
        o->seed = (unsigned long long)n;
        o->has_seed = 1;
    } else if (!strcmp(key, "sweep-dir")) {
        o->sweep_dir = value;
    } else if (!strcmp(key, "monitor")) {
        o->monitor = value;
    } else if (!strcmp(key, "resume")) {
        o->resume = value;
    } else {
        return DL_ERR;
    }
    return DL_OK;
}

static int parse_options(int argc, char **argv, sweep_options *o, dl_err *err)
{
    memset(o, 0, sizeof *o);
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || !strcmp(arg, "-")) {
            if (o->config)
                return usage_error(err, "expected one CONFIG file, got another:", arg);
            o->config = arg;
            continue;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(name, "="), name);
        const char *value = name[strlen(key)] == '=' ? name + strlen(key) + 1 : NULL;
        if (!strcmp(key, "json")) {
            o->json = 1;
            continue;
        }
        if (!strcmp(key, "q") || !strcmp(key, "quiet")) {
            o->quiet = 1;
            continue;
        }
        if (!value && i + 1 < argc)
            value = argv[++i];
        else if (!value)
            return usage_error(err, arg, "needs a value");
        int rc = take_option(o, key, value, err);
        if (rc && !err->msg[0])
            return usage_error(err, "unknown option", arg);
        if (rc)
            return DL_ERR;
    }
    if (o->resume && (o->config || o->nset || o->ngrid || o->nrandom || o->trials ||
                      o->has_seed || o->sweep_dir || o->monitor))
        return usage_error(err, "--resume SWEEP_DIR takes only --jobs, --threads, --json and -q;",
                           "the rest is in the sweep's sweep.json");
    if (!o->resume && !o->config)
        return usage_error(err, "expected a CONFIG file (or --resume SWEEP_DIR)", NULL);
    return DL_OK;
}

static int cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int absolute(sweep *sw, const char *path, char **out, dl_err *err)
{
    char buf[PATH_MAX];
    if (!realpath(path, buf))
        return dl_fail(err, DL_EXIT_USAGE, "cannot open %s: %s", path, strerror(errno));
    return (*out = cfg_arena_strdup(sw->arena, buf)) ? DL_OK
                                                     : dl_fail(err, DL_EXIT_FAIL, "out of memory");
}

/* --sweep-dir as given (not one holding a sweep already), else
 * runs_dir/sweeps/NAME, NAME_1, ... */
static int make_sweep_dir(sweep *sw, const char *given, const char *runs_dir, const char *name,
                          dl_err *err)
{
    char dir[4400], manifest[4200];
    if (given) {
        snprintf(manifest, sizeof manifest, "%s/sweep.json", given);
        if (files_exists(manifest))
            return dl_fail(err, DL_EXIT_USAGE,
                           "%s already holds a sweep; continue it with dltrain sweep --resume "
                           "%s, or choose another --sweep-dir",
                           given, given);
        return files_mkdirs(given, err) || absolute(sw, given, &sw->dir, err) ? DL_ERR : DL_OK;
    }
    snprintf(dir, sizeof dir, "%s/sweeps", runs_dir);
    if (files_mkdirs(dir, err))
        return DL_ERR;
    for (int i = 0; i < 100000; i++) {
        if (i)
            snprintf(dir, sizeof dir, "%s/sweeps/%s_%d", runs_dir, name, i);
        else
            snprintf(dir, sizeof dir, "%s/sweeps/%s", runs_dir, name);
        if (mkdir(dir, 0777) == 0)
            return absolute(sw, dir, &sw->dir, err);
        if (errno != EEXIST)
            return dl_fail(err, DL_EXIT_FAIL, "cannot create %s: %s", dir, strerror(errno));
    }
    return dl_fail(err, DL_EXIT_FAIL, "no free sweep directory name under %s/sweeps", runs_dir);
}

static int default_threads(const sweep *sw)
{
    int n = cores() / sw->jobs;
    return n > 0 ? n : 1;
}

/* Plans the trials of a new sweep and checks every one of them; name and
 * runs_dir [4096] receive the base config's. */
static int plan_trials(sweep *sw, const sweep_options *o, char *name, size_t name_len,
                       char *runs_dir, dl_err *err)
{
    char cwd[PATH_MAX];
    int seed = 0;
    if (absolute(sw, o->config, &sw->config, err))
        return DL_ERR;
    if (!getcwd(cwd, sizeof cwd) || !(sw->cwd = cfg_arena_strdup(sw->arena, cwd)))
        return dl_fail(err, DL_EXIT_FAIL, "cannot tell the current directory: %s",
                       strerror(errno));
    if (!(sw->set = cfg_arena_alloc(sw->arena, sizeof(char *) * (size_t)(o->nset + 1))))
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (sw->nset = 0; sw->nset < o->nset; sw->nset++)
        if (!(sw->set[sw->nset] = cfg_arena_strdup(sw->arena, o->set[sw->nset])))
            return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    if (sweep_check_base(sw, name, name_len, runs_dir, 4096, &seed, err) ||
        sweep_spec_load(sw, o, seed, err) ||
        sweep_set_monitor(sw, o->monitor ? "--monitor" : "sweep.monitor", err))
        return DL_ERR;
    sweep_label_dims(sw);
    sw->threads = o->threads ? o->threads : default_threads(sw);
    return sweep_make_trials(sw, err) || sweep_check_trials(sw, err) ? DL_ERR : DL_OK;
}

/* Plans and checks a new sweep, then creates its directory. */
static int plan(sweep *sw, const sweep_options *o, dl_err *err)
{
    char name[256], runs_dir[4096];
    if (plan_trials(sw, o, name, sizeof name, runs_dir, err) ||
        make_sweep_dir(sw, o->sweep_dir, runs_dir, name, err))
        return DL_ERR;
    if (!sw->quiet)
        fprintf(stderr, "sweep: %d trial%s, %d at a time with %d thread%s each, in %s\n",
                sw->ntrials, sw->ntrials == 1 ? "" : "s", sw->jobs, sw->threads,
                sw->threads == 1 ? "" : "s", sw->dir);
    return DL_OK;
}

/* Reads a sweep back; trials whose fit.jsonl ends with fit's final line
 * are done, the others will run again. */
static int reload(sweep *sw, const sweep_options *o, dl_err *err)
{
    char name[256], runs_dir[4096];
    int seed = 0, done = 0;
    if (absolute(sw, o->resume, &sw->dir, err) || sweep_read_manifest(sw, sw->dir, err))
        return DL_ERR;
    if (o->jobs)
        sw->jobs = o->jobs;
    if (o->threads || o->jobs)
        sw->threads = o->threads ? o->threads : default_threads(sw);
    if (sweep_check_base(sw, name, sizeof name, runs_dir, sizeof runs_dir, &seed, err) ||
        sweep_set_monitor(sw, "sweep.json: monitor", err) || sweep_check_trials(sw, err))
        return DL_ERR;
    for (int k = 0; k < sw->ntrials; k++) {
        sweep_trial *t = &sw->trials[k];
        if (sweep_read_outcome(sw, t) == DL_OK) {
            t->status = TRIAL_COMPLETED;
            t->exit_code = 0;
            t->error[0] = '\0';
            done++;
        } else if (t->status == TRIAL_COMPLETED) {
            t->status = TRIAL_PENDING;
        }
    }
    if (!sw->quiet)
        fprintf(stderr, "sweep: resuming %s: %d of %d trials done, %d to run, %d at a time\n",
                sw->dir, done, sw->ntrials, sw->ntrials - done, sw->jobs);
    return DL_OK;
}

static void sweep_free(sweep *sw)
{
    for (int k = 0; sw->trials && k < sw->ntrials; k++) {
        cJSON_Delete(sw->trials[k].best);
        cJSON_Delete(sw->trials[k].last);
        cJSON_Delete(sw->trials[k].test);
    }
    cfg_arena_free(sw->arena);
}

/* Runs what is left and reports; the exit code. */
static int run_and_report(sweep *sw, dl_err *err)
{
    if (sweep_write_manifest(sw, err) || sweep_write_experiment(sw, err))
        return cli_report(err);
    int interrupted = sweep_run(sw);
    int completed = 0;
    for (int k = 0; k < sw->ntrials; k++)
        completed += sw->trials[k].status == TRIAL_COMPLETED;
    const char *status = interrupted ? "interrupted" : completed ? "completed" : "failed";
    if (sweep_write_manifest(sw, err) || sweep_report(sw, status, err))
        return cli_report(err);
    if (interrupted) {
        fprintf(stderr, "sweep interrupted; continue it with: dltrain sweep --resume %s\n",
                sw->dir);
        return DL_EXIT_INTERRUPTED;
    }
    return completed ? DL_EXIT_OK : DL_EXIT_FAIL;
}

int cmd_sweep(int argc, char **argv)
{
    sweep_options o;
    dl_err err = {0};
    if (parse_options(argc, argv, &o, &err))
        return cli_report(&err);
    sweep sw = {0};
    if (!(sw.arena = cfg_arena_new())) {
        dl_fail(&err, DL_EXIT_FAIL, "out of memory");
        return cli_report(&err);
    }
    sw.json = o.json;
    sw.quiet = o.quiet;
    int rc = o.resume ? reload(&sw, &o, &err) : plan(&sw, &o, &err);
    rc = rc ? cli_report(&err) : run_and_report(&sw, &err);
    sweep_free(&sw);
    return rc;
}

int sweep_check_config(const char *config, const char *const *set, int nset, int *ntrials,
                       dl_err *err)
{
    sweep_options o = {.config = config, .nset = nset, .quiet = 1};
    for (int i = 0; i < nset && i < CLI_MAX_OVERRIDES - 1; i++)
        o.set[i] = set[i];
    sweep sw = {.quiet = 1};
    if (!(sw.arena = cfg_arena_new()))
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    char name[256], runs_dir[4096];
    int rc = plan_trials(&sw, &o, name, sizeof name, runs_dir, err);
    *ntrials = sw.ntrials;
    sweep_free(&sw);
    return rc;
}
