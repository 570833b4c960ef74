/* test_tensorboard.c: the TensorBoard event-file writer against
 * tensorboard-format.md: CRC32C vectors (§2.4), varints and keys (§3), the
 * worked examples byte for byte (§7.4, §7.5, §8), histogram buckets, PNG
 * round trips, and whole files read back by a reader as strict as
 * TensorBoard's (tb_reader.h), cut at every byte and corrupted. What
 * TensorBoard itself reads is tests/e2e/test_tensorboard.sh's job. */
#include "engine/tb_internal.h"
#include "tests/unit/check.h"

#include <ctype.h>
#include <fnmatch.h>
#include <ftw.h>
#include <png.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RECORDS 64

static char tmp_dir[] = "/tmp/test_tensorboard.XXXXXX";

/* Bytes from a spec of hex pairs and "quoted text", spaces ignored. */
static size_t spec_bytes(const char *spec, uint8_t *out)
{
    size_t n = 0;
    while (*spec) {
        if (*spec == '"') {
            for (spec++; *spec && *spec != '"'; spec++)
                out[n++] = (uint8_t)*spec;
            spec += *spec == '"';
        } else if (isxdigit((unsigned char)*spec)) {
            unsigned v;
            sscanf(spec, "%2x", &v);
            out[n++] = (uint8_t)v;
            spec += 2;
        } else {
            spec++;
        }
    }
    return n;
}

static int same_bytes(const uint8_t *got, size_t n, const char *spec)
{
    uint8_t want[1024];
    size_t m = spec_bytes(spec, want);
    if (n == m && memcmp(got, want, n) == 0)
        return 1;
    fprintf(stderr, "got %zu bytes:", n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %02x", got[i]);
    fprintf(stderr, "\nwant %zu bytes: %s\n", m, spec);
    return 0;
}

static int contains_bytes(const tb_buf *b, const char *spec)
{
    uint8_t want[1024];
    size_t m = spec_bytes(spec, want);
    return memmem(b->data, b->len, want, m) != NULL;
}

/* The event framed as a record, compared with spec. */
static int same_record(const tb_buf *event, const char *spec)
{
    uint8_t record[1024];
    size_t n = tb_encode_record(event->data, event->len, record);
    return same_bytes(record, n, spec);
}

#include "tests/unit/tb_reader.h"

/* ---- encoders ------------------------------------------------------------- */

static void test_crc(void)
{
    uint8_t zeros[32] = {0}, ones[32], ramp[32], event[19];
    memset(ones, 0xFF, sizeof ones);
    for (int i = 0; i < 32; i++)
        ramp[i] = (uint8_t)i;
    CHECK(tb_crc32c("", 0) == 0, "crc('')");
    CHECK(tb_crc32c("a", 1) == 0xC1D04330u, "crc('a')");
    CHECK(tb_crc32c("123456789", 9) == 0xE3069283u, "check value");
    CHECK(tb_crc32c(zeros, 32) == 0x8A9136AAu, "32 zeros");
    CHECK(tb_crc32c(ones, 32) == 0x62A8AB43u, "32 x ff");
    CHECK(tb_crc32c(ramp, 32) == 0x46DD794Eu, "00..1f");
    CHECK(tb_crc32c("brain.Event:2", 13) == 0x8B8B6CC1u, "brain.Event:2");
    spec_bytes("1a 11 \"CRC test, one two\"", event);
    CHECK(tb_mask_crc(tb_crc32c(event, 19)) == 0x5794D08Au, "Rust test event");
    CHECK(tb_mask_crc(0) == 0xA282EAD8u, "mask(0)");
    CHECK(tb_mask_crc(1) == 0xA284EAD8u, "mask(1)");
    CHECK(tb_mask_crc(0xFFFFFFFFu) == 0xA282EAD7u, "mask(ffffffff)");
    CHECK(tb_mask_crc(0xE3069283u) == 0xC78AB0E5u, "mask(check value)");
    CHECK(tb_mask_crc(tb_crc32c(zeros, 32)) == 0x0FD7FFFAu, "masked 32 zeros");
    static const struct { uint64_t n; uint32_t masked; } headers[] = {
        {0, 0x07980329u}, {1, 0x41DE7501u}, {24, 0x224B7FA3u},
        {26, 0x2DD89B12u}, {50, 0xEC561924u}, {4660, 0xA27BBB15u}};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        uint8_t le[8];
        for (int j = 0; j < 8; j++)
            le[j] = (uint8_t)(headers[i].n >> (8 * j));
        CHECK(tb_mask_crc(tb_crc32c(le, 8)) == headers[i].masked,
              "length header crc for N=%llu", (unsigned long long)headers[i].n);
    }
}

