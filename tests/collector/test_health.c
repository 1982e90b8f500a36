/* tests/collector/test_health.c - /ready and /health of the query port over a
 * real store: ready while writes succeed, 503 with the reason while they fail
 * (as ottr_store_write_failing shows) and again 200 once they succeed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Calls the :3200 handler for GET |path|; returns the status, body in |out|. */
static int get(ottrd_query_ctx *q, const char *path, ottr_buf *out)
{
    http_request req = {.method = "GET", .path = path, .query = ""};
    http_response resp;
    http_response_init(&resp);
    collector_routes_tempo_handle(q, &req, &resp);
    ottr_buf_reset(out);
    ottr_buf_append(out, resp.body.data, resp.body.len);
    ottr_buf_putc(out, '\0');
    ottr_buf_free(&resp.body);
    return resp.status;
}

/* One write through the store's single write path. */
static ottr_status write_once(store *st)
{
    store_node n = {.service = "svc", .calls = 1};
    return store_add_graph(store_view_of(st, 0), 1000, NULL, 0, &n, 1);
}

static void test_ready_follows_store_writes(void **state)
{
    (void)state;
    char dir[] = "/tmp/ottr-health-XXXXXX";
    assert_non_null(mkdtemp(dir));
    ottr_config cfg;
    assert_int_equal(collector_config_init(&cfg), 0);
    char err[256];
    assert_int_equal(collector_config_set(&cfg, "data_dir", dir, err, sizeof(err)), 0);
    store_options so;
    collector_config_to_store_options(&cfg, &so);
    store *st = NULL;
    assert_int_equal(store_open(&so, &st, err, sizeof(err)), OTTR_OK);

    ottrd_query_ctx q = {.st = st, .cfg = &cfg};
    atomic_init(&q.ready, false);
    atomic_init(&q.grpc_up, true);
    atomic_init(&q.http_up, true);
    ottr_buf b = {0};

    /* Starting up. */
    assert_int_equal(get(&q, "/ready", &b), 503);
    assert_non_null(strstr(b.data, "starting up or shutting down"));

    atomic_store(&q.ready, true);
    assert_int_equal(get(&q, "/ready", &b), 200);
    assert_int_equal(get(&q, "/health", &b), 200);
    assert_non_null(strstr(b.data, "{\"status\":\"ok\""));
    assert_non_null(strstr(b.data, "\"store\":{\"status\":\"ok\",\"writable\":true}"));
    assert_non_null(strstr(b.data, "\"receivers\":{\"grpc\":\"up\",\"http\":\"up\"}"));

    /* Writes fail (a full disk answers the same way). */
    store_inject_write_error(st, true);
    assert_int_equal(write_once(st), OTTR_ERR_IO);
    assert_int_equal(get(&q, "/ready", &b), 503);
    assert_non_null(strstr(b.data, "store writes failing"));
    assert_int_equal(get(&q, "/health", &b), 503);
    assert_non_null(strstr(b.data, "\"reason\":\"store writes failing\""));
    assert_non_null(strstr(b.data, "\"writable\":false"));
    /* /metrics still answers, and says the same. */
    assert_int_equal(get(&q, "/metrics", &b), 200);

    /* Writes succeed again. */
    store_inject_write_error(st, false);
    assert_int_equal(write_once(st), OTTR_OK);
    assert_int_equal(get(&q, "/ready", &b), 200);
    assert_int_equal(get(&q, "/health", &b), 200);

    ottr_buf_free(&b);
    store_close(st);
    collector_config_free(&cfg);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_follows_store_writes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ottr_metrics_shutdown();
    return rc;
}
