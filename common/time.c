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
