/* fuzz_set.c: `--set PATH=VALUE` overrides (the input split at NUL bytes,
 * as argv splits them) on a fixed valid config. Each override goes through
 * cfg_apply_override on a copy of the tree, where a failed one must leave
 * the tree as it was; then the whole list through config_load_text, whose
 * result, when valid, must load again unchanged. */
#include "tests/fuzz/harness.h"

#include "configs/tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_SETS 4

static const char base_text[] =
    "name: base\n"
    "seed: 3\n"
    "data:\n"
    "  train: {format: csv, path: train.csv, label: y, features: [a, b]}\n"
    "  validation: {format: idx, images: v-images.idx, labels: v-labels.idx}\n"
    "  validation_split: 0.1\n"
    "  class_names: [zero, one]\n"
    "model:\n"
    "  input_shape: [2]\n"
    "  layers:\n"
    "    - Dense: {units: 8, activation: relu, kernel_regularizer: {L2: {l2: 0.01}}}\n"
    "    - Dropout: {rate: 0.5}\n"
    "    - Dense: {units: 2, activation: softmax}\n"
    "compile:\n"
    "  optimizer:\n"
    "    class_name: Adam\n"
    "    learning_rate: {class_name: ExponentialDecay, initial_learning_rate: 0.01,\n"
    "                    decay_steps: 100, decay_rate: 0.9}\n"
    "  loss: sparse_categorical_crossentropy\n"
    "  metrics: [accuracy]\n"
    "fit:\n"
    "  epochs: 2\n"
    "  batch_size: 4\n"
    "  callbacks: [{EarlyStopping: {monitor: val_loss, patience: 2}}]\n";

static cfg_node *base_tree(void)
{
    static cfg_node *base;
    dl_err err;
    if (!base && cfg_parse_string(base_text, strlen(base_text), "base.yaml", &base, &err)) {
        fprintf(stderr, "base config: %s\n", err.msg);
        abort();
    }
    return base;
}

static void apply_one(cfg_node *tree, const char *assignment)
{
    char *before = cfg_emit(tree);
    dl_err err;
    if (!before)
        abort();
    if (cfg_apply_override(tree, assignment, &err) != DL_OK) {
        char *after = cfg_emit(tree);
        if (!after || strcmp(before, after)) {
            fprintf(stderr, "failed override changed the tree: %s\n--- before:\n%s"
                    "--- after:\n%s", err.msg, before, after ? after : "(null)");
            abort();
        }
        free(after);
    }
    free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);  /* the overrides, each NUL-terminated */
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    const char *sets[FUZZ_MAX_SETS];
    int n = 0;
    for (char *p = text; n < FUZZ_MAX_SETS && p <= text + size; p += strlen(p) + 1)
        sets[n++] = p;

    cfg_node *tree = cfg_copy(base_tree());
    if (!tree)
        abort();
    for (int i = 0; i < n; i++)
        apply_one(tree, sets[i]);
    cfg_free(tree);

    dl_config cfg;
    dl_err err;
    if (config_load_text(base_text, "base.yaml", sets, n, &cfg, &err) == DL_OK) {
        fuzz_check_resolved(&cfg);
        config_free(&cfg);
    }
    free(text);
    return 0;
}
