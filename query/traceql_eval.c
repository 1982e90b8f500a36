/* query/traceql_eval.c - evaluates TraceQL on one span: conditions on
 * intrinsics and on attributes of each scope (span, resource, events, links,
 * instrumentation scope, the parent span), values of field expressions, and
 * the comparison and arithmetic rules of values. Span sets are built from it
 * in traceql_sets.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "query/tqeval.h"

#define ANY_STRING OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_BOOL   OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define ANY_INT    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define ANY_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE
#define ANY_ARRAY  OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
#define ANY_KVLIST OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE

void query_tq_trace_info_from_summary(tq_trace_info *ti, const store_trace_summary *sum)
{
    ti->root_name = sum->root_service[0] || sum->root_name[0] ? sum->root_name : NULL;
    ti->root_service = sum->root_service[0] ? sum->root_service : NULL;
    ti->duration_ns = sum->end_ns > sum->start_ns ? sum->end_ns - sum->start_ns : 0;
}

static int cmp_order(tq_op op, int c)
{
    switch (op) {
    case TQ_EQ:
        return c == 0;
    case TQ_NE:
        return c != 0;
    case TQ_GT:
        return c > 0;
    case TQ_GE:
        return c >= 0;
    case TQ_LT:
        return c < 0;
    case TQ_LE:
        return c <= 0;
    default:
        return 0;
    }
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* A string value against a literal; a non-string literal matches by its text
 * for = and != (the index stores every value in string form). */
static bool cmp_str(const tq_node *n, const char *s)
{
    if (s == NULL)
        s = "";
    const tq_literal *l = &n->lit;
    if (n->op == TQ_RE || n->op == TQ_NRE) {
        int m = l->re && regexec(l->re, s, 0, NULL, 0) == 0;
        return n->op == TQ_RE ? m : !m;
    }
    if (l->type != TQL_STRING && n->op != TQ_EQ && n->op != TQ_NE)
        return false;
    if (l->type == TQL_DURATION || l->type == TQL_NIL)
        return false;
    return cmp_order(n->op, cmp_bytes(s, strlen(s), l->text, l->len));
}

static bool cmp_f64(tq_op op, double a, double b)
{
    if (a != a || b != b)
        return op == TQ_NE;
    return cmp_order(op, a < b ? -1 : a > b ? 1 : 0);
}

/* The text of a scalar value, as the store indexes it. */
static const char *any_text(const otlp_any *v, char *tmp, size_t n)
{
    switch (v->value_case) {
    case ANY_STRING:
        return v->string_value ? v->string_value : "";
    case ANY_BOOL:
        return v->bool_value ? "true" : "false";
    case ANY_INT:
        snprintf(tmp, n, "%lld", (long long)v->int_value);
        return tmp;
    case ANY_DOUBLE:
        otlp_double_text(tmp, n, v->double_value);
        return tmp;
    default:
        return NULL;
    }
}

/* An array or map against a string literal: by its JSON text, as the store
 * indexes it and Jaeger shows it. */
static bool cmp_json_text(const tq_node *n, const otlp_any *v)
{
    ottr_buf b = {0};
    otlp_json_any_plain(&b, v);
    bool r = !b.oom && b.data && strlen(b.data) == b.len && cmp_str(n, b.data);
    ottr_buf_free(&b);
    return r;
}

static bool cmp_any(const tq_node *n, const otlp_any *v);

/* An array, as Tempo reads it: = =~ and the orderings hold when an element
 * satisfies them, != and !~ when every element does (none is equal); a string
 * literal also meets the array's JSON text, as Jaeger shows it. Elements that
 * are arrays or maps count by their JSON text only. */
