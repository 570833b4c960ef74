/* tb_internal.h: the TensorBoard writer's encoders (exposed for the unit
 * tests) and the helpers its source files share. Not for other modules:
 * they use tb_writer.h. */
#ifndef DL_TB_INTERNAL_H
#define DL_TB_INTERNAL_H

#include "engine/tb_writer.h"

/* ---- encoders, exposed for tests ---------------------------------------- */

#define TB_RECORD_OVERHEAD 16   /* u64 length, its CRC, the data's CRC */

uint32_t tb_crc32c(const void *data, size_t len);
/* The LevelDB mask stored in place of a raw CRC. */
uint32_t tb_mask_crc(uint32_t crc);
/* Frames data as one TFRecord into out (len + TB_RECORD_OVERHEAD bytes;
 * must not overlap data); returns the record's length. */
size_t tb_encode_record(const uint8_t *data, size_t len, uint8_t *out);

/* A growing byte buffer. `failed` latches an allocation failure, so a
 * message can be built without checking every append. */
typedef struct tb_buf {
    uint8_t *data;
    size_t len, cap;
    int failed;
} tb_buf;

void tb_buf_free(tb_buf *b);

/* Protobuf wire types. */
enum { TB_WIRE_VARINT = 0, TB_WIRE_I64 = 1, TB_WIRE_LEN = 2, TB_WIRE_I32 = 5 };

/* Base-128 varint into out (10 bytes at most); returns its length. A
 * negative int64 is passed as its two's complement (10 bytes). */
size_t tb_encode_varint(uint64_t value, uint8_t *out);
void tb_put_varint(tb_buf *b, uint64_t value);
void tb_put_key(tb_buf *b, int field, int wire_type);
void tb_put_uint_field(tb_buf *b, int field, uint64_t value);
void tb_put_double_field(tb_buf *b, int field, double value);
void tb_put_float_field(tb_buf *b, int field, float value);
void tb_put_bytes_field(tb_buf *b, int field, const void *bytes, size_t len);
void tb_put_string_field(tb_buf *b, int field, const char *s);
/* An embedded message: tb_open_field writes the key and returns a mark;
 * the inner fields follow; tb_close_field slips their length in front. */
size_t tb_open_field(tb_buf *b, int field);
void tb_close_field(tb_buf *b, size_t mark);

/* Whole Event messages, appended to b. */
void tb_encode_file_version(tb_buf *b, double wall_time);
void tb_encode_scalar(tb_buf *b, double wall_time, const char *tag,
                      int64_t step, float value);
void tb_encode_histogram(tb_buf *b, double wall_time, const char *tag,
                         int64_t step, const double (*buckets)[3], int k);
/* PNG-encodes the pixels (see tb_image) straight into the message; DL_ERR
 * (b unusable) if libpng refuses them. */
int tb_encode_image(tb_buf *b, double wall_time, const char *tag,
                    int64_t step, const uint8_t *pixels, int height,
                    int width, int channels);
void tb_encode_text(tb_buf *b, double wall_time, const char *tag,
                    int64_t step, const char *text);
void tb_encode_keras_graph(tb_buf *b, double wall_time, const char *json);
void tb_encode_session_start(tb_buf *b, double wall_time,
                             const tb_hparam *hparams, int n,
                             const char *group_name, double start_time_secs);
void tb_encode_session_end(tb_buf *b, double wall_time, int status,
                           double end_time_secs);
void tb_encode_experiment(tb_buf *b, double wall_time,
                          const tb_hparam_info *hparams, int n,
                          const char *const *metric_tags,
                          const char *const *metric_groups, int nmetrics);

/* k >= 1 equal-width buckets of the finite values into buckets[k], as TF2
 * builds them: edges from min to max; all values equal: every edge is that
 * value and the last bucket holds them all; no finite value: all zeros.
 * Returns how many values were NaN or Inf and left out. */
size_t tb_histogram_buckets(const float *values, size_t n, int k,
                            double (*buckets)[3]);

/* ---- shared by the tb_*.c files --------------------------------------- */

/* TensorProto fields, and the DataType and DataClass values used here. */
enum {
    TB_TENSOR_DTYPE = 1,
    TB_TENSOR_SHAPE = 2,
    TB_TENSOR_CONTENT = 4,
    TB_TENSOR_FLOAT_VAL = 5,
    TB_TENSOR_STRING_VAL = 8
};
enum { TB_DT_FLOAT = 1, TB_DT_DOUBLE = 2, TB_DT_STRING = 7 };
enum {
    TB_DATA_CLASS_SCALAR = 1,
    TB_DATA_CLASS_TENSOR = 2,
    TB_DATA_CLASS_BLOB_SEQUENCE = 3
};

/* Raw little-endian payloads (inside a field opened by tb_open_field). */
void tb_put_bytes(tb_buf *b, const void *bytes, size_t len);
void tb_put_float(tb_buf *b, float value);
void tb_put_double(tb_buf *b, double value);
/* Room for `more` bytes at b->data + b->len; 0 when memory ran out. */
int tb_buf_reserve(tb_buf *b, size_t more);

typedef struct tb_value_mark {
    size_t summary, value;
} tb_value_mark;

/* Opens Event{wall_time, step, summary{value{tag ...; the caller adds the
 * tensor and the metadata, then tb_close_value. */
tb_value_mark tb_open_value(tb_buf *b, double wall_time, int64_t step,
                            const char *tag);
void tb_close_value(tb_buf *b, tb_value_mark mark);
/* Opens Value.tensor with its dtype and shape (written even at rank 0);
 * the elements follow, then tb_close_field. */
size_t tb_open_tensor(tb_buf *b, int dtype, const int64_t *dims, int rank);
/* Value.metadata; content may be NULL (the plugin's version 0). */
void tb_put_metadata(tb_buf *b, const char *plugin, const char *content,
                     int data_class);
/* The same for binary content: tb_open_metadata writes the plugin name and
 * leaves PluginData open for a TB_PLUGIN_CONTENT field. */
enum { TB_PLUGIN_CONTENT = 2 };
typedef struct tb_metadata_mark {
    size_t metadata, plugin_data;
} tb_metadata_mark;
tb_metadata_mark tb_open_metadata(tb_buf *b, const char *plugin);
void tb_close_metadata(tb_buf *b, tb_metadata_mark mark, int data_class);
/* The empty float tensor of shape [0] that hparams values carry. */
void tb_put_null_tensor(tb_buf *b);

/* The writer's scratch buffer, emptied, for the next Event. */
tb_buf *tb_start_event(tb_writer *w);
/* Frames the Event in the scratch buffer as one record into the pending
 * buffer and flushes when the last flush is old enough. */
int tb_finish_event(tb_writer *w, dl_err *err);

#ifdef __cplusplus
}
#endif

#endif
