/* tb_reader.h: for the TensorBoard writer's tests, an event-file reader
 * as strict as TensorBoard's (length and both CRCs checked per record) and
 * a minimal protobuf field walker. Header-only, static functions. */
#ifndef TB_READER_H
#define TB_READER_H

#include "engine/tb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pb_field {
    int number, wire;
    uint64_t varint;
    const uint8_t *data;
    size_t len;
} pb_field;

static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        *v |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80))
            return 1;
    }
    return 0;
}

/* The next field of a message: 1, 0 at its end, -1 if malformed. */
static int pb_next(const uint8_t **p, const uint8_t *end, pb_field *f)
{
    uint64_t key;
    if (*p == end)
        return 0;
    if (!pb_varint(p, end, &key))
        return -1;
    f->number = (int)(key >> 3);
    f->wire = (int)(key & 7);
    if (f->wire == TB_WIRE_VARINT)
        return pb_varint(p, end, &f->varint) ? 1 : -1;
    if (f->wire == TB_WIRE_LEN) {
        if (!pb_varint(p, end, &f->varint))
            return -1;
        f->len = (size_t)f->varint;
    } else {
        f->len = f->wire == TB_WIRE_I64 ? 8 : f->wire == TB_WIRE_I32 ? 4 : SIZE_MAX;
    }
    if (f->len > (size_t)(end - *p))
        return -1;
    f->data = *p;
    *p += f->len;
    return 1;
}

/* Follows first occurrences of the field numbers in path (0-terminated). */
static int pb_path(const uint8_t *msg, size_t len, const int *path, pb_field *f)
{
    for (; *path; path++) {
        const uint8_t *p = msg, *end = msg + len;
        int rc;
        while ((rc = pb_next(&p, end, f)) == 1 && f->number != *path)
            ;
        if (rc != 1)
            return 0;
        msg = f->data;
        len = f->len;
    }
    return 1;
}

static int pb_string_is(const pb_field *f, const char *s)
{
    return f->len == strlen(s) && memcmp(f->data, s, f->len) == 0;
}

static uint64_t load_le(const uint8_t *p, int nbytes)
{
    uint64_t v = 0;
    for (int i = nbytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The complete, valid records at the start of buf[0..len); stops at a cut
 * record (as readers wait for the rest) or a bad CRC (corrupt set). */
typedef struct record_scan {
    int count, corrupt;
    size_t end[MAX_RECORDS], data[MAX_RECORDS], data_len[MAX_RECORDS];
} record_scan;

static record_scan scan_records(const uint8_t *buf, size_t len)
{
    record_scan s = {0};
    size_t at = 0;
    while (s.count < MAX_RECORDS && len - at >= 12) {
        uint64_t n = load_le(buf + at, 8);
        if (load_le(buf + at + 8, 4) != tb_mask_crc(tb_crc32c(buf + at, 8))) {
            s.corrupt = 1;
            break;
        }
        if (n > len - at - 12 || len - at - 12 - n < 4)
            break;
        if (load_le(buf + at + 12 + n, 4) != tb_mask_crc(tb_crc32c(buf + at + 12, n))) {
            s.corrupt = 1;
            break;
        }
        s.data[s.count] = at + 12;
        s.data_len[s.count] = (size_t)n;
        at += 16 + (size_t)n;
        s.end[s.count++] = at;
    }
    return s;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = buf ? fread(buf, 1, (size_t)n, fp) : 0;
    fclose(fp);
    return buf;
}


#endif
