/* query/traceql_pipe.c - the parser's upper half: span set expressions
 * ({ } joined by && || and the structural operators), pipelines of stages
 * (span set expressions, aggregates compared with a value, by(), coalesce(),
 * select()) and the query hints Tempo accepts after them. */
#include <stdio.h>
#include <string.h>

#include "query/tqlex.h"

static int expect(parser *p, tok t, const char *what)
{
    if (p->t != t) {
        query_tql_fail(p, p->col, "%s expected", what);
        return -1;
    }
    return query_tql_next(p);
}

/* ss_prim := '{' filter? '}' | '(' pipeline ')' */
static tq_node *parse_ss_prim(parser *p)
{
    if (query_tql_enter(p) != 0)
        return NULL;
    tq_node *n;
    if (p->t == T_LBRACE) {
        if (query_tql_next(p) != 0 || (n = query_tql_new(p, TQN_SPANSET)) == NULL)
            return NULL;
        if (p->t == T_RBRACE) {
            if ((n->l = query_tql_new(p, TQN_CONST)) == NULL)
                return NULL;
            n->l->value = true;
        } else {
            size_t col = p->col;
            n->l = query_tql_as_bool(p, query_tql_field_expr(p), col);
            if (n->l == NULL)
                return NULL;
            if (p->t != T_RBRACE) {
                query_tql_fail(p, p->col,
                               p->t == T_EOF ? "'}' expected" : "'&&', '||' or '}' expected");
                return NULL;
            }
        }
        if (query_tql_next(p) != 0)
            return NULL;
    } else if (p->t == T_LPAREN) {
        if (query_tql_next(p) != 0 || (n = query_tql_pipeline(p)) == NULL ||
            expect(p, T_RPAREN, "')'") != 0)
            return NULL;
    } else {
        query_tql_fail(p, p->col, "span set filter '{ ... }' expected");
        return NULL;
    }
    p->depth--;
    return n;
}

/* Between span sets, > < and !~ are the structural child, parent and
 * not-sibling operators. */
static bool at_structural(const parser *p)
{
    return p->t == T_SOP || (p->t == T_OP && (p->op == TQ_GT || p->op == TQ_LT || p->op == TQ_NRE));
}

/* ss_struct := ss_prim (sop ss_prim)*: tighter than && and ||, as in Tempo */
static tq_node *parse_ss_struct(parser *p)
{
    tq_node *l = parse_ss_prim(p);
    while (l && at_structural(p)) {
        tq_node *n = query_tql_new(p, TQN_STRUCT);
        if (n == NULL)
            return NULL;
        if (p->t == T_SOP) {
            n->sub = (uint8_t)p->sop;
            n->neg = p->sneg;
            n->uni = p->suni;
        } else {
            n->sub = (uint8_t)(p->op == TQ_GT   ? TQ_SOP_CHILD
                               : p->op == TQ_LT ? TQ_SOP_PARENT
                                                : TQ_SOP_SIBLING);
            n->neg = p->op == TQ_NRE;
        }
        if (query_tql_next(p) != 0 || (n->r = parse_ss_prim(p)) == NULL)
            return NULL;
        n->l = l;
        p->q->needs_tree = true;
        l = n;
    }
    if (l && p->t == T_OP) {
        query_tql_fail(p, p->col,
                       "span sets are joined with &&, ||, >>, >, <<, <, ~ and their !/& forms");
        return NULL;
    }
    return l;
}

/* ss_logic := ss_struct (('&&' | '||') ss_struct)*, left to right */
static tq_node *parse_ss_logic(parser *p)
{
    tq_node *l = parse_ss_struct(p);
    while (l && (p->t == T_AND || p->t == T_OR)) {
        tq_node *n = query_tql_new(p, p->t == T_AND ? TQN_SS_AND : TQN_SS_OR);
        if (n == NULL || query_tql_next(p) != 0 || (n->r = parse_ss_struct(p)) == NULL)
            return NULL;
        n->l = l;
        l = n;
    }
    return l;
}

static const char *const aggregates[] = {"count", "avg", "min", "max", "sum"};
static const char *const metrics_fns[] = {
    "rate",          "count_over_time",    "min_over_time",       "max_over_time", "avg_over_time",
    "sum_over_time", "quantile_over_time", "histogram_over_time", "compare",       "topk",
    "bottomk",
};

