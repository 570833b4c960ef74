/* config.h: a dltrain config file as typed, validated specs (design.md
 * "Configuration"): name, seed, device, runs_dir, data, model, compile, fit.
 * Reading applies --set overrides to the YAML tree first, then checks every
 * key against the tables of the kinds it names. */
#ifndef CFG_CONFIG_H
#define CFG_CONFIG_H

#include "configs/schema.h"

enum { CFG_DEVICE_CPU, CFG_DEVICE_GPU, CFG_DEVICE_AUTO };

typedef struct cfg_data {
    dl_kind_ref train;          /* data source: {format: idx|csv, ...} */
    dl_kind_ref validation;     /* kind NULL: none */
    dl_kind_ref test;           /* kind NULL: none */
    double validation_split;    /* [0, 1): last fraction of train */
    double rescale;             /* x = stored value * rescale */
    dl_strings class_names;     /* optional, for predict output */
} cfg_data;

typedef struct cfg_model {
    char *name;                 /* "sequential" */
    dl_shape input_shape;       /* per sample, channels-last */
    dl_kind_list layers;        /* layer kinds (layers/registry.c) */
} cfg_model;

typedef struct cfg_compile {
    dl_kind_ref optimizer;
    dl_kind_ref loss;
    dl_kind_list metrics;
} cfg_compile;

typedef struct cfg_fit {
    int epochs;
    int batch_size;
    int validation_batch_size;  /* 0: batch_size */
    int shuffle;
    int verbose;                /* 0 silent, 1 bar, 2 line per epoch, 3 auto */
    int checkpoint;             /* write checkpoints/last.safetensors each epoch */
    dl_kind_list callbacks;
} cfg_fit;

typedef struct dl_config {
    char *name;
    int seed;                   /* -1 in the file: pick one (then recorded) */
    int has_sweep;              /* the file has a sweep: section (dropped here) */
    int device;                 /* CFG_DEVICE_* */
    char *runs_dir;
    cfg_data data;
    cfg_model model;
    cfg_compile compile;
    cfg_fit fit;
    char *path;                 /* where it was read from */
    cfg_arena *arena;
} dl_config;

/* Reads path, applies the overrides ("PATH=VALUE" each) and validates.
 * A missing name defaults to the file's base name, a missing (or -1) seed
 * to a fresh random one (so the resolved config still reproduces the run). Exit code
 * 2 for everything wrong in the file or the overrides. */
int config_load(const char *path, const char *const *overrides, int noverrides, dl_config *cfg,
                dl_err *err);
/* The same from YAML text (the config stored in a model file). */
int config_load_text(const char *text, const char *origin, const char *const *overrides,
                     int noverrides, dl_config *cfg, dl_err *err);
void config_free(dl_config *cfg);

/* The resolved config as YAML text (malloc'd). */
char *config_emit(const dl_config *cfg);

/* The seed as an unsigned integer. */
uint64_t config_seed(const dl_config *cfg);

#endif
