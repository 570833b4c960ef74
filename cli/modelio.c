/* modelio.c: saving and loading model files. */
#include "cli/modelio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSORS 256

static void tensor_name(const ly_layer *l, const ly_param *p, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", l->name, p->name);
}

#define MAX_META 8

int modelio_save_with(const session *s, const char *path, const st_out *extra, int nextra,
                      const char *const *keys, const char *const *values, int nmeta,
                      dl_err *err)
{
    const model *m = &s->m;
    if (m->nparams + nextra > MAX_TENSORS || nmeta + 2 > MAX_META)
        return dl_fail(err, DL_EXIT_FAIL, "%s: too many tensors (%d) to save", path,
                       m->nparams + nextra);
    char names[MAX_TENSORS][128];
    st_out tensors[MAX_TENSORS];
    int n = 0;
    float *host = malloc((m->nweights ? m->nweights : 1) * sizeof(float));
    char *config = config_emit(&s->cfg);
    if (!host || !config) {
        free(host);
        free(config);
        return dl_fail(err, DL_EXIT_FAIL, "out of memory saving %s", path);
    }
    model_get_weights(m, host);
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i].nparams; j++, n++) {
            const ly_param *p = &m->layers[i].params[j];
            tensor_name(&m->layers[i], p, names[n], sizeof names[n]);
            tensors[n] = (st_out){names[n], ST_F32, p->shape.ndim, {0}, host + p->offset};
            for (int d = 0; d < p->shape.ndim; d++)
                tensors[n].shape[d] = p->shape.dim[d];
        }
    for (int i = 0; i < nextra; i++)
        tensors[n++] = extra[i];
    const char *all_keys[MAX_META] = {"dltrain.version", "dltrain.config"};
    const char *all_values[MAX_META] = {DLTRAIN_VERSION, config};
    for (int i = 0; i < nmeta; i++) {
        all_keys[2 + i] = keys[i];
        all_values[2 + i] = values[i];
    }
    int rc = st_save(path, all_keys, all_values, 2 + nmeta, tensors, n, err);
    free(host);
    free(config);
    return rc;
}

int modelio_save(const session *s, const char *path, dl_err *err)
{
    return modelio_save_with(s, path, NULL, 0, NULL, NULL, 0, err);
}

int modelio_load_weights(session *s, const st_file *f, int allow_state, dl_err *err)
{
    model *m = &s->m;
    int expected = 0;
    float *host = malloc((m->nweights ? m->nweights : 1) * sizeof(float));
    if (!host)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i].nparams; j++, expected++) {
            const ly_param *p = &m->layers[i].params[j];
            char name[128];
            tensor_name(&m->layers[i], p, name, sizeof name);
            const st_tensor *t = st_find(f, name);
            int same = t && t->ndim == p->shape.ndim;
            for (int d = 0; same && d < t->ndim; d++)
                same = t->shape[d] == p->shape.dim[d];
            if (!same) {
                free(host);
                return dl_fail(err, DL_EXIT_FAIL,
                               "%s: tensor '%s' is %s; the model's config needs shape of "
                               "%zu values",
                               f->path, name, t ? "of another shape" : "missing",
                               dl_shape_size(&p->shape));
            }
            if (st_read_f32(f, t, host + p->offset, dl_shape_size(&p->shape), err)) {
                free(host);
                return DL_ERR;
            }
        }
    if (f->ntensors != expected && !allow_state) {
        free(host);
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: %d tensors, but the model's config has %d weights (unexpected "
                       "extra tensors)",
                       f->path, f->ntensors, expected);
    }
    model_set_weights(m, host);
    free(host);
    return DL_OK;
}

int modelio_load(session *s, const char *path, const char *const *overrides, int noverrides,
                 int threads, dl_err *err)
{
    st_file f;
    if (st_open(path, &f, err))
        return DL_ERR;
    const char *config = st_meta(&f, "dltrain.config");
    int rc = DL_ERR;
    if (!config) {
        dl_fail(err, DL_EXIT_FAIL,
                "%s: no dltrain.config in __metadata__: not a model file written by dltrain",
                path);
    } else {
        char origin[4200];
        snprintf(origin, sizeof origin, "%s [dltrain.config]", path);
        if (config_load_text(config, origin, overrides, noverrides, &s->cfg, err) == DL_OK) {
            s->have_cfg = 1;
            int checkpoint = st_meta(&f, "dltrain.checkpoint") != NULL;
            rc = session_backend(s, threads, 0, err) || session_model(s, 0, err) ||
                         modelio_load_weights(s, &f, checkpoint, err)
                     ? DL_ERR
                     : DL_OK;
        }
    }
    st_close(&f);
    return rc;
}
