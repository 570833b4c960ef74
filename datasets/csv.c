/* csv.c: one sample per CSV row, parsed by libcsv in strict mode (quoted
 * fields may hold delimiters, doubled quotes and newlines).
 *
 * Choosing columns: a `label` or `features` entry is first looked up among
 * the header's names; failing that (or without a header), an entry made of
 * digits only is a 0-based column index. No label means the last column.
 * Without labels wanted (DS_NO_LABELS, predict input), the label column may
 * be missing: a named or indexed label that is not in the file, or, when no
 * label is named, a last column that is listed among the features.
 *
 * Places in messages: lines count '\n' from 1 and a sample's line is the one
 * its record starts on (libcsv skips blank lines, and a quoted field can span
 * lines, so the file is fed line by line and the newlines inside a record's
 * fields are subtracted); fields count from 1 within the record. */
#include "datasets/loaders.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_MAX_INDEX_DIGITS 9   /* a column index fits an int */
#define CSV_SHOWN_CHARS 40       /* of an offending field quoted in a message */
#define CSV_FIRST_ROWS 256

typedef struct csv_reader {
    const ds_csv_args *args;
    int flags;
    ds_dataset *d;
    dl_err *err;
    int failed;
    uint32_t line;             /* line being fed, 1-based */

    /* the record being assembled */
    char *text;                /* [text_cap] its fields, each NUL-terminated */
    size_t text_len, text_cap;
    size_t *field_start;       /* [field_cap] offset of each field in text */
    size_t *field_len;         /* [field_cap] */
    size_t nfields, field_cap;
    uint32_t record_newlines;  /* '\n' inside the record's quoted fields */

    /* columns, known after the header or the first row */
    int have_columns;
    size_t ncols;
    char **col_names;          /* [ncols] with a header, else NULL */
    size_t *feature_cols;      /* [sample_size] column of each feature */
    long label_col;            /* -1: no label column */
    size_t rows_cap;           /* rows allocated in d->f32, labels, line */
} csv_reader;

