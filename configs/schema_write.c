/* schema_write.c: args structs -> the resolved YAML tree, from the same
 * argument tables that read them, so what is written reads back the same. */
#include "configs/schema.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cfg_node *int_node(long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return cfg_new_scalar(buf, 1);
}

/* The shortest decimal that reads back as the same double. */
static cfg_node *float_node(double v)
{
    char buf[40];
    if (isnan(v))
        return cfg_new_scalar("null", 1);
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* keep it a float to the eye: 1 -> 1.0 */
    if (!strpbrk(buf, ".eEn"))
        strcat(buf, ".0");
    return cfg_new_scalar(buf, 1);
}

/* Plain identifiers and paths need no quotes; anything else is quoted. */
static cfg_node *string_node(const char *s)
{
    static const char *const special[] = {"true", "false", "null", "yes", "no", "on", "off",
                                          "True", "False", "Null", "NULL", "TRUE", "FALSE",
                                          "Yes",  "No",    "~",    NULL};
    int plain = s[0] && (isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == '/');
    for (const char *c = s; plain && *c; c++)
        plain = isalnum((unsigned char)*c) || strchr("_-./", *c);
    for (int i = 0; plain && special[i]; i++)
        plain = strcmp(s, special[i]) != 0;
    return cfg_new_scalar(s, plain);
}

static cfg_node *write_value(const dl_arg *a, const void *field)
{
    cfg_node *seq;
    switch (a->type) {
    case DL_ARG_INT:
        return int_node(*(const int *)field);
    case DL_ARG_FLOAT:
        return float_node(*(const double *)field);
    case DL_ARG_BOOL:
        return cfg_new_scalar(*(const int *)field ? "true" : "false", 1);
    case DL_ARG_STRING: {
        const char *s = *(char *const *)field;
        return s ? string_node(s) : cfg_new_scalar("null", 1);
    }
    case DL_ARG_ENUM: {
        char name[64];
        const char *c = a->choices[*(const int *)field];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(c, "|"), c);
        return cfg_new_scalar(name, 1);
    }
    case DL_ARG_TUPLE: {
        const dl_tuple *t = field;
        if (!t->n)
            return cfg_new_scalar("null", 1);
        if (a->len == 1)
            return int_node(t->v[0]);
        seq = cfg_new_seq();
        for (int i = 0; i < t->n; i++)
            cfg_seq_push(seq, int_node(t->v[i]));
        return seq;
    }
    case DL_ARG_SHAPE: {
        const dl_shape *s = field;
        seq = cfg_new_seq();
        for (int i = 0; i < s->ndim; i++)
            cfg_seq_push(seq, int_node(s->dim[i]));
        return seq;
    }
    case DL_ARG_STRINGS: {
        const dl_strings *s = field;
        seq = cfg_new_seq();
        for (int i = 0; i < s->n; i++)
            cfg_seq_push(seq, string_node(s->v[i]));
        return seq;
    }
    case DL_ARG_FLOATS: {
        const dl_floats *f = field;
        if (!f->n && (a->flags & DL_ARG_NULLABLE))
            return cfg_new_scalar("null", 1);
        seq = cfg_new_seq();
        for (int i = 0; i < f->n; i++)
            cfg_seq_push(seq, float_node(f->v[i]));
        return seq;
    }
    case DL_ARG_KIND: {
        const dl_kind_ref *r = field;
        return r->kind ? cfg_write_kind(r, a->family, 0) : cfg_new_scalar("null", 1);
    }
    case DL_ARG_KINDS: {
        const dl_kind_list *l = field;
        seq = cfg_new_seq();
        for (int i = 0; i < l->n; i++)
            cfg_seq_push(seq, cfg_write_kind(&l->v[i], a->family, 1));
        return seq;
    }
    case DL_ARG_SECTION:
        return cfg_write_table(a->fields, field);
    }
    return cfg_new_scalar("null", 1);
}

cfg_node *cfg_write_table(const dl_arg *table, const void *in)
{
    cfg_node *map = cfg_new_map();
    for (const dl_arg *a = table; a->key; a++)
        cfg_map_set(map, a->key, write_value(a, (const char *)in + a->offset));
    return map;
}

/* Whether every argument of ref equals its default (so the bare name says
 * it all). Compares the written YAML of both. */
static int all_defaults(const dl_kind_ref *ref, const cfg_node *args)
{
    cfg_arena *arena = cfg_arena_new();
    void *defaults = arena ? cfg_arena_alloc(arena, ref->kind->args_size) : NULL;
    int same = 0;
    if (defaults && cfg_read_table(arena, ref->kind->args, defaults, NULL, "", NULL) == DL_OK) {
        cfg_node *def = cfg_write_table(ref->kind->args, defaults);
        char *a = cfg_emit(args), *b = cfg_emit(def);
        same = a && b && !strcmp(a, b);
        free(a);
        free(b);
        cfg_free(def);
    }
    cfg_arena_free(arena);
    return same;
}

cfg_node *cfg_write_kind(const dl_kind_ref *ref, const dl_family *family, int keyed)
{
    const dl_kind *k = ref->kind;
    if (k == family->number_kind)
        return float_node(*(const double *)((const char *)ref->args + k->args[0].offset));
    cfg_node *args = cfg_write_table(k->args, ref->args);
    if (all_defaults(ref, args)) {
        cfg_free(args);
        return cfg_new_scalar(ref->written ? ref->written : k->alias ? k->alias : k->name, 1);
    }
    if (keyed) {
        cfg_node *map = cfg_new_map();
        cfg_map_set(map, k->name, args);
        return map;
    }
    cfg_node *map = cfg_new_map();
    cfg_map_set(map, family->selector ? family->selector : "class_name", cfg_new_scalar(k->name, 1));
    for (int i = 0; i < args->n; i++)
        cfg_map_set(map, args->keys[i]->value, cfg_copy(args->items[i]));
    cfg_free(args);
    return map;
}
