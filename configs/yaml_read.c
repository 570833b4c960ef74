/* yaml_read.c: YAML text -> cfg_node tree, with libyaml's event parser.
 *
 * The tree is built with an explicit stack of the open collections (at most
 * CFG_MAX_DEPTH of them), so hostile nesting cannot exhaust the C stack.
 * Aliases are expanded into copies; before each copy the size of the
 * anchored subtree is checked against CFG_MAX_NODES, CFG_MAX_BYTES of text
 * and CFG_MAX_DEPTH, so a "billion laughs" fails before it allocates. */
#include "configs/tree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define READ_OVERRIDE_PREFIX "--set "

/* An open collection. Nodes join their parent as soon as they start, so
 * after an error everything except a pending key hangs from the root. */
typedef struct {
    cfg_node *node;
    cfg_node *pending_key;  /* MAP: the key whose value comes next */
    char *anchor;           /* registered when the collection is complete */
    int child_height;       /* collection levels below this one */
    long nodes_at_start;    /* reader totals before this collection */
    size_t bytes_at_start;
} read_frame;

/* An anchored node and what one copy of it costs. */
typedef struct {
    char *name;
    const cfg_node *node;
    long nodes;
    size_t bytes;
    int height;             /* collection levels in the node, 0 for a scalar */
} read_anchor;

typedef struct {
    const char *text;       /* the input, to place encoding errors */
    size_t len;
    const char *origin;     /* the tree's own copy, shared by its nodes */
    int *origin_refs;
    dl_err *err;
    read_frame stack[CFG_MAX_DEPTH];
    int depth;
    cfg_node *root;
    int documents;
    long nodes;             /* nodes made so far, alias copies included */
    size_t bytes;           /* scalar text so far, alias copies included */
    read_anchor *anchors;
    int n_anchors, cap_anchors;
    int *slots;             /* hash of anchor names: index + 1, 0 = free */
    int n_slots;            /* a power of two, more than twice n_anchors */
} yaml_reader;

