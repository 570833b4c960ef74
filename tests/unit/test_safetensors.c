/* test_safetensors.c: the writer's byte layout (formats.md §1.6), round
 * trips, every loader test vector of §1.7 plus our own rejects, dtype
 * conversions, and the atomic write under failures. */
#include "engine/safetensors.h"
#include "tests/unit/check.h"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_dir[] = "/tmp/test_safetensors.XXXXXX";

static void path_in_tmp(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmp_dir, name);
}

/* The whole file at path into *out (malloc'd); its length, or -1. */
static long read_all(const char *path, uint8_t **out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    uint8_t *buf = malloc(1 << 16);
    size_t n = buf ? fread(buf, 1, 1 << 16, fp) : 0;
    fclose(fp);
    *out = buf;
    return buf ? (long)n : -1;
}

static int contains(const uint8_t *buf, long n, const char *s)
{
    return n > 0 && memmem(buf, (size_t)n, s, strlen(s)) != NULL;
}

static size_t hex_decode(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* Files in tmp_dir whose name contains part. */
static int count_files(const char *part)
{
    DIR *d = opendir(tmp_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, part))
            n++;
    if (d)
        closedir(d);
    return n;
}

/* Parses raw file bytes through st_parse (which takes a copy's ownership). */
static int parse_bytes(const void *bytes, size_t n, st_file *f, dl_err *err)
{
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return DL_ERR;
    if (n)
        memcpy(buf, bytes, n);
    return st_parse(buf, n, "vec.safetensors", f, err);
}

/* A file made of the u64 length of json, json, then ndata data bytes
 * (0, 1, 2, ...). Returns the parse result; the file is closed again. */
static int parse_json(const char *json, size_t ndata, dl_err *err)
{
    size_t n = strlen(json);
    uint8_t *buf = malloc(8 + n + ndata + 1);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, json, n);
    for (size_t i = 0; i < ndata; i++)
        buf[8 + n + i] = (uint8_t)i;
    st_file f;
    int rc = st_parse(buf, 8 + n + ndata, "vec.safetensors", &f, err);
    if (rc == DL_OK)
        st_close(&f);
    return rc;
}

static void expect_reject(const char *json, size_t ndata, const char *why, const char *label)
{
    dl_err err = {0};
    int rc = parse_json(json, ndata, &err);
    CHECK(rc == DL_ERR && err.exit_code == DL_EXIT_FAIL, "%s: accepted", label);
    CHECK(strstr(err.msg, "vec.safetensors: ") == err.msg && strstr(err.msg, why),
          "%s: message '%s' lacks '%s'", label, err.msg, why);
}

static void expect_accept(const char *json, size_t ndata, const char *label)
{
    dl_err err = {0};
    CHECK(parse_json(json, ndata, &err) == DL_OK, "%s: rejected: %s", label, err.msg);
}

static void test_worked_example(void)
{
    /* formats.md §1.6, "same tensor with recommended metadata". */
    static const char want_hex[] =
        "58000000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c"
        "2277223a7b226474797065223a22463332222c227368617065223a5b325d2c22646174615f6f6666"
        "73657473223a5b302c385d7d7d2020200000803f000020c0";
    uint8_t want[128];
    size_t want_len = hex_decode(want_hex, want);
    const float w[2] = {1.0f, -2.5f};
    st_out t = {"w", ST_F32, 1, {2}, w};
    char path[256];
    path_in_tmp(path, sizeof path, "example.safetensors");
    dl_err err = {0};
    CHECK(st_save(path, NULL, NULL, 0, &t, 1, &err) == DL_OK, "save: %s", err.msg);
    uint8_t *got = NULL;
    long n = read_all(path, &got);
    CHECK(want_len == 104 && n == 104 && !memcmp(got, want, 104),
          "worked example differs (%ld bytes)", n);
    free(got);

    st_file f;
    CHECK(st_open(path, &f, &err) == DL_OK, "open: %s", err.msg);
    float back[2] = {0, 0};
    const st_tensor *tw = st_find(&f, "w");
    CHECK(tw && st_read_f32(&f, tw, back, 2, &err) == DL_OK && back[0] == 1.0f &&
              back[1] == -2.5f, "example values");
    CHECK(st_meta(&f, "format") && !strcmp(st_meta(&f, "format"), "pt"), "format pt");
    CHECK(st_meta(&f, "missing") == NULL && st_find(&f, "missing") == NULL, "absent lookups");
    st_close(&f);
}

