/* sweep_run.c: the trials as child processes. Each is this same binary
 * (/proc/self/exe) running `fit CONFIG --set ... --run-dir SWEEP/<trial>
 * --json -q --threads T` in its own process group, its stdout in
 * SWEEP/<trial>/fit.jsonl and its stderr in fit.log; a trial that was
 * interrupted continues from its checkpoint (`--resume SWEEP/<trial>`,
 * both files appended to). The first SIGINT or SIGTERM stops new trials
 * and is passed on as SIGINT to the running ones (which stop after their
 * current batch with a checkpoint, as fit does); a second one is passed on
 * too, and ends them at once. Children live in their own process groups,
 * so a Ctrl-C on the terminal reaches them once, through here. */
#include "cli/sweep.h"

#include "cli/files.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t child_pids[SWEEP_MAX_JOBS];    /* 0: a free slot */

static void on_stop_signal(int sig)
{
    int saved = errno;
    (void)sig;
    stop_requested = 1;
    for (int i = 0; i < SWEEP_MAX_JOBS; i++)
        if (child_pids[i] > 0)
            kill((pid_t)child_pids[i], SIGINT);
    errno = saved;
}

/* No SA_RESTART: a signal ends the wait for children early. */
static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void block_stop_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, old);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *sweep_trial_dir(const sweep *sw, const sweep_trial *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", sw->dir, t->name);
    return buf;
}

const char *sweep_status_name(trial_status status)
{
    static const char *const names[] = {"pending", "running", "completed", "failed",
                                        "interrupted"};
    return names[status];
}

/* ---- outcomes ---------------------------------------------------------------- */

static int better(const sweep *sw, double value, double best)
{
    return isnan(best) || (sw->maximize ? value > best : value < best);
}

static void clear_outcome(sweep_trial *t)
{
    cJSON_Delete(t->best);
    cJSON_Delete(t->last);
    cJSON_Delete(t->test);
    t->best = t->last = t->test = NULL;
    t->model = NULL;
    t->epochs = t->best_epoch = 0;
    t->best_value = NAN;
}

/* One line of fit.jsonl: an epoch's logs, or the final object. */
static void read_line(sweep *sw, sweep_trial *t, const char *line, cJSON **final)
{
    cJSON *obj = cJSON_Parse(line);
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return;
    }
    if (cJSON_HasObjectItem(obj, "status")) {
        cJSON_Delete(*final);
        *final = obj;
        return;
    }
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(obj, "epoch");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(obj, sw->monitor);
    if (cJSON_IsNumber(epoch) && cJSON_IsNumber(value) && better(sw, value->valuedouble,
                                                                 t->best_value)) {
        t->best_value = value->valuedouble;
        t->best_epoch = epoch->valueint;
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "epoch");
        cJSON_Delete(t->best);
        t->best = obj;
        return;
    }
    cJSON_Delete(obj);
}

int sweep_read_outcome(sweep *sw, sweep_trial *t)
{
    char dir[4400], path[4500];
    snprintf(path, sizeof path, "%s/fit.jsonl", sweep_trial_dir(sw, t, dir, sizeof dir));
    clear_outcome(t);
    FILE *f = fopen(path, "r");
    if (!f)
        return DL_ERR;
    cJSON *final = NULL;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        read_line(sw, t, line, &final);
    free(line);
    fclose(f);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(final, "status");
    const cJSON *epochs = cJSON_GetObjectItemCaseSensitive(final, "epochs");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(final, "model");
    int completed = cJSON_IsString(status) && !strcmp(status->valuestring, "completed");
    if (completed) {
        t->epochs = cJSON_IsNumber(epochs) ? epochs->valueint : 0;
        t->last = cJSON_DetachItemFromObjectCaseSensitive(final, "last");
        t->test = cJSON_DetachItemFromObjectCaseSensitive(final, "test");
        if (cJSON_IsString(model))
            t->model = cfg_arena_strdup(sw->arena, model->valuestring);
    }
    cJSON_Delete(final);
    if (!completed)
        clear_outcome(t);
    return completed ? DL_OK : DL_ERR;
}