static void test_varints_and_keys(void)
{
    static const struct { uint64_t v; const char *bytes; } cases[] = {
        {0, "00"}, {1, "01"}, {127, "7f"}, {128, "80 01"}, {150, "96 01"},
        {300, "ac 02"}, {16384, "80 80 01"}, {2147483647, "ff ff ff ff 07"},
        {UINT64_C(1) << 63, "80 80 80 80 80 80 80 80 80 01"},
        {(uint64_t)(int64_t)-1, "ff ff ff ff ff ff ff ff ff 01"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[10];
        size_t n = tb_encode_varint(cases[i].v, out);
        CHECK(same_bytes(out, n, cases[i].bytes), "varint %s", cases[i].bytes);
    }
    tb_buf b = {0};
    tb_put_key(&b, 1, TB_WIRE_I64);
    tb_put_key(&b, 2, TB_WIRE_VARINT);
    tb_put_key(&b, 5, TB_WIRE_LEN);
    tb_put_key(&b, 2, TB_WIRE_I32);
    tb_put_key(&b, 16, TB_WIRE_VARINT);     /* field > 15: a two-byte key */
    CHECK(same_bytes(b.data, b.len, "09 10 2a 15 80 01"), "field keys");
    tb_buf_free(&b);
}

static void test_worked_examples(void)
{
    tb_buf b = {0};
    /* §8.1, legacy simple_value, built from the primitives */
    tb_put_double_field(&b, 1, 1.0);
    tb_put_uint_field(&b, 2, 1);
    size_t summary = tb_open_field(&b, 5), value = tb_open_field(&b, 1);
    tb_put_string_field(&b, 1, "loss");
    tb_put_float_field(&b, 2, 0.5f);
    tb_close_field(&b, value);
    tb_close_field(&b, summary);
    CHECK(same_record(&b, "1a 00 00 00 00 00 00 00 12 9b d8 2d 09 00 00 00 00 00 00"
                          " f0 3f 10 01 2a 0d 0a 0b 0a 04 6c 6f 73 73 15 00 00 00 3f"
                          " 27 f9 5d b1"), "§8.1 record");
    /* §8.2, the tensor form tb_scalar writes */
    b.len = 0;
    tb_encode_scalar(&b, 1.0, "loss", 1, 0.5f);
    CHECK(same_record(&b, "30 00 00 00 00 00 00 00 95 f5 d0 5f 09 00 00 00 00 00 00"
                          " f0 3f 10 01 2a 23 0a 21 0a 04 6c 6f 73 73 42 0a 08 01 12"
                          " 00 2a 04 00 00 00 3f 4a 0d 0a 09 0a 07 73 63 61 6c 61 72"
                          " 73 20 01 bf e8 3e 59"), "§8.2 record");
    /* §8.3, the first record, bare and with source_metadata (as written) */
    b.len = 0;
    tb_put_double_field(&b, 1, 1.0);
    tb_put_string_field(&b, 3, "brain.Event:2");
    CHECK(same_record(&b, "18 00 00 00 00 00 00 00 a3 7f 4b 22 09 00 00 00 00 00 00"
                          " f0 3f 1a 0d \"brain.Event:2\" 86 bf 57 7a"), "§8.3 bare");
    b.len = 0;
    tb_encode_file_version(&b, 1.0);
    CHECK(same_record(&b, "23 00 00 00 00 00 00 00 b0 9f 77 43 09 00 00 00 00 00 00"
                          " f0 3f 1a 0d \"brain.Event:2\" 52 09 0a 07 \"dltrain\""
                          " d7 47 dd ea"), "§8.3 with source_metadata");
    tb_buf_free(&b);
}

#define T0 "09 00 00 00 40 fc 54 d9 41" /* wall_time 1700000000 */

static void test_hparams_examples(void)
{
    tb_buf b = {0};
    const tb_hparam hparams[] = {
        {.name = "lr", .type = TB_HPARAM_NUMBER, .number_value = 0.001},
        {.name = "optimizer", .type = TB_HPARAM_STRING, .string_value = "adam"}};
    tb_encode_session_start(&b, 1700000000.0, hparams, 2, "", 1700000000.0);
    CHECK(same_record(&b, "75 00 00 00 00 00 00 00 d7 d9 41 78 " T0 " 2a 6a 0a 68 0a 1c"
                          " \"_hparams_/session_start_info\" 42 06 08 01 12 02 12 00"
                          " 4a 40 0a 3c 0a 07 \"hparams\" 12 31 1a 2f 0a 0f 0a 02 \"lr\""
                          " 12 09 11 fc a9 f1 d2 4d 62 50 3f 0a 13 0a 09 \"optimizer\""
                          " 12 06 1a 04 \"adam\" 29 00 00 00 40 fc 54 d9 41 20 02"
                          " e9 2a 54 da"), "§7.4 session_start_info record");
    b.len = 0;
    tb_encode_session_end(&b, 1700000100.0, TB_STATUS_SUCCESS, 1700000100.0);
    CHECK(same_record(&b, "4f 00 00 00 00 00 00 00 6c 47 4f 93 09 00 00 00 59 fc 54 d9"
                          " 41 2a 44 0a 42 0a 1a \"_hparams_/session_end_info\" 42 06"
                          " 08 01 12 02 12 00 4a 1c 0a 18 0a 07 \"hparams\" 12 0d 22 0b"
                          " 08 01 11 00 00 00 59 fc 54 d9 41 20 02 dc 59 a4 25"),
          "§7.5 session_end_info record");
    const char *optimizers[] = {"adam", "sgd"};
    const tb_hparam_info infos[] = {
        {.name = "lr", .type = TB_HPARAM_NUMBER, .has_interval = 1,
         .min_value = 1e-4, .max_value = 0.1},
        {.name = "optimizer", .type = TB_HPARAM_STRING,
         .string_choices = optimizers, .nchoices = 2}};
    const char *tags[] = {"epoch_loss"}, *groups[] = {"validation"};
    b.len = 0;
    tb_encode_experiment(&b, 1700000000.0, infos, 2, tags, groups, 1);
    /* §7.5's Experiment, wrapped as §7.4 wraps its content (lengths over
     * 127 take two varint bytes here) */
    CHECK(same_bytes(b.data, b.len,
                     T0 " 2a 8c 01 0a 89 01 0a 14 \"_hparams_/experiment\" 42 06 08 01"
                     " 12 02 12 00 4a 69 0a 65 0a 07 \"hparams\" 12 5a 12 58"
                     " 22 1a 0a 02 \"lr\" 20 03 32 12 09 2d 43 1c eb e2 36 1a 3f 11 9a 99"
                     " 99 99 99 99 b9 3f 22 1e 0a 09 \"optimizer\" 20 01 2a 0f 0a 06 1a"
                     " 04 \"adam\" 0a 05 1a 03 \"sgd\" 2a 1a 0a 18 0a 0a \"validation\""
                     " 12 0a \"epoch_loss\" 20 02"), "§7.5 experiment event");
    /* oneof members are written even when zero: false, 0.0, "" */
    const tb_hparam zeros[] = {{.name = "b", .type = TB_HPARAM_BOOL},
                               {.name = "x", .type = TB_HPARAM_NUMBER},
                               {.name = "s", .type = TB_HPARAM_STRING, .string_value = ""}};
    b.len = 0;
    tb_encode_session_start(&b, 1.0, zeros, 3, "grp", 0);
    CHECK(contains_bytes(&b, "0a 07 0a 01 \"b\" 12 02 20 00"), "bool false written");
    CHECK(contains_bytes(&b, "0a 0e 0a 01 \"x\" 12 09 11 00 00 00 00 00 00 00 00"),
          "0.0 written");
    CHECK(contains_bytes(&b, "0a 07 0a 01 \"s\" 12 02 1a 00 22 03 \"grp\" 20 02"),
          "empty string written, then group_name, no start time");
    const tb_hparam_info flag = {.name = "shuffle", .type = TB_HPARAM_BOOL};
    b.len = 0;
    tb_encode_experiment(&b, 1.0, &flag, 1, NULL, NULL, 0);
    CHECK(contains_bytes(&b, "22 15 0a 07 \"shuffle\" 20 02 2a 08 0a 02 20 00 0a 02 20 01"),
          "a bool's domain is {false, true}");
    b.len = 0;
    tb_encode_session_end(&b, 1.0, TB_STATUS_UNKNOWN, 0);
    CHECK(contains_bytes(&b, "12 02 22 00 20 02"), "an empty end info is still present");
    tb_buf_free(&b);
}

static void test_text_and_graph(void)
{
    tb_buf b = {0};
    tb_encode_text(&b, 1.0, "note", 2, "hi");
    CHECK(same_bytes(b.data, b.len, "09 00 00 00 00 00 00 f0 3f 10 02 2a 1e 0a 1c 0a 04"
                                    " \"note\" 42 08 08 07 12 00 42 02 \"hi\" 4a 0a 0a 06"
                                    " 0a 04 \"text\" 20 02"), "text event");
    b.len = 0;
    tb_encode_keras_graph(&b, 1.0, "{\"class_name\": \"Sequential\"}");
    CHECK(same_bytes(b.data, 11, "09 00 00 00 00 00 00 f0 3f 2a 4d"), "graph at step 0");
    CHECK(contains_bytes(&b, "0a 05 \"keras\" 42 26 08 07 12 04 12 02 08 01 42 1c"
                             " 7b 22 \"class_name\" 22 3a 20 22 \"Sequential\" 22 7d"),
          "graph tensor");
    CHECK(contains_bytes(&b, "4a 1a 0a 16 0a 11 \"graph_keras_model\" 12 01 \"1\" 20 03"),
          "graph metadata");
    tb_buf_free(&b);
}

static void test_histograms(void)
{
    double h[4][3];
    const float data[] = {0, 0.5f, 1, 4, 10, NAN, INFINITY};
    CHECK(tb_histogram_buckets(data, 7, 4, h) == 2, "NaN and Inf counted");
    const double want[4][3] = {{0, 2.5, 3}, {2.5, 5, 1}, {5, 7.5, 0}, {7.5, 10, 1}};
    for (int j = 0; j < 4; j++)
        for (int c = 0; c < 3; c++)
            CHECK(h[j][c] == want[j][c], "bucket %d col %d: %g", j, c, h[j][c]);
    const float same[] = {3, 3, 3};
    CHECK(tb_histogram_buckets(same, 3, 4, h) == 0, "all equal: none skipped");
    CHECK(h[0][0] == 3 && h[0][1] == 3 && h[2][1] == 3 && h[3][0] == 3,
          "all equal: every edge is the value");
    CHECK(h[0][2] == 0 && h[2][2] == 0 && h[3][2] == 3, "all equal: last bucket");
    h[1][1] = 7;
    CHECK(tb_histogram_buckets(NULL, 0, 4, h) == 0 && h[1][1] == 0 && h[3][2] == 0,
          "empty: all zeros");
    const float nans[] = {NAN, -INFINITY};
    CHECK(tb_histogram_buckets(nans, 2, 4, h) == 2 && h[3][2] == 0, "no finite value");

    tb_buf b = {0};
    const double two[2][3] = {{0, 0.5, 3}, {0.5, 1, 1}};
    tb_encode_histogram(&b, 1.0, "w", 3, two, 2);
    /* §6's ready-made [2,3] tensor, then the histograms metadata */
    CHECK(contains_bytes(&b, "42 3e 08 02 12 08 12 02 08 02 12 02 08 03 22 30"
                             " 00 00 00 00 00 00 00 00  00 00 00 00 00 00 e0 3f"
                             " 00 00 00 00 00 00 08 40  00 00 00 00 00 00 e0 3f"
                             " 00 00 00 00 00 00 f0 3f  00 00 00 00 00 00 f0 3f"
                             " 4a 10 0a 0c 0a 0a \"histograms\" 20 02"), "histogram tensor");
    tb_buf_free(&b);
}

/* Encodes an image event, takes [width, height, png] back out of its
 * tensor and decodes the PNG. */
static void check_image_round_trip(int height, int width, int channels)
{
    static const png_uint_32 formats[4] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA,
                                           PNG_FORMAT_RGB, PNG_FORMAT_RGBA};
    size_t size = (size_t)(height * width * channels);
    uint8_t *pixels = malloc(size), *back = malloc(size);
    for (size_t i = 0; i < size; i++)
        pixels[i] = (uint8_t)(i * 37 + 11);
    tb_buf b = {0};
    CHECK(tb_encode_image(&b, 1.0, "img", 1, pixels, height, width, channels) == DL_OK,
          "encode %dx%dx%d", height, width, channels);
    const int tensor_path[] = {5, 1, 8, 0};
    pb_field tensor, strings[4];
    int n = 0;
    if (pb_path(b.data, b.len, tensor_path, &tensor)) {
        const uint8_t *p = tensor.data;
        while (n < 4 && pb_next(&p, tensor.data + tensor.len, &strings[n]) == 1)
            n += strings[n].number == TB_TENSOR_STRING_VAL;
    }
    char width_text[16], height_text[16];
    snprintf(width_text, sizeof width_text, "%d", width);
    snprintf(height_text, sizeof height_text, "%d", height);
    CHECK(n == 3 && pb_string_is(&strings[0], width_text) &&
              pb_string_is(&strings[1], height_text), "[width, height, png]");
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    int ok = n == 3 && png_image_begin_read_from_memory(&image, strings[2].data, strings[2].len);
    CHECK(ok && image.width == (png_uint_32)width && image.height == (png_uint_32)height,
          "PNG header %dx%d", height, width);
    image.format = formats[channels - 1];
    ok = ok && png_image_finish_read(&image, NULL, back, 0, NULL);
    CHECK(ok && memcmp(back, pixels, size) == 0, "pixels back, %d channels", channels);
    png_image_free(&image);
    tb_buf_free(&b);
    free(pixels);
    free(back);
}