static void test_round_trip(void)
{
    const float kernel[6] = {0.5f, -1.0f, 2.0f, 3.25f, -0.0f, 1e-30f}; /* [2, 3] */
    const float bias[3] = {0.1f, 0.2f, 0.3f};
    const int64_t step = 1234567890123LL;
    const uint8_t mask[5] = {1, 0, 255, 7, 9};
    st_out t[5] = {
        {"dense.kernel", ST_F32, 2, {2, 3}, kernel},
        {"mask", ST_U8, 1, {5}, mask},
        {"step", ST_I64, 0, {0}, &step},
        {"dense.bias", ST_F32, 1, {3}, bias},
        {"empty", ST_F32, 2, {0, 4}, NULL},
    };
    const char *keys[3] = {"dltrain.config", "unicode", "ctl"};
    const char *values[3] = {"model:\n  - Dense: {units: 3}\n# \"quoted\" \\ back\tslash\n",
                             "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e", "\x01\x1f\x7f\b\f\r"};
    char path[256];
    path_in_tmp(path, sizeof path, "round.safetensors");
    dl_err err = {0};
    CHECK(st_save(path, keys, values, 3, t, 5, &err) == DL_OK, "save: %s", err.msg);

    uint8_t *raw = NULL;
    long n = read_all(path, &raw);
    CHECK(n > 8 && raw[8] == '{', "header starts with {");
    CHECK(n > 8 && raw[0] % 8 == 0, "header length is a multiple of 8");
    CHECK(contains(raw, n, "\\\"quoted\\\" \\\\ back\\tslash\\n"),
          "escaped quotes, backslash, tab, newline");
    CHECK(contains(raw, n, "\\u0001\\u001f\x7f\\b\\f\\r"),
          "control bytes as \\u00xx, DEL as is");
    CHECK(contains(raw, n, "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e"), "UTF-8 kept as is");
    const char *start = "{\"__metadata__\":{\"format\":\"pt\",\"dltrain.config\":";
    CHECK(n > 8 + (long)strlen(start) && !memcmp(raw + 8, start, strlen(start)),
          "format first, then the given pairs");
    free(raw);

    st_file f;
    CHECK(st_open(path, &f, &err) == DL_OK, "open: %s", err.msg);
    CHECK(f.ntensors == 5 && f.nmeta == 4, "counts %d %d", f.ntensors, f.nmeta);
    CHECK(f.data_start % 8 == 0, "data starts 8-aligned");
    for (int i = 0; i < 3; i++)
        CHECK(st_meta(&f, keys[i]) && !strcmp(st_meta(&f, keys[i]), values[i]), "meta %s",
              keys[i]);
    /* Write order: I64, then F32 by name, then U8. */
    static const char *const order[5] = {"step", "dense.bias", "dense.kernel", "empty", "mask"};
    static const size_t begins[5] = {0, 8, 20, 44, 44};
    for (int i = 0; i < f.ntensors; i++)
        CHECK(!strcmp(f.tensors[i].name, order[i]) && f.tensors[i].begin == begins[i],
              "tensor %d is %s at %zu", i, f.tensors[i].name, f.tensors[i].begin);
    const st_tensor *tk = st_find(&f, "dense.kernel");
    float k[6];
    CHECK(tk && tk->ndim == 2 && tk->shape[0] == 2 && tk->shape[1] == 3 &&
              !strcmp(tk->dtype_name, "F32"), "kernel header");
    CHECK(tk && st_read_f32(&f, tk, k, 6, &err) == DL_OK && !memcmp(k, kernel, sizeof k),
          "kernel values");
    CHECK(tk && st_read_f32(&f, tk, k, 5, &err) == DL_ERR && strstr(err.msg, "6 elements"),
          "count mismatch: %s", err.msg);
    int64_t step_back = 0;
    const st_tensor *ts = st_find(&f, "step");
    CHECK(ts && ts->ndim == 0 && st_read_raw(&f, ts, &step_back, 8, &err) == DL_OK &&
              step_back == step, "I64 scalar");
    CHECK(ts && st_read_raw(&f, ts, &step_back, 4, &err) == DL_ERR, "raw size mismatch");
    CHECK(ts && st_read_f32(&f, ts, k, 1, &err) == DL_ERR && strstr(err.msg, "I64"),
          "I64 is not read as float: %s", err.msg);
    uint8_t mask_back[5];
    const st_tensor *tm = st_find(&f, "mask");
    CHECK(tm && st_read_raw(&f, tm, mask_back, 5, &err) == DL_OK &&
              !memcmp(mask_back, mask, 5), "U8 values");
    CHECK(tk && st_read_raw(&f, tk, k, 24, &err) == DL_ERR, "F32 is not raw");
    const st_tensor *te = st_find(&f, "empty");
    CHECK(te && te->begin == te->end && st_read_f32(&f, te, k, 0, &err) == DL_OK, "empty");
    st_close(&f);
}

