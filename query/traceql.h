/* query/traceql.h - TraceQL as Tempo documents it: span set filters { ... }
 * with field expressions (intrinsics, scoped attributes, arithmetic, = != > >=
 * < <= =~ !~, nil), span set operators (&& || and the structural > < >> << ~
 * with their !-negations and &-unions), pipelines (| filters, aggregates
 * compared with count() avg() min() max() sum(), by(), coalesce(), select()).
 * Parsed into an AST in an arena, evaluated per trace into span sets, planned
 * onto the store's indexes. Private to query/ (TraceQL metrics, tqmetrics.c,
 * parse their span set part with it). */
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
    TQF_SPAN_ID,       /* span:id, hex */
    TQF_PARENT_ID,     /* span:parentID, hex */
    TQF_TRACE_ID,      /* trace:id, hex */
    TQF_EVENT_NAME,    /* event:name, any of the span's events */
    TQF_EVENT_TIME,    /* event:timeSinceStart, any event */
    TQF_LINK_TRACE_ID, /* link:traceID, any link */
    TQF_LINK_SPAN_ID,  /* link:spanID, any link */
    TQF_SCOPE_NAME,    /* instrumentation:name */
    TQF_SCOPE_VERSION, /* instrumentation:version */
    TQF_CHILD_COUNT,   /* span:childCount */
    TQF_NS_PARENT,     /* nestedSetParent: the parent's nestedSetLeft, -1 for roots */
    TQF_NS_LEFT,       /* nestedSetLeft: numbering of a depth-first walk from 1 */
    TQF_NS_RIGHT,      /* nestedSetRight */
} tq_field;

