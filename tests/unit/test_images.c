/* test_images.c: ds_load_image. Every PNG colour type and bit depth
 * (formats.md §4.2), written with libpng, is read as 1 to 4 channels and
 * compared with values computed from formats.md §4.3's rules; bilinear
 * resizing against values worked out by hand; every broken file. The
 * directory loader is in test_images_dir.c. */
#include "tests/unit/png_files.h"

#include <zlib.h>

/* ---- every colour type and bit depth ---- */

static uint32_t rng_state = 2024;
static unsigned rng(unsigned bound)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (rng_state >> 8) % bound;
}

/* A 7x5 image (odd width: partly filled bytes at low depths) of random
 * samples; pixel 0 is all zero, pixel 1 all maximum, pixel 5 gray (r = g =
 * b), pixel 6 (16-bit colour) needs the rounding, pixels 3 and 10 hold the
 * tRNS key colour. */
static test_png make_case(int color_type, int bit_depth, int trns, int interlace)
{
    test_png t = {.color_type = color_type, .bit_depth = bit_depth, .interlace = interlace,
                  .width = 7, .height = 5};
    int per = file_channels(color_type), npixels = t.width * t.height;
    unsigned top = (1u << bit_depth) - 1;
    for (int i = 0; i < npixels * per; i++)
        t.samples[i] = (uint16_t)(i / per == 0 ? 0 : i / per == 1 ? top : rng(top + 1));
    if (color_type == PNG_COLOR_TYPE_RGB || color_type == PNG_COLOR_TYPE_RGB_ALPHA)
        t.samples[5 * per + 1] = t.samples[5 * per + 2] = t.samples[5 * per];
    if (bit_depth == 16 && per >= 3) { /* gray16 0x4cff + 0.61: high byte 77, not 76 */
        t.samples[6 * per] = 0x823b;
        t.samples[6 * per + 1] = 0x1234;
        t.samples[6 * per + 2] = 0xf00f;
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        t.npalette = 1 << bit_depth;
        for (int k = 0; k < t.npalette; k++)
            t.palette[k] = (png_color){(png_byte)rng(256), (png_byte)rng(256), (png_byte)rng(256)};
        t.ntrans = trns ? (t.npalette / 2 > 0 ? t.npalette / 2 : 1) : 0;
        for (int k = 0; k < t.ntrans; k++)
            t.trans_alpha[k] = (png_byte)rng(256);
    } else if (trns) {
        memcpy(t.samples + 10 * per, t.samples + 3 * per, (size_t)per * sizeof *t.samples);
        t.has_trns_color = 1;
        t.trans_color.gray = t.samples[3 * per];
        t.trans_color.red = t.samples[3 * per];
        t.trans_color.green = per == 3 ? t.samples[3 * per + 1] : 0;
        t.trans_color.blue = per == 3 ? t.samples[3 * per + 2] : 0;
    }
    return t;
}

/* A sample at the file's depth as 8 bits: low depths scaled to 0..255,
 * 16 bits cut to the high byte. */
static unsigned to8(int bit_depth, unsigned v)
{
    if (bit_depth == 16)
        return v >> 8;
    return bit_depth == 8 ? v : v * 255 / ((1u << bit_depth) - 1);
}

/* libpng's BT.601 gray (coefficients 29900 and 58700 per 100000 as x/32768,
 * blue the remainder), truncated at 8 bits; 16-bit samples are combined
 * before their high byte is kept, with rounding. */
static unsigned bt601_gray(int bit_depth, const uint16_t *rgb)
{
    const unsigned red = 29900u * 32768 / 100000, green = 58700u * 32768 / 100000;
    const unsigned blue = 32768 - red - green;
    if (bit_depth == 16)
        return ((red * rgb[0] + green * rgb[1] + blue * rgb[2] + 16384) >> 15) >> 8;
    return (red * rgb[0] + green * rgb[1] + blue * rgb[2]) >> 15;
}

