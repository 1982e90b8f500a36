/* query/traceql_lex.c - the TraceQL lexer: strings, numbers and durations,
 * scoped attribute names (resource. span. event. link. instrumentation. and
 * parent.), scope:name intrinsics, function names and operators. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/tqlex.h"

void query_tql_fail(parser *p, size_t col, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "invalid TraceQL query: %s at column %zu", msg, col);
}

static int is_attr_char(unsigned char c)
{
    if (c <= ' ' || c == 0x7f)
        return 0;
    return strchr("{}()=~!<>&|^,\"`", c) == NULL;
}

static int lex_string(parser *p)
{
    char quote = p->s[p->pos];
    size_t start = ++p->pos;
    /* Upper bound of the unescaped length is the raw length. */
    size_t end = start;
    while (p->s[end] && p->s[end] != quote) {
        if (quote == '"' && p->s[end] == '\\' && p->s[end + 1])
            end++;
        end++;
    }
    if (p->s[end] != quote) {
        query_tql_fail(p, p->col, "unterminated string");
        return -1;
    }
    char *out = ottr_arena_alloc(p->a, end - start + 1);
    if (out == NULL) {
        query_tql_fail(p, p->col, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (size_t i = start; i < end; i++) {
        char c = p->s[i];
        if (quote == '"' && c == '\\') {
            c = p->s[++i];
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            default:
                break; /* \" \\ and anything else: the character itself */
            }
        }
        out[n++] = c;
    }
    out[n] = '\0';
    p->text = out;
    p->tlen = n;
    p->pos = end + 1;
    return 0;
}

static int lex_number(parser *p)
{
    size_t start = p->pos;
    size_t i = start;
    if (p->s[i] == '-')
        i++;
    while (isalnum((unsigned char)p->s[i]) || p->s[i] == '.' || (unsigned char)p->s[i] == 0xc2 ||
           (unsigned char)p->s[i] == 0xb5)
        i++;
    size_t n = i - start;
    char *txt = ottr_arena_strndup(p->a, p->s + start, n);
    if (txt == NULL) {
        query_tql_fail(p, p->col, "out of memory");
        return -1;
    }
    p->pos = i;
    memset(&p->num, 0, sizeof(p->num));
    p->num.text = txt;
    p->num.len = n;
    int has_alpha = 0, has_dot = 0;
    for (size_t k = 0; k < n; k++) {
        if (isalpha((unsigned char)txt[k]) || (unsigned char)txt[k] >= 0x80)
            has_alpha = 1;
        if (txt[k] == '.')
            has_dot = 1;
    }
    if (!has_alpha && !has_dot) {
        errno = 0;
        char *end;
        long long v = strtoll(txt, &end, 10);
        if (errno || *end) {
            query_tql_fail(p, p->col, "integer '%s' out of range", txt);
            return -1;
        }
        p->num.type = TQL_INT;
        p->num.i = v;
        p->num.f = (double)v;
        /* Canonical text ("007" -> "7"), the form the index stores. */
        char canon[24];
        snprintf(canon, sizeof(canon), "%lld", v);
        if (strcmp(canon, txt) != 0) {
            p->num.text = ottr_arena_strndup(p->a, canon, strlen(canon));
            if (p->num.text == NULL) {
                query_tql_fail(p, p->col, "out of memory");
                return -1;
            }
            p->num.len = strlen(canon);
        }
        return 0;
    }
    if (has_alpha) {
        uint64_t ns;
        int neg = txt[0] == '-';
        if (ottr_parse_duration(txt + neg, &ns) == 0 && ns <= (uint64_t)INT64_MAX) {
            p->num.type = TQL_DURATION;
            p->num.d = neg ? 0 : ns;
            p->num.i = neg ? -(int64_t)ns : (int64_t)ns;
            return 0;
        }
    }
    char *end;
    double f = strtod(txt, &end);
    if (*end == '\0' && end != txt) {
        p->num.type = TQL_FLOAT;
        p->num.f = f;
        return 0;
    }
    query_tql_fail(p, p->col, "bad number or duration '%s'", txt);
    return -1;
}

