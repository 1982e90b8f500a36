/* tests/common/failmalloc.h - makes the Nth heap allocation fail, to walk a
 * piece of code through every one of its out-of-memory paths (after nghttp2's
 * failmalloc test).
 *
 * Link with the ottr_failmalloc target: it wraps malloc, calloc, realloc,
 * strdup and strndup at link time (-Wl,--wrap=...), which reaches every call
 * from the test and the static libraries it links, not calls made inside shared
 * libraries (libyaml, protobuf-c, ...). When not armed the wrappers only pass
 * through (to ASan's allocator in sanitizer builds). The usual loop:
 *
 *     for (unsigned long n = 1;; n++) {
 *         failmalloc_arm(n);
 *         int rc = code_under_test();
 *         bool failed = failmalloc_failed();
 *         failmalloc_disarm();
 *         ... check rc, free everything ...
 *         if (!failed)
 *             break; // the code made fewer than n allocations
 *     }
 *
 * The counters are atomic, but arming fails the Nth allocation of any thread. */
#ifndef OTTR_TESTS_FAILMALLOC_H
#define OTTR_TESTS_FAILMALLOC_H

#include <stdbool.h>

/* Counts allocations from now on and fails the |n|th (1-based) one; 0 only
 * counts. Resets the count and the failed flag. */
void failmalloc_arm(unsigned long n);
/* Stops failing (counting goes on until the next arm). */
void failmalloc_disarm(void);
/* Allocations seen since the last arm, the failed one included. */
unsigned long failmalloc_count(void);
/* Whether the armed allocation came and was failed. */
bool failmalloc_failed(void);

#endif /* OTTR_TESTS_FAILMALLOC_H */
