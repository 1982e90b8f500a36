/* fuzz/fuzz.h - what every fuzz target in fuzz/ shares: the libFuzzer entry
 * point (also called by driver.c, which replays files without libFuzzer) and a
 * check that aborts, so that a broken invariant is reported as a crash. */
#ifndef OTTR_FUZZ_H
#define OTTR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message when |cond| is false (in every build type). */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A NUL-terminated copy of |data| (malloc'ed; the caller frees it), or NULL. */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif /* OTTR_FUZZ_H */
