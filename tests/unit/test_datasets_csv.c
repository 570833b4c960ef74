/* test_datasets_csv.c: CSV loading: choosing the label and feature columns
 * by name and by index, quoting, delimiters, line numbers in messages, every
 * malformed file, predict input without a label column, class checks. */
#include "datasets/dataset.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp_dir[] = "/tmp/dltrain_test_datasets_csv_XXXXXX";
static char csv_path[600];

#define CHECK_FAILS(rc, err, code, part1, part2)                                 \
    CHECK((rc) == DL_ERR && (err).exit_code == (code) &&                         \
              strstr((err).msg, (part1)) && strstr((err).msg, (part2)),          \
          "rc %d, exit %d, message \"%s\"", (rc), (err).exit_code, (err).msg)

typedef struct csv_options {
    const char *label;
    const char *features[4]; /* NULL-terminated */
    int no_header;
    const char *delimiter;
    int flags;
} csv_options;

/* Writes text to the test's CSV file and loads it. */
static int load_csv(const char *text, csv_options o, ds_dataset *d, dl_err *err)
{
    FILE *f = fopen(csv_path, "wb");
    int ok = f && fputs(text, f) >= 0;
    ok = f && fclose(f) == 0 && ok;
    CHECK(ok, "cannot write %s", csv_path);
    ds_csv_args args = {.path = csv_path, .label = (char *)o.label, .header = !o.no_header,
                        .delimiter = (char *)(o.delimiter ? o.delimiter : ",")};
    while (args.features.n < 4 && o.features[args.features.n])
        args.features.n++;
    args.features.v = (char **)o.features;
    dl_kind_ref ref = {.kind = &ds_csv_kind, .args = &args};
    memset(err, 0, sizeof *err);
    return ds_open(&ref, o.flags, d, err);
}

/* Expects `text` to fail with a message holding "<file>:<place>" and part. */
#define CHECK_CSV_FAILS(text, options, place, part)                               \
    do {                                                                          \
        ds_dataset d_;                                                            \
        dl_err e_;                                                                \
        char where_[700];                                                         \
        snprintf(where_, sizeof where_, "%s%s", csv_path, (place));               \
        int rc_ = load_csv((text), (options), &d_, &e_);                          \
        CHECK_FAILS(rc_, e_, DL_EXIT_FAIL, where_, (part));                       \
        CHECK(rc_ != DL_ERR || (!d_.f32 && !d_.source), "freed after failure");   \
    } while (0)

static int floats_are(const float *got, const float *want, size_t n)
{
    return got && !memcmp(got, want, n * sizeof *want);
}

