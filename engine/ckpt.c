/* ckpt.c: a small name -> value store for checkpoint state. */
#include "engine/ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ckpt_init(ckpt *c)
{
    memset(c, 0, sizeof *c);
}

void ckpt_free(ckpt *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->entries[i].floats);
    free(c->entries);
    memset(c, 0, sizeof *c);
}

static const ckpt_entry *find(const ckpt *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->entries[i].name, name))
            return &c->entries[i];
    return NULL;
}

/* The entry called name, emptied (a new one when absent); NULL if out of
 * memory. */
static ckpt_entry *slot(ckpt *c, const char *name)
{
    ckpt_entry *e = (ckpt_entry *)find(c, name);
    if (!e) {
        if (c->n == c->cap) {
            int cap = c->cap ? 2 * c->cap : 32;
            ckpt_entry *grown = realloc(c->entries, (size_t)cap * sizeof *grown);
            if (!grown)
                return NULL;
            c->entries = grown;
            c->cap = cap;
        }
        e = &c->entries[c->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", name);
    }
    free(e->floats);
    e->floats = NULL;
    return e;
}

int ckpt_put_number(ckpt *c, const char *name, double value)
{
    ckpt_entry *e = slot(c, name);
    if (!e)
        return DL_ERR;
    e->is_array = 0;
    e->number = value;
    return DL_OK;
}

int ckpt_put_floats(ckpt *c, const char *name, const float *host, size_t n)
{
    ckpt_entry *e = slot(c, name);
    if (!e || !(e->floats = malloc((n ? n : 1) * sizeof(float))))
        return DL_ERR;
    memcpy(e->floats, host, n * sizeof(float));
    e->is_array = 1;
    e->n = n;
    return DL_OK;
}

int ckpt_get_number(const ckpt *c, const char *name, double *value, dl_err *err)
{
    const ckpt_entry *e = find(c, name);
    if (!e || e->is_array)
        return dl_fail(err, DL_EXIT_FAIL, "checkpoint state has no number '%s'", name);
    *value = e->number;
    return DL_OK;
}

int ckpt_get_floats(const ckpt *c, const char *name, float *host, size_t n, dl_err *err)
{
    const ckpt_entry *e = find(c, name);
    if (!e || !e->is_array)
        return dl_fail(err, DL_EXIT_FAIL, "checkpoint state has no array '%s'", name);
    if (e->n != n)
        return dl_fail(err, DL_EXIT_FAIL, "checkpoint array '%s' holds %zu values, expected %zu",
                       name, e->n, n);
    memcpy(host, e->floats, n * sizeof(float));
    return DL_OK;
}
