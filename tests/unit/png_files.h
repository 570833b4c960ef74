/* png_files.h: what the image tests share (header-only): a temporary
 * directory, raw files, and PNG files of any colour type, bit depth and
 * interlace written with libpng from the samples as the file stores them. */
#ifndef DL_TEST_PNG_FILES_H
#define DL_TEST_PNG_FILES_H

#include "datasets/dataset.h"
#include "tests/unit/check.h"

#include <ftw.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHECK_FAILS(rc, err, code, part1, part2)                                 \
    CHECK((rc) == DL_ERR && (err).exit_code == (code) &&                         \
              strstr((err).msg, (part1)) && strstr((err).msg, (part2)),          \
          "rc %d, exit %d, message \"%s\"", (rc), (err).exit_code, (err).msg)

static char tmp_dir[] = "/tmp/dltrain_test_images_XXXXXX"; /* mkdtemp fills it in */

/* "<tmp_dir>/<name>"; four rotating buffers, so one call may use a few. */
static const char *tmp_path(const char *name)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", tmp_dir, name);
    return p;
}

/* ---- writing PNG files ---- */

#define MAX_SAMPLES 256

/* An image as stored in the file, before any transform. */
typedef struct test_png {
    int color_type, bit_depth, interlace, width, height;
    uint16_t samples[MAX_SAMPLES]; /* per pixel, the file's channels (palette: the index) */
    png_color palette[256];
    int npalette;
    png_byte trans_alpha[256];     /* palette tRNS: alpha of the first ntrans entries */
    int ntrans;
    int has_trns_color;            /* gray or RGB tRNS: trans_color is transparent */
    png_color_16 trans_color;
} test_png;

static int file_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

/* Packs row y as the file stores it: sub-byte samples leftmost in the high
 * bits, 16-bit samples big-endian. */
static void pack_row(const test_png *t, int y, png_bytep row, size_t row_bytes)
{
    int per_row = t->width * file_channels(t->color_type);
    const uint16_t *s = t->samples + (size_t)y * (size_t)per_row;
    memset(row, 0, row_bytes);
    for (int i = 0, bit = 0; i < per_row; i++, bit += t->bit_depth) {
        if (t->bit_depth == 16) {
            row[2 * i] = (png_byte)(s[i] >> 8);
            row[2 * i + 1] = (png_byte)s[i];
        } else {
            row[bit / 8] |= (png_byte)(s[i] << (8 - t->bit_depth - bit % 8));
        }
    }
}

static int png_write_all(png_structp png, png_infop info, FILE *f, const test_png *t,
                         png_bytepp rows)
{
    if (setjmp(png_jmpbuf(png)))
        return 0;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)t->width, (png_uint_32)t->height, t->bit_depth,
                 t->color_type, t->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (t->npalette)
        png_set_PLTE(png, info, t->palette, t->npalette);
    if (t->ntrans || t->has_trns_color)
        png_set_tRNS(png, info, t->trans_alpha, t->ntrans, &t->trans_color);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    return 1;
}

static void write_png(const char *path, const test_png *t)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    size_t row_bytes = ((size_t)t->width * (size_t)file_channels(t->color_type) *
                            (size_t)t->bit_depth + 7) / 8;
    png_bytep pixels = malloc(row_bytes * (size_t)t->height);
    png_bytepp rows = malloc((size_t)t->height * sizeof *rows);
    int ok = f && info && pixels && rows;
    for (int y = 0; ok && y < t->height; y++) {
        rows[y] = pixels + (size_t)y * row_bytes;
        pack_row(t, y, rows[y], row_bytes);
    }
    ok = ok && png_write_all(png, info, f, t, rows);
    ok = f && fclose(f) == 0 && ok;
    CHECK(ok, "cannot write %s", path);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(pixels);
}

static void write_raw(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(bytes, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    CHECK(ok, "cannot write %s", path);
}

static size_t read_raw(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(buf, 1, cap, f) : 0;
    if (f)
        fclose(f);
    return len;
}

/* An 8-bit gray image of one value, for the directory tests. */
static void write_flat(const char *name, int height, int width, int value)
{
    test_png t = {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .width = width,
                  .height = height};
    for (int i = 0; i < width * height; i++)
        t.samples[i] = (uint16_t)value;
    write_png(tmp_path(name), &t);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Removes tmp_dir and everything under it (links themselves, not targets). */
static void remove_tmp_dir(void)
{
    CHECK(nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0, "remove %s", tmp_dir);
}

#endif