static void test_columns(void)
{
    ds_dataset d;
    dl_err err;
    const char *text = "a,b,y\n1,2,0\n3.5,-4e2,1\n";
    int rc = load_csv(text, (csv_options){.label = "y"}, &d, &err);
    CHECK(rc == DL_OK, "label by name: %s", err.msg);
    if (rc == DL_OK) {
        const float x[4] = {1, 2, 3.5f, -400}, y[2] = {0, 1};
        CHECK(d.n == 2 && d.sample_size == 2 && d.sample_shape.ndim == 1 &&
                  d.sample_shape.dim[0] == 2, "shape");
        CHECK(floats_are(d.f32, x, 4) && floats_are(d.labels, y, 2) && !d.u8, "values");
        CHECK(d.line && d.line[0] == 2 && d.line[1] == 3, "lines");
        CHECK(d.feature_names && !strcmp(d.feature_names[0], "a") &&
                  !strcmp(d.feature_names[1], "b"), "feature names");
        CHECK(d.labels_integral && d.max_label == 1 && !strcmp(d.label_source, csv_path), "labels");
        char where[700], want[700];
        ds_where(&d, 1, where, sizeof where);
        snprintf(want, sizeof want, "%s:3", csv_path);
        CHECK(!strcmp(where, want), "where: %s", where);
        ds_free(&d);
    }
    rc = load_csv(text, (csv_options){.label = "0"}, &d, &err);
    CHECK(rc == DL_OK && d.labels[1] == 3.5f && d.f32[0] == 2 && d.f32[1] == 0 &&
              !d.labels_integral && !strcmp(d.feature_names[1], "y"), "label by index");
    if (rc == DL_OK)
        ds_free(&d);
    rc = load_csv(text, (csv_options){0}, &d, &err);
    CHECK(rc == DL_OK && d.sample_size == 2 && d.labels[1] == 1, "no label: the last column");
    if (rc == DL_OK)
        ds_free(&d);
    /* a header name made of digits wins over the index */
    rc = load_csv("x,0,1\n5,6,7\n", (csv_options){.label = "0"}, &d, &err);
    CHECK(rc == DL_OK && d.labels[0] == 6 && d.f32[0] == 5 && d.f32[1] == 7, "name before index");
    if (rc == DL_OK)
        ds_free(&d);

    rc = load_csv("1,2,3\n4,5,6\n", (csv_options){.no_header = 1}, &d, &err);
    CHECK(rc == DL_OK && d.n == 2 && !d.feature_names && d.line[0] == 1 && d.line[1] == 2,
          "no header: %s", err.msg);
    if (rc == DL_OK) {
        const float x[4] = {1, 2, 4, 5}, y[2] = {3, 6};
        CHECK(floats_are(d.f32, x, 4) && floats_are(d.labels, y, 2), "no header values");
        ds_free(&d);
    }
    rc = load_csv("a,b,c,y\n1,2,3,0\n", (csv_options){.label = "y", .features = {"c", "a"}},
                  &d, &err);
    CHECK(rc == DL_OK && d.sample_size == 2 && d.f32[0] == 3 && d.f32[1] == 1 &&
              !strcmp(d.feature_names[0], "c"), "features by name, in the listed order");
    if (rc == DL_OK)
        ds_free(&d);
    rc = load_csv("1,2,3,0\n", (csv_options){.label = "3", .features = {"2"}, .no_header = 1},
                  &d, &err);
    CHECK(rc == DL_OK && d.sample_size == 1 && d.f32[0] == 3 && d.labels[0] == 0,
          "features by index");
    if (rc == DL_OK)
        ds_free(&d);

    CHECK_CSV_FAILS(text, ((csv_options){.label = "z"}), ": label 'z'", "(columns: a, b, y)");
    CHECK_CSV_FAILS(text, ((csv_options){.label = "3"}), ": label '3'", "not a column");
    CHECK_CSV_FAILS("1,2\n", ((csv_options){.label = "2", .no_header = 1}), ": label '2'",
                    "0..1");
    CHECK_CSV_FAILS(text, ((csv_options){.label = "y", .features = {"a", "q"}}), ": feature 'q'",
                    "not a column");
    CHECK_CSV_FAILS(text, ((csv_options){.label = "y", .features = {"y"}}),
                    ": column 'y' (field 3)", "both the label and a feature");
    CHECK_CSV_FAILS("y\n1\n", ((csv_options){0}), ":", "no feature columns");
}

