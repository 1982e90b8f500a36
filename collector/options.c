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
    };
}
