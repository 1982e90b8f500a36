/* fuzz/params.c - fuzzes the readers of request parameters: the input is both
 * a request's query string and path (http/params.c, http/util.c: strings,
 * integers, limits, durations, times in every unit, tags[key]=value, path
 * segments) and a value given straight to the parsers under them: trace IDs
 * (query/ids.c), hex and base64, Go durations, byte sizes and RFC 3339 times
 * (common/time.c), whose formatted value must parse back. */
#include "fuzz/fuzz.h"
#include "http/http.h"
#include "query/query.h"

static void request_params(const char *s)
{
    http_request req = {0};
    req.method = "GET";
    req.path = s;
    req.query = s;
    http_param_err e;
    char str[256], key[64], val[128];
    uint64_t u = 0;
    size_t lim = 0;
    for (int i = 0; i < 3; i++)
        http_param_str(&req, "q", i, str, sizeof(str), &e);
    http_param_str(&req, "tags", 0, str, 2, &e);
    http_param_u64(&req, "spss", &u, &e);
    if (http_param_limit(&req, "limit", 20, &lim, &e) == 1)
        FUZZ_CHECK(lim <= 20);
    http_param_duration(&req, "minDuration", &u, &e);
    static const struct {
        const char *name;
        http_time_unit unit;
    } times[] = {{"start", HTTP_TIME_SECONDS},
                 {"end", HTTP_TIME_MILLIS},
                 {"endTs", HTTP_TIME_MICROS},
                 {"query.start_time_min", HTTP_TIME_RFC3339}};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        http_param_time(&req, times[i].name, times[i].unit, &u, &e);
    for (int i = 0; i < 3; i++) {
        if (http_param_bracket(&req, "tags", i, key, sizeof(key), val, sizeof(val), &e) == 1)
            FUZZ_CHECK(strlen(key) < sizeof(key) && strlen(val) < sizeof(val));
        http_param_bracket(&req, "query.attributes", i, key, 4, val, 4, &e);
    }
    http_query_param(&req, "traceID", 1, str, sizeof(str));
    http_path_segment(&req, "/api/traces/", "", str, sizeof(str));
    http_path_segment(&req, "/api/v2/search/tag/", "/values", str, sizeof(str));
    http_path_segment(&req, "/", "/", str, 1);
}

static void values(const char *s, size_t n)
{
    uint8_t id[16], bytes[64];
    uint64_t v;
    query_parse_trace_id(s, id);
    if (ottr_hex_decode(s, n, bytes, sizeof(bytes)) >= 0)
        FUZZ_CHECK(n % 2 == 0 && n / 2 <= sizeof(bytes));
    int k = ottr_base64_decode(s, n, bytes, sizeof(bytes));
    FUZZ_CHECK(k <= (int)sizeof(bytes));
    http_parse_u64(s, &v);
    char out[128];
    http_percent_decode(s, n, out, sizeof(out));
    ottr_parse_duration(s, &v);
    ottr_parse_size(s, &v);
    for (int date_only = 0; date_only < 2; date_only++) {
        uint64_t ns;
        if (ottr_parse_rfc3339(s, date_only, &ns) != 0)
            continue;
        /* The formatted time (milliseconds) reads back. */
        char text[40];
        uint64_t again;
        ottr_format_time(ns, text, sizeof(text));
        FUZZ_CHECK(ottr_parse_rfc3339(text, false, &again) == 0);
        FUZZ_CHECK(again == ns - ns % NS_PER_MS);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strdup(data, size);
    if (s == NULL)
        return 0;
    request_params(s);
    values(s, strlen(s));
    free(s);
    return 0;
}
