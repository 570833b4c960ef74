/* tb_summary.c: the summaries TensorBoard's dashboards read, in the tensor
 * form TF2 writes (tensorboard-format.md §5-§7): scalars, histograms,
 * images (PNG via libpng), text, the Keras model graph and the HParams
 * plugin's session and experiment messages. Each tb_encode_* builds one
 * whole Event; each public call builds it in the writer's scratch buffer
 * and hands it to the record writer. */
#include "engine/tb_internal.h"

#include <math.h>
#include <png.h>
#include <string.h>

/* Field numbers of tensorboard.hparams messages and google.protobuf.Value. */
enum {
    TB_HPARAMS_EXPERIMENT = 2,
    TB_HPARAMS_SESSION_START = 3,
    TB_HPARAMS_SESSION_END = 4,
    TB_START_HPARAMS = 1,
    TB_START_GROUP_NAME = 4,
    TB_START_TIME = 5,
    TB_END_STATUS = 1,
    TB_END_TIME = 2,
    TB_EXPERIMENT_HPARAM_INFOS = 4,
    TB_EXPERIMENT_METRIC_INFOS = 5,
    TB_HPARAM_INFO_NAME = 1,
    TB_HPARAM_INFO_TYPE = 4,
    TB_HPARAM_INFO_DISCRETE = 5,
    TB_HPARAM_INFO_INTERVAL = 6,
    TB_INTERVAL_MIN = 1,
    TB_INTERVAL_MAX = 2,
    TB_METRIC_INFO_NAME = 1,
    TB_METRIC_NAME_GROUP = 1,
    TB_METRIC_NAME_TAG = 2,
    TB_MAP_KEY = 1,
    TB_MAP_VALUE = 2,
    TB_LIST_VALUES = 1,
    TB_VALUE_NUMBER = 2,
    TB_VALUE_STRING = 3,
    TB_VALUE_BOOL = 4
};

/* ---- scalars, histograms, images, text, graph ---------------------------- */

void tb_encode_scalar(tb_buf *b, double wall_time, const char *tag,
                      int64_t step, float value)
{
    tb_value_mark value_mark = tb_open_value(b, wall_time, step, tag);
    size_t tensor = tb_open_tensor(b, TB_DT_FLOAT, NULL, 0);
    size_t floats = tb_open_field(b, TB_TENSOR_FLOAT_VAL);
    tb_put_float(b, value);
    tb_close_field(b, floats);
    tb_close_field(b, tensor);
    tb_put_metadata(b, "scalars", NULL, TB_DATA_CLASS_SCALAR);
    tb_close_value(b, value_mark);
}

size_t tb_histogram_buckets(const float *values, size_t n, int k,
                            double (*buckets)[3])
{
    size_t skipped = 0, finite = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i])) {
            skipped++;
            continue;
        }
        finite++;
        lo = fmin(lo, values[i]);
        hi = fmax(hi, values[i]);
    }
    memset(buckets, 0, (size_t)k * sizeof *buckets);
    if (finite == 0)
        return skipped;
    if (lo == hi) {
        for (int j = 0; j < k; j++)
            buckets[j][0] = buckets[j][1] = lo;
        buckets[k - 1][2] = (double)finite;
        return skipped;
    }
    double width = (hi - lo) / k;
    for (int j = 0; j < k; j++) {
        buckets[j][0] = lo + j * width;
        buckets[j][1] = j == k - 1 ? hi : lo + (j + 1) * width;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            continue;
        /* the maximum itself lands in the last bucket, as in TF */
        double index = floor((values[i] - lo) / width);
        buckets[index < k - 1 ? (int)index : k - 1][2] += 1.0;
    }
    return skipped;
}

void tb_encode_histogram(tb_buf *b, double wall_time, const char *tag,
                         int64_t step, const double (*buckets)[3], int k)
{
    const int64_t dims[2] = {k, 3};
    tb_value_mark value_mark = tb_open_value(b, wall_time, step, tag);
    size_t tensor = tb_open_tensor(b, TB_DT_DOUBLE, dims, 2);
    size_t content = tb_open_field(b, TB_TENSOR_CONTENT);
    for (int j = 0; j < k; j++)
        for (int c = 0; c < 3; c++)
            tb_put_double(b, buckets[j][c]);
    tb_close_field(b, content);
    tb_close_field(b, tensor);
    tb_put_metadata(b, "histograms", NULL, TB_DATA_CLASS_TENSOR);
    tb_close_value(b, value_mark);
}

