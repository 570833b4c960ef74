/* ckpt.h: the state a resumed run needs beyond the weights, collected by
 * name from the optimizer, the trainer, the fit loop and each callback:
 * numbers (kept exactly: doubles) and float arrays. The CLI stores numbers
 * in the checkpoint file's metadata and arrays as tensors. */
#ifndef CKPT_CKPT_H
#define CKPT_CKPT_H

#include "engine/backend/common.h"

typedef struct ckpt_entry {
    char name[96];
    int is_array;
    double number;
    float *floats;              /* host [n] when is_array */
    size_t n;
} ckpt_entry;

typedef struct ckpt {
    int n, cap;
    ckpt_entry *entries;
} ckpt;

void ckpt_init(ckpt *c);
void ckpt_free(ckpt *c);

/* Adds (or replaces) an entry; DL_ERR only when out of memory. */
int ckpt_put_number(ckpt *c, const char *name, double value);
int ckpt_put_floats(ckpt *c, const char *name, const float *host, size_t n);

/* DL_OK and the value; DL_ERR (with err naming the entry) when missing or,
 * for arrays, of another length. */
int ckpt_get_number(const ckpt *c, const char *name, double *value, dl_err *err);
int ckpt_get_floats(const ckpt *c, const char *name, float *host, size_t n, dl_err *err);

#endif