static int read_fail(yaml_reader *r, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int read_fail(yaml_reader *r, int line, int col, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* An override's VALUE is placed within itself. */
    if (!strncmp(r->origin, READ_OVERRIDE_PREFIX, strlen(READ_OVERRIDE_PREFIX)))
        return dl_fail(r->err, DL_EXIT_USAGE, "%s: value %d:%d: %s", r->origin, line, col, what);
    return dl_fail(r->err, DL_EXIT_USAGE, "%s:%d:%d: %s", r->origin, line, col, what);
}

static int read_oom(yaml_reader *r)
{
    return dl_fail(r->err, DL_EXIT_FAIL, "%s: out of memory", r->origin);
}

static int mark_line(yaml_mark_t m)
{
    return (int)m.line + 1;
}

static int mark_col(yaml_mark_t m)
{
    return (int)m.column + 1;
}

/* Counts one more node against CFG_MAX_NODES. */
static int read_count(yaml_reader *r, yaml_mark_t mark)
{
    if (r->nodes >= CFG_MAX_NODES)
        return read_fail(r, mark_line(mark), mark_col(mark),
                         "the document has more than %d nodes", CFG_MAX_NODES);
    r->nodes++;
    return DL_OK;
}

static void read_place(yaml_reader *r, cfg_node *n, int line, int col)
{
    n->line = line;
    n->col = col;
    n->origin = r->origin;
    n->origin_refs = r->origin_refs;
    ++*r->origin_refs;
}

/* ---- anchors ---------------------------------------------------------- */

static unsigned read_hash(const char *s)
{
    unsigned h = 2166136261u;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The slot holding `name`, or the free slot where it would go. */
static int *read_slot(const yaml_reader *r, const char *name)
{
    unsigned mask = (unsigned)r->n_slots - 1;
    for (unsigned i = read_hash(name) & mask;; i = (i + 1) & mask) {
        int *slot = &r->slots[i];
        if (!*slot || !strcmp(r->anchors[*slot - 1].name, name))
            return slot;
    }
}

static int read_anchors_grow(yaml_reader *r)
{
    if (r->n_anchors == r->cap_anchors) {
        int cap = r->cap_anchors ? r->cap_anchors * 2 : 8;
        read_anchor *anchors = realloc(r->anchors, (size_t)cap * sizeof *anchors);
        if (!anchors)
            return DL_ERR;
        r->anchors = anchors;
        r->cap_anchors = cap;
    }
    if (2 * (r->n_anchors + 1) < r->n_slots)
        return DL_OK;
    int n_slots = r->n_slots ? r->n_slots * 2 : 16;
    int *slots = calloc((size_t)n_slots, sizeof *slots);
    if (!slots)
        return DL_ERR;
    free(r->slots);
    r->slots = slots;
    r->n_slots = n_slots;
    for (int i = 0; i < r->n_anchors; i++)
        *read_slot(r, r->anchors[i].name) = i + 1;
    return DL_OK;
}

/* Registers a complete node under `name` (NULL: not anchored); a later
 * anchor of the same name replaces the earlier one, as YAML says. */
static int read_anchor_add(yaml_reader *r, const char *name, const cfg_node *node, long nodes,
                           size_t bytes, int height)
{
    if (!name)
        return DL_OK;
    if (read_anchors_grow(r))
        return read_oom(r);
    int *slot = read_slot(r, name);
    read_anchor *a = &r->anchors[*slot ? *slot - 1 : r->n_anchors];
    if (!*slot) {
        if (!(a->name = strdup(name)))
            return read_oom(r);
        *slot = ++r->n_anchors;
    }
    a->node = node;
    a->nodes = nodes;
    a->bytes = bytes;
    a->height = height;
    return DL_OK;
}

/* ---- building --------------------------------------------------------- */

static int read_map_append(cfg_node *map, cfg_node *key, cfg_node *value)
{
    if (map->n == map->cap) {
        int cap = map->cap ? map->cap * 2 : 4;
        cfg_node **keys = realloc(map->keys, (size_t)cap * sizeof *keys);
        if (!keys)
            return DL_ERR;
        map->keys = keys;
        cfg_node **items = realloc(map->items, (size_t)cap * sizeof *items);
        if (!items)
            return DL_ERR;
        map->items = items;
        map->cap = cap;
    }
    map->keys[map->n] = key;
    map->items[map->n++] = value;
    return DL_OK;
}

/* Hands a new node to the open collection (or makes it the root); the
 * node is freed if that fails. */
static int read_attach(yaml_reader *r, cfg_node *node, yaml_mark_t mark)
{
    if (r->depth == 0) {
        r->root = node;
        return DL_OK;
    }
    read_frame *f = &r->stack[r->depth - 1];
    if (f->node->type == CFG_SEQ) {
        cfg_seq_push(f->node, node);
        return DL_OK;
    }
    if (f->pending_key) {
        if (read_map_append(f->node, f->pending_key, node)) {
            cfg_free(node);
            return read_oom(r);
        }
        f->pending_key = NULL;
        return DL_OK;
    }
    if (node->type != CFG_SCALAR) {
        const char *what = node->type == CFG_MAP ? "mapping" : "list";
        cfg_free(node);
        return read_fail(r, mark_line(mark), mark_col(mark),
                         "a mapping key must be a scalar, not a %s", what);
    }
    if (node->plain && !strcmp(node->value, "<<")) {
        cfg_free(node);
        return read_fail(r, mark_line(mark), mark_col(mark),
                         "merge keys ('<<') are not supported; write the keys out");
    }
    f->pending_key = node;
    return DL_OK;
}

static int read_tag_misfit(yaml_reader *r, const char *name, cfg_type type, yaml_mark_t mark)
{
    return read_fail(r, mark_line(mark), mark_col(mark), "tag '!!%s' does not fit a %s", name,
                     type == CFG_SCALAR ? "scalar" : type == CFG_MAP ? "mapping" : "list");
}

/* Accepts the standard tags only: custom ones ("!!python/object") would
 * ask for types a config does not have. !!str and the non-specific "!" make
 * a scalar a string; !!int, !!float, !!bool and !!null make it plain. */
static int read_check_tag(yaml_reader *r, const yaml_char_t *tag_text, cfg_type type,
                          yaml_mark_t mark, int *plain)
{
    static const char yaml_tags[] = "tag:yaml.org,2002:";
    static const char *const scalar_tags[] = {"str", "int", "float", "bool", "null"};
    if (!tag_text)
        return DL_OK;
    const char *tag = (const char *)tag_text;
    if (!strcmp(tag, "!")) {
        *plain = 0;
        return DL_OK;
    }
    const char *name = strncmp(tag, yaml_tags, strlen(yaml_tags)) ? NULL : tag + strlen(yaml_tags);
    if (name && (!strcmp(name, "map") || !strcmp(name, "seq"))) {
        if (type == CFG_SCALAR || (type == CFG_MAP) != !strcmp(name, "map"))
            return read_tag_misfit(r, name, type, mark);
        return DL_OK;
    }
    for (size_t i = 0; name && i < sizeof scalar_tags / sizeof *scalar_tags; i++) {
        if (strcmp(name, scalar_tags[i]))
            continue;
        if (type != CFG_SCALAR)
            return read_tag_misfit(r, name, type, mark);
        *plain = strcmp(name, "str") != 0;
        return DL_OK;
    }
    return read_fail(r, mark_line(mark), mark_col(mark),
                     "tag '%s%s' is not supported (only the standard tags !!str, !!int, "
                     "!!float, !!bool, !!null, !!seq and !!map are)", name ? "!!" : "",
                     name ? name : tag);
}

static int read_scalar(yaml_reader *r, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    yaml_mark_t mark = ev->start_mark;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (read_check_tag(r, ev->data.scalar.tag, CFG_SCALAR, mark, &plain))
        return DL_ERR;
    if (memchr(text, '\0', len))
        return read_fail(r, mark_line(mark), mark_col(mark),
                         "a string may not contain a NUL character");
    if (read_count(r, mark))
        return DL_ERR;
    r->bytes += len;
    cfg_node *n = cfg_new_scalar(text, plain);
    read_place(r, n, mark_line(mark), mark_col(mark));
    if (read_attach(r, n, mark))
        return DL_ERR;
    return read_anchor_add(r, (const char *)ev->data.scalar.anchor, n, 1, len, 0);
}

static int read_open(yaml_reader *r, cfg_type type, const yaml_char_t *tag,
                     const yaml_char_t *anchor, yaml_mark_t mark)
{
    int plain = 0;
    if (read_check_tag(r, tag, type, mark, &plain))
        return DL_ERR;
    if (r->depth == CFG_MAX_DEPTH)
        return read_fail(r, mark_line(mark), mark_col(mark), "nesting deeper than %d levels",
                         CFG_MAX_DEPTH);
    long nodes_before = r->nodes;
    size_t bytes_before = r->bytes;
    if (read_count(r, mark))
        return DL_ERR;
    cfg_node *n = type == CFG_MAP ? cfg_new_map() : cfg_new_seq();
    read_place(r, n, mark_line(mark), mark_col(mark));
    if (read_attach(r, n, mark))
        return DL_ERR;
    char *anchor_copy = NULL;
    if (anchor && !(anchor_copy = strdup((const char *)anchor)))
        return read_oom(r);
    r->stack[r->depth++] = (read_frame){
        .node = n, .anchor = anchor_copy, .nodes_at_start = nodes_before,
        .bytes_at_start = bytes_before};
    return DL_OK;
}

typedef struct {
    const cfg_node *key;
    int index;
} read_key_ref;

static int read_key_order(const void *a, const void *b)
{
    const read_key_ref *x = a, *y = b;
    int c = strcmp(x->key->value, y->key->value);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Sorting the keys keeps a hostile mapping with many keys from costing
 * quadratic time. The first duplicate in document order is reported. */
static int read_check_duplicates(yaml_reader *r, const cfg_node *map)
{
    if (map->n < 2)
        return DL_OK;
    read_key_ref *refs = malloc((size_t)map->n * sizeof *refs);
    if (!refs)
        return read_oom(r);
    for (int i = 0; i < map->n; i++)
        refs[i] = (read_key_ref){map->keys[i], i};
    qsort(refs, (size_t)map->n, sizeof *refs, read_key_order);
    int group = 0, dup = -1, first = -1;
    for (int i = 1; i < map->n; i++) {
        if (strcmp(refs[i].key->value, refs[i - 1].key->value))
            group = i;
        else if (dup < 0 || refs[i].index < dup) {
            dup = refs[i].index;
            first = refs[group].index;
        }
    }
    free(refs);
    if (dup < 0)
        return DL_OK;
    const cfg_node *k = map->keys[dup], *f = map->keys[first];
    if (f->line == k->line)
        return read_fail(r, k->line, k->col, "duplicate key '%.80s' (first at column %d)",
                         k->value, f->col);
    return read_fail(r, k->line, k->col, "duplicate key '%.80s' (first at line %d)", k->value,
                     f->line);
}

static int read_close(yaml_reader *r)
{
    read_frame f = r->stack[--r->depth];
    int height = f.child_height + 1;
    int rc = f.node->type == CFG_MAP ? read_check_duplicates(r, f.node) : DL_OK;
    if (rc == DL_OK)
        rc = read_anchor_add(r, f.anchor, f.node, r->nodes - f.nodes_at_start,
                             r->bytes - f.bytes_at_start, height);
    free(f.anchor);
    if (r->depth > 0 && height > r->stack[r->depth - 1].child_height)
        r->stack[r->depth - 1].child_height = height;
    return rc;
}

static int read_alias(yaml_reader *r, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    yaml_mark_t mark = ev->start_mark;
    int line = mark_line(mark), col = mark_col(mark);
    int *slot = r->n_slots ? read_slot(r, name) : NULL;
    if (!slot || !*slot)
        return read_fail(r, line, col, "undefined alias '*%s'", name);
    const read_anchor *a = &r->anchors[*slot - 1];
    if (r->nodes + a->nodes > CFG_MAX_NODES)
        return read_fail(r, line, col,
                         "alias '*%s' expands the document past the limit of %d nodes", name,
                         CFG_MAX_NODES);
    if (r->bytes + a->bytes > CFG_MAX_BYTES)
        return read_fail(r, line, col,
                         "alias '*%s' expands the document past the limit of %u bytes of text",
                         name, CFG_MAX_BYTES);
    if (r->depth + a->height > CFG_MAX_DEPTH)
        return read_fail(r, line, col, "alias '*%s' nests deeper than %d levels", name,
                         CFG_MAX_DEPTH);
    r->nodes += a->nodes;
    r->bytes += a->bytes;
    int height = a->height;
    if (read_attach(r, cfg_copy(a->node), mark))
        return DL_ERR;
    if (r->depth > 0 && height > r->stack[r->depth - 1].child_height)
        r->stack[r->depth - 1].child_height = height;
    return DL_OK;
}

static int read_event(yaml_reader *r, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++r->documents > 1)
            return read_fail(r, mark_line(ev->start_mark), mark_col(ev->start_mark),
                             "a second document; a config is a single YAML document");
        return DL_OK;
    case YAML_SCALAR_EVENT:
        return read_scalar(r, ev);
    case YAML_SEQUENCE_START_EVENT:
        return read_open(r, CFG_SEQ, ev->data.sequence_start.tag,
                         ev->data.sequence_start.anchor, ev->start_mark);
    case YAML_MAPPING_START_EVENT:
        return read_open(r, CFG_MAP, ev->data.mapping_start.tag,
                         ev->data.mapping_start.anchor, ev->start_mark);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return read_close(r);
    case YAML_ALIAS_EVENT:
        return read_alias(r, ev);
    default:
        return DL_OK;
    }
}

/* libyaml's own report. Encoding errors come with a byte offset only; the
 * line and column (in characters, as libyaml counts) are worked out here. */
static int read_parser_error(yaml_reader *r, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return read_oom(r);
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        int line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < r->len; i++) {
            if (r->text[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)r->text[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        if (p->problem_value != -1)
            return read_fail(r, line, col, "invalid YAML text: %s (#x%X)", problem,
                             (unsigned)p->problem_value);
        return read_fail(r, line, col, "invalid YAML text: %s", problem);
    }
    int line = mark_line(p->problem_mark), col = mark_col(p->problem_mark);
    if (p->context)
        return read_fail(r, line, col, "YAML syntax error: %s (%s at line %d, column %d)",
                         problem, p->context, mark_line(p->context_mark),
                         mark_col(p->context_mark));
    return read_fail(r, line, col, "YAML syntax error: %s", problem);
}

static int read_events(yaml_reader *r, yaml_parser_t *p)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev))
            return read_parser_error(r, p);
        int rc = read_event(r, &ev);
        int done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (rc || done)
            return rc;
    }
}