/* The PNG file as one string_val element, compressed by libpng straight
 * into b (reserving libpng's upper bound on the file size first). */
static int tb_put_png(tb_buf *b, const uint8_t *pixels, int height, int width,
                      int channels)
{
    static const png_uint_32 formats[4] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA,
                                           PNG_FORMAT_RGB, PNG_FORMAT_RGBA};
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = formats[channels - 1];
    png_alloc_size_t size = PNG_IMAGE_PNG_SIZE_MAX(image);
    size_t element = tb_open_field(b, TB_TENSOR_STRING_VAL);
    if (!tb_buf_reserve(b, size))
        return DL_ERR;
    int ok = png_image_write_to_memory(&image, b->data + b->len, &size, 0,
                                       pixels, 0, NULL);
    png_image_free(&image);
    if (!ok)
        return DL_ERR;
    b->len += size;
    tb_close_field(b, element);
    return DL_OK;
}

int tb_encode_image(tb_buf *b, double wall_time, const char *tag,
                    int64_t step, const uint8_t *pixels, int height,
                    int width, int channels)
{
    const int64_t dims[1] = {3};
    char text[16];
    tb_value_mark value_mark = tb_open_value(b, wall_time, step, tag);
    size_t tensor = tb_open_tensor(b, TB_DT_STRING, dims, 1);
    /* width first, then height (the images plugin's order) */
    snprintf(text, sizeof text, "%d", width);
    tb_put_string_field(b, TB_TENSOR_STRING_VAL, text);
    snprintf(text, sizeof text, "%d", height);
    tb_put_string_field(b, TB_TENSOR_STRING_VAL, text);
    if (tb_put_png(b, pixels, height, width, channels) != DL_OK)
        return DL_ERR;
    tb_close_field(b, tensor);
    tb_put_metadata(b, "images", NULL, TB_DATA_CLASS_BLOB_SEQUENCE);
    tb_close_value(b, value_mark);
    return DL_OK;
}

void tb_encode_text(tb_buf *b, double wall_time, const char *tag,
                    int64_t step, const char *text)
{
    tb_value_mark value_mark = tb_open_value(b, wall_time, step, tag);
    /* rank 0, as TF2's summary.text writes it: shown as Markdown, not as
     * a table */
    size_t tensor = tb_open_tensor(b, TB_DT_STRING, NULL, 0);
    tb_put_string_field(b, TB_TENSOR_STRING_VAL, text);
    tb_close_field(b, tensor);
    tb_put_metadata(b, "text", NULL, TB_DATA_CLASS_TENSOR);
    tb_close_value(b, value_mark);
}

void tb_encode_keras_graph(tb_buf *b, double wall_time, const char *json)
{
    const int64_t dims[1] = {1};
    tb_value_mark value_mark = tb_open_value(b, wall_time, 0, "keras");
    size_t tensor = tb_open_tensor(b, TB_DT_STRING, dims, 1);
    tb_put_string_field(b, TB_TENSOR_STRING_VAL, json);
    tb_close_field(b, tensor);
    /* Keras writes a rank-0 string with content "1" (the version the
     * Graphs plugin accepts) and no data class; TensorBoard turns that into
     * this one-element blob sequence on load. */
    tb_put_metadata(b, "graph_keras_model", "1", TB_DATA_CLASS_BLOB_SEQUENCE);
    tb_close_value(b, value_mark);
}

/* ---- hparams ------------------------------------------------------------- */

/* A google.protobuf.Value; its kind is a oneof, so even false, 0 and ""
 * are written. */
static void tb_put_proto_value(tb_buf *b, int field, tb_hparam_type type,
                               const char *string_value, double number_value,
                               int bool_value)
{
    size_t value = tb_open_field(b, field);
    if (type == TB_HPARAM_STRING)
        tb_put_string_field(b, TB_VALUE_STRING, string_value ? string_value : "");
    else if (type == TB_HPARAM_BOOL)
        tb_put_uint_field(b, TB_VALUE_BOOL, bool_value != 0);
    else
        tb_put_double_field(b, TB_VALUE_NUMBER, number_value);
    tb_close_field(b, value);
}

