/* rundir.c: run directories. */
#include "cli/rundir.h"

#include "cli/files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void rundir_paths(run_paths *p, const char *dir)
{
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    snprintf(p->config, sizeof p->config, "%s/config.yaml", dir);
    snprintf(p->model, sizeof p->model, "%s/model.safetensors", dir);
    snprintf(p->checkpoint, sizeof p->checkpoint, "%s/checkpoints/last.safetensors", dir);
}

int rundir_create(const session *s, const cli_args *a, run_paths *p, dl_err *err)
{
    char dir[4096];
    if (a->run_dir) {
        rundir_paths(p, a->run_dir);
        if (files_exists(p->model))
            return dl_fail(err, DL_EXIT_USAGE,
                           "run directory %s already holds a model; choose another --run-dir "
                           "or remove it",
                           p->dir);
        return files_mkdirs(p->dir, err);
    }
    const char *name = a->run_name ? a->run_name : s->cfg.name;
    if (files_mkdirs(s->cfg.runs_dir, err))
        return DL_ERR;
    for (int i = 0; i < 100000; i++) {
        if (i)
            snprintf(dir, sizeof dir, "%s/%s_%d", s->cfg.runs_dir, name, i);
        else
            snprintf(dir, sizeof dir, "%s/%s", s->cfg.runs_dir, name);
        if (mkdir(dir, 0777) == 0) {
            rundir_paths(p, dir);
            return DL_OK;
        }
        if (errno != EEXIST)
            return dl_fail(err, DL_EXIT_FAIL, "cannot create run directory %s: %s", dir,
                           strerror(errno));
    }
    return dl_fail(err, DL_EXIT_FAIL, "no free run directory name under %s", s->cfg.runs_dir);
}
