/* query/traceql.c - recursive-descent parser of the TraceQL subset into an
 * AST, with the type rules of conditions and regex compilation. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/tqlex.h"

#define MAX_DEPTH 64

static tq_node *new_node(parser *p, tq_node_type type)
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
};

static const char *field_name(tq_field f)
{
    switch (f) {
    case TQF_NAME:
        return "name";
    case TQF_STATUS:
        return "status";
    case TQF_STATUS_MESSAGE:
        return "statusMessage";
    case TQF_KIND:
        return "kind";
    case TQF_DURATION:
        return "duration";
    case TQF_ROOT_NAME:
        return "rootName";
    case TQF_ROOT_SERVICE:
        return "rootServiceName";
    case TQF_TRACE_DURATION:
        return "traceDuration";
    default:
        return "attribute";
    }
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

#define MAX_REGEX 1024

/* The most nodes regex_check() may count: well under a second in regcomp. */
#define MAX_REGEX_NODES 20000
#define REGEX_NODES_CAP ((size_t)1 << 40) /* counts saturate here */

static size_t sat_add(size_t a, size_t b)
{
    return a + b > REGEX_NODES_CAP ? REGEX_NODES_CAP : a + b;
}

static size_t sat_mul(size_t a, size_t b)
{
    return b != 0 && a > REGEX_NODES_CAP / b ? REGEX_NODES_CAP : a * b;
}

/* Reads the interval "{m}", "{m,}", "{,n}" or "{m,n}" at s[*i] ('{'): returns
 * the number of copies of its operand glibc builds, with *i moved to the '}'
 * and *min set; 0 when it is not an interval (a literal '{'). */
static size_t regex_interval(const char *s, size_t n, size_t *i, size_t *min)
{
    size_t j = *i + 1, m = 0, hi, digits = 0;
    while (j < n && isdigit((unsigned char)s[j]) && digits++ < 6)
        m = m * 10 + (size_t)(s[j++] - '0');
    hi = m;
    if (j < n && s[j] == ',') {
        size_t d2 = 0;
        hi = 0;
        for (j++; j < n && isdigit((unsigned char)s[j]) && d2++ < 6; j++)
            hi = hi * 10 + (size_t)(s[j] - '0');
        if (d2 == 0)
            hi = m; /* {m,}: m copies and a starred one */
        digits += d2;
    }
    if (j >= n || s[j] != '}' || digits == 0)
        return 0;
    *i = j;
    *min = m;
    return (hi > m ? hi : m) + 1;
}

/* Moves *i from the '[' of a bracket expression to its ']'. */
static void regex_skip_bracket(const char *s, size_t n, size_t *i)
{
    size_t j = *i + 1;
    if (j < n && s[j] == '^')
        j++;
    if (j < n && s[j] == ']')
        j++;
    for (; j < n && s[j] != ']'; j++) {
        if (s[j] == '[' && j + 1 < n && strchr(":.=", s[j + 1]) != NULL) {
            char close = s[j + 1];
            for (j += 2; j + 1 < n && !(s[j] == close && s[j + 1] == ']'); j++)
                ;
            j++;
        }
    }
    *i = j;
}

/* What one level of parentheses of a pattern holds so far. */
typedef struct regex_level {
    size_t nodes;    /* counted in completed alternatives and this one */
    bool alt_empty;  /* a completed alternative can match the empty string */
    bool cat_empty;  /* so can every operand of this one before |last| */
    size_t last;     /* nodes of the last operand; 0: none yet */
    bool last_empty; /* it can match the empty string */
} regex_level;

/* 1 when the alternative under way at |l| can match the empty string. */
static bool regex_cat_empty(const regex_level *l)
{
    return l->cat_empty && (l->last == 0 || l->last_empty);
}

/* Refuses the ERE patterns that glibc's regcomp takes exponential time or
 * memory to compile: a repetition (* + ? {m,n}) of something that can match the
 * empty string ("a**", "(a?)+", "(a?){0,40}": the epsilon closures explode),
 * and trees past MAX_REGEX_NODES nodes (regcomp copies the operand of x+ once
 * and of x{m,n} up to n times: "(a{99}){99}"); and an unmatched ')'.
 * Returns NULL, or why. */
