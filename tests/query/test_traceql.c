/* tests/query/test_traceql.c - TraceQL syntax and types: what parses, what is refused
 * and with which message, how conditions evaluate on spans (types, scopes,
 * span-set joins), the trace-level pre-check and the index plan. */
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

static void test_valid(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{}",
        "{ }",
        "{true}",
        "{ false || true }",
        "{resource.service.name=\"checkout\" && name=\"GET /cart\" && duration>100ms && "
        "status=error}",
        "{ span.http.status_code >= 500 }",
        "{ .http.method = \"GET\" }",
        "{ span.\"attr with spaces\" = `raw \\ string` }",
        "{ name =~ \"GET.*\" && name !~ \"/health\" }",
        "{ kind = server } && { kind = client }",
        "{ kind = producer } || { kind = consumer }",
        "({ status = ok } || { status = unset }) && { rootServiceName = \"a\" }",
        "{ !(status = error) }",
        "{ traceDuration > 1.5s && traceDuration <= 1h30m }",
        "{ rootName = \"x\" }",
        "{ statusMessage = \"boom\" }",
        "{ span.ratio > 0.5 && span.ratio < -1.5 && span.n != -3 }",
        "{ .flag = true && .other = false }",
        "{ .x = nil } || { .y != nil }",
        "{ span:name = \"a\" && span:status = error && span:kind = client && span:duration > 1ms "
        "&& trace:rootService = \"s\" && trace:rootName = \"r\" && trace:duration < 10s }",
        "{ duration >= 0 }",
        "{ resource.k8s.pod.name = \"api-7d9f\" }",
        "{ span.http.url = \"https://example.com/a?b=c\" }",
        "{ .ip =~ \"[0-9]{1,3}(\\\\.[0-9]{1,3}){3}\" && name =~ \"(GET|POST) /v[0-9]+/.*\" }",
        "{ .id =~ \"[[:xdigit:]]{32}|[]a-z[]{1,64}\" }",
        "{ name =~ \"(a*b)+|x+*|(c?d){2,5}|(GET )?/api/.*\" }",
        /* the full language */
        "{} | count() > 2",
        "{} | select(span.a, resource.b, duration)",
        "{ .a = 1 } >> { .b = 2 }",
        "{ .a = 1 } > { .b = 2 }",
        "{ .a = 1 } && { .b = 2 } < { .c = 3 }",
        "{ .a = 1 } !~ { .b = 2 } ~ { }",
        "{ .a = 1 } &>> { .b = 2 } &> {} &<< {} &< {} &~ {} !>> {} !> {} !<< {} !< {}",
        "{ link.span_id = \"x\" && link:traceID = \"ab\" && link:spanID != nil }",
        "{ parent.name = \"x\" && parent.span.a = 1 && parent.resource.b = 2 }",
        "{ instrumentation.name = \"x\" && instrumentation:name = \"y\" && "
        "instrumentation:version = \"1\" }",
        "{ span:id = \"x\" && span:parentID = \"y\" && trace:id = \"z\" && span:childCount > 1 }",
        "{ event:name = \"x\" && event:timeSinceStart > -5s }",
        "{ childCount > 1 && nestedSetParent < 0 && nestedSetLeft = 1 && nestedSetRight > 2 }",
        "count() > 1",
        "avg(duration) > 20ms",
        "{ duration * 2 > 1s }",
        "{ .a + 1 = 2 }",
        "{ .a }",
        "{ \"x\" = .a && 3 < .b }",
        "{ span.http.request_content_length > 10 * 1024 * 1024 }",
        "{ .a - 1 > -2 && -.b < 3 && .c % 2 = 1 && .d ^ 2 > 4 && (.e + .f) / 2 > .g }",
        "{ .value != minInt && .value != maxInt }",
        "{ } | by(resource.service.name) | count() > 1 | coalesce()",
        "({ .a = 1 } | count() > 1) && ({ .b = 2 } | avg(duration) > 1s)",
        "{ } | min(duration) < 1ms | max(span.x) >= 3 | sum(span.y) = 2 | count() * 2 > 1 + 1",
        "{ } | { .a = 1 } | by(.b)",
        "{ } with (most_recent=true)",
        "by(.a) | count() > 1",
    };
    ottr_arena a;
    ottr_arena_init(&a, 4096, 1 << 20);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        tq_query q;
        char err[QUERY_ERRLEN] = "";
        int rc = query_tq_parse(ok[i], &a, &q, err, sizeof(err));
        if (rc != 0)
            fail_msg("%s: %s", ok[i], err);
        query_tq_free(&q);
        assert_int_equal(query_traceql_check(ok[i], err, sizeof(err)), 0);
    }
    ottr_arena_free(&a);
}

