/* http/params.c - the request parameters every route reads: strings,
 * unsigned integers, limits, durations, times in seconds, milliseconds,
 * microseconds or RFC 3339, and percent-encoded path segments. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/internal.h"

int http_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int http_percent_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = ottr_hex_digit((unsigned char)s[i + 1]),
                lo = ottr_hex_digit((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    if (outlen == 0)
        return -1;
    out[o] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ parameters */

#define VALUE_MAX 64 /* numbers, durations and times are shorter than this */

int http_param_refuse(http_param_err *e, const char *name, const char *value, const char *fmt, ...)
{
    if (e == NULL)
        return -1;
    e->name = name;
    snprintf(e->value, sizeof(e->value), "%.40s", value ? value : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->problem, sizeof(e->problem), fmt, ap);
    va_end(ap);
    return -1;
}

int http_param_str(const http_request *req, const char *name, int index, char *out, size_t outlen,
                   http_param_err *e)
{
    if (outlen < 2)
        return http_param_refuse(e, name, NULL, "no room for a value");
    if (!http_query_param(req, name, index, out, outlen))
        return 0;
    /* A value that fills |out| may have been cut: refuse it. */
    if (strlen(out) + 1 >= outlen)
        return http_param_refuse(e, name, NULL, "longer than %zu bytes", outlen - 2);
    return 1;
}

/* A parameter that must not be empty to count: 1, 0 (absent or empty) or -1. */
static int value_of(const http_request *req, const char *name, char out[VALUE_MAX],
                    http_param_err *e)
{
    int r = http_param_str(req, name, 0, out, VALUE_MAX, e);
    return r == 1 && out[0] == '\0' ? 0 : r;
}

int http_param_u64(const http_request *req, const char *name, uint64_t *out, http_param_err *e)
{
    char v[VALUE_MAX];
    int r = value_of(req, name, v, e);
    if (r <= 0)
        return r;
    if (http_parse_u64(v, out) != 0)
        return http_param_refuse(e, name, v, "want a non-negative integer");
    return 1;
}

int http_param_limit(const http_request *req, const char *name, size_t max, size_t *out,
                     http_param_err *e)
{
    uint64_t v = 0;
    int r = http_param_u64(req, name, &v, e);
    if (r == 1)
        *out = v > max ? max : (size_t)v;
    return r;
}

int http_param_duration(const http_request *req, const char *name, uint64_t *out_ns,
                        http_param_err *e)
{
    char v[VALUE_MAX];
    int r = value_of(req, name, v, e);
    if (r <= 0)
        return r;
    if (ottr_parse_duration(v, out_ns) != 0)
        return http_param_refuse(e, name, v, "want a duration such as 100ms or 1.5s");
    return 1;
}

int http_param_time(const http_request *req, const char *name, http_time_unit unit,
                    uint64_t *out_ns, http_param_err *e)
{
    char v[VALUE_MAX];
    int r = value_of(req, name, v, e);
    if (r <= 0)
        return r;
    uint64_t n = 0, ns = 0;
    bool in_range;
    if (unit == HTTP_TIME_RFC3339) {
        int pr = ottr_parse_rfc3339(v, false, &ns);
        if (pr == -1)
            return http_param_refuse(e, name, v,
                                     "want an RFC 3339 time such as 2024-05-01T10:00:00Z");
        in_range = pr == 0 && ns <= HTTP_TIME_MAX_NS;
    } else {
        if (http_parse_u64(v, &n) != 0) {
            /* All digits but more than 64 bits hold: a time, only too late. */
            if (strspn(v, "0123456789") != strlen(v))
                return http_param_refuse(e, name, v, "want a non-negative integer");
            n = UINT64_MAX;
        }
        uint64_t scale = unit == HTTP_TIME_SECONDS  ? 1000000000ull
                         : unit == HTTP_TIME_MILLIS ? 1000000ull
                                                    : 1000ull;
        in_range = n <= HTTP_TIME_MAX_NS / scale;
        if (in_range)
            ns = n * scale;
    }
    if (!in_range)
        return http_param_refuse(e, name, NULL, "out of range");
    *out_ns = ns;
    return 1;
}

int http_path_segment(const http_request *req, const char *prefix, const char *suffix, char *out,
                      size_t outlen)
{
    const char *path = req->path ? req->path : "";
    size_t pl = strlen(prefix), sl = strlen(suffix), n = strlen(path);
    if (n <= pl + sl || strncmp(path, prefix, pl) != 0 || strcmp(path + n - sl, suffix) != 0)
        return 0;
    const char *seg = path + pl;
    size_t segn = n - pl - sl;
    if (memchr(seg, '/', segn))
        return 0;
    return http_percent_decode(seg, segn, out, outlen) == 0 ? 1 : -1;
}