/* The last non-empty line of the trial's stderr, as the failure's reason. */
static void last_log_line(const sweep *sw, sweep_trial *t)
{
    char dir[4400], path[4500];
    snprintf(path, sizeof path, "%s/fit.log", sweep_trial_dir(sw, t, dir, sizeof dir));
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (f && (len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len)
            snprintf(t->error, sizeof t->error, "%s", line);
    }
    free(line);
    if (f)
        fclose(f);
}

/* ---- starting and ending trials -------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A trial starts in an empty directory: what a failed attempt left (a
 * resumed sweep) goes. */
static int fresh_dir(const char *dir, dl_err *err)
{
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT)
        return dl_fail(err, DL_EXIT_FAIL, "cannot empty %s: %s", dir, strerror(errno));
    return files_mkdirs(dir, err);
}

/* An interrupted trial (or one whose sweep was killed) continues from the
 * checkpoint fit left in its directory, exactly where it stopped. */
static int can_continue(const sweep_trial *t, const char *dir)
{
    char checkpoint[4500], model[4500];
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoints/last.safetensors", dir);
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    return t->status != TRIAL_FAILED && files_exists(checkpoint) && !files_exists(model);
}

/* fit.jsonl and fit.log: appended to when the trial continues. */
static int open_output(const char *dir, const char *name, int append, int *fd, dl_err *err)
{
    char path[4500];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
    return *fd < 0 ? dl_fail(err, DL_EXIT_FAIL, "cannot create %s: %s", path, strerror(errno))
                   : DL_OK;
}

