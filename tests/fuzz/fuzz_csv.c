/* fuzz_csv.c: bytes as a CSV file, loaded with three fixed column choices:
 * a header with the label last; no header with the label and features by
 * index; a header with names and indices mixed, ';'-delimited, as predict
 * input (the label may be missing). */
#include "tests/fuzz/harness.h"

static void load(const char *path, const char *label, char **features, int nfeatures,
                 int header, const char *delimiter, int flags)
{
    ds_csv_args args = {.path = (char *)path, .label = (char *)label,
                        .features = {.n = nfeatures, .v = features}, .header = header,
                        .delimiter = (char *)delimiter};
    dl_kind_ref ref = {.kind = &ds_csv_kind, .args = &args};
    ds_dataset d;
    dl_err err;
    if (ds_open(&ref, flags, &d, &err) == DL_OK) {
        fuzz_use_dataset(&d);
        ds_free(&d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *by_index[] = {"2", "1"};
    static char *mixed[] = {"a", "1", "c"};
    const char *path = fuzz_file(0, data, size);
    load(path, NULL, NULL, 0, 1, ",", DS_NEED_LABELS);
    load(path, "0", by_index, 2, 0, ",", DS_NEED_LABELS);
    load(path, "y", mixed, 3, 1, ";", DS_NO_LABELS);
    return 0;
}
