/* images.c: format images, a directory with one sub-directory of PNG files
 * per class, read like Keras's image_dataset_from_directory (formats.md
 * §4.1). Classes are the sub-directories not starting with '.', in byte
 * order (strcmp, as Python's sorted), unless class_names fixes them. Each
 * class directory is walked recursively like os.walk: files ordered by
 * directory path, then name; symlinked sub-directories only with
 * follow_links. The whole list is then shuffled with the seed, so that
 * validation_split, which takes the last samples, mixes the classes.
 * Pixels stay uint8 0..255, [n, height, width, channels]. */
#include "datasets/loaders.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const int img_channels[] = {1, 3, 4}; /* by DS_COLOR_* */

typedef struct img_file {
    char *path;             /* "<directory>/<class>/.../<name>" */
    size_t dir_len;         /* length of the directory part of path */
    int label;
} img_file;

typedef struct img_files {
    img_file *v;
    size_t n, cap;
} img_files;

typedef struct img_names {
    char **v;
    size_t n, cap;
} img_names;

/* A directory being walked, and the ones above it (to stop at link loops). */
typedef struct img_visit {
    dev_t dev;
    ino_t ino;
    const struct img_visit *parent;
} img_visit;

/* v with room for element n (doubling cap), or NULL with v left as it was. */
static void *img_grow(void *v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return v;
    size_t grown = *cap ? 2 * *cap : 16;
    if (grown > SIZE_MAX / 2 / elem)
        return NULL;
    void *bigger = realloc(v, grown * elem);
    if (bigger)
        *cap = grown;
    return bigger;
}

static int img_names_add(img_names *names, const char *name)
{
    char **grown = img_grow(names->v, &names->cap, names->n, sizeof *names->v);
    if (!grown)
        return DL_ERR;
    names->v = grown;
    if (!(names->v[names->n] = strdup(name)))
        return DL_ERR;
    names->n++;
    return DL_OK;
}

static void img_names_free(img_names *names)
{
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
    memset(names, 0, sizeof *names);
}

static char *img_join(const char *dir, const char *name)
{
    size_t dir_len = strlen(dir), name_len = strlen(name);
    char *path = malloc(dir_len + name_len + 2);
    if (path)
        snprintf(path, dir_len + name_len + 2, "%s/%s", dir, name);
    return path;
}

static int img_compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Class, then directory path, then file name: Keras's sorted(os.walk()). */
static int img_compare_files(const void *a, const void *b)
{
    const img_file *x = a, *y = b;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    size_t common = x->dir_len < y->dir_len ? x->dir_len : y->dir_len;
    int order = memcmp(x->path, y->path, common);
    if (order)
        return order;
    if (x->dir_len != y->dir_len)
        return x->dir_len < y->dir_len ? -1 : 1;
    return strcmp(x->path + x->dir_len + 1, y->path + y->dir_len + 1);
}

/* Keras's image extensions, compared case-insensitively. */
static int img_has_image_extension(const char *name)
{
    static const char *const extensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif"};
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
        size_t ext_len = strlen(extensions[i]);
        if (len >= ext_len && !strcasecmp(name + len - ext_len, extensions[i]))
            return 1;
    }
    return 0;
}

static int img_out_of_memory(const char *where, dl_err *err)
{
    return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory listing the image files", where);
}

/* Files one directory entry under files (an image name that is not a
 * directory; a broken link too, so that it is reported, as Keras would) or
 * subdirs (a real directory, or a linked one with follow_links). */
