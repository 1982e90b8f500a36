/* query/traceql.h - the TraceQL subset Ottr answers: spanset filters { ... }
 * combined with && and ||, conditions on intrinsics (name, status, kind,
 * duration, statusMessage, rootName, rootServiceName, traceDuration) and on
 * scoped attributes (resource.x, span.x, event.x, .x), operators = != > >= < <= =~ !~.
 * Parsed into an AST in an arena, evaluated per span, planned onto the store's
 * indexes. Private to query/. */
#ifndef OTTR_QUERY_TRACEQL_H
#define OTTR_QUERY_TRACEQL_H

#include <regex.h>
#include <stdbool.h>

#include "query/qtrace.h"

typedef enum tq_field {
    TQF_ATTR = 0,
    TQF_NAME,
    TQF_STATUS,
    TQF_STATUS_MESSAGE,
    TQF_KIND,
    TQF_DURATION,
    TQF_ROOT_NAME,
    TQF_ROOT_SERVICE,
    TQF_TRACE_DURATION,
} tq_field;

typedef enum tq_scope {
    TQS_ANY = 0, /* .x: span or resource */
    TQS_SPAN,
    TQS_RESOURCE,
    TQS_EVENT, /* event.x: any of the span's events */
} tq_scope;

typedef enum tq_op {
    TQ_EQ = 0,
    TQ_NE,
    TQ_GT,
    TQ_GE,
    TQ_LT,
    TQ_LE,
    TQ_RE,
    TQ_NRE,
} tq_op;

typedef enum tq_lit_type {
    TQL_STRING = 0,
    TQL_INT,
    TQL_FLOAT,
    TQL_DURATION,
    TQL_BOOL,
    TQL_STATUS,
    TQL_KIND,
    TQL_NIL,
} tq_lit_type;

typedef struct tq_literal {
    tq_lit_type type;
    const char *text; /* strings: the value; numbers: as written */
    size_t len;
    int64_t i;   /* INT, STATUS (0..2), KIND (0..5) */
    double f;    /* FLOAT (and INT as double) */
    uint64_t d;  /* DURATION, ns */
    bool b;      /* BOOL */
    regex_t *re; /* for =~ and !~ */
} tq_literal;

typedef enum tq_node_type {
    TQN_COND = 0, /* field op literal */
    TQN_AND,      /* inside a filter */
    TQN_OR,
    TQN_NOT,
    TQN_CONST,   /* true / false / {} */
    TQN_SPANSET, /* { filter }: l = the filter */
    TQN_SS_AND,  /* spanset && spanset */
    TQN_SS_OR,   /* spanset || spanset */
} tq_node_type;

typedef struct tq_node {
    tq_node_type type;
    struct tq_node *l, *r;
    bool value; /* TQN_CONST */
    /* TQN_COND */
    tq_field field;
    tq_scope scope;
    const char *attr; /* TQF_ATTR: the attribute key */
    tq_op op;
    tq_literal lit;
} tq_node;

typedef struct tq_regex_list {
    regex_t re;
    struct tq_regex_list *next;
} tq_regex_list;

typedef struct tq_query {
    tq_node *root;
    tq_regex_list *regexes; /* compiled regexes, freed by query_tq_free */
} tq_query;

/* Parses |q| into |out| with memory from |a|. Returns 0, or -1 with a message
 * for the user in |err| (what is wrong or not supported, and where). The caller
 * calls query_tq_free() in both cases. */
int query_tq_parse(const char *q, ottr_arena *a, tq_query *out, char *err, size_t errlen);
void query_tq_free(tq_query *q);

/* Trace-level values a query may ask about. */
typedef struct tq_trace_info {
    const char *root_name;    /* NULL when the root span is unknown */
    const char *root_service; /* NULL when the root span is unknown */
    uint64_t duration_ns;
} tq_trace_info;

/* Fills |ti| from a summary. */
void query_tq_trace_info_from_summary(tq_trace_info *ti, const store_trace_summary *sum);

/* Answers from the trace-level values only: 0 when no span of the trace can
 * match (skip it without reading it), 1 when some may. */
int query_tq_precheck(const tq_query *q, const tq_trace_info *ti);

/* Evaluates the query over |t|: returns the number of spans in the resulting
 * span set (0 = the trace does not match) and marks them in |matched| (one byte
 * per span). Scratch memory for queries joining span sets comes from |a|;
 * when it runs out the trace counts as not matching. */
size_t query_tq_eval(const tq_query *q, const otlp_trace *t, const tq_trace_info *ti,
                     uint8_t *matched, ottr_arena *a);

/* Is |n| true for span |s|? */
bool query_tq_eval_filter(const tq_node *n, const otlp_span_ref *s, const tq_trace_info *ti);

/* Extracts what the store's indexes can use from terms every match must satisfy:
 * service, span name (both from the same span set only), attribute equalities
 * (up to |maxkv| into |kv|, strings pointing into the AST), trace duration
 * bounds. Fields of |sq| the query does not constrain are left as they are. */
void query_tq_plan(const tq_query *q, store_search_query *sq, store_kv *kv, size_t maxkv);

/* Calls |fn| for each distinct attribute condition of the query (to show the
 * matched values in search results), in query order. */
typedef void (*tq_attr_fn)(void *ctx, const tq_node *cond);
void query_tq_each_condition(const tq_query *q, tq_attr_fn fn, void *ctx);

/* Appends |s| as a TraceQL string literal ("..." with the escapes the lexer reads
 * back: \" \\ \n \t \r). Not ottr_buf_json_str: TraceQL has no \u escapes and
 * the bytes must stay as they are to match stored values. */
void query_tq_quote(ottr_buf *b, const char *s);

#endif /* OTTR_QUERY_TRACEQL_H */