typedef enum tq_scope {
    TQS_ANY = 0, /* .x: span or resource */
    TQS_SPAN,
    TQS_RESOURCE,
    TQS_EVENT, /* event.x: any of the span's events */
    TQS_LINK,  /* link.x: any of the span's links */
    TQS_SCOPE, /* instrumentation.x: the instrumentation scope's attributes */
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

/* A value met while evaluating: an attribute, an intrinsic, a literal, the
 * result of arithmetic or of an aggregate. |type| is a tq_lit_type; strings
 * point at the trace, the query or the arena. */
typedef struct tq_value {
    tq_lit_type type;
    const char *s; /* STRING (NUL-terminated) */
    size_t len;
    int64_t i; /* INT, DURATION (ns, may be negative), STATUS, KIND */
    double f;  /* FLOAT */
    bool b;    /* BOOL */
} tq_value;

typedef struct tq_literal {
    tq_lit_type type;
    const char *text; /* strings: the value; numbers: as written */
    size_t len;
    int64_t i;   /* INT, STATUS (0..2), KIND (0..5), DURATION (signed ns) */
    double f;    /* FLOAT (and INT as double) */
    uint64_t d;  /* DURATION, ns (0 when negative: see i) */
    bool b;      /* BOOL */
    regex_t *re; /* for =~ and !~ */
} tq_literal;

typedef enum tq_node_type {
    TQN_COND = 0, /* field op literal */
    TQN_AND,      /* inside a filter */
    TQN_OR,
    TQN_NOT,
    TQN_CONST,    /* true / false / {} */
    TQN_SPANSET,  /* { filter }: l = the filter */
    TQN_SS_AND,   /* spanset && spanset */
    TQN_SS_OR,    /* spanset || spanset */
    TQN_STRUCT,   /* spanset sop spanset: sop, neg, uni */
    TQN_PIPE,     /* l | r: r (a stage) applied to the span sets of l */
    TQN_SCALAR,   /* stage: scalar op scalar (l, r: AGG, LIT, ARITH) */
    TQN_BY,       /* stage: by(l) */
    TQN_COALESCE, /* stage: coalesce() */
    TQN_SELECT,   /* stage: select(l, l->next, ...) */
    TQN_AGG,      /* agg(l); l NULL for count() */
    TQN_REF,      /* a field as a value: field, scope, attr, parent */
    TQN_LIT,      /* a literal as a value */
    TQN_ARITH,    /* l arith r; r NULL for unary minus */
    TQN_CMP,      /* l op r between values (what is not field op literal) */
} tq_node_type;

/* Structural operators, TQN_STRUCT's sop. */
typedef enum tq_sop {
    TQ_SOP_CHILD = 0, /* {a} > {b}: b whose parent is an a */
    TQ_SOP_PARENT,    /* {a} < {b}: b that is the parent of an a */
    TQ_SOP_DESC,      /* {a} >> {b}: b with an a among its ancestors */
    TQ_SOP_ANC,       /* {a} << {b}: b with an a among its descendants */
    TQ_SOP_SIBLING,   /* {a} ~ {b}: b with an a among its siblings */
} tq_sop;

typedef enum tq_arith {
    TQ_ADD = 0,
    TQ_SUB,
    TQ_MUL,
    TQ_DIV,
    TQ_MOD,
    TQ_POW,
    TQ_NEG,
} tq_arith;

typedef enum tq_agg {
    TQ_COUNT = 0,
    TQ_AVG,
    TQ_MIN,
    TQ_MAX,
    TQ_SUM,
} tq_agg;

typedef struct tq_node {
    tq_node_type type;
    struct tq_node *l, *r;
    bool value; /* TQN_CONST */
    /* TQN_COND */
    tq_field field;
    tq_scope scope;
    const char *attr; /* TQF_ATTR: the attribute key */
    tq_op op;         /* also TQN_SCALAR's and TQN_CMP's comparison */
    tq_literal lit;
    /* added for the full language */
    bool parent;          /* TQN_COND, TQN_REF: read from the parent span (parent.x) */
    uint8_t sub;          /* TQN_STRUCT: tq_sop; TQN_ARITH: tq_arith; TQN_AGG: tq_agg */
    bool neg, uni;        /* TQN_STRUCT: !op (not), &op (both sides) */
    const char *text;     /* TQN_BY, TQN_AGG: as Tempo names it ("by(.x)", "count()") */
    struct tq_node *next; /* TQN_SELECT's fields after l */
    regex_t *re;          /* TQN_CMP with =~ or !~ and a literal pattern */
} tq_node;

typedef struct tq_regex_list {
    regex_t re;
    struct tq_regex_list *next;
} tq_regex_list;

typedef struct tq_query {
    tq_node *root;
    tq_regex_list *regexes; /* compiled regexes, freed by query_tq_free */
    bool needs_tree;        /* structure, parent., childCount or nestedSet* */
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
 * span sets (0 = the trace does not match) and marks them in |matched| (one byte
 * per span). Scratch memory comes from |a|; when it runs out the trace counts
 * as not matching. Queries with needs_tree want otlp_trace_build_tree(t) first
 * (without it every span is a root). */
size_t query_tq_eval(const tq_query *q, const otlp_trace *t, const tq_trace_info *ti,
                     uint8_t *matched, ottr_arena *a);

/* A span set of the result and what the pipeline said about it. */
typedef struct tq_ss_attr {
    const char *key; /* "by(resource.service.name)", "count()", ... */
    tq_value v;
    struct tq_ss_attr *next;
} tq_ss_attr;

typedef struct tq_spanset {
    uint32_t *spans; /* indexes into t->spans, ascending */
    size_t n;
    tq_ss_attr *attrs; /* newest first (sets share older entries) */
} tq_spanset;

typedef struct tq_sets {
    tq_spanset *v;
    size_t n;
} tq_sets;

/* The same evaluation keeping the span sets apart (by() splits them): fills
 * |out| (memory from |a|) and returns the number of spans in all of them. The
 * sets never share a span. */
size_t query_tq_eval_sets(const tq_query *q, const otlp_trace *t, const tq_trace_info *ti,
                          tq_sets *out, ottr_arena *a);

/* The attribute |key| of |s| in |scope|: for TQS_ANY the span's, else the
 * resource's; the first event or link that has it; NULL when none. */
const otlp_any *query_tq_attr(const otlp_span_ref *s, tq_scope scope, const char *key);

/* Is |n| true for span |s|? Without the trace, parent., childCount and
 * nestedSet* read as missing. */
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

/* The same for every field the query names: TQN_COND nodes and TQN_REF nodes
 * (in comparisons, aggregates, by() and select()), in query order. */
void query_tq_each_field(const tq_query *q, tq_attr_fn fn, void *ctx);

/* Appends |v| as an OTLP JSON AnyValue ({"stringValue":...}, {"intValue":"3"},
 * durations as Go text "1.5s", status and kind as their words). */
void query_tq_value_json(ottr_buf *b, const tq_value *v);

/* Appends |s| as a TraceQL string literal ("..." with the escapes the lexer reads
 * back: \" \\ \n \t \r). Not ottr_buf_json_str: TraceQL has no \u escapes and
 * the bytes must stay as they are to match stored values. */
void query_tq_quote(ottr_buf *b, const char *s);

#endif /* OTTR_QUERY_TRACEQL_H */
