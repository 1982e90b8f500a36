/* fuzz/h2c.c - fuzzes the HTTP/2 side of the HTTP server (http/http2.c over an
 * nghttp2 server session): the input is the frames a client sends after the
 * connection preface (which the target adds), fed through the server's read
 * path with no sockets; the server's own frames are pumped out and dropped. */
#include "fuzz/http_feed.h"

static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_run(data, size, preface, sizeof(preface) - 1);
    return 0;
}
