/* tree.h: a YAML document as a tree of positioned nodes (libyaml), the
 * `--set PATH=VALUE` overrides that edit it, and the YAML writer for the
 * resolved config. Validation against the argument tables is schema.c's job;
 * this file knows nothing of dltrain's keys. */
#ifndef CFG_TREE_H
#define CFG_TREE_H

#include "engine/backend/common.h"

typedef enum { CFG_SCALAR, CFG_MAP, CFG_SEQ } cfg_type;

typedef struct cfg_node cfg_node;
struct cfg_node {
    cfg_type type;
    char *value;            /* SCALAR: the text */
    int plain;              /* SCALAR: unquoted (1 is a number, "1" a string) */
    int line, col;          /* 1-based position of the node in its origin */
    const char *origin;     /* file path, or the "--set PATH=VALUE" text */
    int n;                  /* MAP: pairs; SEQ: items */
    int cap;
    cfg_node **keys;        /* MAP: key scalars (with their own positions) */
    cfg_node **items;       /* MAP: values, SEQ: items */
    int *origin_refs;       /* private to configs/: when not NULL, `origin`
                               lives in one block right after this count of
                               the nodes sharing it; the last one frees it */
};

/* Limits against hostile input (a "billion laughs" of aliases, deep nests). */
#define CFG_MAX_DEPTH 64
#define CFG_MAX_NODES 200000
#define CFG_MAX_BYTES (16u << 20)

/* Parses one YAML document. Syntax errors, duplicate keys, non-scalar keys,
 * more than one document, and inputs over the limits above are errors
 * "origin:line:col: what" with exit code 2. An empty document is an empty
 * mapping. Anchors/aliases are expanded into copies (counted against
 * CFG_MAX_NODES). The file's origin string lives as long as the tree. */
int cfg_parse_file(const char *path, cfg_node **root, dl_err *err);
int cfg_parse_string(const char *text, size_t len, const char *origin, cfg_node **root,
                     dl_err *err);
void cfg_free(cfg_node *n);

/* Applies "PATH=VALUE": PATH is key(.key|[index])*, VALUE parsed as YAML.
 * Missing intermediate mapping keys are created; an index must exist; a path
 * through a scalar is an error. Errors start with "--set PATH=VALUE: ",
 * exit code 2. */
int cfg_apply_override(cfg_node *root, const char *assignment, dl_err *err);

/* Builders and lookups used by the validator and the writer. */
cfg_node *cfg_new_scalar(const char *text, int plain);
cfg_node *cfg_new_map(void);
cfg_node *cfg_new_seq(void);
void cfg_map_set(cfg_node *map, const char *key, cfg_node *value);   /* replaces or appends */
void cfg_seq_push(cfg_node *seq, cfg_node *item);
cfg_node *cfg_map_get(const cfg_node *map, const char *key);         /* NULL if absent */
cfg_node *cfg_copy(const cfg_node *n);
int cfg_is_null(const cfg_node *n);   /* plain "~", "null", "Null", "NULL" or "" */

/* "file.yaml:14:9" (or "--set k=v" for override nodes) into buf. */
const char *cfg_where(const cfg_node *n, char *buf, size_t len);

/* Writes the tree as block-style YAML (short lists of scalars in flow
 * style); strings that would read back as another type are quoted. Returns
 * a malloc'd NUL-terminated text. */
char *cfg_emit(const cfg_node *root);

#endif
