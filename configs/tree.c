/* tree.c: the YAML node tree: builders, lookups, copies, positions.
 *
 * The builders have no error channel (tree.h), so running out of memory
 * here ends the process with a message and exit code 1.
 *
 * cfg_copy and cfg_free recurse over the tree; the parser and the overrides
 * keep every tree they build within CFG_MAX_DEPTH levels, so the depth is
 * bounded. */
#include "configs/tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *tree_alloc(void *old, size_t size)
{
    void *p = realloc(old, size ? size : 1);
    if (!p) {
        fputs("dltrain: out of memory\n", stderr);
        exit(DL_EXIT_FAIL);
    }
    return p;
}

static cfg_node *tree_new_node(cfg_type type)
{
    cfg_node *n = tree_alloc(NULL, sizeof *n);
    memset(n, 0, sizeof *n);
    n->type = type;
    return n;
}

static char *tree_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    return memcpy(tree_alloc(NULL, len), s, len);
}

cfg_node *cfg_new_scalar(const char *text, int plain)
{
    cfg_node *n = tree_new_node(CFG_SCALAR);
    n->value = tree_strdup(text);
    n->plain = plain;
    return n;
}

cfg_node *cfg_new_map(void)
{
    return tree_new_node(CFG_MAP);
}

cfg_node *cfg_new_seq(void)
{
    return tree_new_node(CFG_SEQ);
}

/* Room for one more entry (and its key, for a mapping). */
static void tree_reserve(cfg_node *n)
{
    if (n->n < n->cap)
        return;
    int cap = n->cap ? n->cap * 2 : 4;
    n->items = tree_alloc(n->items, (size_t)cap * sizeof *n->items);
    if (n->type == CFG_MAP)
        n->keys = tree_alloc(n->keys, (size_t)cap * sizeof *n->keys);
    n->cap = cap;
}

void cfg_map_set(cfg_node *map, const char *key, cfg_node *value)
{
    for (int i = 0; i < map->n; i++) {
        if (!strcmp(map->keys[i]->value, key)) {
            cfg_free(map->items[i]);
            map->items[i] = value;
            return;
        }
    }
    tree_reserve(map);
    map->keys[map->n] = cfg_new_scalar(key, 1);
    map->items[map->n++] = value;
}

void cfg_seq_push(cfg_node *seq, cfg_node *item)
{
    tree_reserve(seq);
    seq->items[seq->n++] = item;
}

cfg_node *cfg_map_get(const cfg_node *map, const char *key)
{
    if (!map || map->type != CFG_MAP)
        return NULL;
    for (int i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i]->value, key))
            return map->items[i];
    return NULL;
}

cfg_node *cfg_copy(const cfg_node *n)
{
    if (!n)
        return NULL;
    cfg_node *c = tree_new_node(n->type);
    c->plain = n->plain;
    c->line = n->line;
    c->col = n->col;
    c->origin = n->origin;
    c->origin_refs = n->origin_refs;
    if (c->origin_refs)
        ++*c->origin_refs;
    if (n->type == CFG_SCALAR) {
        c->value = tree_strdup(n->value);
        return c;
    }
    if (n->n > 0) {
        c->cap = n->n;
        c->items = tree_alloc(NULL, (size_t)n->n * sizeof *c->items);
        if (n->type == CFG_MAP)
            c->keys = tree_alloc(NULL, (size_t)n->n * sizeof *c->keys);
    }
    for (int i = 0; i < n->n; i++) {
        if (n->type == CFG_MAP)
            c->keys[i] = cfg_copy(n->keys[i]);
        c->items[i] = cfg_copy(n->items[i]);
    }
    c->n = n->n;
    return c;
}

void cfg_free(cfg_node *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++) {
        if (n->type == CFG_MAP)
            cfg_free(n->keys[i]);
        cfg_free(n->items[i]);
    }
    if (n->origin_refs && --*n->origin_refs == 0)
        free(n->origin_refs);
    free(n->keys);
    free(n->items);
    free(n->value);
    free(n);
}

int cfg_is_null(const cfg_node *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (!n || n->type != CFG_SCALAR || !n->plain)
        return 0;
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (!strcmp(n->value, nulls[i]))
            return 1;
    return 0;
}

const char *cfg_where(const cfg_node *n, char *buf, size_t len)
{
    if (!n || !n->origin)
        snprintf(buf, len, "(generated)");
    else if (!strncmp(n->origin, "--set ", 6))
        snprintf(buf, len, "%s", n->origin);
    else
        snprintf(buf, len, "%s:%d:%d", n->origin, n->line, n->col);
    return buf;
}
