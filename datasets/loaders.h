/* loaders.h: what the format loaders share with dataset.c (private to
 * datasets/). Each loader fills a zeroed ds_dataset; on error ds_open frees
 * whatever it had filled. */
#ifndef DS_LOADERS_H
#define DS_LOADERS_H

#include "datasets/dataset.h"

/* IDX header (4 + 4 * ndim bytes) of a one-dimensional file: the byte offset
 * of label i is DS_IDX_LABELS_HEADER + i (labels are one byte each). */
#define DS_IDX_LABELS_HEADER 8

int ds_idx_load(const ds_idx_args *args, int flags, ds_dataset *d, dl_err *err);
int ds_csv_load(const ds_csv_args *args, int flags, ds_dataset *d, dl_err *err);
/* Labels are the class directories, so images always have them. */
int ds_images_load(const ds_images_args *args, ds_dataset *d, dl_err *err);

/* Sets labels_integral and max_label from d->labels. */
void ds_summarize_labels(ds_dataset *d);

/* batcher.c: the seeded generator the shuffles use. splitmix64 advances
 * *state and returns the next 64 random bits; ds_uniform is uniform in
 * [0, bound), rejecting draws above the largest multiple of bound (no
 * modulo bias). */
uint64_t ds_splitmix64(uint64_t *state);
uint64_t ds_uniform(uint64_t *state, uint64_t bound);

#endif