static int img_take_entry(const char *path, const char *name, int label, int follow_links,
                          img_files *files, img_names *subdirs, dl_err *err)
{
    struct stat link_st, st;
    if (lstat(path, &link_st) != 0)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot stat: %s", path, strerror(errno));
    int is_link = S_ISLNK(link_st.st_mode);
    int is_dir = is_link ? stat(path, &st) == 0 && S_ISDIR(st.st_mode) : S_ISDIR(link_st.st_mode);
    if (is_dir) {
        if ((!is_link || follow_links) && img_names_add(subdirs, path))
            return img_out_of_memory(path, err);
        return DL_OK;
    }
    if (!img_has_image_extension(name))
        return DL_OK;
    img_file *grown = img_grow(files->v, &files->cap, files->n, sizeof *files->v);
    if (!grown)
        return img_out_of_memory(path, err);
    files->v = grown;
    char *copy = strdup(path);
    if (!copy)
        return img_out_of_memory(path, err);
    files->v[files->n++] = (img_file){copy, strlen(path) - strlen(name) - 1, label};
    return DL_OK;
}

/* Adds the image files under dir (recursively) to files with label. */
static int img_walk(const char *dir, const img_visit *parent, int label, int follow_links,
                    img_files *files, dl_err *err)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot stat: %s", dir, strerror(errno));
    for (const img_visit *v = parent; v; v = v->parent)
        if (v->dev == st.st_dev && v->ino == st.st_ino)
            return DL_OK; /* a link back to an ancestor: walking it would never end */
    img_visit here = {st.st_dev, st.st_ino, parent};
    DIR *listing = opendir(dir);
    if (!listing)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot open directory: %s", dir, strerror(errno));
    img_names subdirs = {0};
    int rc = DL_OK;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(listing);
        if (!entry) {
            if (errno)
                rc = dl_fail(err, DL_EXIT_FAIL, "%s: cannot read directory: %s", dir,
                             strerror(errno));
            break;
        }
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
            continue;
        char *path = img_join(dir, entry->d_name);
        rc = path ? img_take_entry(path, entry->d_name, label, follow_links, files, &subdirs, err)
                  : img_out_of_memory(dir, err);
        free(path);
        if (rc != DL_OK)
            break;
    }
    closedir(listing); /* read-only: nothing to lose */
    /* Sub-directories after closing, so that deep trees hold one handle. */
    for (size_t i = 0; rc == DL_OK && i < subdirs.n; i++)
        rc = img_walk(subdirs.v[i], &here, label, follow_links, files, err);
    img_names_free(&subdirs);
    return rc;
}

/* The sub-directories of root not starting with '.' (a link to a directory
 * counts), sorted with strcmp. */
static int img_list_classes(const char *root, img_names *found, dl_err *err)
{
    DIR *listing = opendir(root);
    if (!listing)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot open directory: %s", root, strerror(errno));
    int rc = DL_OK;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(listing);
        if (!entry) {
            if (errno)
                rc = dl_fail(err, DL_EXIT_FAIL, "%s: cannot read directory: %s", root,
                             strerror(errno));
            break;
        }
        if (entry->d_name[0] == '.')
            continue;
        char *path = img_join(root, entry->d_name);
        struct stat st;
        int is_dir = path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        if (!path || (is_dir && img_names_add(found, entry->d_name)))
            rc = img_out_of_memory(root, err);
        free(path);
        if (rc != DL_OK)
            break;
    }
    closedir(listing);
    if (rc == DL_OK && found->n > 0)
        qsort(found->v, found->n, sizeof *found->v, img_compare_names);
    return rc;
}

/* d->class_names: every class directory, or class_names (each must exist). */
static int img_choose_classes(const ds_images_args *args, const img_names *found, ds_dataset *d,
                              dl_err *err)
{
    size_t n = args->class_names.n > 0 ? (size_t)args->class_names.n : found->n;
    if (n == 0)
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: no class sub-directories (format images wants one directory of "
                       "images per class)", args->directory);
    d->class_names = calloc(n, sizeof *d->class_names);
    if (!d->class_names)
        return img_out_of_memory(args->directory, err);
    for (size_t k = 0; k < n; k++) {
        const char *name = args->class_names.n > 0 ? args->class_names.v[k] : found->v[k];
        if (args->class_names.n > 0 &&
            (found->n == 0 ||
             !bsearch(&name, found->v, found->n, sizeof *found->v, img_compare_names)))
            return dl_fail(err, DL_EXIT_FAIL,
                           "%s: class_names: \"%s\" is not a sub-directory of it", args->directory,
                           name);
        if (!(d->class_names[k] = strdup(name)))
            return img_out_of_memory(args->directory, err);
        d->nclasses = (int)k + 1;
    }
    return DL_OK;
}

