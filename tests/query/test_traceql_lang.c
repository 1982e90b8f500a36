/* tests/query/test_traceql_lang.c - TraceQL as Tempo documents it, one check
 * per construct (mostly the documentation's own examples) on a fixed
 * seven-span trace: structural operators and their negated and union forms,
 * span set && and ||, pipelines with aggregates, by(), coalesce(), select(),
 * arithmetic, every scope and intrinsic, nil, regexes; the span sets and
 * their attributes; the pre-check and plan never losing a match. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"
#include "query/traceql.h"
#include "tests/query/fixture.h"

#define NSPANS  7
#define LINK_TR "0af7651916cd43dd8448eb211c80319c"

/* The trace (span index: name, service, kind, parent):
 *   0 GET /api/products/{id}  frontend server   root, status ok
 *   1 call cart               frontend client   0, cache.hit
 *   2 call auth               frontend client   0, DELETE, status error
 *   3 GET /cart               cart     server   1, status error
 *   4 SELECT                  cart     client   3, postgresql, error, an exception event
 *   5 cache get               cart     internal 3, a link
 *   6 check                   auth     server   2 */
typedef struct fx {
    ottr_arena a;
    otlp_trace t;
    tq_trace_info ti;
} fx;

static otlp_span *span(fx *f, otlp_scope_spans *ss, int i, int parent, const char *name, int kind,
                       int start_ms, int end_ms)
{
    char id[17], pid[17];
    snprintf(id, sizeof(id), "%016x", i + 1);
    snprintf(pid, sizeof(pid), "%016x", parent + 1);
    return fx_span_new(&f->a, ss, FX_TRACE_A, id, parent < 0 ? NULL : pid, name, kind,
                       FX_T0 + (uint64_t)start_ms * FX_MS, FX_T0 + (uint64_t)end_ms * FX_MS);
}

static void fx_build(fx *f)
{
    ottr_arena *a = &f->a;
    ottr_arena_init(a, 64 * 1024, 0);
    otlp_request *r = fx_req_new(a);
    otlp_resource_spans *fe = fx_rs_new(a, r, "frontend");
    fx_rs_attr(a, fe, fx_str(a, "deployment.environment", "production"));
    otlp_scope_spans *http = fx_ss_new(a, fe, "http", "1.2");
    otlp_kv **lang = ottr_arena_alloc(a, sizeof(*lang));
    lang[0] = fx_str(a, "language", "java");
    http->scope->attributes = lang;
    http->scope->n_attributes = 1;
    otlp_span *s0 = span(f, http, 0, -1, "GET /api/products/{id}", 2, 0, 200);
    fx_span_attr(a, s0, fx_int(a, "http.status_code", 200));
    fx_span_attr(a, s0, fx_str(a, "http.method", "GET"));
    fx_span_attr(a, s0, fx_int(a, "bytesProcessed", 600000000));
    fx_span_status(a, s0, 1, NULL);
    otlp_span *s1 = span(f, http, 1, 0, "call cart", 3, 10, 110);
    fx_span_attr(a, s1, fx_int(a, "http.status_code", 200));
    fx_span_attr(a, s1, fx_int(a, "bytesProcessed", 500000000));
    fx_span_attr(a, s1, fx_bool(a, "cache.hit", 1));
    otlp_span *s2 = span(f, http, 2, 0, "call auth", 3, 20, 60);
    fx_span_attr(a, s2, fx_str(a, "http.method", "DELETE"));
    fx_span_attr(a, s2, fx_int(a, "http.status_code", 500));
    fx_span_status(a, s2, 2, "denied");
    otlp_resource_spans *cart = fx_rs_new(a, r, "cart");
    fx_rs_attr(a, cart, fx_str(a, "deployment.environment", "staging"));
    otlp_scope_spans *grpc = fx_ss_new(a, cart, "grpc", "1.0");
    otlp_span *s3 = span(f, grpc, 3, 1, "GET /cart", 2, 12, 100);
    fx_span_attr(a, s3, fx_int(a, "http.status_code", 500));
    fx_span_status(a, s3, 2, "upstream");
    otlp_span *s4 = span(f, grpc, 4, 3, "SELECT", 3, 30, 90);
    fx_span_attr(a, s4, fx_str(a, "db.system", "postgresql"));
    fx_span_status(a, s4, 2, NULL);
    otlp_event *ev = fx_span_event(a, s4, FX_T0 + 35 * FX_MS, "exception");
    fx_event_attr(a, ev, fx_str(a, "exception.message", "oh no, something went wrong here"));
    otlp_span *s5 = span(f, grpc, 5, 3, "cache get", 1, 15, 20);
    otlp_link *l = fx_span_link(a, s5, LINK_TR, "00000000000000ab");
    fx_link_attr(a, l, fx_str(a, "opentracing.ref_type", "child_of"));
    otlp_resource_spans *auth = fx_rs_new(a, r, "auth");
    otlp_scope_spans *none = fx_ss_new(a, auth, NULL, NULL);
    otlp_span *s6 = span(f, none, 6, 2, "check", 2, 25, 55);
    fx_span_attr(a, s6, fx_int(a, "http.status_code", 200));
    fx_span_attr(a, s6, fx_str(a, "attribute name with space", "value"));
    assert_int_equal(fx_decode_request(a, r, &f->t), OTTR_OK);
    assert_int_equal(f->t.nspans, NSPANS);
    f->ti.root_name = "GET /api/products/{id}";
    f->ti.root_service = "frontend";
    f->ti.duration_ns = 200 * FX_MS;
}

