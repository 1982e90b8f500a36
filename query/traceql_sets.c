/* query/traceql_sets.c - evaluates a TraceQL query over one trace into span
 * sets, as Tempo's engine does: a span set filter keeps the spans of each
 * input set that match; && || and the structural operators join the results
 * of both sides per input set; pipeline stages compare aggregates, group
 * (by), merge (coalesce) or pass (select). Every set is a sorted list of span
 * indexes; sets never share a span, so each stage holds at most one entry per
 * span. Scratch marks are generation-stamped arrays, never cleared. */
#include <stdlib.h>
#include <string.h>

#include "query/tqeval.h"

typedef struct ev {
    tq_ctx c;
    ottr_arena *a;
    size_t n;        /* spans */
    uint32_t gen;    /* current stamp */
    uint32_t *m[5];  /* marks: stamp == gen */
    uint32_t *cnt;   /* sibling counts, valid where m[4] == gen */
    uint32_t *stack; /* walk paths */
    int failed;      /* out of memory */
} ev;

static void *alloc(ev *e, size_t n)
{
    void *p = ottr_arena_alloc(e->a, n ? n : 1);
    if (p == NULL)
        e->failed = 1;
    return p;
}

static int32_t parent_of(const ev *e, uint32_t i)
{
    return e->c.t->spans[i].parent;
}

/* ---- the tree: child counts and nested set numbers ---- */

static int number_tree(ev *e)
{
    size_t n = e->n;
    uint32_t *nchild = alloc(e, n * sizeof(uint32_t));
    uint32_t *first = alloc(e, (n + 1) * sizeof(uint32_t));
    uint32_t *kids = alloc(e, n * sizeof(uint32_t));
    int32_t *nsl = alloc(e, n * sizeof(int32_t));
    int32_t *nsr = alloc(e, n * sizeof(int32_t));
    uint32_t *stack = alloc(e, n * sizeof(uint32_t));
    uint32_t *next = alloc(e, n * sizeof(uint32_t));
    if (e->failed)
        return -1;
    memset(nchild, 0, n * sizeof(uint32_t));
    memset(nsl, 0, n * sizeof(int32_t));
    memset(nsr, 0, n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        if (parent_of(e, (uint32_t)i) >= 0)
            nchild[parent_of(e, (uint32_t)i)]++;
    }
    first[0] = 0;
    for (size_t i = 0; i < n; i++)
        first[i + 1] = first[i] + nchild[i];
    for (size_t i = 0; i < n; i++)
        next[i] = first[i];
    for (size_t i = 0; i < n; i++) {
        int32_t p = parent_of(e, (uint32_t)i);
        if (p >= 0)
            kids[next[p]++] = (uint32_t)i;
    }
    /* Depth-first from each true root (no parent ID): left on the way down,
     * right on the way up. Spans under a missing parent keep 0, as in Tempo. */
    int32_t counter = 1;
    for (size_t r = 0; r < n; r++) {
        const otlp_span_ref *s = &e->c.t->spans[r];
        if (s->parent >= 0 || (s->problems & (OTLP_SPAN_ORPHAN | OTLP_SPAN_CUT)))
            continue;
        size_t depth = 0;
        stack[depth++] = (uint32_t)r;
        nsl[r] = counter++;
        next[r] = first[r];
        while (depth) {
            uint32_t top = stack[depth - 1];
            if (next[top] < first[top + 1]) {
                uint32_t k = kids[next[top]++];
                nsl[k] = counter++;
                next[k] = first[k];
                stack[depth++] = k;
            } else {
                nsr[top] = counter++;
                depth--;
            }
        }
    }
    e->c.nchild = nchild;
    e->c.nsl = nsl;
    e->c.nsr = nsr;
    return 0;
}

/* ---- span set lists ---- */

static int eval(ev *e, const tq_node *n, const tq_sets *in, tq_sets *out);

static tq_spanset *add_set(tq_sets *out, uint32_t *spans, size_t n, tq_ss_attr *attrs)
{
    tq_spanset *s = &out->v[out->n++];
    s->spans = spans;
    s->n = n;
    s->attrs = attrs;
    return s;
}

