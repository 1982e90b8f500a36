/* query/traceql.c - recursive-descent parser of TraceQL field expressions
 * (what goes between { and }, and into aggregates, by() and select()) with the
 * type rules of conditions, and the entry points. Span set expressions and
 * pipelines are in traceql_pipe.c, regular expressions in traceql_regex.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/tqeval.h"
#include "query/tqlex.h"

tq_node *query_tql_new(parser *p, tq_node_type type)
{
    tq_node *n = ottr_arena_alloc(p->a, sizeof(*n));
    if (n == NULL) {
        query_tql_fail(p, p->col, "out of memory");
        return NULL;
    }
    memset(n, 0, sizeof(*n));
    n->type = type;
    return n;
}

tq_node *query_tql_node2(parser *p, tq_node_type type, tq_node *l, tq_node *r)
{
    tq_node *n = query_tql_new(p, type);
    if (n) {
        n->l = l;
        n->r = r;
    }
    return n;
}

int query_tql_enter(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        query_tql_fail(p, p->col, "too deeply nested");
        return -1;
    }
    return 0;
}

static const struct {
    const char *name;
    tq_field field;
} intrinsics[] = {
    {"name", TQF_NAME},
    {"status", TQF_STATUS},
    {"statusMessage", TQF_STATUS_MESSAGE},
    {"kind", TQF_KIND},
    {"duration", TQF_DURATION},
    {"rootName", TQF_ROOT_NAME},
    {"rootServiceName", TQF_ROOT_SERVICE},
    {"traceDuration", TQF_TRACE_DURATION},
    {"childCount", TQF_CHILD_COUNT},
    {"nestedSetParent", TQF_NS_PARENT},
    {"nestedSetLeft", TQF_NS_LEFT},
    {"nestedSetRight", TQF_NS_RIGHT},
};

static const char *field_name(tq_field f)
{
    static const char *const names[] = {
        "attribute",
        "name",
        "status",
        "statusMessage",
        "kind",
        "duration",
        "rootName",
        "rootServiceName",
        "traceDuration",
        "span:id",
        "span:parentID",
        "trace:id",
        "event:name",
        "event:timeSinceStart",
        "link:traceID",
        "link:spanID",
        "instrumentation:name",
        "instrumentation:version",
        "childCount",
        "nestedSetParent",
        "nestedSetLeft",
        "nestedSetRight",
    };
    return (size_t)f < sizeof(names) / sizeof(names[0]) ? names[f] : "field";
}

static const char *op_name(tq_op op)
{
    static const char *const names[] = {"=", "!=", ">", ">=", "<", "<=", "=~", "!~"};
    return names[op];
}

/* Reads a literal from the current token into |lit|. */
static int parse_literal(parser *p, tq_literal *lit)
{
    memset(lit, 0, sizeof(*lit));
    switch (p->t) {
    case T_STRING:
        lit->type = TQL_STRING;
        lit->text = p->text;
        lit->len = p->tlen;
        return 0;
    case T_NUMBER:
        *lit = p->num;
        return 0;
    case T_IDENT: {
        const char *w = p->text;
        lit->text = w;
        lit->len = p->tlen;
        int k;
        if (strcmp(w, "true") == 0 || strcmp(w, "false") == 0) {
            lit->type = TQL_BOOL;
            lit->b = w[0] == 't';
        } else if (strcmp(w, "nil") == 0) {
            lit->type = TQL_NIL;
        } else if ((k = otlp_status_code_parse(w, strlen(w), OTLP_NAME_WORD)) >= 0) {
            lit->type = TQL_STATUS;
            lit->i = k;
        } else if ((k = otlp_span_kind_parse(w, strlen(w), OTLP_NAME_WORD)) >= 0) {
            lit->type = TQL_KIND;
            lit->i = k;
        } else {
            query_tql_fail(p, p->col, "unknown value '%s' (quote strings)", w);
            return -1;
        }
        return 0;
    }
    default:
        query_tql_fail(p, p->col, "value expected");
        return -1;
    }
}

static bool is_string_field(tq_field f)
{
    switch (f) {
    case TQF_NAME:
    case TQF_STATUS_MESSAGE:
    case TQF_ROOT_NAME:
    case TQF_ROOT_SERVICE:
    case TQF_SPAN_ID:
    case TQF_PARENT_ID:
    case TQF_TRACE_ID:
    case TQF_EVENT_NAME:
    case TQF_LINK_TRACE_ID:
    case TQF_LINK_SPAN_ID:
    case TQF_SCOPE_NAME:
    case TQF_SCOPE_VERSION:
        return true;
    default:
        return false;
    }
}

