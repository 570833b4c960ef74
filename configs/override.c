/* override.c: `--set PATH=VALUE` edits of a parsed config tree.
 *
 * PATH is key(.key|[index])* with keys of letters, digits, '_' and '-';
 * VALUE is YAML, parsed with the whole "--set PATH=VALUE" text as its
 * origin so that later messages about it name the override. Every check is
 * made before the tree changes, so a failed override leaves it as it was. */
#include "configs/tree.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *key;    /* NUL-terminated (in override_request.keys); NULL for an index */
    int index;
    int end;            /* length of the path up to and including this part */
} override_part;

typedef struct {
    const char *assignment;
    const char *path;   /* = assignment, which the path starts */
    char *keys;         /* a copy of the path with each key NUL-terminated */
    override_part parts[CFG_MAX_DEPTH];
    int n_parts;
    dl_err *err;
} override_request;

static int override_fail(const override_request *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int override_fail(const override_request *o, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dl_fail(o->err, DL_EXIT_USAGE, "--set %s: %s", o->assignment, what);
}

static int override_is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* Splits path[0..len) into parts. Positions in messages count from 1. */
static int override_parse_path(override_request *o, int len)
{
    const char *p = o->path;
    int i = 0;
    while (i < len) {
        if (o->n_parts == CFG_MAX_DEPTH)
            return override_fail(o, "the path has more than %d parts", CFG_MAX_DEPTH);
        override_part *part = &o->parts[o->n_parts];
        if (p[i] == '[' && i > 0) {
            int start = ++i;
            long long index = 0;
            while (i < len && p[i] >= '0' && p[i] <= '9' && index <= INT_MAX)
                index = index * 10 + (p[i++] - '0');
            if (i == start)
                return override_fail(o, "bad path at character %d: expected an index "
                                     "(a number) after '['", i + 1);
            if (index > INT_MAX)
                return override_fail(o, "bad path at character %d: index too large", start + 1);
            if (i == len || p[i] != ']')
                return override_fail(o, "bad path at character %d: expected ']'", i + 1);
            *part = (override_part){.index = (int)index, .end = ++i};
        } else {
            if (i > 0 && p[i++] != '.')
                return override_fail(o, "bad path at character %d: expected '.' or '[' "
                                     "after '%.*s'", i, i - 1, p);
            int start = i;
            while (i < len && override_is_key_char(p[i]))
                i++;
            if (i == start)
                return override_fail(o, "bad path at character %d: expected a key (letters, "
                                     "digits, '_' or '-')", i + 1);
            o->keys[i] = '\0';
            *part = (override_part){.key = o->keys + start, .end = i};
        }
        o->n_parts++;
    }
    if (!o->n_parts)
        return override_fail(o, "empty path before '='");
    return DL_OK;
}

static const char *override_kind(const cfg_node *n)
{
    return n->type == CFG_MAP ? "a mapping" : n->type == CFG_SEQ ? "a list" : "a scalar";
}

/* Finds the slot that part k names in `at`; *slot is NULL for a missing
 * mapping key. Going into a scalar, a key of a list, an index of a
 * mapping or an index out of range are errors. */
static int override_find(const override_request *o, int k, cfg_node *at, cfg_node ***slot)
{
    const override_part *part = &o->parts[k];
    /* "model.layers" names the parent of part k in messages. */
    const char *parent = k ? o->path : "the document";
    int parent_len = k ? o->parts[k - 1].end : (int)strlen(parent);
    *slot = NULL;
    if (part->key) {
        if (at->type != CFG_MAP)
            return override_fail(o, "%.*s: %.*s is %s, not a mapping%s", part->end, o->path,
                                 parent_len, parent, override_kind(at),
                                 at->type == CFG_SEQ ? " (index it with [N])" : "");
        for (int i = 0; i < at->n && !*slot; i++)
            if (!strcmp(at->keys[i]->value, part->key))
                *slot = &at->items[i];
        return DL_OK;
    }
    if (at->type != CFG_SEQ)
        return override_fail(o, "%.*s: %.*s is %s, not a list", part->end, o->path, parent_len,
                             parent, override_kind(at));
    if (part->index >= at->n)
        return override_fail(o, "%.*s: index %d is out of range (%.*s has %d item%s)",
                             part->end, o->path, part->index, parent_len, parent, at->n,
                             at->n == 1 ? "" : "s");
    *slot = &at->items[part->index];
    return DL_OK;
}

/* Nodes made by an override carry its origin, so messages about them name it. */
static void override_adopt_origin(cfg_node *n, const cfg_node *from)
{
    n->origin = from->origin;
    n->origin_refs = from->origin_refs;
    if (n->origin_refs)
        ++*n->origin_refs;
}

/* Collection levels in n (0 for a scalar); n is at most CFG_MAX_DEPTH deep. */
static int override_height(const cfg_node *n)
{
    int height = 0;
    for (int i = 0; n->type != CFG_SCALAR && i < n->n; i++) {
        int h = override_height(n->items[i]);
        if (h > height)
            height = h;
    }
    return n->type == CFG_SCALAR ? 0 : height + 1;
}

/* Walks the existing part of the path, then builds the missing mappings
 * down to the last part and puts value there. A null in the middle of the
 * path counts as missing. */
static int override_place(const override_request *o, cfg_node *root, cfg_node *value)
{
    cfg_node *at = root, **slot;
    int k = 0;
    for (;; k++) {
        if (override_find(o, k, at, &slot))
            return DL_ERR;
        if (k + 1 == o->n_parts || !slot || cfg_is_null(*slot))
            break;
        at = *slot;
    }
    for (int j = k + 1; j < o->n_parts; j++)
        if (!o->parts[j].key)
            return override_fail(o, "%.*s: %.*s %s, so it has no index %d", o->parts[j].end,
                                 o->path, o->parts[j - 1].end, o->path,
                                 j == k + 1 && slot ? "is null" : "does not exist",
                                 o->parts[j].index);
    for (; k < o->n_parts; k++) {
        cfg_node *next = value;
        if (k + 1 < o->n_parts) {
            next = cfg_new_map();
            override_adopt_origin(next, value);
        }
        if (slot) {
            cfg_free(*slot);
            *slot = next;
        } else {
            cfg_map_set(at, o->parts[k].key, next);
            override_adopt_origin(at->keys[at->n - 1], value);
        }
        at = next;
        slot = NULL;
    }
    return DL_OK;
}

int cfg_apply_override(cfg_node *root, const char *assignment, dl_err *err)
{
    override_request o = {.assignment = assignment, .path = assignment, .err = err};
    const char *equals = strchr(assignment, '=');
    if (!equals)
        return override_fail(&o, "missing '=' at character %d (expected PATH=VALUE)",
                             (int)strlen(assignment) + 1);
    const char *text = equals + 1;
    size_t origin_len = strlen(assignment) + sizeof "--set ";
    char *origin = malloc(origin_len);
    o.keys = strndup(assignment, (size_t)(equals - assignment));
    if (!origin || !o.keys) {
        free(origin);
        free(o.keys);
        return dl_fail(err, DL_EXIT_FAIL, "--set %s: out of memory", assignment);
    }
    snprintf(origin, origin_len, "--set %s", assignment);
    cfg_node *value = NULL;
    int rc = override_parse_path(&o, (int)(equals - assignment));
    if (rc == DL_OK)
        rc = cfg_parse_string(text, strlen(text), origin, &value, err);
    free(origin);
    /* An empty VALUE is null, not the empty mapping of an empty document. */
    if (rc == DL_OK && !text[strspn(text, " \t")]) {
        cfg_node *null_value = cfg_new_scalar("", 1);
        override_adopt_origin(null_value, value);
        cfg_free(value);
        value = null_value;
    }
    /* Trees stay within CFG_MAX_DEPTH levels; the recursion in tree.c
     * relies on it. */
    if (rc == DL_OK && o.n_parts + override_height(value) > CFG_MAX_DEPTH)
        rc = override_fail(&o, "the path and the value nest deeper than %d levels",
                           CFG_MAX_DEPTH);
    if (rc == DL_OK)
        rc = override_place(&o, root, value);
    if (rc != DL_OK)
        cfg_free(value);
    free(o.keys);
    return rc;
}