static void read_release(yaml_reader *r)
{
    for (int i = 0; i < r->depth; i++) {
        cfg_free(r->stack[i].pending_key);
        free(r->stack[i].anchor);
    }
    for (int i = 0; i < r->n_anchors; i++)
        free(r->anchors[i].name);
    free(r->anchors);
    free(r->slots);
    if (--*r->origin_refs == 0)
        free(r->origin_refs);
}

int cfg_parse_string(const char *text, size_t len, const char *origin, cfg_node **root,
                     dl_err *err)
{
    *root = NULL;
    if (len > CFG_MAX_BYTES)
        return dl_fail(err, DL_EXIT_USAGE, "%s: the config is larger than the limit of %u bytes",
                       origin, CFG_MAX_BYTES);
    size_t origin_len = strlen(origin) + 1;
    int *origin_refs = malloc(sizeof *origin_refs + origin_len);
    if (!origin_refs)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", origin);
    *origin_refs = 1;   /* the reader's own hold, dropped at the end */
    yaml_reader r = {.text = text ? text : "", .len = len, .err = err,
                     .origin = memcpy(origin_refs + 1, origin, origin_len),
                     .origin_refs = origin_refs};
    yaml_parser_t parser;
    int rc = DL_ERR;
    if (!yaml_parser_initialize(&parser)) {
        read_oom(&r);
    } else {
        yaml_parser_set_input_string(&parser, (const unsigned char *)r.text, len);
        rc = read_events(&r, &parser);
        yaml_parser_delete(&parser);
    }
    /* No document, or an empty one, is an empty mapping. */
    if (rc == DL_OK && (!r.root || (cfg_is_null(r.root) && !r.root->value[0]))) {
        cfg_free(r.root);
        r.root = cfg_new_map();
        read_place(&r, r.root, 1, 1);
    }
    if (rc != DL_OK) {
        cfg_free(r.root);
        r.root = NULL;
    }
    *root = r.root;
    read_release(&r);
    return rc;
}

int cfg_parse_file(const char *path, cfg_node **root, dl_err *err)
{
    *root = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dl_fail(err, DL_EXIT_USAGE, "cannot open %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    int read_errno = 0;
    /* Reads one byte past the limit to tell "at the limit" from "over it". */
    while (len <= CFG_MAX_BYTES) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > CFG_MAX_BYTES + 1)
                cap = CFG_MAX_BYTES + 1;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                fclose(f);
                return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", path);
            }
            text = grown;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        if (!got) {
            read_errno = ferror(f) ? (errno ? errno : EIO) : 0;
            break;
        }
        len += got;
    }
    fclose(f);
    int rc;
    if (read_errno)
        rc = dl_fail(err, DL_EXIT_USAGE, "cannot read %s: %s", path, strerror(read_errno));
    else if (len > CFG_MAX_BYTES)
        rc = dl_fail(err, DL_EXIT_USAGE, "%s: the file is larger than the limit of %u bytes",
                     path, CFG_MAX_BYTES);
    else
        rc = cfg_parse_string(text, len, path, root, err);
    free(text);
    return rc;
}
