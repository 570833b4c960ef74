/* fuzz_safetensors.c: bytes as a model file: st_parse, then every tensor
 * read as float32 (and raw, for I64 and U8) and looked up by name. */
#include "tests/fuzz/harness.h"

#include "engine/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_tensor(const st_file *f, const st_tensor *t)
{
    uint64_t count = 1;
    for (int d = 0; d < t->ndim; d++)
        count *= (uint64_t)t->shape[d];
    int as_float = t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16 ||
                   t->dtype == ST_F64;
    int as_raw = t->dtype == ST_I64 || t->dtype == ST_U8;
    dl_err err;
    /* The loader checked that the tensor lies in the file, so these are small. */
    float *values = as_float ? malloc((size_t)count * sizeof *values + 1) : NULL;
    void *raw = as_raw ? malloc(t->end - t->begin + 1) : NULL;
    if ((as_float && !values) || (as_raw && !raw))
        abort();
    if (st_read_f32(f, t, values, (size_t)count, &err) != DL_OK && as_float) {
        fprintf(stderr, "tensor %s: %s\n", t->name, err.msg);
        abort();
    }
    if (as_raw && st_read_raw(f, t, raw, t->end - t->begin, &err) != DL_OK) {
        fprintf(stderr, "tensor %s: %s\n", t->name, err.msg);
        abort();
    }
    if (st_find(f, t->name) != t) {
        fprintf(stderr, "tensor %s: st_find finds another entry\n", t->name);
        abort();
    }
    free(values);
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);  /* st_parse takes it over */
    if (!buf)
        abort();
    memcpy(buf, data, size);
    st_file f;
    dl_err err;
    if (st_parse(buf, size, "fuzz.safetensors", &f, &err) != DL_OK)
        return 0;
    for (int i = 0; i < f.ntensors; i++)
        read_tensor(&f, &f.tensors[i]);
    (void)st_meta(&f, "format");
    st_close(&f);
    return 0;
}