/* ---- whole files ---------------------------------------------------------- */

static void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmp_dir, name);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_file_round_trip(void)
{
    char dir[256];
    tmp_path(dir, sizeof dir, "runs/a/train");
    tb_writer *w = NULL;
    dl_err err = {0};
    const float weights[] = {-1, 0, 2, 5};
    int rc = tb_open(&w, dir, &err);
    CHECK(rc == DL_OK, "tb_open with missing parents: %s", err.msg);
    if (rc != DL_OK)
        return;
    for (int step = 0; step < 5; step++)
        CHECK(tb_scalar(w, "epoch_loss", step, 1.0 / (step + 1), &err) == DL_OK, "scalar");
    CHECK(tb_histogram(w, "dense/kernel", 4, weights, 4, &err) == DL_OK, "histogram");
    CHECK(tb_text(w, "notes", 4, "*done*", &err) == DL_OK, "text");
    char path[512];
    snprintf(path, sizeof path, "%s", tb_path(w));
    CHECK(tb_close(w, &err) == DL_OK, "close: %s", err.msg);

    char pid_part[32];
    snprintf(pid_part, sizeof pid_part, ".%ld.", (long)getpid());
    CHECK(!strncmp(path, dir, strlen(dir)) && path[strlen(dir)] == '/' &&
              fnmatch("events.out.tfevents.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"
                      "[0-9].*.v2", path + strlen(dir) + 1, 0) == 0 &&
              strstr(path + strlen(dir), pid_part), "file name %s", path);

    size_t len = 0;
    uint8_t *buf = read_file(path, &len);
    record_scan s = buf ? scan_records(buf, len) : (record_scan){0};
    CHECK(s.count == 8 && !s.corrupt && s.end[7] == len, "8 records, %d read", s.count);
    pb_field f;
    const int version_path[] = {3, 0}, tag_path[] = {5, 1, 1, 0}, step_path[] = {2, 0};
    CHECK(s.count > 0 && pb_path(buf + s.data[0], s.data_len[0], version_path, &f) &&
              pb_string_is(&f, "brain.Event:2"), "first record: file_version");
    const char *tags[8] = {"", "epoch_loss", "epoch_loss", "epoch_loss", "epoch_loss",
                           "epoch_loss", "dense/kernel", "notes"};
    for (int i = 1; i < s.count; i++) {
        CHECK(pb_path(buf + s.data[i], s.data_len[i], tag_path, &f) &&
                  pb_string_is(&f, tags[i]), "record %d tag", i);
        int has_step = pb_path(buf + s.data[i], s.data_len[i], step_path, &f);
        int64_t want_step = i <= 5 ? i - 1 : 4;
        CHECK(want_step == 0 ? !has_step : has_step && f.varint == (uint64_t)want_step,
              "record %d step", i);
    }

    /* cut at every byte: exactly the records that end before the cut */
    int bad_cuts = 0;
    for (size_t cut = 0; cut <= len && s.count == 8; cut++) {
        int want = 0;
        while (want < s.count && s.end[want] <= cut)
            want++;
        record_scan t = scan_records(buf, cut);
        bad_cuts += t.count != want || t.corrupt;
    }
    CHECK(s.count == 8 && bad_cuts == 0, "%d of %zu cuts read wrongly", bad_cuts, len + 1);

    /* a flipped data byte or length byte stops the reader at that record */
    if (s.count == 8) {
        buf[s.data[3] + 2] ^= 0x40;
        record_scan t = scan_records(buf, len);
        CHECK(t.count == 3 && t.corrupt, "bad data crc: %d records", t.count);
        buf[s.data[3] + 2] ^= 0x40;
        buf[s.end[4]] ^= 0x01;
        t = scan_records(buf, len);
        CHECK(t.count == 5 && t.corrupt, "bad length crc: %d records", t.count);
    }
    free(buf);
}