static fx g;

static int setup(void **state)
{
    (void)state;
    fx_build(&g);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ottr_arena_free(&g.a);
    return 0;
}

/* Evaluates |q| on the trace: the matched spans as '0'/'1' per span. Checks on
 * the way that the pre-check and the plan would not have skipped a match. */
static const char *m(const char *q)
{
    static char res[NSPANS + 1];
    tq_query tq;
    char err[QUERY_ERRLEN];
    if (query_tq_parse(q, &g.a, &tq, err, sizeof(err)) != 0)
        fail_msg("%s: %s", q, err);
    uint8_t mk[NSPANS];
    size_t n = query_tq_eval(&tq, &g.t, &g.ti, mk, &g.a);
    size_t c = 0;
    for (size_t i = 0; i < NSPANS; i++) {
        res[i] = mk[i] ? '1' : '0';
        c += mk[i];
    }
    res[NSPANS] = '\0';
    assert_int_equal(n, c);
    if (n)
        assert_int_equal(query_tq_precheck(&tq, &g.ti), 1);
    query_tq_free(&tq);
    return res;
}

static void value_text(char *out, size_t len, const tq_value *v)
{
    switch (v->type) {
    case TQL_STRING:
        snprintf(out, len, "%s", v->s);
        break;
    case TQL_INT:
    case TQL_STATUS:
    case TQL_KIND:
        snprintf(out, len, "%lld", (long long)v->i);
        break;
    case TQL_DURATION:
        snprintf(out, len, "%lldms", (long long)(v->i / (int64_t)FX_MS));
        break;
    case TQL_FLOAT:
        snprintf(out, len, "%g", v->f);
        break;
    case TQL_BOOL:
        snprintf(out, len, "%s", v->b ? "true" : "false");
        break;
    default:
        snprintf(out, len, "nil");
    }
}

/* The span sets of |q|: "1,2 key=value key=value; 3" (attributes oldest first). */
static const char *sets(const char *q)
{
    static char res[512];
    tq_query tq;
    char err[QUERY_ERRLEN];
    if (query_tq_parse(q, &g.a, &tq, err, sizeof(err)) != 0)
        fail_msg("%s: %s", q, err);
    tq_sets s;
    query_tq_eval_sets(&tq, &g.t, &g.ti, &s, &g.a);
    size_t k = 0;
    res[0] = '\0';
    for (size_t i = 0; i < s.n; i++) {
        k += (size_t)snprintf(res + k, sizeof(res) - k, "%s", i ? "; " : "");
        for (size_t j = 0; j < s.v[i].n; j++)
            k += (size_t)snprintf(res + k, sizeof(res) - k, "%s%u", j ? "," : "", s.v[i].spans[j]);
        const tq_ss_attr *at[8];
        size_t na = 0;
        for (const tq_ss_attr *a = s.v[i].attrs; a && na < 8; a = a->next)
            at[na++] = a;
        while (na-- > 0) {
            char v[64];
            value_text(v, sizeof(v), &at[na]->v);
            k += (size_t)snprintf(res + k, sizeof(res) - k, " %s=%s", at[na]->key, v);
        }
    }
    query_tq_free(&tq);
    return res;
}

