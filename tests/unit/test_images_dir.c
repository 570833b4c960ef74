/* test_images_dir.c: format images: Keras's directory convention (classes,
 * their order, hidden and root entries, nested and linked directories,
 * class_names), the seeded order, bad files with on_error error and skip,
 * and the argument table. Images are flat gray PNGs whose value names the
 * file. */
#include "tests/unit/png_files.h"

#include <fcntl.h>
#include <unistd.h>

/* ---- the directory convention ---- */

/* Grayscale 2x3 images of directory <tmp_dir>/name (the path text lasts
 * until the next call). */
static ds_images_args gray_args(const char *name)
{
    static char directory[512];
    snprintf(directory, sizeof directory, "%s/%s", tmp_dir, name);
    return (ds_images_args){.directory = directory, .color_mode = DS_COLOR_GRAYSCALE,
                            .image_size = {2, {2, 3}}, .seed = 1337};
}

static int open_images(const ds_images_args *args, ds_dataset *d, dl_err *err)
{
    dl_kind_ref ref = {.kind = &ds_images_kind, .args = (void *)args};
    memset(err, 0, sizeof *err);
    return ds_open(&ref, DS_NEED_LABELS, d, err);
}

/* Every sample is a flat image whose value names its file: checks each
 * sample's label and file against files[] (value, label, path suffix), and
 * that each file appears exactly once. */
typedef struct expected_file {
    int value, label;
    const char *suffix;
} expected_file;

static void check_samples(const char *what, const ds_dataset *d, const expected_file *files,
                          size_t nfiles)
{
    int seen[16] = {0};
    CHECK(d->n == nfiles, "%s: %zu samples, expected %zu", what, d->n, nfiles);
    for (size_t i = 0; i < d->n; i++) {
        size_t f = 0;
        while (f < nfiles && files[f].value != d->u8[i * d->sample_size])
            f++;
        CHECK(f < nfiles, "%s: sample %zu has value %u: no such file", what, i,
              d->u8[i * d->sample_size]);
        if (f == nfiles)
            continue;
        seen[f]++;
        const char *path = d->sample_files[i];
        size_t plen = strlen(path), slen = strlen(files[f].suffix);
        CHECK(d->labels[i] == (float)files[f].label && plen >= slen &&
                  !strcmp(path + plen - slen, files[f].suffix),
              "%s: sample %zu: label %g, file %s", what, i, d->labels[i], path);
    }
    for (size_t f = 0; f < nfiles; f++)
        CHECK(seen[f] == 1, "%s: %s seen %d times", what, files[f].suffix, seen[f]);
}

