/* collector/receiver_metrics.c - the counters every HTTP span receiver keeps
 * (OTLP/HTTP, Zipkin): requests by result code, malformed requests by reason,
 * spans accepted, rejected or refused, and bytes received, each labelled with
 * the receiver's protocol. */
#include <stdio.h>

#include "collector/collector.h"

void collector_receiver_metrics_init(receiver_metrics *m, const char *protocol, const int *codes,
                                     size_t ncodes, const char *const *reasons, size_t nreasons)
{
    static const char req_help[] = "OTLP export requests by protocol and result code.";
    char labels[96];
    m->codes = codes;
    m->ncodes = ncodes < RECEIVER_MAX_CODES ? ncodes : RECEIVER_MAX_CODES;
    for (size_t i = 0; i < m->ncodes; i++) {
        snprintf(labels, sizeof(labels), "protocol=\"%s\",code=\"%d\"", protocol, codes[i]);
        m->requests[i] = ottr_counter_get("ottr_receiver_requests_total", req_help, labels);
    }
    snprintf(labels, sizeof(labels), "protocol=\"%s\",code=\"other\"", protocol);
    m->requests_other = ottr_counter_get("ottr_receiver_requests_total", req_help, labels);
    for (size_t i = 0; i < nreasons && i < RECEIVER_MAX_REASONS; i++) {
        snprintf(labels, sizeof(labels), "protocol=\"%s\",reason=\"%s\"", protocol, reasons[i]);
        m->bad[i] =
            ottr_counter_get("ottr_receiver_bad_requests_total",
                             "OTLP export requests refused as malformed, by reason.", labels);
    }
    collector_ingest_counters_init(&m->spans, protocol);
    snprintf(labels, sizeof(labels), "protocol=\"%s\"", protocol);
    m->bytes = ottr_counter_get("ottr_receiver_bytes_total",
                                "Bytes of OTLP request messages received (decompressed).", labels);
}

void collector_receiver_metrics_count(receiver_metrics *m, int status)
{
    for (size_t i = 0; i < m->ncodes; i++) {
        if (m->codes[i] == status) {
            ottr_counter_add(m->requests[i], 1);
            return;
        }
    }
    ottr_counter_add(m->requests_other, 1);
}
