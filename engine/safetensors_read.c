/* safetensors_read.c: the safe loader (formats.md §1.5). Every rule is
 * checked, in the documented order, before anything can be read; errors
 * name the file and the byte offset or tensor at fault, exit code 1. */
#include "engine/safetensors.h"
#include "engine/safetensors_impl.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ST_MAX_HEADER ((uint64_t)16 << 20)  /* the reference allows 1e8; ours are small */
#define ST_MAX_FILE ((uint64_t)4 << 30)
#define ST_MAX_JSON_INT 9007199254740992.0  /* 2^53: the last exact double integer */
#define ST_NAME_SHOWN 128                   /* bytes of a name quoted in a message */

const st_dtype_info st_dtypes[] = {
    {"BOOL", 8, ST_OTHER},         {"F4", 4, ST_OTHER},          {"F6_E2M3", 6, ST_OTHER},
    {"F6_E3M2", 6, ST_OTHER},      {"U8", 8, ST_U8},             {"I8", 8, ST_OTHER},
    {"F8_E5M2", 8, ST_OTHER},      {"F8_E4M3", 8, ST_OTHER},     {"F8_E8M0", 8, ST_OTHER},
    {"F8_E4M3FNUZ", 8, ST_OTHER},  {"F8_E5M2FNUZ", 8, ST_OTHER}, {"I16", 16, ST_OTHER},
    {"U16", 16, ST_OTHER},         {"F16", 16, ST_F16},          {"BF16", 16, ST_BF16},
    {"I32", 32, ST_OTHER},         {"U32", 32, ST_OTHER},        {"F32", 32, ST_F32},
    {"C64", 64, ST_OTHER},         {"F64", 64, ST_F64},          {"I64", 64, ST_I64},
    {"U64", 64, ST_OTHER},
};
const int st_ndtypes = (int)(sizeof st_dtypes / sizeof st_dtypes[0]);

size_t st_utf8_valid_prefix(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint8_t second_lo = 0x80, second_hi = 0xBF; /* narrower after some leads */
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                second_lo = 0xA0;   /* overlong */
            if (c == 0xED)
                second_hi = 0x9F;   /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                second_lo = 0x90;   /* overlong */
            if (c == 0xF4)
                second_hi = 0x8F;   /* above U+10FFFF */
        } else {
            return i;
        }
        if (len > n - i || s[i + 1] < second_lo || s[i + 1] > second_hi)
            return i;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += len;
    }
    return n;
}

/* A name from the file made safe to print: control bytes become '?', a
 * long name is cut at a character boundary. */
static const char *st_printable(const char *s, char buf[ST_NAME_SHOWN])
{
    size_t n = 0;
    for (; s[n] && n + 1 < ST_NAME_SHOWN; n++)
        buf[n] = ((unsigned char)s[n] < 0x20 || s[n] == 0x7f) ? '?' : s[n];
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    buf[n] = '\0';
    return buf;
}

static int st_is_json_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const st_dtype_info *st_dtype_by_name(const char *name)
{
    for (int i = 0; i < st_ndtypes; i++)
        if (!strcmp(st_dtypes[i].name, name))
            return &st_dtypes[i];
    return NULL;
}