static void test_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *q;
        const char *msg;
    } bad[] = {
        {"", "empty query"},
        {"   ", "empty query"},
        {"name = \"x\"", "span set filter '{ ... }' expected at column 1"},
        {"{ name = \"x\"", "'}' expected"},
        {"{ name = \"x\" } extra", "end of query expected"},
        {"{ http.method = \"GET\" }",
         "unknown field 'http.method' (attributes need a scope: span."},
        {"{ foo = 1 }", "unknown field 'foo'"},
        {"{ status = 2 }", "status must be compared with error, ok or unset"},
        {"{ status > error }", "status can only be compared with = or !="},
        {"{ kind = error }", "kind must be compared with unspecified"},
        {"{ duration > \"1s\" }", "duration must be compared with a duration"},
        {"{ traceDuration > 5 }", "traceDuration must be compared with a duration"},
        {"{ name = 3 }", "name must be compared with a string"},
        {"{ .a = error }", "'error' can only be compared with status"},
        {"{ .a > nil }", "nil can only be compared with = or !="},
        {"{ .a =~ 3 }", "=~ needs a string pattern"},
        {"{ duration =~ \"1\" }", "duration cannot be matched with =~"},
        {"{ name =~ \"(\" }", "bad regular expression"},
        {"{ name =~ \"(a)\\\\1\" }", "back-references"},
        /* glibc's regcomp copies the operand of + and {m,n}, and repetitions of
         * what matches empty blow up its epsilon closures: seconds to minutes
         * and gigabytes (fuzz/regressions/traceql). */
        {"{ name =~ \"(/+)++++++++++++++++++++++++++++++++++++++++\" }", "too large"},
        {"{ name =~ \")+++++#r?s\" }", "unmatched ')'"},
        {"{ name =~ \"a)|(b\" }", "unmatched ')'"},
        {"{ name =~ \"((ab{1,99}){1,99}){1,99}\" }", "too large once repetitions"},
        {"{ name =~ \"/*++++++\" }", "repetition of something that can match the empty"},
        {"{ name =~ \"((a?){0,40}){0,40}\" }", "can match the empty string"},
        {"{ name =~ \"x((a?)+)+\" }", "can match the empty string"},
        {"{ name =~ \"(a|b|)*\" }", "can match the empty string"},
        {"{ name =~ \"(^)*\" }", "can match the empty string"},
        {"{ .a = \"unterminated }", "unterminated string"},
        {"{ .a = }", "value expected at column 8"},
        {"{ .a == 1 }", "unexpected '==' (use =)"},
        {"{ .a = 1 & .b = 2 }", "unexpected '&' (use &&)"},
        {"{ .a = bogus }", "unknown value 'bogus'"},
        {"{ .a = 99999999999999999999 }", "out of range"},
        {"{ .a = 1x }", "bad number or duration '1x'"},
        {"{ . = 1 }", "attribute name expected"},
        {"{ span. = 1 }", "attribute name expected"},
        {"{ .a = 1 } && ", "span set filter '{ ... }' expected"},
        {"{ .a = \"\x01\" } #", "unexpected '#'"},
        /* the full language's mistakes */
        {"{} | rate()", "'rate()' is a TraceQL metrics function"},
        {"{} | count()", "an aggregate is compared with"},
        {"{} | count() =~ \"x\"", "an aggregate is compared with"},
        {"{} | 3 > 2", "needs an aggregate"},
        {"{} | select(status = error)", "select() takes fields"},
        {"{} | avg(status = error) > 1", "avg() takes a field"},
        {"{} | frob()", "unknown function 'frob()'"},
        {"{} | median(duration) > 1", "unknown function"},
        {"{} |", "a stage expected after '|'"},
        {"{ trace.x = 1 }", "traces have no attributes"},
        {"{ span:frob = 1 }", "unknown intrinsic 'span:frob'"},
        {"{ count() > 1 }", "cannot be used inside a span set filter"},
        {"{ .a = 1 } = { .b = 2 }", "span sets are joined with"},
        {"{ duration }", "comparison operator expected after 'duration'"},
        {"{ 1 }", "a condition starts with a field, not a value"},
        {"{ .a + 1 }", "comparison operator expected after arithmetic"},
        {"{ (.a = 1) = true }", "compares values, not conditions"},
        {"{ .a = 1 / 0 }", "cannot compute"},
        {"{ span:childCount = \"x\" }", "must be compared with a number"},
        {"{ event:timeSinceStart > 1 }", "must be compared with a duration"},
        {"{ span:id = 3 }", "must be compared with a string"},
        {"{ .a =~ .b }", "needs a string pattern"},
        {"{ } with (most_recent)", "'=' expected"},
        {"({ } | count() > 1", "')' expected"},
    };
    ottr_arena a;
    ottr_arena_init(&a, 4096, 1 << 20);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tq_query q;
        char err[QUERY_ERRLEN] = "";
        int rc = query_tq_parse(bad[i].q, &a, &q, err, sizeof(err));
        query_tq_free(&q);
        if (rc == 0)
            fail_msg("%s: parsed but should not", bad[i].q);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].q, err, bad[i].msg);
        assert_non_null(strstr(err, "invalid TraceQL query"));
    }
    ottr_arena_free(&a);
}