static bool cmp_array(const tq_node *n, const otlp_any *v)
{
    const tq_literal *l = &n->lit;
    bool every = n->op == TQ_NE || n->op == TQ_NRE;
    if (l->type == TQL_STRING &&
        (n->op == TQ_EQ || n->op == TQ_NE || n->op == TQ_RE || n->op == TQ_NRE)) {
        bool text = cmp_json_text(n, v);
        if (text != every)
            return text;
    }
    size_t count = v->array_value ? v->array_value->n_values : 0;
    for (size_t i = 0; i < count; i++) {
        const otlp_any *e = v->array_value->values[i];
        bool r = e && e->value_case != ANY_ARRAY && cmp_any(n, e);
        if (r != every)
            return r;
    }
    return every;
}

static bool cmp_any(const tq_node *n, const otlp_any *v)
{
    if (v == NULL)
        return false;
    if (v->value_case == ANY_ARRAY)
        return cmp_array(n, v);
    const tq_literal *l = &n->lit;
    char tmp[48];
    if (v->value_case == ANY_STRING)
        return cmp_str(n, v->string_value);
    if (n->op == TQ_RE || n->op == TQ_NRE || l->type == TQL_STRING) {
        if (l->type == TQL_STRING && n->op != TQ_EQ && n->op != TQ_NE && n->op != TQ_RE &&
            n->op != TQ_NRE)
            return false;
        if (v->value_case == ANY_ARRAY || v->value_case == ANY_KVLIST)
            return l->type == TQL_STRING && cmp_json_text(n, v);
        const char *t = any_text(v, tmp, sizeof(tmp));
        return t ? cmp_str(n, t) : false;
    }
    switch (l->type) {
    case TQL_INT:
        if (v->value_case == ANY_INT)
            return cmp_order(n->op, v->int_value < l->i ? -1 : v->int_value > l->i ? 1 : 0);
        if (v->value_case == ANY_DOUBLE)
            return cmp_f64(n->op, v->double_value, (double)l->i);
        return false;
    case TQL_FLOAT:
        if (v->value_case == ANY_INT)
            return cmp_f64(n->op, (double)v->int_value, l->f);
        if (v->value_case == ANY_DOUBLE)
            return cmp_f64(n->op, v->double_value, l->f);
        return false;
    case TQL_BOOL:
        if (v->value_case == ANY_BOOL && (n->op == TQ_EQ || n->op == TQ_NE))
            return (v->bool_value == l->b) == (n->op == TQ_EQ);
        return false;
    default:
        return false;
    }
}

/* The span a field of |n| is read from: the span itself, or its parent. */
static const otlp_span_ref *target(const tq_node *n, const tq_ctx *c, const otlp_span_ref *s)
{
    if (!n->parent)
        return s;
    if (c->t == NULL || s->parent < 0 || (size_t)s->parent >= c->t->nspans)
        return NULL;
    return &c->t->spans[s->parent];
}

const otlp_any *query_tq_attr(const otlp_span_ref *s, tq_scope scope, const char *key)
{
    const otlp_span *sp = s->span;
    const otlp_any *v = NULL;
    switch (scope) {
    case TQS_ANY:
    case TQS_SPAN:
        v = otlp_attr_find(sp->attributes, sp->n_attributes, key);
        if (v || scope == TQS_SPAN)
            return v;
        /* fall through */
    case TQS_RESOURCE:
        return s->resource ? otlp_attr_find(s->resource->attributes, s->resource->n_attributes, key)
                           : NULL;
    case TQS_EVENT:
        for (size_t i = 0; i < sp->n_events && v == NULL; i++) {
            if (sp->events[i])
                v = otlp_attr_find(sp->events[i]->attributes, sp->events[i]->n_attributes, key);
        }
        return v;
    case TQS_LINK:
        for (size_t i = 0; i < sp->n_links && v == NULL; i++) {
            if (sp->links[i])
                v = otlp_attr_find(sp->links[i]->attributes, sp->links[i]->n_attributes, key);
        }
        return v;
    case TQS_SCOPE:
        return s->scope ? otlp_attr_find(s->scope->attributes, s->scope->n_attributes, key) : NULL;
    }
    return NULL;
}

