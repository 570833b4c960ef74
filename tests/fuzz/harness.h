/* harness.h: what the libFuzzer targets share: a memory-backed file for
 * the loaders that take paths, the config round-trip check, and a pass over
 * a loaded dataset. */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include "configs/config.h"
#include "datasets/dataset.h"

#include <stddef.h>
#include <stdint.h>

/* Replaces the contents of memory file `slot` (0..3, created on first use)
 * with data[size]; returns a path that opens it. Aborts on failure. */
const char *fuzz_file(int slot, const uint8_t *data, size_t size);

/* A NUL-terminated malloc'd copy of data[size] (text up to the first NUL). */
char *fuzz_text(const uint8_t *data, size_t size);

/* A loaded config's resolved text must load again and resolve to the same
 * text (it is what model files store); aborts when it does not. */
void fuzz_check_resolved(const dl_config *cfg);

/* Uses a loaded dataset the way fit does: places for messages, the class
 * check, an epoch of shuffled batches with one-hot targets when it has labels. */
void fuzz_use_dataset(const ds_dataset *d);

#endif