typedef struct tb_hparams_mark {
    tb_value_mark value;
    tb_metadata_mark metadata;
    size_t content, data;
} tb_hparams_mark;

/* Opens an hparams value at step 0: the null tensor, then metadata whose
 * content is HParamsPluginData (version 0, left out) with the oneof member
 * data_field open. */
static tb_hparams_mark tb_open_hparams(tb_buf *b, double wall_time,
                                       const char *tag, int data_field)
{
    tb_hparams_mark mark;
    mark.value = tb_open_value(b, wall_time, 0, tag);
    tb_put_null_tensor(b);
    mark.metadata = tb_open_metadata(b, "hparams");
    mark.content = tb_open_field(b, TB_PLUGIN_CONTENT);
    mark.data = tb_open_field(b, data_field);
    return mark;
}

static void tb_close_hparams(tb_buf *b, tb_hparams_mark mark)
{
    tb_close_field(b, mark.data);
    tb_close_field(b, mark.content);
    tb_close_metadata(b, mark.metadata, TB_DATA_CLASS_TENSOR);
    tb_close_value(b, mark.value);
}

void tb_encode_session_start(tb_buf *b, double wall_time,
                             const tb_hparam *hparams, int n,
                             const char *group_name, double start_time_secs)
{
    tb_hparams_mark mark = tb_open_hparams(b, wall_time,
                                           "_hparams_/session_start_info",
                                           TB_HPARAMS_SESSION_START);
    for (int i = 0; i < n; i++) {
        const tb_hparam *h = &hparams[i];
        size_t entry = tb_open_field(b, TB_START_HPARAMS);
        tb_put_string_field(b, TB_MAP_KEY, h->name);
        tb_put_proto_value(b, TB_MAP_VALUE, h->type, h->string_value,
                           h->number_value, h->bool_value);
        tb_close_field(b, entry);
    }
    if (group_name && *group_name)
        tb_put_string_field(b, TB_START_GROUP_NAME, group_name);
    if (start_time_secs != 0)
        tb_put_double_field(b, TB_START_TIME, start_time_secs);
    tb_close_hparams(b, mark);
}

void tb_encode_session_end(tb_buf *b, double wall_time, int status,
                           double end_time_secs)
{
    tb_hparams_mark mark = tb_open_hparams(b, wall_time,
                                           "_hparams_/session_end_info",
                                           TB_HPARAMS_SESSION_END);
    if (status != TB_STATUS_UNKNOWN)
        tb_put_uint_field(b, TB_END_STATUS, (uint64_t)status);
    if (end_time_secs != 0)
        tb_put_double_field(b, TB_END_TIME, end_time_secs);
    tb_close_hparams(b, mark);
}

/* HParamInfo.domain: discrete (a ListValue), an interval, or nothing. */
static void tb_put_domain(tb_buf *b, const tb_hparam_info *h)
{
    if (h->type == TB_HPARAM_BOOL || h->nchoices > 0) {
        size_t list = tb_open_field(b, TB_HPARAM_INFO_DISCRETE);
        int count = h->type == TB_HPARAM_BOOL ? 2 : h->nchoices;
        for (int i = 0; i < count; i++)
            tb_put_proto_value(b, TB_LIST_VALUES, h->type,
                               h->string_choices ? h->string_choices[i] : NULL,
                               h->number_choices ? h->number_choices[i] : 0, i);
        tb_close_field(b, list);
    } else if (h->type == TB_HPARAM_NUMBER && h->has_interval) {
        size_t interval = tb_open_field(b, TB_HPARAM_INFO_INTERVAL);
        if (h->min_value != 0)
            tb_put_double_field(b, TB_INTERVAL_MIN, h->min_value);
        if (h->max_value != 0)
            tb_put_double_field(b, TB_INTERVAL_MAX, h->max_value);
        tb_close_field(b, interval);
    }
}

