/* schema_read.c: YAML tree -> args structs, from the argument tables. Every
 * key is checked; every error names where, the key path, what was expected
 * and what was found, with a did-you-mean for near misses. */
#include "configs/schema.h"
#include "configs/suggest.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "where: path: message" with exit code 2. */
static int fail_at(dl_err *err, const cfg_node *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(dl_err *err, const cfg_node *n, const char *path, const char *fmt, ...)
{
    char where[512], msg[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n)
        return dl_fail(err, DL_EXIT_USAGE, "%s: %s: %s", cfg_where(n, where, sizeof where), path,
                       msg);
    return dl_fail(err, DL_EXIT_USAGE, "%s: %s", path, msg);
}

static const char *describe(const cfg_node *n, char *buf, size_t len)
{
    if (!n || cfg_is_null(n))
        snprintf(buf, len, "null");
    else if (n->type == CFG_MAP)
        snprintf(buf, len, "a mapping");
    else if (n->type == CFG_SEQ)
        snprintf(buf, len, "a list");
    else
        snprintf(buf, len, "%s\"%.80s\"", n->plain ? "" : "the string ", n->value);
    return buf;
}

static int parse_int(const cfg_node *n, long long *v)
{
    if (!n || n->type != CFG_SCALAR || !n->plain || !n->value[0])
        return 0;
    errno = 0;
    char *end;
    *v = strtoll(n->value, &end, 10);
    return errno == 0 && *end == '\0';
}

static int parse_float(const cfg_node *n, double *v)
{
    if (!n || n->type != CFG_SCALAR || !n->plain || !n->value[0] || strpbrk(n->value, "xX"))
        return 0;
    char *end;
    *v = strtod(n->value, &end);
    return *end == '\0' && isfinite(*v);
}

/* "a positive integer", "a number in (0, 1]", ... for messages. */
static void expected_text(const dl_arg *a, char *buf, size_t len)
{
    int is_int = a->type == DL_ARG_INT || a->type == DL_ARG_TUPLE;
    const char *what = is_int ? "an integer" : "a number";
    int ranged = a->min != a->max;
    switch (a->type) {
    case DL_ARG_BOOL: snprintf(buf, len, "true or false"); return;
    case DL_ARG_STRING: snprintf(buf, len, "a string"); return;
    case DL_ARG_SHAPE: snprintf(buf, len, "a list of 1 to %d positive integers", DL_MAX_DIMS);
        return;
    case DL_ARG_STRINGS: snprintf(buf, len, "a list of strings"); return;
    case DL_ARG_FLOATS: snprintf(buf, len, "a number or a list of numbers"); return;
    case DL_ARG_SECTION: snprintf(buf, len, "a mapping"); return;
    case DL_ARG_KIND:
    case DL_ARG_KINDS:
        snprintf(buf, len, "%s %s", a->type == DL_ARG_KINDS ? "a list of" : "a", a->family->what);
        return;
    case DL_ARG_ENUM: {
        size_t used = (size_t)snprintf(buf, len, "one of");
        for (int i = 0; a->choices[i] && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s %.*s", i ? "," : "",
                                     (int)strcspn(a->choices[i], "|"), a->choices[i]);
        return;
    }
    default: break;
    }
    if (!ranged)
        snprintf(buf, len, "%s", what);
    else if (is_int && a->min == 1 && a->max >= 1e6)
        snprintf(buf, len, "a positive integer");
    else if (is_int && a->min == 0 && a->max >= 1e6)
        snprintf(buf, len, "a non-negative integer");
    else if (a->max >= 1e29)
        snprintf(buf, len, "%s %s %.10g", what, a->flags & DL_ARG_MIN_OPEN ? ">" : ">=",
                 a->min);
    else
        snprintf(buf, len, "%s in %c%.10g, %.10g%c", what, a->flags & DL_ARG_MIN_OPEN ? '(' : '[',
                 a->min, a->max, a->flags & DL_ARG_MAX_OPEN ? ')' : ']');
    if (a->type == DL_ARG_TUPLE && a->len > 1) {
        char one[128];
        snprintf(one, sizeof one, "%s", buf);
        snprintf(buf, len, "%s or a list of %d of them", one, a->len);
    }
}

static int in_range(const dl_arg *a, double v)
{
    if (a->min == a->max)
        return 1;
    if (v < a->min || (v == a->min && (a->flags & DL_ARG_MIN_OPEN)))
        return 0;
    return !(v > a->max || (v == a->max && (a->flags & DL_ARG_MAX_OPEN)));
}

static int expect_fail(dl_err *err, const dl_arg *a, const cfg_node *n, const char *path)
{
    char want[512], got[160];
    expected_text(a, want, sizeof want);
    const char *hint = n && n->type == CFG_SCALAR && !n->plain &&
                               (a->type == DL_ARG_INT || a->type == DL_ARG_FLOAT ||
                                a->type == DL_ARG_BOOL)
                           ? " (remove the quotes)"
                           : "";
    return fail_at(err, n, path, "expected %s, got %s%s", want, describe(n, got, sizeof got),
                   hint);
}

static int read_int(const dl_arg *a, const cfg_node *n, const char *path, int *out, dl_err *err)
{
    long long v;
    if (!parse_int(n, &v) || v < -2147483647LL || v > 2147483647LL || !in_range(a, (double)v))
        return expect_fail(err, a, n, path);
    *out = (int)v;
    return DL_OK;
}

static int choice_index(const char *const *choices, const char *s)
{
    for (int i = 0; choices[i]; i++) {
        const char *c = choices[i];
        while (*c) {
            size_t len = strcspn(c, "|");
            if (strlen(s) == len && !strncmp(c, s, len))
                return i;
            c += len + (c[len] == '|');
        }
    }
    return -1;
}

static int read_enum(const dl_arg *a, const cfg_node *n, const char *path, int *out, dl_err *err)
{
    int i = n && n->type == CFG_SCALAR ? choice_index(a->choices, n->value) : -1;
    if (i >= 0) {
        *out = i;
        return DL_OK;
    }
    if (n && n->type == CFG_SCALAR) {
        const char *names[64];
        char spelled[64][48];
        int count = 0;
        for (int c = 0; a->choices[c] && count < 64; c++) {
            const char *s = a->choices[c];
            while (*s && count < 64) {
                size_t len = strcspn(s, "|");
                snprintf(spelled[count], sizeof spelled[count], "%.*s", (int)len, s);
                names[count] = spelled[count];
                count++;
                s += len + (s[len] == '|');
            }
        }
        const char *near = cfg_suggest(n->value, names, count);
        if (near) {
            char want[512];
            expected_text(a, want, sizeof want);
            return fail_at(err, n, path, "unknown value \"%s\"; did you mean '%s'? (%s)",
                           n->value, near, want);
        }
    }
    return expect_fail(err, a, n, path);
}

static int read_list_header(const dl_arg *a, const cfg_node *n, const char *path, dl_err *err)
{
    if (!n || n->type != CFG_SEQ)
        return expect_fail(err, a, n, path);
    return DL_OK;
}

static int read_tuple(const dl_arg *a, const cfg_node *n, const char *path, dl_tuple *out,
                      dl_err *err)
{
    memset(out, 0, sizeof *out);
    if (cfg_is_null(n) && (a->flags & DL_ARG_NULLABLE))
        return DL_OK;
    if (n && n->type == CFG_SCALAR) {
        if (read_int(a, n, path, &out->v[0], err))
            return DL_ERR;
        out->n = a->len;
        for (int i = 1; i < a->len; i++)
            out->v[i] = out->v[0];
        return DL_OK;
    }
    if (!n || n->type != CFG_SEQ || n->n != a->len)
        return expect_fail(err, a, n, path);
    for (int i = 0; i < n->n; i++)
        if (read_int(a, n->items[i], path, &out->v[i], err))
            return DL_ERR;
    out->n = a->len;
    return DL_OK;
}

static int read_shape(const dl_arg *a, const cfg_node *n, const char *path, dl_shape *out,
                      dl_err *err)
{
    memset(out, 0, sizeof *out);
    if (read_list_header(a, n, path, err))
        return DL_ERR;
    if (n->n < 1 || n->n > DL_MAX_DIMS)
        return expect_fail(err, a, n, path);
    int unknowns = 0;
    for (int i = 0; i < n->n; i++) {
        long long v;
        const cfg_node *item = n->items[i];
        int ok = parse_int(item, &v) && v <= (1 << 30) &&
                 (v > 0 || (v == -1 && (a->flags & DL_ARG_NEG_ONE) && !unknowns++));
        if (!ok) {
            char got[160];
            return fail_at(err, item, path, "entry %d: expected a positive integer%s, got %s", i,
                           a->flags & DL_ARG_NEG_ONE ? " (or one -1)" : "",
                           describe(item, got, sizeof got));
        }
        out->dim[i] = (int)v;
    }
    out->ndim = n->n;
    return DL_OK;
}

static int read_strings(cfg_arena *arena, const dl_arg *a, const cfg_node *n, const char *path,
                        dl_strings *out, dl_err *err)
{
    memset(out, 0, sizeof *out);
    if (read_list_header(a, n, path, err))
        return DL_ERR;
    out->v = cfg_arena_alloc(arena, sizeof(char *) * (size_t)(n->n + 1));
    if (!out->v)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (int i = 0; i < n->n; i++) {
        const cfg_node *item = n->items[i];
        if (item->type != CFG_SCALAR || cfg_is_null(item))
            return expect_fail(err, a, item, path);
        if (!(out->v[i] = cfg_arena_strdup(arena, item->value)))
            return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    }
    out->n = n->n;
    return DL_OK;
}

/* A list of numbers; a single number is a list of one (factor: 0.2); a
 * nullable one reads null as the empty list. */
static int read_floats(cfg_arena *arena, const dl_arg *a, const cfg_node *n, const char *path,
                       dl_floats *out, dl_err *err)
{
    memset(out, 0, sizeof *out);
    if (cfg_is_null(n) && (a->flags & DL_ARG_NULLABLE))
        return DL_OK;
    if (n && n->type == CFG_SCALAR) {
        out->v = cfg_arena_alloc(arena, sizeof(double));
        if (!out->v)
            return dl_fail(err, DL_EXIT_FAIL, "out of memory");
        if (!parse_float(n, &out->v[0]) || !in_range(a, out->v[0]))
            return expect_fail(err, a, n, path);
        out->n = 1;
        return DL_OK;
    }
    if (read_list_header(a, n, path, err))
        return DL_ERR;
    out->v = cfg_arena_alloc(arena, sizeof(double) * (size_t)(n->n + 1));
    if (!out->v)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (int i = 0; i < n->n; i++)
        if (!parse_float(n->items[i], &out->v[i]) || !in_range(a, out->v[i]))
            return expect_fail(err, a, n->items[i], path);
    out->n = n->n;
    return DL_OK;
}

/* at: where to point when the mapping is absent (a bare kind name); skip:
 * a key that is not an argument (the selector) or is set by the caller. */
static int read_table_skip(cfg_arena *arena, const dl_arg *table, void *out, const cfg_node *map,
                           const cfg_node *at, const char *path, const char *skip, dl_err *err);

static int read_kinds(cfg_arena *arena, const dl_arg *a, const cfg_node *n, const char *path,
                      dl_kind_list *out, dl_err *err)
{
    memset(out, 0, sizeof *out);
    if (cfg_is_null(n) && (a->flags & DL_ARG_NULLABLE))
        return DL_OK;
    if (read_list_header(a, n, path, err))
        return DL_ERR;
    out->v = cfg_arena_alloc(arena, sizeof(dl_kind_ref) * (size_t)(n->n + 1));
    if (!out->v)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (int i = 0; i < n->n; i++) {
        char item_path[512];
        snprintf(item_path, sizeof item_path, "%s[%d]", path, i);
        if (cfg_read_kind(arena, a->family, n->items[i], item_path, &out->v[i], err))
            return DL_ERR;
        out->n = i + 1;
    }
    return DL_OK;
}

/* Reads one value of row `a` from node n (never NULL here) into field. */
static int read_value(cfg_arena *arena, const dl_arg *a, const cfg_node *n, const char *path,
                      void *field, dl_err *err)
{
    int nullable = (a->flags & DL_ARG_NULLABLE) != 0;
    int is_null = cfg_is_null(n);
    if (is_null && !nullable && a->type != DL_ARG_SECTION)
        return expect_fail(err, a, n, path);
    switch (a->type) {
    case DL_ARG_INT:
        return read_int(a, n, path, field, err);
    case DL_ARG_FLOAT: {
        double v = NAN;
        if (!is_null && (!parse_float(n, &v) || !in_range(a, v)))
            return expect_fail(err, a, n, path);
        *(double *)field = v;
        return DL_OK;
    }
    case DL_ARG_BOOL: {
        static const char *const bools[] = {"false|False|FALSE", "true|True|TRUE", NULL};
        int v = n->type == CFG_SCALAR && n->plain ? choice_index(bools, n->value) : -1;
        if (v < 0)
            return expect_fail(err, a, n, path);
        *(int *)field = v;
        return DL_OK;
    }
    case DL_ARG_STRING:
        if (is_null) {
            *(char **)field = NULL;
            return DL_OK;
        }
        if (n->type != CFG_SCALAR)
            return expect_fail(err, a, n, path);
        if (!(*(char **)field = cfg_arena_strdup(arena, n->value)))
            return dl_fail(err, DL_EXIT_FAIL, "out of memory");
        return DL_OK;
    case DL_ARG_ENUM:
        return read_enum(a, n, path, field, err);
    case DL_ARG_TUPLE:
        return read_tuple(a, n, path, field, err);
    case DL_ARG_SHAPE:
        return read_shape(a, n, path, field, err);
    case DL_ARG_STRINGS:
        return read_strings(arena, a, n, path, field, err);
    case DL_ARG_FLOATS:
        return read_floats(arena, a, n, path, field, err);
    case DL_ARG_KIND:
        if (is_null) {
            memset(field, 0, sizeof(dl_kind_ref));
            return DL_OK;
        }
        return cfg_read_kind(arena, a->family, n, path, field, err);
    case DL_ARG_KINDS:
        return read_kinds(arena, a, n, path, field, err);
    case DL_ARG_SECTION:
        if (!is_null && n->type != CFG_MAP)
            return expect_fail(err, a, n, path);
        return read_table_skip(arena, a->fields, field, is_null ? NULL : n, n, path, NULL, err);
    }
    return expect_fail(err, a, n, path);
}

static int unknown_key(const dl_arg *table, const cfg_node *key, const char *path,
                       const char *skip, dl_err *err)
{
    const char *names[96];
    char valid[1024] = "";
    size_t used = 0;
    int count = 0;
    for (const dl_arg *a = table; a->key && count < 96; a++) {
        names[count++] = a->key;
        used += (size_t)snprintf(valid + used, used < sizeof valid ? sizeof valid - used : 0,
                                 "%s%s", count > 1 ? ", " : "", a->key);
    }
    if (skip && count < 96)
        names[count++] = skip;
    char full[600];
    snprintf(full, sizeof full, "%s%s%s", path, path[0] ? "." : "", key->value);
    const char *near = cfg_suggest(key->value, names, count);
    if (near)
        return fail_at(err, key, full, "unknown key; did you mean '%s'?", near);
    if (!count)
        return fail_at(err, key, full, "unknown key (%s takes no arguments)", path);
    return fail_at(err, key, full, "unknown key (valid keys: %s)", valid);
}

static int read_table_skip(cfg_arena *arena, const dl_arg *table, void *out, const cfg_node *map,
                           const cfg_node *at, const char *path, const char *skip, dl_err *err)
{
    if (map && map->type != CFG_MAP)
        return fail_at(err, map, path, "expected a mapping of arguments, got %s",
                       describe(map, (char[160]){0}, 160));
    for (int i = 0; map && i < map->n; i++) {
        const char *key = map->keys[i]->value;
        if (skip && !strcmp(key, skip))
            continue;
        const dl_arg *a = table;
        while (a->key && strcmp(a->key, key))
            a++;
        if (!a->key)
            return unknown_key(table, map->keys[i], path, skip, err);
    }
    for (const dl_arg *a = table; a->key; a++) {
        char key_path[600];
        if (skip && !strcmp(a->key, skip))
            continue;
        snprintf(key_path, sizeof key_path, "%s%s%s", path, path[0] ? "." : "", a->key);
        void *field = (char *)out + a->offset;
        const cfg_node *n = map ? cfg_map_get(map, a->key) : NULL;
        if (n) {
            if (read_value(arena, a, n, key_path, field, err))
                return DL_ERR;
            continue;
        }
        if (!a->def) {
            char want[512];
            expected_text(a, want, sizeof want);
            return fail_at(err, map ? map : at, path, "missing required key '%s' (%s)", a->key,
                           want);
        }
        cfg_node *def = NULL;
        if (cfg_parse_string(a->def, strlen(a->def), "default", &def, err))
            return DL_ERR;
        int rc = read_value(arena, a, def, key_path, field, err);
        cfg_free(def);
        if (rc)
            return DL_ERR;
    }
    return DL_OK;
}

int cfg_read_table(cfg_arena *arena, const dl_arg *table, void *out, const cfg_node *map,
                   const char *path, dl_err *err)
{
    return read_table_skip(arena, table, out, map, map, path, NULL, err);
}

static int unknown_kind(const dl_family *f, const cfg_node *name, const char *path, dl_err *err)
{
    const char *names[128];
    int count = 0;
    /* the lower-case spellings first: on a tie they are the suggestion */
    for (int i = 0; i < f->n && count < 125; i++) {
        if (f->kinds[i]->alias)
            names[count++] = f->kinds[i]->alias;
        if (f->kinds[i]->alias2)
            names[count++] = f->kinds[i]->alias2;
        names[count++] = f->kinds[i]->name;
    }
    const char *near = cfg_suggest(name->value, names, count);
    if (near)
        return fail_at(err, name, path, "unknown %s '%s'; did you mean '%s'?", f->what,
                       name->value, near);
    char valid[1024];
    size_t used = 0;
    for (int i = 0; i < f->n && used < sizeof valid; i++)
        used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%s", i ? ", " : "",
                                 f->kinds[i]->alias ? f->kinds[i]->alias : f->kinds[i]->name);
    return fail_at(err, name, path, "unknown %s '%s' (known: %s)", f->what, name->value, valid);
}