/* formats.md §4.3: pixel p read as `channels` (1 G, 2 GA, 3 RGB, 4 RGBA). */
static void expected_pixel(const test_png *t, int p, int channels, uint8_t *out)
{
    int per = file_channels(t->color_type);
    const uint16_t *s = t->samples + p * per;
    uint16_t rgb[3] = {s[0], s[0], s[0]};
    int is_color = t->color_type & PNG_COLOR_MASK_COLOR;
    int depth = t->bit_depth; /* of rgb[] */
    unsigned alpha = 255;
    if (t->color_type == PNG_COLOR_TYPE_PALETTE) {
        depth = 8;
        png_color c = t->palette[s[0]];
        rgb[0] = c.red;
        rgb[1] = c.green;
        rgb[2] = c.blue;
        alpha = s[0] < t->ntrans ? t->trans_alpha[s[0]] : 255;
    } else if (is_color) {
        memcpy(rgb, s, sizeof rgb);
        if (per == 4)
            alpha = to8(depth, s[3]);
        else if (t->has_trns_color && s[0] == t->trans_color.red &&
                 s[1] == t->trans_color.green && s[2] == t->trans_color.blue)
            alpha = 0;
    } else if (per == 2) {
        alpha = to8(depth, s[1]);
    } else if (t->has_trns_color && s[0] == t->trans_color.gray) {
        alpha = 0;
    }
    if (channels <= 2) {
        out[0] = (uint8_t)(is_color ? bt601_gray(depth, rgb) : to8(depth, rgb[0]));
    } else {
        for (int c = 0; c < 3; c++)
            out[c] = (uint8_t)to8(depth, rgb[c]);
    }
    if (channels == 2 || channels == 4)
        out[channels - 1] = (uint8_t)alpha;
}

static void check_case(const char *label, const test_png *t)
{
    const char *path = tmp_path("case.png");
    write_png(path, t);
    for (int channels = 1; channels <= 4; channels++) {
        uint8_t got[MAX_SAMPLES], want[4];
        dl_err err = {0};
        int rc = ds_load_image(path, channels, t->height, t->width, got, &err);
        CHECK(rc == DL_OK, "%s as %d channels: %s", label, channels, err.msg);
        int npixels = t->width * t->height, bad = -1;
        for (int p = 0; rc == DL_OK && bad < 0 && p < npixels; p++) {
            expected_pixel(t, p, channels, want);
            if (memcmp(got + p * channels, want, (size_t)channels))
                bad = p;
        }
        CHECK(rc != DL_OK || bad < 0, "%s as %d channels: pixel %d is %u,%u,%u,%u", label,
              channels, bad, got[bad * channels], got[bad * channels + (channels > 1)],
              got[bad * channels + (channels > 2 ? 2 : 0)], got[bad * channels + channels - 1]);
    }
}