static void make_tree(void)
{
    const char *dirs[] = {"tree", "tree/B", "tree/a", "tree/a/sub", "tree/a/sub/deeper",
                          "tree/class10", "tree/class2", "tree/z", "tree/.git"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        CHECK(mkdir(tmp_path(dirs[i]), 0700) == 0, "mkdir %s", dirs[i]);
    write_flat("tree/B/b.png", 2, 3, 10);
    write_flat("tree/a/a.png", 2, 3, 20);
    write_flat("tree/a/UPPER.PNG", 2, 3, 21);
    write_flat("tree/a/.hidden.png", 2, 3, 22);
    write_flat("tree/a/sub/nested.png", 2, 3, 23);
    write_flat("tree/a/sub/deeper/deep.png", 2, 3, 24);
    write_raw(tmp_path("tree/a/notes.txt"), "not an image", 12);
    write_flat("tree/class10/c.png", 2, 3, 30);
    write_flat("tree/z/z.png", 2, 3, 50);
    write_flat("tree/.git/hidden_class.png", 2, 3, 60);
    write_flat("tree/root.png", 2, 3, 70);
    write_raw(tmp_path("tree/readme.txt"), "files at the root are ignored", 29);
}

static const expected_file tree_files[] = {
    {10, 0, "/tree/B/b.png"},     {20, 1, "/tree/a/a.png"},
    {21, 1, "/tree/a/UPPER.PNG"}, {22, 1, "/tree/a/.hidden.png"},
    {23, 1, "/tree/a/sub/nested.png"}, {24, 1, "/tree/a/sub/deeper/deep.png"},
    {30, 2, "/tree/class10/c.png"}, {50, 4, "/tree/z/z.png"},
};

static void test_directory(void)
{
    make_tree();
    ds_images_args args = gray_args("tree");
    ds_dataset d, again, other;
    dl_err err;
    int rc = open_images(&args, &d, &err);
    CHECK(rc == DL_OK, "tree: %s", err.msg);
    if (rc != DL_OK)
        return;
    const char *names[] = {"B", "a", "class10", "class2", "z"};
    int names_ok = d.nclasses == 5;
    for (int k = 0; names_ok && k < 5; k++)
        names_ok = !strcmp(d.class_names[k], names[k]);
    CHECK(names_ok, "classes B < a < class10 < class2 < z (class2 empty), got %d", d.nclasses);
    check_samples("tree", &d, tree_files, sizeof tree_files / sizeof tree_files[0]);
    CHECK(d.sample_shape.ndim == 3 && d.sample_shape.dim[0] == 2 && d.sample_shape.dim[1] == 3 &&
              d.sample_shape.dim[2] == 1 && d.sample_size == 6, "shape [2, 3, 1]");
    CHECK(d.labels_integral && d.max_label == 4 && !strcmp(d.source, tmp_path("tree")),
          "label summary and source");
    char where[512];
    ds_where(&d, 2, where, sizeof where);
    CHECK(!strcmp(where, d.sample_files[2]), "where names the file: %s", where);
    rc = ds_check_classes(&d, 4, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "/tree/z/z.png: label 4", "outside the model's 4 classes");

    /* the order: the same seed again, another seed */
    rc = open_images(&args, &again, &err);
    CHECK(rc == DL_OK, "tree again: %s", err.msg);
    args.seed = 7;
    int rc2 = open_images(&args, &other, &err);
    CHECK(rc2 == DL_OK, "tree seed 7: %s", err.msg);
    if (rc == DL_OK && rc2 == DL_OK) {
        int same = 1, differs = 0;
        for (size_t i = 0; i < d.n; i++) {
            same = same && !strcmp(d.sample_files[i], again.sample_files[i]);
            differs = differs || strcmp(d.sample_files[i], other.sample_files[i]);
        }
        CHECK(same, "the same seed gives the same order");
        CHECK(differs, "another seed gives another order");
        check_samples("seed 7", &other, tree_files, sizeof tree_files / sizeof tree_files[0]);
        int sorted = 1;
        for (size_t i = 1; i < d.n; i++)
            sorted = sorted && d.labels[i - 1] <= d.labels[i];
        CHECK(!sorted, "the shuffle mixes the classes");
        ds_free(&again);
        ds_free(&other);
    }
    ds_free(&d);
    CHECK(!d.class_names && !d.sample_files && !d.nclasses && !d.u8, "ds_free clears images");

    /* explicit class_names: a subset, in the given order */
    char *chosen[] = {"class10", "B"};
    args.class_names = (dl_strings){2, chosen};
    rc = open_images(&args, &d, &err);
    CHECK(rc == DL_OK, "class_names: %s", err.msg);
    if (rc == DL_OK) {
        const expected_file subset[] = {{30, 0, "/tree/class10/c.png"}, {10, 1, "/tree/B/b.png"}};
        CHECK(d.nclasses == 2 && !strcmp(d.class_names[0], "class10") &&
                  !strcmp(d.class_names[1], "B"), "class_names kept in order");
        check_samples("class_names", &d, subset, 2);
        ds_free(&d);
    }
    char *unknown[] = {"a", "cats"};
    args.class_names = (dl_strings){2, unknown};
    rc = open_images(&args, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "tree: class_names: \"cats\"", "not a sub-directory");
    char *hidden[] = {".git"};
    args.class_names = (dl_strings){1, hidden};
    rc = open_images(&args, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "\".git\"", "not a sub-directory");
}

static void test_links(void)
{
    CHECK(mkdir(tmp_path("linked"), 0700) == 0 && mkdir(tmp_path("linked/c"), 0700) == 0 &&
              mkdir(tmp_path("outside"), 0700) == 0, "mkdir linked");
    write_flat("linked/c/own.png", 2, 3, 1);
    write_flat("outside/far.png", 2, 3, 2);
    CHECK(symlink("../../outside", tmp_path("linked/c/far")) == 0 &&
              symlink(".", tmp_path("linked/c/loop")) == 0 &&
              symlink("../outside", tmp_path("linked/d")) == 0, "symlinks");
    ds_images_args args = gray_args("linked");
    ds_dataset d;
    dl_err err;
    int rc = open_images(&args, &d, &err);
    CHECK(rc == DL_OK, "links: %s", err.msg);
    if (rc == DL_OK) {
        const expected_file files[] = {{1, 0, "/linked/c/own.png"}, {2, 1, "/linked/d/far.png"}};
        CHECK(d.nclasses == 2 && !strcmp(d.class_names[1], "d"), "a linked class directory counts");
        check_samples("no follow_links", &d, files, 2);
        ds_free(&d);
    }
    args.follow_links = 1;
    rc = open_images(&args, &d, &err);
    CHECK(rc == DL_OK, "follow_links: %s", err.msg);
    if (rc == DL_OK) {
        CHECK(d.n == 3, "follow_links walks the link, not the loop: %zu samples", d.n);
        int far_in_c = 0;
        for (size_t i = 0; i < d.n; i++)
            far_in_c += d.labels[i] == 0 && strstr(d.sample_files[i], "/linked/c/far/far.png");
        CHECK(far_in_c == 1, "the linked file is in class c once");
        ds_free(&d);
    }
}

/* Sends stderr to path; returns the descriptor that stderr_back restores. */
static int stderr_to(const char *path)
{
    fflush(stderr);
    int saved = dup(2), log = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved >= 0 && log >= 0 && dup2(log, 2) == 2, "redirect stderr to %s", path);
    if (log >= 0)
        close(log);
    return saved;
}

