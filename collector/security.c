/* collector/security.c - TLS and authentication of ottrd's listeners from the
 * configuration: checks the keys that go together, loads each listener's
 * credentials, warns about listeners open to the network without
 * authentication, and reloads credential files on SIGHUP. */
#include <stdio.h>
#include <string.h>

#include "collector/collector.h"

static const char *const listener_names[COLLECTOR_NLISTENERS] = {"grpc",   "http",  "query",
                                                                 "jaeger", "admin", "zipkin"};

const char *collector_listener_name(collector_listener l)
{
    return listener_names[l];
}

static const ottr_listener_security *sec_of(const ottr_config *c, collector_listener l)
{
    switch (l) {
    case LISTENER_GRPC:
        return &c->grpc_sec;
    case LISTENER_HTTP:
        return &c->http_sec;
    case LISTENER_QUERY:
        return &c->query_sec;
    case LISTENER_JAEGER:
        return &c->jaeger_sec;
    case LISTENER_ZIPKIN:
        return &c->zipkin_sec;
    default:
        return &c->admin_sec;
    }
}

static const char *addr_of(const ottr_config *c, collector_listener l)
{
    const char *a[COLLECTOR_NLISTENERS] = {c->grpc_addr,   c->http_addr,  c->query_addr,
                                           c->jaeger_addr, c->admin_addr, c->zipkin_addr};
    return a[l];
}

int collector_addr_is_loopback(const char *addr)
{
    char host[256];
    int port;
    if (ottr_parse_addr(addr, host, sizeof(host), &port) != 0)
        return 0;
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "[::1]") == 0 || strcmp(host, "localhost") == 0;
}

/* Checks the keys of |l| that go together. */
static int check_listener(const ottr_config *c, collector_listener l, char *err, size_t errlen)
{
    const ottr_listener_security *s = sec_of(c, l);
    const char *n = listener_names[l];
    if ((s->cert_file == NULL) != (s->key_file == NULL)) {
        snprintf(err, errlen, "%s.tls: cert_file and key_file go together", n);
        return -1;
    }
    if (s->client_ca_file != NULL && s->cert_file == NULL) {
        snprintf(err, errlen, "%s.tls.client_ca_file needs %s.tls.cert_file and key_file", n, n);
        return -1;
    }
    if ((s->auth_type == HTTP_AUTH_BEARER || s->auth_type == HTTP_AUTH_BASIC) &&
        s->auth_file == NULL) {
        snprintf(err, errlen, "%s.auth.type %s needs %s.auth.file", n,
                 s->auth_type == HTTP_AUTH_BEARER ? "bearer" : "basic", n);
        return -1;
    }
    if (s->auth_type == HTTP_AUTH_MTLS && s->client_ca_file == NULL) {
        snprintf(err, errlen, "%s.auth.type mtls needs %s.tls.client_ca_file", n, n);
        return -1;
    }
    if (l == LISTENER_ADMIN && s->auth_type == HTTP_AUTH_NONE &&
        !collector_addr_is_loopback(c->admin_addr)) {
        snprintf(err, errlen,
                 "admin.addr %s is not a loopback address: set admin.auth.type (and "
                 "admin.auth.file) so that only administrators can write checkpoints",
                 c->admin_addr);
        return -1;
    }
    return 0;
}

int collector_security_check(const ottr_config *c, char *err, size_t errlen)
{
    for (int l = 0; l < COLLECTOR_NLISTENERS; l++)
        if (check_listener(c, (collector_listener)l, err, errlen) != 0)
            return -1;
    return 0;
}

int collector_security_init(collector_security *sec, const ottr_config *c, char *err, size_t errlen)
{
    memset(sec, 0, sizeof(*sec));
    if (collector_security_check(c, err, errlen) != 0)
        return -1;
    for (int l = 0; l < COLLECTOR_NLISTENERS; l++) {
        const ottr_listener_security *s = sec_of(c, (collector_listener)l);
        if (s->cert_file != NULL) {
            sec->has_tls[l] = 1;
            sec->tls[l] = (http_tls_options){.cert_file = s->cert_file,
                                             .key_file = s->key_file,
                                             .client_ca_file = s->client_ca_file,
                                             .min_tls13 = s->min_version == 1};
        }
        char inner[512];
        sec->auth[l] = http_auth_new(listener_names[l], (http_auth_type)s->auth_type, s->auth_file,
                                     inner, sizeof(inner));
        if (sec->auth[l] == NULL) {
            snprintf(err, errlen, "%s.auth: %s", listener_names[l], inner);
            collector_security_free(sec);
            return -1;
        }
    }
    return 0;
}

void collector_security_free(collector_security *sec)
{
    for (int l = 0; l < COLLECTOR_NLISTENERS; l++) {
        http_auth_free(sec->auth[l]);
        sec->auth[l] = NULL;
    }
}

void collector_security_warn(const ottr_config *c, const collector_security *sec)
{
    for (int l = 0; l < COLLECTOR_NLISTENERS; l++) {
        const char *addr = addr_of(c, (collector_listener)l);
        if (http_auth_get_type(sec->auth[l]) == HTTP_AUTH_NONE && !collector_addr_is_loopback(addr))
            OTTR_WARN("collector",
                      "%s listener %s is reachable from the network without authentication: "
                      "anyone who reaches it can %s (set %s.auth.type, docs/SECURITY.md)",
                      listener_names[l], addr,
                      l == LISTENER_GRPC || l == LISTENER_HTTP ? "write traces"
                                                               : "read every trace",
                      listener_names[l]);
    }
}

int collector_security_reload(collector_security *sec)
{
    int rc = 0;
    for (int l = 0; l < COLLECTOR_NLISTENERS; l++) {
        char err[512];
        if (http_auth_reload(sec->auth[l], err, sizeof(err)) != 0) {
            OTTR_ERROR("collector", "%s.auth: reload failed, keeping the current credentials: %s",
                       listener_names[l], err);
            rc = -1;
        }
    }
    return rc;
}

/* The query port lets /ready through without credentials, as Tempo does: load
 * balancers and orchestrators probe it, and it tells nothing about the data. So
 * are the web UI's files: the page asks for the credential and sends it on every
 * API call. */
int collector_query_auth(void *ctx, const http_request *req, const char *peer, http_principal *who,
                         http_response *resp)
{
    if (strcmp(req->path, "/ready") == 0 || collector_routes_ui_path(req->path)) {
        memset(who, 0, sizeof(*who));
        return 0;
    }
    return http_auth_request(ctx, req, peer, who, resp);
}