/* An attribute condition. Events and links: any of them; span and resource
 * (TQS_ANY): either. */
static bool eval_attr(const tq_node *n, const otlp_span_ref *s)
{
    const otlp_span *sp = s->span;
    bool nil = n->lit.type == TQL_NIL;
    if (n->scope == TQS_EVENT || n->scope == TQS_LINK) {
        bool present = false;
        size_t count = n->scope == TQS_EVENT ? sp->n_events : sp->n_links;
        for (size_t i = 0; i < count; i++) {
            const otlp_any *v = NULL;
            if (n->scope == TQS_EVENT && sp->events[i])
                v = otlp_attr_find(sp->events[i]->attributes, sp->events[i]->n_attributes, n->attr);
            else if (n->scope == TQS_LINK && sp->links[i])
                v = otlp_attr_find(sp->links[i]->attributes, sp->links[i]->n_attributes, n->attr);
            present |= v != NULL;
            if (!nil && cmp_any(n, v))
                return true;
        }
        return nil && (n->op == TQ_EQ ? !present : present);
    }
    const otlp_any *sv = NULL, *rv = NULL;
    if (n->scope == TQS_SCOPE)
        sv = query_tq_attr(s, TQS_SCOPE, n->attr);
    else {
        if (n->scope != TQS_RESOURCE)
            sv = otlp_attr_find(sp->attributes, sp->n_attributes, n->attr);
        if (n->scope != TQS_SPAN && s->resource)
            rv = otlp_attr_find(s->resource->attributes, s->resource->n_attributes, n->attr);
    }
    if (nil) {
        bool present = sv != NULL || rv != NULL;
        return n->op == TQ_EQ ? !present : present;
    }
    return cmp_any(n, sv) || cmp_any(n, rv);
}

static void hex_value(const ProtobufCBinaryData *id, char *tmp, tq_value *out)
{
    if (id->len == 0 || id->len > 16) {
        out->type = TQL_NIL;
        return;
    }
    ottr_hex_encode(id->data, id->len, tmp);
    out->type = TQL_STRING;
    out->s = tmp;
    out->len = 2 * id->len;
}

static void str_value(const char *s, tq_value *out)
{
    out->type = TQL_STRING;
    out->s = s ? s : "";
    out->len = strlen(out->s);
}

static void int_value(tq_lit_type type, int64_t i, tq_value *out)
{
    out->type = type;
    out->i = i;
    out->f = (double)i;
}

static void any_value(const otlp_any *v, char *tmp, tq_value *out)
{
    query_tqv_nil(out);
    if (v == NULL)
        return; /* TQL_NIL */
    switch (v->value_case) {
    case ANY_STRING:
        str_value(v->string_value, out);
        return;
    case ANY_BOOL:
        out->type = TQL_BOOL;
        out->b = v->bool_value;
        return;
    case ANY_INT:
        int_value(TQL_INT, v->int_value, out);
        return;
    case ANY_DOUBLE:
        out->type = TQL_FLOAT;
        out->f = v->double_value;
        return;
    default:
        /* arrays and maps: by their JSON text when it is short */
        (void)tmp;
        return;
    }
}

/* The value of field |n| (TQN_REF or TQN_COND) of |s|; events and links: the
 * |k|th one. Returns false when there is no |k|th event or link. */