/* Type rules: which literal each field may meet with which operator. */
static int check_cond(parser *p, tq_node *n, size_t col)
{
    tq_lit_type lt = n->lit.type;
    const char *fname = n->field == TQF_ATTR ? n->attr : field_name(n->field);
    if (n->op == TQ_RE || n->op == TQ_NRE) {
        if (lt != TQL_STRING) {
            query_tql_fail(p, col, "%s needs a string pattern", op_name(n->op));
            return -1;
        }
        if (n->field != TQF_ATTR && !is_string_field(n->field)) {
            query_tql_fail(p, col, "%s cannot be matched with %s", fname, op_name(n->op));
            return -1;
        }
        return query_tql_regex(p, n->lit.text, n->lit.len, col, &n->lit.re);
    }
    /* Fields a span may lack compare with nil. */
    if (lt == TQL_NIL && n->field != TQF_STATUS && n->field != TQF_KIND) {
        if (n->op != TQ_EQ && n->op != TQ_NE) {
            query_tql_fail(p, col, "nil can only be compared with = or !=");
            return -1;
        }
        return 0;
    }
    switch (n->field) {
    case TQF_ATTR:
        if (lt == TQL_STATUS || lt == TQL_KIND) {
            query_tql_fail(p, col, "'%s' can only be compared with %s", n->lit.text,
                           lt == TQL_STATUS ? "status" : "kind");
            return -1;
        }
        return 0;
    case TQF_STATUS:
    case TQF_KIND: {
        tq_lit_type want = n->field == TQF_STATUS ? TQL_STATUS : TQL_KIND;
        if (lt != want) {
            query_tql_fail(p, col, "%s must be compared with %s", fname,
                           want == TQL_STATUS
                               ? "error, ok or unset"
                               : "unspecified, internal, server, client, producer or "
                                 "consumer");
            return -1;
        }
        if (n->op != TQ_EQ && n->op != TQ_NE) {
            query_tql_fail(p, col, "%s can only be compared with = or !=", fname);
            return -1;
        }
        return 0;
    }
    case TQF_DURATION:
    case TQF_TRACE_DURATION:
    case TQF_EVENT_TIME:
        if (lt != TQL_DURATION) {
            if (lt == TQL_INT && n->lit.i == 0) {
                n->lit.type = TQL_DURATION;
                n->lit.d = 0;
                return 0;
            }
            query_tql_fail(p, col, "%s must be compared with a duration such as 100ms", fname);
            return -1;
        }
        return 0;
    case TQF_CHILD_COUNT:
    case TQF_NS_PARENT:
    case TQF_NS_LEFT:
    case TQF_NS_RIGHT:
        if (lt != TQL_INT && lt != TQL_FLOAT) {
            query_tql_fail(p, col, "%s must be compared with a number", fname);
            return -1;
        }
        return 0;
    default:
        if (lt != TQL_STRING) {
            query_tql_fail(p, col, "%s must be compared with a string", fname);
            return -1;
        }
        return 0;
    }
}

static bool is_value(const tq_node *n)
{
    return n->type == TQN_REF || n->type == TQN_LIT || n->type == TQN_ARITH || n->type == TQN_AGG;
}

static void note_field(parser *p, const tq_node *n)
{
    if (n->parent || n->field == TQF_CHILD_COUNT || n->field == TQF_NS_PARENT ||
        n->field == TQF_NS_LEFT || n->field == TQF_NS_RIGHT)
        p->q->needs_tree = true;
}

/* A literal node from a computed value: the text the index plan and the
 * messages use is written out. */
static tq_node *lit_node(parser *p, const tq_value *v)
{
    tq_node *n = query_tql_new(p, TQN_LIT);
    if (n == NULL)
        return NULL;
    n->lit.type = v->type;
    n->lit.i = v->i;
    n->lit.f = v->f;
    n->lit.b = v->b;
    n->lit.d = v->type == TQL_DURATION && v->i > 0 ? (uint64_t)v->i : 0;
    char tmp[40];
    if (v->type == TQL_INT)
        snprintf(tmp, sizeof(tmp), "%lld", (long long)v->i);
    else if (v->type == TQL_FLOAT)
        snprintf(tmp, sizeof(tmp), "%.17g", v->f);
    else
        snprintf(tmp, sizeof(tmp), "%s", "");
    n->lit.len = strlen(tmp);
    n->lit.text = ottr_arena_strndup(p->a, tmp, n->lit.len);
    if (n->lit.text == NULL) {
        query_tql_fail(p, p->col, "out of memory");
        return NULL;
    }
    return n;
}

