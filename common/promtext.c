/* common/promtext.c - the one writer of the Prometheus text format 0.0.4: family
 * headers, samples, histograms and escaped label values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"

/* Formats |v| in |tmp| as the shortest form that reads back as the same
 * double; +Inf, -Inf and NaN as the format spells them. Returns |tmp|. */
static const char *fmt_double(char tmp[40], double v)
{
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (isnan(v))
        return "NaN";
    snprintf(tmp, 40, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, 40, "%.17g", v);
    return tmp;
}

/* Appends |s| with \, " (when |quote|) and newlines escaped. */
static void put_escaped(ottr_buf *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            ottr_buf_puts(out, "\\\\");
        else if (*s == '"' && quote)
            ottr_buf_puts(out, "\\\"");
        else if (*s == '\n')
            ottr_buf_puts(out, "\\n");
        else
            ottr_buf_putc(out, *s);
    }
}

/* Appends name suffix{labels,extra} and the space before the value. */
static void put_name(ottr_buf *out, const char *name, const char *suffix, const char *labels,
                     const char *extra)
{
    ottr_buf_puts(out, name);
    ottr_buf_puts(out, suffix);
    int has = labels && *labels;
    if (has || extra) {
        ottr_buf_putc(out, '{');
        if (has)
            ottr_buf_puts(out, labels);
        if (has && extra)
            ottr_buf_putc(out, ',');
        if (extra)
            ottr_buf_puts(out, extra);
        ottr_buf_putc(out, '}');
    }
    ottr_buf_putc(out, ' ');
}

void ottr_prom_family(ottr_buf *out, const char *name, const char *help, const char *type)
{
    ottr_buf_printf(out, "# HELP %s ", name);
    put_escaped(out, help ? help : "", 0);
    ottr_buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

void ottr_prom_sample(ottr_buf *out, const char *name, const char *labels, double v)
{
    char tmp[40];
    put_name(out, name, "", labels, NULL);
    ottr_buf_printf(out, "%s\n", fmt_double(tmp, v));
}

void ottr_prom_sample_u64(ottr_buf *out, const char *name, const char *labels, uint64_t v)
{
    put_name(out, name, "", labels, NULL);
    ottr_buf_printf(out, "%llu\n", (unsigned long long)v);
}

void ottr_prom_histogram(ottr_buf *out, const char *name, const char *labels, const double *bounds,
                         size_t nbounds, const uint64_t *counts, double sum)
{
    char tmp[40], le[48];
    uint64_t cum = 0;
    for (size_t i = 0; i <= nbounds; i++) {
        cum += counts[i];
        snprintf(le, sizeof(le), "le=\"%s\"", i < nbounds ? fmt_double(tmp, bounds[i]) : "+Inf");
        put_name(out, name, "_bucket", labels, le);
        ottr_buf_printf(out, "%llu\n", (unsigned long long)cum);
    }
    put_name(out, name, "_sum", labels, NULL);
    ottr_buf_printf(out, "%s\n", fmt_double(tmp, sum));
    put_name(out, name, "_count", labels, NULL);
    ottr_buf_printf(out, "%llu\n", (unsigned long long)cum);
}

void ottr_prom_label(ottr_buf *out, const char *key, const char *value)
{
    ottr_buf_puts(out, key);
    ottr_buf_puts(out, "=\"");
    put_escaped(out, value, 1);
    ottr_buf_putc(out, '"');
}

size_t ottr_prom_bucket(const double *bounds, size_t nbounds, double v)
{
    size_t i = 0;
    while (i < nbounds && v > bounds[i])
        i++;
    return i;
}
