/* common.c: error reports, shapes, family lookup. */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dl_fail(dl_err *err, int exit_code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->exit_code = exit_code;
    }
    return DL_ERR;
}

void dl_err_prefix(dl_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* truncation of an over-long message is acceptable */
    size_t used = (size_t)snprintf(err->msg, sizeof err->msg, "%s: ", prefix);
    if (used < sizeof err->msg)
        memcpy(err->msg + used, old, strnlen(old, sizeof err->msg - used - 1) + 1);
    err->msg[sizeof err->msg - 1] = '\0';
}

size_t dl_shape_size(const dl_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= (size_t)s->dim[i];
    return n;
}

void dl_shape_format(const dl_shape *s, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "(None");
    for (int i = 0; i < s->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, ", %d", s->dim[i]);
    if (used < n)
        snprintf(buf + used, n - used, ")");
}

const dl_kind *dl_family_find(const dl_family *f, const char *name)
{
    for (int i = 0; i < f->n; i++) {
        const dl_kind *k = f->kinds[i];
        if (!strcmp(k->name, name) || (k->alias && !strcmp(k->alias, name)) ||
            (k->alias2 && !strcmp(k->alias2, name)))
            return k;
    }
    return NULL;
}