static int lex_attr_name(parser *p)
{
    if (p->s[p->pos] == '"')
        return lex_string(p);
    size_t start = p->pos;
    while (is_attr_char((unsigned char)p->s[p->pos]))
        p->pos++;
    if (p->pos == start) {
        query_tql_fail(p, p->col, "attribute name expected");
        return -1;
    }
    p->tlen = p->pos - start;
    p->text = ottr_arena_strndup(p->a, p->s + start, p->tlen);
    if (p->text == NULL) {
        query_tql_fail(p, p->col, "out of memory");
        return -1;
    }
    return 0;
}

static int word_is(const char *w, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(w, s, n) == 0;
}

static const struct {
    const char *name;
    tq_field field;
} colon_intrinsics[] = {
    {"span:name", TQF_NAME},
    {"span:status", TQF_STATUS},
    {"span:statusMessage", TQF_STATUS_MESSAGE},
    {"span:kind", TQF_KIND},
    {"span:duration", TQF_DURATION},
    {"span:id", TQF_SPAN_ID},
    {"span:parentID", TQF_PARENT_ID},
    {"span:childCount", TQF_CHILD_COUNT},
    {"trace:rootName", TQF_ROOT_NAME},
    {"trace:rootService", TQF_ROOT_SERVICE},
    {"trace:duration", TQF_TRACE_DURATION},
    {"trace:id", TQF_TRACE_ID},
    {"event:name", TQF_EVENT_NAME},
    {"event:timeSinceStart", TQF_EVENT_TIME},
    {"link:traceID", TQF_LINK_TRACE_ID},
    {"link:spanID", TQF_LINK_SPAN_ID},
    {"instrumentation:name", TQF_SCOPE_NAME},
    {"instrumentation:version", TQF_SCOPE_VERSION},
};

static const struct {
    const char *name;
    tq_scope scope;
} scopes[] = {
    {"resource", TQS_RESOURCE},     {"span", TQS_SPAN}, {"event", TQS_EVENT}, {"link", TQS_LINK},
    {"instrumentation", TQS_SCOPE},
};

/* The scope word |w| (|n| bytes) ends at p->pos on a '.'; reads the attribute
 * name after it. parent. may be followed by span. or resource. */
static int lex_scoped(parser *p, const char *w, size_t n)
{
    if (word_is(w, n, "parent")) {
        p->parent = true;
        p->scope = TQS_ANY;
        p->pos++;
        const char *rest = p->s + p->pos;
        if (strncmp(rest, "span.", 5) == 0) {
            p->scope = TQS_SPAN;
            p->pos += 5;
        } else if (strncmp(rest, "resource.", 9) == 0) {
            p->scope = TQS_RESOURCE;
            p->pos += 9;
        }
        if (lex_attr_name(p) != 0)
            return -1;
        p->t = T_FIELD;
        p->field = TQF_ATTR;
        return 0;
    }
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        if (word_is(w, n, scopes[i].name)) {
            p->scope = scopes[i].scope;
            p->pos++;
            if (lex_attr_name(p) != 0)
                return -1;
            p->t = T_FIELD;
            p->field = TQF_ATTR;
            return 0;
        }
    }
    if (word_is(w, n, "trace")) {
        query_tql_fail(p, p->col,
                       "traces have no attributes (trace:id, trace:rootService, "
                       "trace:rootName and trace:duration are intrinsics)");
        return -1;
    }
    /* A dotted name without a scope: most likely an attribute. */
    size_t e = p->pos;
    while (is_attr_char((unsigned char)p->s[e]))
        e++;
    int len = (int)(e - (size_t)(w - p->s));
    query_tql_fail(
        p, p->col,
        "unknown field '%.*s' (attributes need a scope: span.%.*s, resource.%.*s or .%.*s)", len, w,
        len, w, len, w, len, w);
    return -1;
}