static void csv_fail(csv_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void csv_fail(csv_reader *r, const char *fmt, ...)
{
    r->failed = 1;
    if (!r->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err->msg, sizeof r->err->msg, fmt, ap);
    va_end(ap);
    r->err->exit_code = DL_EXIT_FAIL;
}

/* realloc for count elements of elem bytes; NULL (buf untouched) on
 * overflow or when memory runs out. */
static void *csv_resize(void *buf, size_t count, size_t elem)
{
    if (count > SIZE_MAX / elem)
        return NULL;
    return realloc(buf, count * elem);
}

static void csv_on_field(void *field, size_t len, void *data)
{
    csv_reader *r = data;
    if (r->failed)
        return;
    if (r->nfields == r->field_cap) {
        size_t cap = r->field_cap ? 2 * r->field_cap : 64;
        size_t *starts = csv_resize(r->field_start, cap, sizeof *starts);
        if (starts)
            r->field_start = starts;
        size_t *lens = starts ? csv_resize(r->field_len, cap, sizeof *lens) : NULL;
        if (!lens) {
            csv_fail(r, "%s:%u: out of memory", r->args->path, r->line);
            return;
        }
        r->field_len = lens;
        r->field_cap = cap;
    }
    if (r->text_len + len + 1 > r->text_cap) {
        size_t cap = r->text_cap ? r->text_cap : 1024;
        while (cap < r->text_len + len + 1 && cap <= SIZE_MAX / 2)
            cap *= 2;
        char *text = len < SIZE_MAX / 2 - r->text_len ? csv_resize(r->text, cap, 1) : NULL;
        if (!text) {
            csv_fail(r, "%s:%u: out of memory", r->args->path, r->line);
            return;
        }
        r->text = text;
        r->text_cap = cap;
    }
    char *dst = r->text + r->text_len;
    if (len)
        memcpy(dst, field, len);
    dst[len] = '\0';
    for (size_t i = 0; i < len; i++)
        r->record_newlines += dst[i] == '\n';
    r->field_start[r->nfields] = r->text_len;
    r->field_len[r->nfields] = len;
    r->nfields++;
    r->text_len += len + 1;
}

/* "column 'price' (field 3)" with a header, else "field 3". */
static void csv_describe_field(const csv_reader *r, size_t col, char *buf, size_t n)
{
    if (r->col_names)
        snprintf(buf, n, "column '%s' (field %zu)", r->col_names[col], col + 1);
    else
        snprintf(buf, n, "field %zu", col + 1);
}

static int csv_parse_number(csv_reader *r, size_t col, uint32_t line, float *out)
{
    const char *s = r->text + r->field_start[col];
    size_t len = r->field_len[col];
    char *end;
    double v = strtod(s, &end);
    int ok = end != s;
    while (ok && isspace((unsigned char)*end))
        end++;
    if (ok && end == s + len && isfinite(v) && fabs(v) <= FLT_MAX) {
        *out = (float)v;
        return DL_OK;
    }
    char shown[CSV_SHOWN_CHARS + 4];
    size_t k = 0;
    for (; k < len && k < CSV_SHOWN_CHARS; k++)
        shown[k] = iscntrl((unsigned char)s[k]) ? '?' : s[k];
    strcpy(shown + k, len > CSV_SHOWN_CHARS ? "..." : "");
    char where[320];
    csv_describe_field(r, col, where, sizeof where);
    csv_fail(r, "%s:%u: %s: expected a number, got \"%s\"", r->args->path, line, where, shown);
    return DL_ERR;
}

/* Looks key up as a header name, then as a 0-based index (see the top). */
static int csv_find_column(const csv_reader *r, const char *key, size_t *col)
{
    for (size_t i = 0; r->col_names && i < r->ncols; i++) {
        if (!strcmp(r->col_names[i], key)) {
            *col = i;
            return 1;
        }
    }
    size_t len = strlen(key);
    if (len == 0 || len > CSV_MAX_INDEX_DIGITS || strspn(key, "0123456789") != len)
        return 0;
    size_t index = strtoul(key, NULL, 10);
    if (index >= r->ncols)
        return 0;
    *col = index;
    return 1;
}

static void csv_fail_no_column(csv_reader *r, const char *what, const char *key)
{
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; r->col_names && i < r->ncols && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 r->col_names[i]);
    if (used >= sizeof names)
        strcpy(names + sizeof names - 4, "...");
    if (r->col_names)
        csv_fail(r, "%s: %s '%s' is not a column (columns: %s)", r->args->path, what, key, names);
    else
        csv_fail(r, "%s: %s '%s' is not a column index "
                 "(the file has no header and %zu columns, 0..%zu)",
                 r->args->path, what, key, r->ncols, r->ncols - 1);
}

static int csv_is_feature(const csv_reader *r, size_t nfeatures, size_t col)
{
    for (size_t j = 0; j < nfeatures; j++)
        if (r->feature_cols[j] == col)
            return 1;
    return 0;
}

