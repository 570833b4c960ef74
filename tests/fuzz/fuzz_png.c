/* fuzz_png.c: one PNG file through ds_load_image. The first three bytes
 * choose the channels (1..4) and the output height and width (1..64); the
 * rest is the file, whose chunk CRCs are recomputed so that mutated
 * headers reach the decoder instead of failing libpng's CRC check. */
#include "tests/fuzz/harness.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FUZZ_PARAMS 3
#define FUZZ_MAX_OUT 64
#define PNG_SIGNATURE 8

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Rewrites the CRC of every complete chunk after the signature. */
static void fix_crcs(uint8_t *png, size_t len)
{
    size_t at = PNG_SIGNATURE;
    while (at + 12 <= len) {
        uint32_t body = be32(png + at);
        if (body > len - at - 12)
            break;
        uLong crc = crc32(0L, png + at + 4, (uInt)(4 + body));
        uint8_t *out = png + at + 8 + body;
        for (int i = 0; i < 4; i++)
            out[i] = (uint8_t)(crc >> (24 - 8 * i));
        at += 12 + (size_t)body;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_PARAMS)
        return 0;
    int channels = 1 + data[0] % 4;
    int height = 1 + data[1] % FUZZ_MAX_OUT, width = 1 + data[2] % FUZZ_MAX_OUT;
    size_t len = size - FUZZ_PARAMS;
    uint8_t *png = malloc(len + 1);
    uint8_t *out = malloc((size_t)height * (size_t)width * (size_t)channels);
    if (!png || !out)
        abort();
    memcpy(png, data + FUZZ_PARAMS, len);
    fix_crcs(png, len);
    const char *path = fuzz_file(0, png, len);
    dl_err err;
    (void)ds_load_image(path, channels, height, width, out, &err);
    free(png);
    free(out);
    return 0;
}
