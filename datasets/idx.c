/* idx.c: IDX images and labels (formats.md §3), raw or gzip alike: zlib's
 * gzread passes plain files through unchanged. The header is read and
 * validated before anything is allocated, then exactly the declared payload
 * is read; a short file, a cut-off gzip stream and trailing bytes are errors.
 * uint8 images stay uint8; every other element type becomes float. Labels
 * must be one byte each (uint8 or int8), so that a label's byte offset, which
 * error messages quote, follows from its index alone. */
#include "datasets/loaders.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAX_BYTES ((uint64_t)4 << 30) /* cap on payloads and buffers */
#define IDX_CHUNK (1u << 20)     /* gzread's length is an unsigned int */
#define IDX_GZ_BUFFER (1u << 17)
#define IDX_MAX_NDIM 255         /* the ndim byte */
#define IDX_UBYTE 0x08
#define IDX_BYTE 0x09

typedef struct idx_file {
    const char *path;
    gzFile gz;
    uint64_t offset;             /* decompressed bytes read so far */
    uint64_t expected;           /* file size the header declares (so far) */
    int type;                    /* element type byte */
    int elem_bytes;
    int ndim;
    uint32_t dim[IDX_MAX_NDIM];
    uint64_t count;              /* product of dims */
} idx_file;

static int idx_elem_bytes(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

static uint32_t idx_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One big-endian element of the given type as a double. */
static double idx_element(const unsigned char *p, int type)
{
    switch (type) {
    case 0x08: return p[0];
    case 0x09: return (int8_t)p[0];
    case 0x0B: return (int16_t)(uint16_t)(p[0] << 8 | p[1]);
    case 0x0C: return (int32_t)idx_be32(p);
    case 0x0D: {
        uint32_t bits = idx_be32(p);
        float v;
        memcpy(&v, &bits, sizeof v);
        return v;
    }
    default: {
        uint64_t bits = (uint64_t)idx_be32(p) << 32 | idx_be32(p + 4);
        double v;
        memcpy(&v, &bits, sizeof v);
        return v;
    }
    }
}

static int idx_stream_error(idx_file *f, dl_err *err)
{
    int zerr;
    const char *zmsg = gzerror(f->gz, &zerr);
    return dl_fail(err, DL_EXIT_FAIL, "%s: cannot read at byte %llu: %s", f->path,
                   (unsigned long long)f->offset, zerr == Z_ERRNO ? strerror(errno) : zmsg);
}

/* Reads exactly n bytes (in chunks) or reports where the data ran out. */
static int idx_read(idx_file *f, unsigned char *buf, size_t n, dl_err *err)
{
    size_t got = 0;
    while (got < n) {
        unsigned want = n - got > IDX_CHUNK ? IDX_CHUNK : (unsigned)(n - got);
        int r = gzread(f->gz, buf + got, want);
        if (r < 0)
            return idx_stream_error(f, err);
        got += (size_t)r;
        f->offset += (uint64_t)r;
        if ((unsigned)r < want)
            break;
    }
    if (got == n)
        return DL_OK;
    if (f->offset == 0)
        return dl_fail(err, DL_EXIT_FAIL, "%s: empty file, expected an IDX header", f->path);
    int zerr;
    gzerror(f->gz, &zerr);
    return dl_fail(err, DL_EXIT_FAIL,
                   "%s: %s: data ends at byte %llu, the header declares %llu bytes", f->path,
                   zerr == Z_BUF_ERROR ? "gzip stream cut off" : "truncated",
                   (unsigned long long)f->offset, (unsigned long long)f->expected);
}

static void idx_close(idx_file *f)
{
    if (f->gz)
        (void)gzclose(f->gz); /* only on error paths: the first error is the one reported */
    f->gz = NULL;
}

/* Opens path and reads and validates the magic and dimensions. */
static int idx_open(const char *path, idx_file *f, dl_err *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    if (gzbuffer(f->gz, IDX_GZ_BUFFER) != 0)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot set up the zlib buffer", path);

    unsigned char magic[4];
    f->expected = sizeof magic;
    if (idx_read(f, magic, sizeof magic, err))
        return DL_ERR;
    if (magic[0] || magic[1])
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: not an IDX file: magic bytes %02x %02x %02x %02x, "
                       "expected 00 00 <type> <ndim>",
                       path, magic[0], magic[1], magic[2], magic[3]);
    f->type = magic[2];
    f->elem_bytes = idx_elem_bytes(f->type);
    if (!f->elem_bytes)
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: byte 2: unknown IDX element type 0x%02x "
                       "(known: 08, 09, 0B, 0C, 0D, 0E)",
                       path, f->type);
    f->ndim = magic[3];
    if (f->ndim == 0)
        return dl_fail(err, DL_EXIT_FAIL, "%s: byte 3: the IDX header declares 0 dimensions", path);

    unsigned char dims[4 * IDX_MAX_NDIM];
    f->expected += 4 * (uint64_t)f->ndim;
    if (idx_read(f, dims, 4 * (size_t)f->ndim, err))
        return DL_ERR;
    f->count = 1;
    for (int i = 0; i < f->ndim; i++) {
        f->dim[i] = idx_be32(dims + 4 * i);
        if (f->dim[i] == 0)
            return dl_fail(err, DL_EXIT_FAIL, "%s: byte %d: dimension %d is 0", path, 4 + 4 * i, i);
        if (f->count > IDX_MAX_BYTES / f->dim[i])
            return dl_fail(err, DL_EXIT_FAIL, "%s: the header declares more than %llu elements",
                           path, (unsigned long long)IDX_MAX_BYTES);
        f->count *= f->dim[i];
    }
    if (f->count * (uint64_t)f->elem_bytes > IDX_MAX_BYTES)
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: the header declares %llu bytes of data, more than the %llu-byte limit",
                       path, (unsigned long long)(f->count * (uint64_t)f->elem_bytes),
                       (unsigned long long)IDX_MAX_BYTES);
    f->expected += f->count * (uint64_t)f->elem_bytes;
    return DL_OK;
}

