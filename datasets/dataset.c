/* dataset.c: the data formats' argument tables, ds_open's dispatch, and
 * the questions asked of a loaded dataset (where is sample i, are the labels
 * class ids of the model). */
#include "datasets/loaders.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- argument tables ---- */

static const dl_arg ds_idx_arg_rows[] = {
    {.key = "images", .type = DL_ARG_STRING, .offset = offsetof(ds_idx_args, images)},
    {.key = "labels", .type = DL_ARG_STRING, .offset = offsetof(ds_idx_args, labels),
     .def = "null", .flags = DL_ARG_NULLABLE},
    {.key = NULL},
};

static const dl_arg ds_csv_arg_rows[] = {
    {.key = "path", .type = DL_ARG_STRING, .offset = offsetof(ds_csv_args, path)},
    {.key = "label", .type = DL_ARG_STRING, .offset = offsetof(ds_csv_args, label),
     .def = "null", .flags = DL_ARG_NULLABLE | DL_ARG_INT_OR_STRING},
    {.key = "features", .type = DL_ARG_STRINGS, .offset = offsetof(ds_csv_args, features),
     .def = "[]"},
    {.key = "header", .type = DL_ARG_BOOL, .offset = offsetof(ds_csv_args, header),
     .def = "true"},
    {.key = "delimiter", .type = DL_ARG_STRING, .offset = offsetof(ds_csv_args, delimiter),
     .def = "\",\""},
    {.key = NULL},
};

static const char *const ds_color_modes[] = {"grayscale", "rgb", "rgba", NULL};
static const char *const ds_on_error_choices[] = {"error", "skip", NULL};

static const dl_arg ds_images_arg_rows[] = {
    {.key = "directory", .type = DL_ARG_STRING, .offset = offsetof(ds_images_args, directory)},
    {.key = "color_mode", .type = DL_ARG_ENUM, .offset = offsetof(ds_images_args, color_mode),
     .def = "rgb", .choices = ds_color_modes},
    {.key = "image_size", .type = DL_ARG_TUPLE, .offset = offsetof(ds_images_args, image_size),
     .def = "[256, 256]", .min = 1, .max = DS_IMAGE_MAX_SIDE, .len = 2},
    {.key = "class_names", .type = DL_ARG_STRINGS,
     .offset = offsetof(ds_images_args, class_names), .def = "[]"},
    {.key = "seed", .type = DL_ARG_INT, .offset = offsetof(ds_images_args, seed), .def = "1337",
     .min = 0, .max = INT_MAX},
    {.key = "on_error", .type = DL_ARG_ENUM, .offset = offsetof(ds_images_args, on_error),
     .def = "error", .choices = ds_on_error_choices},
    {.key = "follow_links", .type = DL_ARG_BOOL,
     .offset = offsetof(ds_images_args, follow_links), .def = "false"},
    {.key = NULL},
};

/* The delimiter is one byte, and not one that libcsv gives another meaning. */
static int ds_csv_check(const void *args, char *why, size_t why_len)
{
    const char *delimiter = ((const ds_csv_args *)args)->delimiter;
    if (!delimiter || strlen(delimiter) != 1) {
        snprintf(why, why_len, "delimiter must be exactly one character, got \"%s\"",
                 delimiter ? delimiter : "null");
        return DL_ERR;
    }
    if (strchr("\"\r\n", delimiter[0])) {
        snprintf(why, why_len, "delimiter cannot be a quote or a line break");
        return DL_ERR;
    }
    return DL_OK;
}

/* A class listed twice would get two labels for the same images. */
static int ds_images_check(const void *args, char *why, size_t why_len)
{
    const dl_strings *names = &((const ds_images_args *)args)->class_names;
    for (int i = 0; i < names->n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(names->v[i], names->v[j])) {
                snprintf(why, why_len, "class_names lists \"%s\" twice", names->v[i]);
                return DL_ERR;
            }
    return DL_OK;
}

const dl_kind ds_idx_kind = {
    .name = "idx",
    .args = ds_idx_arg_rows,
    .args_size = sizeof(ds_idx_args),
};

