/* test_datasets.c: IDX loading (raw, gzip, converted types, every broken
 * file), class checks, the data-format argument tables, the batcher and the
 * validation split; the real Fashion-MNIST files when installed. CSV loading
 * is in test_datasets_csv.c. */
#include "datasets/dataset.h"
#include "tests/unit/check.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist/"

static char tmp_dir[] = "/tmp/dltrain_test_datasets_XXXXXX";

#define CHECK_FAILS(rc, err, code, part1, part2)                                 \
    CHECK((rc) == DL_ERR && (err).exit_code == (code) &&                         \
              strstr((err).msg, (part1)) && strstr((err).msg, (part2)),          \
          "rc %d, exit %d, message \"%s\"", (rc), (err).exit_code, (err).msg)

/* "<tmp_dir>/<name>"; four rotating buffers, so one call may use a few. */
static const char *tmp_path(const char *name)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", tmp_dir, name);
    return p;
}

static void write_raw(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(bytes, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    CHECK(ok, "cannot write %s", path);
}

static void write_gz(const char *path, const void *bytes, size_t len)
{
    gzFile f = gzopen(path, "wb");
    int ok = f && gzwrite(f, bytes, (unsigned)len) == (int)len;
    ok = f && gzclose(f) == Z_OK && ok;
    CHECK(ok, "cannot write %s", path);
}

static unsigned char *read_whole(const char *path, size_t *len)
{
    static unsigned char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    *len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

/* An IDX file in memory: header for dims, then `payload` bytes. */
static size_t make_idx(unsigned char *out, int type, int ndim, const uint32_t *dims,
                       const void *payload, size_t payload_len)
{
    out[0] = 0;
    out[1] = 0;
    out[2] = (unsigned char)type;
    out[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++)
            out[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    memcpy(out + 4 + 4 * ndim, payload, payload_len);
    return 4 + 4 * (size_t)ndim + payload_len;
}

static int open_idx(const char *images, const char *labels, int flags, ds_dataset *d, dl_err *err)
{
    ds_idx_args args = {(char *)images, (char *)labels};
    dl_kind_ref ref = {.kind = &ds_idx_kind, .args = &args};
    memset(err, 0, sizeof *err);
    return ds_open(&ref, flags, d, err);
}

/* Images [3, 2, 2] uint8 and labels [3] written raw and gzip. */
static const unsigned char pixels[12] = {0, 1, 2, 3, 10, 20, 30, 40, 255, 128, 7, 9};
static const unsigned char label_bytes[3] = {2, 0, 1};
static unsigned char images_idx[64], labels_idx[16];
static size_t images_len, labels_len;

static void write_fixtures(void)
{
    uint32_t image_dims[3] = {3, 2, 2}, label_dims[1] = {3};
    images_len = make_idx(images_idx, 0x08, 3, image_dims, pixels, sizeof pixels);
    labels_len = make_idx(labels_idx, 0x08, 1, label_dims, label_bytes, sizeof label_bytes);
    write_raw(tmp_path("images.idx"), images_idx, images_len);
    write_raw(tmp_path("labels.idx"), labels_idx, labels_len);
    write_gz(tmp_path("images.idx.gz"), images_idx, images_len);
    write_gz(tmp_path("labels.idx.gz"), labels_idx, labels_len);
}

static void test_idx_reads(void)
{
    ds_dataset raw, gz;
    dl_err err;
    int rc = open_idx(tmp_path("images.idx"), tmp_path("labels.idx"), DS_NEED_LABELS, &raw, &err);
    CHECK(rc == DL_OK, "raw IDX: %s", err.msg);
    if (rc != DL_OK)
        return;
    CHECK(raw.n == 3 && raw.sample_shape.ndim == 2 && raw.sample_shape.dim[0] == 2 &&
              raw.sample_shape.dim[1] == 2 && raw.sample_size == 4, "IDX shape");
    CHECK(raw.u8 && !raw.f32 && !memcmp(raw.u8, pixels, sizeof pixels), "IDX pixels");
    CHECK(raw.labels && raw.labels[0] == 2 && raw.labels[1] == 0 && raw.labels[2] == 1,
          "IDX labels");
    CHECK(raw.labels_integral && raw.max_label == 2, "IDX label summary");
    CHECK(!raw.line && !raw.feature_names, "IDX has no lines or names");
    CHECK(!strcmp(raw.source, tmp_path("images.idx")) &&
              !strcmp(raw.label_source, tmp_path("labels.idx")), "IDX sources");
    char where[512];
    ds_where(&raw, 1, where, sizeof where);
    char want[600];
    snprintf(want, sizeof want, "%s: byte 9 (sample 1)", tmp_path("labels.idx"));
    CHECK(!strcmp(where, want), "IDX where: %s", where);
    CHECK(ds_check_classes(&raw, 3, &err) == DL_OK, "labels 0..2 fit 3 classes");
    rc = ds_check_classes(&raw, 2, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "labels.idx: byte 8 (sample 0): label 2",
                "outside the model's 2 classes (0..1)");

    rc = open_idx(tmp_path("images.idx.gz"), tmp_path("labels.idx.gz"), DS_NEED_LABELS, &gz, &err);
    CHECK(rc == DL_OK, "gzip IDX: %s", err.msg);
    if (rc == DL_OK) {
        CHECK(gz.n == raw.n && gz.sample_size == raw.sample_size &&
                  !memcmp(gz.u8, raw.u8, raw.n * raw.sample_size) &&
                  !memcmp(gz.labels, raw.labels, raw.n * sizeof *raw.labels), "gzip == raw");
        ds_free(&gz);
    }
    ds_free(&raw);
    CHECK(!raw.u8 && !raw.labels && !raw.source, "ds_free clears the dataset");

    rc = open_idx(tmp_path("images.idx"), NULL, DS_NO_LABELS, &raw, &err);
    CHECK(rc == DL_OK && !raw.labels && !raw.labels_integral, "IDX without labels for predict");
    if (rc == DL_OK) {
        ds_where(&raw, 2, where, sizeof where);
        CHECK(strstr(where, "images.idx: sample 2") != NULL, "where without labels: %s", where);
        ds_free(&raw);
    }
    rc = open_idx(tmp_path("images.idx"), NULL, DS_NEED_LABELS, &raw, &err);
    CHECK_FAILS(rc, err, DL_EXIT_USAGE, "images.idx", "no labels file");
}

static void test_idx_types(void)
{
    unsigned char buf[128];
    ds_dataset d;
    dl_err err;
    const struct {
        int type;
        unsigned char payload[16];
        size_t elem;
        float want[2];
    } cases[] = {
        {0x09, {0xFB, 0x7F}, 1, {-5, 127}},
        {0x0B, {0xFE, 0xD4, 0x03, 0xE8}, 2, {-300, 1000}},
        {0x0C, {0x00, 0x01, 0x11, 0x70, 0xFF, 0xFF, 0xFF, 0xFE}, 4, {70000, -2}},
        {0x0D, {0x3F, 0xC0, 0, 0, 0xC0, 0x10, 0, 0}, 4, {1.5f, -2.25f}},
        {0x0E, {0x3F, 0xE0, 0, 0, 0, 0, 0, 0, 0xC0, 0x59, 0, 0, 0, 0, 0, 0}, 8, {0.5f, -100}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t dims[2] = {2, 1};
        size_t len = make_idx(buf, cases[c].type, 2, dims, cases[c].payload, 2 * cases[c].elem);
        write_gz(tmp_path("typed.idx.gz"), buf, len);
        int rc = open_idx(tmp_path("typed.idx.gz"), NULL, DS_NO_LABELS, &d, &err);
        CHECK(rc == DL_OK, "type 0x%02x: %s", cases[c].type, err.msg);
        if (rc != DL_OK)
            continue;
        CHECK(!d.u8 && d.f32 && d.n == 2 && d.sample_size == 1, "type 0x%02x as float",
              cases[c].type);
        CHECK(d.f32[0] == cases[c].want[0] && d.f32[1] == cases[c].want[1],
              "type 0x%02x values %g %g", cases[c].type, d.f32[0], d.f32[1]);
        ds_free(&d);
    }
    /* ndim 1: one number per sample */
    uint32_t dims[1] = {4};
    size_t len = make_idx(buf, 0x08, 1, dims, "\1\2\3\4", 4);
    write_raw(tmp_path("flat.idx"), buf, len);
    int rc = open_idx(tmp_path("flat.idx"), NULL, DS_NO_LABELS, &d, &err);
    CHECK(rc == DL_OK && d.n == 4 && d.sample_shape.ndim == 1 && d.sample_shape.dim[0] == 1 &&
              d.sample_size == 1 && d.u8[3] == 4, "one-dimensional images");
    if (rc == DL_OK)
        ds_free(&d);
    /* a NaN float is refused with its byte offset */
    dims[0] = 2;
    len = make_idx(buf, 0x0D, 1, dims, "\0\0\0\0\x7f\xc0\0\0", 8);
    write_raw(tmp_path("nan.idx"), buf, len);
    rc = open_idx(tmp_path("nan.idx"), NULL, DS_NO_LABELS, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "nan.idx: byte 12", "not a finite");
}

/* Opens images `name` (labels.idx as labels) and checks the failure. */
#define CHECK_BROKEN(name, part)                                                  \
    do {                                                                          \
        ds_dataset d_;                                                            \
        dl_err e_;                                                                \
        int rc_ = open_idx(tmp_path(name), tmp_path("labels.idx"), DS_NEED_LABELS, \
                           &d_, &e_);                                             \
        CHECK_FAILS(rc_, e_, DL_EXIT_FAIL, name, part);                           \
        CHECK(rc_ != DL_ERR || (!d_.u8 && !d_.source), "freed after failure");    \
    } while (0)

static void test_idx_broken(void)
{
    unsigned char buf[4096];
    CHECK_BROKEN("missing.idx", "cannot open");
    CHECK(mkdir(tmp_path("dir.idx"), 0700) == 0, "mkdir");
    CHECK_BROKEN("dir.idx", "cannot read at byte 0");
    write_raw(tmp_path("empty.idx"), "", 0);
    CHECK_BROKEN("empty.idx", "empty file");
    write_gz(tmp_path("empty.idx.gz"), "", 0);
    CHECK_BROKEN("empty.idx.gz", "empty file");
    write_raw(tmp_path("short_header.idx"), images_idx, 10);
    CHECK_BROKEN("short_header.idx", "truncated: data ends at byte 10, the header declares 16");

    memcpy(buf, images_idx, images_len);
    buf[1] = 8;
    write_raw(tmp_path("magic.idx"), buf, images_len);
    CHECK_BROKEN("magic.idx", "not an IDX file");
    buf[1] = 0;
    buf[2] = 0x07;
    write_raw(tmp_path("type.idx"), buf, images_len);
    CHECK_BROKEN("type.idx", "byte 2: unknown IDX element type 0x07");
    buf[2] = 0x08;
    buf[3] = 0;
    write_raw(tmp_path("ndim.idx"), buf, images_len);
    CHECK_BROKEN("ndim.idx", "byte 3");
    uint32_t ones[7] = {1, 1, 1, 1, 1, 1, 1};
    write_raw(tmp_path("ndim7.idx"), buf, make_idx(buf, 0x08, 7, ones, "x", 1));
    CHECK_BROKEN("ndim7.idx", "6 dimensions per sample");
    memcpy(buf, images_idx, images_len);
    buf[11] = 0;
    write_raw(tmp_path("zero_dim.idx"), buf, images_len);
    CHECK_BROKEN("zero_dim.idx", "byte 8: dimension 1 is 0");
    uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 16};
    write_raw(tmp_path("huge.idx"), buf, make_idx(buf, 0x08, 3, huge, "", 0));
    CHECK_BROKEN("huge.idx", "more than");
    uint32_t big[1] = {0x30000000u};
    write_raw(tmp_path("big.idx"), buf, make_idx(buf, 0x0E, 1, big, "", 0));
    CHECK_BROKEN("big.idx", "limit");

    write_raw(tmp_path("cut.idx"), images_idx, 20);
    CHECK_BROKEN("cut.idx", "truncated: data ends at byte 20, the header declares 28 bytes");
    write_gz(tmp_path("cut.idx.gz"), images_idx, 20);
    CHECK_BROKEN("cut.idx.gz", "truncated: data ends at byte 20, the header declares 28 bytes");
    memcpy(buf, images_idx, images_len);
    memcpy(buf + images_len, "xy", 2);
    write_raw(tmp_path("trailing.idx"), buf, images_len + 2);
    CHECK_BROKEN("trailing.idx", "trailing data at byte 28");
    write_gz(tmp_path("trailing.idx.gz"), buf, images_len + 2);
    CHECK_BROKEN("trailing.idx.gz", "trailing data at byte 28");

    /* A gzip stream cut in its deflate data and in its trailer; noise does
     * not compress, so half the stream holds about half the payload. */
    uint32_t noise_dims[3] = {3, 20, 20};
    unsigned char noise[1200];
    uint32_t state = 12345;
    for (size_t i = 0; i < sizeof noise; i++) {
        state = state * 1664525u + 1013904223u;
        noise[i] = (unsigned char)(state >> 24);
    }
    size_t noise_len = make_idx(buf, 0x08, 3, noise_dims, noise, sizeof noise);
    write_gz(tmp_path("noise.idx.gz"), buf, noise_len);
    size_t gz_len;
    unsigned char *gz = read_whole(tmp_path("noise.idx.gz"), &gz_len);
    write_raw(tmp_path("gz_half.idx.gz"), gz, gz_len / 2);
    CHECK_BROKEN("gz_half.idx.gz", "gzip stream cut off: data ends at byte");
    write_raw(tmp_path("gz_trailer.idx.gz"), gz, gz_len - 4);
    CHECK_BROKEN("gz_trailer.idx.gz", "gzip stream cut off after byte 1216");
    gz[gz_len - 8] ^= 0xFF; /* CRC-32 of the data */
    write_raw(tmp_path("gz_crc.idx.gz"), gz, gz_len);
    CHECK_BROKEN("gz_crc.idx.gz", "cannot read at byte");

    /* labels that do not fit the images */
    ds_dataset d;
    dl_err err;
    uint32_t four[1] = {4};
    write_raw(tmp_path("labels4.idx"), buf, make_idx(buf, 0x08, 1, four, "\0\1\2\3", 4));
    int rc = open_idx(tmp_path("images.idx"), tmp_path("labels4.idx"), DS_NEED_LABELS, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "labels4.idx has 4 labels but ", "images.idx has 3 images");
    uint32_t two_d[2] = {3, 1};
    write_raw(tmp_path("labels2d.idx"), buf, make_idx(buf, 0x08, 2, two_d, "\0\1\2", 3));
    rc = open_idx(tmp_path("images.idx"), tmp_path("labels2d.idx"), DS_NEED_LABELS, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "labels2d.idx", "1 dimension");
    uint32_t three[1] = {3};
    write_raw(tmp_path("labels_f.idx"), buf,
              make_idx(buf, 0x0D, 1, three, "\0\0\0\0\0\0\0\0\0\0\0\0", 12));
    rc = open_idx(tmp_path("images.idx"), tmp_path("labels_f.idx"), DS_NEED_LABELS, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "labels_f.idx", "labels must be bytes");
    write_raw(tmp_path("labels_cut.idx"), labels_idx, labels_len - 1);
    rc = open_idx(tmp_path("images.idx"), tmp_path("labels_cut.idx"), DS_NEED_LABELS, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "labels_cut.idx", "data ends at byte 10");
    rc = open_idx(tmp_path("images.idx"), tmp_path("no_labels.idx"), DS_NEED_LABELS, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "no_labels.idx", "cannot open");
}

static void test_tables(void)
{
    CHECK(dl_family_find(&ds_format_family, "idx") == &ds_idx_kind &&
              dl_family_find(&ds_format_family, "csv") == &ds_csv_kind &&
              !dl_family_find(&ds_format_family, "png"), "format family lookup");
    int csv_rows = 0;
    for (const dl_arg *a = ds_csv_kind.args; a->key; a++)
        csv_rows++;
    CHECK(csv_rows == 5 && ds_idx_kind.args[0].def == NULL && ds_idx_kind.args[2].key == NULL,
          "argument tables");
    char why[128];
    ds_csv_args args = {.delimiter = ";"};
    CHECK(ds_csv_kind.check(&args, why, sizeof why) == DL_OK, "one-character delimiter");
    args.delimiter = ";;";
    CHECK(ds_csv_kind.check(&args, why, sizeof why) == DL_ERR && strstr(why, "one character"),
          "two-character delimiter: %s", why);
    args.delimiter = "";
    CHECK(ds_csv_kind.check(&args, why, sizeof why) == DL_ERR, "empty delimiter");
    args.delimiter = "\"";
    CHECK(ds_csv_kind.check(&args, why, sizeof why) == DL_ERR, "quote as delimiter");
}

/* A 10-sample uint8 dataset of 3 features whose label is the sample index. */
static uint8_t batch_pixels[30];
static float batch_labels[10];

static ds_dataset batch_dataset(void)
{
    for (int i = 0; i < 30; i++)
        batch_pixels[i] = (uint8_t)(i * 8);
    for (int i = 0; i < 10; i++)
        batch_labels[i] = (float)i;
    ds_dataset d = {.source = "mem", .n = 10, .sample_size = 3, .u8 = batch_pixels,
                    .labels = batch_labels, .labels_integral = 1, .max_label = 9};
    d.sample_shape.ndim = 1;
    d.sample_shape.dim[0] = 3;
    return d;
}

/* Runs one epoch; order[k] = label (= sample index) of the k-th row. */
static int run_epoch(ds_batcher *b, int epoch, size_t *order)
{
    float x[4 * 3], y[4];
    int rows, total = 0;
    ds_batcher_epoch(b, epoch);
    while ((rows = ds_batcher_next(b, x, y)) > 0) {
        for (int r = 0; r < rows; r++) {
            size_t i = (size_t)y[r];
            int ok = x[3 * r] == (float)batch_pixels[3 * i] * 0.5f &&
                     x[3 * r + 2] == (float)batch_pixels[3 * i + 2] * 0.5f;
            CHECK(ok, "x row of sample %zu", i);
            order[total + r] = i;
        }
        total += rows;
    }
    return total;
}

static void test_batcher(void)
{
    ds_dataset d = batch_dataset();
    ds_batcher a, b;
    dl_err err;
    size_t order[10], again[10], other[10];
    CHECK(ds_batcher_init(&a, &d, 0, 10, 4, 0.5f, 0, 1, 0, &err) == DL_OK, "init");
    CHECK(ds_batcher_steps(&a) == 3, "steps = ceil(10 / 4)");
    float x[12], y[4];
    CHECK(ds_batcher_next(&a, x, y) == 4 && ds_batcher_next(&a, x, y) == 4 &&
              ds_batcher_next(&a, x, y) == 2 && ds_batcher_next(&a, x, y) == 0,
          "batches of 4, 4, 2 then the end");
    CHECK(y[0] == 8 && y[1] == 9 && x[5] == (float)batch_pixels[29] * 0.5f, "partial last batch");
    int total = run_epoch(&a, 3, order);
    int identity = total == 10;
    for (size_t i = 0; i < 10; i++)
        identity = identity && order[i] == i;
    CHECK(identity, "shuffle=0 keeps the stored order");
    ds_batcher_free(&a);

    CHECK(ds_batcher_init(&a, &d, 0, 10, 4, 0.5f, 1, 42, 0, &err) == DL_OK &&
              ds_batcher_init(&b, &d, 0, 10, 4, 0.5f, 1, 42, 0, &err) == DL_OK, "init shuffled");
    for (int epoch = 0; epoch < 5; epoch++) {
        int seen[10] = {0}, all_once = run_epoch(&a, epoch, order) == 10;
        for (int i = 0; i < 10; i++)
            seen[order[i]]++;
        for (int i = 0; i < 10; i++)
            all_once = all_once && seen[i] == 1;
        CHECK(all_once, "epoch %d visits every sample once", epoch);
    }
    run_epoch(&a, 1, order);
    run_epoch(&b, 1, again);
    CHECK(!memcmp(order, again, sizeof order), "same seed and epoch, same order");
    run_epoch(&b, 2, other);
    CHECK(memcmp(order, other, sizeof order) != 0, "another epoch, another order");
    run_epoch(&b, 1, other);
    CHECK(!memcmp(order, other, sizeof order), "an epoch's order can be recreated");
    ds_batcher_free(&b);
    CHECK(ds_batcher_init(&b, &d, 0, 10, 4, 0.5f, 1, 43, 0, &err) == DL_OK, "init seed 43");
    run_epoch(&b, 1, other);
    CHECK(memcmp(order, other, sizeof order) != 0, "another seed, another order");
    ds_batcher_free(&a);
    ds_batcher_free(&b);

    /* a sub-range stays in its range */
    CHECK(ds_batcher_init(&a, &d, 6, 4, 4, 0.5f, 1, 7, 0, &err) == DL_OK, "init range");
    total = run_epoch(&a, 0, order);
    int in_range = total == 4;
    for (int i = 0; i < total; i++)
        in_range = in_range && order[i] >= 6 && order[i] < 10;
    CHECK(in_range, "samples 6..9 only");
    ds_batcher_free(&a);
}

static void test_batcher_targets(void)
{
    ds_dataset d = batch_dataset();
    batch_labels[1] = 5;    /* outside 3 classes */
    batch_labels[2] = 1.5f; /* not a class id */
    ds_batcher b;
    dl_err err;
    float *x = malloc(3 * 3 * sizeof *x), *y = malloc(3 * 3 * sizeof *y); /* exact sizes for ASan */
    CHECK(ds_batcher_init(&b, &d, 0, 3, 3, 1.0f, 0, 0, 3, &err) == DL_OK, "init one-hot");
    CHECK(ds_batcher_next(&b, x, y) == 3, "one-hot batch");
    const float want[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(!memcmp(y, want, sizeof want), "one-hot rows; bad labels give zero rows");
    CHECK(x[4] == 32.0f, "rescale 1 keeps the stored value");
    ds_batcher_free(&b);
    free(x);
    free(y);

    float features[4] = {1, -2, 3, 4}, labels[2] = {0.25f, -1};
    ds_dataset f = {.source = "mem", .n = 2, .sample_size = 2, .f32 = features, .labels = labels};
    float fx[4];
    CHECK(ds_batcher_init(&b, &f, 0, 2, 8, 2.0f, 0, 0, 0, &err) == DL_OK &&
              ds_batcher_next(&b, fx, NULL) == 2, "float samples, no targets wanted");
    CHECK(fx[1] == -4 && fx[3] == 8, "float samples rescaled");
    ds_batcher_free(&b);

    int rc = ds_batcher_init(&b, &d, 0, 10, 0, 1, 0, 0, 0, &err);
    CHECK_FAILS(rc, err, DL_EXIT_USAGE, "batch_size", "got 0");
    rc = ds_batcher_init(&b, &d, 8, 3, 4, 1, 0, 0, 0, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "mem", "no samples");
    rc = ds_batcher_init(&b, &d, 10, 0, 4, 1, 0, 0, 0, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "mem", "no samples");
    d.labels = NULL;
    rc = ds_batcher_init(&b, &d, 0, 10, 4, 1, 0, 0, 10, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "mem", "need labels");

    CHECK(ds_split_point(10, 0.1) == 9 && ds_split_point(100, 0.2) == 80 &&
              ds_split_point(7, 0.5) == 3 && ds_split_point(3, 1.0 / 3) == 2, "split points");
    CHECK(ds_split_point(10, 0) == 10 && ds_split_point(10, 1) == 0 &&
              ds_split_point(60000, 0.1) == 54000, "split edges");
}

static void test_fashion_mnist(void)
{
    if (access(FASHION_DIR "train-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("note: %s not installed; Fashion-MNIST check skipped\n", FASHION_DIR);
        return;
    }
    ds_dataset d;
    dl_err err;
    int rc = open_idx(FASHION_DIR "train-images-idx3-ubyte.gz",
                      FASHION_DIR "train-labels-idx1-ubyte.gz", DS_NEED_LABELS, &d, &err);
    CHECK(rc == DL_OK, "Fashion-MNIST train: %s", err.msg);
    if (rc != DL_OK)
        return;
    CHECK(d.n == 60000 && d.sample_shape.ndim == 2 && d.sample_shape.dim[0] == 28 &&
              d.sample_shape.dim[1] == 28 && d.u8, "Fashion-MNIST shape");
    const float first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    CHECK(!memcmp(d.labels, first, sizeof first), "Fashion-MNIST first labels");
    CHECK(d.labels_integral && d.max_label == 9 && ds_check_classes(&d, 10, &err) == DL_OK,
          "Fashion-MNIST has 10 classes");
    double sum = 0;
    for (size_t i = 0; i < d.n * d.sample_size; i++)
        sum += d.u8[i];
    CHECK_CLOSE(sum / (255.0 * (double)(d.n * d.sample_size)), 0.286041, 0, 1e-6, "pixel mean");
    ds_free(&d);
}

static void remove_tmp_dir(void)
{
    DIR *dir = opendir(tmp_dir);
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        const char *p = tmp_path(e->d_name);
        if (unlink(p) != 0)
            rmdir(p);
    }
    if (dir)
        closedir(dir);
    CHECK(rmdir(tmp_dir) == 0, "remove %s", tmp_dir);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_fixtures();
    test_idx_reads();
    test_idx_types();
    test_idx_broken();
    test_tables();
    test_batcher();
    test_batcher_targets();
    test_fashion_mnist();
    remove_tmp_dir();
    return check_report("datasets");
}