/* Sets the first argument of a number_kind from a bare number. */
static int read_number_kind(cfg_arena *arena, const dl_family *f, const cfg_node *node,
                            const char *path, dl_kind_ref *out, double v, dl_err *err)
{
    const dl_kind *k = f->number_kind;
    out->kind = k;
    if (!(out->args = cfg_arena_alloc(arena, k->args_size)))
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    if (read_table_skip(arena, k->args, out->args, NULL, node, path, k->args[0].key, err))
        return DL_ERR;
    if (!in_range(&k->args[0], v))
        return expect_fail(err, &k->args[0], node, path);
    *(double *)((char *)out->args + k->args[0].offset) = v;
    return DL_OK;
}

int cfg_read_kind(cfg_arena *arena, const dl_family *f, const cfg_node *node, const char *path,
                  dl_kind_ref *out, dl_err *err)
{
    const char *selector = f->selector ? f->selector : "class_name";
    const cfg_node *name = NULL, *args = NULL;
    char where[512], got[160], sub_path[600];
    double number;
    memset(out, 0, sizeof *out);
    if (node && !(out->where = cfg_arena_strdup(arena, cfg_where(node, where, sizeof where))))
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    if (node && node->type == CFG_SCALAR && !cfg_is_null(node)) {
        if (f->number_kind && parse_float(node, &number))
            return read_number_kind(arena, f, node, path, out, number, err);
        name = node;
        if (!(out->written = cfg_arena_strdup(arena, node->value)))
            return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    } else if (node && node->type == CFG_MAP) {
        name = cfg_map_get(node, selector);
        if (name) {
            args = node;
        } else if (node->n == 1) {
            name = node->keys[0];
            args = node->items[0];
            if (args->type != CFG_MAP && !cfg_is_null(args))
                return fail_at(err, args, path,
                               "expected the arguments of %s as a mapping, got %s", name->value,
                               describe(args, got, sizeof got));
            if (cfg_is_null(args))
                args = NULL;
        } else {
            return fail_at(err, node, path, "expected a %s: a name, or a mapping with '%s'",
                           f->what, selector);
        }
        if (name->type != CFG_SCALAR)
            return fail_at(err, name, path, "expected a %s name, got %s", f->what,
                           describe(name, got, sizeof got));
    } else {
        return fail_at(err, node, path, "expected a %s: a name, or a mapping with '%s', got %s",
                       f->what, selector, describe(node, got, sizeof got));
    }
    const dl_kind *k = dl_family_find(f, name->value);
    if (!k)
        return unknown_kind(f, name, path, err);
    out->kind = k;
    if (!(out->args = cfg_arena_alloc(arena, k->args_size)))
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    int keyed = args && args != node;
    snprintf(sub_path, sizeof sub_path, "%s%s%s", path, keyed ? "." : "", keyed ? k->name : "");
    if (read_table_skip(arena, k->args, out->args, args, node, sub_path,
                        args == node ? selector : NULL, err))
        return DL_ERR;
    char why[512] = "";
    if (k->check && k->check(out->args, why, sizeof why))
        return fail_at(err, node, path, "%s", why);
    return DL_OK;
}
