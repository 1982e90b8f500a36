/* collector/routes.c - what the query routes share: the HTTP status of a
 * query/ result, and the answer's status and type when it succeeded. */
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

int collector_routes_finish(http_response *resp, ottr_status st, const char *err, const char *type)
{
    int code = collector_routes_http_status(st);
    if (code == 200) {
        resp->status = 200;
        http_response_set_type(resp, type);
    } else if (code == 500) {
        OTTR_ERROR("query", "%s", err);
    }
    return code;
}