static void test_unique_names_and_buffering(void)
{
    char dir[256];
    tmp_path(dir, sizeof dir, "two");
    tb_writer *a = NULL, *b = NULL;
    dl_err err = {0};
    CHECK(tb_open(&a, dir, &err) == DL_OK && tb_open(&b, dir, &err) == DL_OK,
          "two writers: %s", err.msg);
    if (!a || !b) {
        tb_close(a, NULL);
        tb_close(b, NULL);
        return;
    }
    CHECK(strcmp(tb_path(a), tb_path(b)) != 0, "different files: %s", tb_path(a));
    /* a file that already has the next name (another process) is skipped */
    char decoy[512];
    size_t stem = strlen(tb_path(b)) - strlen(".v2");
    while (stem > 0 && tb_path(b)[stem - 1] != '.')
        stem--;
    snprintf(decoy, sizeof decoy, "%.*s%ld.v2", (int)stem, tb_path(b),
             atol(tb_path(b) + stem) + 1);
    FILE *fp = fopen(decoy, "w");
    CHECK(fp && fputs("keep", fp) >= 0 && fclose(fp) == 0, "create %s", decoy);
    tb_writer *c = NULL;
    CHECK(tb_open(&c, dir, &err) == DL_OK && strcmp(tb_path(c), decoy) != 0 &&
              file_size(decoy) == 4, "the existing file is left alone");
    CHECK(tb_close(c, &err) == DL_OK, "close");
    long first = file_size(tb_path(a));
    CHECK(first == 51, "the file_version record is on disk at once: %ld", first);
    CHECK(tb_scalar(a, "loss", 1, 0.5, &err) == DL_OK && file_size(tb_path(a)) == first,
          "a scalar stays buffered");
    CHECK(tb_flush(a, &err) == DL_OK && file_size(tb_path(a)) == first + 64,
          "tb_flush writes it");
    CHECK(tb_scalar(a, "loss", 2, 0.25, &err) == DL_OK, "second scalar");
    CHECK(nanosleep(&(struct timespec){.tv_sec = 2, .tv_nsec = 100000000}, NULL) == 0 &&
              file_size(tb_path(a)) == first + 64, "still buffered after 2 s");
    CHECK(tb_scalar(a, "loss", 3, 0.125, &err) == DL_OK &&
              file_size(tb_path(a)) == first + 3 * 64, "the next call flushes both");
    CHECK(tb_close(a, &err) == DL_OK && tb_close(b, &err) == DL_OK, "close");
}

