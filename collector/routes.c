/* collector/routes.c - what the query routes share: the HTTP status of a
 * query/ result, the answer's status and type when it succeeded, and the store
 * view of a request's tenant. */
#include <string.h>

#include "collector/collector.h"

bool collector_routes_view(const ottrd_query_ctx *q, const http_request *req, http_response *resp,
                           collector_refuse_fn refuse, store_view *v)
{
    uint32_t id;
    char msg[160];
    tenant_verdict tv = collector_tenant_of_request(&q->tenants, req, false, &id, msg, sizeof(msg));
    if (tv != TENANT_OK) {
        refuse(req, resp, collector_tenant_http_status(tv), msg);
        return false;
    }
    *v = store_view_of(q->st, id);
    return true;
}

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
