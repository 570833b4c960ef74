/* fuzz_idx.c: IDX files (raw or gzip). The input is the images file,
 * optionally followed by FUZZ_SEPARATOR and a labels file; without one the
 * images load as predict input (no labels). */
#include "tests/fuzz/harness.h"

#include <string.h>

#define FUZZ_SEPARATOR "\n--labels--\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t sep_len = strlen(FUZZ_SEPARATOR);
    const uint8_t *sep = memmem(data, size, FUZZ_SEPARATOR, sep_len);
    size_t images_len = sep ? (size_t)(sep - data) : size;
    ds_idx_args args = {.images = (char *)fuzz_file(0, data, images_len)};
    if (sep)
        args.labels = (char *)fuzz_file(1, sep + sep_len, size - images_len - sep_len);
    dl_kind_ref ref = {.kind = &ds_idx_kind, .args = &args};
    ds_dataset d;
    dl_err err;
    if (ds_open(&ref, sep ? DS_NEED_LABELS : DS_NO_LABELS, &d, &err) == DL_OK) {
        fuzz_use_dataset(&d);
        ds_free(&d);
    }
    return 0;
}