/* Picks the label and feature columns once the column count is known. */
static int csv_choose_columns(csv_reader *r)
{
    const ds_csv_args *a = r->args;
    size_t listed = (size_t)a->features.n;
    r->feature_cols = malloc((listed > r->ncols ? listed : r->ncols) * sizeof *r->feature_cols);
    if (!r->feature_cols) {
        csv_fail(r, "%s: out of memory", a->path);
        return DL_ERR;
    }
    for (size_t j = 0; j < listed; j++) {
        if (!csv_find_column(r, a->features.v[j], &r->feature_cols[j])) {
            csv_fail_no_column(r, "feature", a->features.v[j]);
            return DL_ERR;
        }
    }
    size_t col;
    if (a->label) {
        if (csv_find_column(r, a->label, &col)) {
            r->label_col = (long)col;
        } else if (r->flags == DS_NEED_LABELS) {
            csv_fail_no_column(r, "label", a->label);
            return DL_ERR;
        }
    } else if (r->flags == DS_NEED_LABELS || !csv_is_feature(r, listed, r->ncols - 1)) {
        r->label_col = (long)r->ncols - 1;
    }
    if (r->label_col >= 0 && csv_is_feature(r, listed, (size_t)r->label_col)) {
        char where[320];
        csv_describe_field(r, (size_t)r->label_col, where, sizeof where);
        csv_fail(r, "%s: %s is both the label and a feature", a->path, where);
        return DL_ERR;
    }
    size_t nfeatures = listed;
    for (size_t c = 0; listed == 0 && c < r->ncols; c++)
        if ((long)c != r->label_col)
            r->feature_cols[nfeatures++] = c;
    if (nfeatures == 0) {
        csv_fail(r, "%s: no feature columns (the only column is the label)", a->path);
        return DL_ERR;
    }
    if (nfeatures > INT_MAX) {
        csv_fail(r, "%s: %zu features are too many", a->path, nfeatures);
        return DL_ERR;
    }
    ds_dataset *d = r->d;
    d->sample_size = nfeatures;
    d->sample_shape.ndim = 1;
    d->sample_shape.dim[0] = (int)nfeatures;
    if (!r->col_names)
        return DL_OK;
    d->feature_names = calloc(nfeatures, sizeof *d->feature_names);  /* [sample_size] */
    if (!d->feature_names) {
        csv_fail(r, "%s: out of memory", a->path);
        return DL_ERR;
    }
    for (size_t j = 0; j < nfeatures; j++) {
        d->feature_names[j] = strdup(r->col_names[r->feature_cols[j]]);
        if (!d->feature_names[j]) {
            csv_fail(r, "%s: out of memory", a->path);
            return DL_ERR;
        }
    }
    return DL_OK;
}

static int csv_take_header(csv_reader *r)
{
    r->col_names = calloc(r->ncols, sizeof *r->col_names);  /* [ncols] */
    if (!r->col_names) {
        csv_fail(r, "%s: out of memory", r->args->path);
        return DL_ERR;
    }
    for (size_t i = 0; i < r->ncols; i++) {
        r->col_names[i] = strdup(r->text + r->field_start[i]);
        if (!r->col_names[i]) {
            csv_fail(r, "%s: out of memory", r->args->path);
            return DL_ERR;
        }
    }
    return csv_choose_columns(r);
}

/* Doubles the row capacity of d->f32, d->line and d->labels. */
static int csv_grow_rows(csv_reader *r)
{
    ds_dataset *d = r->d;
    size_t rows = r->rows_cap ? 2 * r->rows_cap : CSV_FIRST_ROWS;
    if (rows < r->rows_cap || rows > SIZE_MAX / d->sample_size)
        return DL_ERR;
    float *features = csv_resize(d->f32, rows * d->sample_size, sizeof *features);
    if (!features)
        return DL_ERR;
    d->f32 = features;
    uint32_t *lines = csv_resize(d->line, rows, sizeof *lines);
    if (!lines)
        return DL_ERR;
    d->line = lines;
    if (r->label_col >= 0) {
        float *labels = csv_resize(d->labels, rows, sizeof *labels);
        if (!labels)
            return DL_ERR;
        d->labels = labels;
    }
    r->rows_cap = rows;
    return DL_OK;
}

static void csv_take_row(csv_reader *r, uint32_t line)
{
    ds_dataset *d = r->d;
    if (r->nfields != r->ncols) {
        csv_fail(r, "%s:%u: expected %zu fields, got %zu", r->args->path, line, r->ncols,
                 r->nfields);
        return;
    }
    if (d->n == r->rows_cap && csv_grow_rows(r)) {
        csv_fail(r, "%s:%u: out of memory after %zu rows", r->args->path, line, d->n);
        return;
    }
    float *row = d->f32 + d->n * d->sample_size;  /* [sample_size] */
    for (size_t j = 0; j < d->sample_size; j++)
        if (csv_parse_number(r, r->feature_cols[j], line, &row[j]))
            return;
    if (r->label_col >= 0 && csv_parse_number(r, (size_t)r->label_col, line, &d->labels[d->n]))
        return;
    d->line[d->n] = line;
    d->n++;
}