static int aggregate_of(const char *name)
{
    for (size_t i = 0; i < sizeof(aggregates) / sizeof(aggregates[0]); i++) {
        if (strcmp(name, aggregates[i]) == 0)
            return (int)i;
    }
    return -1;
}

/* agg := count '(' ')' | (avg|min|max|sum) '(' field ')' */
static tq_node *parse_agg(parser *p, int which)
{
    size_t start = p->start;
    tq_node *n = query_tql_new(p, TQN_AGG);
    if (n == NULL || query_tql_next(p) != 0 || expect(p, T_LPAREN, "'('") != 0)
        return NULL;
    n->sub = (uint8_t)which;
    if (which != TQ_COUNT) {
        size_t col = p->col;
        n->l = query_tql_field_expr(p);
        if (n->l == NULL)
            return NULL;
        if (n->l->type != TQN_REF && n->l->type != TQN_ARITH) {
            query_tql_fail(p, col, "%s() takes a field such as duration or span.bytes",
                           aggregates[which]);
            return NULL;
        }
    }
    if (p->t != T_RPAREN) {
        query_tql_fail(p, p->col,
                       which == TQ_COUNT ? "count() takes no arguments" : "')' expected");
        return NULL;
    }
    if ((n->text = query_tql_src(p, start, p->pos)) == NULL || query_tql_next(p) != 0)
        return NULL;
    return n;
}

static tq_node *parse_s_sum(parser *p);

/* s_primary := agg | number | duration | '(' s_sum ')' | '-' s_primary */
static tq_node *parse_s_primary(parser *p)
{
    size_t col = p->col;
    int which;
    tq_node *n;
    switch (p->t) {
    case T_FUNC:
        if ((which = aggregate_of(p->text)) < 0) {
            query_tql_fail(p, col, "'%s()' is not an aggregate (count, avg, min, max, sum)",
                           p->text);
            return NULL;
        }
        return parse_agg(p, which);
    case T_NUMBER:
        if ((n = query_tql_new(p, TQN_LIT)) == NULL)
            return NULL;
        n->lit = p->num;
        return query_tql_next(p) == 0 ? n : NULL;
    case T_LPAREN:
        if (query_tql_enter(p) != 0 || query_tql_next(p) != 0 || (n = parse_s_sum(p)) == NULL ||
            expect(p, T_RPAREN, "')'") != 0)
            return NULL;
        p->depth--;
        return n;
    case T_ARITH:
        if (p->arith == TQ_SUB) {
            if (query_tql_enter(p) != 0 || query_tql_next(p) != 0)
                return NULL;
            n = query_tql_arith(p, TQ_NEG, parse_s_primary(p), NULL, col);
            p->depth--;
            return n;
        }
        break;
    default:
        break;
    }
    query_tql_fail(p, col, "an aggregate or a number expected");
    return NULL;
}

static tq_node *parse_s_prod(parser *p)
{
    return query_tql_chain(p, parse_s_primary, TQ_OPS_MUL | 1u << TQ_POW);
}

static tq_node *parse_s_sum(parser *p)
{
    return query_tql_chain(p, parse_s_prod, TQ_OPS_ADD);
}

static bool has_agg(const tq_node *n)
{
    return n && (n->type == TQN_AGG || has_agg(n->l) || has_agg(n->r));
}

/* scalar := s_sum op s_sum, with an aggregate on a side */
static tq_node *parse_scalar(parser *p)
{
    size_t col = p->col;
    tq_node *n = query_tql_new(p, TQN_SCALAR);
    if (n == NULL || (n->l = parse_s_sum(p)) == NULL)
        return NULL;
    if (p->t != T_OP || p->op == TQ_RE || p->op == TQ_NRE) {
        query_tql_fail(p, p->col,
                       "an aggregate is compared with =, !=, <, <=, > or >= "
                       "(count() > 2)");
        return NULL;
    }
    n->op = p->op;
    if (query_tql_next(p) != 0 || (n->r = parse_s_sum(p)) == NULL)
        return NULL;
    if (!has_agg(n->l) && !has_agg(n->r)) {
        query_tql_fail(p, col, "a comparison after '|' needs an aggregate such as count()");
        return NULL;
    }
    return n;
}

