/* model.c: building, running and back-propagating the Sequential stack. */
#include "engine/model.h"

#include "engine/init.h"
#include "layers/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keras auto-names: "dense", "dense_1", ... counted per kind. */
static void auto_name(model *m, int index)
{
    ly_layer *l = &m->layers[index];
    int same = 0;
    for (int i = 0; i < index; i++)
        same += m->layers[i].kind == l->kind;
    if (same)
        snprintf(l->name, sizeof l->name, "%s_%d", l->kind->snake, same);
    else
        snprintf(l->name, sizeof l->name, "%s", l->kind->snake);
}

static int build_layers(model *m, const dl_kind_list *layers, dl_err *err)
{
    dl_shape shape = m->input_shape;
    for (int i = 0; i < m->nlayers; i++) {
        ly_layer *l = &m->layers[i];
        const dl_kind_ref *ref = &layers->v[i];
        l->kind = ly_kind_of(ref->kind);
        l->args = ref->args;
        l->index = i;
        l->be = m->be;
        l->in = shape;
        auto_name(m, i);
        if (l->kind->build(l, err)) {
            dl_err_prefix(err, "%s: model.layers[%d] (%s)", ref->where ? ref->where : "config",
                          i, ref->kind->name);
            return DL_ERR;
        }
        size_t size = dl_shape_size(&l->out);
        if (size == 0 || size > (1u << 30))
            return dl_fail(err, DL_EXIT_USAGE,
                           "%s: model.layers[%d] (%s): output of %zu values per sample is out of "
                           "range",
                           ref->where ? ref->where : "config", i, ref->kind->name, size);
        shape = l->out;
        m->nparams += l->nparams;
    }
    return DL_OK;
}

/* Lays the parameters out in the slabs and points each at its view. */
static int place_params(model *m, dl_err *err)
{
    m->params = calloc((size_t)m->nparams + 1, sizeof *m->params);
    m->vars = calloc((size_t)m->nparams + 1, sizeof *m->vars);
    if (!m->params || !m->vars)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory for %d parameters", m->nparams);
    int k = 0;
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i].nparams; j++) {
            ly_param *p = &m->layers[i].params[j];
            p->offset = m->nweights;
            m->nweights += dl_shape_size(&p->shape);
            m->params[k++] = p;
        }
    m->weights = m->be->alloc(m->be, m->nweights);
    m->grads = m->be->alloc(m->be, m->nweights);
    if (!m->weights || !m->grads)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory for %zu weights", m->nweights);
    for (int i = 0; i < m->nparams; i++) {
        ly_param *p = m->params[i];
        size_t n = dl_shape_size(&p->shape);
        p->w = m->weights + p->offset;
        if (!p->trainable)
            continue;
        p->g = m->grads + p->offset;
        m->ntrainable += n;
        m->vars[m->nvars++] = (opt_var){p->w, p->g, n, p->offset};
    }
    return DL_OK;
}

int model_build(model *m, const char *name, const dl_shape *input_shape,
                const dl_kind_list *layers, dl_backend *be, uint64_t seed, dl_err *err)
{
    memset(m, 0, sizeof *m);
    m->be = be;
    snprintf(m->name, sizeof m->name, "%s", name);
    m->input_shape = *input_shape;
    m->nlayers = layers->n;
    m->layers = calloc((size_t)layers->n, sizeof *m->layers);
    if (!m->layers)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (int i = 0; i < m->nlayers; i++)
        m->layers[i].seed = seed;
    if (build_layers(m, layers, err) || place_params(m, err)) {
        model_free(m);
        return DL_ERR;
    }
    return DL_OK;
}

int model_init_weights(model *m, uint64_t seed, dl_err *err)
{
    size_t largest = 0;
    for (int i = 0; i < m->nparams; i++)
        if (dl_shape_size(&m->params[i]->shape) > largest)
            largest = dl_shape_size(&m->params[i]->shape);
    float *host = malloc((largest ? largest : 1) * sizeof(float));
    if (!host)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (int i = 0; i < m->nparams; i++) {
        ly_param *p = m->params[i];
        init_fill(p->init, p->shape.dim, p->shape.ndim, seed, (uint64_t)i, host);
        m->be->upload(m->be, p->w, host, dl_shape_size(&p->shape));
    }
    free(host);
    return DL_OK;
}

