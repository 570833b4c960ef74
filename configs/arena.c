/* arena.c: one allocation list per config, released at once. */
#include "configs/schema.h"

#include <stdlib.h>
#include <string.h>

struct cfg_arena {
    void **blocks;
    size_t n, cap;
};

cfg_arena *cfg_arena_new(void)
{
    return calloc(1, sizeof(cfg_arena));
}

void *cfg_arena_alloc(cfg_arena *a, size_t size)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        void **blocks = realloc(a->blocks, cap * sizeof *blocks);
        if (!blocks)
            return NULL;
        a->blocks = blocks;
        a->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (p)
        a->blocks[a->n++] = p;
    return p;
}

char *cfg_arena_strdup(cfg_arena *a, const char *s)
{
    size_t len = strlen(s) + 1;
    char *p = cfg_arena_alloc(a, len);
    if (p)
        memcpy(p, s, len);
    return p;
}

void cfg_arena_free(cfg_arena *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    free(a);
}
