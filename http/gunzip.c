/* http/gunzip.c - inflates gzip request bodies with zlib under a hard cap on
 * the output, so that a gzip bomb fails fast instead of exhausting memory. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "http/http.h"

#define GUNZIP_MIN_START (64 * 1024)

/* The first output buffer: a few times the input (typical OTLP ratios are 5-10x),
 * never more than the cap. */
static size_t gunzip_start_size(size_t in_len, size_t max_out)
{
    size_t n = in_len > SIZE_MAX / 4 ? SIZE_MAX : in_len * 4;
    if (n < GUNZIP_MIN_START)
        n = GUNZIP_MIN_START;
    if (n > max_out)
        n = max_out;
    return n;
}

/* Feeds zlib at most UINT_MAX bytes at a time (avail_in is an unsigned int). */
static void gunzip_feed(z_stream *zs, const uint8_t *in, size_t in_len, size_t *consumed)
{
    size_t left = in_len - *consumed;
    if (zs->avail_in == 0 && left > 0) {
        zs->next_in = (Bytef *)(uintptr_t)(in + *consumed);
        zs->avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
        *consumed += zs->avail_in;
    }
}

ottr_status http_gunzip(const uint8_t *in, size_t in_len, size_t max_out, uint8_t **out,
                        size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (in_len == 0)
        return OTTR_ERR_CORRUPT;

    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* 16 + MAX_WBITS: gzip wrapper only (header, CRC-32 and length checked). */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return OTTR_ERR_NOMEM;

    ottr_status st = OTTR_OK;
    size_t cap = gunzip_start_size(in_len, max_out);
    size_t len = 0;
    size_t consumed = 0;
    uint8_t *buf = cap ? malloc(cap) : NULL;
    if (cap && buf == NULL) {
        inflateEnd(&zs);
        return OTTR_ERR_NOMEM;
    }

    for (;;) {
        gunzip_feed(&zs, in, in_len, &consumed);
        if (len == cap) {
            if (cap >= max_out) {
                /* Full at the cap: any further byte means the body is too large. */
                uint8_t probe;
                zs.next_out = &probe;
                zs.avail_out = 1;
                int rc = inflate(&zs, Z_NO_FLUSH);
                if (zs.avail_out == 0) {
                    st = OTTR_ERR_TOO_LARGE;
                    break;
                }
                if (rc == Z_STREAM_END)
                    goto member_end;
                if (rc == Z_BUF_ERROR && zs.avail_in == 0 && consumed == in_len) {
                    st = OTTR_ERR_CORRUPT; /* truncated */
                    break;
                }
                if (rc != Z_OK && rc != Z_BUF_ERROR) {
                    st = rc == Z_MEM_ERROR ? OTTR_ERR_NOMEM : OTTR_ERR_CORRUPT;
                    break;
                }
                continue;
            }
            size_t ncap = cap > max_out / 2 ? max_out : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (nb == NULL) {
                st = OTTR_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - len;
        zs.next_out = buf + len;
        zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        uInt before = zs.avail_out;
        int rc = inflate(&zs, Z_NO_FLUSH);
        len += before - zs.avail_out;
        if (rc == Z_STREAM_END)
            goto member_end;
        if (rc == Z_OK)
            continue;
        if (rc == Z_BUF_ERROR) {
            /* No progress possible: out of input (truncated) unless more is left. */
            if (zs.avail_in == 0 && consumed == in_len) {
                st = OTTR_ERR_CORRUPT;
                break;
            }
            continue;
        }
        st = rc == Z_MEM_ERROR ? OTTR_ERR_NOMEM : OTTR_ERR_CORRUPT;
        break;

    member_end:
        /* A gzip file may hold several members back to back; anything else after
         * the end of a member is garbage. */
        if (zs.avail_in == 0 && consumed == in_len)
            break;
        if (inflateReset(&zs) != Z_OK) {
            st = OTTR_ERR_CORRUPT;
            break;
        }
    }
    inflateEnd(&zs);
    if (st != OTTR_OK) {
        free(buf);
        return st;
    }
    if (len == 0) {
        free(buf);
        buf = NULL;
    }
    *out = buf;
    *out_len = len;
    return OTTR_OK;
}