/* In the child: its own process group, default signals, the files, exec. */
static void exec_child(const sweep *sw, char **argv, int out, int log, const sigset_t *mask)
{
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    if (dup2(out, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0 || chdir(sw->cwd))
        dprintf(log, "dltrain sweep: cannot prepare the trial: %s\n", strerror(errno));
    else
        execv("/proc/self/exe", argv);
    dprintf(STDERR_FILENO, "dltrain sweep: cannot run /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
}

/* Starts a trial in child slot `slot`; *continued: from its checkpoint. */
static int start_trial(sweep *sw, sweep_trial *t, int slot, int *continued, dl_err *err)
{
    char dir[4400], threads[16];
    sweep_trial_dir(sw, t, dir, sizeof dir);
    int out = -1, log = -1, resume = *continued = can_continue(t, dir);
    if ((!resume && fresh_dir(dir, err)) || open_output(dir, "fit.jsonl", resume, &out, err) ||
        open_output(dir, "fit.log", resume, &log, err)) {
        if (out >= 0)
            close(out);
        return DL_ERR;
    }
    snprintf(threads, sizeof threads, "%d", sw->threads);
    int n = 0, cap = 2 * (sw->nset + t->noverrides) + 12;
    char **argv = malloc(sizeof(char *) * (size_t)cap);
    if (!argv) {
        close(out);
        close(log);
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    }
    argv[n++] = "dltrain";
    argv[n++] = "fit";
    argv[n++] = sw->config;
    for (int i = 0; i < sw->nset + t->noverrides; i++) {
        argv[n++] = "--set";
        argv[n++] = i < sw->nset ? sw->set[i] : t->overrides[i - sw->nset];
    }
    char *tail[] = {resume ? "--resume" : "--run-dir", dir, "--json", "-q", "--threads", threads,
                    NULL};
    memcpy(argv + n, tail, sizeof tail);
    sigset_t old;
    block_stop_signals(&old);
    pid_t pid = fork();
    if (pid == 0)
        exec_child(sw, argv, out, log, &old);
    int saved = errno;
    if (pid > 0) {
        child_pids[slot] = pid;
        if (stop_requested)
            kill(pid, SIGINT);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    free(argv);
    close(out);
    close(log);
    if (pid < 0)
        return dl_fail(err, DL_EXIT_FAIL, "cannot start trial %s: %s", t->name,
                       strerror(saved));
    return DL_OK;
}

/* Waits for a child to end: its slot and exit code (128 + signal when
 * killed). The slot is freed before the child is reaped, so the signal
 * handler never signals a reused pid. */
static int wait_child(int *slot, int *code)
{
    siginfo_t info;
    for (;;) {
        memset(&info, 0, sizeof info);
        if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) == 0)
            break;
        if (errno != EINTR)
            return DL_ERR;
    }
    sigset_t old;
    block_stop_signals(&old);
    *slot = -1;
    for (int i = 0; i < SWEEP_MAX_JOBS; i++)
        if (child_pids[i] == info.si_pid) {
            child_pids[i] = 0;
            *slot = i;
        }
    int status = 0;
    pid_t got = waitpid(info.si_pid, &status, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (got < 0)
        return DL_ERR;
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return DL_OK;
}

static void report_trial(const sweep *sw, const sweep_trial *t, int done, int total)
{
    if (sw->quiet)
        return;
    fprintf(stderr, "sweep: [%d/%d] %s: %s", done, total, t->name,
            sweep_status_name(t->status));
    if (t->status == TRIAL_COMPLETED && t->best_epoch)
        fprintf(stderr, ", %s %.6g (epoch %d)", sw->monitor, t->best_value, t->best_epoch);
    if (t->status == TRIAL_FAILED)
        fprintf(stderr, " (exit %d): %s", t->exit_code, t->error);
    fprintf(stderr, ", %.1f s\n", t->seconds);
}

static void end_trial(sweep *sw, sweep_trial *t, int code, double seconds)
{
    t->exit_code = code;
    t->seconds = round(seconds * 1000) / 1000;
    t->error[0] = '\0';
    if (code == 0 && sweep_read_outcome(sw, t) == DL_OK) {
        t->status = TRIAL_COMPLETED;
        return;
    }
    t->status = stop_requested && (code == DL_EXIT_INTERRUPTED || code == 128 + SIGINT)
                    ? TRIAL_INTERRUPTED
                    : TRIAL_FAILED;
    last_log_line(sw, t);
    if (code == 0 && !t->error[0])
        snprintf(t->error, sizeof t->error, "fit.jsonl has no final JSON line");
}

static void save_manifest(const sweep *sw)
{
    dl_err err = {0};
    if (sweep_write_manifest(sw, &err))
        fprintf(stderr, "dltrain sweep: warning: %s\n", err.msg);
}

int sweep_run(sweep *sw)
{
    int total = 0, done = 0, running = 0, next = 0;
    int slot_trial[SWEEP_MAX_JOBS];
    double slot_start[SWEEP_MAX_JOBS], slot_before[SWEEP_MAX_JOBS];
    for (int k = 0; k < sw->ntrials; k++)
        total += sw->trials[k].status != TRIAL_COMPLETED;
    stop_requested = 0;
    catch_stop_signals();
    for (;;) {
        while (!stop_requested && running < sw->jobs && next < sw->ntrials) {
            sweep_trial *t = &sw->trials[next++];
            if (t->status == TRIAL_COMPLETED)
                continue;
            int slot = 0;
            while (child_pids[slot])
                slot++;
            dl_err err = {0};
            int continued = 0;
            if (start_trial(sw, t, slot, &continued, &err)) {
                t->status = TRIAL_FAILED;
                t->exit_code = DL_EXIT_FAIL;
                snprintf(t->error, sizeof t->error, "%.500s", err.msg);
                report_trial(sw, t, ++done, total);
                save_manifest(sw);
                continue;
            }
            t->status = TRIAL_RUNNING;
            slot_trial[slot] = (int)(t - sw->trials);
            slot_start[slot] = now_seconds();
            slot_before[slot] = continued ? t->seconds : 0;   /* the earlier attempt's */
            running++;
        }
        if (!running)
            break;
        int slot, code;
        if (wait_child(&slot, &code)) {
            fprintf(stderr, "dltrain sweep: waiting for trials: %s\n", strerror(errno));
            break;
        }
        if (slot < 0)
            continue;
        sweep_trial *t = &sw->trials[slot_trial[slot]];
        end_trial(sw, t, code, slot_before[slot] + now_seconds() - slot_start[slot]);
        running--;
        report_trial(sw, t, ++done, total);
        save_manifest(sw);
    }
    return stop_requested;
}
