/* common.h: the few declarations every floor shares: errors, exit codes,
 * per-sample shapes and the argument-table row that layers, optimizers,
 * losses, callbacks and dataset formats use to declare their Keras arguments.
 * Nothing here allocates or knows about YAML. */
#ifndef DL_COMMON_H
#define DL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DL_OK 0
#define DL_ERR (-1)

/* Process exit codes (design.md "Command line"). */
enum {
    DL_EXIT_OK = 0,
    DL_EXIT_FAIL = 1,        /* data, I/O, numeric failure */
    DL_EXIT_USAGE = 2,       /* bad command line or config */
    DL_EXIT_INTERRUPTED = 130
};

/* An error report. A function that can fail fills it and returns DL_ERR;
 * exit_code tells the CLI how to end. The message is complete on its own
 * ("file:line:col: key: what was expected, got what"). */
typedef struct dl_err {
    int exit_code;
    char msg[2048];
} dl_err;

/* Fills err (if not NULL) and returns DL_ERR, so callers can write
 * `return dl_fail(err, DL_EXIT_FAIL, "...", ...)`. */
int dl_fail(dl_err *err, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message: "<prefix>: <old message>". */
void dl_err_prefix(dl_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Per-sample shape, channels-last (no batch axis): [features], [H, W],
 * [H, W, C], [L, C]. */
#define DL_MAX_DIMS 4
typedef struct dl_shape {
    int ndim;
    int dim[DL_MAX_DIMS];
} dl_shape;

size_t dl_shape_size(const dl_shape *s);
/* "(None, 28, 28, 1)" style text (Keras summary), with the batch axis. */
void dl_shape_format(const dl_shape *s, char *buf, size_t n);

/* ---- argument tables --------------------------------------------------
 * One row per Keras argument of a kind (layer, optimizer, loss, ...). The
 * config layer converts YAML into the kind's args struct from these rows,
 * applies the defaults (written as YAML text, parsed like user input) and
 * writes the resolved value back out; nothing else needs to know the keys. */
typedef enum dl_arg_type {
    DL_ARG_INT,     /* int */
    DL_ARG_FLOAT,   /* double; a nullable one stores NAN for null */
    DL_ARG_BOOL,    /* int, 0 or 1 */
    DL_ARG_STRING,  /* char * (owned by the config); nullable: NULL */
    DL_ARG_ENUM,    /* int: index into choices[]; a choice may list accepted
                       spellings as "silu|swish" (the first is canonical) */
    DL_ARG_TUPLE,   /* dl_tuple: an int or a list of `len` ints */
    DL_ARG_SHAPE,   /* dl_shape: a list of 1..4 ints (-1 allowed if flagged) */
    DL_ARG_STRINGS, /* dl_strings: a list of strings */
    DL_ARG_FLOATS,  /* dl_floats: a list of numbers (a lone number is a list of one) */
    DL_ARG_KIND,    /* dl_kind_ref: a name or a mapping choosing a kind of
                       a family (initializer, regularizer, schedule, ...) */
    DL_ARG_KINDS,   /* dl_kind_list: a list of those (layers, metrics,
                       callbacks) */
    DL_ARG_SECTION  /* a nested mapping described by `fields`, stored as a
                       struct at offset (the config's own sections) */
} dl_arg_type;

enum {
    DL_ARG_NULLABLE = 1 << 0,   /* null (YAML ~) is a valid value */
    DL_ARG_MIN_OPEN = 1 << 1,   /* value must be > min (not >=) */
    DL_ARG_MAX_OPEN = 1 << 2,   /* value must be < max (not <=) */
    DL_ARG_NEG_ONE = 1 << 3,    /* SHAPE: one -1 entry allowed (Reshape) */
    DL_ARG_INT_OR_STRING = 1 << 4 /* STRING: a plain integer is accepted too
                                     (CSV column by index or by name) */
};

typedef struct dl_tuple {
    int n;              /* 0 when null */
    int v[DL_MAX_DIMS];
} dl_tuple;

typedef struct dl_strings {
    int n;
    char **v;
} dl_strings;

typedef struct dl_floats {
    int n;
    double *v;
} dl_floats;

struct dl_kind;
typedef struct dl_family dl_family;

typedef struct dl_kind_ref {
    const struct dl_kind *kind; /* NULL when null */
    void *args;                 /* the kind's args struct */
    const char *written;        /* the name as the user wrote it when given as
                                   a bare string ("acc"), else NULL */
    const char *where;          /* "cfg.yaml:14:9" of the entry, for messages */
} dl_kind_ref;

typedef struct dl_kind_list {
    int n;
    dl_kind_ref *v;
} dl_kind_list;

typedef struct dl_arg {
    const char *key;            /* Keras argument name */
    dl_arg_type type;
    size_t offset;              /* offsetof(args struct, field) */
    const char *def;            /* default as YAML text; NULL = required */
    double min, max;            /* range for INT/FLOAT/TUPLE (min == max: none) */
    int flags;
    const char *const *choices; /* ENUM: NULL-terminated names */
    int len;                    /* TUPLE: number of ints */
    const dl_family *family;    /* KIND, KINDS: where names are looked up */
    const struct dl_arg *fields;/* SECTION: the nested table */
} dl_arg;

/* Something chosen by name that carries arguments. In YAML a kind is
 * written as a bare name (`adam`, `Flatten`), as a mapping with the family's
 * selector key (`{class_name: Adam, learning_rate: 0.01}`), or as a one-key
 * mapping (`Dense: {units: 10}`, `Flatten: null`). It is one of: a layer class, an
 * optimizer, a loss, a metric, a schedule, an initializer, a callback, a
 * dataset format. `check` validates across arguments (e.g. "only one of
 * clipnorm, clipvalue, global_clipnorm"): DL_OK, or DL_ERR with the reason
 * written to why. */
typedef struct dl_kind {
    const char *name;           /* canonical Keras class name: "Dense" */
    const char *alias;          /* the lower-case string form: "adam"; or NULL */
    const char *alias2;         /* a second accepted spelling or NULL */
    const dl_arg *args;         /* terminated by a row with key == NULL */
    size_t args_size;
    int (*check)(const void *args, char *why, size_t why_len);
} dl_kind;

struct dl_family {
    const char *what;           /* "layer", "optimizer", ... (for messages) */
    const dl_kind *const *kinds;
    int n;
    const dl_kind *number_kind; /* a bare number selects this kind and sets its
                                   first argument (learning_rate: 0.001 is a
                                   constant schedule); NULL: not allowed */
    const char *selector;       /* key naming the kind in mapping form;
                                   NULL: "class_name" (data sources: "format") */
};

/* Looks a name up (class name or alias, exact). NULL if unknown. */
const dl_kind *dl_family_find(const dl_family *f, const char *name);

#ifdef __cplusplus
}
#endif

#endif
