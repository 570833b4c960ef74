/* images_png.c: one PNG file as 8-bit pixels with the wanted channels
 * (formats.md §4.3: every colour type and bit depth, BT.601 gray, alpha
 * dropped without compositing, 16-bit samples cut to their high byte), then
 * resized like tf.image.resize.
 *
 * libpng reports errors by longjmp. Everything the error path frees lives in
 * an img_png_reader that the caller of the setjmp function owns, so no local
 * of that function is changed after setjmp and read after the jump. */
#include "datasets/dataset.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMG_PNG_SIGNATURE 8
#define IMG_PNG_HEAD 24   /* signature, then IHDR's length, type, width, height */

typedef struct img_png_reader {
    const char *path;
    FILE *file;
    png_structp png;
    png_infop info;
    uint8_t *pixels;           /* [height, width, channels] as decoded */
    png_bytep *rows;           /* [height] pointers into pixels */
    char libpng_message[256];  /* libpng's reason for the last error */
} img_png_reader;

static void img_png_on_error(png_structp png, png_const_charp message)
{
    img_png_reader *r = png_get_error_ptr(png);
    snprintf(r->libpng_message, sizeof r->libpng_message, "%s", message);
    png_longjmp(png, 1);
}

/* Warnings are about chunks libpng skips (an ancillary chunk with a bad CRC,
 * an odd colour profile); the pixels are unaffected, so they stay quiet. */
static void img_png_on_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

static uint32_t img_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The image formats Keras also takes, by their first bytes; NULL otherwise. */
static const char *img_other_format(const unsigned char *head, size_t len)
{
    if (len >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF)
        return "JPEG";
    if (len >= 4 && !memcmp(head, "GIF8", 4))
        return "GIF";
    if (len >= 2 && !memcmp(head, "BM", 2))
        return "BMP";
    return NULL;
}

/* Opens the file, checks the signature and the declared size (so that an
 * oversized image gets a plain message before libpng sees it) and sets up
 * libpng to read from just after the signature. */
static int img_png_open(img_png_reader *r, dl_err *err)
{
    errno = 0;
    r->file = fopen(r->path, "rb");
    if (!r->file)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot open: %s", r->path,
                       errno ? strerror(errno) : "out of memory");
    unsigned char head[IMG_PNG_HEAD];
    size_t got = fread(head, 1, sizeof head, r->file);
    if (ferror(r->file))
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot read: %s", r->path, strerror(errno));
    if (got < IMG_PNG_SIGNATURE || png_sig_cmp(head, 0, IMG_PNG_SIGNATURE)) {
        const char *other = img_other_format(head, got);
        if (other)
            return dl_fail(err, DL_EXIT_FAIL, "%s: a %s image; dltrain reads PNG images only",
                           r->path, other);
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: not a PNG image (no PNG signature); dltrain reads PNG images only",
                       r->path);
    }
    if (got == sizeof head && !memcmp(head + 12, "IHDR", 4)) {
        uint32_t width = img_be32(head + 16), height = img_be32(head + 20);
        if (width > DS_IMAGE_MAX_SIDE || height > DS_IMAGE_MAX_SIDE)
            return dl_fail(err, DL_EXIT_FAIL,
                           "%s: the PNG is %ux%u pixels; at most %d pixels a side are supported",
                           r->path, width, height, DS_IMAGE_MAX_SIDE);
    }
    if (fseek(r->file, IMG_PNG_SIGNATURE, SEEK_SET) != 0)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot seek: %s", r->path, strerror(errno));
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r, img_png_on_error,
                                    img_png_on_warning);
    r->info = r->png ? png_create_info_struct(r->png) : NULL;
    if (!r->info)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory for the PNG decoder", r->path);
    return DL_OK;
}

/* formats.md §4.3: libpng's transforms from any colour type and bit depth
 * to 8 bits with `channels` samples per pixel. */
static void img_png_transforms(png_structp png, png_infop info, int color_type, int bit_depth,
                               int channels)
{
    int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    int is_color = (color_type & PNG_COLOR_MASK_COLOR) != 0;
    int has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 || has_trns;
    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (has_trns)
        png_set_tRNS_to_alpha(png);
    if (bit_depth == 16)
        png_set_strip_16(png);
    if (channels <= 2 && is_color)
        png_set_rgb_to_gray_fixed(png, 1, 29900, 58700); /* BT.601, as Keras */
    if (channels >= 3 && !is_color)
        png_set_gray_to_rgb(png);
    if ((channels == 1 || channels == 3) && has_alpha)
        png_set_strip_alpha(png);
    if ((channels == 2 || channels == 4) && !has_alpha)
        png_set_add_alpha(png, 0xFF, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
}

/* Decodes the whole image into r->pixels [*height, *width, channels]. */
static int img_png_decode(img_png_reader *r, int channels, int *height, int *width, dl_err *err)
{
    if (setjmp(png_jmpbuf(r->png)))
        return dl_fail(err, DL_EXIT_FAIL, "%s: corrupt or unsupported PNG: %s", r->path,
                       r->libpng_message);
    png_init_io(r->png, r->file);
    png_set_sig_bytes(r->png, IMG_PNG_SIGNATURE);
    png_set_user_limits(r->png, DS_IMAGE_MAX_SIDE, DS_IMAGE_MAX_SIDE);
    png_read_info(r->png, r->info);
    png_uint_32 w, h;
    int bit_depth, color_type;
    png_get_IHDR(r->png, r->info, &w, &h, &bit_depth, &color_type, NULL, NULL, NULL);
    img_png_transforms(r->png, r->info, color_type, bit_depth, channels);
    png_read_update_info(r->png, r->info);

    size_t row_bytes = (size_t)w * (size_t)channels;
    if (png_get_bit_depth(r->png, r->info) != 8 || png_get_channels(r->png, r->info) != channels ||
        png_get_rowbytes(r->png, r->info) != row_bytes)
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: libpng cannot convert this PNG (colour type %d, %d bits) "
                       "to %d 8-bit channels", r->path, color_type, bit_depth, channels);
    if (row_bytes == 0 || h > SIZE_MAX / row_bytes)
        return dl_fail(err, DL_EXIT_FAIL, "%s: %ux%u pixels do not fit in memory", r->path,
                       (unsigned)w, (unsigned)h);
    r->pixels = malloc(row_bytes * h);
    r->rows = malloc(h * sizeof *r->rows);
    if (!r->pixels || !r->rows)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory for %ux%u pixels", r->path,
                       (unsigned)w, (unsigned)h);
    for (png_uint_32 y = 0; y < h; y++)
        r->rows[y] = r->pixels + y * row_bytes;
    png_read_image(r->png, r->rows);
    png_read_end(r->png, NULL);
    *height = (int)h;
    *width = (int)w;
    return DL_OK;
}

