/* otlp/zipkin_json.c - reads Zipkin's JSON v2 list of spans (zipkin2-api.yaml,
 * "ListOfSpans") into zk_span structs in the request arena: IDs as 1 to 16 or
 * 32 hex digits, times in microseconds, tags as string values. Fields it does
 * not know are ignored; a known field of the wrong type is an error, as Zipkin's
 * own reader refuses it. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "otlp/zipkin.h"

/* Zipkin's JSON is four levels deep (list, span, endpoint or annotation). */
#define ZK_JSON_MAX_DEPTH 16

int otlp_zk_parse_hex_id(const char *s, size_t len, uint8_t *out, size_t n)
{
    if (len == 0 || len > 2 * n)
        return -1;
    memset(out, 0, n);
    /* Right-aligned: the last digit is the low nibble of the last byte. */
    for (size_t i = 0; i < len; i++) {
        int d = ottr_hex_digit((unsigned char)s[len - 1 - i]);
        if (d < 0)
            return -1;
        out[n - 1 - i / 2] |= (uint8_t)(i % 2 ? d << 4 : d);
    }
    return 0;
}

int otlp_zk_kind_parse(const char *s)
{
    static const char *const names[] = {"CLIENT", "SERVER", "PRODUCER", "CONSUMER"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i + 1;
    return -1;
}

int otlp_zj_fail(otlp_zj *z, const char *field, const char *what)
{
    if (z->st == OTTR_OK) {
        z->st = OTTR_ERR_INVALID;
        snprintf(z->err, z->errlen, "span %zu: %s %s", z->index, field, what);
    }
    return -1;
}

void *otlp_zj_alloc(otlp_zj *z, size_t n)
{
    void *p = ottr_arena_alloc(z->a, n ? n : 1);
    if (p == NULL && z->st == OTTR_OK) {
        z->st = otlp_alloc_failure(z->a, n ? n : 1);
        snprintf(z->err, z->errlen, "out of memory");
    }
    return p;
}

const char *otlp_zj_strdup(otlp_zj *z, const char *s, size_t n)
{
    char *p = otlp_zj_alloc(z, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A string field: 0 with |*out| (NULL for null), or -1. */
int otlp_zj_str(otlp_zj *z, json_object *v, const char *field, const char **out)
{
    if (v == NULL || json_object_is_type(v, json_type_null)) {
        *out = NULL;
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return otlp_zj_fail(z, field, "is not a string");
    *out = otlp_zj_strdup(z, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    return *out ? 0 : -1;
}

/* A non-negative integer field (microseconds, a port): 1 present, 0 absent or
 * null, -1. Integral doubles are taken, as JavaScript clients may send them. */
int otlp_zj_u64(otlp_zj *z, json_object *v, const char *field, uint64_t max, uint64_t *out)
{
    if (v == NULL || json_object_is_type(v, json_type_null))
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);
        if (i < 0 || (uint64_t)i > max)
            return otlp_zj_fail(z, field, "is out of range");
        *out = (uint64_t)i;
        return 1;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!(d >= 0 && d <= (double)max) || d != (double)(uint64_t)d)
            return otlp_zj_fail(z, field, "is not a non-negative integer");
        *out = (uint64_t)d;
        return 1;
    }
    return otlp_zj_fail(z, field, "is not a number");
}

/* An ID field of at most |n| bytes: 1 present, 0 absent, -1. */
int otlp_zj_id(otlp_zj *z, json_object *v, const char *field, uint8_t *out, size_t n)
{
    if (v == NULL || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return otlp_zj_fail(z, field, "is not a string");
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (otlp_zk_parse_hex_id(s, len, out, n) != 0)
        return otlp_zj_fail(z, field,
                            n == 16 ? "should be 1 to 32 lower-hex characters"
                                    : "should be 1 to 16 lower-hex characters");
    return 1;
}

int otlp_zj_endpoint(otlp_zj *z, json_object *v, const char *field, zk_endpoint *e)
{
    memset(e, 0, sizeof(*e));
    if (v == NULL || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return otlp_zj_fail(z, field, "is not an object");
    uint64_t port = 0;
    if (otlp_zj_str(z, json_object_object_get(v, "serviceName"), "serviceName", &e->service) != 0 ||
        otlp_zj_str(z, json_object_object_get(v, "ipv4"), "ipv4", &e->ipv4) != 0 ||
        otlp_zj_str(z, json_object_object_get(v, "ipv6"), "ipv6", &e->ipv6) != 0 ||
        otlp_zj_u64(z, json_object_object_get(v, "port"), "port", 65535, &port) < 0)
        return -1;
    if (e->service && e->service[0] == '\0')
        e->service = NULL;
    if (e->ipv4 && e->ipv4[0] == '\0')
        e->ipv4 = NULL;
    if (e->ipv6 && e->ipv6[0] == '\0')
        e->ipv6 = NULL;
    e->port = (int)port;
    return 0;
}

static int zj_annotations(otlp_zj *z, json_object *v, zk_span *s)
{
    if (v == NULL || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_array))
        return otlp_zj_fail(z, "annotations", "is not an array");
    size_t n = json_object_array_length(v);
    s->annotations = otlp_zj_alloc(z, n * sizeof(zk_annotation));
    if (s->annotations == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(v, i);
        if (!json_object_is_type(o, json_type_object))
            return otlp_zj_fail(z, "annotations", "holds something other than objects");
        zk_annotation *an = &s->annotations[s->nannotations];
        const char *value = NULL;
        if (otlp_zj_u64(z, json_object_object_get(o, "timestamp"), "annotation timestamp",
                        INT64_MAX / 1000, &an->timestamp_us) < 0 ||
            otlp_zj_str(z, json_object_object_get(o, "value"), "annotation value", &value) != 0)
            return -1;
        an->value = value ? value : "";
        s->nannotations++;
    }
    return 0;
}

static int zj_tags(otlp_zj *z, json_object *v, zk_span *s)
{
    if (v == NULL || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return otlp_zj_fail(z, "tags", "is not an object");
    size_t n = (size_t)json_object_object_length(v);
    s->tags = otlp_zj_alloc(z, n * sizeof(zk_tag));
    if (s->tags == NULL)
        return -1;
    json_object_object_foreach(v, key, val)
    {
        if (val == NULL || json_object_is_type(val, json_type_null))
            continue; /* no value: nothing to keep */
        if (json_object_is_type(val, json_type_object) || json_object_is_type(val, json_type_array))
            return otlp_zj_fail(z, "tags", "values should be strings");
        /* Numbers and booleans in their JSON text. */
        zk_tag *t = &s->tags[s->ntags];
        t->key = otlp_zj_strdup(z, key, strlen(key));
        t->value =
            otlp_zj_strdup(z, json_object_get_string(val), strlen(json_object_get_string(val)));
        if (t->key == NULL || t->value == NULL)
            return -1;
        s->ntags++;
    }
    return 0;
}

int otlp_zj_bool(otlp_zj *z, json_object *v, const char *field, bool *out)
{
    if (v == NULL || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_boolean))
        return otlp_zj_fail(z, field, "is not a boolean");
    *out = json_object_get_boolean(v);
    return 0;
}

static int zj_span(otlp_zj *z, json_object *o, zk_span *s)
{
    memset(s, 0, sizeof(*s));
    if (!json_object_is_type(o, json_type_object))
        return otlp_zj_fail(z, "span", "is not an object");
    int r = otlp_zj_id(z, json_object_object_get(o, "traceId"), "traceId", s->trace_id, 16);
    if (r == 0)
        return otlp_zj_fail(z, "traceId", "is missing");
    if (r < 0)
        return -1;
    r = otlp_zj_id(z, json_object_object_get(o, "id"), "id", s->id, 8);
    if (r == 0)
        return otlp_zj_fail(z, "id", "is missing");
    if (r < 0)
        return -1;
    r = otlp_zj_id(z, json_object_object_get(o, "parentId"), "parentId", s->parent_id, 8);
    if (r < 0)
        return -1;
    s->has_parent = r == 1;

    const char *kind = NULL, *name = NULL;
    if (otlp_zj_str(z, json_object_object_get(o, "kind"), "kind", &kind) != 0 ||
        otlp_zj_str(z, json_object_object_get(o, "name"), "name", &name) != 0)
        return -1;
    if (kind && kind[0] && (s->kind = otlp_zk_kind_parse(kind)) < 0)
        return otlp_zj_fail(z, "kind", "should be CLIENT, SERVER, PRODUCER or CONSUMER");
    if (s->kind < 0)
        s->kind = ZK_KIND_NONE;
    s->name = name ? name : "";
    r = otlp_zj_u64(z, json_object_object_get(o, "timestamp"), "timestamp", INT64_MAX / 1000,
                    &s->timestamp_us);
    if (r < 0)
        return -1;
    s->has_timestamp = r == 1 && s->timestamp_us > 0;
    if (otlp_zj_u64(z, json_object_object_get(o, "duration"), "duration", INT64_MAX / 1000,
                    &s->duration_us) < 0 ||
        otlp_zj_endpoint(z, json_object_object_get(o, "localEndpoint"), "localEndpoint",
                         &s->local) != 0 ||
        otlp_zj_endpoint(z, json_object_object_get(o, "remoteEndpoint"), "remoteEndpoint",
                         &s->remote) != 0 ||
        zj_annotations(z, json_object_object_get(o, "annotations"), s) != 0 ||
        zj_tags(z, json_object_object_get(o, "tags"), s) != 0 ||
        otlp_zj_bool(z, json_object_object_get(o, "shared"), "shared", &s->shared) != 0)
        return -1;
    bool debug = false;
    return otlp_zj_bool(z, json_object_object_get(o, "debug"), "debug", &debug);
}

/* Parses |json| as one JSON array (depth-limited). Returns it (the caller puts
 * it), or NULL with |*st| and a message in |err|. */
static json_object *parse_list(const char *json, size_t len, ottr_status *st, char *err,
                               size_t errlen)
{
    *st = OTTR_ERR_INVALID;
    if (len > INT32_MAX) {
        snprintf(err, errlen, "body too large");
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(ZK_JSON_MAX_DEPTH);
    if (tok == NULL) {
        snprintf(err, errlen, "out of memory");
        *st = OTTR_ERR_NOMEM;
        return NULL;
    }
    json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (root == NULL || jerr != json_tokener_success) {
        json_object_put(root);
        snprintf(err, errlen, "%s (at byte %zu)",
                 jerr == json_tokener_continue ? "unexpected end of input"
                                               : json_tokener_error_desc(jerr),
                 used);
        return NULL;
    }
    for (; used < len; used++) {
        char c = json[used];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            json_object_put(root);
            snprintf(err, errlen, "unexpected bytes after the list (at byte %zu)", used);
            return NULL;
        }
    }
    if (!json_object_is_type(root, json_type_array)) {
        json_object_put(root);
        snprintf(err, errlen, "expected a JSON array of spans");
        return NULL;
    }
    *st = OTTR_OK;
    return root;
}

ottr_status otlp_zj_read_list(ottr_arena *a, const char *json, size_t len, size_t per_span,
                              otlp_zj_span_fn fn, zk_spans *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    ottr_status st;
    json_object *root = parse_list(json, len, &st, err, errlen);
    if (root == NULL)
        return st;
    otlp_zj z = {.a = a, .st = OTTR_OK, .err = err, .errlen = errlen};
    size_t n = json_object_array_length(root);
    if (n <= SIZE_MAX / sizeof(zk_span) / per_span)
        out->v = otlp_zj_alloc(&z, n * per_span * sizeof(zk_span));
    for (size_t i = 0; out->v && i < n; i++) {
        size_t k = 0;
        z.index = i;
        if (fn(&z, json_object_array_get_idx(root, i), &out->v[out->n], &k) != 0)
            break;
        out->n += k;
    }
    json_object_put(root);
    return out->v == NULL && z.st == OTTR_OK ? OTTR_ERR_NOMEM : z.st;
}

static int read_span(otlp_zj *z, json_object *o, zk_span *out, size_t *n)
{
    if (zj_span(z, o, out) != 0)
        return -1;
    *n = 1;
    return 0;
}

ottr_status otlp_zk_decode_json(ottr_arena *a, const char *json, size_t len, zk_spans *out,
                                char *err, size_t errlen)
{
    return otlp_zj_read_list(a, json, len, 1, read_span, out, err, errlen);
}