/* by '(' field ')' | coalesce '(' ')' | select '(' field (',' field)* ')' */
static tq_node *parse_call(parser *p, tq_node_type type)
{
    size_t start = p->start;
    tq_node *n = query_tql_new(p, type);
    if (n == NULL || query_tql_next(p) != 0 || expect(p, T_LPAREN, "'('") != 0)
        return NULL;
    if (type == TQN_COALESCE)
        return expect(p, T_RPAREN, "')'") == 0 ? n : NULL;
    tq_node **tail = &n->l;
    for (;;) {
        size_t col = p->col;
        tq_node *f = query_tql_field_expr(p);
        if (f == NULL)
            return NULL;
        if (type == TQN_SELECT && f->type != TQN_REF) {
            query_tql_fail(p, col, "select() takes fields such as span.http.url or duration");
            return NULL;
        }
        *tail = f;
        tail = &f->next;
        if (type == TQN_SELECT && p->t == T_COMMA) {
            if (query_tql_next(p) != 0)
                return NULL;
            continue;
        }
        break;
    }
    if (p->t != T_RPAREN) {
        query_tql_fail(p, p->col, "')' expected");
        return NULL;
    }
    if ((n->text = query_tql_src(p, start, p->pos)) == NULL || query_tql_next(p) != 0)
        return NULL;
    return n;
}

static tq_node *parse_stage(parser *p)
{
    if (p->t == T_FUNC) {
        const char *f = p->text;
        if (strcmp(f, "by") == 0)
            return parse_call(p, TQN_BY);
        if (strcmp(f, "coalesce") == 0)
            return parse_call(p, TQN_COALESCE);
        if (strcmp(f, "select") == 0)
            return parse_call(p, TQN_SELECT);
        if (aggregate_of(f) >= 0)
            return parse_scalar(p);
        for (size_t i = 0; i < sizeof(metrics_fns) / sizeof(metrics_fns[0]); i++) {
            if (strcmp(f, metrics_fns[i]) == 0) {
                query_tql_fail(p, p->col,
                               "'%s()' is a TraceQL metrics function: ask "
                               "/api/metrics/query_range",
                               f);
                return NULL;
            }
        }
        query_tql_fail(p, p->col, "unknown function '%s()'", f);
        return NULL;
    }
    if (p->t == T_NUMBER || p->t == T_ARITH)
        return parse_scalar(p);
    return parse_ss_logic(p);
}

static bool is_spanset_expr(const tq_node *n)
{
    return n->type == TQN_SPANSET || n->type == TQN_SS_AND || n->type == TQN_SS_OR ||
           n->type == TQN_STRUCT || n->type == TQN_PIPE;
}

tq_node *query_tql_pipeline(parser *p)
{
    tq_node *root = parse_stage(p);
    if (root && !is_spanset_expr(root)) {
        /* A pipeline that starts with a stage works on all spans: { } | stage. */
        tq_node *all = query_tql_new(p, TQN_SPANSET);
        if (all == NULL || (all->l = query_tql_new(p, TQN_CONST)) == NULL)
            return NULL;
        all->l->value = true;
        root = query_tql_node2(p, TQN_PIPE, all, root);
    }
    while (root && p->t == T_PIPE) {
        if (query_tql_next(p) != 0)
            return NULL;
        if (p->t == T_EOF) {
            query_tql_fail(p, p->col, "a stage expected after '|'");
            return NULL;
        }
        tq_node *stage = parse_stage(p);
        if (stage == NULL)
            return NULL;
        root = query_tql_node2(p, TQN_PIPE, root, stage);
    }
    return root;
}

int query_tql_hints(parser *p)
{
    if (p->failed || p->t != T_FUNC || strcmp(p->text, "with") != 0)
        return p->failed ? -1 : 0;
    if (query_tql_next(p) != 0 || expect(p, T_LPAREN, "'('") != 0)
        return -1;
    for (;;) {
        if (p->t != T_IDENT) {
            query_tql_fail(p, p->col, "hint name expected");
            return -1;
        }
        if (query_tql_next(p) != 0)
            return -1;
        if (p->t != T_OP || p->op != TQ_EQ) {
            query_tql_fail(p, p->col, "'=' expected");
            return -1;
        }
        if (query_tql_next(p) != 0)
            return -1;
        if (p->t != T_IDENT && p->t != T_NUMBER && p->t != T_STRING) {
            query_tql_fail(p, p->col, "hint value expected");
            return -1;
        }
        if (query_tql_next(p) != 0)
            return -1;
        if (p->t != T_COMMA)
            break;
        if (query_tql_next(p) != 0)
            return -1;
    }
    return expect(p, T_RPAREN, "')'");
}
