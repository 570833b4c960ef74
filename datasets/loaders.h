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

/* Sets labels_integral and max_label from d->labels. */
void ds_summarize_labels(ds_dataset *d);

#endif