const dl_kind ds_csv_kind = {
    .name = "csv",
    .args = ds_csv_arg_rows,
    .args_size = sizeof(ds_csv_args),
    .check = ds_csv_check,
};

const dl_kind ds_images_kind = {
    .name = "images",
    .args = ds_images_arg_rows,
    .args_size = sizeof(ds_images_args),
    .check = ds_images_check,
};

static const dl_kind *const ds_format_kinds[] = {&ds_idx_kind, &ds_csv_kind, &ds_images_kind};

const dl_family ds_format_family = {
    .what = "data format",
    .kinds = ds_format_kinds,
    .n = 3,
    .selector = "format",   /* `{format: idx, images: ...}` */
};

/* ---- loading ---- */

int ds_open(const dl_kind_ref *source, int flags, ds_dataset *d, dl_err *err)
{
    memset(d, 0, sizeof *d);
    d->max_label = -1;
    int rc;
    if (source->kind == &ds_idx_kind)
        rc = ds_idx_load(source->args, flags, d, err);
    else if (source->kind == &ds_csv_kind)
        rc = ds_csv_load(source->args, flags, d, err);
    else if (source->kind == &ds_images_kind)
        rc = ds_images_load(source->args, d, err);
    else
        return dl_fail(err, DL_EXIT_USAGE, "unknown data format '%s'",
                       source->kind ? source->kind->name : "null");
    if (rc != DL_OK)
        ds_free(d);
    return rc;
}

void ds_free(ds_dataset *d)
{
    free(d->source);
    free(d->label_source);
    free(d->u8);
    free(d->f32);
    free(d->labels);
    free(d->line);
    for (size_t j = 0; d->feature_names && j < d->sample_size; j++)
        free(d->feature_names[j]);
    free(d->feature_names);
    for (size_t i = 0; d->sample_files && i < d->n; i++)
        free(d->sample_files[i]);
    free(d->sample_files);
    for (int k = 0; d->class_names && k < d->nclasses; k++)
        free(d->class_names[k]);
    free(d->class_names);
    memset(d, 0, sizeof *d);
}

void ds_summarize_labels(ds_dataset *d)
{
    d->labels_integral = d->labels != NULL;
    d->max_label = -1;
    for (size_t i = 0; d->labels && i < d->n; i++) {
        float label = d->labels[i];
        if (!(label >= 0 && (double)label <= INT_MAX && label == floorf(label))) {
            d->labels_integral = 0;
            d->max_label = -1;
            return;
        }
        if ((int)label > d->max_label)
            d->max_label = (int)label;
    }
}

/* ---- places and class checks ---- */

void ds_where(const ds_dataset *d, size_t i, char *buf, size_t n)
{
    if (d->sample_files && i < d->n)
        snprintf(buf, n, "%s", d->sample_files[i]);
    else if (d->line && i < d->n)
        snprintf(buf, n, "%s:%u", d->source, d->line[i]);
    else if (d->labels && !d->line)
        snprintf(buf, n, "%s: byte %zu (sample %zu)", d->label_source, DS_IDX_LABELS_HEADER + i, i);
    else
        snprintf(buf, n, "%s: sample %zu", d->source, i);
}

int ds_check_classes(const ds_dataset *d, int num_classes, dl_err *err)
{
    if (!d->labels)
        return dl_fail(err, DL_EXIT_FAIL, "%s: the data has no labels", d->source);
    for (size_t i = 0; i < d->n; i++) {
        float label = d->labels[i];
        int integral = label == floorf(label);
        if (integral && label >= 0 && label < (float)num_classes)
            continue;
        char where[1024];
        ds_where(d, i, where, sizeof where);
        if (integral)
            return dl_fail(err, DL_EXIT_FAIL,
                           "%s: label %g is outside the model's %d classes (0..%d)",
                           where, label, num_classes, num_classes - 1);
        return dl_fail(err, DL_EXIT_FAIL, "%s: label %g is not a class id (an integer in 0..%d)",
                       where, label, num_classes - 1);
    }
    return DL_OK;
}
