/* query/traceql_plan.c - what can be decided before a trace is read: a
 * three-valued pre-check on trace-level values (summary), the plan that hands
 * index-usable terms to store_search, and the walks over a query's fields. */
#include <string.h>

#include "query/tqeval.h"

/* Conditions on trace-level fields; |known| is cleared for span-level ones. */
static bool trace_cond(const tq_node *n, const tq_trace_info *ti, bool *known)
{
    *known = false;
    if (n->parent)
        return false;
    switch (n->field) {
    case TQF_ROOT_NAME:
    case TQF_ROOT_SERVICE:
    case TQF_TRACE_DURATION:
        break;
    default:
        return false;
    }
    *known = true;
    tq_ctx c = {NULL, ti, NULL, NULL, NULL};
    otlp_span_ref none;
    memset(&none, 0, sizeof(none));
    return query_tqe_filter(n, &c, &none);
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
        bool r = trace_cond(n, ti, &known);
        return known ? r : 2;
    }
    default:
        return 2;
    }
}

/* 0 when |n| yields no span set for the trace whatever its spans, 1 when it may.
 * Structural operators return spans of their right side, found only with
 * spans on the left (but for the negations); a pipeline's stages only narrow. */
static int tv_ss(const tq_node *n, const tq_trace_info *ti)
{
    switch (n->type) {
    case TQN_SPANSET:
        return tv_filter(n->l, ti) != 0;
    case TQN_SS_AND:
        return tv_ss(n->l, ti) && tv_ss(n->r, ti);
    case TQN_SS_OR:
        return tv_ss(n->l, ti) || tv_ss(n->r, ti);
    case TQN_STRUCT:
        return (n->neg || tv_ss(n->l, ti)) && tv_ss(n->r, ti);
    case TQN_PIPE:
        return tv_ss(n->l, ti) && tv_ss(n->r, ti);
    default:
        return 1;
    }
}

int query_tq_precheck(const tq_query *q, const tq_trace_info *ti)
{
    return q->root ? tv_ss(q->root, ti) : 0;
}

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
    if (n->lit.i < 0)
        return;
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
    if (n->type == TQN_COND && n->parent) {
        /* The parent's value is in the trace, but not on the matching span. */
        if (n->field != TQF_ATTR || n->op != TQ_EQ || n->scope > TQS_EVENT ||
            strcmp(n->attr, OTLP_SERVICE_NAME) == 0)
            return;
        plan_kv(pl, n);
        return;
    }
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
        /* The store indexes span, resource and event attributes of each span. */
        if (n->op != TQ_EQ || n->scope > TQS_EVENT)
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

/* Span sets every match needs: the operands of top-level &&, both sides of
 * structural operators (the right one of negations), a pipeline's input and
 * its span set stages. */
static void plan_ss(plan *pl, const tq_node *n)
{
    if (n->type == TQN_SS_AND || n->type == TQN_PIPE || (n->type == TQN_STRUCT && !n->neg)) {
        plan_ss(pl, n->l);
        plan_ss(pl, n->r);
        return;
    }
    if (n->type == TQN_STRUCT) {
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

static void each_node(const tq_node *n, bool refs, tq_attr_fn fn, void *ctx)
{
    for (; n; n = n->next) {
        if (n->type == TQN_COND || (refs && n->type == TQN_REF)) {
            fn(ctx, n);
            continue;
        }
        each_node(n->l, refs, fn, ctx);
        each_node(n->r, refs, fn, ctx);
    }
}

void query_tq_each_condition(const tq_query *q, tq_attr_fn fn, void *ctx)
{
    each_node(q->root, false, fn, ctx);
}

void query_tq_each_field(const tq_query *q, tq_attr_fn fn, void *ctx)
{
    each_node(q->root, true, fn, ctx);
}
