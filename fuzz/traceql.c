/* fuzz/traceql.c - fuzzes the TraceQL parser (query/traceql*.c) with the query
 * text, and when it parses, everything that runs a parsed query: the pre-check
 * on trace-level values, the plan onto the store's indexes, the walks over
 * conditions and fields, and the evaluation into span sets against a small
 * fixed trace (sets sorted, disjoint, and what query_tq_eval counts). */
#include "fuzz/fuzz.h"
#include "query/traceql.h"

/* Three spans, two services, attributes of every type. */
static const char trace_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"frontend\"}},"
    "{\"key\":\"cloud.region\",\"value\":{\"stringValue\":\"eu-west-1\"}}]},"
    "\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"1000000000000001\","
    "\"name\":\"GET /cart\",\"kind\":2,\"startTimeUnixNano\":\"1700000000000000000\","
    "\"endTimeUnixNano\":\"1700000000150000000\",\"attributes\":["
    "{\"key\":\"http.method\",\"value\":{\"stringValue\":\"GET\"}},"
    "{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"500\"}},"
    "{\"key\":\"retry\",\"value\":{\"boolValue\":true}},"
    "{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.25}}],"
    "\"status\":{\"code\":2,\"message\":\"upstream failed\"}},"
    "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"1000000000000002\","
    "\"parentSpanId\":\"1000000000000001\",\"name\":\"SELECT\",\"kind\":3,"
    "\"startTimeUnixNano\":\"1700000000010000000\",\"endTimeUnixNano\":\"1700000000020000000\"}"
    "]}]},{\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"cart\"}}]},"
    "\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"1000000000000003\","
    "\"parentSpanId\":\"1000000000000001\",\"name\":\"cart.Get\",\"kind\":2,"
    "\"startTimeUnixNano\":\"1700000000030000000\",\"endTimeUnixNano\":\"1700000000100000000\","
    "\"attributes\":[{\"key\":\"items\",\"value\":{\"arrayValue\":{\"values\":["
    "{\"intValue\":\"1\"}]}}}]}]}]}]}";

static ottr_arena trace_arena;
static otlp_trace trace;

/* Decodes the fixed trace once (it lives as long as the process). */
static const otlp_trace *fixed_trace(void)
{
    static int ready;
    if (!ready) {
        ottr_arena_init(&trace_arena, 64 * 1024, 0);
        otlp_traces_data *td = NULL;
        char err[256];
        FUZZ_CHECK(otlp_json_decode_traces(&trace_arena, trace_json, sizeof(trace_json) - 1, &td,
                                           NULL, err, sizeof(err)) == OTTR_OK);
        FUZZ_CHECK(otlp_trace_from_data(&trace, &trace_arena, td) == OTTR_OK);
        FUZZ_CHECK(otlp_trace_build_tree(&trace, &trace_arena) == OTTR_OK);
        FUZZ_CHECK(trace.nspans == 3);
        ready = 1;
    }
    return &trace;
}

static void count_condition(void *ctx, const tq_node *cond)
{
    FUZZ_CHECK(cond->type == TQN_COND);
    ++*(size_t *)ctx;
}

static void count_field(void *ctx, const tq_node *f)
{
    FUZZ_CHECK(f->type == TQN_COND || f->type == TQN_REF);
    ++*(size_t *)ctx;
}

/* The span sets: ascending, no span in two sets, |n| spans in all. */
static void check_sets(const tq_sets *sets, size_t n, size_t nspans)
{
    uint8_t seen[3] = {0, 0, 0};
    size_t total = 0;
    for (size_t k = 0; k < sets->n; k++) {
        FUZZ_CHECK(sets->v[k].n > 0);
        for (size_t j = 0; j < sets->v[k].n; j++) {
            uint32_t i = sets->v[k].spans[j];
            FUZZ_CHECK(i < nspans && !seen[i]);
            FUZZ_CHECK(j == 0 || sets->v[k].spans[j - 1] < i);
            seen[i] = 1;
            total++;
        }
    }
    FUZZ_CHECK(total == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const otlp_trace *t = fixed_trace();
    char *q = fuzz_strdup(data, size);
    if (q == NULL)
        return 0;
    ottr_arena a;
    ottr_arena_init(&a, 16 * 1024, 16u << 20);
    tq_query tq;
    char err[256];
    if (query_tq_parse(q, &a, &tq, err, sizeof(err)) == 0) {
        FUZZ_CHECK(tq.root != NULL);
        tq_trace_info ti = {"GET /cart", "frontend", 150000000};
        tq_trace_info unknown = {NULL, NULL, 0};
        int may = query_tq_precheck(&tq, &ti);
        query_tq_precheck(&tq, &unknown);
        uint8_t matched[3];
        memset(matched, 0, sizeof(matched));
        size_t n = query_tq_eval(&tq, t, &ti, matched, &a);
        FUZZ_CHECK(n <= t->nspans);
        FUZZ_CHECK(n == 0 || may); /* the pre-check never skips a matching trace */
        store_search_query sq;
        store_kv kv[8];
        memset(&sq, 0, sizeof(sq));
        query_tq_plan(&tq, &sq, kv, 8);
        FUZZ_CHECK(sq.nattrs <= 8);
        size_t conds = 0, fields = 0;
        query_tq_each_condition(&tq, count_condition, &conds);
        query_tq_each_field(&tq, count_field, &fields);
        FUZZ_CHECK(fields >= conds);
        tq_sets sets;
        size_t n2 = query_tq_eval_sets(&tq, t, &ti, &sets, &a);
        FUZZ_CHECK(n2 == n);
        check_sets(&sets, n2, t->nspans);
        for (size_t k = 0; k < sets.n; k++) {
            ottr_buf jb = {0};
            for (const tq_ss_attr *at = sets.v[k].attrs; at; at = at->next)
                query_tq_value_json(&jb, &at->v);
            ottr_buf_free(&jb);
        }
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    query_tq_free(&tq);
    ottr_arena_free(&a);

    /* A string quoted as TraceQL reads back as the same string. */
    ottr_buf b = {0};
    ottr_buf_puts(&b, "{ span.k = ");
    query_tq_quote(&b, q);
    ottr_buf_puts(&b, " }");
    FUZZ_CHECK(!b.oom);
    ottr_arena_init(&a, 16 * 1024, 16u << 20);
    if (strlen(q) == size && query_tq_parse(b.data, &a, &tq, err, sizeof(err)) == 0) {
        FUZZ_CHECK(tq.root->type == TQN_SPANSET && tq.root->l->type == TQN_COND);
        const tq_literal *lit = &tq.root->l->lit;
        FUZZ_CHECK(lit->type == TQL_STRING && lit->len == size && memcmp(lit->text, q, size) == 0);
    }
    query_tq_free(&tq);
    ottr_arena_free(&a);
    ottr_buf_free(&b);
    free(q);
    return 0;
}
