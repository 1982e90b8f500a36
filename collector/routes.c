/* collector/routes.c - what the query routes share: the HTTP status of a
 * query/ result. */
#include "collector/collector.h"

int collector_routes_http_status(ottr_status st)
{
    switch (st) {
    case OTTR_OK:
        return 200;
    case OTTR_ERR_INVALID:
        return 400;
    case OTTR_ERR_NOTFOUND:
        return 404;
    case OTTR_ERR_EXISTS:
        return 409;
    case OTTR_ERR_BUSY:
        return 503;
    default:
        return 500;
    }
}
