/* sampler/promtext.c - small helpers for writing the Prometheus text format. */
#include <math.h>
#include <stdio.h>

#include "sampler/internal.h"

void prom_label(ottr_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\':
            ottr_buf_puts(out, "\\\\");
            break;
        case '"':
            ottr_buf_puts(out, "\\\"");
            break;
        case '\n':
            ottr_buf_puts(out, "\\n");
            break;
        default:
            ottr_buf_putc(out, *s);
        }
    }
}

static void put_double(ottr_buf *out, double v)
{
    if (isinf(v))
        ottr_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        ottr_buf_puts(out, "NaN");
    else
        ottr_buf_printf(out, "%.17g", v);
}

void prom_histogram(ottr_buf *out, const char *name, const char *labels, const double *bounds,
                    size_t nbounds, const uint64_t *counts, double sum)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cum = 0;
    for (size_t i = 0; i <= nbounds; i++) {
        cum += counts[i];
        ottr_buf_printf(out, "%s_bucket{%s%sle=\"", name, labels, sep);
        if (i < nbounds)
            ottr_buf_printf(out, "%g", bounds[i]);
        else
            ottr_buf_puts(out, "+Inf");
        ottr_buf_printf(out, "\"} %llu\n", (unsigned long long)cum);
    }
    ottr_buf_printf(out, "%s_sum%s%s%s ", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "");
    put_double(out, sum);
    ottr_buf_printf(out, "\n%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
                    labels[0] ? "}" : "", (unsigned long long)cum);
}

size_t bucket_index(const double *bounds, size_t nbounds, double v)
{
    size_t i = 0;
    while (i < nbounds && v > bounds[i])
        i++;
    return i;
}
