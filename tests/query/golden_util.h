/* tests/query/golden_util.h - compares JSON answers with files under
 * tests/query/golden/ (both pretty-printed through json-c, byte counts of
 * inspected data masked); OTTR_UPDATE_GOLDEN=1 rewrites the files instead. */
#ifndef OTTR_TESTS_QUERY_GOLDEN_UTIL_H
#define OTTR_TESTS_QUERY_GOLDEN_UTIL_H

#include <stddef.h>

/* Returns 0 when |json| matches golden/<name>.json (or was written), else -1
 * with the difference printed. */
int golden_check(const char *name, const char *json, size_t len);

#endif /* OTTR_TESTS_QUERY_GOLDEN_UTIL_H */