static void expect_save_error(const st_out *t, int n, const char *const *keys,
                              const char *const *values, int nmeta, const char *label)
{
    char path[256];
    path_in_tmp(path, sizeof path, "bad.safetensors");
    dl_err err = {0};
    int rc = st_save(path, keys, values, nmeta, t, n, &err);
    CHECK(rc == DL_ERR && err.exit_code == DL_EXIT_FAIL && strstr(err.msg, path) == err.msg,
          "%s: saved (%s)", label, err.msg);
    CHECK(access(path, F_OK) != 0 && count_files(".tmp.") == 0, "%s: left a file", label);
}

static void test_writer_rejects(void)
{
    const float v[1] = {1};
    static const char *const names[] = {"a\"b", "a\\b", "a\nb", "a\x01", "__metadata__",
                                        "bad\xff"};
    for (int i = 0; i < 6; i++) {
        st_out t = {names[i], ST_F32, 1, {1}, v};
        expect_save_error(&t, 1, NULL, NULL, 0, "bad name");
    }
    st_out dup[2] = {{"a", ST_F32, 1, {1}, v}, {"a", ST_U8, 1, {1}, v}};
    expect_save_error(dup, 2, NULL, NULL, 0, "duplicate name");
    st_out bad_dtype = {"a", ST_OTHER, 1, {1}, v};
    expect_save_error(&bad_dtype, 1, NULL, NULL, 0, "ST_OTHER");
    st_out neg = {"a", ST_F32, 1, {-1}, v};
    expect_save_error(&neg, 1, NULL, NULL, 0, "negative dim");
    st_out no_data = {"a", ST_F32, 1, {1}, NULL};
    expect_save_error(&no_data, 1, NULL, NULL, 0, "no data");
    const char *fmt_key[1] = {"format"}, *fmt_value[1] = {"tf"};
    expect_save_error(NULL, 0, fmt_key, fmt_value, 1, "format key");
    const char *dup_keys[2] = {"k", "k"}, *dup_values[2] = {"1", "2"};
    expect_save_error(NULL, 0, dup_keys, dup_values, 2, "duplicate metadata key");
    const char *utf_key[1] = {"k"}, *utf_value[1] = {"\xc3("};
    expect_save_error(NULL, 0, utf_key, utf_value, 1, "metadata not UTF-8");
}