static const char *regex_check(const char *s, size_t n)
{
    regex_level lv[MAX_DEPTH + 1];
    int depth = 0;
    lv[0] = (regex_level){0, false, true, 0, false};
    for (size_t i = 0; i < n; i++) {
        regex_level *l = &lv[depth];
        size_t atom = 1, copies = 0, min = 0;
        bool empty = false;
        switch (s[i]) {
        case '\\':
            /* Word boundaries and buffer anchors match no character. */
            empty = i + 1 < n && strchr("bB<>`'", s[i + 1]) != NULL;
            i++;
            break;
        case '[':
            regex_skip_bracket(s, n, &i);
            break;
        case '^':
        case '$':
            empty = true;
            break;
        case '(':
            if (depth == MAX_DEPTH)
                return "too complex: nested too deeply";
            lv[++depth] = (regex_level){0, false, true, 0, false};
            continue;
        case ')':
            /* Unmatched, it would close the group the pattern is wrapped in
             * ("^(" ... ")$") and escape the anchors. */
            if (depth == 0)
                return "an unmatched ')'";
            atom = sat_add(l->nodes, 1);
            empty = l->alt_empty || regex_cat_empty(l);
            l = &lv[--depth];
            break;
        case '|':
            l->alt_empty = l->alt_empty || regex_cat_empty(l);
            l->cat_empty = true;
            l->last = 0;
            l->nodes = sat_add(l->nodes, 1);
            continue;
        case '*':
        case '?':
            copies = 1;
            break;
        case '+':
            copies = 2;
            min = 1;
            break;
        case '{':
            copies = regex_interval(s, n, &i, &min);
            break;
        default:
            break;
        }
        if (copies > 0 && l->last > 0) {
            if (l->last_empty)
                return "too complex: a repetition of something that can match the empty "
                       "string";
            /* The operand is counted once: add the other copies. */
            size_t more = sat_add(sat_mul(l->last, copies - 1), 1);
            l->nodes = sat_add(l->nodes, more);
            l->last = sat_add(l->last, more);
            l->last_empty = min == 0;
        } else {
            /* An operand (or a repetition without one, which regcomp refuses). */
            if (l->last > 0)
                l->cat_empty = l->cat_empty && l->last_empty;
            l->nodes = sat_add(l->nodes, atom);
            l->last = atom;
            l->last_empty = empty;
        }
        if (l->nodes > MAX_REGEX_NODES)
            return "too complex: too large once repetitions are expanded";
    }
    return NULL;
}

static int compile_regex(parser *p, tq_literal *lit, size_t col)
{
    /* glibc's engine backtracks on back-references: refuse them, and size. */
    if (lit->len > MAX_REGEX) {
        query_tql_fail(p, col, "regular expression longer than %d bytes", MAX_REGEX);
        return -1;
    }
    for (size_t i = 0; i + 1 < lit->len; i++) {
        if (lit->text[i] == '\\' && isdigit((unsigned char)lit->text[i + 1])) {
            query_tql_fail(p, col, "back-references in regular expressions are not supported");
            return -1;
        }
        if (lit->text[i] == '\\')
            i++;
    }
    const char *why = regex_check(lit->text, lit->len);
    if (why != NULL) {
        query_tql_fail(p, col, "bad regular expression: %s", why);
        return -1;
    }
    tq_regex_list *r = malloc(sizeof(*r));
    char *pat = malloc(lit->len + 5);
    if (r == NULL || pat == NULL) {
        free(r);
        free(pat);
        query_tql_fail(p, col, "out of memory");
        return -1;
    }
    snprintf(pat, lit->len + 5, "^(%s)$", lit->text);
    int rc = regcomp(&r->re, pat, REG_EXTENDED | REG_NOSUB);
    free(pat);
    if (rc != 0) {
        char why[96];
        regerror(rc, &r->re, why, sizeof(why));
        regfree(&r->re);
        free(r);
        query_tql_fail(p, col, "bad regular expression \"%s\": %s", lit->text, why);
        return -1;
    }
    r->next = p->q->regexes;
    p->q->regexes = r;
    lit->re = &r->re;
    return 0;
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
        if (n->field != TQF_ATTR && n->field != TQF_NAME && n->field != TQF_STATUS_MESSAGE &&
            n->field != TQF_ROOT_NAME && n->field != TQF_ROOT_SERVICE) {
            query_tql_fail(p, col, "%s cannot be matched with %s", fname, op_name(n->op));
            return -1;
        }
        return compile_regex(p, &n->lit, col);
    }
    switch (n->field) {
    case TQF_ATTR:
        if (lt == TQL_STATUS || lt == TQL_KIND) {
            query_tql_fail(p, col, "'%s' can only be compared with %s", n->lit.text,
                           lt == TQL_STATUS ? "status" : "kind");
            return -1;
        }
        if (lt == TQL_NIL && n->op != TQ_EQ && n->op != TQ_NE) {
            query_tql_fail(p, col, "nil can only be compared with = or !=");
            return -1;
        }
        return 0;
    case TQF_NAME:
    case TQF_STATUS_MESSAGE:
    case TQF_ROOT_NAME:
    case TQF_ROOT_SERVICE:
        if (lt != TQL_STRING) {
            query_tql_fail(p, col, "%s must be compared with a string", fname);
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
    }
    return 0;
}

