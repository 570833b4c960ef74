/* fuzz_yaml.c: bytes as a config file. The YAML tree must emit text that
 * parses back to the same tree; the full load (validation against every
 * kind's table) must either fail cleanly or resolve to a config that loads
 * again unchanged. */
#include "tests/fuzz/harness.h"

#include "configs/tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Same shape and text (quoting may differ: a plain scalar that cannot be
 * written plain comes back quoted). */
static int same_tree(const cfg_node *a, const cfg_node *b)
{
    if (a->type != b->type || a->n != b->n)
        return 0;
    if (a->type == CFG_SCALAR)
        return !strcmp(a->value, b->value);
    for (int i = 0; i < a->n; i++)
        if ((a->type == CFG_MAP && strcmp(a->keys[i]->value, b->keys[i]->value)) ||
            !same_tree(a->items[i], b->items[i]))
            return 0;
    return 1;
}

/* The emitted text parses back to the same tree, unless it outgrows the
 * parser's size limit. */
static void check_emit(const cfg_node *root)
{
    char *text = cfg_emit(root);
    if (!text)
        abort();
    size_t len = strlen(text);
    cfg_node *again = NULL;
    dl_err err;
    if (len <= CFG_MAX_BYTES) {
        if (cfg_parse_string(text, len, "emitted.yaml", &again, &err) != DL_OK) {
            fprintf(stderr, "emitted YAML does not parse: %s\n--- text:\n%s", err.msg, text);
            abort();
        }
        if (!same_tree(root, again)) {
            char *second = cfg_emit(again);
            fprintf(stderr, "emitted YAML reads back differently:\n--- first:\n%s"
                    "--- second:\n%s", text, second ? second : "(null)");
            abort();
        }
        cfg_free(again);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cfg_node *root = NULL;
    dl_err err;
    if (cfg_parse_string((const char *)data, size, "fuzz.yaml", &root, &err) == DL_OK)
        check_emit(root);
    cfg_free(root);

    char *text = fuzz_text(data, size);
    dl_config cfg;
    if (config_load_text(text, "fuzz.yaml", NULL, 0, &cfg, &err) == DL_OK) {
        fuzz_check_resolved(&cfg);
        config_free(&cfg);
    }
    free(text);
    return 0;
}
