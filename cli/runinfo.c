/* runinfo.c: HParams and the Keras model JSON for TensorBoard. */
#include "cli/runinfo.h"

#include "engine/schedule.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_hparam(const run_hparams *h, const char *name)
{
    for (int i = 0; i < h->n; i++)
        if (!strcmp(h->names[i], name))
            return 1;
    return 0;
}

static tb_hparam *add_hparam(run_hparams *h, const char *name)
{
    if (h->n == RUNINFO_MAX_HPARAMS || has_hparam(h, name))
        return NULL;
    tb_hparam *p = &h->v[h->n];
    snprintf(h->names[h->n], sizeof h->names[h->n], "%s", name);
    memset(p, 0, sizeof *p);
    p->name = h->names[h->n];
    p->string_value = h->strings[h->n];
    h->n++;
    return p;
}

static void add_number(run_hparams *h, const char *name, double value)
{
    tb_hparam *p = add_hparam(h, name);
    if (p) {
        p->type = TB_HPARAM_NUMBER;
        p->number_value = value;
    }
}

static void add_string(run_hparams *h, const char *name, const char *value)
{
    tb_hparam *p = add_hparam(h, name);
    if (p) {
        p->type = TB_HPARAM_STRING;
        snprintf(h->strings[h->n - 1], sizeof h->strings[h->n - 1], "%s", value);
    }
}

/* An override's VALUE typed as YAML would: number, bool, else text. */
static void add_override(run_hparams *h, const char *assignment)
{
    char name[128];
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return;
    snprintf(name, sizeof name, "%.*s", (int)(eq - assignment), assignment);
    const char *value = eq + 1;
    char *end;
    double number = strtod(value, &end);
    if (*value && !*end) {
        add_number(h, name, number);
    } else if (!strcmp(value, "true") || !strcmp(value, "false")) {
        tb_hparam *p = add_hparam(h, name);
        if (p) {
            p->type = TB_HPARAM_BOOL;
            p->bool_value = !strcmp(value, "true");
        }
    } else {
        add_string(h, name, value);
    }
}

/* A layer's size-like argument (units, filters, rate) as an hparam. */
static void add_layer_sizes(run_hparams *h, const ly_layer *l, int index)
{
    static const char *const keys[] = {"units", "filters", "rate"};
    for (const dl_arg *a = l->kind->base.args; a->key; a++)
        for (int k = 0; k < 3; k++) {
            if (strcmp(a->key, keys[k]))
                continue;
            char name[128];
            snprintf(name, sizeof name, "model.layers[%d].%s.%s", index, l->kind->base.name,
                     a->key);
            const char *field = (const char *)l->args + a->offset;
            if (a->type == DL_ARG_INT)
                add_number(h, name, *(const int *)field);
            else if (a->type == DL_ARG_FLOAT)
                add_number(h, name, *(const double *)field);
        }
}

void runinfo_hparams(const session *s, const char *const *overrides, int noverrides,
                     run_hparams *h)
{
    const dl_config *c = &s->cfg;
    const dl_kind_ref *lr = &((const opt_args *)c->compile.optimizer.args)->learning_rate;
    h->n = 0;
    for (int i = 0; i < noverrides; i++)
        add_override(h, overrides[i]);
    add_string(h, "compile.optimizer", c->compile.optimizer.kind->name);
    if (sched_is_constant(lr))
        add_number(h, "compile.optimizer.learning_rate", sched_value(lr, 0));
    else
        add_string(h, "compile.optimizer.learning_rate", lr->kind->name);
    add_string(h, "compile.loss", c->compile.loss.kind->alias ? c->compile.loss.kind->alias
                                                              : c->compile.loss.kind->name);
    add_number(h, "fit.batch_size", c->fit.batch_size);
    add_number(h, "fit.epochs", c->fit.epochs);
    for (int i = 0; i < s->m.nlayers; i++)
        add_layer_sizes(h, &s->m.layers[i], i);
}

/* A resolved YAML value as JSON: plain scalars become numbers, booleans or
 * null where they read as such. */
static cJSON *node_to_json(const cfg_node *n)
{
    if (n->type == CFG_MAP) {
        cJSON *obj = cJSON_CreateObject();
        for (int i = 0; obj && i < n->n; i++)
            cJSON_AddItemToObject(obj, n->keys[i]->value, node_to_json(n->items[i]));
        return obj;
    }
    if (n->type == CFG_SEQ) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; arr && i < n->n; i++)
            cJSON_AddItemToArray(arr, node_to_json(n->items[i]));
        return arr;
    }
    char *end;
    double number = strtod(n->value, &end);
    if (!n->plain)
        return cJSON_CreateString(n->value);
    if (cfg_is_null(n))
        return cJSON_CreateNull();
    if (!strcmp(n->value, "true") || !strcmp(n->value, "false"))
        return cJSON_CreateBool(!strcmp(n->value, "true"));
    if (*n->value && !*end)
        return cJSON_CreateNumber(number);
    return cJSON_CreateString(n->value);
}

static cJSON *shape_json(const dl_shape *s)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateNull());
    for (int i = 0; i < s->ndim; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(s->dim[i]));
    return arr;
}

static cJSON *layer_json(const char *class_name, const char *name, cJSON *config)
{
    cJSON *layer = cJSON_CreateObject();
    cJSON_AddStringToObject(layer, "class_name", class_name);
    cJSON_AddStringToObject(config, "name", name);
    cJSON_AddStringToObject(config, "dtype", "float32");
    cJSON_AddItemToObject(layer, "config", config);
    return layer;
}

char *runinfo_model_json(const session *s)
{
    const model *m = &s->m;
    cJSON *root = cJSON_CreateObject(), *config = cJSON_CreateObject();
    cJSON *layers = cJSON_CreateArray(), *input = cJSON_CreateObject();
    cJSON_AddItemToObject(input, "batch_input_shape", shape_json(&m->input_shape));
    cJSON_AddItemToArray(layers, layer_json("InputLayer", "input_layer", input));
    for (int i = 0; i < m->nlayers; i++) {
        const ly_layer *l = &m->layers[i];
        cfg_node *args = cfg_write_table(l->kind->base.args, l->args);
        cJSON *layer_config = node_to_json(args);
        cfg_free(args);
        cJSON_AddBoolToObject(layer_config, "trainable", 1);
        cJSON_AddItemToArray(layers, layer_json(l->kind->base.name, l->name, layer_config));
    }
    cJSON_AddStringToObject(config, "name", m->name);
    cJSON_AddItemToObject(config, "layers", layers);
    cJSON_AddStringToObject(root, "class_name", "Sequential");
    cJSON_AddItemToObject(root, "config", config);
    cJSON_AddStringToObject(root, "backend", "dltrain");
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}
