/* safetensors_write.c: the writer (formats.md §1.4). Produces the
 * reference library's layout byte for byte and replaces the target
 * atomically: a temp file in the same directory, fsync, rename, fsync of
 * the directory, so a crash never leaves a half-written model behind. */
#include "engine/safetensors.h"
#include "engine/safetensors_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ST_MAX_WRITE_HEADER 100000000       /* the reference writer's limit */
#define ST_MAX_DIM ((int64_t)1 << 53)       /* what the loader accepts */

/* A growing text buffer; `failed` latches an allocation failure so the
 * JSON can be built without checking every append. */
typedef struct st_text {
    char *p;
    size_t len, cap;
    int failed;
} st_text;

static int st_text_reserve(st_text *t, size_t more)
{
    if (t->failed)
        return 0;
    if (more <= t->cap - t->len)
        return 1;
    size_t cap = t->cap ? t->cap : 512;
    while (cap - t->len < more) {
        if (cap > SIZE_MAX / 2) {
            t->failed = 1;
            return 0;
        }
        cap *= 2;
    }
    char *p = realloc(t->p, cap);
    if (!p) {
        t->failed = 1;
        return 0;
    }
    t->p = p;
    t->cap = cap;
    return 1;
}

static void st_text_put(st_text *t, const char *s, size_t n)
{
    if (st_text_reserve(t, n)) {
        memcpy(t->p + t->len, s, n);
        t->len += n;
    }
}