static int sets_alloc(ev *e, tq_sets *out, size_t cap)
{
    out->n = 0;
    out->v = alloc(e, cap * sizeof(tq_spanset));
    return out->v ? 0 : -1;
}

/* The scratch marks, made on first use: a query of one filter needs none. */
static int need_marks(ev *e)
{
    if (e->stack)
        return 0;
    for (size_t k = 0; k < 5; k++) {
        if ((e->m[k] = alloc(e, e->n * sizeof(uint32_t))) == NULL)
            return -1;
        memset(e->m[k], 0, e->n * sizeof(uint32_t));
    }
    e->cnt = alloc(e, e->n * sizeof(uint32_t));
    e->stack = alloc(e, e->n * sizeof(uint32_t));
    return e->failed ? -1 : 0;
}

static uint32_t new_gen(ev *e)
{
    if (++e->gen == 0) {
        for (size_t k = 0; k < 5; k++)
            memset(e->m[k], 0, e->n * sizeof(uint32_t));
        e->gen = 1;
    }
    return e->gen;
}

/* Marks every span of every set of |l| with |g| in |m|. */
static size_t mark_sets(uint32_t *m, uint32_t g, const tq_sets *l)
{
    size_t count = 0;
    for (size_t k = 0; k < l->n; k++) {
        for (size_t j = 0; j < l->v[k].n; j++) {
            m[l->v[k].spans[j]] = g;
            count++;
        }
    }
    return count;
}

/* The spans of |from| marked |g| in |m| or |m2| (m2 may be NULL), in order. */
static uint32_t *collect(ev *e, const tq_spanset *from, const uint32_t *m, const uint32_t *m2,
                         uint32_t g, size_t *count)
{
    uint32_t *v = alloc(e, from->n * sizeof(uint32_t));
    size_t c = 0;
    if (v == NULL)
        return NULL;
    for (size_t j = 0; j < from->n; j++) {
        uint32_t i = from->spans[j];
        if (m[i] == g || (m2 && m2[i] == g))
            v[c++] = i;
    }
    *count = c;
    return v;
}

/* Marks with |gout| in |out| every span of |only| with a proper ancestor
 * marked |gin| in |in|: one walk up per span, memoized in m[3] (stamp |gout|)
 * and |out|. */
static void mark_below(ev *e, const uint32_t *in, uint32_t gin, uint32_t *out, uint32_t gout,
                       const tq_spanset *only)
{
    uint32_t *seen = e->m[3];
    for (size_t j = 0; j < only->n; j++) {
        uint32_t i = only->spans[j];
        /* Climb to a span already decided (or a root). */
        size_t depth = 0;
        int32_t cur = parent_of(e, i);
        while (cur >= 0 && seen[cur] != gout) {
            e->stack[depth++] = (uint32_t)cur;
            cur = parent_of(e, (uint32_t)cur);
        }
        /* under: whether |cur| or one of its ancestors is marked */
        bool under = cur >= 0 && (out[cur] == gout || in[cur] == gin);
        while (depth) {
            uint32_t k = e->stack[--depth];
            seen[k] = gout;
            if (under)
                out[k] = gout;
            under = under || in[k] == gin;
        }
        if (under)
            out[i] = gout;
    }
}

/* Marks with |gout| in |out| every proper ancestor of the spans of |from|
 * marked |gin| in |in|. */
static void mark_above(ev *e, const uint32_t *in, uint32_t gin, uint32_t *out, uint32_t gout,
                       const tq_spanset *from)
{
    for (size_t j = 0; j < from->n; j++) {
        uint32_t i = from->spans[j];
        if (in[i] != gin)
            continue;
        for (int32_t cur = parent_of(e, i); cur >= 0 && out[cur] != gout;
             cur = parent_of(e, (uint32_t)cur))
            out[cur] = gout;
    }
}

/* Counts per parent (e->cnt, valid where m[3] is |gc|) the spans of |from|
 * marked |gin| in |in|. */
static void count_children(ev *e, const uint32_t *in, uint32_t gin, const tq_spanset *from,
                           uint32_t gc)
{
    for (size_t j = 0; j < from->n; j++) {
        uint32_t i = from->spans[j];
        int32_t p = parent_of(e, i);
        if (in[i] != gin || p < 0)
            continue;
        if (e->m[3][p] != gc) {
            e->m[3][p] = gc;
            e->cnt[p] = 0;
        }
        e->cnt[p]++;
    }
}