static bool field_value(const tq_node *n, const tq_ctx *c, const otlp_span_ref *s, size_t k,
                        char *tmp, tq_value *out)
{
    query_tqv_nil(out);
    const tq_trace_info *ti = c->ti;
    switch (n->field) {
    case TQF_ROOT_NAME:
        if (ti && ti->root_name)
            str_value(ti->root_name, out);
        return k == 0;
    case TQF_ROOT_SERVICE:
        if (ti && ti->root_service)
            str_value(ti->root_service, out);
        return k == 0;
    case TQF_TRACE_DURATION:
        if (ti)
            int_value(TQL_DURATION, (int64_t)(ti->duration_ns & INT64_MAX), out);
        return k == 0;
    default:
        break;
    }
    s = target(n, c, s);
    if (s == NULL || s->span == NULL)
        return k == 0;
    const otlp_span *sp = s->span;
    size_t idx = c->t ? (size_t)(s - c->t->spans) : 0;
    switch (n->field) {
    case TQF_ATTR:
        if (n->scope == TQS_EVENT || n->scope == TQS_LINK) {
            size_t count = n->scope == TQS_EVENT ? sp->n_events : sp->n_links;
            if (k >= count)
                return k == 0;
            const otlp_any *v = NULL;
            if (n->scope == TQS_EVENT && sp->events[k])
                v = otlp_attr_find(sp->events[k]->attributes, sp->events[k]->n_attributes, n->attr);
            if (n->scope == TQS_LINK && sp->links[k])
                v = otlp_attr_find(sp->links[k]->attributes, sp->links[k]->n_attributes, n->attr);
            any_value(v, tmp, out);
            return true;
        }
        any_value(query_tq_attr(s, n->scope, n->attr), tmp, out);
        return k == 0;
    case TQF_EVENT_NAME:
    case TQF_EVENT_TIME:
        if (k >= sp->n_events || sp->events[k] == NULL)
            return k == 0 && sp->n_events == 0;
        if (n->field == TQF_EVENT_NAME)
            str_value(sp->events[k]->name, out);
        else
            int_value(TQL_DURATION,
                      (int64_t)sp->events[k]->time_unix_nano - (int64_t)sp->start_time_unix_nano,
                      out);
        return true;
    case TQF_LINK_TRACE_ID:
    case TQF_LINK_SPAN_ID:
        if (k >= sp->n_links || sp->links[k] == NULL)
            return k == 0 && sp->n_links == 0;
        hex_value(n->field == TQF_LINK_TRACE_ID ? &sp->links[k]->trace_id : &sp->links[k]->span_id,
                  tmp, out);
        return true;
    default:
        break;
    }
    if (k > 0)
        return false;
    switch (n->field) {
    case TQF_NAME:
        str_value(sp->name, out);
        break;
    case TQF_STATUS:
        int_value(TQL_STATUS, sp->status ? (int64_t)sp->status->code : 0, out);
        break;
    case TQF_STATUS_MESSAGE: /* none: nil */
        if (sp->status && sp->status->message && sp->status->message[0])
            str_value(sp->status->message, out);
        break;
    case TQF_KIND:
        int_value(TQL_KIND, (int64_t)sp->kind, out);
        break;
    case TQF_DURATION:
        int_value(TQL_DURATION, (int64_t)(otlp_span_duration(sp) & INT64_MAX), out);
        break;
    case TQF_SPAN_ID:
        hex_value(&sp->span_id, tmp, out);
        break;
    case TQF_PARENT_ID:
        hex_value(&sp->parent_span_id, tmp, out);
        break;
    case TQF_TRACE_ID:
        hex_value(&sp->trace_id, tmp, out);
        break;
    case TQF_SCOPE_NAME:
        if (s->scope && s->scope->name && s->scope->name[0])
            str_value(s->scope->name, out);
        break;
    case TQF_SCOPE_VERSION:
        if (s->scope && s->scope->version && s->scope->version[0])
            str_value(s->scope->version, out);
        break;
    case TQF_CHILD_COUNT:
        if (c->nchild)
            int_value(TQL_INT, c->nchild[idx], out);
        break;
    case TQF_NS_PARENT:
        if (c->nsl)
            int_value(TQL_INT, c->nsl[idx] == 0 ? 0 : s->parent < 0 ? -1 : c->nsl[s->parent], out);
        break;
    case TQF_NS_LEFT:
        if (c->nsl)
            int_value(TQL_INT, c->nsl[idx], out);
        break;
    case TQF_NS_RIGHT:
        if (c->nsr)
            int_value(TQL_INT, c->nsr[idx], out);
        break;
    default:
        break;
    }
    return true;
}

