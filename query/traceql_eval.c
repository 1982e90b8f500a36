/* query/traceql_eval.c - evaluates a parsed TraceQL query: conditions per span,
 * span sets joined with && and ||, a three-valued pre-check on trace-level
 * values, and the plan that hands index-usable terms to store_search. */
#include <stdio.h>
#include <string.h>

#include "query/traceql.h"

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
    int c = memcmp(a, b, n);
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

static bool cmp_u64(tq_op op, uint64_t a, uint64_t b)
{
    return cmp_order(op, a < b ? -1 : a > b ? 1 : 0);
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

static bool cmp_any(const tq_node *n, const otlp_any *v)
{
    if (v == NULL)
        return false;
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

static bool eval_attr(const tq_node *n, const otlp_span_ref *s)
{
    const otlp_any *sv = NULL, *rv = NULL;
    if (n->scope == TQS_EVENT) {
        /* Any of the span's events. */
        bool present = false;
        for (size_t i = 0; i < s->span->n_events; i++) {
            const otlp_event *e = s->span->events[i];
            const otlp_any *ev = e ? otlp_attr_find(e->attributes, e->n_attributes, n->attr) : NULL;
            present |= ev != NULL;
            if (n->lit.type != TQL_NIL && cmp_any(n, ev))
                return true;
        }
        return n->lit.type == TQL_NIL && (n->op == TQ_EQ ? !present : present);
    }
    if (n->scope != TQS_RESOURCE)
        sv = otlp_attr_find(s->span->attributes, s->span->n_attributes, n->attr);
    if (n->scope != TQS_SPAN && s->resource)
        rv = otlp_attr_find(s->resource->attributes, s->resource->n_attributes, n->attr);
    if (n->lit.type == TQL_NIL) {
        bool present = sv != NULL || rv != NULL;
        return n->op == TQ_EQ ? !present : present;
    }
    return cmp_any(n, sv) || cmp_any(n, rv);
}

/* Conditions on trace-level fields; |known| is cleared for span-level ones. */
static bool eval_trace_cond(const tq_node *n, const tq_trace_info *ti, bool *known)
{
    *known = true;
    switch (n->field) {
    case TQF_ROOT_NAME:
        return ti->root_name ? cmp_str(n, ti->root_name) : false;
    case TQF_ROOT_SERVICE:
        return ti->root_service ? cmp_str(n, ti->root_service) : false;
    case TQF_TRACE_DURATION:
        return cmp_u64(n->op, ti->duration_ns, n->lit.d);
    default:
        *known = false;
        return false;
    }
}

static bool eval_cond(const tq_node *n, const otlp_span_ref *s, const tq_trace_info *ti)
{
    const otlp_span *sp = s->span;
    bool known;
    bool r = eval_trace_cond(n, ti, &known);
    if (known)
        return r;
    switch (n->field) {
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
    case TQF_DURATION:
        return cmp_u64(n->op, otlp_span_duration(sp), n->lit.d);
    case TQF_STATUS_MESSAGE:
        return cmp_str(n, sp->status ? sp->status->message : "");
    default:
        return false;
    }
}

bool query_tq_eval_filter(const tq_node *n, const otlp_span_ref *s, const tq_trace_info *ti)
{
    switch (n->type) {
    case TQN_CONST:
        return n->value;
    case TQN_AND:
        return query_tq_eval_filter(n->l, s, ti) && query_tq_eval_filter(n->r, s, ti);
    case TQN_OR:
        return query_tq_eval_filter(n->l, s, ti) || query_tq_eval_filter(n->r, s, ti);
    case TQN_NOT:
        return !query_tq_eval_filter(n->l, s, ti);
    case TQN_COND:
        return eval_cond(n, s, ti);
    default:
        return false;
    }
}

/* Span sets: returns how many spans |n| selects, marked in |out|; 0 when
 * |scratch| is needed and |a| is out of memory. */
static size_t eval_ss(const tq_node *n, const otlp_trace *t, const tq_trace_info *ti, uint8_t *out,
                      ottr_arena *a)
{
    size_t count = 0;
    if (n->type == TQN_SPANSET) {
        for (size_t i = 0; i < t->nspans; i++) {
            out[i] = query_tq_eval_filter(n->l, &t->spans[i], ti);
            count += out[i];
        }
        return count;
    }
    size_t cl = eval_ss(n->l, t, ti, out, a);
    if (n->type == TQN_SS_AND && cl == 0)
        return 0;
    uint8_t *tmp = ottr_arena_alloc(a, t->nspans ? t->nspans : 1);
    if (tmp == NULL) {
        memset(out, 0, t->nspans);
        return 0;
    }
    size_t cr = eval_ss(n->r, t, ti, tmp, a);
    if (n->type == TQN_SS_AND && cr == 0) {
        memset(out, 0, t->nspans);
        return 0;
    }
    for (size_t i = 0; i < t->nspans; i++) {
        out[i] |= tmp[i];
        count += out[i];
    }
    return count;
}

size_t query_tq_eval(const tq_query *q, const otlp_trace *t, const tq_trace_info *ti,
                     uint8_t *matched, ottr_arena *a)
{
    if (q->root == NULL || t->nspans == 0)
        return 0;
    return eval_ss(q->root, t, ti, matched, a);
}

/* Three-valued logic over trace-level values: 0 false, 1 true, 2 unknown. */
static int tv_filter(const tq_node *n, const tq_trace_info *ti)
{
    switch (n->type) {
    case TQN_CONST:
        return n->value;
    case TQN_AND: {
        int l = tv_filter(n->l, ti), r = tv_filter(n->r, ti);
        if (l == 0 || r == 0)
            return 0;
        return l == 1 && r == 1 ? 1 : 2;
    }
    case TQN_OR: {
        int l = tv_filter(n->l, ti), r = tv_filter(n->r, ti);
        if (l == 1 || r == 1)
            return 1;
        return l == 0 && r == 0 ? 0 : 2;
    }
    case TQN_NOT: {
        int v = tv_filter(n->l, ti);
        return v == 2 ? 2 : !v;
    }
    case TQN_COND: {
        bool known;
        bool r = eval_trace_cond(n, ti, &known);
        return known ? r : 2;
    }
    default:
        return 2;
    }
}

static int tv_ss(const tq_node *n, const tq_trace_info *ti)
{
    switch (n->type) {
    case TQN_SPANSET:
        return tv_filter(n->l, ti) != 0;
    case TQN_SS_AND:
        return tv_ss(n->l, ti) && tv_ss(n->r, ti);
    case TQN_SS_OR:
        return tv_ss(n->l, ti) || tv_ss(n->r, ti);
    default:
        return 1;
    }
}

int query_tq_precheck(const tq_query *q, const tq_trace_info *ti)
{
    return q->root ? tv_ss(q->root, ti) : 0;
}

/* ---- plan ---- */

/* What the store indexes (store/internal.h): longer keys, values and names are
 * not indexed at all, so a term past these limits must not drive a search. */
#define INDEX_MAX_KEY   64
#define INDEX_MAX_VALUE 128
#define INDEX_MAX_NAME  256

static bool indexable(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max && memchr(s, 0x01, n) == NULL;
}

typedef struct plan {
    const char *service, *name; /* from one span set */
    const char *any_service, *any_name;
    store_kv *kv;
    size_t nkv, maxkv;
    uint64_t min_ns, max_ns; /* max_ns 0 = none */
} plan;

static void plan_kv(plan *pl, const tq_node *n)
{
    if (pl->nkv >= pl->maxkv)
        return;
    const char *v;
    switch (n->lit.type) {
    case TQL_STRING:
        v = n->lit.text;
        if (strlen(v) != n->lit.len)
            return; /* an embedded NUL cannot be an index term */
        break;
    case TQL_INT: /* the parser keeps the canonical text, as the store writes it */
    case TQL_BOOL:
        v = n->lit.text;
        break;
    default:
        return;
    }
    if (!indexable(n->attr, INDEX_MAX_KEY) || strlen(v) > INDEX_MAX_VALUE ||
        memchr(v, 0x01, strlen(v)))
        return;
    for (size_t i = 0; i < pl->nkv; i++) {
        if (strcmp(pl->kv[i].key, n->attr) == 0 && strcmp(pl->kv[i].value, v) == 0)
            return;
    }
    pl->kv[pl->nkv].key = n->attr;
    pl->kv[pl->nkv].value = v;
    pl->nkv++;
}

static void plan_min(plan *pl, uint64_t v)
{
    if (v > pl->min_ns)
        pl->min_ns = v;
}

static void plan_max(plan *pl, uint64_t v)
{
    if (pl->max_ns == 0 || v < pl->max_ns)
        pl->max_ns = v;
}

static void plan_duration(plan *pl, const tq_node *n, bool trace_level)
{
    uint64_t d = n->lit.d;
    switch (n->op) {
    case TQ_EQ:
        plan_min(pl, d);
        if (trace_level && d)
            plan_max(pl, d);
        break;
    case TQ_GE:
        plan_min(pl, d);
        break;
    case TQ_GT:
        plan_min(pl, d + 1);
        break;
    case TQ_LE:
        if (trace_level && d)
            plan_max(pl, d);
        break;
    case TQ_LT:
        if (trace_level && d > 1)
            plan_max(pl, d - 1);
        break;
    default:
        break;
    }
}

/* Terms of a conjunction inside one span set: every matching span meets them. */
/* Whether |n| is the same attribute = value condition in two scopes (span and
 * resource, or events): one index term serves both, as events' attributes are
 * indexed with the span's. */
static bool same_term_or(const tq_node *n)
{
    const tq_node *a = n->l, *b = n->r;
    return a->type == TQN_COND && b->type == TQN_COND && a->field == TQF_ATTR &&
           b->field == TQF_ATTR && a->op == TQ_EQ && b->op == TQ_EQ && a->lit.type == b->lit.type &&
           a->lit.type == TQL_STRING && strcmp(a->attr, b->attr) == 0 && a->lit.len == b->lit.len &&
           memcmp(a->lit.text, b->lit.text, a->lit.len) == 0 &&
           strcmp(a->attr, OTLP_SERVICE_NAME) != 0;
}

static void plan_conj(plan *pl, const tq_node *n, const char **service, const char **name)
{
    if (n->type == TQN_AND) {
        plan_conj(pl, n->l, service, name);
        plan_conj(pl, n->r, service, name);
        return;
    }
    if (n->type == TQN_OR && same_term_or(n)) {
        plan_kv(pl, n->l);
        return;
    }
    if (n->type != TQN_COND)
        return;
    switch (n->field) {
    case TQF_ATTR:
        if (n->op != TQ_EQ)
            return;
        if ((n->scope == TQS_ANY || n->scope == TQS_RESOURCE) &&
            strcmp(n->attr, OTLP_SERVICE_NAME) == 0 && n->lit.type == TQL_STRING &&
            strlen(n->lit.text) == n->lit.len) {
            if (!indexable(n->lit.text, INDEX_MAX_NAME))
                return;
            if (*service == NULL)
                *service = n->lit.text;
            return;
        }
        plan_kv(pl, n);
        return;
    case TQF_NAME:
        if (n->op == TQ_EQ && *name == NULL && strlen(n->lit.text) == n->lit.len &&
            strlen(n->lit.text) <= INDEX_MAX_NAME)
            *name = n->lit.text;
        return;
    case TQF_DURATION:
        plan_duration(pl, n, false);
        return;
    case TQF_TRACE_DURATION:
        plan_duration(pl, n, true);
        return;
    default:
        return;
    }
}

/* Span sets every match needs: the operands of top-level &&. */
static void plan_ss(plan *pl, const tq_node *n)
{
    if (n->type == TQN_SS_AND) {
        plan_ss(pl, n->l);
        plan_ss(pl, n->r);
        return;
    }
    if (n->type != TQN_SPANSET)
        return;
    const char *service = NULL, *name = NULL;
    plan_conj(pl, n->l, &service, &name);
    if (service && name && pl->service == NULL) {
        pl->service = service;
        pl->name = name;
    }
    if (service && pl->any_service == NULL)
        pl->any_service = service;
    if (name && pl->any_name == NULL)
        pl->any_name = name;
}

void query_tq_plan(const tq_query *q, store_search_query *sq, store_kv *kv, size_t maxkv)
{
    plan pl;
    memset(&pl, 0, sizeof(pl));
    pl.kv = kv;
    pl.maxkv = maxkv;
    pl.min_ns = sq->min_duration_ns;
    pl.max_ns = sq->max_duration_ns;
    if (q->root)
        plan_ss(&pl, q->root);
    if (pl.service) {
        sq->service = pl.service;
        sq->span_name = pl.name;
    } else if (pl.any_service) {
        sq->service = pl.any_service;
    } else if (pl.any_name) {
        sq->span_name = pl.any_name;
    }
    if (pl.nkv) {
        sq->attrs = kv;
        sq->nattrs = pl.nkv;
    }
    sq->min_duration_ns = pl.min_ns;
    sq->max_duration_ns = pl.max_ns;
}

static void each_cond(const tq_node *n, tq_attr_fn fn, void *ctx)
{
    if (n == NULL)
        return;
    if (n->type == TQN_COND) {
        fn(ctx, n);
        return;
    }
    each_cond(n->l, fn, ctx);
    each_cond(n->r, fn, ctx);
}

void query_tq_each_condition(const tq_query *q, tq_attr_fn fn, void *ctx)
{
    each_cond(q->root, fn, ctx);
}