/* Whether |i| has a sibling counted by count_children (|self|: |i| itself
 * was counted). */
static bool has_sibling(const ev *e, uint32_t i, uint32_t gc, bool self)
{
    int32_t p = parent_of(e, i);
    return p >= 0 && e->m[3][p] == gc && e->cnt[p] > (self ? 1u : 0u);
}

/* One structural join inside input set |set|: |lhs| and |rhs| are what the
 * operands found there. Marks the result in m[2] (right side) and, for the
 * union forms, m[1] restricted to the left spans that took part; returns the
 * stamp of those marks (0 when out of memory). */
static uint32_t structural(ev *e, const tq_node *n, const tq_spanset *set, const tq_sets *lhs,
                           const tq_sets *rhs, uint32_t g)
{
    uint32_t *A = e->m[0], *L = e->m[1], *R = e->m[2], *X = e->m[4];
    mark_sets(A, g, lhs);
    tq_spanset B = {NULL, 0, NULL};
    /* rhs may be several sets: their spans are all in |set|. */
    uint32_t *Bm = e->m[3];
    mark_sets(Bm, g, rhs);
    size_t nb = 0;
    B.spans = alloc(e, set->n * sizeof(uint32_t));
    if (B.spans == NULL)
        return 0;
    for (size_t j = 0; j < set->n; j++) {
        if (Bm[set->spans[j]] == g)
            B.spans[nb++] = set->spans[j];
    }
    B.n = nb;
    /* The positive relation into X (over B), then R = X or B minus X. */
    uint32_t gx = new_gen(e); /* fresh stamp for X and the walk memo */
    /* A, Bm were stamped |g|: keep reading them with g; X and memo use gx. */
    switch ((tq_sop)n->sub) {
    case TQ_SOP_DESC: /* b with an a above (the memo in m[3]: B is in B.spans) */
        mark_below(e, A, g, X, gx, &B);
        break;
    case TQ_SOP_ANC:
        mark_above(e, A, g, X, gx, set);
        break;
    case TQ_SOP_CHILD:
        for (size_t j = 0; j < B.n; j++) {
            int32_t p = parent_of(e, B.spans[j]);
            if (p >= 0 && A[p] == g)
                X[B.spans[j]] = gx;
        }
        break;
    case TQ_SOP_PARENT:
        for (size_t j = 0; j < set->n; j++) {
            uint32_t i = set->spans[j];
            int32_t p = parent_of(e, i);
            if (A[i] == g && p >= 0)
                X[p] = gx;
        }
        break;
    case TQ_SOP_SIBLING:
        count_children(e, A, g, set, gx);
        for (size_t j = 0; j < B.n; j++) {
            if (has_sibling(e, B.spans[j], gx, A[B.spans[j]] == g))
                X[B.spans[j]] = gx;
        }
        break;
    }
    uint32_t gr = new_gen(e);
    for (size_t j = 0; j < B.n; j++) {
        uint32_t i = B.spans[j];
        if ((X[i] == gx) != n->neg)
            R[i] = gr;
    }
    if (n->uni) {
        /* The left spans on the other end of a found relation. */
        uint32_t gl = new_gen(e); /* sibling counts */
        tq_spanset Rset = {B.spans, 0, NULL};
        size_t nr = 0;
        for (size_t j = 0; j < B.n; j++) {
            if (R[B.spans[j]] == gr)
                B.spans[nr++] = B.spans[j];
        }
        Rset.n = nr;
        switch ((tq_sop)n->sub) {
        case TQ_SOP_DESC: /* a with a found b below */
            mark_above(e, R, gr, L, gr, &Rset);
            break;
        case TQ_SOP_ANC: /* a with a found b above */
            mark_below(e, R, gr, L, gr, set);
            break;
        case TQ_SOP_CHILD:
            for (size_t j = 0; j < Rset.n; j++) {
                int32_t p = parent_of(e, Rset.spans[j]);
                if (p >= 0)
                    L[p] = gr;
            }
            break;
        case TQ_SOP_PARENT:
            for (size_t j = 0; j < set->n; j++) {
                int32_t p = parent_of(e, set->spans[j]);
                if (p >= 0 && R[p] == gr)
                    L[set->spans[j]] = gr;
            }
            break;
        case TQ_SOP_SIBLING:
            count_children(e, R, gr, &Rset, gl);
            for (size_t j = 0; j < set->n; j++) {
                uint32_t i = set->spans[j];
                if (has_sibling(e, i, gl, R[i] == gr))
                    L[i] = gr;
            }
            break;
        }
        /* only left spans count */
        for (size_t j = 0; j < set->n; j++) {
            uint32_t i = set->spans[j];
            if (L[i] == gr && A[i] != g)
                L[i] = 0;
        }
    }
    return gr;
}

