/* query/qstrs.h - a bounded list of strings collected from store callbacks
 * (tag names, values, services, operations). Private to query/. */
#ifndef OTTR_QUERY_QSTRS_H
#define OTTR_QUERY_QSTRS_H

#include <stddef.h>

typedef struct qstrs {
    char **v;
    size_t n, cap;
    size_t max; /* 0 = unbounded; adding stops once n == max */
    int oom;
} qstrs;

/* Copies |s| in. Returns 0 to go on, 1 once the list is full or out of memory,
 * so it doubles as a store_str_fn through qstrs_fn. */
int qstrs_add(qstrs *l, const char *s);
int qstrs_fn(void *ctx, const char *s);
void qstrs_sort_unique(qstrs *l);
void qstrs_free(qstrs *l);

#endif /* OTTR_QUERY_QSTRS_H */
