/* batcher.c: batches of float32 samples and targets in a seeded order, and
 * Keras's validation split point. An epoch's order depends only on (seed,
 * epoch), never on earlier epochs, so a resumed run sees the same batches. */
#include "datasets/loaders.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t ds_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t ds_uniform(uint64_t *state, uint64_t bound)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do
        r = ds_splitmix64(state);
    while (r >= limit);
    return r % bound;
}

int ds_batcher_init(ds_batcher *b, const ds_dataset *ds, size_t begin, size_t count,
                    int batch_size, float rescale, int shuffle, uint64_t seed,
                    int one_hot, dl_err *err)
{
    memset(b, 0, sizeof *b);
    if (batch_size < 1)
        return dl_fail(err, DL_EXIT_USAGE, "batch_size must be at least 1, got %d", batch_size);
    if (begin > ds->n || count > ds->n - begin || count == 0)
        return dl_fail(err, DL_EXIT_FAIL, "%s: no samples in [%zu, %zu) of its %zu samples",
                       ds->source, begin, begin + count, ds->n);
    if (one_hot < 0 || (one_hot > 0 && !ds->labels))
        return dl_fail(err, DL_EXIT_FAIL, "%s: one-hot targets (width %d) need labels",
                       ds->source, one_hot);
    b->order = malloc(count * sizeof *b->order);
    if (!b->order)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory for %zu sample indices",
                       ds->source, count);
    b->ds = ds;
    b->begin = begin;
    b->count = count;
    b->batch_size = batch_size;
    b->rescale = rescale;
    b->shuffle = shuffle;
    b->seed = seed;
    b->one_hot = one_hot;
    ds_batcher_epoch(b, 0);
    return DL_OK;
}

void ds_batcher_epoch(ds_batcher *b, int epoch)
{
    for (size_t i = 0; i < b->count; i++)
        b->order[i] = b->begin + i;
    b->pos = 0;
    if (!b->shuffle)
        return;
    uint64_t epoch_state = (uint64_t)epoch;
    uint64_t state = b->seed ^ ds_splitmix64(&epoch_state);
    for (size_t i = b->count - 1; i > 0; i--) {  /* Fisher-Yates */
        size_t j = (size_t)ds_uniform(&state, (uint64_t)i + 1);
        size_t t = b->order[i];
        b->order[i] = b->order[j];
        b->order[j] = t;
    }
}

void ds_batcher_seek(ds_batcher *b, size_t batches)
{
    size_t pos = batches * (size_t)b->batch_size;
    b->pos = pos < b->count ? pos : b->count;
}

int ds_batcher_next(ds_batcher *b, float *x, float *y)
{
    if (b->pos >= b->count)
        return 0;
    const ds_dataset *d = b->ds;
    size_t rows = b->count - b->pos;
    if (rows > (size_t)b->batch_size)
        rows = (size_t)b->batch_size;
    size_t width = d->sample_size;
    for (size_t r = 0; r < rows; r++) {
        size_t i = b->order[b->pos + r];
        float *x_row = x + r * width;  /* [sample_size] */
        if (d->u8) {
            const uint8_t *src = d->u8 + i * width;
            for (size_t j = 0; j < width; j++)
                x_row[j] = (float)src[j] * b->rescale;
        } else {
            const float *src = d->f32 + i * width;
            for (size_t j = 0; j < width; j++)
                x_row[j] = src[j] * b->rescale;
        }
        if (!y || !d->labels)
            continue;
        float label = d->labels[i];
        if (b->one_hot > 0) {
            /* An out-of-range label leaves a zero row; ds_check_classes reports it. */
            float *y_row = y + r * (size_t)b->one_hot;  /* [one_hot] */
            memset(y_row, 0, (size_t)b->one_hot * sizeof *y_row);
            if (label >= 0 && label < (float)b->one_hot && label == floorf(label))
                y_row[(int)label] = 1.0f;
        } else {
            y[r] = label;
        }
    }
    b->pos += rows;
    return (int)rows;
}

size_t ds_batcher_steps(const ds_batcher *b)
{
    return (b->count + (size_t)b->batch_size - 1) / (size_t)b->batch_size;
}

void ds_batcher_free(ds_batcher *b)
{
    free(b->order);
    memset(b, 0, sizeof *b);
}

size_t ds_split_point(size_t n, double validation_split)
{
    if (!(validation_split > 0))
        return n;
    if (validation_split >= 1)
        return 0;
    double train = floor((double)n * (1.0 - validation_split));
    return train < (double)n ? (size_t)train : n;
}
