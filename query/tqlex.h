/* query/tqlex.h - the TraceQL lexer shared with the parser: token kinds, the
 * parser state that holds the current token, and error reporting. Private to
 * query/. */
#ifndef OTTR_QUERY_TQLEX_H
#define OTTR_QUERY_TQLEX_H

#include "query/traceql.h"

typedef enum tok {
    T_EOF = 0,
    T_LBRACE,
    T_RBRACE,
    T_LPAREN,
    T_RPAREN,
    T_AND,
    T_OR,
    T_NOT,
    T_OP,
    T_STRING,
    T_NUMBER,
    T_IDENT,
    T_FIELD, /* an intrinsic written span:x / trace:x, or a scoped attribute */
} tok;

typedef struct parser {
    const char *s;
    size_t pos;
    ottr_arena *a;
    tq_query *q;
    char *err;
    size_t errlen;
    int failed;
    int depth;
    /* the current token */
    tok t;
    size_t col; /* 1-based column of its first byte */
    tq_op op;
    char *text; /* strings, identifiers, attribute names (arena) */
    size_t tlen;
    tq_field field; /* T_FIELD */
    tq_scope scope;
    tq_literal num; /* T_NUMBER */
} parser;

/* Records the first error as "invalid TraceQL query: <msg> at column <col>". */
void query_tql_fail(parser *p, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads the next token into |p|. Returns 0, or -1 with p->failed set; refuses
 * unsupported syntax (pipelines, structural operators, functions, arithmetic,
 * other scopes) with a message naming it. */
int query_tql_next(parser *p);

#endif /* OTTR_QUERY_TQLEX_H */