tq_node *query_tql_arith(parser *p, tq_arith op, tq_node *l, tq_node *r, size_t col)
{
    if (l == NULL || (op != TQ_NEG && r == NULL))
        return NULL;
    if (!is_value(l) || (r && !is_value(r))) {
        query_tql_fail(p, col, "arithmetic needs values, not conditions");
        return NULL;
    }
    if (l->type == TQN_LIT && (r == NULL || r->type == TQN_LIT)) {
        tq_value a, b, out;
        query_tqv_from_lit(&l->lit, &a);
        if (r)
            query_tqv_from_lit(&r->lit, &b);
        if (!query_tqv_arith(op, &a, r ? &b : NULL, &out)) {
            query_tql_fail(p, col,
                           "cannot compute this arithmetic (types, overflow or "
                           "division by zero)");
            return NULL;
        }
        return lit_node(p, &out);
    }
    tq_node *n = query_tql_node2(p, TQN_ARITH, l, r);
    if (n)
        n->sub = (uint8_t)op;
    return n;
}

/* A comparison: field op literal (either way round) is a condition the plan
 * and the pre-check understand; anything else is a comparison of values. */
static tq_node *make_cmp(parser *p, tq_node *l, tq_op op, tq_node *r, size_t col, size_t rcol)
{
    if (!is_value(l) || !is_value(r)) {
        query_tql_fail(p, col, "'%s' compares values, not conditions", op_name(op));
        return NULL;
    }
    if (l->type == TQN_LIT && r->type == TQN_REF && op != TQ_RE && op != TQ_NRE) {
        tq_node *t = l;
        l = r;
        r = t;
        op = op == TQ_GT   ? TQ_LT
             : op == TQ_LT ? TQ_GT
             : op == TQ_GE ? TQ_LE
             : op == TQ_LE ? TQ_GE
                           : op;
    }
    if (l->type == TQN_REF && r->type == TQN_LIT) {
        tq_node *n = query_tql_new(p, TQN_COND);
        if (n == NULL)
            return NULL;
        n->field = l->field;
        n->scope = l->scope;
        n->attr = l->attr;
        n->parent = l->parent;
        n->op = op;
        n->lit = r->lit;
        if (check_cond(p, n, rcol) != 0)
            return NULL;
        return n;
    }
    tq_node *n = query_tql_node2(p, TQN_CMP, l, r);
    if (n == NULL)
        return NULL;
    n->op = op;
    if (op == TQ_RE || op == TQ_NRE) {
        if (r->type != TQN_LIT || r->lit.type != TQL_STRING) {
            query_tql_fail(p, rcol, "%s needs a string pattern", op_name(op));
            return NULL;
        }
        if (query_tql_regex(p, r->lit.text, r->lit.len, rcol, &n->re) != 0)
            return NULL;
    }
    return n;
}

static tq_node *parse_sum(parser *p);