/* Deeply nested input is refused, not a stack overflow. */
static void test_nesting(void **state)
{
    (void)state;
    size_t n = 100000;
    char *q = malloc(2 * n + 16);
    assert_non_null(q);
    size_t k = 0;
    q[k++] = '{';
    for (size_t i = 0; i < n; i++)
        q[k++] = '(';
    memcpy(q + k, "true", 4);
    k += 4;
    for (size_t i = 0; i < n; i++)
        q[k++] = ')';
    q[k++] = '}';
    q[k] = '\0';
    char err[QUERY_ERRLEN];
    assert_int_equal(query_traceql_check(q, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too deeply nested"));
    free(q);
}

/* A trace to evaluate on: frontend server root with attributes of each type,
 * a client child, a cart server with an error. */
typedef struct ev {
    ottr_arena a;
    otlp_trace t;
    tq_trace_info ti;
} ev;

static void ev_build(ev *e)
{
    ottr_arena_init(&e->a, 64 * 1024, 0);
    otlp_request *r = fx_req_new(&e->a);
    otlp_resource_spans *fe = fx_rs_new(&e->a, r, "frontend");
    fx_rs_attr(&e->a, fe, fx_str(&e->a, "env", "prod"));
    otlp_scope_spans *ss = fx_ss_new(&e->a, fe, "lib", NULL);
    const char *tid = FX_TRACE_A;
    otlp_span *s1 = fx_span_new(&e->a, ss, tid, "0000000000000001", NULL, "GET /cart", 2, 1000,
                                1000 + 150 * FX_MS);
    fx_span_attr(&e->a, s1, fx_int(&e->a, "code", 200));
    fx_span_attr(&e->a, s1, fx_dbl(&e->a, "ratio", 0.75));
    fx_span_attr(&e->a, s1, fx_bool(&e->a, "cached", 1));
    fx_span_attr(&e->a, s1, fx_str(&e->a, "env", "span-level"));
    fx_span_status(&e->a, s1, 1, NULL);
    otlp_span *s2 = fx_span_new(&e->a, ss, tid, "0000000000000002", "0000000000000001", "GET /api",
                                3, 2000, 2000 + 20 * FX_MS);
    fx_span_attr(&e->a, s2, fx_str(&e->a, "code", "404"));
    otlp_kv *items[] = {fx_str(&e->a, "", "a"), fx_int(&e->a, "", 3)};
    fx_span_attr(&e->a, s2, fx_array(&e->a, "tags", items, 2));
    otlp_event *ex = fx_span_event(&e->a, s2, 2500, "exception");
    fx_event_attr(&e->a, ex, fx_str(&e->a, "exception.type", "CardDeclinedError"));
    fx_event_attr(&e->a, ex, fx_dbl(&e->a, "amount", 0.1));
    otlp_resource_spans *cart = fx_rs_new(&e->a, r, "cart");
    otlp_scope_spans *cs = fx_ss_new(&e->a, cart, NULL, NULL);
    otlp_span *s3 = fx_span_new(&e->a, cs, tid, "0000000000000003", "0000000000000002", "GET /api",
                                2, 3000, 3000 + 10 * FX_MS);
    fx_span_status(&e->a, s3, 2, "boom");
    fx_span_attr(&e->a, s3, fx_int(&e->a, "code", 503));
    assert_int_equal(fx_decode_request(&e->a, r, &e->t), OTTR_OK);
    e->ti.root_name = "GET /cart";
    e->ti.root_service = "frontend";
    e->ti.duration_ns = 150 * FX_MS;
}

static void ev_free(ev *e)
{
    ottr_arena_free(&e->a);
}

/* Evaluates |q| and returns the matched spans as a string of '0'/'1'. */
static const char *eval(ev *e, const char *q)
{
    static char res[16];
    tq_query tq;
    char err[QUERY_ERRLEN];
    if (query_tq_parse(q, &e->a, &tq, err, sizeof(err)) != 0)
        fail_msg("%s: %s", q, err);
    uint8_t m[3];
    size_t n = query_tq_eval(&tq, &e->t, &e->ti, m, &e->a);
    size_t c = 0;
    for (size_t i = 0; i < 3; i++) {
        res[i] = m[i] ? '1' : '0';
        c += m[i];
    }
    res[3] = '\0';
    assert_int_equal(n, c);
    if (n == 0)
        memcpy(res, "000", 4);
    query_tq_free(&tq);
    return res;
}

static void test_eval(void **state)
{
    (void)state;
    ev e;
    ev_build(&e);
    assert_int_equal(e.t.nspans, 3);
    assert_string_equal(eval(&e, "{}"), "111");
    assert_string_equal(eval(&e, "{ false }"), "000");
    /* intrinsics */
    assert_string_equal(eval(&e, "{ name = \"GET /api\" }"), "011");
    assert_string_equal(eval(&e, "{ name != \"GET /api\" }"), "100");
    assert_string_equal(eval(&e, "{ name =~ \"GET /(c|a).*\" }"), "111");
    assert_string_equal(eval(&e, "{ name =~ \"GET\" }"), "000"); /* anchored */
    assert_string_equal(eval(&e, "{ name !~ \".*cart\" }"), "011");
    assert_string_equal(eval(&e, "{ name > \"GET /b\" }"), "100");
    assert_string_equal(eval(&e, "{ status = error }"), "001");
    assert_string_equal(eval(&e, "{ status = unset }"), "010");
    assert_string_equal(eval(&e, "{ status != ok }"), "011");
    assert_string_equal(eval(&e, "{ kind = server }"), "101");
    assert_string_equal(eval(&e, "{ kind = client }"), "010");
    assert_string_equal(eval(&e, "{ duration > 15ms }"), "110");
    assert_string_equal(eval(&e, "{ duration >= 10ms && duration < 20ms }"), "001");
    assert_string_equal(eval(&e, "{ statusMessage = \"boom\" }"), "001");
    assert_string_equal(eval(&e, "{ rootServiceName = \"frontend\" }"), "111");
    assert_string_equal(eval(&e, "{ rootName = \"nope\" }"), "000");
    assert_string_equal(eval(&e, "{ traceDuration > 100ms && kind = client }"), "010");
    assert_string_equal(eval(&e, "{ traceDuration > 1s }"), "000");
    /* scopes */
    assert_string_equal(eval(&e, "{ resource.service.name = \"cart\" }"), "001");
    assert_string_equal(eval(&e, "{ .service.name = \"frontend\" }"), "110");
    assert_string_equal(eval(&e, "{ span.service.name = \"frontend\" }"), "000");
    assert_string_equal(eval(&e, "{ resource.env = \"prod\" }"), "110");
    assert_string_equal(eval(&e, "{ span.env = \"prod\" }"), "000");
    assert_string_equal(eval(&e, "{ .env = \"prod\" }"), "110");
    assert_string_equal(eval(&e, "{ .env = \"span-level\" }"), "100");
    /* types: ints, floats, bools; strings compare by text for = and != */
    assert_string_equal(eval(&e, "{ span.code = 200 }"), "100");
    assert_string_equal(eval(&e, "{ span.code >= 400 }"), "001"); /* "404" is a string */
    assert_string_equal(eval(&e, "{ span.code = 404 }"), "010");  /* ... matched by text */
    assert_string_equal(eval(&e, "{ span.code = \"503\" }"), "001");
    assert_string_equal(eval(&e, "{ span.code != 200 }"), "011");
    assert_string_equal(eval(&e, "{ span.code =~ \"5..\" }"), "001");
    assert_string_equal(eval(&e, "{ span.code > 199.5 }"), "101");
    assert_string_equal(eval(&e, "{ span.ratio > 0.5 }"), "100");
    assert_string_equal(eval(&e, "{ span.ratio = 0.75 }"), "100");
    assert_string_equal(eval(&e, "{ span.ratio < 1 }"), "100");
    assert_string_equal(eval(&e, "{ span.cached = true }"), "100");
    assert_string_equal(eval(&e, "{ span.cached != false }"), "100");
    assert_string_equal(eval(&e, "{ span.cached = false }"), "000");
    assert_string_equal(eval(&e, "{ span.cached > true }"), "000");
    assert_string_equal(eval(&e, "{ span.missing != \"x\" }"), "000"); /* absent: no match */
    assert_string_equal(eval(&e, "{ span.ratio = nil }"), "011");
    assert_string_equal(eval(&e, "{ span.ratio != nil }"), "100");
    /* doubles by their shortest text, arrays by their JSON text (Jaeger's tags) */
    assert_string_equal(eval(&e, "{ .ratio = \"0.75\" }"), "100");
    assert_string_equal(eval(&e, "{ .tags = \"[\\\"a\\\",3]\" }"), "010");
    assert_string_equal(eval(&e, "{ .tags =~ \".*3.*\" }"), "010");
    /* arrays as Tempo reads them: = when an element is, != when none is */
    assert_string_equal(eval(&e, "{ span.tags = \"a\" }"), "010");
    assert_string_equal(eval(&e, "{ span.tags != \"a\" }"), "000");
    assert_string_equal(eval(&e, "{ span.tags != \"b\" }"), "010");
    assert_string_equal(eval(&e, "{ span.tags = 3 && span.tags > 2 && span.tags < 4 }"), "010");
    assert_string_equal(eval(&e, "{ span.tags =~ \"a|z\" }"), "010");
    assert_string_equal(eval(&e, "{ span.tags !~ \"[a-z]\" }"), "000");
    assert_string_equal(eval(&e, "{ span.tags !~ \"[b-z]\" }"), "010");
    /* event scope: any of the span's events */
    assert_string_equal(eval(&e, "{ event.exception.type = \"CardDeclinedError\" }"), "010");
    assert_string_equal(eval(&e, "{ event.amount = \"0.1\" }"), "010");
    assert_string_equal(eval(&e, "{ event.amount > 0.05 }"), "010");
    assert_string_equal(eval(&e, "{ .exception.type = \"CardDeclinedError\" }"), "000");
    assert_string_equal(eval(&e, "{ event.exception.type != nil }"), "010");
    assert_string_equal(eval(&e, "{ event.exception.type = nil }"), "101");
    /* boolean structure */
    assert_string_equal(eval(&e, "{ !(kind = server) }"), "010");
    assert_string_equal(eval(&e, "{ kind = client || status = error }"), "011");
    assert_string_equal(eval(&e, "{ (kind = client || status = error) && span.code = 503 }"),
                        "001");
    /* span sets: && needs both non-empty and unites them; || unites */
    assert_string_equal(eval(&e, "{ kind = client } && { status = error }"), "011");
    assert_string_equal(eval(&e, "{ kind = client } && { status = error && kind = client }"),
                        "000");
    assert_string_equal(eval(&e, "{ kind = client } || { name = \"none\" }"), "010");
    assert_string_equal(eval(&e, "({ kind = client } || { name = \"none\" }) && { status = ok }"),
                        "110");
    ev_free(&e);
}

static int pre(const char *q, const tq_trace_info *ti)
{
    ottr_arena a;
    ottr_arena_init(&a, 4096, 0);
    tq_query tq;
    char err[QUERY_ERRLEN];
    if (query_tq_parse(q, &a, &tq, err, sizeof(err)) != 0)
        fail_msg("%s: %s", q, err);
    int r = query_tq_precheck(&tq, ti);
    query_tq_free(&tq);
    ottr_arena_free(&a);
    return r;
}

static void test_precheck(void **state)
{
    (void)state;
    tq_trace_info ti = {"GET /cart", "frontend", 150 * FX_MS};
    assert_int_equal(pre("{}", &ti), 1);
    assert_int_equal(pre("{ name = \"x\" }", &ti), 1); /* span-level: unknown */
    assert_int_equal(pre("{ traceDuration > 1s }", &ti), 0);
    assert_int_equal(pre("{ traceDuration > 1s || name = \"x\" }", &ti), 1);
    assert_int_equal(pre("{ traceDuration > 1s && name = \"x\" }", &ti), 0);
    assert_int_equal(pre("{ !(rootServiceName = \"frontend\") }", &ti), 0);
    assert_int_equal(pre("{ rootName = \"GET /cart\" } && { traceDuration < 1ms }", &ti), 0);
    assert_int_equal(pre("{ rootName = \"GET /cart\" } || { traceDuration < 1ms }", &ti), 1);
    tq_trace_info noroot = {NULL, NULL, 0};
    assert_int_equal(pre("{ rootServiceName = \"frontend\" }", &noroot), 0);
    assert_int_equal(pre("{ rootServiceName != \"frontend\" }", &noroot), 0);
}

/* Parses |q| into |tq| (freed by the previous call's caller) and plans it. */
static void plan(ottr_arena *a, tq_query *tq, const char *q, store_search_query *sq, store_kv *kv)
{
    query_tq_free(tq);
    char err[QUERY_ERRLEN];
    if (query_tq_parse(q, a, tq, err, sizeof(err)) != 0)
        fail_msg("%s: %s", q, err);
    query_tq_plan(tq, sq, kv, 8);
}

static void test_plan(void **state)
{
    (void)state;
    store_search_query sq;
    store_kv kv[8];
    ottr_arena a;
    ottr_arena_init(&a, 4096, 0);
    tq_query tq = {0};

    memset(&sq, 0, sizeof(sq));
    plan(&a, &tq,
         "{resource.service.name=\"checkout\" && name=\"GET /cart\" && duration>100ms && "
         "status=error}",
         &sq, kv);
    assert_string_equal(sq.service, "checkout");
    assert_string_equal(sq.span_name, "GET /cart");
    assert_int_equal(sq.min_duration_ns, 100 * FX_MS + 1);
    assert_int_equal(sq.max_duration_ns, 0);
    assert_int_equal(sq.nattrs, 0);

    /* Service and name from different span sets cannot use the pair index. */
    memset(&sq, 0, sizeof(sq));
    plan(&a, &tq, "{ resource.service.name = \"a\" } && { name = \"b\" }", &sq, kv);
    assert_string_equal(sq.service, "a");
    assert_null(sq.span_name);

    memset(&sq, 0, sizeof(sq));
    plan(&a, &tq, "{ name = \"b\" }", &sq, kv);
    assert_null(sq.service);
    assert_string_equal(sq.span_name, "b");

    /* One term in two scopes (Jaeger's tag or log field) is one index term;
     * two different terms or'ed are none. */
    memset(&sq, 0, sizeof(sq));
    plan(&a, &tq, "{ (.k = \"v\" || event.k = \"v\") && (.x = \"1\" || .y = \"1\") }", &sq, kv);
    assert_int_equal(sq.nattrs, 1);
    assert_string_equal(sq.attrs[0].key, "k");
    assert_string_equal(sq.attrs[0].value, "v");

    /* Attribute equalities in canonical text; others are evaluated only. */
    memset(&sq, 0, sizeof(sq));
    plan(&a, &tq,
         "{ span.http.status_code = 0500 && .cached = true && span.x = \"y\" && span.r = 1.5 "
         "&& span.z != \"q\" && span.w =~ \"a.*\" }",
         &sq, kv);
    assert_int_equal(sq.nattrs, 3);
    assert_string_equal(sq.attrs[0].key, "http.status_code");
    assert_string_equal(sq.attrs[0].value, "500");
    assert_string_equal(sq.attrs[1].key, "cached");
    assert_string_equal(sq.attrs[1].value, "true");
    assert_string_equal(sq.attrs[2].key, "x");
    assert_string_equal(sq.attrs[2].value, "y");

    /* Trace duration bounds, merged with what the caller set. */
    memset(&sq, 0, sizeof(sq));
    sq.min_duration_ns = 5 * FX_MS;
    sq.max_duration_ns = 900 * FX_MS;
    plan(&a, &tq, "{ traceDuration >= 10ms && traceDuration < 2s }", &sq, kv);
    assert_int_equal(sq.min_duration_ns, 10 * FX_MS);
    assert_int_equal(sq.max_duration_ns, 900 * FX_MS);

    /* Nothing is certain under ||. */
    memset(&sq, 0, sizeof(sq));
    plan(&a, &tq, "{ resource.service.name = \"a\" } || { name = \"b\" }", &sq, kv);
    assert_null(sq.service);
    assert_null(sq.span_name);
    assert_int_equal(sq.nattrs, 0);
    memset(&sq, 0, sizeof(sq));
    plan(&a, &tq, "{ resource.service.name = \"a\" || name = \"b\" }", &sq, kv);
    assert_null(sq.service);
    assert_null(sq.span_name);

    /* Values the store does not index are not used as terms. */
    memset(&sq, 0, sizeof(sq));
    char q[512];
    char big[200];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(q, sizeof(q), "{ span.k = \"%s\" && resource.service.name = \"\" }", big);
    plan(&a, &tq, q, &sq, kv);
    assert_int_equal(sq.nattrs, 0);
    assert_null(sq.service);
    query_tq_free(&tq);
    ottr_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),    cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_nesting),  cmocka_unit_test(test_eval),
        cmocka_unit_test(test_precheck), cmocka_unit_test(test_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