/* Fisher-Yates with the batcher's generator. */
static void img_shuffle(img_file *files, size_t n, uint64_t seed)
{
    uint64_t state = seed;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ds_uniform(&state, i);
        img_file kept = files[i - 1];
        files[i - 1] = files[j];
        files[j] = kept;
    }
}

/* Decodes every listed file into d; on_error: skip leaves bad ones out with
 * a warning. A sample's path moves from the list to d->sample_files. */
static int img_decode_all(const ds_images_args *args, img_files *files, ds_dataset *d,
                          dl_err *err)
{
    int height = args->image_size.v[0], width = args->image_size.v[1];
    int channels = img_channels[args->color_mode];
    d->sample_shape = (dl_shape){3, {height, width, channels}};
    d->sample_size = (size_t)height * (size_t)width * (size_t)channels;
    if (files->n > SIZE_MAX / d->sample_size)
        return dl_fail(err, DL_EXIT_FAIL, "%s: %zu images of %dx%dx%d bytes overflow memory",
                       args->directory, files->n, height, width, channels);
    d->u8 = malloc(files->n * d->sample_size);
    d->labels = malloc(files->n * sizeof *d->labels);
    d->sample_files = calloc(files->n, sizeof *d->sample_files);
    if (!d->u8 || !d->labels || !d->sample_files)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory for %zu images of %dx%dx%d bytes",
                       args->directory, files->n, height, width, channels);
    for (size_t i = 0; i < files->n; i++) {
        dl_err image_err;
        if (ds_load_image(files->v[i].path, channels, height, width,
                          d->u8 + d->n * d->sample_size, &image_err)) {
            if (args->on_error == DS_ON_ERROR_ERROR) {
                if (err)
                    *err = image_err;
                return DL_ERR;
            }
            fprintf(stderr, "warning: %s; skipped (on_error: skip)\n", image_err.msg);
            continue;
        }
        d->labels[d->n] = (float)files->v[i].label;
        d->sample_files[d->n] = files->v[i].path;
        files->v[i].path = NULL;
        d->n++;
    }
    if (d->n == 0)
        return dl_fail(err, DL_EXIT_FAIL, "%s: none of its %zu image files could be read",
                       args->directory, files->n);
    return DL_OK;
}

int ds_images_load(const ds_images_args *args, ds_dataset *d, dl_err *err)
{
    d->source = strdup(args->directory);
    if (!d->source)
        return img_out_of_memory(args->directory, err);
    img_names found = {0};
    img_files files = {0};
    int rc = img_list_classes(args->directory, &found, err);
    if (rc == DL_OK)
        rc = img_choose_classes(args, &found, d, err);
    for (int k = 0; rc == DL_OK && k < d->nclasses; k++) {
        char *class_dir = img_join(args->directory, d->class_names[k]);
        rc = class_dir ? img_walk(class_dir, NULL, k, args->follow_links, &files, err)
                       : img_out_of_memory(args->directory, err);
        free(class_dir);
    }
    if (rc == DL_OK && files.n == 0)
        rc = dl_fail(err, DL_EXIT_FAIL,
                     "%s: no image files (.png, .jpg, .jpeg, .bmp, .gif) in its %d class "
                     "directories", args->directory, d->nclasses);
    if (rc == DL_OK) {
        qsort(files.v, files.n, sizeof *files.v, img_compare_files);
        img_shuffle(files.v, files.n, (uint64_t)args->seed);
        rc = img_decode_all(args, &files, d, err);
    }
    if (rc == DL_OK)
        ds_summarize_labels(d);
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i].path);
    free(files.v);
    img_names_free(&found);
    return rc;
}