static void test_quoting(void)
{
    ds_dataset d;
    dl_err err;
    const char *text =
        "\"id, first\",\"say \"\"hi\"\"\",y\n"  /* line 1 */
        "1,\"2\n"                               /* lines 2-3: a newline in a field */
        "\",0\n"
        "\n"                                    /* line 4: blank */
        "\" 3.5 \",4,1\n"                       /* line 5 */
        "\n\n";
    int rc = load_csv(text, (csv_options){0}, &d, &err);
    CHECK(rc == DL_OK, "quoted fields: %s", err.msg);
    if (rc == DL_OK) {
        const float x[4] = {1, 2, 3.5f, 4};
        CHECK(d.n == 2 && floats_are(d.f32, x, 4), "quoted values");
        CHECK(!strcmp(d.feature_names[0], "id, first") && !strcmp(d.feature_names[1], "say \"hi\""),
              "quoted names: %s | %s", d.feature_names[0], d.feature_names[1]);
        CHECK(d.line[0] == 2 && d.line[1] == 5, "lines %u %u", d.line[0], d.line[1]);
        ds_free(&d);
    }
    rc = load_csv("a;b;y\r\n1.5;2;0\r\n3;4;1", (csv_options){.delimiter = ";"}, &d, &err);
    CHECK(rc == DL_OK && d.n == 2 && d.f32[0] == 1.5f && d.labels[1] == 1 && d.line[1] == 3,
          "semicolons, CRLF, no final newline: %s", err.msg);
    if (rc == DL_OK)
        ds_free(&d);
    rc = load_csv("\xEF\xBB\xBF" "a,y\n7,1\n", (csv_options){.label = "a"}, &d, &err);
    CHECK(rc == DL_OK && d.labels[0] == 7 && !strcmp(d.feature_names[0], "y"),
          "a UTF-8 byte order mark is skipped: %s", err.msg);
    if (rc == DL_OK)
        ds_free(&d);
    rc = load_csv("a\tb\n 1 \t2 \n", (csv_options){.delimiter = "\t"}, &d, &err);
    CHECK(rc == DL_OK && d.f32[0] == 1 && d.labels[0] == 2, "tabs: %s", err.msg);
    if (rc == DL_OK)
        ds_free(&d);

    CHECK_CSV_FAILS("a,b,y\n1,\"2\n\",0\n\n1,2\n", ((csv_options){0}), ":5:",
                    "expected 3 fields, got 2");
    CHECK_CSV_FAILS("a,b,y\n1,2,3,4\n", ((csv_options){0}), ":2:", "expected 3 fields, got 4");
    CHECK_CSV_FAILS("1,2\n1\n", ((csv_options){.no_header = 1}), ":2:", "expected 2 fields, got 1");
    CHECK_CSV_FAILS("a,b,y\n1,2\"x,0\n", ((csv_options){0}), ":2:", "misplaced quote");
    CHECK_CSV_FAILS("a,b,y\n1,\"2\"x,0\n", ((csv_options){0}), ":2:", "misplaced quote");
    CHECK_CSV_FAILS("a,b,y\n1,2,0\n1,\"2\n", ((csv_options){0}), ":3:",
                    "ends inside a quoted field");
}

static void test_values(void)
{
    csv_options by_y = {.label = "y"};
    CHECK_CSV_FAILS("a,b,y\n1,2,0\n1,abc,1\n", by_y, ":3:",
                    "column 'b' (field 2): expected a number, got \"abc\"");
    CHECK_CSV_FAILS("a,b,y\n1,,0\n", by_y, ":2:",
                    "column 'b' (field 2): expected a number, got \"\"");
    CHECK_CSV_FAILS("a,b,y\n1,2,x\n", by_y, ":2:", "column 'y' (field 3)");
    CHECK_CSV_FAILS("a,b,y\n1,nan,0\n", by_y, ":2:", "got \"nan\"");
    CHECK_CSV_FAILS("a,b,y\n1,1e39,0\n", by_y, ":2:", "got \"1e39\"");
    CHECK_CSV_FAILS("a,b,y\n1,2 3,0\n", by_y, ":2:", "got \"2 3\"");
    CHECK_CSV_FAILS("1,2,0\n1,x,0\n", ((csv_options){.no_header = 1}), ":2: field 2:",
                    "expected a number");
    CHECK_CSV_FAILS("", ((csv_options){0}), "", "empty file");
    CHECK_CSV_FAILS("\n\n", ((csv_options){0}), "", "empty file");
    CHECK_CSV_FAILS("a,b,y\n", ((csv_options){0}), "", "no data rows");
    CHECK_CSV_FAILS("a,b,y\n\n", ((csv_options){0}), "", "no data rows");

    ds_dataset d;
    dl_err err;
    ds_csv_args args = {.path = "/nonexistent/data.csv", .header = 1, .delimiter = ","};
    dl_kind_ref ref = {.kind = &ds_csv_kind, .args = &args};
    int rc = ds_open(&ref, DS_NEED_LABELS, &d, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "/nonexistent/data.csv", "cannot open");
}