static void test_vectors(void)
{
    /* formats.md §1.7 */
    const char *i32 = "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
    expect_accept(i32, 16, "valid I32 2x2");
    expect_accept("{\"test\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
                  "scalar");
    expect_accept("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,0],\"data_offsets\":[0, 0]}}", 0,
                  "empty tensor");
    expect_reject(i32, 17, "data buffer holds 17", "trailing bytes");
    expect_reject(i32, 14, "data buffer holds 14", "2 bytes missing");
    expect_reject("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", 4,
                  "hold 4 bytes but 4 elements of I32 need 16", "size mismatch");
    expect_reject("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,18446744073709551614],"
                  "\"data_offsets\":[0,16]}}", 16, "shape[1]", "shape overflow u64");
    expect_reject("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,9223372036854775807],"
                  "\"data_offsets\":[0,16]}}", 16, "between 0 and 2^53", "shape overflow i64");
    char alias[1024] = "{";
    for (int i = 0; i < 10; i++)
        snprintf(alias + strlen(alias), sizeof alias - strlen(alias),
                 "%s\"weight_%d\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}",
                 i ? "," : "", i);
    strcat(alias, "}");
    expect_reject(alias, 16, "overlap another tensor", "aliasing attack");

    struct { const char *bytes; size_t n; const char *why; } raw[] = {
        {"\x06\0\0\0\0\0\0\0{}\r \t\n", 14, NULL},
        {"\x06\0\0\0\0\0\0\0\t\n{}\r ", 14, NULL},
        {"\x3c\0\0\0\0\xff\xff\xff{}", 10, "over the"},
        {"", 0, "too small"},
        {"\x01\0\0\0\0\0\0", 7, "too small"},
        {"<\0\0\0\0\0\0\0", 8, "past the end"},
        {"\x01\0\0\0\0\0\0\0\xff", 9, "UTF-8 (byte offset 8)"},
        {"\x01\0\0\0\0\0\0\0{", 9, "not valid JSON"},
        {"\x04\0\0\0\0\0\0\0{}\0 ", 12, "control byte 0x00 in the header (byte offset 10)"},
        {"\x04\0\0\0\0\0\0\0{\x01} ", 12, "control byte 0x01"},
        {"\x04\0\0\0\0\0\0\0{}x ", 12, "bytes after"},
        {"\x04\0\0\0\0\0\0\0{}{}", 12, "bytes after"},
        {"\x04\0\0\0\0\0\0\0[]  ", 12, "not a JSON object"},
        {"\x04\0\0\0\0\0\0\0\"x\" ", 12, "not a JSON object"},
        {"\x05\0\0\0\0\0\0\0{\xed\xa0\x80}", 13, "UTF-8"},
        {"\x05\0\0\0\0\0\0\0{\xc0\x80 }", 13, "UTF-8"},
        {"\x02\0\0\0\0\0\0\0{}", 10, NULL},
        {"\x02\0\0\0\0\0\0\0{}\0", 11, "data buffer holds 1"},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        st_file f;
        dl_err err = {0};
        int rc = parse_bytes(raw[i].bytes, raw[i].n, &f, &err);
        if (!raw[i].why)
            CHECK(rc == DL_OK, "raw vector %zu rejected: %s", i, err.msg);
        else
            CHECK(rc == DL_ERR && err.exit_code == DL_EXIT_FAIL && strstr(err.msg, raw[i].why),
                  "raw vector %zu: rc %d, '%s'", i, rc, err.msg);
        if (rc == DL_OK)
            st_close(&f);
    }
}

