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
 * so it doubles as a store_str_fn through query_strs_fn. */
int query_strs_add(qstrs *l, const char *s);
int query_strs_fn(void *ctx, const char *s);
void query_strs_sort_unique(qstrs *l);
void query_strs_free(qstrs *l);

#endif /* OTTR_QUERY_QSTRS_H */
