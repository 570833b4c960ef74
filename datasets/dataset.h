/* dataset.h: loaders (IDX, CSV, PNG folders) behind one in-memory dataset
 * and one batch iterator. Samples stay in their stored type (uint8 images,
 * float CSV features) and become float32 per batch. No loader knows about
 * the model. */
#ifndef DS_DATASET_H
#define DS_DATASET_H

#include "engine/backend/common.h"

/* ---- source formats (a dl_family: `format: idx` picks the kind) ---- */

/* format: idx: images and labels files, raw or gzip. */
typedef struct ds_idx_args {
    char *images;           /* [count, rows, cols] (or any ndim >= 1) uint8 */
    char *labels;           /* [count] uint8; NULL: no labels (predict) */
} ds_idx_args;

/* format: csv: one sample per row. */
typedef struct ds_csv_args {
    char *path;
    char *label;            /* column name or 0-based index; NULL: last column */
    dl_strings features;    /* names or indices; n == 0: every other column */
    int header;             /* first row names the columns (default true) */
    char *delimiter;        /* one character, default "," */
} ds_csv_args;

/* format: images: a folder of class sub-directories of PNG files (Keras's
 * image_dataset_from_directory; formats.md §4). */
enum { DS_COLOR_GRAYSCALE, DS_COLOR_RGB, DS_COLOR_RGBA };   /* color_mode */
enum { DS_ON_ERROR_ERROR, DS_ON_ERROR_SKIP };               /* on_error */

typedef struct ds_images_args {
    char *directory;
    int color_mode;         /* DS_COLOR_*: 1, 3 or 4 channels */
    dl_tuple image_size;    /* [height, width]; every image is resized to it */
    dl_strings class_names; /* n == 0: every sub-directory, sorted */
    int seed;               /* of the shuffle of the sorted file list */
    int on_error;           /* DS_ON_ERROR_*: a bad image fails or is skipped */
    int follow_links;       /* descend into symlinked sub-directories */
} ds_images_args;

extern const dl_family ds_format_family;
extern const dl_kind ds_idx_kind, ds_csv_kind, ds_images_kind;

/* ---- a loaded dataset ---- */
typedef struct ds_dataset {
    char *source;           /* file the samples came from (for messages) */
    char *label_source;     /* file the labels came from */
    size_t n;               /* samples */
    dl_shape sample_shape;  /* e.g. [28, 28] (IDX) or [features] (CSV) */
    size_t sample_size;     /* product of sample_shape */
    uint8_t *u8;            /* [n, sample_size] for uint8 sources, else NULL */
    float *f32;             /* [n, sample_size] for float sources, else NULL */
    float *labels;          /* [n] class id or regression target; NULL if none */
    int labels_integral;    /* every label is an integer >= 0 */
    int max_label;          /* largest label when integral */
    uint32_t *line;         /* CSV: 1-based line of each sample; NULL for IDX */
    char **feature_names;   /* CSV with header: [sample_size]; else NULL */
    char **sample_files;    /* images: [n] file of each sample; else NULL */
    char **class_names;     /* images: [nclasses] label i names class i; else NULL */
    int nclasses;
} ds_dataset;

enum { DS_NEED_LABELS = 0, DS_NO_LABELS = 1 };

/* Loads a source into d. DS_NO_LABELS: predict input (IDX without a
 * labels file, CSV whose label column may be absent). Every problem
 * (missing, truncated, wrong magic, count mismatch, ragged or non-numeric
 * row) is an error naming the file and the place; exit code 1. */
int ds_open(const dl_kind_ref *source, int flags, ds_dataset *d, dl_err *err);
void ds_free(ds_dataset *d);

/* "labels.idx1: byte 1234 (sample 1226)", "data.csv:17" or the image file
 * "train/cat/a.png" for sample i. */
void ds_where(const ds_dataset *d, size_t i, char *buf, size_t n);

/* Every label must be an integer in [0, num_classes): otherwise an error
 * naming the first bad sample's file and place. */
int ds_check_classes(const ds_dataset *d, int num_classes, dl_err *err);

/* Largest image side read (PNG files and image_size alike). */
#define DS_IMAGE_MAX_SIDE 16384

/* Reads one PNG file of any colour type and bit depth as 8-bit pixels with
 * `channels` (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA) per pixel, resized to
 * height x width like tf.image.resize (bilinear) unless it has that size:
 * out [height, width, channels]. A missing, non-PNG or corrupt file is an
 * error naming it; exit code 1. */
int ds_load_image(const char *path, int channels, int height, int width, uint8_t *out,
                  dl_err *err);

/* ---- batch iterator over samples [begin, begin + count) ---- */
typedef struct ds_batcher {
    const ds_dataset *ds;
    size_t begin, count;
    size_t *order;          /* [count] sample indices of this epoch */
    size_t pos;
    int batch_size;
    float rescale;          /* x = stored * rescale */
    int shuffle;
    uint64_t seed;
    int one_hot;            /* > 0: targets as one-hot rows of this width */
} ds_batcher;

int ds_batcher_init(ds_batcher *b, const ds_dataset *ds, size_t begin, size_t count,
                    int batch_size, float rescale, int shuffle, uint64_t seed,
                    int one_hot, dl_err *err);
/* Starts an epoch: the order is a seeded shuffle of (seed, epoch), so any
 * epoch's order can be recreated (resume). */
void ds_batcher_epoch(ds_batcher *b, int epoch);
/* Fills x [rows, sample_size] and y ([rows] or [rows, one_hot]; may be NULL)
 * with the next batch; returns rows (the last batch may be partial), 0 at
 * the end of the epoch. */
int ds_batcher_next(ds_batcher *b, float *x, float *y);
/* Skips the epoch's first `batches` batches (a resumed epoch). */
void ds_batcher_seek(ds_batcher *b, size_t batches);
size_t ds_batcher_steps(const ds_batcher *b);   /* ceil(count / batch_size) */
void ds_batcher_free(ds_batcher *b);

/* Keras's validation_split: the first floor(n * (1 - split)) samples train,
 * the rest validate (taken before any shuffling). */
size_t ds_split_point(size_t n, double validation_split);

#endif
