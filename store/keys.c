/* store/keys.c - encodes the keys of the pending, traces and index families. */
#include <string.h>

#include "store/internal.h"

void store_key_pending(uint8_t out[PENDING_KEY_LEN], uint32_t sec, const uint8_t tid[16],
                       uint32_t seq)
{
    be32_put(out, sec);
    memcpy(out + 4, tid, 16);
    be32_put(out + 20, seq);
}

void store_key_traces(uint8_t out[TRACES_KEY_LEN], const uint8_t tid[16], uint32_t sec,
                      uint32_t seq)
{
    memcpy(out, tid, 16);
    be32_put(out + 16, sec);
    be32_put(out + 20, seq);
}