static void img_png_close(img_png_reader *r)
{
    if (r->png)
        png_destroy_read_struct(&r->png, r->info ? &r->info : NULL, NULL);
    if (r->file)
        fclose(r->file); /* read-only: nothing to lose */
    free(r->rows);
    free(r->pixels);
}

/* One output coordinate's two input neighbours and the weight of the upper. */
typedef struct img_lerp {
    int lower, upper;
    float frac;
} img_lerp;

/* tf.image.resize's bilinear weights (half-pixel centers, no antialias):
 * output index i samples input coordinate (i + 0.5) * in / out - 0.5,
 * clamped to the edges; computed in float as TensorFlow does. */
static void img_lerp_weights(int in_size, int out_size, img_lerp *w)
{
    float scale = (float)in_size / (float)out_size;
    for (int i = 0; i < out_size; i++) {
        float in = ((float)i + 0.5f) * scale - 0.5f;
        float in_floor = floorf(in), in_ceil = ceilf(in);
        w[i].lower = in_floor > 0 ? (int)in_floor : 0;
        w[i].upper = in_ceil < (float)(in_size - 1) ? (int)in_ceil : in_size - 1;
        w[i].frac = in - in_floor;
    }
}

/* Bilinear resize of src [src_h, src_w, channels] into dst [dst_h, dst_w,
 * channels]. Keras keeps the float result; it is rounded to the nearest
 * uint8 here, so values differ from Keras's by at most 0.5. */
static int img_resize(const uint8_t *src, int src_h, int src_w, int channels, uint8_t *dst,
                      int dst_h, int dst_w)
{
    img_lerp *ys = malloc(((size_t)dst_h + (size_t)dst_w) * sizeof *ys);
    if (!ys)
        return DL_ERR;
    img_lerp *xs = ys + dst_h;
    img_lerp_weights(src_h, dst_h, ys);
    img_lerp_weights(src_w, dst_w, xs);
    size_t src_row = (size_t)src_w * (size_t)channels;
    for (int y = 0; y < dst_h; y++) {
        const uint8_t *top = src + (size_t)ys[y].lower * src_row;
        const uint8_t *bottom = src + (size_t)ys[y].upper * src_row;
        for (int x = 0; x < dst_w; x++) {
            size_t left = (size_t)xs[x].lower * (size_t)channels;
            size_t right = (size_t)xs[x].upper * (size_t)channels;
            for (int c = 0; c < channels; c++) {
                float t = top[left + c] + (top[right + c] - top[left + c]) * xs[x].frac;
                float b = bottom[left + c] + (bottom[right + c] - bottom[left + c]) * xs[x].frac;
                *dst++ = (uint8_t)(t + (b - t) * ys[y].frac + 0.5f);
            }
        }
    }
    free(ys);
    return DL_OK;
}

int ds_load_image(const char *path, int channels, int height, int width, uint8_t *out,
                  dl_err *err)
{
    if (channels < 1 || channels > 4 || height < 1 || height > DS_IMAGE_MAX_SIDE || width < 1 ||
        width > DS_IMAGE_MAX_SIDE)
        return dl_fail(err, DL_EXIT_USAGE,
                       "%s: cannot read as %dx%d pixels of %d channels (sides 1..%d, "
                       "channels 1..4)", path, height, width, channels, DS_IMAGE_MAX_SIDE);
    img_png_reader reader = {.path = path};
    int src_h = 0, src_w = 0;
    int rc = img_png_open(&reader, err);
    if (rc == DL_OK)
        rc = img_png_decode(&reader, channels, &src_h, &src_w, err);
    if (rc == DL_OK && src_h == height && src_w == width)
        memcpy(out, reader.pixels, (size_t)height * (size_t)width * (size_t)channels);
    else if (rc == DL_OK && img_resize(reader.pixels, src_h, src_w, channels, out, height, width))
        rc = dl_fail(err, DL_EXIT_FAIL, "%s: out of memory resizing to %dx%d", path, height,
                     width);
    img_png_close(&reader);
    return rc;
}