__attribute__((format(printf, 2, 3)))
static void st_text_printf(st_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if (!st_text_reserve(t, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* A JSON string, escaped as serde_json does (the reference writer):
 * quote, backslash, \b \f \n \r \t, other control bytes as \u00xx, every
 * other byte (UTF-8 included) as it is. */
static void st_text_put_json_string(st_text *t, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    st_text_put(t, "\"", 1);
    while (*s) {
        size_t run = 0;
        while (s[run] && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
            run++;
        st_text_put(t, s, run);
        s += run;
        if (!*s)
            break;
        unsigned char c = (unsigned char)*s++;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        size_t esc_len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: esc_len = 6; break;
        }
        st_text_put(t, esc, esc_len);
    }
    st_text_put(t, "\"", 1);
}

/* A tensor in write order. */
typedef struct st_entry {
    const st_out *tensor;
    const st_dtype_info *dtype;
    int rank;               /* position of the dtype in formats.md §1.3 */
    size_t nbytes;
} st_entry;

/* Dtype descending in the §1.3 order, then name ascending byte-wise. */
static int st_cmp_write_order(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->rank != y->rank)
        return y->rank - x->rank;
    return strcmp(x->tensor->name, y->tensor->name);
}

static int st_check_name(const char *path, const char *name, dl_err *err)
{
    if (!name)
        return dl_fail(err, DL_EXIT_FAIL, "%s: a tensor has no name", path);
    for (size_t i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == '"' || c == '\\')
            return dl_fail(err, DL_EXIT_FAIL, "%s: tensor name '%.*s...' has byte 0x%02x at"
                           " position %zu ('\"', '\\' and control bytes are not allowed)", path,
                           (int)i, name, c, i);
    }
    size_t len = strlen(name);
    if (st_utf8_valid_prefix((const uint8_t *)name, len) != len)
        return dl_fail(err, DL_EXIT_FAIL, "%s: a tensor name is not valid UTF-8", path);
    if (!strcmp(name, "__metadata__"))
        return dl_fail(err, DL_EXIT_FAIL, "%s: '__metadata__' cannot name a tensor", path);
    return DL_OK;
}

/* Validates one tensor and fills its entry (dtype, rank, byte size). */
static int st_make_entry(const char *path, const st_out *t, st_entry *e, dl_err *err)
{
    if (st_check_name(path, t->name, err) != DL_OK)
        return DL_ERR;
    e->tensor = t;
    e->dtype = NULL;
    for (int i = 0; i < st_ndtypes && t->dtype != ST_OTHER; i++) {
        if (st_dtypes[i].code == t->dtype) {
            e->dtype = &st_dtypes[i];
            e->rank = i;
            break;
        }
    }
    if (!e->dtype)
        return dl_fail(err, DL_EXIT_FAIL, "%s: tensor '%s' has unsupported dtype code %d", path,
                       t->name, t->dtype);
    if (t->ndim < 0 || t->ndim > ST_MAX_DIMS)
        return dl_fail(err, DL_EXIT_FAIL, "%s: tensor '%s' has %d dimensions (0 to %d allowed)",
                       path, t->name, t->ndim, ST_MAX_DIMS);
    size_t nbytes = (size_t)e->dtype->bits / 8;
    for (int d = 0; d < t->ndim; d++) {
        int64_t dim = t->shape[d];
        if (dim < 0 || dim > ST_MAX_DIM || (dim != 0 && nbytes > SIZE_MAX / (size_t)dim))
            return dl_fail(err, DL_EXIT_FAIL, "%s: tensor '%s' has a bad dimension %lld", path,
                           t->name, (long long)dim);
        nbytes *= (size_t)dim;
    }
    if (nbytes && !t->data)
        return dl_fail(err, DL_EXIT_FAIL, "%s: tensor '%s' has no data", path, t->name);
    e->nbytes = nbytes;
    return DL_OK;
}

static int st_check_metadata(const char *path, const char *const *keys,
                             const char *const *values, int n, dl_err *err)
{
    for (int i = 0; i < n; i++) {
        if (!keys[i] || !values[i])
            return dl_fail(err, DL_EXIT_FAIL, "%s: metadata entry %d is missing", path, i);
        size_t key_len = strlen(keys[i]), value_len = strlen(values[i]);
        if (st_utf8_valid_prefix((const uint8_t *)keys[i], key_len) != key_len ||
            st_utf8_valid_prefix((const uint8_t *)values[i], value_len) != value_len)
            return dl_fail(err, DL_EXIT_FAIL, "%s: metadata entry %d is not valid UTF-8", path,
                           i);
        if (!strcmp(keys[i], "format"))
            return dl_fail(err, DL_EXIT_FAIL, "%s: metadata key 'format' is reserved", path);
        for (int j = 0; j < i; j++)
            if (!strcmp(keys[i], keys[j]))
                return dl_fail(err, DL_EXIT_FAIL, "%s: metadata key %d repeats key %d", path,
                               i, j);
    }
    return DL_OK;
}

/* The header JSON, padded with spaces to a multiple of 8. */
static void st_build_header(st_text *h, const char *const *meta_keys,
                            const char *const *meta_values, int nmeta, const st_entry *entries,
                            int n)
{
    st_text_put(h, "{\"__metadata__\":{\"format\":\"pt\"", 30);
    for (int i = 0; i < nmeta; i++) {
        st_text_put(h, ",", 1);
        st_text_put_json_string(h, meta_keys[i]);
        st_text_put(h, ":", 1);
        st_text_put_json_string(h, meta_values[i]);
    }
    st_text_put(h, "}", 1);
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        const st_out *t = entries[i].tensor;
        st_text_printf(h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name,
                       entries[i].dtype->name);
        for (int d = 0; d < t->ndim; d++)
            st_text_printf(h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        st_text_printf(h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + entries[i].nbytes);
        offset += entries[i].nbytes;
    }
    st_text_put(h, "}", 1);
    while (!h->failed && h->len % 8 != 0)
        st_text_put(h, " ", 1);
}

static int st_errno_or_eio(void)
{
    return errno ? errno : EIO;
}

/* Writes the whole file to fp and syncs it; 0 or an errno value. */
static int st_write_stream(FILE *fp, const st_text *header, const st_entry *entries, int n)
{
    uint8_t header_len[8]; /* u64 little-endian */
    for (int i = 0; i < 8; i++)
        header_len[i] = (uint8_t)((uint64_t)header->len >> (8 * i));
    errno = 0;
    if (fwrite(header_len, 1, sizeof header_len, fp) != sizeof header_len ||
        fwrite(header->p, 1, header->len, fp) != header->len)
        return st_errno_or_eio();
    for (int i = 0; i < n; i++)
        if (entries[i].nbytes &&
            fwrite(entries[i].tensor->data, 1, entries[i].nbytes, fp) != entries[i].nbytes)
            return st_errno_or_eio();
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
        return st_errno_or_eio();
    return 0;
}

/* Makes the rename durable. The file is already in place, so a failure
 * here is reported but nothing is undone. */
static int st_sync_dir(const char *path, dl_err *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", path);
    int e = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
    } else {
        /* EINVAL: the file system cannot sync directories; nothing to do. */
        if (fsync(fd) != 0 && errno != EINVAL)
            e = errno;
        if (close(fd) != 0 && !e)
            e = errno;
    }
    int rc = DL_OK;
    if (e)
        rc = dl_fail(err, DL_EXIT_FAIL, "%s: saved, but syncing directory %s failed: %s", path,
                     dir, strerror(e));
    free(dir);
    return rc;
}

