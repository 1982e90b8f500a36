/* tests/ui/test_ui.c - the web UI's embedded files (every file of ui/www/ is
 * there with its type, an ETag and a gzip copy that inflates to the same bytes)
 * and the query port's answers for them: gzip only when accepted, 304 on a
 * matching If-None-Match, 404 for an unknown file, 405 for a POST, and no
 * other path taken. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "collector/collector.h"
#include "ui/ui.h"

static void test_assets(void **state)
{
    (void)state;
    static const char *const files[] = {"/index.html",  "/app.js",     "/style.css",
                                        "/search.js",   "/trace.js",   "/map.js",
                                        "/services.js", "/sampler.js", "/charts.js"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const ui_asset *a = ui_asset_find(files[i]);
        assert_non_null(a);
        assert_true(a->len > 100);
        assert_int_equal(a->etag[0], '"');
        assert_non_null(a->gz); /* text files this size always compress */
        assert_true(a->gzlen < a->len);
        uLongf n = a->len + 16;
        unsigned char *out = malloc(n);
        assert_non_null(out);
        z_stream z = {0};
        assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
        z.next_in = (unsigned char *)a->gz;
        z.avail_in = (uInt)a->gzlen;
        z.next_out = out;
        z.avail_out = (uInt)n;
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
        assert_int_equal(z.total_out, a->len);
        assert_memory_equal(out, a->data, a->len);
        inflateEnd(&z);
        free(out);
    }
    assert_string_equal(ui_asset_find("/index.html")->type, "text/html; charset=utf-8");
    assert_string_equal(ui_asset_find("/app.js")->type, "text/javascript; charset=utf-8");
    assert_null(ui_asset_find("/../index.html"));
    assert_null(ui_asset_find("index.html"));
    assert_null(ui_asset_find("/"));
}

static void test_headers(void **state)
{
    (void)state;
    assert_false(ui_accepts_gzip(NULL));
    assert_false(ui_accepts_gzip(""));
    assert_false(ui_accepts_gzip("br, deflate"));
    assert_false(ui_accepts_gzip("gzip;q=0"));
    assert_false(ui_accepts_gzip("gzip; q=0.000, br"));
    assert_false(ui_accepts_gzip("gzipx"));
    assert_true(ui_accepts_gzip("gzip"));
    assert_true(ui_accepts_gzip("gzip, deflate, br, zstd"));
    assert_true(ui_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(ui_accepts_gzip("*"));
    assert_false(ui_etag_matches(NULL, "\"ab\""));
    assert_false(ui_etag_matches("\"a\"", "\"ab\""));
    assert_true(ui_etag_matches("\"ab\"", "\"ab\""));
    assert_true(ui_etag_matches("\"x\", W/\"ab\"", "\"ab\""));
    assert_true(ui_etag_matches("*", "\"ab\""));
}

typedef struct answer {
    int handled, status;
    const char *encoding, *etag;
    size_t len;
    char type[64];
} answer;

static const char *header(const http_response *r, const char *name)
{
    for (int i = 0; i < r->nextra; i++)
        if (strcmp(r->extra_name[i], name) == 0)
            return r->extra_value[i];
    return NULL;
}

static answer get(const char *method, const char *path, const char *accept_enc, const char *inm)
{
    static char etag[96];
    http_header h[2];
    size_t nh = 0;
    if (accept_enc)
        h[nh++] = (http_header){"accept-encoding", accept_enc};
    if (inm)
        h[nh++] = (http_header){"if-none-match", inm};
    http_request req = {.method = method, .path = path, .query = "", .headers = h, .nheaders = nh};
    http_response resp;
    http_response_init(&resp);
    answer a = {0};
    a.handled = collector_routes_ui(&req, &resp);
    a.status = resp.status;
    a.encoding = header(&resp, "Content-Encoding");
    const char *e = header(&resp, "ETag");
    if (e) {
        strcpy(etag, e);
        a.etag = etag;
    }
    a.len = resp.body.len;
    strcpy(a.type, resp.content_type);
    ottr_buf_free(&resp.body);
    return a;
}

static void test_route(void **state)
{
    (void)state;
    const ui_asset *index = ui_asset_find("/index.html");
    answer a = get("GET", "/", NULL, NULL);
    assert_true(a.handled);
    assert_int_equal(a.status, 200);
    assert_null(a.encoding);
    assert_int_equal(a.len, index->len);
    assert_string_equal(a.type, "text/html; charset=utf-8");
    assert_string_equal(a.etag, index->etag);

    a = get("GET", "/", "gzip, br", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.encoding, "gzip");
    assert_int_equal(a.len, index->gzlen);

    a = get("HEAD", "/ui/app.js", NULL, ui_asset_find("/app.js")->etag);
    assert_int_equal(a.status, 304);
    assert_int_equal(a.len, 0);

    a = get("GET", "/ui/app.js", NULL, "\"stale\"");
    assert_int_equal(a.status, 200);
    assert_int_equal(a.len, ui_asset_find("/app.js")->len);

    assert_int_equal(get("GET", "/ui/missing.js", NULL, NULL).status, 404);
    assert_int_equal(get("GET", "/ui/", NULL, NULL).status, 404);
    assert_int_equal(get("POST", "/", NULL, NULL).status, 405);
    assert_false(get("GET", "/api/search", NULL, NULL).handled);
    assert_false(get("GET", "/index.html", NULL, NULL).handled);
    assert_false(get("GET", "/metrics", NULL, NULL).handled);
    assert_true(collector_routes_ui_path("/"));
    assert_true(collector_routes_ui_path("/ui/app.js"));
    assert_false(collector_routes_ui_path("/api/echo"));
    assert_false(collector_routes_ui_path("/ready"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