static void test_structural(void **state)
{
    (void)state;
    /* The documentation's examples. */
    assert_string_equal(m("{ resource.service.name=\"frontend\" } >> { status = error }"),
                        "0011100");
    assert_string_equal(m("{ } !< { resource.service.name = \"cart\" }"), "0000110");
    assert_string_equal(m("{ name = \"SELECT\" } ~ { name = \"cache get\" }"), "0000010");
    assert_string_equal(m("{ name = \"call cart\" } >> { span.db.system = \"postgresql\" }"),
                        "0000100");
    assert_string_equal(m("{ name = \"call cart\" && status = unset } &>> { status = error }"),
                        "0101100");
    assert_string_equal(m("{ status = error } !< { status = error }"), "0010100");
    /* child, parent, ancestor */
    assert_string_equal(m("{ kind = server } > { kind = client }"), "0110100");
    assert_string_equal(m("{ kind = client } < { kind = server }"), "1001000");
    assert_string_equal(m("{ name = \"SELECT\" } << { }"), "1101000");
    /* negations: the right side without the relation */
    assert_string_equal(m("{ resource.service.name = \"cart\" } !>> { }"), "1111001");
    assert_string_equal(m("{ kind = client } !> { }"), "1110110");
    assert_string_equal(m("{ status = error } !<< { }"), "0010111");
    assert_string_equal(m("{ } !~ { }"), "1001001");
    assert_string_equal(m("{ name = \"nothing\" } !>> { kind = server }"), "1001001");
    assert_string_equal(m("{ name = \"nothing\" } >> { }"), "0000000");
    /* unions: both sides of each relation found */
    assert_string_equal(m("{ name = \"GET /cart\" } &> { }"), "0001110");
    assert_string_equal(m("{ name = \"SELECT\" } &< { }"), "0001100");
    assert_string_equal(m("{ name = \"SELECT\" } &<< { kind = server }"), "1001100");
    assert_string_equal(m("{ name = \"SELECT\" } &~ { }"), "0000110");
    /* precedence: structural binds tighter than && and || */
    assert_string_equal(m("{ name = \"check\" } && { kind = server } > { kind = client }"),
                        "0110101");
    assert_string_equal(m("{ kind = server } > { kind = client } > { kind = server }"), "0001001");
}

static void test_spanset_logic(void **state)
{
    (void)state;
    assert_string_equal(m("{ resource.deployment.environment = \"production\" } && "
                          "{ resource.deployment.environment = \"staging\" }"),
                        "1111110");
    assert_string_equal(m("{ resource.deployment.environment = \"production\" && "
                          "resource.deployment.environment = \"staging\" }"),
                        "0000000");
    assert_string_equal(m("{ span.http.method = \"GET\" && status = ok } && "
                          "{ span.http.method = \"DELETE\" && status != ok }"),
                        "1010000");
    assert_string_equal(m("{ resource.service.name = \"auth\" } || { name = \"none\" }"),
                        "0000001");
    assert_string_equal(m("{ name = \"none\" } && { }"), "0000000");
}