/* Span set operators and structural ones, per input set. */
static int eval_join(ev *e, const tq_node *n, const tq_sets *in, tq_sets *out)
{
    if (need_marks(e) != 0 || sets_alloc(e, out, in->n) != 0)
        return -1;
    for (size_t k = 0; k < in->n; k++) {
        tq_sets one = {&in->v[k], 1}, lhs, rhs;
        if (eval(e, n->l, &one, &lhs) != 0 || eval(e, n->r, &one, &rhs) != 0)
            return -1;
        size_t count = 0;
        uint32_t *spans;
        if (n->type == TQN_STRUCT) {
            if (rhs.n == 0 || (lhs.n == 0 && !n->neg))
                continue;
            uint32_t g = structural(e, n, &in->v[k], &lhs, &rhs, new_gen(e));
            if (e->failed || g == 0)
                return -1;
            spans = collect(e, &in->v[k], e->m[2], n->uni ? e->m[1] : NULL, g, &count);
        } else {
            if (n->type == TQN_SS_AND ? (lhs.n == 0 || rhs.n == 0) : (lhs.n == 0 && rhs.n == 0))
                continue;
            uint32_t g = new_gen(e);
            mark_sets(e->m[0], g, &lhs);
            mark_sets(e->m[0], g, &rhs);
            spans = collect(e, &in->v[k], e->m[0], NULL, g, &count);
        }
        if (spans == NULL)
            return -1;
        if (count)
            add_set(out, spans, count, in->v[k].attrs);
    }
    return 0;
}

static int eval_filter(ev *e, const tq_node *n, const tq_sets *in, tq_sets *out)
{
    if (sets_alloc(e, out, in->n) != 0)
        return -1;
    for (size_t k = 0; k < in->n; k++) {
        const tq_spanset *s = &in->v[k];
        uint32_t *v = alloc(e, s->n * sizeof(uint32_t));
        if (v == NULL)
            return -1;
        size_t c = 0;
        for (size_t j = 0; j < s->n; j++) {
            if (query_tqe_filter(n->l, &e->c, &e->c.t->spans[s->spans[j]]))
                v[c++] = s->spans[j];
        }
        if (c)
            add_set(out, v, c, s->attrs);
    }
    return 0;
}

/* ---- aggregates ---- */

static bool add_into(tq_value *sum, const tq_value *v)
{
    tq_value r;
    if (!query_tqv_arith(TQ_ADD, sum, v, &r)) {
        if (sum->type == TQL_INT && v->type == TQL_INT) {
            /* past int64: carry on in floating point */
            sum->type = TQL_FLOAT;
            sum->f = (double)sum->i + (double)v->i;
            return true;
        }
        return false;
    }
    *sum = r;
    return true;
}