/* IDs compare as hex without leading zeros, in either case, as Tempo pads them. */
static bool is_id_field(tq_field f)
{
    return f == TQF_SPAN_ID || f == TQF_PARENT_ID || f == TQF_TRACE_ID || f == TQF_LINK_TRACE_ID ||
           f == TQF_LINK_SPAN_ID;
}

static bool id_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    while (alen && *a == '0')
        a++, alen--;
    while (blen && *b == '0')
        b++, blen--;
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        int x = ottr_hex_digit((unsigned char)a[i]), y = ottr_hex_digit((unsigned char)b[i]);
        if (x < 0 || x != y)
            return false;
    }
    return true;
}

/* Conditions on the intrinsics the original subset did not have, and on the
 * parent's attributes: through values; events and links: any of them. */
static bool eval_value_cond(const tq_node *n, const tq_ctx *c, const otlp_span_ref *s)
{
    char tmp[64];
    tq_value v, lit;
    query_tqv_from_lit(&n->lit, &lit);
    for (size_t k = 0; field_value(n, c, s, k, tmp, &v); k++) {
        bool r;
        if (is_id_field(n->field) && v.type == TQL_STRING && lit.type == TQL_STRING &&
            (n->op == TQ_EQ || n->op == TQ_NE))
            r = id_equal(v.s, v.len, lit.s, lit.len) == (n->op == TQ_EQ);
        else
            r = query_tqv_compare(n->op, &v, &lit, n->lit.re);
        if (r)
            return true;
    }
    return false;
}

static bool eval_cond(const tq_node *n, const tq_ctx *c, const otlp_span_ref *s)
{
    const tq_trace_info *ti = c->ti;
    if (n->parent) {
        const otlp_span_ref *ps = target(n, c, s);
        if (n->field == TQF_ATTR && ps)
            return eval_attr(n, ps);
        return eval_value_cond(n, c, s);
    }
    if (n->lit.type == TQL_NIL && n->field != TQF_ATTR)
        return eval_value_cond(n, c, s);
    const otlp_span *sp = s->span;
    switch (n->field) {
    case TQF_ROOT_NAME:
        return ti && ti->root_name ? cmp_str(n, ti->root_name) : false;
    case TQF_ROOT_SERVICE:
        return ti && ti->root_service ? cmp_str(n, ti->root_service) : false;
    case TQF_TRACE_DURATION:
        return ti && cmp_order(n->op, (int64_t)(ti->duration_ns & INT64_MAX) < n->lit.i   ? -1
                                      : (int64_t)(ti->duration_ns & INT64_MAX) > n->lit.i ? 1
                                                                                          : 0);
    case TQF_ATTR:
        return eval_attr(n, s);
    case TQF_NAME:
        return cmp_str(n, sp->name);
    case TQF_STATUS: {
        int code = sp->status ? (int)sp->status->code : 0;
        return (code == n->lit.i) == (n->op == TQ_EQ);
    }
    case TQF_KIND:
        return ((int)sp->kind == n->lit.i) == (n->op == TQ_EQ);
    case TQF_DURATION: {
        int64_t d = (int64_t)(otlp_span_duration(sp) & INT64_MAX);
        return cmp_order(n->op, d < n->lit.i ? -1 : d > n->lit.i ? 1 : 0);
    }
    case TQF_STATUS_MESSAGE:
        return cmp_str(n, sp->status ? sp->status->message : "");
    default:
        return eval_value_cond(n, c, s);
    }
}