static int lex_word(parser *p)
{
    size_t start = p->pos;
    while (isalnum((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_')
        p->pos++;
    const char *w = p->s + start;
    size_t n = p->pos - start;
    char c = p->s[p->pos];
    p->parent = false;
    if (c == '.')
        return lex_scoped(p, w, n);
    if (c == ':') {
        p->pos++;
        while (isalnum((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_')
            p->pos++;
        size_t n2 = p->pos - start;
        for (size_t i = 0; i < sizeof(colon_intrinsics) / sizeof(colon_intrinsics[0]); i++) {
            if (word_is(w, n2, colon_intrinsics[i].name)) {
                p->t = T_FIELD;
                p->field = colon_intrinsics[i].field;
                p->scope = TQS_ANY;
                p->text = NULL;
                return 0;
            }
        }
        query_tql_fail(p, p->col, "unknown intrinsic '%.*s'", (int)n2, w);
        return -1;
    }
    if (word_is(w, n, "minInt") || word_is(w, n, "maxInt")) {
        memset(&p->num, 0, sizeof(p->num));
        p->num.type = TQL_INT;
        p->num.i = w[1] == 'i' ? INT64_MIN : INT64_MAX;
        p->num.f = (double)p->num.i;
        p->num.text = w[1] == 'i' ? "-9223372036854775808" : "9223372036854775807";
        p->num.len = strlen(p->num.text);
        p->t = T_NUMBER;
        return 0;
    }
    p->text = ottr_arena_strndup(p->a, w, n);
    if (p->text == NULL) {
        query_tql_fail(p, p->col, "out of memory");
        return -1;
    }
    p->tlen = n;
    size_t k = p->pos;
    while (p->s[k] == ' ' || p->s[k] == '\t' || p->s[k] == '\n' || p->s[k] == '\r')
        k++;
    p->t = p->s[k] == '(' ? T_FUNC : T_IDENT;
    return 0;
}

static int lex_sop(parser *p, size_t len, tq_sop sop, bool neg, bool uni)
{
    p->pos += len;
    p->t = T_SOP;
    p->sop = sop;
    p->sneg = neg;
    p->suni = uni;
    return 0;
}

static int lex_arith(parser *p, tq_arith op)
{
    p->pos++;
    p->t = T_ARITH;
    p->arith = op;
    return 0;
}

/* Whether a '-' after token |t| subtracts (it follows a value). */
static bool ends_value(tok t)
{
    return t == T_FIELD || t == T_NUMBER || t == T_STRING || t == T_RPAREN || t == T_IDENT;
}

static int lex_token(parser *p);

int query_tql_next(parser *p)
{
    if (p->failed)
        return -1;
    p->prev = p->t;
    int rc = lex_token(p);
    if (rc == 0 &&
        (p->t == T_SOP || p->t == T_ARITH || p->t == T_AND || p->t == T_OR || p->t == T_PIPE ||
         p->t == T_OP) &&
        ++p->nops > 1000) {
        query_tql_fail(p, p->col, "too many operators (at most 1000)");
        return -1;
    }
    return rc;
}

static int lex_token(parser *p)
{
    const char *s = p->s;
    while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r')
        p->pos++;
    p->col = p->pos + 1;
    p->start = p->pos;
    char c = s[p->pos];
    char d = c ? s[p->pos + 1] : '\0';
    char e = d ? s[p->pos + 2] : '\0';
    switch (c) {
    case '\0':
        p->t = T_EOF;
        return 0;
    case '{':
        p->pos++;
        p->t = T_LBRACE;
        return 0;
    case '}':
        p->pos++;
        p->t = T_RBRACE;
        return 0;
    case '(':
        p->pos++;
        p->t = T_LPAREN;
        return 0;
    case ')':
        p->pos++;
        p->t = T_RPAREN;
        return 0;
    case '&':
        if (d == '&') {
            p->pos += 2;
            p->t = T_AND;
            return 0;
        }
        if (d == '>' && e == '>')
            return lex_sop(p, 3, TQ_SOP_DESC, false, true);
        if (d == '<' && e == '<')
            return lex_sop(p, 3, TQ_SOP_ANC, false, true);
        if (d == '>' || d == '<' || d == '~')
            return lex_sop(p, 2,
                           d == '>'   ? TQ_SOP_CHILD
                           : d == '<' ? TQ_SOP_PARENT
                                      : TQ_SOP_SIBLING,
                           false, true);
        query_tql_fail(p, p->col, "unexpected '&' (use &&)");
        return -1;
    case '|':
        if (d == '|') {
            p->pos += 2;
            p->t = T_OR;
            return 0;
        }
        p->pos++;
        p->t = T_PIPE;
        return 0;
    case '!':
        if (d == '=') {
            p->pos += 2;
            p->t = T_OP;
            p->op = TQ_NE;
            return 0;
        }
        if (d == '~') {
            p->pos += 2;
            p->t = T_OP;
            p->op = TQ_NRE;
            return 0;
        }
        if (d == '>' && e == '>')
            return lex_sop(p, 3, TQ_SOP_DESC, true, false);
        if (d == '<' && e == '<')
            return lex_sop(p, 3, TQ_SOP_ANC, true, false);
        if (d == '>' || d == '<')
            return lex_sop(p, 2, d == '>' ? TQ_SOP_CHILD : TQ_SOP_PARENT, true, false);
        p->pos++;
        p->t = T_NOT;
        return 0;
    case '=':
        if (d == '~') {
            p->pos += 2;
            p->op = TQ_RE;
        } else if (d == '=') {
            query_tql_fail(p, p->col, "unexpected '==' (use =)");
            return -1;
        } else {
            p->pos++;
            p->op = TQ_EQ;
        }
        p->t = T_OP;
        return 0;
    case '>':
        if (d == '>')
            return lex_sop(p, 2, TQ_SOP_DESC, false, false);
        p->t = T_OP;
        p->op = d == '=' ? TQ_GE : TQ_GT;
        p->pos += d == '=' ? 2 : 1;
        return 0;
    case '<':
        if (d == '<')
            return lex_sop(p, 2, TQ_SOP_ANC, false, false);
        p->t = T_OP;
        p->op = d == '=' ? TQ_LE : TQ_LT;
        p->pos += d == '=' ? 2 : 1;
        return 0;
    case '~':
        return lex_sop(p, 1, TQ_SOP_SIBLING, false, false);
    case ',':
        p->pos++;
        p->t = T_COMMA;
        return 0;
    case '"':
    case '`':
        if (lex_string(p) != 0)
            return -1;
        p->t = T_STRING;
        return 0;
    case '.':
        if (d == '"' || is_attr_char((unsigned char)d)) {
            p->pos++;
            if (isdigit((unsigned char)d)) {
                query_tql_fail(p, p->col, "bad number '.%c' (write 0.%c)", d, d);
                return -1;
            }
            if (lex_attr_name(p) != 0)
                return -1;
            p->t = T_FIELD;
            p->field = TQF_ATTR;
            p->scope = TQS_ANY;
            p->parent = false;
            return 0;
        }
        query_tql_fail(p, p->col, "attribute name expected after '.'");
        return -1;
    case '+':
        return lex_arith(p, TQ_ADD);
    case '*':
        return lex_arith(p, TQ_MUL);
    case '/':
        return lex_arith(p, TQ_DIV);
    case '%':
        return lex_arith(p, TQ_MOD);
    case '^':
        return lex_arith(p, TQ_POW);
    case '-':
        if (!ends_value(p->prev) &&
            (isdigit((unsigned char)d) || (d == '.' && isdigit((unsigned char)e)))) {
            if (lex_number(p) != 0)
                return -1;
            p->t = T_NUMBER;
            return 0;
        }
        return lex_arith(p, TQ_SUB);
    default:
        break;
    }
    if (isdigit((unsigned char)c)) {
        if (lex_number(p) != 0)
            return -1;
        p->t = T_NUMBER;
        return 0;
    }
    if (isalpha((unsigned char)c) || c == '_')
        return lex_word(p);
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
        query_tql_fail(p, p->col, "unexpected byte 0x%02x", (unsigned char)c);
    else
        query_tql_fail(p, p->col, "unexpected '%c'", c);
    return -1;
}
