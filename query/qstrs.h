/* query/qstrs.h - a bounded list of strings collected from store callbacks
 * (tag names, values, services, operations). Private to query/. */
#ifndef OTTR_QUERY_QSTRS_H
#define OTTR_QUERY_QSTRS_H

#include <stddef.h>

#include "store/store.h"

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
/* Appends |l| as a JSON array of strings. */
void query_strs_json(ottr_buf *b, const qstrs *l);

/* OTTR_OK, or OTTR_ERR_NOMEM with "out of memory" in |err| when |out| ran out
 * of memory while an answer was written into it. */
ottr_status query_out_status(const ottr_buf *out, char *err, size_t errlen);

/* Values of attribute |key| in the store's tag index (query/tags.c): the
 * resource scope's, then the span scope's not seen yet; at most |limit|.
 * Returns the store's status (OTTR_ERR_NOMEM when out of memory). */
ottr_status query_tag_values_both(store_view st, const char *key, size_t limit, qstrs *l);

#endif /* OTTR_QUERY_QSTRS_H */