static void test_our_rejects(void)
{
#define T(name, dtype, shape, offsets) \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offsets "}"
    expect_reject("{" T("a", "F32", "[1]", "[0,4]") "," T("a", "F32", "[1]", "[4,8]") "}", 8,
                  "duplicate key 'a'", "duplicate name");
    expect_reject("{" T("a", "F32", "[1]", "[0,4]") "," T("b", "F32", "[1]", "[8,12]") "}", 12,
                  "leave a gap", "gap");
    expect_reject("{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[1]", "[4,8]") "}", 8,
                  "overlap", "overlap");
    expect_reject("{" T("b", "F32", "[1]", "[4,8]") "}", 8, "leave a gap", "first not at 0");
    expect_reject("{" T("a", "F32", "[1]", "[4,0]") "}", 4, "end before", "end < begin");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
                  "unknown member 'x' (tensor 'a')", "unknown member");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 0, "missing member 'data_offsets'",
                  "missing member");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
                  "\"data_offsets\":[0,4]}}", 4, "duplicate member 'dtype'", "duplicate member");
    expect_reject("{\"__metadata__\":{\"k\":1}}", 0, "value 'k' is not a string", "meta number");
    expect_reject("{\"__metadata__\":{\"k\":null}}", 0, "not a string", "meta null");
    expect_reject("{\"__metadata__\":{\"k\":{}}}", 0, "not a string", "meta object");
    expect_reject("{\"__metadata__\":[]}", 0, "__metadata__ is not an object", "meta array");
    expect_reject("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0,
                  "duplicate key 'k' in __metadata__", "meta duplicate");
    expect_reject("{" T("a", "F32", "[-1]", "[0,4]") "}", 4, "shape[0]", "negative");
    expect_reject("{" T("a", "F32", "[1.5]", "[0,6]") "}", 6, "shape[0]", "fractional");
    expect_reject("{" T("a", "F32", "[1]", "[0,4.0000001]") "}", 4, "data_offsets[1]",
                  "fractional offset");
    expect_reject("{" T("a", "F32", "[0,9007199254740994]", "[0,0]") "}", 0, "shape[1]",
                  "above 2^53");
    expect_accept("{" T("a", "F32", "[0,9007199254740992]", "[0,0]") "}", 0, "exactly 2^53");
    expect_reject("{" T("a", "F32", "[\"1\"]", "[0,4]") "}", 4, "shape[0]", "string dim");
    expect_reject("{\"a\":1}", 0, "not an object (tensor 'a')", "tensor not an object");
    expect_reject("{\"a\":[]}", 0, "not an object", "tensor an array");
    expect_reject("{" T("a", "F32", "2", "[0,8]") "}", 8, "shape is not an array", "shape scalar");
    expect_reject("{" T("a", "F32", "[2]", "[0,8,8]") "}", 8, "more than 2 entries",
                  "data_offsets of 3");
    expect_reject("{" T("a", "F32", "[2]", "[8]") "}", 8, "has 1 entries", "data_offsets of 1");
    expect_reject("{" T("a", "F33", "[1]", "[0,4]") "}", 4, "unknown dtype 'F33'", "dtype");
    expect_reject("{" T("a", "f32", "[1]", "[0,4]") "}", 4, "unknown dtype", "dtype case");
    expect_reject("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                  "unknown dtype", "dtype number");
    expect_reject("{" T("a", "U8", "[1,1,1,1,1,1,1,1,1]", "[0,1]") "}", 1, "more than 8",
                  "nine dims");
    expect_reject("{" T("a", "F4", "[3]", "[0,2]") "}", 2, "do not fill whole bytes",
                  "misaligned F4");
    expect_accept("{" T("a", "F4", "[4]", "[0,2]") "}", 2, "F4 pair");
    expect_reject("{" T("a\\u001b[31m", "F32", "[1]", "[0,8]") "}", 8, "tensor 'a?[31m'",
                  "control characters in a name are not printed");
    expect_accept("{" T("a", "F32", "[1]", "[0,4]") "," T("z", "F32", "[0]", "[4,4]") ","
                  T("y", "F32", "[0]", "[0,0]") "}", 4, "zero-length tensors");
#undef T
    dl_err err = {0};
    st_file f;
    char path[256];
    path_in_tmp(path, sizeof path, "does-not-exist.safetensors");
    CHECK(st_open(path, &f, &err) == DL_ERR && err.exit_code == DL_EXIT_FAIL &&
              strstr(err.msg, path) && strstr(err.msg, "No such file"), "missing: %s", err.msg);
    CHECK(st_open(tmp_dir, &f, &err) == DL_ERR && strstr(err.msg, "not a regular file"),
          "directory: %s", err.msg);
}

static void test_conversions(void)
{
    static const char header[] =
        "{\"h\":{\"dtype\":\"F16\",\"shape\":[9],\"data_offsets\":[0,18]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[18,24]},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[24,48]},"
        "\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[48,49]},"
        "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[49,57]},"
        "\"i\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[57,61]}}";
    static const uint16_t half[9] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000,
                                     0x7C00, 0x3555, 0x0400, 0x7E00};
    static const float half_want[8] = {1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f, -0.0f,
                                       INFINITY, 0.333251953125f, 6.103515625e-5f};
    static const uint16_t bf16[3] = {0x3F80, 0xC0A0, 0x4049};
    static const double f64[3] = {1.5, -1e-3, 1e10};
    static const float f32[2] = {3.5f, -7.25f};
    size_t n = strlen(header);
    uint8_t *buf = malloc(8 + n + 61);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    uint8_t *data = buf + 8 + n; /* F32 at data offset 49: deliberately unaligned */
    memcpy(data, half, 18);
    memcpy(data + 18, bf16, 6);
    memcpy(data + 24, f64, 24);
    data[48] = 42;
    memcpy(data + 49, f32, 8);
    memset(data + 57, 0, 4);
    st_file f;
    dl_err err = {0};
    CHECK(st_parse(buf, 8 + n + 61, "conv.safetensors", &f, &err) == DL_OK, "%s", err.msg);
    float out[9];
    CHECK(st_read_f32(&f, st_find(&f, "h"), out, 9, &err) == DL_OK, "F16: %s", err.msg);
    for (int i = 0; i < 8; i++)
        CHECK(out[i] == half_want[i] && signbit(out[i]) == signbit(half_want[i]),
              "F16 %d: %g", i, out[i]);
    CHECK(isnan(out[8]), "F16 NaN");
    CHECK(st_read_f32(&f, st_find(&f, "b"), out, 3, &err) == DL_OK && out[0] == 1.0f &&
              out[1] == -5.0f && out[2] == 3.140625f, "BF16 %g %g %g", out[0], out[1], out[2]);
    CHECK(st_read_f32(&f, st_find(&f, "d"), out, 3, &err) == DL_OK && out[0] == 1.5f &&
              out[1] == (float)-1e-3 && out[2] == 1e10f, "F64");
    CHECK(st_read_f32(&f, st_find(&f, "f"), out, 2, &err) == DL_OK && out[0] == 3.5f &&
              out[1] == -7.25f, "unaligned F32");
    const st_tensor *ti = st_find(&f, "i");
    CHECK(ti && ti->dtype == ST_OTHER && !strcmp(ti->dtype_name, "I32"), "I32 is ST_OTHER");
    CHECK(ti && st_read_f32(&f, ti, out, 1, &err) == DL_ERR &&
              strstr(err.msg, "conv.safetensors: tensor 'i' has dtype I32"), "%s", err.msg);
    st_close(&f);
}

