/* fuzz/gzip.c - fuzzes http_gunzip (http/gunzip.c), which inflates request
 * bodies under a cap: the input as a gzip stream (bounded output, no crash, no
 * leak), and the input compressed with zlib and inflated back unchanged. */
#include <zlib.h>

#include "fuzz/fuzz.h"
#include "http/http.h"

#define MAX_OUT (1u << 20)

static void roundtrip(const uint8_t *data, size_t size)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    FUZZ_CHECK(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t cap = deflateBound(&zs, size);
    uint8_t *gz = malloc(cap);
    FUZZ_CHECK(gz != NULL);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)size;
    zs.next_out = gz;
    zs.avail_out = (uInt)cap;
    FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    size_t gz_len = zs.total_out;
    deflateEnd(&zs);

    uint8_t *out = NULL;
    size_t out_len = 0;
    ottr_status st = http_gunzip(gz, gz_len, MAX_OUT, &out, &out_len);
    if (size <= MAX_OUT) {
        FUZZ_CHECK(st == OTTR_OK && out_len == size);
        FUZZ_CHECK(size == 0 || memcmp(out, data, size) == 0);
    } else {
        FUZZ_CHECK(st == OTTR_ERR_TOO_LARGE);
    }
    free(out);
    free(gz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    /* A small cap for the hostile side, so that bombs are cut early. */
    ottr_status st = http_gunzip(data, size, 256 * 1024, &out, &out_len);
    if (st == OTTR_OK)
        FUZZ_CHECK(out_len <= 256 * 1024 && (out_len == 0) == (out == NULL));
    else
        FUZZ_CHECK(out == NULL &&
                   (st == OTTR_ERR_TOO_LARGE || st == OTTR_ERR_CORRUPT || st == OTTR_ERR_NOMEM));
    free(out);
    roundtrip(data, size);
    return 0;
}
