/* query/tqlex.h - the TraceQL lexer shared with the parser: token kinds, the
 * parser state that holds the current token, and error reporting. Private to
 * query/. */
#ifndef OTTR_QUERY_TQLEX_H
#define OTTR_QUERY_TQLEX_H

#include "query/traceql.h"

#define MAX_DEPTH 64 /* nesting of parentheses, braces and unary operators */

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
    T_PIPE,  /* | */
    T_COMMA,
    T_SOP,   /* a structural operator but > < and !~ (T_OP): sop, sneg, suni */
    T_ARITH, /* + - * / % ^: arith */
    T_FUNC,  /* a name followed by '(': text */
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
    bool parent;    /* T_FIELD: parent.x */
    tq_literal num; /* T_NUMBER */
    tq_sop sop;     /* T_SOP */
    bool sneg, suni;
    tq_arith arith; /* T_ARITH */
    tok prev;       /* the token before */
    size_t start;   /* offset of the current token's first byte */
    size_t nops;    /* operators so far, bounded */
} parser;

/* Records the first error as "invalid TraceQL query: <msg> at column <col>". */
void query_tql_fail(parser *p, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads the next token into |p|. Returns 0, or -1 with p->failed set (bad
 * numbers, strings, unknown scopes and intrinsics, with a message naming them). */
int query_tql_next(parser *p);

/* Checks and compiles the regular expression |text| (anchored at both ends)
 * into the query's list; 0 or -1 with the error recorded at |col|. */
int query_tql_regex(parser *p, const char *text, size_t len, size_t col, regex_t **out);

/* The parser's pieces shared by traceql.c (field expressions) and
 * traceql_pipe.c (span set expressions and pipelines). */
tq_node *query_tql_new(parser *p, tq_node_type type);
tq_node *query_tql_node2(parser *p, tq_node_type type, tq_node *l, tq_node *r);
int query_tql_enter(parser *p); /* one level deeper; -1 past MAX_DEPTH */
/* A field expression: a condition, or a value (TQN_REF, TQN_LIT, TQN_ARITH). */
tq_node *query_tql_field_expr(parser *p);
/* |n| as a condition (an attribute alone is compared with true); NULL with an
 * error at |col| when it is a value. */
tq_node *query_tql_as_bool(parser *p, tq_node *n, size_t col);
/* l op r, folded when both are literals; r NULL for TQ_NEG. */
tq_node *query_tql_arith(parser *p, tq_arith op, tq_node *l, tq_node *r, size_t col);
/* sub (op sub)* for the arithmetic operators in |ops| (bits 1 << tq_arith),
 * left to right. */
#define TQ_OPS_ADD (1u << TQ_ADD | 1u << TQ_SUB)
#define TQ_OPS_MUL (1u << TQ_MUL | 1u << TQ_DIV | 1u << TQ_MOD)
tq_node *query_tql_chain(parser *p, tq_node *(*sub)(parser *), unsigned ops);
/* The query text between two offsets without blanks outside quotes, in the arena. */
char *query_tql_src(parser *p, size_t from, size_t to);
/* pipeline := stage ('|' stage)* */
tq_node *query_tql_pipeline(parser *p);
/* Skips Tempo's query hints "with (most_recent=true, ...)"; 0 or -1. */
int query_tql_hints(parser *p);

#endif /* OTTR_QUERY_TQLEX_H */