static void csv_on_record(int terminator, void *data)
{
    (void)terminator;
    csv_reader *r = data;
    uint32_t line = r->line - r->record_newlines;
    if (!r->failed && !r->have_columns) {
        r->have_columns = 1;
        r->ncols = r->nfields;
        if (r->args->header)
            csv_take_header(r);
        else if (!csv_choose_columns(r))
            csv_take_row(r, line);
    } else if (!r->failed) {
        csv_take_row(r, line);
    }
    r->nfields = r->text_len = 0;
    r->record_newlines = 0;
}

/* Feeds the file to libcsv one line at a time (so r->line is exact). */
static void csv_feed(csv_reader *r, FILE *fp, struct csv_parser *parser)
{
    const char *path = r->args->path;
    char *text = NULL;
    size_t text_cap = 0;
    ssize_t len;
    while (!r->failed && (len = getline(&text, &text_cap, fp)) > 0) {
        if (r->line == UINT32_MAX) {
            csv_fail(r, "%s: more than %u lines", path, UINT32_MAX - 1);
            break;
        }
        r->line++;
        size_t skip = 0;  /* a UTF-8 byte order mark (spreadsheet exports) */
        if (r->line == 1 && len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
            skip = 3;
        size_t used = csv_parse(parser, text + skip, (size_t)len - skip, csv_on_field,
                                csv_on_record, r);
        if (used != (size_t)len - skip && !r->failed) {
            int problem = csv_error(parser);
            csv_fail(r, "%s:%u: %s", path, r->line, problem == CSV_EPARSE
                     ? "misplaced quote (a field with quotes must be quoted whole, "
                       "inner quotes doubled)"
                     : csv_strerror(problem));
        }
    }
    if (!r->failed && ferror(fp))
        csv_fail(r, "%s: read error after line %u: %s", path, r->line, strerror(errno));
    if (!r->failed && csv_fini(parser, csv_on_field, csv_on_record, r) != 0)
        csv_fail(r, "%s:%u: the file ends inside a quoted field", path, r->line);
    free(text);
}

static void csv_reader_free(csv_reader *r)
{
    free(r->text);
    free(r->field_start);
    free(r->field_len);
    free(r->feature_cols);
    for (size_t i = 0; r->col_names && i < r->ncols; i++)
        free(r->col_names[i]);
    free(r->col_names);
}

int ds_csv_load(const ds_csv_args *args, int flags, ds_dataset *d, dl_err *err)
{
    csv_reader r = {.args = args, .flags = flags, .d = d, .err = err, .label_col = -1};
    d->source = strdup(args->path);
    if (!d->source)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", args->path);
    FILE *fp = fopen(args->path, "rb");
    if (!fp)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot open: %s", args->path, strerror(errno));
    struct csv_parser parser;
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(fp);
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", args->path);
    }
    csv_set_delim(&parser, (unsigned char)args->delimiter[0]);
    csv_feed(&r, fp, &parser);
    csv_free(&parser);
    if (fclose(fp) != 0 && !r.failed)
        csv_fail(&r, "%s: cannot close: %s", args->path, strerror(errno));
    csv_reader_free(&r);
    if (r.failed)
        return DL_ERR;
    if (!r.have_columns)
        return dl_fail(err, DL_EXIT_FAIL, "%s: empty file, expected %s", args->path,
                       args->header ? "a header and data rows" : "data rows");
    if (d->n == 0)
        return dl_fail(err, DL_EXIT_FAIL, "%s: no data rows after the header", args->path);
    if (r.label_col >= 0) {
        d->label_source = strdup(args->path);
        if (!d->label_source)
            return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", args->path);
    }
    ds_summarize_labels(d);
    return DL_OK;
}