bool query_tqe_filter(const tq_node *n, const tq_ctx *c, const otlp_span_ref *s)
{
    switch (n->type) {
    case TQN_CONST:
        return n->value;
    case TQN_AND:
        return query_tqe_filter(n->l, c, s) && query_tqe_filter(n->r, c, s);
    case TQN_OR:
        return query_tqe_filter(n->l, c, s) || query_tqe_filter(n->r, c, s);
    case TQN_NOT:
        return !query_tqe_filter(n->l, c, s);
    case TQN_COND:
        return eval_cond(n, c, s);
    case TQN_CMP: {
        char t1[64], t2[64];
        tq_value a, b;
        query_tqe_value(n->l, c, s, t1, &a);
        query_tqe_value(n->r, c, s, t2, &b);
        return query_tqv_compare(n->op, &a, &b, n->re);
    }
    default:
        return false;
    }
}

bool query_tq_eval_filter(const tq_node *n, const otlp_span_ref *s, const tq_trace_info *ti)
{
    tq_ctx c = {NULL, ti, NULL, NULL, NULL};
    return query_tqe_filter(n, &c, s);
}

void query_tqv_from_lit(const tq_literal *l, tq_value *out)
{
    query_tqv_nil(out);
    out->type = l->type;
    out->s = l->text;
    out->len = l->len;
    out->i = l->i;
    out->f = l->type == TQL_INT ? (double)l->i : l->f;
    out->b = l->b;
}

void query_tqe_value(const tq_node *n, const tq_ctx *c, const otlp_span_ref *s, char *tmp,
                     tq_value *out)
{
    switch (n->type) {
    case TQN_LIT:
        query_tqv_from_lit(&n->lit, out);
        return;
    case TQN_REF:
        field_value(n, c, s, 0, tmp, out);
        return;
    case TQN_ARITH: {
        char t2[64];
        tq_value a, b;
        query_tqe_value(n->l, c, s, tmp, &a);
        if (n->r)
            query_tqe_value(n->r, c, s, t2, &b);
        if (!query_tqv_arith((tq_arith)n->sub, &a, n->r ? &b : NULL, out))
            query_tqv_nil(out);
        return;
    }
    default:
        query_tqv_nil(out);
        out->type = TQL_BOOL;
        out->b = query_tqe_filter(n, c, s);
        return;
    }
}

/* ---- values ---- */

static bool is_num(const tq_value *v)
{
    return v->type == TQL_INT || v->type == TQL_FLOAT;
}

static double as_f64(const tq_value *v)
{
    return v->type == TQL_FLOAT ? v->f : (double)v->i;
}

bool query_tqv_compare(tq_op op, const tq_value *a, const tq_value *b, const regex_t *re)
{
    if (op == TQ_RE || op == TQ_NRE) {
        if (a->type != TQL_STRING || re == NULL || a->s == NULL || strlen(a->s) != a->len)
            return false;
        bool m = regexec(re, a->s, 0, NULL, 0) == 0;
        return op == TQ_RE ? m : !m;
    }
    if (b->type == TQL_NIL || a->type == TQL_NIL) {
        if (b->type == TQL_NIL && (op == TQ_EQ || op == TQ_NE))
            return (a->type == TQL_NIL) == (op == TQ_EQ);
        return false;
    }
    if (is_num(a) && is_num(b)) {
        if (a->type == TQL_INT && b->type == TQL_INT)
            return cmp_order(op, a->i < b->i ? -1 : a->i > b->i ? 1 : 0);
        return cmp_f64(op, as_f64(a), as_f64(b));
    }
    if (a->type != b->type) {
        /* A duration and a whole number: the number in nanoseconds. */
        if ((a->type == TQL_DURATION && b->type == TQL_INT) ||
            (a->type == TQL_INT && b->type == TQL_DURATION))
            return cmp_order(op, a->i < b->i ? -1 : a->i > b->i ? 1 : 0);
        return false;
    }
    switch (a->type) {
    case TQL_DURATION:
        return cmp_order(op, a->i < b->i ? -1 : a->i > b->i ? 1 : 0);
    case TQL_STRING:
        return cmp_order(op, cmp_bytes(a->s, a->len, b->s, b->len));
    case TQL_BOOL:
        return (op == TQ_EQ || op == TQ_NE) && (a->b == b->b) == (op == TQ_EQ);
    case TQL_STATUS:
    case TQL_KIND:
        return (op == TQ_EQ || op == TQ_NE) && (a->i == b->i) == (op == TQ_EQ);
    default:
        return false;
    }
}