static tq_node *parse_f_or(parser *p);

/* cond := field op literal | true | false */
static tq_node *parse_cond(parser *p)
{
    size_t col = p->col;
    tq_node *n = new_node(p, TQN_COND);
    if (n == NULL)
        return NULL;
    if (p->t == T_FIELD) {
        n->field = p->field;
        n->scope = p->scope;
        n->attr = n->field == TQF_ATTR ? p->text : NULL;
    } else if (p->t == T_IDENT) {
        if (strcmp(p->text, "true") == 0 || strcmp(p->text, "false") == 0) {
            n->type = TQN_CONST;
            n->value = p->text[0] == 't';
            query_tql_next(p);
            return p->failed ? NULL : n;
        }
        size_t i;
        for (i = 0; i < sizeof(intrinsics) / sizeof(intrinsics[0]); i++) {
            if (strcmp(p->text, intrinsics[i].name) == 0)
                break;
        }
        if (i == sizeof(intrinsics) / sizeof(intrinsics[0])) {
            if (strcmp(p->text, "childCount") == 0 || strcmp(p->text, "parent") == 0 ||
                strcmp(p->text, "nestedSetLeft") == 0 || strcmp(p->text, "nestedSetRight") == 0 ||
                strcmp(p->text, "nestedSetParent") == 0 ||
                strcmp(p->text, "instrumentation") == 0 || strcmp(p->text, "event") == 0 ||
                strcmp(p->text, "link") == 0)
                query_tql_fail(p, col, "intrinsic '%s' is not supported", p->text);
            else
                query_tql_fail(p, col,
                               "unknown field '%s' (attributes need a scope: span.%s, resource.%s "
                               "or .%s)",
                               p->text, p->text, p->text, p->text);
            return NULL;
        }
        n->field = intrinsics[i].field;
    } else if (p->t == T_STRING || p->t == T_NUMBER) {
        query_tql_fail(p, col, "a condition starts with a field, not a value");
        return NULL;
    } else {
        query_tql_fail(p, col, "condition expected");
        return NULL;
    }
    if (query_tql_next(p) != 0)
        return NULL;
    if (p->t != T_OP) {
        if (n->field == TQF_ATTR)
            query_tql_fail(p, p->col, "comparison operator expected after '%s'", n->attr);
        else
            query_tql_fail(p, p->col, "comparison operator expected after '%s'",
                           field_name(n->field));
        return NULL;
    }
    n->op = p->op;
    if (query_tql_next(p) != 0)
        return NULL;
    size_t lcol = p->col;
    if (parse_literal(p, &n->lit) != 0)
        return NULL;
    if (check_cond(p, n, lcol) != 0)
        return NULL;
    if (query_tql_next(p) != 0)
        return NULL;
    return n;
}

static tq_node *parse_f_unary(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        query_tql_fail(p, p->col, "too deeply nested");
        return NULL;
    }
    tq_node *n = NULL;
    if (p->t == T_NOT) {
        if (query_tql_next(p) != 0)
            return NULL;
        tq_node *inner = parse_f_unary(p);
        if (inner == NULL)
            return NULL;
        n = new_node(p, TQN_NOT);
        if (n)
            n->l = inner;
    } else if (p->t == T_LPAREN) {
        if (query_tql_next(p) != 0)
            return NULL;
        n = parse_f_or(p);
        if (n == NULL)
            return NULL;
        if (p->t != T_RPAREN) {
            query_tql_fail(p, p->col, "')' expected");
            return NULL;
        }
        if (query_tql_next(p) != 0)
            return NULL;
    } else {
        n = parse_cond(p);
    }
    p->depth--;
    return n;
}

