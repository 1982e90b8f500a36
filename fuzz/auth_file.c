/* fuzz/auth_file.c - fuzzes the parsers of credential files (http/auth.c): the
 * same bytes as a tokens file, a users file and a certificate-names file. A
 * refusal must name a line and never quote it. */
#include <string.h>

#include "fuzz/fuzz.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const http_auth_type types[] = {HTTP_AUTH_BEARER, HTTP_AUTH_BASIC, HTTP_AUTH_MTLS};
    char err[256];
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        int n = http_auth_parse_for_test(types[i], (const char *)data, size, err, sizeof(err));
        FUZZ_CHECK(n >= -1);
        if (n < 0)
            FUZZ_CHECK(strncmp(err, "<text>:", 7) == 0 || strcmp(err, "out of memory") == 0 ||
                       strcmp(err, "no random key") == 0);
    }
    return 0;
}
