/* tb_proto.c: the protobuf wire format by hand (tensorboard-format.md §3)
 * and the message skeleton every summary shares: Event, Summary.Value,
 * TensorProto, SummaryMetadata. An embedded message is written in place and
 * its length slipped in front of it when it is closed, so messages are
 * built in one pass without a sizing pass or temporary buffers. */
#include "engine/tb_internal.h"

#include <stdlib.h>
#include <string.h>

/* Field numbers of the messages built here. */
enum {
    TB_EVENT_WALL_TIME = 1,
    TB_EVENT_STEP = 2,
    TB_EVENT_FILE_VERSION = 3,
    TB_EVENT_SUMMARY = 5,
    TB_EVENT_SOURCE_METADATA = 10,
    TB_SOURCE_METADATA_WRITER = 1,
    TB_SUMMARY_VALUE = 1,
    TB_VALUE_TAG = 1,
    TB_VALUE_TENSOR = 8,
    TB_VALUE_METADATA = 9,
    TB_METADATA_PLUGIN_DATA = 1,
    TB_METADATA_DATA_CLASS = 4,
    TB_PLUGIN_NAME = 1,
    TB_SHAPE_DIM = 2,
    TB_DIM_SIZE = 1
};

#define TB_FILE_VERSION "brain.Event:2"
#define TB_WRITER_NAME "dltrain"

void tb_buf_free(tb_buf *b)
{
    free(b->data);
    *b = (tb_buf){0};
}

int tb_buf_reserve(tb_buf *b, size_t more)
{
    if (b->failed)
        return 0;
    if (more <= b->cap - b->len)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return 0;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void tb_put_bytes(tb_buf *b, const void *bytes, size_t len)
{
    if (len && tb_buf_reserve(b, len)) {
        memcpy(b->data + b->len, bytes, len);
        b->len += len;
    }
}

static void tb_put_le(tb_buf *b, uint64_t bits, int nbytes)
{
    uint8_t le[8];
    for (int i = 0; i < nbytes; i++)
        le[i] = (uint8_t)(bits >> (8 * i));
    tb_put_bytes(b, le, (size_t)nbytes);
}

void tb_put_float(tb_buf *b, float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    tb_put_le(b, bits, 4);
}

void tb_put_double(tb_buf *b, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    tb_put_le(b, bits, 8);
}

size_t tb_encode_varint(uint64_t value, uint8_t *out)
{
    size_t n = 0;
    while (value >= 0x80) {
        out[n++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    out[n++] = (uint8_t)value;
    return n;
}

void tb_put_varint(tb_buf *b, uint64_t value)
{
    uint8_t bytes[10];
    tb_put_bytes(b, bytes, tb_encode_varint(value, bytes));
}

void tb_put_key(tb_buf *b, int field, int wire_type)
{
    tb_put_varint(b, (uint64_t)field << 3 | (uint64_t)wire_type);
}

void tb_put_uint_field(tb_buf *b, int field, uint64_t value)
{
    tb_put_key(b, field, TB_WIRE_VARINT);
    tb_put_varint(b, value);
}

void tb_put_double_field(tb_buf *b, int field, double value)
{
    tb_put_key(b, field, TB_WIRE_I64);
    tb_put_double(b, value);
}

void tb_put_float_field(tb_buf *b, int field, float value)
{
    tb_put_key(b, field, TB_WIRE_I32);
    tb_put_float(b, value);
}

void tb_put_bytes_field(tb_buf *b, int field, const void *bytes, size_t len)
{
    tb_put_key(b, field, TB_WIRE_LEN);
    tb_put_varint(b, len);
    tb_put_bytes(b, bytes, len);
}

void tb_put_string_field(tb_buf *b, int field, const char *s)
{
    tb_put_bytes_field(b, field, s, strlen(s));
}

size_t tb_open_field(tb_buf *b, int field)
{
    tb_put_key(b, field, TB_WIRE_LEN);
    return b->len;
}

void tb_close_field(tb_buf *b, size_t mark)
{
    uint8_t prefix[10];
    size_t inner = b->len - mark;
    size_t n = tb_encode_varint(inner, prefix);
    if (!tb_buf_reserve(b, n))
        return;
    memmove(b->data + mark + n, b->data + mark, inner);
    memcpy(b->data + mark, prefix, n);
    b->len += n;
}

void tb_encode_file_version(tb_buf *b, double wall_time)
{
    tb_put_double_field(b, TB_EVENT_WALL_TIME, wall_time);
    tb_put_string_field(b, TB_EVENT_FILE_VERSION, TB_FILE_VERSION);
    size_t source = tb_open_field(b, TB_EVENT_SOURCE_METADATA);
    tb_put_string_field(b, TB_SOURCE_METADATA_WRITER, TB_WRITER_NAME);
    tb_close_field(b, source);
}

tb_value_mark tb_open_value(tb_buf *b, double wall_time, int64_t step,
                            const char *tag)
{
    tb_value_mark mark;
    tb_put_double_field(b, TB_EVENT_WALL_TIME, wall_time);
    if (step != 0) /* proto3 leaves a zero out */
        tb_put_uint_field(b, TB_EVENT_STEP, (uint64_t)step);
    mark.summary = tb_open_field(b, TB_EVENT_SUMMARY);
    mark.value = tb_open_field(b, TB_SUMMARY_VALUE);
    tb_put_string_field(b, TB_VALUE_TAG, tag);
    return mark;
}

void tb_close_value(tb_buf *b, tb_value_mark mark)
{
    tb_close_field(b, mark.value);
    tb_close_field(b, mark.summary);
}

size_t tb_open_tensor(tb_buf *b, int dtype, const int64_t *dims, int rank)
{
    size_t tensor = tb_open_field(b, TB_VALUE_TENSOR);
    tb_put_uint_field(b, TB_TENSOR_DTYPE, (uint64_t)dtype);
    size_t shape = tb_open_field(b, TB_TENSOR_SHAPE);
    for (int i = 0; i < rank; i++) {
        size_t dim = tb_open_field(b, TB_SHAPE_DIM);
        if (dims[i] != 0)
            tb_put_uint_field(b, TB_DIM_SIZE, (uint64_t)dims[i]);
        tb_close_field(b, dim);
    }
    tb_close_field(b, shape);
    return tensor;
}

void tb_put_null_tensor(tb_buf *b)
{
    static const int64_t empty[1] = {0};
    tb_close_field(b, tb_open_tensor(b, TB_DT_FLOAT, empty, 1));
}

tb_metadata_mark tb_open_metadata(tb_buf *b, const char *plugin)
{
    tb_metadata_mark mark;
    mark.metadata = tb_open_field(b, TB_VALUE_METADATA);
    mark.plugin_data = tb_open_field(b, TB_METADATA_PLUGIN_DATA);
    tb_put_string_field(b, TB_PLUGIN_NAME, plugin);
    return mark;
}

void tb_close_metadata(tb_buf *b, tb_metadata_mark mark, int data_class)
{
    tb_close_field(b, mark.plugin_data);
    tb_put_uint_field(b, TB_METADATA_DATA_CLASS, (uint64_t)data_class);
    tb_close_field(b, mark.metadata);
}

void tb_put_metadata(tb_buf *b, const char *plugin, const char *content,
                     int data_class)
{
    tb_metadata_mark mark = tb_open_metadata(b, plugin);
    if (content)
        tb_put_string_field(b, TB_PLUGIN_CONTENT, content);
    tb_close_metadata(b, mark, data_class);
}