static void stderr_back(int saved)
{
    fflush(stderr);
    CHECK(saved >= 0 && dup2(saved, 2) == 2, "restore stderr");
    if (saved >= 0)
        close(saved);
}

static void test_directory_errors(void)
{
    ds_images_args args = gray_args("nowhere");
    ds_dataset d;
    dl_err err;
    int rc = open_images(&args, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "nowhere", "cannot open directory");
    CHECK(mkdir(tmp_path("empty"), 0700) == 0, "mkdir empty");
    args = gray_args("empty");
    rc = open_images(&args, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "empty", "no class sub-directories");
    CHECK(!d.class_names && !d.source, "freed after failure");
    CHECK(mkdir(tmp_path("no_images"), 0700) == 0 && mkdir(tmp_path("no_images/x"), 0700) == 0,
          "mkdir no_images");
    write_raw(tmp_path("no_images/x/a.txt"), "text", 4);
    args = gray_args("no_images");
    rc = open_images(&args, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "no_images", "no image files");

    /* a bad image: an error naming it, or (skip) a warning and the rest */
    CHECK(mkdir(tmp_path("mixed"), 0700) == 0 && mkdir(tmp_path("mixed/k"), 0700) == 0,
          "mkdir mixed");
    write_flat("mixed/k/fine.png", 5, 5, 9);
    write_raw(tmp_path("mixed/k/bad.png"), "not a png at all", 16);
    write_raw(tmp_path("mixed/k/photo.JPG"), "\xFF\xD8\xFF\xE0", 4);
    args = gray_args("mixed");
    rc = open_images(&args, &d, &err);
    CHECK(rc == DL_ERR && (strstr(err.msg, "mixed/k/bad.png: not a PNG image") ||
                           strstr(err.msg, "mixed/k/photo.JPG: a JPEG image")),
          "on_error error: %s", err.msg);
    CHECK(!d.u8 && !d.sample_files, "freed after failure");

    args.on_error = DS_ON_ERROR_SKIP;
    int saved = stderr_to(tmp_path("stderr.txt"));
    rc = open_images(&args, &d, &err);
    stderr_back(saved);
    char warnings[2048] = {0};
    read_raw(tmp_path("stderr.txt"), (unsigned char *)warnings, sizeof warnings - 1);
    CHECK(rc == DL_OK && d.n == 1 && d.u8[0] == 9 && d.u8[5] == 9,
          "on_error skip keeps the good image (resized 5x5 -> 2x3): %s", err.msg);
    CHECK(strstr(warnings, "warning: ") && strstr(warnings, "mixed/k/bad.png: not a PNG") &&
              strstr(warnings, "mixed/k/photo.JPG: a JPEG image") && strstr(warnings, "skipped"),
          "warnings name the skipped files: %s", warnings);
    if (rc == DL_OK)
        ds_free(&d);
    CHECK(unlink(tmp_path("mixed/k/fine.png")) == 0, "unlink");
    saved = stderr_to(tmp_path("stderr.txt"));
    rc = open_images(&args, &d, &err);
    stderr_back(saved);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "mixed", "none of its 2 image files could be read");
}

static void test_table(void)
{
    CHECK(dl_family_find(&ds_format_family, "images") == &ds_images_kind, "format images");
    int rows = 0, defaults_ok = 1;
    for (const dl_arg *a = ds_images_kind.args; a->key; a++, rows++) {
        if (!strcmp(a->key, "image_size"))
            defaults_ok = defaults_ok && !strcmp(a->def, "[256, 256]") && a->len == 2;
        if (!strcmp(a->key, "seed"))
            defaults_ok = defaults_ok && !strcmp(a->def, "1337");
        if (!strcmp(a->key, "color_mode"))
            defaults_ok = defaults_ok && !strcmp(a->def, "rgb");
    }
    CHECK(rows == 7 && defaults_ok && ds_images_kind.args[0].def == NULL, "images arguments");
    char why[128];
    char *twice[] = {"cat", "dog", "cat"};
    ds_images_args args = {.class_names = {3, twice}};
    CHECK(ds_images_kind.check(&args, why, sizeof why) == DL_ERR && strstr(why, "\"cat\" twice"),
          "duplicate class name: %s", why);
    args.class_names.n = 2;
    CHECK(ds_images_kind.check(&args, why, sizeof why) == DL_OK, "distinct class names");
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_directory();
    test_links();
    test_directory_errors();
    test_table();
    remove_tmp_dir();
    return check_report("images_dir");
}
