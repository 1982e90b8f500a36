/* store/metrics.c - renders ottr_store_* metrics in the Prometheus text format:
 * the store's own counters, RocksDB write stalls, compaction debt, per-family
 * sizes, block cache hits and misses, and the data directory's file system. */
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "store/internal.h"

static void counter(ottr_buf *out, const char *name, const char *help, uint64_t v)
{
    ottr_prom_family(out, name, help, "counter");
    ottr_prom_sample_u64(out, name, NULL, v);
}

static void gauge(ottr_buf *out, const char *name, const char *help, uint64_t v)
{
    ottr_prom_family(out, name, help, "gauge");
    ottr_prom_sample_u64(out, name, NULL, v);
}

static void per_family(store *s, ottr_buf *out, const char *name, const char *help,
                       const char *prop)
{
    ottr_prom_family(out, name, help, "gauge");
    ottr_buf labels = {0};
    for (int i = CF_META; i < CF_COUNT; i++) {
        uint64_t v = 0;
        if (rocksdb_property_int_cf(s->db, s->cf[i], prop, &v) != 0)
            continue;
        ottr_buf_reset(&labels);
        ottr_prom_label(&labels, "family", store_cf_names[i]);
        if (labels.oom)
            out->oom = 1;
        else
            ottr_prom_sample_u64(out, name, labels.data, v);
    }
    ottr_buf_free(&labels);
}

/* A ticker from the statistics dump ("rocksdb.block.cache.hit COUNT : 12"). */
static uint64_t ticker(const char *stats, const char *name)
{
    if (stats == NULL)
        return 0;
    size_t n = strlen(name);
    for (const char *p = strstr(stats, name); p; p = strstr(p + 1, name)) {
        if ((p == stats || p[-1] == '\n') && strncmp(p + n, " COUNT : ", 9) == 0)
            return strtoull(p + n + 9, NULL, 10);
    }
    return 0;
}

void store_render_metrics(store *s, ottr_buf *out)
{
    counter(out, "ottr_store_write_errors_total", "Writes the store failed (RocksDB errors).",
            atomic_load(&s->write_errors));
    gauge(out, "ottr_store_write_failing", "1 while store writes fail.",
          atomic_load(&s->failing) ? 1 : 0);
    gauge(out, "ottr_store_pending_log_bytes",
          "Bytes in the pending log: requests whose traces are not all decided.",
          atomic_load(&s->plog.bytes));
    gauge(out, "ottr_store_pending_log_files", "Files (arrival seconds) in the pending log.",
          atomic_load(&s->plog.files));
    counter(out, "ottr_store_appended_bytes_total", "Chunk bytes appended to pending.",
            atomic_load(&s->appended_bytes));
    counter(out, "ottr_store_appended_records_total", "Trace chunks appended to pending.",
            atomic_load(&s->appended_records));
    counter(out, "ottr_store_kept_traces_total", "Traces stored for the first time.",
            atomic_load(&s->kept_traces));
    counter(out, "ottr_store_kept_chunks_total", "Chunks copied into kept traces.",
            atomic_load(&s->kept_chunks));
    counter(out, "ottr_store_kept_bytes_total", "Chunk bytes copied into kept traces.",
            atomic_load(&s->kept_bytes));
    counter(out, "ottr_store_dropped_chunks_total",
            "Chunks left out of kept traces (over max_trace_bytes or undecodable).",
            atomic_load(&s->dropped_chunks));

    /* The file system of the data directory, as an unprivileged user sees it. */
    struct statvfs fs;
    if (statvfs(s->path, &fs) == 0) {
        gauge(out, "ottr_store_disk_available_bytes",
              "Bytes free for ottrd on the data directory's file system.",
              (uint64_t)fs.f_bavail * fs.f_frsize);
        gauge(out, "ottr_store_disk_size_bytes", "Size of the data directory's file system.",
              (uint64_t)fs.f_blocks * fs.f_frsize);
    }

    uint64_t v = 0;
    if (rocksdb_property_int(s->db, "rocksdb.actual-delayed-write-rate", &v) == 0)
        gauge(out, "ottr_store_delayed_write_rate_bytes",
              "Write rate RocksDB imposes while delaying writes (0 = not delayed).", v);
    v = 0;
    if (rocksdb_property_int(s->db, "rocksdb.is-write-stopped", &v) == 0)
        gauge(out, "ottr_store_write_stopped", "1 while RocksDB stops writes.", v);
    per_family(s, out, "ottr_store_pending_compaction_bytes",
               "Bytes compaction still has to rewrite.",
               "rocksdb.estimate-pending-compaction-bytes");
    per_family(s, out, "ottr_store_sst_bytes", "Size of the family's SST files.",
               "rocksdb.total-sst-files-size");
    per_family(s, out, "ottr_store_memtable_bytes", "Size of the family's memtables.",
               "rocksdb.cur-size-all-mem-tables");
    per_family(s, out, "ottr_store_keys", "Estimated number of keys in the family.",
               "rocksdb.estimate-num-keys");

    gauge(out, "ottr_store_block_cache_usage_bytes",
          "Bytes held by the block cache, memtable reservations included.",
          (uint64_t)rocksdb_cache_get_usage(s->cache));
    gauge(out, "ottr_store_block_cache_capacity_bytes", "Capacity of the block cache.",
          (uint64_t)rocksdb_cache_get_capacity(s->cache));
    char *stats = rocksdb_options_statistics_get_string(s->dbopt);
    counter(out, "ottr_store_block_cache_hits_total", "Block cache hits.",
            ticker(stats, "rocksdb.block.cache.hit"));
    counter(out, "ottr_store_block_cache_misses_total", "Block cache misses.",
            ticker(stats, "rocksdb.block.cache.miss"));
    counter(out, "ottr_store_stall_micros_total", "Microseconds writes were stalled.",
            ticker(stats, "rocksdb.stall.micros"));
    if (stats)
        rocksdb_free(stats);
}
