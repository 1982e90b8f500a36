/* collector/gunzip.h - bounded gzip inflation for request bodies. Private to collector/. */
#ifndef OTTR_COLLECTOR_GUNZIP_H
#define OTTR_COLLECTOR_GUNZIP_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* Inflates the gzip stream |in| (one or more concatenated members) into a new
 * buffer of at most |max_out| bytes. The output grows geometrically, so a small
 * body that inflates past the cap costs at most |max_out| bytes before it fails.
 * On success *out (malloc'ed, the caller frees it; NULL when the output is
 * empty) and *out_len are set. Returns OTTR_OK, or:
 *   OTTR_ERR_TOO_LARGE - the output would exceed |max_out|
 *   OTTR_ERR_CORRUPT   - not gzip, bad checksum, truncated or trailing garbage
 *   OTTR_ERR_NOMEM     - out of memory
 * On error nothing is returned to free. */
ottr_status gunzip_bounded(const uint8_t *in, size_t in_len, size_t max_out, uint8_t **out,
                           size_t *out_len);

#endif /* OTTR_COLLECTOR_GUNZIP_H */