static void test_errors(void)
{
    char file[256], dir[300];
    dl_err err = {0};
    tb_writer *w = NULL;
    tmp_path(file, sizeof file, "plain_file");
    FILE *fp = fopen(file, "w");
    CHECK(fp && fclose(fp) == 0, "create %s", file);
    snprintf(dir, sizeof dir, "%s/sub", file);
    CHECK(tb_open(&w, dir, &err) == DL_ERR, "directory under a file");
    CHECK(strstr(err.msg, dir) == err.msg && strstr(err.msg, "Not a directory"),
          "message names the path: %s", err.msg);
    CHECK(tb_open(&w, "", &err) == DL_ERR && err.exit_code == DL_EXIT_FAIL, "empty dir name");
    CHECK(tb_close(NULL, &err) == DL_OK, "tb_close(NULL)");

    tmp_path(dir, sizeof dir, "errors");
    if (tb_open(&w, dir, &err) != DL_OK)
        return;
    uint8_t pixel = 0;
    CHECK(tb_image(w, "img", 0, &pixel, 1, 1, 5, &err) == DL_ERR &&
              strstr(err.msg, tb_path(w)) == err.msg && strstr(err.msg, "'img'"),
          "5 channels refused: %s", err.msg);

    /* a write that fails half-way (file size limit) keeps the rest, and a
     * later flush completes the file */
    char text[600];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    struct rlimit old_limit, small;
    CHECK(getrlimit(RLIMIT_FSIZE, &old_limit) == 0, "getrlimit");
    small = old_limit;
    small.rlim_cur = 300;
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0, "setrlimit");
    CHECK(tb_text(w, "long", 1, text, &err) == DL_OK, "a long text, buffered");
    int rc = tb_flush(w, &err);
    CHECK(setrlimit(RLIMIT_FSIZE, &old_limit) == 0, "restore the limit");
    CHECK(rc == DL_ERR && strstr(err.msg, tb_path(w)) == err.msg &&
              strstr(err.msg, "write failed"), "write failure: %s", err.msg);
    CHECK(file_size(tb_path(w)) == 300, "cut at the limit: %ld", file_size(tb_path(w)));
    char path[512];
    snprintf(path, sizeof path, "%s", tb_path(w));
    CHECK(tb_close(w, &err) == DL_OK, "close after the limit is lifted: %s", err.msg);
    size_t len = 0;
    uint8_t *buf = read_file(path, &len);
    record_scan s = buf ? scan_records(buf, len) : (record_scan){0};
    CHECK(s.count == 2 && !s.corrupt && s.end[1] == len, "whole file after retry");
    free(buf);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_crc();
    test_varints_and_keys();
    test_worked_examples();
    test_hparams_examples();
    test_text_and_graph();
    test_histograms();
    check_image_round_trip(3, 4, 3);
    check_image_round_trip(5, 2, 1);
    check_image_round_trip(2, 7, 4);
    check_image_round_trip(1, 1, 2);
    test_file_round_trip();
    test_unique_names_and_buffering();
    test_errors();
    nftw(tmp_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return check_report("tensorboard");
}