/* A header integer: 0 <= v <= 2^53 and integral, else -1. */
static int st_json_uint(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return -1;
    double v = item->valuedouble;
    if (!(v >= 0.0 && v <= ST_MAX_JSON_INT) || v != floor(v))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int st_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Rejects an object with a repeated key: cJSON keeps every copy and a
 * lookup would silently take the first. */
static int st_check_unique_keys(const st_file *f, const cJSON *obj, const char *where,
                                dl_err *err)
{
    int n = cJSON_GetArraySize(obj);
    if (n < 2)
        return DL_OK;
    const char **keys = malloc((size_t)n * sizeof *keys);
    if (!keys)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory reading the header", f->path);
    int k = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        keys[k++] = c->string;
    qsort(keys, (size_t)n, sizeof *keys, st_cmp_str);
    int rc = DL_OK;
    for (int i = 1; i < n && rc == DL_OK; i++) {
        if (!strcmp(keys[i - 1], keys[i])) {
            char shown[ST_NAME_SHOWN];
            rc = dl_fail(err, DL_EXIT_FAIL, "%s: duplicate key '%s' in %s", f->path,
                         st_printable(keys[i], shown), where);
        }
    }
    free(keys);
    return rc;
}

static int st_parse_metadata(st_file *f, const cJSON *meta, dl_err *err)
{
    if (!cJSON_IsObject(meta))
        return dl_fail(err, DL_EXIT_FAIL, "%s: __metadata__ is not an object", f->path);
    if (st_check_unique_keys(f, meta, "__metadata__", err) != DL_OK)
        return DL_ERR;
    int n = cJSON_GetArraySize(meta);
    f->meta_keys = calloc((size_t)n + 1, sizeof *f->meta_keys);
    f->meta_values = calloc((size_t)n + 1, sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory reading the header", f->path);
    for (const cJSON *c = meta->child; c; c = c->next) {
        char shown[ST_NAME_SHOWN];
        if (!cJSON_IsString(c))
            return dl_fail(err, DL_EXIT_FAIL, "%s: __metadata__ value '%s' is not a string",
                           f->path, st_printable(c->string, shown));
        f->meta_keys[f->nmeta] = strdup(c->string);
        f->meta_values[f->nmeta] = strdup(c->valuestring);
        f->nmeta++;
        if (!f->meta_keys[f->nmeta - 1] || !f->meta_values[f->nmeta - 1])
            return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory reading the header", f->path);
    }
    return DL_OK;
}

/* Reads a JSON array of at most max_n header integers into vals[max_n]. */
static int st_parse_ints(const st_file *f, const cJSON *arr, const char *member, int max_n,
                         uint64_t *vals, int *count, const char *tensor, dl_err *err)
{
    char shown[ST_NAME_SHOWN];
    if (!cJSON_IsArray(arr))
        return dl_fail(err, DL_EXIT_FAIL, "%s: %s is not an array (tensor '%s')", f->path,
                       member, st_printable(tensor, shown));
    int n = 0;
    for (const cJSON *c = arr->child; c; c = c->next, n++) {
        if (n == max_n)
            return dl_fail(err, DL_EXIT_FAIL, "%s: %s has more than %d entries (tensor '%s')",
                           f->path, member, max_n, st_printable(tensor, shown));
        if (st_json_uint(c, &vals[n]) != 0)
            return dl_fail(err, DL_EXIT_FAIL,
                           "%s: %s[%d] is not an integer between 0 and 2^53 (tensor '%s')",
                           f->path, member, n, st_printable(tensor, shown));
    }
    *count = n;
    return DL_OK;
}

static int st_parse_tensor(st_file *f, const cJSON *entry, st_tensor *t, dl_err *err)
{
    char shown[ST_NAME_SHOWN];
    const char *name = st_printable(entry->string, shown);
    t->name = strdup(entry->string);
    if (!t->name)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory reading the header", f->path);
    if (!cJSON_IsObject(entry))
        return dl_fail(err, DL_EXIT_FAIL, "%s: tensor entry is not an object (tensor '%s')",
                       f->path, name);
    static const char *const members[3] = {"dtype", "shape", "data_offsets"};
    const cJSON *found[3] = {NULL, NULL, NULL};
    for (const cJSON *c = entry->child; c; c = c->next) {
        int m = 0;
        while (m < 3 && strcmp(c->string, members[m]))
            m++;
        char member_shown[ST_NAME_SHOWN];
        if (m == 3)
            return dl_fail(err, DL_EXIT_FAIL, "%s: unknown member '%s' (tensor '%s')", f->path,
                           st_printable(c->string, member_shown), name);
        if (found[m])
            return dl_fail(err, DL_EXIT_FAIL, "%s: duplicate member '%s' (tensor '%s')",
                           f->path, members[m], name);
        found[m] = c;
    }
    for (int m = 0; m < 3; m++)
        if (!found[m])
            return dl_fail(err, DL_EXIT_FAIL, "%s: missing member '%s' (tensor '%s')", f->path,
                           members[m], name);

    const st_dtype_info *dt = cJSON_IsString(found[0]) ? st_dtype_by_name(found[0]->valuestring)
                                                       : NULL;
    if (!dt) {
        char dtype_shown[ST_NAME_SHOWN];
        return dl_fail(err, DL_EXIT_FAIL, "%s: unknown dtype '%s' (tensor '%s')", f->path,
                       cJSON_IsString(found[0]) ? st_printable(found[0]->valuestring, dtype_shown)
                                                : "(not a string)",
                       name);
    }
    t->dtype = dt->code;
    t->dtype_name = dt->name;
    uint64_t dims[ST_MAX_DIMS], offsets[2];
    int noffsets = 0;
    if (st_parse_ints(f, found[1], "shape", ST_MAX_DIMS, dims, &t->ndim, entry->string, err) !=
            DL_OK ||
        st_parse_ints(f, found[2], "data_offsets", 2, offsets, &noffsets, entry->string, err) !=
            DL_OK)
        return DL_ERR;
    if (noffsets != 2)
        return dl_fail(err, DL_EXIT_FAIL, "%s: data_offsets has %d entries, expected 2"
                       " (tensor '%s')", f->path, noffsets, name);
    for (int d = 0; d < t->ndim; d++)
        t->shape[d] = (int64_t)dims[d];
    t->begin = (size_t)offsets[0];
    t->end = (size_t)offsets[1];
    return DL_OK;
}

static int st_cmp_offsets(const void *a, const void *b)
{
    const st_tensor *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* Rule 7 and 8: sorted by offsets, the tensors tile the data buffer
 * exactly, each with the byte size its dtype and shape imply. */
static int st_check_layout(st_file *f, dl_err *err)
{
    qsort(f->tensors, (size_t)f->ntensors, sizeof *f->tensors, st_cmp_offsets);
    size_t pos = 0;
    for (int i = 0; i < f->ntensors; i++) {
        const st_tensor *t = &f->tensors[i];
        char shown[ST_NAME_SHOWN];
        const char *name = st_printable(t->name, shown);
        if (t->end < t->begin)
            return dl_fail(err, DL_EXIT_FAIL, "%s: data_offsets [%zu, %zu] end before they begin"
                           " (tensor '%s')", f->path, t->begin, t->end, name);
        if (t->begin != pos)
            return dl_fail(err, DL_EXIT_FAIL,
                           "%s: data_offsets [%zu, %zu] %s: the previous tensor ends at %zu"
                           " (tensor '%s')", f->path, t->begin, t->end,
                           t->begin > pos ? "leave a gap" : "overlap another tensor", pos, name);
        const st_dtype_info *dt = st_dtype_by_name(t->dtype_name);
        uint64_t nelem = 1;
        for (int d = 0; d < t->ndim; d++) {
            uint64_t dim = (uint64_t)t->shape[d];
            if (dim != 0 && nelem > UINT64_MAX / dim)
                return dl_fail(err, DL_EXIT_FAIL, "%s: shape overflows 64 bits (tensor '%s')",
                               f->path, name);
            nelem *= dim;
        }
        if (nelem > UINT64_MAX / (uint64_t)dt->bits)
            return dl_fail(err, DL_EXIT_FAIL, "%s: tensor size overflows 64 bits (tensor '%s')",
                           f->path, name);
        uint64_t nbits = nelem * (uint64_t)dt->bits;
        if (nbits % 8 != 0)
            return dl_fail(err, DL_EXIT_FAIL, "%s: %llu elements of %s do not fill whole bytes"
                           " (tensor '%s')", f->path, (unsigned long long)nelem, dt->name, name);
        if (t->end - t->begin != nbits / 8)
            return dl_fail(err, DL_EXIT_FAIL, "%s: data_offsets [%zu, %zu] hold %zu bytes but"
                           " %llu elements of %s need %llu (tensor '%s')", f->path, t->begin,
                           t->end, t->end - t->begin, (unsigned long long)nelem, dt->name,
                           (unsigned long long)(nbits / 8), name);
        pos = t->end;
    }
    size_t data_len = f->len - f->data_start;
    if (pos != data_len)
        return dl_fail(err, DL_EXIT_FAIL, "%s: tensors cover %zu bytes but the data buffer holds"
                       " %zu (byte offset %zu)", f->path, pos, data_len,
                       f->data_start + (pos < data_len ? pos : data_len));
    return DL_OK;
}

static int st_parse_entries(st_file *f, const cJSON *root, dl_err *err)
{
    if (!cJSON_IsObject(root))
        return dl_fail(err, DL_EXIT_FAIL, "%s: header is not a JSON object (byte offset 8)",
                       f->path);
    if (st_check_unique_keys(f, root, "the header", err) != DL_OK)
        return DL_ERR;
    int n = cJSON_GetArraySize(root);
    f->tensors = calloc((size_t)n + 1, sizeof *f->tensors);
    if (!f->tensors)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory reading the header", f->path);
    for (const cJSON *c = root->child; c; c = c->next) {
        if (!strcmp(c->string, "__metadata__")) {
            if (st_parse_metadata(f, c, err) != DL_OK)
                return DL_ERR;
            continue;
        }
        /* Counted before parsing so st_close frees a half-filled entry. */
        st_tensor *t = &f->tensors[f->ntensors++];
        if (st_parse_tensor(f, c, t, err) != DL_OK)
            return DL_ERR;
    }
    return st_check_layout(f, err);
}

static int st_parse_header(st_file *f, dl_err *err)
{
    if (f->len < 8)
        return dl_fail(err, DL_EXIT_FAIL, "%s: file too small for a safetensors header"
                       " (%zu bytes, need at least 8)", f->path, f->len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | f->buf[i];
    if (n > ST_MAX_HEADER)
        return dl_fail(err, DL_EXIT_FAIL, "%s: header length %llu is over the %llu-byte limit"
                       " (byte offset 0)", f->path, (unsigned long long)n,
                       (unsigned long long)ST_MAX_HEADER);
    if (n > f->len - 8)
        return dl_fail(err, DL_EXIT_FAIL, "%s: header length %llu runs past the end of the"
                       " %zu-byte file (byte offset 0)", f->path, (unsigned long long)n,
                       f->len);
    f->data_start = 8 + (size_t)n;

    const uint8_t *header = f->buf + 8;
    size_t valid = st_utf8_valid_prefix(header, (size_t)n);
    if (valid < n)
        return dl_fail(err, DL_EXIT_FAIL, "%s: header is not valid UTF-8 (byte offset %zu)",
                       f->path, 8 + valid);
    /* JSON forbids raw control bytes; cJSON would take them as whitespace. */
    for (size_t i = 0; i < n; i++)
        if (header[i] < 0x20 && !st_is_json_space(header[i]))
            return dl_fail(err, DL_EXIT_FAIL, "%s: control byte 0x%02x in the header"
                           " (byte offset %zu)", f->path, header[i], 8 + i);

    const char *text = (const char *)header;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)n, &end, 0);
    if (!root)
        return dl_fail(err, DL_EXIT_FAIL, "%s: header is not valid JSON (byte offset %zu)",
                       f->path, 8 + (size_t)(end ? end - text : 0));
    /* cJSON stops after the first value; anything but whitespace may follow
     * in a polyglot file. */
    for (const char *p = end; p < text + n; p++) {
        if (!st_is_json_space((uint8_t)*p)) {
            cJSON_Delete(root);
            return dl_fail(err, DL_EXIT_FAIL, "%s: bytes after the header's JSON object"
                           " (byte offset %zu)", f->path, 8 + (size_t)(p - text));
        }
    }
    int rc = st_parse_entries(f, root, err);
    cJSON_Delete(root);
    return rc;
}

int st_parse(uint8_t *buf, size_t len, const char *name, st_file *f, dl_err *err)
{
    memset(f, 0, sizeof *f);
    f->buf = buf;
    f->len = len;
    f->path = strdup(name);
    if (!f->path) {
        st_close(f);
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", name);
    }
    if (st_parse_header(f, err) != DL_OK) {
        st_close(f);
        return DL_ERR;
    }
    return DL_OK;
}

int st_open(const char *path, st_file *f, dl_err *err)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0) {
        int e = errno;
        fclose(fp);
        return dl_fail(err, DL_EXIT_FAIL, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        fclose(fp);
        return dl_fail(err, DL_EXIT_FAIL, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > ST_MAX_FILE) {
        fclose(fp);
        return dl_fail(err, DL_EXIT_FAIL, "%s: file is %lld bytes, over the %llu-byte limit",
                       path, (long long)sb.st_size, (unsigned long long)ST_MAX_FILE);
    }
    size_t len = (size_t)sb.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(fp);
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory for %zu bytes", path, len);
    }
    size_t got = fread(buf, 1, len, fp);
    int read_errno = ferror(fp) ? errno : 0;
    int grew = got == len && fgetc(fp) != EOF;
    if (fclose(fp) != 0 && !read_errno)
        read_errno = errno;
    if (got != len || grew || read_errno) {
        free(buf);
        if (read_errno)
            return dl_fail(err, DL_EXIT_FAIL, "%s: read failed: %s", path, strerror(read_errno));
        return dl_fail(err, DL_EXIT_FAIL, "%s: file changed size while being read", path);
    }
    return st_parse(buf, len, path, f, err);
}

void st_close(st_file *f)
{
    for (int i = 0; i < f->ntensors; i++)
        free(f->tensors[i].name);
    for (int i = 0; i < f->nmeta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->buf);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const char *st_meta(const st_file *f, const char *key)
{
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta_keys[i], key))
            return f->meta_values[i];
    return NULL;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (int i = 0; i < f->ntensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

/* IEEE half to float: exact, including subnormals, infinities and NaN. */
static float st_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    float v;
    if (exponent == 0) {
        v = ldexpf((float)mantissa, -24);
        return sign ? -v : v;
    }
    uint32_t bits = exponent == 31 ? sign | 0x7f800000u | mantissa << 13
                                   : sign | (exponent + 112) << 23 | mantissa << 13;
    memcpy(&v, &bits, sizeof v);
    return v;
}

int st_read_f32(const st_file *f, const st_tensor *t, float *out, size_t n, dl_err *err)
{
    char shown[ST_NAME_SHOWN];
    uint64_t count = 1;
    for (int d = 0; d < t->ndim; d++)
        count *= (uint64_t)t->shape[d];   /* no overflow: checked by the loader */
    if (count != n)
        return dl_fail(err, DL_EXIT_FAIL, "%s: tensor '%s' has %llu elements, expected %zu",
                       f->path, st_printable(t->name, shown), (unsigned long long)count, n);
    const uint8_t *src = f->buf + f->data_start + t->begin; /* maybe unaligned */
    switch (t->dtype) {
    case ST_F32:
        if (n)
            memcpy(out, src, n * sizeof *out);
        break;
    case ST_F16:
        for (size_t i = 0; i < n; i++)
            out[i] = st_half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        break;
    case ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)(src[2 * i] | src[2 * i + 1] << 8) << 16;
            memcpy(&out[i], &bits, sizeof bits);
        }
        break;
    case ST_F64:
        for (size_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, src + 8 * i, sizeof v);
            out[i] = (float)v;
        }
        break;
    default:
        return dl_fail(err, DL_EXIT_FAIL, "%s: tensor '%s' has dtype %s, which cannot be read"
                       " as float32", f->path, st_printable(t->name, shown), t->dtype_name);
    }
    return DL_OK;
}

int st_read_raw(const st_file *f, const st_tensor *t, void *out, size_t nbytes, dl_err *err)
{
    char shown[ST_NAME_SHOWN];
    if (t->dtype != ST_I64 && t->dtype != ST_U8)
        return dl_fail(err, DL_EXIT_FAIL, "%s: tensor '%s' has dtype %s, expected I64 or U8",
                       f->path, st_printable(t->name, shown), t->dtype_name);
    if (t->end - t->begin != nbytes)
        return dl_fail(err, DL_EXIT_FAIL, "%s: tensor '%s' holds %zu bytes, expected %zu",
                       f->path, st_printable(t->name, shown), t->end - t->begin, nbytes);
    if (nbytes)
        memcpy(out, f->buf + f->data_start + t->begin, nbytes);
    return DL_OK;
}