static void test_pipelines(void **state)
{
    (void)state;
    assert_string_equal(
        m("{ span.http.status_code >= 200 && span.http.status_code < 300 } | count() > 2"),
        "1100001");
    assert_string_equal(m("count() > 10"), "0000000");
    assert_string_equal(m("count() > 6"), "1111111");
    assert_string_equal(m("avg(duration) > 20ms"), "1111111");
    assert_string_equal(m("avg(duration) > 80ms"), "0000000");
    assert_string_equal(m("{ span.http.status_code = 200 } | count() > 3"), "0000000");
    assert_string_equal(m("{ } | sum(span.bytesProcessed) > 1000000000"), "1111111");
    assert_string_equal(m("{ kind = client } | max(duration) >= 100ms"), "0110100");
    assert_string_equal(m("{ kind = client } | min(duration) < 40ms"), "0000000");
    assert_string_equal(m("{ } | min(duration) < 10ms"), "1111111");
    assert_string_equal(m("{ status = error } | by(resource.service.name) | count() > 1"),
                        "0001100");
    assert_string_equal(m("{ } | by(kind) | count() = 3 | coalesce()"), "1111101");
    assert_string_equal(m("{ } | { status = error }"), "0011100");
    assert_string_equal(m("{ status = error } | select(span.http.status_code, span.http.url)"),
                        "0011100");
    assert_string_equal(
        m("({ kind = client } | count() > 2) && ({ status = error } | count() > 2)"), "0111100");
    assert_string_equal(m("({ kind = client } | count() > 3) || ({ name = \"check\" })"),
                        "0000001");
    assert_string_equal(m("{ } | count() * 2 > 13"), "1111111");
    assert_string_equal(m("{ kind = client } | avg(duration) * 3 > 190ms"), "0110100");
    assert_string_equal(m("{ span.missing = 1 } | avg(span.missing) > 0"), "0000000");
    assert_string_equal(m("{ resource.deployment.environment = \"production\" && "
                          "trace:duration > 100ms } | count() > 2"),
                        "1110000");
    /* The span sets and what by() and the aggregates said about them. */
    assert_string_equal(sets("{ status = error } | by(resource.service.name)"),
                        "3,4 by(resource.service.name)=cart; 2 by(resource.service.name)=frontend");
    assert_string_equal(sets("{ status = error } | by(resource.service.name) | count() > 1"),
                        "3,4 by(resource.service.name)=cart count()=2");
    assert_string_equal(sets("{ kind = client } | avg(duration) > 1ms"),
                        "1,2,4 avg(duration)=66ms");
    assert_string_equal(sets("{ } | by(span.http.status_code) | coalesce()"), "0,1,2,3,4,5,6");
    assert_string_equal(sets("{ kind = server } | by(name = \"check\")"),
                        "0,3 by(name=\"check\")=false; 6 by(name=\"check\")=true");
    assert_string_equal(sets("{ } | by(kind) | { status = error }"),
                        "3 by(kind)=2; 2,4 by(kind)=3");
    /* Operators join inside each set: a group without both sides has none. */
    assert_string_equal(
        sets("{ } | by(resource.service.name) | { kind = server } >> { kind = client }"),
        "4 by(resource.service.name)=cart; 1,2 by(resource.service.name)=frontend");
    assert_string_equal(sets("{ } | by(kind) | { kind = server } >> { kind = client }"), "");
}

