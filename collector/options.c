/* collector/options.c - the daemon config handed to the store and the sampler,
 * whose options have no defaults of their own: every value comes from here. */
#include "collector/collector.h"

void collector_config_to_store_options(const ottr_config *c, store_options *o)
{
    *o = (store_options){
        .path = c->data_dir,
        .sync = (store_sync_policy)c->store_sync,
        .sync_interval_ns = c->store_sync_interval_ns,
        .retention_ns = c->store_retention_ns,
        .max_trace_bytes = c->store_max_trace_bytes,
        .block_cache_bytes = c->store_block_cache_bytes,
        .memtable_bytes = c->store_memtable_bytes,
        .disk_reserve_bytes = c->store_disk_reserve_bytes,
    };
}

void collector_config_to_sampler_options(const ottr_config *c, sampler_options *o)
{
    *o = (sampler_options){
        .decision_wait_ns = c->decision_wait_ns,
        .decision_wait_after_root_ns = c->decision_wait_after_root_ns,
        .max_spans_per_trace = c->max_spans_per_trace,
        .max_trace_bytes = c->max_trace_bytes,
        .max_buffered_traces = c->max_buffered_traces,
        .max_memory_bytes = c->max_memory_bytes,
        .decision_cache_size = c->decision_cache_size,
        .policies = c->policies,
        .multitenant = c->multitenancy != 0,
        .tenant_limits = c->tenant_limits,
        .overrides = c->overrides,
        .noverrides = c->noverrides,
    };
}

/* Milliseconds of |ns| for a uint32_t limit, at least 1. */
static uint32_t ms32(uint64_t ns)
{
    uint64_t ms = ns / 1000000u;
    return ms == 0 ? 1 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

void collector_config_to_http_limits(const ottr_config *c, uint64_t max_conns, http_limits *l)
{
    http_limits_default(l);
    l->request_timeout_ms = ms32(c->http_request_timeout_ns);
    l->idle_timeout_ms = ms32(c->http_idle_timeout_ns);
    /* The header section has no deadline of its own past the request's. */
    l->header_timeout_ms = l->request_timeout_ms;
    l->min_body_rate =
        c->http_min_body_rate > UINT32_MAX ? UINT32_MAX : (uint32_t)c->http_min_body_rate;
    l->body_rate_window_ms = ms32(c->http_body_rate_window_ns);
    l->max_connections = max_conns > UINT32_MAX ? UINT32_MAX : (uint32_t)max_conns;
    l->max_conns_per_ip =
        c->http_max_conns_per_ip > UINT32_MAX ? UINT32_MAX : (uint32_t)c->http_max_conns_per_ip;
}
