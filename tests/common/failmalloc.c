/* tests/common/failmalloc.c - the link-time wrappers of failmalloc.h: each
 * allocation counts, and the armed one returns NULL (errno ENOMEM). */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "tests/common/failmalloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t nmemb, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t nmemb, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_ulong fail_at; /* 0 = never */
static atomic_ulong seen;
static atomic_bool failed;

void failmalloc_arm(unsigned long n)
{
    atomic_store(&fail_at, 0);
    atomic_store(&seen, 0);
    atomic_store(&failed, false);
    atomic_store(&fail_at, n);
}

void failmalloc_disarm(void)
{
    atomic_store(&fail_at, 0);
}

unsigned long failmalloc_count(void)
{
    return atomic_load(&seen);
}

bool failmalloc_failed(void)
{
    return atomic_load(&failed);
}

/* Counts one allocation; true when it is the one to fail. */
static bool should_fail(void)
{
    unsigned long n = atomic_fetch_add(&seen, 1) + 1;
    unsigned long at = atomic_load(&fail_at);
    if (at == 0 || n != at)
        return false;
    atomic_store(&failed, true);
    errno = ENOMEM;
    return true;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t nmemb, size_t n)
{
    return should_fail() ? NULL : __real_calloc(nmemb, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : __real_strndup(s, n);
}