static void test_fields(void **state)
{
    (void)state;
    /* intrinsics with Tempo's names and the older spellings */
    assert_string_equal(m("{ span:name = \"SELECT\" }"), "0000100");
    assert_string_equal(m("{ name = \"SELECT\" }"), "0000100");
    assert_string_equal(m("{ span:status = error }"), "0011100");
    assert_string_equal(m("{ span:statusMessage = \"denied\" }"), "0010000");
    assert_string_equal(m("{ statusMessage = \"upstream\" }"), "0001000");
    assert_string_equal(m("{ span:kind = internal }"), "0000010");
    assert_string_equal(m("{ span:duration > 80ms && duration < 150ms }"), "0101000");
    assert_string_equal(m("{ span:id = \"0000000000000005\" }"), "0000100");
    assert_string_equal(m("{ span:id = \"5\" }"), "0000100");
    assert_string_equal(m("{ span:parentID = \"0000000000000004\" }"), "0000110");
    assert_string_equal(m("{ span:parentID = nil }"), "1000000");
    assert_string_equal(m("{ trace:id = \"" FX_TRACE_A "\" }"), "1111111");
    assert_string_equal(m("{ trace:id = \"1234\" }"), "0000000");
    assert_string_equal(m("{ trace:rootService = \"frontend\" && trace:rootName =~ \"GET.*\" }"),
                        "1111111");
    assert_string_equal(m("{ rootServiceName = \"frontend\" && traceDuration >= 200ms }"),
                        "1111111");
    assert_string_equal(m("{ trace:duration > 5s }"), "0000000");
    assert_string_equal(m("{ event:name = \"exception\" }"), "0000100");
    assert_string_equal(m("{ event:timeSinceStart > 2ms && event:timeSinceStart > -5s }"),
                        "0000100");
    assert_string_equal(m("{ event.exception.message =~ \".*something went wrong.*\" }"),
                        "0000100");
    assert_string_equal(m("{ event.exception.message = nil }"), "1111011");
    assert_string_equal(m("{ link:traceID = \"" LINK_TR "\" && link:spanID = \"ab\" }"), "0000010");
    assert_string_equal(m("{ link.opentracing.ref_type = \"child_of\" }"), "0000010");
    assert_string_equal(m("{ instrumentation:name = \"grpc\" }"), "0001110");
    assert_string_equal(m("{ instrumentation:version = \"1.2\" }"), "1110000");
    assert_string_equal(m("{ instrumentation.language = \"java\" }"), "1110000");
    assert_string_equal(m("{ parent.resource.service.name = \"frontend\" && "
                          "resource.service.name = \"cart\" }"),
                        "0001000");
    assert_string_equal(m("{ parent.span.http.status_code = 500 }"), "0000111");
    assert_string_equal(m("{ parent.http.method = \"GET\" }"), "0110000");
    assert_string_equal(m("{ span:childCount = 2 }"), "1001000");
    assert_string_equal(m("{ childCount = 0 }"), "0000111");
    assert_string_equal(m("{ nestedSetParent < 0 && true }"), "1000000");
    assert_string_equal(m("{ nestedSetLeft = 1 && nestedSetRight = 14 }"), "1000000");
    assert_string_equal(m("{ nestedSetParent = 1 }"), "0110000");
    assert_string_equal(m("{ nestedSetLeft > nestedSetParent }"), "1111111");
    /* attributes: scopes, quoting, nil, types, regexes */
    assert_string_equal(m("{ span.\"attribute name with space\" = \"value\" }"), "0000001");
    assert_string_equal(m("{ resource.service.version = nil }"), "1111111");
    assert_string_equal(m("{ resource.deployment.environment = nil }"), "0000001");
    assert_string_equal(m("{ span.db.system != nil }"), "0000100");
    assert_string_equal(m("{ span.db.system =~ \"postgresql|mysql\" }"), "0000100");
    assert_string_equal(m("{ span.http.method =~ \"DELETE|GET\" }"), "1010000");
    assert_string_equal(m("{ span.http.method >= \"E\" }"), "1000000");
    assert_string_equal(m("{ resource.deployment.environment =~ \"prod.*\" && "
                          "span.http.status_code = 200 }"),
                        "1100000");
    assert_string_equal(m("{ span.http.method = \"DELETE\" && status != ok }"), "0010000");
    assert_string_equal(m("{ span.http.status_code != minInt && span.http.status_code != maxInt }"),
                        "1111001");
    /* a boolean attribute alone is compared with true */
    assert_string_equal(m("{ span.cache.hit || span.http.status_code = 500 }"), "0111000");
    assert_string_equal(m("{ !span.cache.hit }"), "1011111");
    /* arithmetic */
    assert_string_equal(m("{ span.bytesProcessed > 10 * 1024 * 1024 }"), "1100000");
    assert_string_equal(m("{ duration * 2 > 150ms }"), "1101000");
    assert_string_equal(m("{ span.bytesProcessed / 1000000 - 500 = 100 }"), "1000000");
    assert_string_equal(m("{ span.http.status_code % 100 = 0 && 2 ^ 3 = 8 }"), "1111001");
    assert_string_equal(m("{ 200 = span.http.status_code }"), "1100001");
    assert_string_equal(m("{ -span.http.status_code < -400 }"), "0011000");
    assert_string_equal(m("{ span.missing + 1 > 0 }"), "0000000");
    assert_string_equal(m("{ -name !~ \"x\" || span.missing * 2 != 4 }"), "0000000");
    assert_string_equal(m("{ instrumentation:name = nil && span:childCount != nil }"), "0000001");
    assert_string_equal(m("{ trace:rootService != nil && span.missing = nil }"), "1111111");
    /* hints are accepted (search answers newest first already) */
    assert_string_equal(m("{ name = \"check\" } with (most_recent=true)"), "0000001");
}