int query_tqv_order(const tq_value *a, const tq_value *b)
{
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    switch (a->type) {
    case TQL_FLOAT: {
        bool an = a->f != a->f, bn = b->f != b->f;
        if (an || bn)
            return an == bn ? 0 : an ? 1 : -1;
        return a->f < b->f ? -1 : a->f > b->f ? 1 : 0;
    }
    case TQL_STRING:
        return cmp_bytes(a->s, a->len, b->s, b->len);
    case TQL_BOOL:
        return (int)a->b - (int)b->b;
    case TQL_NIL:
        return 0;
    default:
        return a->i < b->i ? -1 : a->i > b->i ? 1 : 0;
    }
}

static bool i64_op(tq_arith op, int64_t x, int64_t y, int64_t *r)
{
    switch (op) {
    case TQ_ADD:
        return !__builtin_add_overflow(x, y, r);
    case TQ_SUB:
        return !__builtin_sub_overflow(x, y, r);
    case TQ_MUL:
        return !__builtin_mul_overflow(x, y, r);
    case TQ_DIV:
    case TQ_MOD:
        if (y == 0 || (x == INT64_MIN && y == -1))
            return false;
        *r = op == TQ_DIV ? x / y : x % y;
        return true;
    case TQ_POW: {
        if (y < 0)
            return false;
        int64_t acc = 1;
        for (int64_t k = 0; k < y; k++) {
            if (__builtin_mul_overflow(acc, x, &acc))
                return false;
            if (acc == 0 || acc == 1)
                break;
        }
        *r = acc;
        return true;
    }
    default:
        return false;
    }
}

static double f64_op(tq_arith op, double x, double y)
{
    switch (op) {
    case TQ_ADD:
        return x + y;
    case TQ_SUB:
        return x - y;
    case TQ_MUL:
        return x * y;
    case TQ_DIV:
        return x / y;
    case TQ_MOD:
        return fmod(x, y);
    default:
        return pow(x, y);
    }
}

static bool dur_from_f64(double d, tq_value *out)
{
    if (!(d > -9.2e18 && d < 9.2e18))
        return false;
    int_value(TQL_DURATION, (int64_t)d, out);
    return true;
}

bool query_tqv_arith(tq_arith op, const tq_value *a, const tq_value *b, tq_value *out)
{
    query_tqv_nil(out);
    if (op == TQ_NEG) {
        if (a->type == TQL_FLOAT) {
            out->type = TQL_FLOAT;
            out->f = -a->f;
            return true;
        }
        if ((a->type == TQL_INT || a->type == TQL_DURATION) && a->i != INT64_MIN) {
            int_value(a->type, -a->i, out);
            return true;
        }
        return false;
    }
    if (a->type == TQL_INT && b->type == TQL_INT) {
        int64_t r;
        if (op == TQ_POW && b->i < 0) {
            out->type = TQL_FLOAT;
            out->f = pow((double)a->i, (double)b->i);
            return true;
        }
        if (!i64_op(op, a->i, b->i, &r))
            return false;
        int_value(TQL_INT, r, out);
        return true;
    }
    if (is_num(a) && is_num(b)) {
        out->type = TQL_FLOAT;
        out->f = f64_op(op, as_f64(a), as_f64(b));
        return true;
    }
    if (a->type == TQL_DURATION && b->type == TQL_DURATION) {
        int64_t r;
        if (op == TQ_ADD || op == TQ_SUB || op == TQ_MOD) {
            if (!i64_op(op, a->i, b->i, &r))
                return false;
            int_value(TQL_DURATION, r, out);
            return true;
        }
        if (op == TQ_DIV && b->i != 0) {
            out->type = TQL_FLOAT;
            out->f = (double)a->i / (double)b->i;
            return true;
        }
        return false;
    }
    /* A duration scaled by a number. */
    if (a->type == TQL_DURATION && is_num(b) && (op == TQ_MUL || op == TQ_DIV)) {
        if (op == TQ_DIV && as_f64(b) == 0)
            return false;
        return dur_from_f64(f64_op(op, (double)a->i, as_f64(b)), out);
    }
    if (is_num(a) && b->type == TQL_DURATION && op == TQ_MUL)
        return dur_from_f64(as_f64(a) * (double)b->i, out);
    return false;
}