void tb_encode_experiment(tb_buf *b, double wall_time,
                          const tb_hparam_info *hparams, int n,
                          const char *const *metric_tags,
                          const char *const *metric_groups, int nmetrics)
{
    tb_hparams_mark mark = tb_open_hparams(b, wall_time, "_hparams_/experiment",
                                           TB_HPARAMS_EXPERIMENT);
    for (int i = 0; i < n; i++) {
        size_t info = tb_open_field(b, TB_EXPERIMENT_HPARAM_INFOS);
        tb_put_string_field(b, TB_HPARAM_INFO_NAME, hparams[i].name);
        tb_put_uint_field(b, TB_HPARAM_INFO_TYPE, (uint64_t)hparams[i].type);
        tb_put_domain(b, &hparams[i]);
        tb_close_field(b, info);
    }
    for (int i = 0; i < nmetrics; i++) {
        size_t info = tb_open_field(b, TB_EXPERIMENT_METRIC_INFOS);
        size_t name = tb_open_field(b, TB_METRIC_INFO_NAME);
        if (metric_groups && metric_groups[i] && *metric_groups[i])
            tb_put_string_field(b, TB_METRIC_NAME_GROUP, metric_groups[i]);
        tb_put_string_field(b, TB_METRIC_NAME_TAG, metric_tags[i]);
        tb_close_field(b, name);
        tb_close_field(b, info);
    }
    tb_close_hparams(b, mark);
}

/* ---- the public calls ---------------------------------------------------- */

int tb_scalar(tb_writer *w, const char *tag, int64_t step, double value,
              dl_err *err)
{
    tb_encode_scalar(tb_start_event(w), tb_wall_time(), tag, step, (float)value);
    return tb_finish_event(w, err);
}

int tb_histogram(tb_writer *w, const char *tag, int64_t step,
                 const float *values, size_t n, dl_err *err)
{
    double buckets[TB_HISTOGRAM_BUCKETS][3];
    tb_histogram_buckets(values, n, TB_HISTOGRAM_BUCKETS, buckets);
    tb_encode_histogram(tb_start_event(w), tb_wall_time(), tag, step,
                        (const double (*)[3])buckets, TB_HISTOGRAM_BUCKETS);
    return tb_finish_event(w, err);
}

int tb_image(tb_writer *w, const char *tag, int64_t step,
             const uint8_t *pixels, int height, int width, int channels,
             dl_err *err)
{
    if (height <= 0 || width <= 0 || channels < 1 || channels > 4)
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: image '%s': %dx%dx%d is not an image (channels 1-4)",
                       tb_path(w), tag, height, width, channels);
    tb_buf *b = tb_start_event(w);
    if (tb_encode_image(b, tb_wall_time(), tag, step, pixels, height, width,
                        channels) != DL_OK)
        return dl_fail(err, DL_EXIT_FAIL, "%s: image '%s': %s", tb_path(w), tag,
                       b->failed ? "out of memory" : "PNG encoding failed");
    return tb_finish_event(w, err);
}

int tb_text(tb_writer *w, const char *tag, int64_t step, const char *text,
            dl_err *err)
{
    tb_encode_text(tb_start_event(w), tb_wall_time(), tag, step, text);
    return tb_finish_event(w, err);
}

int tb_keras_graph(tb_writer *w, const char *model_json, dl_err *err)
{
    tb_encode_keras_graph(tb_start_event(w), tb_wall_time(), model_json);
    return tb_finish_event(w, err);
}

int tb_hparams_session_start(tb_writer *w, const tb_hparam *hparams, int n,
                             const char *group_name, double start_time_secs,
                             dl_err *err)
{
    tb_encode_session_start(tb_start_event(w), tb_wall_time(), hparams, n,
                            group_name, start_time_secs);
    return tb_finish_event(w, err);
}

int tb_hparams_session_end(tb_writer *w, int status, double end_time_secs,
                           dl_err *err)
{
    tb_encode_session_end(tb_start_event(w), tb_wall_time(), status,
                          end_time_secs);
    return tb_finish_event(w, err);
}

int tb_hparams_experiment(tb_writer *w, const tb_hparam_info *hparams, int n,
                          const char *const *metric_tags,
                          const char *const *metric_groups, int nmetrics,
                          dl_err *err)
{
    tb_encode_experiment(tb_start_event(w), tb_wall_time(), hparams, n,
                         metric_tags, metric_groups, nmetrics);
    return tb_finish_event(w, err);
}