/* The aggregate |n| over |s|; false when no span has a value for it. */
static bool aggregate(ev *e, const tq_node *n, const tq_spanset *s, tq_value *out)
{
    query_tqv_nil(out);
    if (n->sub == TQ_COUNT) {
        out->type = TQL_INT;
        out->i = (int64_t)s->n;
        return true;
    }
    size_t count = 0;
    for (size_t j = 0; j < s->n; j++) {
        char tmp[64];
        tq_value v;
        query_tqe_value(n->l, &e->c, &e->c.t->spans[s->spans[j]], tmp, &v);
        if (v.type != TQL_INT && v.type != TQL_FLOAT && v.type != TQL_DURATION)
            continue; /* nil and what cannot be summed or ordered */
        if (count++ == 0) {
            *out = v;
            continue;
        }
        switch (n->sub) {
        case TQ_MIN:
        case TQ_MAX: {
            if (v.type != out->type && !(v.type != TQL_DURATION && out->type != TQL_DURATION))
                break;
            bool less = query_tqv_compare(TQ_LT, &v, out, NULL);
            bool more = query_tqv_compare(TQ_GT, &v, out, NULL);
            if ((n->sub == TQ_MIN && less) || (n->sub == TQ_MAX && more))
                *out = v;
            break;
        }
        default:
            if (!add_into(out, &v))
                count--;
            break;
        }
    }
    if (count == 0)
        return false;
    if (n->sub == TQ_AVG) {
        if (out->type == TQL_DURATION)
            out->i /= (int64_t)count;
        else {
            out->f = (out->type == TQL_INT ? (double)out->i : out->f) / (double)count;
            out->type = TQL_FLOAT;
        }
    }
    return true;
}

/* The value of scalar expression |n| over |s|; aggregates met are prepended to
 * |*attrs|. False when an aggregate has no value. */
static bool scalar(ev *e, const tq_node *n, const tq_spanset *s, tq_ss_attr **attrs, tq_value *out)
{
    switch (n->type) {
    case TQN_LIT:
        query_tqv_from_lit(&n->lit, out);
        return true;
    case TQN_AGG: {
        if (!aggregate(e, n, s, out))
            return false;
        tq_ss_attr *at = alloc(e, sizeof(*at));
        if (at == NULL)
            return false;
        at->key = n->text;
        at->v = *out;
        at->next = *attrs;
        *attrs = at;
        return true;
    }
    case TQN_ARITH: {
        tq_value a, b;
        if (!scalar(e, n->l, s, attrs, &a) || (n->r && !scalar(e, n->r, s, attrs, &b)))
            return false;
        return query_tqv_arith((tq_arith)n->sub, &a, n->r ? &b : NULL, out);
    }
    default:
        return false;
    }
}

static int eval_scalar(ev *e, const tq_node *n, const tq_sets *in, tq_sets *out)
{
    if (sets_alloc(e, out, in->n) != 0)
        return -1;
    for (size_t k = 0; k < in->n; k++) {
        tq_ss_attr *attrs = in->v[k].attrs;
        tq_value a, b;
        if (!scalar(e, n->l, &in->v[k], &attrs, &a) || !scalar(e, n->r, &in->v[k], &attrs, &b)) {
            if (e->failed)
                return -1;
            continue;
        }
        if (query_tqv_compare(n->op, &a, &b, NULL))
            add_set(out, in->v[k].spans, in->v[k].n, attrs);
    }
    return 0;
}

/* ---- by() and coalesce() ---- */

typedef struct keyed {
    tq_value v;
    uint32_t span;
} keyed;

static int keyed_cmp(const void *x, const void *y)
{
    const keyed *a = x, *b = y;
    int c = query_tqv_order(&a->v, &b->v);
    if (c)
        return c;
    return a->span < b->span ? -1 : a->span > b->span;
}

static int eval_by(ev *e, const tq_node *n, const tq_sets *in, tq_sets *out)
{
    size_t total = 0;
    for (size_t k = 0; k < in->n; k++)
        total += in->v[k].n;
    if (sets_alloc(e, out, total) != 0)
        return -1;
    for (size_t k = 0; k < in->n; k++) {
        const tq_spanset *s = &in->v[k];
        keyed *kv = alloc(e, s->n * sizeof(keyed));
        uint32_t *spans = alloc(e, s->n * sizeof(uint32_t));
        if (kv == NULL || spans == NULL)
            return -1;
        for (size_t j = 0; j < s->n; j++) {
            char tmp[64];
            kv[j].span = s->spans[j];
            query_tqe_value(n->l, &e->c, &e->c.t->spans[s->spans[j]], tmp, &kv[j].v);
            if (kv[j].v.type == TQL_STRING && kv[j].v.s == tmp) {
                kv[j].v.s = ottr_arena_strndup(e->a, tmp, kv[j].v.len);
                if (kv[j].v.s == NULL) {
                    e->failed = 1;
                    return -1;
                }
            }
        }
        qsort(kv, s->n, sizeof(keyed), keyed_cmp);
        for (size_t j = 0; j < s->n;) {
            size_t start = j;
            while (j < s->n && query_tqv_order(&kv[start].v, &kv[j].v) == 0) {
                spans[j] = kv[j].span;
                j++;
            }
            /* A group's spans in trace order. */
            uint32_t *g = spans + start;
            size_t gn = j - start;
            for (size_t x = 1; x < gn; x++) {
                uint32_t v = g[x];
                size_t y = x;
                for (; y > 0 && g[y - 1] > v; y--)
                    g[y] = g[y - 1];
                g[y] = v;
            }
            tq_ss_attr *at = alloc(e, sizeof(*at));
            if (at == NULL)
                return -1;
            at->key = n->text;
            at->v = kv[start].v;
            at->next = s->attrs;
            add_set(out, g, gn, at);
        }
    }
    return 0;
}