/* primary := '(' f_or ')' | literal | field */
static tq_node *parse_primary(parser *p)
{
    size_t col = p->col;
    tq_node *n;
    switch (p->t) {
    case T_LPAREN:
        if (query_tql_enter(p) != 0 || query_tql_next(p) != 0)
            return NULL;
        n = query_tql_field_expr(p);
        if (n == NULL)
            return NULL;
        if (p->t != T_RPAREN) {
            query_tql_fail(p, p->col, "')' expected");
            return NULL;
        }
        p->depth--;
        break;
    case T_FIELD:
        n = query_tql_new(p, TQN_REF);
        if (n == NULL)
            return NULL;
        n->field = p->field;
        n->scope = p->scope;
        n->attr = n->field == TQF_ATTR ? p->text : NULL;
        n->parent = p->parent;
        note_field(p, n);
        break;
    case T_IDENT: {
        size_t i;
        for (i = 0; i < sizeof(intrinsics) / sizeof(intrinsics[0]); i++) {
            if (strcmp(p->text, intrinsics[i].name) == 0)
                break;
        }
        if (i < sizeof(intrinsics) / sizeof(intrinsics[0])) {
            n = query_tql_new(p, TQN_REF);
            if (n == NULL)
                return NULL;
            n->field = intrinsics[i].field;
            note_field(p, n);
            break;
        }
        if (strcmp(p->text, "parent") == 0 || strcmp(p->text, "instrumentation") == 0 ||
            strcmp(p->text, "event") == 0 || strcmp(p->text, "link") == 0) {
            query_tql_fail(p, col,
                           "'%s' needs a '.' and an attribute name, or ':' and an "
                           "intrinsic",
                           p->text);
            return NULL;
        }
        if (strcmp(p->text, "true") != 0 && strcmp(p->text, "false") != 0 &&
            strcmp(p->text, "nil") != 0 &&
            otlp_status_code_parse(p->text, p->tlen, OTLP_NAME_WORD) < 0 &&
            otlp_span_kind_parse(p->text, p->tlen, OTLP_NAME_WORD) < 0 && p->prev != T_OP) {
            query_tql_fail(p, col,
                           "unknown field '%s' (attributes need a scope: span.%s, resource.%s "
                           "or .%s)",
                           p->text, p->text, p->text, p->text);
            return NULL;
        }
    }
        __attribute__((fallthrough));
    case T_STRING:
    case T_NUMBER: {
        tq_literal lit;
        if (parse_literal(p, &lit) != 0)
            return NULL;
        n = query_tql_new(p, TQN_LIT);
        if (n == NULL)
            return NULL;
        n->lit = lit;
        break;
    }
    case T_FUNC:
        query_tql_fail(p, col, "function '%s()' cannot be used inside a span set filter", p->text);
        return NULL;
    case T_EOF:
    case T_RBRACE:
    case T_RPAREN:
        query_tql_fail(p, col, "value expected");
        return NULL;
    default:
        query_tql_fail(p, col, "condition expected");
        return NULL;
    }
    if (query_tql_next(p) != 0)
        return NULL;
    return n;
}

/* neg := '-' neg | primary */
static tq_node *parse_neg(parser *p)
{
    if (p->t == T_ARITH && p->arith == TQ_SUB) {
        size_t col = p->col;
        if (query_tql_enter(p) != 0 || query_tql_next(p) != 0)
            return NULL;
        tq_node *n = query_tql_arith(p, TQ_NEG, parse_neg(p), NULL, col);
        p->depth--;
        return n;
    }
    return parse_primary(p);
}

/* pow := neg ('^' pow)? (right-associative) */
static tq_node *parse_pow(parser *p)
{
    tq_node *l = parse_neg(p);
    if (l == NULL || p->t != T_ARITH || p->arith != TQ_POW)
        return l;
    size_t col = p->col;
    if (query_tql_enter(p) != 0 || query_tql_next(p) != 0)
        return NULL;
    tq_node *n = query_tql_arith(p, TQ_POW, l, parse_pow(p), col);
    p->depth--;
    return n;
}

tq_node *query_tql_chain(parser *p, tq_node *(*sub)(parser *), unsigned ops)
{
    tq_node *l = sub(p);
    while (l && p->t == T_ARITH && (ops & (1u << p->arith))) {
        tq_arith op = p->arith;
        size_t col = p->col;
        if (query_tql_next(p) != 0)
            return NULL;
        l = query_tql_arith(p, op, l, sub(p), col);
    }
    return l;
}

static tq_node *parse_prod(parser *p)
{
    return query_tql_chain(p, parse_pow, TQ_OPS_MUL);
}

static tq_node *parse_sum(parser *p)
{
    return query_tql_chain(p, parse_prod, TQ_OPS_ADD);
}

/* cmp := sum (op sum)? */
static tq_node *parse_cmp(parser *p)
{
    size_t col = p->col;
    tq_node *l = parse_sum(p);
    if (l == NULL || p->t != T_OP)
        return l;
    tq_op op = p->op;
    size_t opcol = p->col;
    if (query_tql_next(p) != 0)
        return NULL;
    size_t rcol = p->col;
    tq_node *r = parse_sum(p);
    if (r == NULL)
        return NULL;
    (void)col;
    return make_cmp(p, l, op, r, opcol, rcol);
}

tq_node *query_tql_as_bool(parser *p, tq_node *n, size_t col)
{
    if (n == NULL)
        return NULL;
    switch (n->type) {
    case TQN_REF:
        /* A custom attribute alone is compared with true, as Tempo does. */
        if (n->field == TQF_ATTR) {
            tq_node *c = query_tql_new(p, TQN_COND);
            if (c == NULL)
                return NULL;
            c->field = TQF_ATTR;
            c->scope = n->scope;
            c->attr = n->attr;
            c->parent = n->parent;
            c->op = TQ_EQ;
            c->lit.type = TQL_BOOL;
            c->lit.b = true;
            c->lit.text = "true";
            c->lit.len = 4;
            return c;
        }
        query_tql_fail(p, col, "comparison operator expected after '%s'", field_name(n->field));
        return NULL;
    case TQN_LIT:
        if (n->lit.type == TQL_BOOL) {
            n->type = TQN_CONST;
            n->value = n->lit.b;
            return n;
        }
        query_tql_fail(p, col, "a condition starts with a field, not a value");
        return NULL;
    case TQN_ARITH:
        query_tql_fail(p, col, "comparison operator expected after arithmetic");
        return NULL;
    default:
        return n;
    }
}