/* Parses |sub| (|t| |sub|)* into a left-leaning tree of |kind| nodes, starting
 * from the already parsed left operand |l|. |after| (may be NULL) runs after
 * each right operand and fails the parse when it returns non-zero. */
static tq_node *parse_left_assoc(parser *p, tq_node *l, tq_node *(*sub)(parser *), tok t,
                                 tq_node_type kind, int (*after)(parser *))
{
    while (l && p->t == t) {
        if (query_tql_next(p) != 0)
            return NULL;
        tq_node *r = sub(p);
        if (r == NULL || (after && after(p) != 0))
            return NULL;
        tq_node *n = new_node(p, kind);
        if (n == NULL)
            return NULL;
        n->l = l;
        n->r = r;
        l = n;
    }
    return l;
}

static tq_node *parse_f_and(parser *p)
{
    return parse_left_assoc(p, parse_f_unary(p), parse_f_unary, T_AND, TQN_AND, NULL);
}

static tq_node *parse_f_or(parser *p)
{
    return parse_left_assoc(p, parse_f_and(p), parse_f_and, T_OR, TQN_OR, NULL);
}

static tq_node *parse_ss_or(parser *p);

/* ss_prim := '{' filter? '}' | '(' ss_or ')' */
static tq_node *parse_ss_prim(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        query_tql_fail(p, p->col, "too deeply nested");
        return NULL;
    }
    tq_node *n = NULL;
    if (p->t == T_LBRACE) {
        if (query_tql_next(p) != 0)
            return NULL;
        n = new_node(p, TQN_SPANSET);
        if (n == NULL)
            return NULL;
        if (p->t == T_RBRACE) {
            n->l = new_node(p, TQN_CONST);
            if (n->l == NULL)
                return NULL;
            n->l->value = true;
        } else {
            n->l = parse_f_or(p);
            if (n->l == NULL)
                return NULL;
            if (p->t != T_RBRACE) {
                if (p->t == T_EOF)
                    query_tql_fail(p, p->col, "'}' expected");
                else
                    query_tql_fail(p, p->col, "'&&', '||' or '}' expected");
                return NULL;
            }
        }
        if (query_tql_next(p) != 0)
            return NULL;
    } else if (p->t == T_LPAREN) {
        if (query_tql_next(p) != 0)
            return NULL;
        n = parse_ss_or(p);
        if (n == NULL)
            return NULL;
        if (p->t != T_RPAREN) {
            query_tql_fail(p, p->col, "')' expected");
            return NULL;
        }
        if (query_tql_next(p) != 0)
            return NULL;
    } else if (p->t == T_EOF) {
        query_tql_fail(p, p->col, "span set filter '{ ... }' expected");
        return NULL;
    } else {
        query_tql_fail(p, p->col, "span set filter '{ ... }' expected");
        return NULL;
    }
    p->depth--;
    return n;
}

/* After a span set, a comparison operator is TraceQL's structural one
 * ({a} > {b}: b is a child of a), or the start of an aggregate comparison. */
static int refuse_structural(parser *p)
{
    if (p->t == T_OP) {
        query_tql_fail(p, p->col, "structural operator '%s' is not supported", op_name(p->op));
        return -1;
    }
    return 0;
}

static tq_node *parse_ss_and(parser *p)
{
    tq_node *l = parse_ss_prim(p);
    if (l && refuse_structural(p) != 0)
        return NULL;
    return parse_left_assoc(p, l, parse_ss_prim, T_AND, TQN_SS_AND, refuse_structural);
}

static tq_node *parse_ss_or(parser *p)
{
    return parse_left_assoc(p, parse_ss_and(p), parse_ss_and, T_OR, TQN_SS_OR, NULL);
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
    if (query_tql_next(&p) != 0)
        return -1;
    if (p.t == T_EOF) {
        snprintf(err, errlen, "invalid TraceQL query: empty query");
        return -1;
    }
    tq_node *root = parse_ss_or(&p);
    if (root && p.t != T_EOF)
        query_tql_fail(&p, p.col, "'&&', '||' or end of query expected");
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
