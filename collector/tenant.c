/* collector/tenant.c - which tenant a request belongs to, settled in one place
 * for every receiver and route: Tempo's X-Scope-OrgID header (gRPC metadata
 * x-scope-orgid), the tenant a credential is bound to, and whether tenancy is
 * on at all. The name becomes the store's tenant number here, once per
 * request, never per span. */
#include <stdio.h>
#include <string.h>

#include "collector/collector.h"

/* ottr_tenant_refused_requests_total{reason} */
static void count_refusal(tenant_verdict v)
{
    static const char help[] = "Requests refused for their tenant: no X-Scope-OrgID with "
                               "multitenancy_enabled, an invalid one, or one naming another "
                               "tenant than the credential's.";
    const char *reason = v == TENANT_MISSING     ? "reason=\"missing\""
                         : v == TENANT_INVALID   ? "reason=\"invalid\""
                         : v == TENANT_FORBIDDEN ? "reason=\"forbidden\""
                                                 : "reason=\"failed\"";
    ottr_counter_add(ottr_counter_get("ottr_tenant_refused_requests_total", help, reason), 1);
}

static tenant_verdict refuse(tenant_verdict v, char *msg, size_t msglen, const char *text)
{
    snprintf(msg, msglen, "%s", text);
    count_refusal(v);
    return v;
}

tenant_verdict collector_tenant_resolve(const tenant_ctx *tc, const char *header, size_t hlen,
                                        const char *bound, bool create, uint32_t *id, char *msg,
                                        size_t msglen)
{
    *id = STORE_TENANT_DEFAULT;
    if (!tc->enabled)
        return TENANT_OK;
    const char *name = header;
    size_t len = header ? hlen : 0;
    if (len == 0) {
        if (bound == NULL)
            return refuse(TENANT_MISSING, msg, msglen,
                          "no org id: multitenancy is enabled and the request has no "
                          "X-Scope-OrgID header");
        name = bound;
        len = strlen(bound);
    }
    if (len > 0 && memchr(name, '|', len) != NULL)
        return refuse(TENANT_INVALID, msg, msglen,
                      "X-Scope-OrgID names several tenants: multi-tenant requests are not "
                      "supported");
    if (!collector_tenant_valid(name, len))
        return refuse(TENANT_INVALID, msg, msglen,
                      "invalid X-Scope-OrgID: want 1 to 150 letters, digits or !-_.*'()");
    if (bound && (strlen(bound) != len || memcmp(bound, name, len) != 0))
        return refuse(TENANT_FORBIDDEN, msg, msglen,
                      "the credential is not allowed to use the tenant named in X-Scope-OrgID");
    ottr_status st = store_tenant_id(tc->st, name, len, create, id);
    if (st == OTTR_ERR_TOO_LARGE)
        return refuse(TENANT_FAILED, msg, msglen, "too many tenants: no new tenant is taken");
    if (st != OTTR_OK)
        return refuse(TENANT_FAILED, msg, msglen, "cannot record the tenant: retry later");
    return TENANT_OK;
}

int collector_tenant_http_status(tenant_verdict v)
{
    switch (v) {
    case TENANT_OK:
        return 200;
    case TENANT_MISSING:
        return 401;
    case TENANT_INVALID:
        return 400;
    case TENANT_FORBIDDEN:
        return 403;
    case TENANT_FAILED:
        break;
    }
    return 503;
}

int collector_tenant_grpc_code(tenant_verdict v)
{
    switch (v) {
    case TENANT_OK:
        return 0;
    case TENANT_MISSING:
        return 16; /* UNAUTHENTICATED */
    case TENANT_INVALID:
        return 3; /* INVALID_ARGUMENT */
    case TENANT_FORBIDDEN:
        return 7; /* PERMISSION_DENIED */
    case TENANT_FAILED:
        break;
    }
    return 14; /* UNAVAILABLE */
}

tenant_verdict collector_tenant_of_request(const tenant_ctx *tc, const http_request *req,
                                           bool create, uint32_t *id, char *msg, size_t msglen)
{
    *id = STORE_TENANT_DEFAULT;
    if (!tc->enabled)
        return TENANT_OK;
    const char *org = http_request_header(req, "x-scope-orgid");
    const char *bound = req->principal.tenant[0] ? req->principal.tenant : NULL;
    return collector_tenant_resolve(tc, org, org ? strlen(org) : 0, bound, create, id, msg, msglen);
}
