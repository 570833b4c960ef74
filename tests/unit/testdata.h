/* testdata.h: reading the Keras reference data (the JSON files of
 * tests/data/keras, layout in its README.md) from a unit test. Header-only;
 * the test links cJSON.
 *
 *     cJSON *root = td_load("dense.json");
 *     const cJSON *c = td_case(root, "relu");
 *     td_tensor x, y;
 *     if (td_tensor_read(td_get(c, "inputs.x"), &x) == 0) { ... x.data[i] ... }
 *     td_tensor_free(&x);
 *     cJSON_Delete(root);
 *
 * Tensors ({"dtype", "shape", "data"}) become malloc'd float arrays; int32
 * class labels become floats too (the backend's class-id convention). The
 * float32 values are reproduced bit-exactly (README §1). CHECK_TENSOR
 * compares a result with a reference tensor as one check. */
#ifndef TD_TESTDATA_H
#define TD_TESTDATA_H

#include "tests/unit/check.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TD_DIR "tests/data/keras"
#define TD_MAX_DIMS 8

typedef struct td_tensor {
    float *data;            /* [size], row-major */
    int ndim;               /* 0 for a scalar */
    int shape[TD_MAX_DIMS];
    size_t size;
} td_tensor;

/* Parses TD_DIR/<file>. The data ships with the repository, so a missing
 * or broken file ends the test program (exit 1) with a message. */
static inline cJSON *td_load(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", TD_DIR, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open (run the tests from the repository root)\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(1);
    }
    fclose(f);
    text[len] = '\0';
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) {
        fprintf(stderr, "%s: not valid JSON\n", path);
        exit(1);
    }
    return root;
}

/* The case named `name` of the file's "cases" array; NULL if absent. */
static inline const cJSON *td_case(const cJSON *root, const char *name)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
            return c;
    }
    return NULL;
}

/* Follows a dotted path of object keys ("outputs.dy_pred",
 * "slots.kernel.momentum"); NULL if a key is missing. Keys containing dots
 * need cJSON_GetObjectItemCaseSensitive directly. */
static inline const cJSON *td_get(const cJSON *obj, const char *path)
{
    char key[128];
    while (obj && *path) {
        size_t len = strcspn(path, ".");
        if (len >= sizeof key)
            return NULL;
        memcpy(key, path, len);
        key[len] = '\0';
        obj = cJSON_GetObjectItemCaseSensitive(obj, key);
        path += len + (path[len] == '.');
    }
    return obj;
}

/* A number at a dotted path; NAN when missing, null or not a number. */
static inline double td_number(const cJSON *obj, const char *path)
{
    const cJSON *v = td_get(obj, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Copies a tensor object into t (t->data malloc'd). Returns 0, or -1 with
 * a message when obj is missing or malformed (t is then empty). */
static inline int td_tensor_read(const cJSON *obj, td_tensor *t)
{
    memset(t, 0, sizeof *t);
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(obj, "shape");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
    if (!cJSON_IsArray(shape) || !cJSON_IsArray(data) ||
        cJSON_GetArraySize(shape) > TD_MAX_DIMS) {
        fprintf(stderr, "testdata: not a tensor object\n");
        return -1;
    }
    size_t size = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        t->shape[t->ndim++] = d->valueint;
        size *= (size_t)d->valueint;
    }
    if ((size_t)cJSON_GetArraySize(data) != size) {
        fprintf(stderr, "testdata: %d values for a shape of %zu\n", cJSON_GetArraySize(data),
                size);
        memset(t, 0, sizeof *t);
        return -1;
    }
    t->data = malloc((size ? size : 1) * sizeof(float));
    if (!t->data) {
        fprintf(stderr, "testdata: out of memory\n");
        exit(1);
    }
    t->size = 0;
    cJSON_ArrayForEach(d, data)
        t->data[t->size++] = (float)d->valuedouble;
    return 0;
}

static inline void td_tensor_free(td_tensor *t)
{
    free(t->data);
    memset(t, 0, sizeof *t);
}

/* Number of elements with |got - want| > atol + rtol |want| (the README's
 * tolerance rule); *first receives the index of the first one. */
static inline size_t td_mismatches(const float *got, const float *want, size_t n,
                                   double rtol, double atol, size_t *first)
{
    size_t bad = 0;
    *first = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - (double)want[i]);
        if (!(diff <= atol + rtol * fabs((double)want[i])) && bad++ == 0)
            *first = i;
    }
    return bad;
}

/* One check: got [n] within (rtol, atol) of want [n] elementwise; on
 * failure prints how many differ and the first of them. */
#define CHECK_TENSOR(got, want, n, rtol, atol, ...)                                             \
    do {                                                                                       \
        size_t td_first_, td_bad_ = td_mismatches(got, want, n, rtol, atol, &td_first_);       \
        CHECK(td_bad_ == 0, __VA_ARGS__);                                                      \
        if (td_bad_)                                                                           \
            fprintf(stderr, "  %zu of %zu differ; [%zu]: got %.9g, want %.9g\n", td_bad_,      \
                    (size_t)(n), td_first_, (double)(got)[td_first_],                          \
                    (double)(want)[td_first_]);                                                \
    } while (0)

#endif