/* Makes *buf hold at least `need` elements of `elem` bytes, growing it
 * geometrically: buffers follow the data actually read, so a short file
 * whose header declares gigabytes never allocates them. */
static int idx_reserve(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return DL_OK;
    size_t grown = *cap ? *cap : IDX_CHUNK;
    while (grown < need)
        grown *= 2;
    void *p = realloc(*buf, grown * elem);
    if (!p)
        return DL_ERR;
    *buf = p;
    *cap = grown;
    return DL_OK;
}

/* Reads the payload converted to float: out [count]. */
static int idx_read_floats(idx_file *f, float **out, dl_err *err)
{
    if (f->count * sizeof(float) > IDX_MAX_BYTES)
        return dl_fail(err, DL_EXIT_FAIL, "%s: %llu elements as float exceed the %llu-byte limit",
                       f->path, (unsigned long long)f->count, (unsigned long long)IDX_MAX_BYTES);
    float *values = NULL;                                       /* [count] */
    size_t cap = 0;
    unsigned char *chunk = malloc(IDX_CHUNK);                   /* [IDX_CHUNK] */
    if (!chunk)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", f->path);
    size_t per_chunk = IDX_CHUNK / (size_t)f->elem_bytes;
    for (size_t done = 0; done < f->count;) {
        size_t n = f->count - done < per_chunk ? (size_t)(f->count - done) : per_chunk;
        uint64_t chunk_offset = f->offset;
        if (idx_read(f, chunk, n * (size_t)f->elem_bytes, err))
            goto fail;
        if (idx_reserve((void **)&values, &cap, done + n, sizeof *values)) {
            dl_fail(err, DL_EXIT_FAIL, "%s: out of memory for %zu elements", f->path, done + n);
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            float v = (float)idx_element(chunk + i * (size_t)f->elem_bytes, f->type);
            if (!isfinite(v)) {
                dl_fail(err, DL_EXIT_FAIL,
                        "%s: byte %llu: element %zu is not a finite float32 number",
                        f->path, (unsigned long long)(chunk_offset + i * (uint64_t)f->elem_bytes),
                        done + i);
                goto fail;
            }
            values[done + i] = v;
        }
        done += n;
    }
    free(chunk);
    *out = values;
    return DL_OK;
fail:
    free(chunk);
    free(values);
    return DL_ERR;
}

