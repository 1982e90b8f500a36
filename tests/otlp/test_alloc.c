/* tests/otlp/test_alloc.c - the OTLP decoders under allocation failure: the
 * protobuf and JSON request decoders, grouping by trace, the trace decoder and
 * the trace-document decoder the CLI uses each have their 1st, 2nd, ... Nth heap
 * allocation failed in turn, and each failure gives OTTR_ERR_NOMEM (never a
 * crash, never a wrong "corrupt" or "invalid" answer) and leaks nothing (ASan
 * checks the leaks at exit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"
#include "tests/common/failmalloc.h"

/* Small blocks, so that a decode takes many allocations. */
#define BLOCK 256

static char *g_json;
static size_t g_json_len;
static uint8_t *g_pb;
static size_t g_pb_len;
static uint8_t *g_chunk;
static size_t g_chunk_len;

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The inputs, made with no failure armed: a request as JSON, the same as
 * protobuf, and one trace's chunk. */
static int setup(void **state)
{
    (void)state;
    g_json = read_file(OTTR_TEST_DATA "/cli_checkout_trace.json", &g_json_len);
    ottr_arena a;
    ottr_arena_init(&a, 0, 0);
    otlp_request *req = NULL;
    char err[256];
    assert_int_equal(otlp_json_decode_request(&a, g_json, g_json_len, &req, err, sizeof(err)),
                     OTTR_OK);
    g_pb_len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            req);
    g_pb = malloc(g_pb_len);
    assert_non_null(g_pb);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(req, g_pb);
    otlp_batch b;
    size_t rejected = 0;
    assert_int_equal(
        otlp_batch_build_wire(&a, req, g_pb, g_pb_len, &b, &rejected, err, sizeof(err)), OTTR_OK);
    assert_true(b.ngroups >= 1);
    g_chunk_len = b.groups[0].chunk_len;
    g_chunk = malloc(g_chunk_len);
    assert_non_null(g_chunk);
    memcpy(g_chunk, b.groups[0].chunk, g_chunk_len);
    ottr_arena_free(&a);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_json);
    free(g_pb);
    free(g_chunk);
    return 0;
}

typedef ottr_status (*step_fn)(ottr_arena *a);

static ottr_status step_proto(ottr_arena *a)
{
    otlp_request *req = NULL;
    char err[256];
    return otlp_proto_decode_request(a, g_pb, g_pb_len, &req, err, sizeof(err));
}

static ottr_status step_json(ottr_arena *a)
{
    otlp_request *req = NULL;
    char err[256];
    return otlp_json_decode_request(a, g_json, g_json_len, &req, err, sizeof(err));
}

static ottr_status step_group(ottr_arena *a)
{
    /* Decoded unarmed-or-not in the same arena, then grouped with the wire bytes. */
    otlp_request *req = NULL;
    char err[256];
    ottr_status st = otlp_proto_decode_request(a, g_pb, g_pb_len, &req, err, sizeof(err));
    if (st != OTTR_OK)
        return st;
    otlp_batch b;
    size_t rejected = 0;
    return otlp_batch_build_wire(a, req, g_pb, g_pb_len, &b, &rejected, err, sizeof(err));
}

static ottr_status step_trace(ottr_arena *a)
{
    otlp_trace t;
    ottr_status st = otlp_trace_decode(&t, a, g_chunk, g_chunk_len);
    if (st != OTTR_OK)
        return st;
    return otlp_trace_build_tree(&t, a);
}

static ottr_status step_doc(ottr_arena *a)
{
    otlp_traces_data *td = NULL;
    char err[256];
    return otlp_json_decode_traces(a, g_json, g_json_len, &td, NULL, err, sizeof(err));
}

/* Fails every allocation of |fn| in turn; returns how many it made in all. */
static unsigned long walk(step_fn fn)
{
    for (unsigned long n = 1;; n++) {
        ottr_arena a;
        ottr_arena_init(&a, BLOCK, 0);
        failmalloc_arm(n);
        ottr_status st = fn(&a);
        bool failed = failmalloc_failed();
        failmalloc_disarm();
        ottr_arena_free(&a);
        if (!failed) {
            assert_int_equal(st, OTTR_OK);
            return n - 1;
        }
        if (st != OTTR_ERR_NOMEM && st != OTTR_OK)
            fail_msg("allocation %lu failed: got %s, want out of memory", n, ottr_status_str(st));
    }
}

static void test_proto_decode(void **state)
{
    (void)state;
    assert_true(walk(step_proto) > 10);
}

static void test_json_decode(void **state)
{
    (void)state;
    assert_true(walk(step_json) > 10);
}

static void test_group_by_trace(void **state)
{
    (void)state;
    assert_true(walk(step_group) > 10);
}

static void test_trace_decode_and_tree(void **state)
{
    (void)state;
    assert_true(walk(step_trace) > 3);
}

static void test_trace_document(void **state)
{
    (void)state;
    assert_true(walk(step_doc) > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_decode),   cmocka_unit_test(test_json_decode),
        cmocka_unit_test(test_group_by_trace), cmocka_unit_test(test_trace_decode_and_tree),
        cmocka_unit_test(test_trace_document),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
