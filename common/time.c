/* common/time.c - clocks, Go-style durations, byte sizes and RFC 3339 times. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"

uint64_t ottr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t ottr_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int unit_ns(const char *u, size_t n, double *out)
{
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0) {
            *out = units[i].ns;
            return 0;
        }
    }
    return -1;
}

int ottr_parse_duration(const char *s, uint64_t *out_ns)
{
    if (s == NULL || *s == '\0')
        return -1;
    if (strcmp(s, "0") == 0) {
        *out_ns = 0;
        return 0;
    }
    double total = 0;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.')
            return -1;
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0)
            return -1;
        p = end;
        const char *u = p;
        while (*p && !isdigit((unsigned char)*p) && *p != '.')
            p++;
        double mult;
        if (unit_ns(u, (size_t)(p - u), &mult) != 0)
            return -1;
        total += v * mult;
        if (total > 1.8e19)
            return -1;
    }
    *out_ns = (uint64_t)llround(total);
    return 0;
}

int ottr_parse_size(const char *s, uint64_t *out)
{
    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    static const struct {
        const char *name;
        double mult;
    } units[] = {{"", 1},       {"B", 1},         {"KB", 1e3},        {"MB", 1e6},
                 {"GB", 1e9},   {"KiB", 1024.0},  {"MiB", 1048576.0}, {"GiB", 1073741824.0},
                 {"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].name) == 0) {
            double r = v * units[i].mult;
            if (r > 1.8e19)
                return -1;
            *out = (uint64_t)llround(r);
            return 0;
        }
    }
    return -1;
}

void ottr_format_time(uint64_t ns, char *out, size_t outlen)
{
    time_t secs = (time_t)(ns / NS_PER_SEC);
    unsigned ms = (unsigned)((ns / NS_PER_MS) % 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[24];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03uZ", date, ms);
}

/* ---- RFC 3339 ---- */

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_from_civil(int y, int m, int d, int64_t *out)
{
    /* Days since 1970-01-01 in the proleptic Gregorian calendar. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *out = era * 146097 + doe - 719468;
    return 0;
}

int ottr_parse_rfc3339(const char *s, bool date_only_ok, uint64_t *out_ns)
{
    if (s == NULL)
        return -1;
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (*p == '\0' && date_only_ok) {
        if (mo < 1 || mo > 12 || d < 1 || d > 31)
            return -1;
        int64_t days;
        days_from_civil(y, mo, d, &days);
        if (days < 0 || (uint64_t)days > UINT64_MAX / NS_PER_SEC / 86400)
            return -2;
        *out_ns = (uint64_t)days * 86400 * NS_PER_SEC;
        return 0;
    }
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    uint64_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 9) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                n++;
            }
            p++;
        }
        if (n == 0)
            return -1;
        while (n++ < 9)
            frac *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = sign * (int64_t)(oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    int64_t days;
    days_from_civil(y, mo, d, &days);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
    if (secs < 0 || (uint64_t)secs > UINT64_MAX / NS_PER_SEC - 1)
        return -2;
    *out_ns = (uint64_t)secs * NS_PER_SEC + frac;
    return 0;
}
