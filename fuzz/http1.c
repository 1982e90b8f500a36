/* fuzz/http1.c - fuzzes the HTTP server's read path from the first byte a
 * client sends: sniffing the HTTP/2 preface, then HTTP/1.1 (http/http1.c over
 * http-parser: request line, headers, Content-Length and chunked bodies,
 * pipelining, Expect: 100-continue, upgrades, limits), with no sockets. */
#include "fuzz/http_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_run(data, size, NULL, 0);
    return 0;
}
