/* check.h: the unit-test harness. Each test program counts its checks and
 * ends with "N passed, N failed" (tests/run.sh adds the counts up).
 * Failures print file:line and a message; the program exits 1 if any failed. */
#ifndef DL_CHECK_H
#define DL_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            check_passed++;                                                   \
        } else {                                                              \
            check_failed++;                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);              \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

/* |got - want| <= atol + rtol * |want| */
#define CHECK_CLOSE(got, want, rtol, atol, ...)                               \
    CHECK(fabs((double)(got) - (double)(want)) <=                             \
              (atol) + (rtol) * fabs((double)(want)),                         \
          __VA_ARGS__)

static inline int check_report(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