static void release_batch_buffers(model *m)
{
    dl_backend *be = m->be;
    for (int i = 0; m->acts && i <= m->nlayers; i++)
        be->release(be, m->acts[i]);
    for (int i = 0; i < m->nlayers; i++) {
        be->release(be, m->layers[i].scratch);
        m->layers[i].scratch = NULL;
    }
    be->release(be, m->grad_buf[0]);
    be->release(be, m->grad_buf[1]);
    be->release(be, m->workspace);
    m->grad_buf[0] = m->grad_buf[1] = m->workspace = NULL;
    free(m->acts);
    m->acts = NULL;
    m->batch_cap = 0;
}

int model_reserve(model *m, int cap, dl_err *err)
{
    dl_backend *be = m->be;
    if (cap <= m->batch_cap)
        return DL_OK;
    release_batch_buffers(m);
    m->acts = calloc((size_t)m->nlayers + 1, sizeof *m->acts);
    if (!m->acts)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    size_t largest = dl_shape_size(&m->input_shape), workspace = 0;
    m->acts[0] = be->alloc(be, (size_t)cap * largest);
    int ok = m->acts[0] != NULL;
    for (int i = 0; i < m->nlayers && ok; i++) {
        ly_layer *l = &m->layers[i];
        size_t out = dl_shape_size(&l->out);
        size_t scratch = (size_t)cap * l->scratch_per_sample + l->scratch_fixed;
        largest = out > largest ? out : largest;
        ok = (m->acts[i + 1] = be->alloc(be, (size_t)cap * out)) != NULL;
        if (ok && scratch)
            ok = (l->scratch = be->alloc(be, scratch)) != NULL;
        if (l->kind->workspace && l->kind->workspace(l, cap) > workspace)
            workspace = l->kind->workspace(l, cap);
    }
    for (int i = 0; i < 2 && ok; i++)
        ok = (m->grad_buf[i] = be->alloc(be, (size_t)cap * largest)) != NULL;
    if (ok && workspace)
        ok = (m->workspace = be->alloc(be, workspace)) != NULL;
    for (int i = 0; i < m->nlayers && ok; i++)
        m->layers[i].workspace = m->workspace;
    if (!ok) {
        release_batch_buffers(m);
        return dl_fail(err, DL_EXIT_FAIL, "out of memory for activations of batch size %d", cap);
    }
    m->batch_cap = cap;
    return DL_OK;
}

void model_free(model *m)
{
    if (!m->be)
        return;
    release_batch_buffers(m);
    m->be->release(m->be, m->weights);
    m->be->release(m->be, m->grads);
    free(m->layers);
    free(m->params);
    free(m->vars);
    memset(m, 0, sizeof *m);
}

const float *model_forward(model *m, int batch, const ly_ctx *ctx)
{
    for (int i = 0; i < m->nlayers; i++) {
        ly_layer *l = &m->layers[i];
        l->kind->forward(l, ctx, m->acts[i], m->acts[i + 1], batch);
    }
    return m->acts[m->nlayers];
}

/* The first layer with a trainable weight (nlayers when none): no layer
 * below it needs a gradient, so backward stops there without its dx. */
static int model_first_trainable(const model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i].nparams; j++)
            if (m->layers[i].params[j].trainable)
                return i;
    return m->nlayers;
}

void model_backward(model *m, const float *dout, int batch)
{
    const float *dy = dout;
    int first = model_first_trainable(m);
    for (int i = m->nlayers - 1; i >= first; i--) {
        ly_layer *l = &m->layers[i];
        float *dx = i > first ? m->grad_buf[i & 1] : NULL;
        l->kind->backward(l, m->acts[i], m->acts[i + 1], dy, dx, batch);
        dy = dx;
    }
}

double model_regularize(model *m)
{
    double penalty = 0.0;
    for (int i = 0; i < m->nparams; i++) {
        ly_param *p = m->params[i];
        if (!p->reg || !p->trainable)
            continue;
        const reg_args *r = p->reg->args;
        penalty += m->be->regularize(m->be, p->w, p->g, dl_shape_size(&p->shape), (float)r->l1,
                                     (float)r->l2);
    }
    return penalty;
}

const dl_shape *model_output_shape(const model *m)
{
    return &m->layers[m->nlayers - 1].out;
}

ly_layer *model_last(model *m)
{
    return &m->layers[m->nlayers - 1];
}

void model_get_weights(const model *m, float *host)
{
    m->be->download(m->be, host, m->weights, m->nweights);
}

void model_set_weights(model *m, const float *host)
{
    m->be->upload(m->be, m->weights, host, m->nweights);
}