/* unary := '!' unary | cmp */
static tq_node *parse_unary(parser *p)
{
    if (p->t != T_NOT)
        return parse_cmp(p);
    size_t col = p->col;
    if (query_tql_enter(p) != 0 || query_tql_next(p) != 0)
        return NULL;
    size_t icol = p->col;
    tq_node *inner = query_tql_as_bool(p, parse_unary(p), icol);
    if (inner == NULL)
        return NULL;
    tq_node *n = query_tql_new(p, TQN_NOT);
    if (n)
        n->l = inner;
    (void)col;
    p->depth--;
    return n;
}

static tq_node *parse_bool_chain(parser *p, tq_node *(*sub)(parser *), tok t, tq_node_type kind)
{
    size_t col = p->col;
    tq_node *l = sub(p);
    if (l == NULL || p->t != t)
        return l;
    if ((l = query_tql_as_bool(p, l, col)) == NULL)
        return NULL;
    while (p->t == t) {
        if (query_tql_next(p) != 0)
            return NULL;
        size_t rcol = p->col;
        tq_node *r = query_tql_as_bool(p, sub(p), rcol);
        if (r == NULL)
            return NULL;
        if ((l = query_tql_node2(p, kind, l, r)) == NULL)
            return NULL;
    }
    return l;
}

static tq_node *parse_and(parser *p)
{
    return parse_bool_chain(p, parse_unary, T_AND, TQN_AND);
}

tq_node *query_tql_field_expr(parser *p)
{
    return parse_bool_chain(p, parse_and, T_OR, TQN_OR);
}

char *query_tql_src(parser *p, size_t from, size_t to)
{
    char *out = ottr_arena_alloc(p->a, to - from + 1);
    if (out == NULL) {
        query_tql_fail(p, p->col, "out of memory");
        return NULL;
    }
    size_t n = 0;
    char quote = 0;
    for (size_t i = from; i < to; i++) {
        char c = p->s[i];
        if (quote) {
            if (c == '\\' && i + 1 < to)
                out[n++] = p->s[i++];
            else if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '`') {
            quote = c;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        }
        out[n++] = p->s[i];
    }
    out[n] = '\0';
    return out;
}

int query_tq_parse(const char *q, ottr_arena *a, tq_query *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    parser p;
    memset(&p, 0, sizeof(p));
    p.s = q ? q : "";
    p.a = a;
    p.q = out;
    p.err = err;
    p.errlen = errlen;
    if (errlen)
        err[0] = '\0';
    if (query_tql_next(&p) != 0)
        return -1;
    if (p.t == T_EOF) {
        snprintf(err, errlen, "invalid TraceQL query: empty query");
        return -1;
    }
    tq_node *root = query_tql_pipeline(&p);
    if (root && query_tql_hints(&p) == 0 && p.t != T_EOF)
        query_tql_fail(&p, p.col,
                       "'&&', '||', '|', a structural operator or end of query "
                       "expected");
    if (p.failed || root == NULL) {
        if (!p.failed)
            snprintf(err, errlen, "invalid TraceQL query");
        return -1;
    }
    out->root = root;
    return 0;
}

void query_tq_free(tq_query *q)
{
    tq_regex_list *r = q->regexes;
    while (r) {
        tq_regex_list *next = r->next;
        regfree(&r->re);
        free(r);
        r = next;
    }
    q->regexes = NULL;
    q->root = NULL;
}

void query_tq_quote(ottr_buf *b, const char *s)
{
    ottr_buf_putc(b, '"');
    for (; *s; s++) {
        switch (*s) {
        case '"':
            ottr_buf_puts(b, "\\\"");
            break;
        case '\\':
            ottr_buf_puts(b, "\\\\");
            break;
        case '\n':
            ottr_buf_puts(b, "\\n");
            break;
        case '\t':
            ottr_buf_puts(b, "\\t");
            break;
        case '\r':
            ottr_buf_puts(b, "\\r");
            break;
        default:
            ottr_buf_putc(b, *s);
        }
    }
    ottr_buf_putc(b, '"');
}
