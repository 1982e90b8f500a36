/* tests/collector/test_rpc_status.c - google.rpc.Status error bodies: the protobuf
 * form decodes with its RetryInfo, the JSON form is what OTLP/JSON clients parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "collector/collector.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

static void test_pack_with_retry(void **state)
{
    (void)state;
    ottr_buf b = {0};
    ottr_buf_puts(&b, "prefix");
    assert_int_equal(collector_rpc_status_pack(14, "over capacity", 3, &b), 0);
    Google__Rpc__Status *st =
        google__rpc__status__unpack(NULL, b.len - 6, (const uint8_t *)b.data + 6);
    assert_non_null(st);
    assert_int_equal(st->code, 14);
    assert_string_equal(st->message, "over capacity");
    assert_int_equal(st->n_details, 1);
    assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
    Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, st->details[0]->value.len,
                                                                 st->details[0]->value.data);
    assert_non_null(ri);
    assert_non_null(ri->retry_delay);
    assert_int_equal(ri->retry_delay->seconds, 3);
    assert_int_equal(ri->retry_delay->nanos, 0);
    google__rpc__retry_info__free_unpacked(ri, NULL);
    google__rpc__status__free_unpacked(st, NULL);
    ottr_buf_free(&b);
}

static void test_pack_without_retry(void **state)
{
    (void)state;
    ottr_buf b = {0};
    assert_int_equal(collector_rpc_status_pack(3, NULL, 0, &b), 0);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, b.len, (const uint8_t *)b.data);
    assert_non_null(st);
    assert_int_equal(st->code, 3);
    assert_string_equal(st->message, "");
    assert_int_equal(st->n_details, 0);
    google__rpc__status__free_unpacked(st, NULL);
    ottr_buf_free(&b);
}

static void test_json(void **state)
{
    (void)state;
    ottr_buf b = {0};
    collector_rpc_status_json(14, "busy \"now\"\n", 1, &b);
    assert_false(b.oom);
    assert_string_equal(b.data,
                        "{\"code\":14,\"message\":\"busy \\\"now\\\"\\n\",\"details\":[{\"@type\":"
                        "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1s\"}]}");
    json_object *o = json_tokener_parse(b.data);
    assert_non_null(o);
    json_object_put(o);
    ottr_buf_reset(&b);
    collector_rpc_status_json(3, "bad \xff input", 0, &b);
    o = json_tokener_parse(b.data);
    assert_non_null(o); /* invalid UTF-8 is replaced, so the JSON stays valid */
    json_object *m;
    assert_true(json_object_object_get_ex(o, "message", &m));
    assert_non_null(strstr(json_object_get_string(m), "bad "));
    assert_false(json_object_object_get_ex(o, "details", &m));
    json_object_put(o);
    ottr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_with_retry),
        cmocka_unit_test(test_pack_without_retry),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
