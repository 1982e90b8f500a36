/* query/ids.c - trace ID parsing as Tempo does it (hex, odd length, left pad). */
#include <string.h>

#include "query/query.h"

int query_parse_trace_id(const char *s, uint8_t id[16])
{
    if (s == NULL)
        return -1;
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return -1;
    char hex[33];
    size_t pad = 32 - n;
    memset(hex, '0', pad);
    memcpy(hex + pad, s, n);
    hex[32] = '\0';
    return ottr_hex_decode(hex, 32, id, 16) == 16 ? 0 : -1;
}