static void test_color_types(void)
{
    static const struct {
        const char *label;
        int color_type, bit_depth, trns, interlace;
    } cases[] = {
        {"gray 1", PNG_COLOR_TYPE_GRAY, 1, 0, 0},
        {"gray 2", PNG_COLOR_TYPE_GRAY, 2, 0, 0},
        {"gray 4", PNG_COLOR_TYPE_GRAY, 4, 0, 0},
        {"gray 8", PNG_COLOR_TYPE_GRAY, 8, 0, 0},
        {"gray 16", PNG_COLOR_TYPE_GRAY, 16, 0, 0},
        {"gray 2 + tRNS", PNG_COLOR_TYPE_GRAY, 2, 1, 0},
        {"gray 8 + tRNS", PNG_COLOR_TYPE_GRAY, 8, 1, 0},
        {"gray+alpha 8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0},
        {"gray+alpha 16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, 0},
        {"RGB 8", PNG_COLOR_TYPE_RGB, 8, 0, 0},
        {"RGB 16", PNG_COLOR_TYPE_RGB, 16, 0, 0},
        {"RGB 8 + tRNS", PNG_COLOR_TYPE_RGB, 8, 1, 0},
        {"RGBA 8", PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0},
        {"RGBA 16", PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0},
        {"palette 1", PNG_COLOR_TYPE_PALETTE, 1, 0, 0},
        {"palette 2", PNG_COLOR_TYPE_PALETTE, 2, 0, 0},
        {"palette 4", PNG_COLOR_TYPE_PALETTE, 4, 0, 0},
        {"palette 8", PNG_COLOR_TYPE_PALETTE, 8, 0, 0},
        {"palette 1 + tRNS", PNG_COLOR_TYPE_PALETTE, 1, 1, 0},
        {"palette 2 + tRNS", PNG_COLOR_TYPE_PALETTE, 2, 1, 0},
        {"palette 4 + tRNS", PNG_COLOR_TYPE_PALETTE, 4, 1, 0},
        {"palette 8 + tRNS", PNG_COLOR_TYPE_PALETTE, 8, 1, 0},
        {"RGB 8 Adam7", PNG_COLOR_TYPE_RGB, 8, 0, PNG_INTERLACE_ADAM7},
        {"RGBA 16 Adam7", PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, PNG_INTERLACE_ADAM7},
        {"gray 4 + tRNS Adam7", PNG_COLOR_TYPE_GRAY, 4, 1, PNG_INTERLACE_ADAM7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_png t = make_case(cases[i].color_type, cases[i].bit_depth, cases[i].trns,
                               cases[i].interlace);
        check_case(cases[i].label, &t);
    }
}

/* ---- resizing: tf.image.resize, bilinear, half-pixel centers ---- */

static void test_resize(void)
{
    /* 2x2 -> 4x4: output 0..3 sample input -0.25, 0.25, 0.75, 1.25, i.e.
     * edge, 3:1, 1:3, edge; 58.75 rounds to 59, 126.25 to 126. */
    test_png up = {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .width = 2, .height = 2,
                   .samples = {0, 100, 200, 40}};
    write_png(tmp_path("up.png"), &up);
    const uint8_t up_want[16] = {0, 25, 75, 100, 50, 59, 76, 85, 150, 126, 79, 55,
                                 200, 160, 80, 40};
    uint8_t got[64];
    dl_err err;
    int rc = ds_load_image(tmp_path("up.png"), 1, 4, 4, got, &err);
    CHECK(rc == DL_OK && !memcmp(got, up_want, sizeof up_want), "2x2 -> 4x4: %s",
          rc ? err.msg : "wrong pixels");

    /* 4x4 -> 2x2: outputs sample 0.5 and 2.5, the mean of each 2x2 block;
     * 25.25 -> 25, 127.5 -> 128, 2.75 -> 3, 100.25 -> 100. */
    test_png down = {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .width = 4, .height = 4,
                     .samples = {10, 20, 0, 255, 30, 41, 255, 0, 1, 2, 100, 100, 3, 5, 100, 101}};
    write_png(tmp_path("down.png"), &down);
    const uint8_t down_want[4] = {25, 128, 3, 100};
    rc = ds_load_image(tmp_path("down.png"), 1, 2, 2, got, &err);
    CHECK(rc == DL_OK && !memcmp(got, down_want, sizeof down_want), "4x4 -> 2x2: %s",
          rc ? err.msg : "wrong pixels");

    /* channels stay apart: RGB 1x2 -> 1x4 (and the single row repeats) */
    test_png wide = {.color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .width = 2, .height = 1,
                     .samples = {0, 100, 200, 200, 0, 100}};
    write_png(tmp_path("wide.png"), &wide);
    const uint8_t wide_want[24] = {0, 100, 200, 50, 75, 175, 150, 25, 125, 200, 0, 100,
                                   0, 100, 200, 50, 75, 175, 150, 25, 125, 200, 0, 100};
    rc = ds_load_image(tmp_path("wide.png"), 3, 2, 4, got, &err);
    CHECK(rc == DL_OK && !memcmp(got, wide_want, sizeof wide_want), "RGB 1x2 -> 2x4: %s",
          rc ? err.msg : "wrong pixels");

    rc = ds_load_image(tmp_path("up.png"), 5, 4, 4, got, &err);
    CHECK_FAILS(rc, err, DL_EXIT_USAGE, "up.png", "5 channels");
    rc = ds_load_image(tmp_path("up.png"), 1, 0, 4, got, &err);
    CHECK_FAILS(rc, err, DL_EXIT_USAGE, "up.png", "sides 1..16384");
}

/* ---- broken files ---- */

static void test_broken_files(void)
{
    uint8_t out[64];
    dl_err err;
    unsigned char png[1024], buf[1024];
    write_flat("good.png", 4, 4, 77);
    size_t len = read_raw(tmp_path("good.png"), png, sizeof png);
    CHECK(len > 57 && len < sizeof png, "good.png is %zu bytes", len);

    int rc = ds_load_image(tmp_path("missing.png"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "missing.png", "cannot open");
    write_raw(tmp_path("cut.png"), png, len - 20);
    rc = ds_load_image(tmp_path("cut.png"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "cut.png", "corrupt or unsupported PNG");
    write_raw(tmp_path("head.png"), png, 10);
    rc = ds_load_image(tmp_path("head.png"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "head.png", "corrupt or unsupported PNG");
    write_raw(tmp_path("empty.png"), "", 0);
    rc = ds_load_image(tmp_path("empty.png"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "empty.png", "not a PNG image");
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)rng(256);
    write_raw(tmp_path("garbage.png"), buf, sizeof buf);
    rc = ds_load_image(tmp_path("garbage.png"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "garbage.png", "not a PNG image");
    memcpy(buf, png, 8); /* a PNG signature, then garbage */
    write_raw(tmp_path("sig_garbage.png"), buf, sizeof buf);
    rc = ds_load_image(tmp_path("sig_garbage.png"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "sig_garbage.png", "corrupt or unsupported PNG");

    memcpy(buf, png, len);
    buf[len - 16] ^= 0x55; /* in IDAT's CRC, just before the 12-byte IEND chunk */
    write_raw(tmp_path("crc.png"), buf, len);
    rc = ds_load_image(tmp_path("crc.png"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "crc.png", "CRC error");

    const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0};
    write_raw(tmp_path("photo.jpg"), jpeg, sizeof jpeg);
    rc = ds_load_image(tmp_path("photo.jpg"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "photo.jpg", "a JPEG image; dltrain reads PNG images only");
    write_raw(tmp_path("anim.gif"), "GIF89a\1\0\1\0", 10);
    rc = ds_load_image(tmp_path("anim.gif"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "anim.gif", "a GIF image");

    /* IHDR patched to 100000x1 with a valid CRC: refused before decoding */
    memcpy(buf, png, len);
    const unsigned char wide[8] = {0, 0x01, 0x86, 0xA0, 0, 0, 0, 1};
    memcpy(buf + 16, wide, sizeof wide);
    uLong crc = crc32(0, buf + 12, 17);
    for (int b = 0; b < 4; b++)
        buf[29 + b] = (unsigned char)(crc >> (24 - 8 * b));
    write_raw(tmp_path("huge.png"), buf, len);
    rc = ds_load_image(tmp_path("huge.png"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "huge.png", "100000x1 pixels; at most 16384");
    const unsigned char tall[8] = {0, 0, 0, 1, 0, 0, 0x40, 0x01};
    memcpy(buf + 16, tall, sizeof tall);
    crc = crc32(0, buf + 12, 17);
    for (int b = 0; b < 4; b++)
        buf[29 + b] = (unsigned char)(crc >> (24 - 8 * b));
    write_raw(tmp_path("tall.png"), buf, len);
    rc = ds_load_image(tmp_path("tall.png"), 1, 4, 4, out, &err);
    CHECK_FAILS(rc, err, DL_EXIT_FAIL, "tall.png", "1x16385 pixels");
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_color_types();
    test_resize();
    test_broken_files();
    remove_tmp_dir();
    return check_report("images");
}