static void test_predict_and_classes(void)
{
    ds_dataset d;
    dl_err err;
    int rc = load_csv("a,b\n1,2\n", (csv_options){.label = "y", .flags = DS_NO_LABELS}, &d, &err);
    CHECK(rc == DL_OK && !d.labels && !d.label_source && d.sample_size == 2 && !d.labels_integral,
          "predict input without its label column: %s", err.msg);
    if (rc == DL_OK) {
        CHECK(ds_check_classes(&d, 10, &err) == DL_ERR && strstr(err.msg, "no labels"),
              "class check without labels");
        ds_free(&d);
    }
    rc = load_csv("a,b,y\n1,2,0\n", (csv_options){.label = "y", .flags = DS_NO_LABELS}, &d, &err);
    CHECK(rc == DL_OK && d.labels && d.sample_size == 2, "predict input with labels keeps them");
    if (rc == DL_OK)
        ds_free(&d);
    rc = load_csv("1,2\n", (csv_options){.label = "2", .no_header = 1, .flags = DS_NO_LABELS},
                  &d, &err);
    CHECK(rc == DL_OK && !d.labels && d.sample_size == 2, "predict: label index past the columns");
    if (rc == DL_OK)
        ds_free(&d);
    rc = load_csv("a,b\n1,2\n", (csv_options){.features = {"a", "b"}, .flags = DS_NO_LABELS},
                  &d, &err);
    CHECK(rc == DL_OK && !d.labels && d.sample_size == 2,
          "predict: last column listed as a feature");
    if (rc == DL_OK)
        ds_free(&d);
    CHECK_CSV_FAILS("a,b\n1,2\n", ((csv_options){.label = "y"}), ": label 'y'", "not a column");

    rc = load_csv("a,y\n1,0\n2,9\n\n3,12\n", (csv_options){0}, &d, &err);
    CHECK(rc == DL_OK && d.labels_integral && d.max_label == 12, "integral labels: %s", err.msg);
    if (rc == DL_OK) {
        CHECK(ds_check_classes(&d, 13, &err) == DL_OK, "13 classes fit");
        rc = ds_check_classes(&d, 10, &err);
        char want[700];
        snprintf(want, sizeof want, "%s:5: label 12 is outside the model's 10 classes (0..9)",
                 csv_path);
        CHECK(rc == DL_ERR && err.exit_code == DL_EXIT_FAIL && !strcmp(err.msg, want),
              "class check message: %s", err.msg);
        ds_free(&d);
    }
    rc = load_csv("a,y\n1,0\n2,1.5\n", (csv_options){0}, &d, &err);
    CHECK(rc == DL_OK && !d.labels_integral && d.max_label == -1, "fractional label");
    if (rc == DL_OK) {
        rc = ds_check_classes(&d, 10, &err);
        CHECK_FAILS(rc, err, DL_EXIT_FAIL, ":3: label 1.5", "not a class id");
        ds_free(&d);
    }
    rc = load_csv("a,y\n1,-1\n", (csv_options){0}, &d, &err);
    CHECK(rc == DL_OK && !d.labels_integral, "negative label is not a class id");
    if (rc == DL_OK) {
        rc = ds_check_classes(&d, 10, &err);
        CHECK_FAILS(rc, err, DL_EXIT_FAIL, ":2: label -1", "outside");
        ds_free(&d);
    }
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(csv_path, sizeof csv_path, "%s/data.csv", tmp_dir);
    test_columns();
    test_quoting();
    test_values();
    test_predict_and_classes();
    CHECK(unlink(csv_path) == 0 && rmdir(tmp_dir) == 0, "remove %s", tmp_dir);
    return check_report("datasets_csv");
}