/* The plan keeps index terms from every side a match needs. */
static void test_plan(void **state)
{
    (void)state;
    tq_query tq;
    char err[QUERY_ERRLEN];
    store_search_query sq;
    store_kv kv[8];
    memset(&sq, 0, sizeof(sq));
    assert_int_equal(query_tq_parse("{ span.a = \"x\" } >> { span.b = \"y\" } | count() > 1", &g.a,
                                    &tq, err, sizeof(err)),
                     0);
    query_tq_plan(&tq, &sq, kv, 8);
    assert_int_equal(sq.nattrs, 2);
    query_tq_free(&tq);
    memset(&sq, 0, sizeof(sq));
    assert_int_equal(query_tq_parse("{ span.a = \"x\" } !>> { span.b = \"y\" && link.c = \"z\" }",
                                    &g.a, &tq, err, sizeof(err)),
                     0);
    query_tq_plan(&tq, &sq, kv, 8);
    assert_int_equal(sq.nattrs, 1); /* the negated side may be empty; links are not indexed */
    assert_string_equal(sq.attrs[0].key, "b");
    query_tq_free(&tq);
    /* The pre-check: structure needs both sides, but for negations. */
    tq_trace_info late = {"x", "y", 5 * FX_MS};
    assert_int_equal(query_tq_parse("{ trace:duration > 1s } >> { }", &g.a, &tq, err, sizeof(err)),
                     0);
    assert_int_equal(query_tq_precheck(&tq, &late), 0);
    query_tq_free(&tq);
    assert_int_equal(query_tq_parse("{ trace:duration > 1s } !>> { }", &g.a, &tq, err, sizeof(err)),
                     0);
    assert_int_equal(query_tq_precheck(&tq, &late), 1);
    query_tq_free(&tq);
}

/* Long chains evaluate (recursion follows the chain); past 1000 operators a
 * query is refused. */
static void test_long_chains(void **state)
{
    (void)state;
    size_t cap = 16 * 1001 + 16;
    char *q = malloc(cap);
    assert_non_null(q);
    size_t k = 0;
    for (int i = 0; i < 1000; i++)
        k += (size_t)snprintf(q + k, cap - k, "%s", i ? " && { }" : "{ }");
    assert_string_equal(m(q), "1111111");
    k = 0;
    for (int i = 0; i < 1000; i++)
        k += (size_t)snprintf(q + k, cap - k, "%s", i ? " >> {}" : "{}");
    assert_string_equal(m(q), "0000000"); /* no chain of 1000 spans */
    k = (size_t)snprintf(q, cap, "{ span.http.status_code");
    for (int i = 0; i < 999; i++)
        k += (size_t)snprintf(q + k, cap - k, " + 0");
    snprintf(q + k, cap - k, " = 500 }");
    assert_string_equal(m(q), "0011000");
    snprintf(q + k, cap - k, " + 0 = 500 }");
    char err[QUERY_ERRLEN];
    assert_int_equal(query_traceql_check(q, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too many operators"));
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structural), cmocka_unit_test(test_spanset_logic),
        cmocka_unit_test(test_pipelines),  cmocka_unit_test(test_fields),
        cmocka_unit_test(test_plan),       cmocka_unit_test(test_long_chains),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
