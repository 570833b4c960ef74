/* safetensors.h: model files (formats.md §1). The writer produces files
 * byte-identical to the reference library's layout and writes atomically
 * (temp file, fsync, rename, fsync of the directory); the loader applies
 * every safe-loader rule before anything is read. */
#ifndef ST_SAFETENSORS_H
#define ST_SAFETENSORS_H

#include "engine/backend/common.h"

enum { ST_F32, ST_I64, ST_U8, ST_F16, ST_BF16, ST_F64, ST_OTHER };

#define ST_MAX_DIMS 8

/* A tensor to write: data holds prod(shape) elements of dtype. */
typedef struct st_out {
    const char *name;       /* plain ASCII, no '"', '\\' or control bytes */
    int dtype;              /* ST_F32, ST_I64 or ST_U8 */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
} st_out;

/* Writes path atomically; metadata is a list of string pairs
 * ("format": "pt" is always written first). */
int st_save(const char *path, const char *const *meta_keys, const char *const *meta_values,
            int nmeta, const st_out *tensors, int ntensors, dl_err *err);

/* A tensor in a loaded file. */
typedef struct st_tensor {
    char *name;
    int dtype;              /* ST_* (ST_OTHER: a valid dtype we cannot convert) */
    const char *dtype_name; /* as written in the header */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t begin, end;      /* byte offsets into the data buffer */
} st_tensor;

typedef struct st_file {
    char *path;
    uint8_t *buf;           /* the whole file */
    size_t len;
    size_t data_start;      /* 8 + N */
    st_tensor *tensors;
    int ntensors;
    char **meta_keys, **meta_values;
    int nmeta;
} st_file;

/* Reads and validates a file (every rule of formats.md §1.5); errors name
 * the file and the byte offset or key at fault, exit code 1. */
int st_open(const char *path, st_file *f, dl_err *err);
/* The same on a buffer already in memory (takes ownership of buf). */
int st_parse(uint8_t *buf, size_t len, const char *name, st_file *f, dl_err *err);
void st_close(st_file *f);

const char *st_meta(const st_file *f, const char *key);
const st_tensor *st_find(const st_file *f, const char *name);
/* Copies a tensor into out[n] as float32 (F32 as is; F16, BF16, F64
 * converted); n must equal its element count. */
int st_read_f32(const st_file *f, const st_tensor *t, float *out, size_t n, dl_err *err);
/* Copies an I64 / U8 tensor's raw little-endian bytes into out[nbytes]. */
int st_read_raw(const st_file *f, const st_tensor *t, void *out, size_t nbytes, dl_err *err);

#endif
