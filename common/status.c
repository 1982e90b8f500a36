/* common/status.c - names of the ottr_status codes. */
#include "common/common.h"

const char *ottr_status_str(ottr_status st)
{
    switch (st) {
    case OTTR_OK:
        return "ok";
    case OTTR_ERR_NOMEM:
        return "out of memory";
    case OTTR_ERR_INVALID:
        return "invalid argument";
    case OTTR_ERR_BUSY:
        return "busy";
    case OTTR_ERR_IO:
        return "i/o error";
    case OTTR_ERR_NOTFOUND:
        return "not found";
    case OTTR_ERR_TOO_LARGE:
        return "too large";
    case OTTR_ERR_CORRUPT:
        return "corrupt data";
    case OTTR_ERR_INTERNAL:
        return "internal error";
    case OTTR_ERR_EXISTS:
        return "already exists";
    case OTTR_ERR_LIMIT:
        return "over the tenant's limit";
    }
    return "unknown status";
}
