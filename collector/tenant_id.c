/* collector/tenant_id.c - what a tenant ID may be: Tempo's rule (dskit's), so
 * that an ID Tempo takes is taken here and the other way round. */
#include <string.h>

#include "collector/collector.h"

static const char allowed_punct[] = "!-_.*'()";

bool collector_tenant_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > STORE_TENANT_NAME_MAX)
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c != 0 && strchr(allowed_punct, c) != NULL);
        if (!ok)
            return false;
    }
    return true;
}
