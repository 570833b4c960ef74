/* schema.h: YAML tree <-> typed args structs, driven by the argument tables
 * (common.h) that each kind declares where it lives. Reading checks every
 * key, type and range and fills defaults; writing produces the resolved
 * tree (every argument with its value) that run directories and model
 * files store. */
#ifndef CFG_SCHEMA_H
#define CFG_SCHEMA_H

#include "configs/tree.h"

/* Everything a config reading allocates (args structs, strings, lists),
 * released at once. */
typedef struct cfg_arena cfg_arena;
cfg_arena *cfg_arena_new(void);
void *cfg_arena_alloc(cfg_arena *a, size_t size);   /* zeroed; NULL: out of memory */
char *cfg_arena_strdup(cfg_arena *a, const char *s);
void cfg_arena_free(cfg_arena *a);

/* Fills the struct `out` from the mapping `map` (NULL or null: all
 * defaults) with `table`. path names the mapping in messages
 * ("model.layers[2].Dense"). Errors are "where: path.key: what was expected,
 * got what", exit code 2. */
int cfg_read_table(cfg_arena *arena, const dl_arg *table, void *out, const cfg_node *map,
                   const char *path, dl_err *err);

/* Reads one kind reference (any of the forms in common.h) of `family`. */
int cfg_read_kind(cfg_arena *arena, const dl_family *family, const cfg_node *node,
                  const char *path, dl_kind_ref *out, dl_err *err);

/* The resolved tree of a struct described by `table` (a new mapping). */
cfg_node *cfg_write_table(const dl_arg *table, const void *in);
/* The resolved node of one kind reference: `Name: {args}` when keyed
 * (layers, callbacks), else a bare name when every argument has its default
 * and a {class_name: ...} mapping otherwise. */
cfg_node *cfg_write_kind(const dl_kind_ref *ref, const dl_family *family, int keyed);

#endif