void query_tq_value_json(ottr_buf *b, const tq_value *v)
{
    char tmp[64];
    switch (v->type) {
    case TQL_STRING:
        ottr_buf_puts(b, "{\"stringValue\":");
        otlp_json_str(b, v->s);
        ottr_buf_putc(b, '}');
        return;
    case TQL_INT:
        ottr_buf_printf(b, "{\"intValue\":\"%lld\"}", (long long)v->i);
        return;
    case TQL_FLOAT:
        if (v->f != v->f || v->f - v->f != 0)
            ottr_buf_printf(b, "{\"doubleValue\":\"%s\"}",
                            v->f != v->f ? "NaN"
                            : v->f > 0   ? "Infinity"
                                         : "-Infinity");
        else
            ottr_buf_printf(b, "{\"doubleValue\":%.17g}", v->f);
        return;
    case TQL_BOOL:
        ottr_buf_printf(b, "{\"boolValue\":%s}", v->b ? "true" : "false");
        return;
    case TQL_DURATION: {
        /* Go's text: 1.5s, 20ms, 300µs, 12ns, 1m30s, 2h0m0s */
        int64_t ns = v->i;
        uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
        const char *sign = ns < 0 ? "-" : "";
        if (u < 1000)
            snprintf(tmp, sizeof(tmp), "%s%lluns", sign, (unsigned long long)u);
        else if (u < 1000000)
            snprintf(tmp, sizeof(tmp), "%s%.15gµs", sign, (double)u / 1e3);
        else if (u < 1000000000)
            snprintf(tmp, sizeof(tmp), "%s%.15gms", sign, (double)u / 1e6);
        else if (u < 60 * NS_PER_SEC)
            snprintf(tmp, sizeof(tmp), "%s%.15gs", sign, (double)u / 1e9);
        else {
            uint64_t h = u / (3600 * NS_PER_SEC), m = u / (60 * NS_PER_SEC) % 60;
            double sec = (double)(u % (60 * NS_PER_SEC)) / 1e9;
            if (h)
                snprintf(tmp, sizeof(tmp), "%s%lluh%llum%.15gs", sign, (unsigned long long)h,
                         (unsigned long long)m, sec);
            else
                snprintf(tmp, sizeof(tmp), "%s%llum%.15gs", sign, (unsigned long long)m, sec);
        }
        ottr_buf_puts(b, "{\"stringValue\":");
        otlp_json_str(b, tmp);
        ottr_buf_putc(b, '}');
        return;
    }
    case TQL_STATUS:
    case TQL_KIND: {
        const char *w = v->type == TQL_STATUS ? otlp_status_code_word((int)v->i)
                                              : otlp_span_kind_word((int)v->i);
        ottr_buf_puts(b, "{\"stringValue\":");
        otlp_json_str(b, w ? w : "");
        ottr_buf_putc(b, '}');
        return;
    }
    default:
        ottr_buf_puts(b, "{}");
        return;
    }
}
