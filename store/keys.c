/* store/keys.c - encodes the keys of the pending, traces and index families. */
#include <string.h>

#include "store/internal.h"

void store_key_pending(uint8_t out[PENDING_KEY_LEN], store_pending_ref ref)
{
    be32_put(out, ref.sec);
    be32_put(out + 4, ref.seq);
}

void store_key_traces(uint8_t out[TRACES_KEY_LEN], const uint8_t tid[16], uint32_t sec,
                      uint32_t seq)
{
    memcpy(out, tid, 16);
    be32_put(out + 16, sec);
    be32_put(out + 20, seq);
}

size_t store_key_index_prefix(uint8_t *out, size_t cap, char kind, const char *term, size_t termlen)
{
    if (termlen + 2 > cap)
        return 0;
    out[0] = (uint8_t)kind;
    if (termlen)
        memcpy(out + 1, term, termlen);
    out[1 + termlen] = 0;
    return termlen + 2;
}
