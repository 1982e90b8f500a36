/* store/shim.h - C declarations of store/rocks_shim.cc (RocksDB logger, resume and
 * memtables charged to the block cache). */
#ifndef OTTR_STORE_SHIM_H
#define OTTR_STORE_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include <rocksdb/c.h>

#define STORE_ROCKS_LOG_DEBUG 0
#define STORE_ROCKS_LOG_WARN  2
#define STORE_ROCKS_LOG_ERROR 3

/* A logger forwarding RocksDB messages of level WARN and up (INFO and up when
 * |verbose|) to store_rocks_log(). Give it to rocksdb_options_set_info_log(), which
 * takes a shared reference; free the handle with store_rocks_logger_destroy().
 * Returns NULL when out of memory. */
rocksdb_logger_t *store_rocks_logger_create(int verbose);
void store_rocks_logger_destroy(rocksdb_logger_t *l);

/* Implemented in C (store/logger.c): writes one RocksDB message to Ottr's log. */
void store_rocks_log(int level, const char *msg);

/* Adds to the DB options |o| a listener that turns RocksDB's own recovery from a
 * full disk off: it waits for as much free space as the largest write buffer
 * (64 MiB here), not configurable; the store resumes by itself instead (see
 * store/write.c). Returns 0, or -1 when out of memory. */
int store_rocks_manual_nospace_recovery(rocksdb_options_t *o);

/* Calls DB::Resume() to clear a background error. Returns 0, or -1 with the
 * reason in |err|. */
int store_rocks_resume(rocksdb_t *db, char *err, size_t errlen);

/* Gives the DB options |o| a write buffer manager of |bytes| whose memtable memory
 * is reserved in |cache| (which must be at least that large): memtables and cached
 * blocks then share one bound, and blocks give way while memtables are full.
 * Returns 0, or -1 when out of memory. */
int store_rocks_charge_memtables(rocksdb_options_t *o, rocksdb_cache_t *cache, size_t bytes);

/* Retention decided from the key alone. |cutoff| is asked once per compaction (0:
 * keep everything); |expired| says whether a key is older than that second. */
typedef uint32_t (*store_cutoff_fn)(void *arg);
typedef int (*store_key_expired_fn)(void *arg, uint32_t cutoff, const char *key, size_t klen);

/* Sets on the column family options |o| a compaction filter factory dropping the
 * records whose key |expired| says are past the cutoff. Values in blob files are
 * judged without being read. |arg| must outlive the options and the DB. Returns 0,
 * or -1 when out of memory. */
int store_rocks_key_filter(rocksdb_options_t *o, store_cutoff_fn cutoff,
                           store_key_expired_fn expired, void *arg);

#endif /* OTTR_STORE_SHIM_H */
