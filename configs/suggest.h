/* suggest.h: "did you mean" for misspelt keys and names. */
#ifndef CFG_SUGGEST_H
#define CFG_SUGGEST_H

/* The candidate closest to word (Damerau-Levenshtein distance, case
 * ignored) when it is close enough to be a typo: at most 2 edits, or 1 for
 * words of 3 letters or fewer; a match that differs only in case always
 * counts. NULL when none is close (or word is too long to be a typo of
 * one). Ties go to the earlier candidate. */
const char *cfg_suggest(const char *word, const char *const *candidates, int n);

#endif