static int st_write_atomic(const char *path, const st_text *header, const st_entry *entries,
                           int n, dl_err *err)
{
    size_t tmp_size = strlen(path) + 32;
    char *tmp = malloc(tmp_size);
    if (!tmp)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", path);
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        int e = errno;
        dl_fail(err, DL_EXIT_FAIL, "%s: cannot create %s: %s", path, tmp, strerror(e));
        free(tmp);
        return DL_ERR;
    }
    const char *what = "write failed";
    int e = st_write_stream(fp, header, entries, n);
    if (fclose(fp) != 0 && !e)
        e = st_errno_or_eio();
    if (!e && rename(tmp, path) != 0) {
        e = errno;
        what = "cannot replace the file";
    }
    if (e) {
        remove(tmp);
        free(tmp);
        return dl_fail(err, DL_EXIT_FAIL, "%s: %s: %s", path, what, strerror(e));
    }
    free(tmp);
    return st_sync_dir(path, err);
}

int st_save(const char *path, const char *const *meta_keys, const char *const *meta_values,
            int nmeta, const st_out *tensors, int ntensors, dl_err *err)
{
    if (st_check_metadata(path, meta_keys, meta_values, nmeta, err) != DL_OK)
        return DL_ERR;
    st_entry *entries = calloc((size_t)ntensors + 1, sizeof *entries);
    if (!entries)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", path);
    int rc = DL_OK;
    for (int i = 0; i < ntensors && rc == DL_OK; i++) {
        rc = st_make_entry(path, &tensors[i], &entries[i], err);
        /* Few tensors per model: a quadratic search is fine. */
        for (int j = 0; j < i && rc == DL_OK; j++)
            if (!strcmp(tensors[i].name, tensors[j].name))
                rc = dl_fail(err, DL_EXIT_FAIL, "%s: two tensors are named '%s'", path,
                             tensors[i].name);
    }
    st_text header = {0};
    if (rc == DL_OK) {
        qsort(entries, (size_t)ntensors, sizeof *entries, st_cmp_write_order);
        st_build_header(&header, meta_keys, meta_values, nmeta, entries, ntensors);
        if (header.failed)
            rc = dl_fail(err, DL_EXIT_FAIL, "%s: out of memory building the header", path);
        else if (header.len > ST_MAX_WRITE_HEADER)
            rc = dl_fail(err, DL_EXIT_FAIL, "%s: header of %zu bytes is over the %d-byte limit",
                         path, header.len, ST_MAX_WRITE_HEADER);
    }
    if (rc == DL_OK)
        rc = st_write_atomic(path, &header, entries, ntensors, err);
    free(header.p);
    free(entries);
    return rc;
}
