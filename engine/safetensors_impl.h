/* safetensors_impl.h: what the safetensors writer and loader share (not
 * part of the public interface): the dtype table and UTF-8 validation. */
#ifndef ST_SAFETENSORS_IMPL_H
#define ST_SAFETENSORS_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* Tensor bytes are copied to and from memory as they are, which is the
 * file's little-endian layout only on a little-endian host. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O assumes a little-endian host"
#endif
/* Header integers (up to 2^53) are kept in size_t offsets. */
_Static_assert(sizeof(size_t) >= 8, "safetensors I/O assumes a 64-bit size_t");

typedef struct st_dtype_info {
    const char *name;   /* as written in the header: "F32" */
    int bits;           /* per element */
    int code;           /* ST_F32 ... or ST_OTHER */
} st_dtype_info;

/* Every dtype of formats.md §1.3, in its order (the writer's sort key). */
extern const st_dtype_info st_dtypes[];
extern const int st_ndtypes;

/* Length of the longest prefix of s[n] that is well-formed UTF-8 (no
 * overlong forms, surrogates or code points above U+10FFFF); n when all
 * of it is. */
size_t st_utf8_valid_prefix(const uint8_t *s, size_t n);

#endif
