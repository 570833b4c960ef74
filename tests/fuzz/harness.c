/* harness.c: memory files, the config round-trip check, dataset use. */
#include "tests/fuzz/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_SLOTS 4
#define FUZZ_BATCH 3
#define FUZZ_CLASSES 4

static void fuzz_die(const char *what)
{
    perror(what);
    abort();
}

const char *fuzz_file(int slot, const uint8_t *data, size_t size)
{
    static int fds[FUZZ_SLOTS] = {-1, -1, -1, -1};
    static char paths[FUZZ_SLOTS][32];
    if (slot < 0 || slot >= FUZZ_SLOTS)
        abort();
    if (fds[slot] < 0) {
        fds[slot] = memfd_create("dltrain-fuzz", 0);
        if (fds[slot] < 0)
            fuzz_die("memfd_create");
        snprintf(paths[slot], sizeof paths[slot], "/proc/self/fd/%d", fds[slot]);
    }
    if (ftruncate(fds[slot], 0) != 0)
        fuzz_die("ftruncate");
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(fds[slot], data + done, size - done, (off_t)done);
        if (n <= 0)
            fuzz_die("pwrite");
        done += (size_t)n;
    }
    return paths[slot];
}

char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

void fuzz_check_resolved(const dl_config *cfg)
{
    char *first = config_emit(cfg);
    if (!first)
        abort();
    dl_config again;
    dl_err err;
    if (config_load_text(first, "resolved.yaml", NULL, 0, &again, &err) != DL_OK) {
        fprintf(stderr, "resolved config does not load again: %s\n--- text:\n%s", err.msg,
                first);
        abort();
    }
    char *second = config_emit(&again);
    if (!second || strcmp(first, second)) {
        fprintf(stderr, "resolved config changes on reloading:\n--- first:\n%s--- second:\n%s",
                first, second ? second : "(null)");
        abort();
    }
    free(second);
    free(first);
    config_free(&again);
}

void fuzz_use_dataset(const ds_dataset *d)
{
    char where[512];
    dl_err err;
    if (d->n) {
        ds_where(d, 0, where, sizeof where);
        ds_where(d, d->n - 1, where, sizeof where);
    }
    if (d->labels)
        (void)ds_check_classes(d, FUZZ_CLASSES, &err);
    int one_hot = d->labels ? FUZZ_CLASSES : 0;
    ds_batcher b;
    if (ds_batcher_init(&b, d, 0, d->n, FUZZ_BATCH, 1.0f / 255, 1, 7, one_hot, &err) != DL_OK)
        return;
    float *x = malloc(FUZZ_BATCH * d->sample_size * sizeof *x + 1);          /* [batch, sample] */
    float *y = malloc(FUZZ_BATCH * (size_t)(one_hot ? one_hot : 1) * sizeof *y); /* targets */
    if (!x || !y)
        abort();
    ds_batcher_epoch(&b, 1);
    while (ds_batcher_next(&b, x, d->labels ? y : NULL) > 0)
        ;
    free(x);
    free(y);
    ds_batcher_free(&b);
}