/* After the payload: no trailing bytes, an intact gzip trailer, a clean close. */
static int idx_finish(idx_file *f, dl_err *err)
{
    unsigned char extra;
    int r = gzread(f->gz, &extra, 1);
    if (r < 0)
        return idx_stream_error(f, err);
    if (r > 0)
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: unexpected trailing data at byte %llu (the header declares %llu bytes)",
                       f->path, (unsigned long long)f->offset, (unsigned long long)f->expected);
    int zerr;
    gzerror(f->gz, &zerr);
    int rc = gzclose(f->gz);
    f->gz = NULL;
    if (zerr == Z_BUF_ERROR || rc == Z_BUF_ERROR)
        return dl_fail(err, DL_EXIT_FAIL,
                       "%s: gzip stream cut off after byte %llu (incomplete gzip trailer)",
                       f->path, (unsigned long long)f->offset);
    if (rc != Z_OK)
        return dl_fail(err, DL_EXIT_FAIL, "%s: error closing the file: %s", f->path,
                       rc == Z_ERRNO ? strerror(errno) : "zlib error");
    return DL_OK;
}

static int idx_load_images(const char *path, ds_dataset *d, dl_err *err)
{
    idx_file f;
    if (idx_open(path, &f, err))
        goto fail;
    if (f.ndim - 1 > DL_MAX_DIMS) {
        dl_fail(err, DL_EXIT_FAIL, "%s: %d dimensions per sample, at most %d are supported", path,
                f.ndim - 1, DL_MAX_DIMS);
        goto fail;
    }
    d->n = f.dim[0];
    d->sample_shape.ndim = f.ndim > 1 ? f.ndim - 1 : 1;
    d->sample_shape.dim[0] = 1; /* a one-dimensional file holds one number per sample */
    for (int i = 1; i < f.ndim; i++) {
        if (f.dim[i] > INT_MAX) {
            dl_fail(err, DL_EXIT_FAIL, "%s: byte %d: dimension %d is too large (%u)", path,
                    4 + 4 * i, i, f.dim[i]);
            goto fail;
        }
        d->sample_shape.dim[i - 1] = (int)f.dim[i];
    }
    d->sample_size = (size_t)(f.count / f.dim[0]);
    if (f.type == IDX_UBYTE) {
        size_t cap = 0; /* d->u8: [n, sample_size], grown as chunks arrive */
        for (size_t done = 0; done < f.count;) {
            size_t n = f.count - done < IDX_CHUNK ? (size_t)(f.count - done) : IDX_CHUNK;
            if (idx_reserve((void **)&d->u8, &cap, done + n, 1)) {
                dl_fail(err, DL_EXIT_FAIL, "%s: out of memory for %zu bytes", path, done + n);
                goto fail;
            }
            if (idx_read(&f, d->u8 + done, n, err))
                goto fail;
            done += n;
        }
    } else if (idx_read_floats(&f, &d->f32, err)) {
        goto fail;
    }
    if (idx_finish(&f, err))
        goto fail;
    return DL_OK;
fail:
    idx_close(&f);
    return DL_ERR;
}

static int idx_load_labels(const char *path, const char *images, ds_dataset *d, dl_err *err)
{
    idx_file f;
    if (idx_open(path, &f, err))
        goto fail;
    if (f.ndim != 1) {
        dl_fail(err, DL_EXIT_FAIL,
                "%s: labels must have 1 dimension [count], the header declares %d", path, f.ndim);
        goto fail;
    }
    if (f.type != IDX_UBYTE && f.type != IDX_BYTE) {
        dl_fail(err, DL_EXIT_FAIL,
                "%s: byte 2: labels must be bytes (IDX type 08 or 09), got type 0x%02x",
                path, f.type);
        goto fail;
    }
    if (f.count != d->n) {
        dl_fail(err, DL_EXIT_FAIL, "%s has %llu labels but %s has %zu images", path,
                (unsigned long long)f.count, images, d->n);
        goto fail;
    }
    if (idx_read_floats(&f, &d->labels, err) || idx_finish(&f, err))
        goto fail;
    return DL_OK;
fail:
    idx_close(&f);
    return DL_ERR;
}

int ds_idx_load(const ds_idx_args *args, int flags, ds_dataset *d, dl_err *err)
{
    if (!args->labels && flags == DS_NEED_LABELS)
        return dl_fail(err, DL_EXIT_USAGE,
                       "%s: no labels file given (format idx needs `labels:` to train or evaluate)",
                       args->images);
    d->source = strdup(args->images);
    d->label_source = args->labels ? strdup(args->labels) : NULL;
    if (!d->source || (args->labels && !d->label_source))
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", args->images);
    if (idx_load_images(args->images, d, err))
        return DL_ERR;
    if (args->labels && idx_load_labels(args->labels, args->images, d, err))
        return DL_ERR;
    ds_summarize_labels(d);
    return DL_OK;
}