static int eval_coalesce(ev *e, const tq_sets *in, tq_sets *out)
{
    if (need_marks(e) != 0 || sets_alloc(e, out, 1) != 0)
        return -1;
    uint32_t g = new_gen(e);
    size_t total = mark_sets(e->m[0], g, in);
    if (total == 0)
        return 0;
    uint32_t *v = alloc(e, total * sizeof(uint32_t));
    if (v == NULL)
        return -1;
    size_t c = 0;
    for (size_t i = 0; i < e->n && c < total; i++) {
        if (e->m[0][i] == g)
            v[c++] = (uint32_t)i;
    }
    add_set(out, v, c, NULL);
    return 0;
}

static int eval(ev *e, const tq_node *n, const tq_sets *in, tq_sets *out)
{
    out->n = 0;
    out->v = NULL;
    if (e->failed)
        return -1;
    switch (n->type) {
    case TQN_SPANSET:
        return eval_filter(e, n, in, out);
    case TQN_SS_AND:
    case TQN_SS_OR:
    case TQN_STRUCT:
        return eval_join(e, n, in, out);
    case TQN_PIPE: {
        tq_sets mid;
        if (eval(e, n->l, in, &mid) != 0)
            return -1;
        if (mid.n == 0)
            return 0;
        return eval(e, n->r, &mid, out);
    }
    case TQN_SCALAR:
        return eval_scalar(e, n, in, out);
    case TQN_BY:
        return eval_by(e, n, in, out);
    case TQN_COALESCE:
        return eval_coalesce(e, in, out);
    case TQN_SELECT:
        *out = *in;
        return 0;
    default:
        return -1;
    }
}

size_t query_tq_eval_sets(const tq_query *q, const otlp_trace *t, const tq_trace_info *ti,
                          tq_sets *out, ottr_arena *a)
{
    out->v = NULL;
    out->n = 0;
    if (q->root == NULL || t->nspans == 0 || t->nspans > UINT32_MAX / 2)
        return 0;
    ev e;
    memset(&e, 0, sizeof(e));
    e.c.t = t;
    e.c.ti = ti;
    e.a = a;
    e.n = t->nspans;
    uint32_t *all = alloc(&e, e.n * sizeof(uint32_t));
    if (e.failed || (q->needs_tree && number_tree(&e) != 0))
        return 0;
    for (size_t i = 0; i < e.n; i++)
        all[i] = (uint32_t)i;
    tq_spanset whole = {all, e.n, NULL};
    tq_sets in = {&whole, 1}, res;
    if (eval(&e, q->root, &in, &res) != 0 || e.failed)
        return 0;
    size_t total = 0;
    for (size_t k = 0; k < res.n; k++)
        total += res.v[k].n;
    *out = res;
    return total;
}

size_t query_tq_eval(const tq_query *q, const otlp_trace *t, const tq_trace_info *ti,
                     uint8_t *matched, ottr_arena *a)
{
    if (t->nspans)
        memset(matched, 0, t->nspans);
    tq_sets sets;
    size_t n = query_tq_eval_sets(q, t, ti, &sets, a);
    for (size_t k = 0; k < sets.n; k++) {
        for (size_t j = 0; j < sets.v[k].n; j++)
            matched[sets.v[k].spans[j]] = 1;
    }
    return n;
}