/* A model of 1000 floats: bigger than the old file and than the limit. */
static int save_big(const char *path, dl_err *err)
{
    static float big[1000];
    st_out t = {"big", ST_F32, 1, {1000}, big};
    return st_save(path, NULL, NULL, 0, &t, 1, err);
}

static void test_atomic_write(void)
{
    char path[256], missing[256];
    path_in_tmp(path, sizeof path, "example.safetensors"); /* from test_worked_example */
    uint8_t *before = NULL, *after = NULL;
    long n_before = read_all(path, &before);
    dl_err err = {0};

    path_in_tmp(missing, sizeof missing, "no-such-dir/model.safetensors");
    CHECK(save_big(missing, &err) == DL_ERR && err.exit_code == DL_EXIT_FAIL &&
              strstr(err.msg, missing) == err.msg && strstr(err.msg, "No such file"),
          "missing dir: %s", err.msg);

    /* A write that fails half-way: file size limit with SIGXFSZ ignored. */
    struct rlimit old_limit, small;
    CHECK(getrlimit(RLIMIT_FSIZE, &old_limit) == 0, "getrlimit");
    small = old_limit;
    small.rlim_cur = 200;
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0, "setrlimit");
    int rc = save_big(path, &err);
    CHECK(setrlimit(RLIMIT_FSIZE, &old_limit) == 0, "restore rlimit");
    CHECK(rc == DL_ERR && strstr(err.msg, path) == err.msg &&
              strstr(err.msg, "write failed: File too large"), "size limit: %s", err.msg);
    long n_after = read_all(path, &after);
    CHECK(n_before == 104 && n_after == n_before && !memcmp(before, after, 104),
          "old file changed");
    CHECK(count_files(".tmp.") == 0, "temp file left behind");
    free(after);

    /* rename() cannot replace a directory. */
    char dir_path[256];
    path_in_tmp(dir_path, sizeof dir_path, "a-directory");
    CHECK(mkdir(dir_path, 0700) == 0, "mkdir");
    CHECK(save_big(dir_path, &err) == DL_ERR && strstr(err.msg, "cannot replace the file"),
          "rename over a directory: %s", err.msg);
    CHECK(count_files(".tmp.") == 0, "temp file left after rename failure");

    /* Permissions do not stop root, so only an ordinary user can test this. */
    if (geteuid() != 0) {
        CHECK(chmod(tmp_dir, 0500) == 0, "chmod");
        CHECK(save_big(path, &err) == DL_ERR && strstr(err.msg, "Permission denied"),
              "unwritable dir: %s", err.msg);
        CHECK(chmod(tmp_dir, 0700) == 0, "chmod back");
        n_after = read_all(path, &after);
        CHECK(n_after == n_before && !memcmp(before, after, 104), "old file changed");
        free(after);
    } else {
        printf("test_safetensors: running as root, unwritable-directory case skipped\n");
    }

    CHECK(save_big(path, &err) == DL_OK, "overwrite: %s", err.msg);
    n_after = read_all(path, &after);
    CHECK(n_after == 8 + 96 + 4000, "new file in place (%ld bytes)", n_after);
    CHECK(count_files(".tmp.") == 0, "temp file left after success");
    free(after);
    free(before);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_worked_example();
    test_round_trip();
    test_writer_rejects();
    test_vectors();
    test_our_rejects();
    test_conversions();
    test_atomic_write();
    nftw(tmp_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return check_report("safetensors");
}
