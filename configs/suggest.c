/* suggest.c: the closest candidate by edit distance, for "did you mean". */
#include "configs/suggest.h"

#include <ctype.h>
#include <string.h>

/* Longer words are not typos of any key or class name (and the distance
 * table stays on the stack). */
#define SUGGEST_MAX_LEN 64

/* Optimal-string-alignment distance (Levenshtein plus swaps of adjacent
 * letters), case ignored; only three rows of the table are kept. */
static int suggest_distance(const char *a, size_t la, const char *b, size_t lb)
{
    int rows[3][SUGGEST_MAX_LEN + 1];
    int *before = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int best = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && before[j - 2] + 1 < best)
                best = before[j - 2] + 1;
            cur[j] = best;
        }
        int *spare = before;
        before = prev;
        prev = cur;
        cur = spare;
    }
    return prev[lb];
}

const char *cfg_suggest(const char *word, const char *const *candidates, int n)
{
    size_t len = strlen(word);
    if (len > SUGGEST_MAX_LEN)
        return NULL;
    int limit = len <= 3 ? 1 : 2;
    const char *best = NULL;
    int best_distance = limit + 1;
    for (int i = 0; i < n; i++) {
        size_t clen = strlen(candidates[i]);
        if (clen > SUGGEST_MAX_LEN || (clen > len ? clen - len : len - clen) > (size_t)limit)
            continue;
        int d = suggest_distance(word, len, candidates[i], clen);
        if (d < best_distance) {
            best = candidates[i];
            best_distance = d;
        }
    }
    return best;
}
