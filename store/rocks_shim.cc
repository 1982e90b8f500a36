/* store/rocks_shim.cc - the RocksDB features the 7.8 C API lacks: a logger that
 * sends RocksDB's messages to Ottr's log instead of a LOG file in the data directory
 * (a LOG file write failing on a full disk aborts RocksDB builds that keep
 * assertions on), a listener that leaves recovery from a full disk to the store,
 * DB::Resume() after a background error, and memtables charged to the block cache. */
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include <rocksdb/c.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_buffer_manager.h>

/* The C API's wrappers, as c.cc defines them: one member each. */
struct rocksdb_t {
    rocksdb::DB *rep;
};
struct rocksdb_logger_t {
    std::shared_ptr<rocksdb::Logger> rep;
};
struct rocksdb_options_t {
    rocksdb::Options rep;
};
struct rocksdb_cache_t {
    std::shared_ptr<rocksdb::Cache> rep;
};

extern "C" {
#include "store/shim.h"
}

namespace
{

class OttrLogger : public rocksdb::Logger
{
  public:
    explicit OttrLogger(rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {}

    using rocksdb::Logger::Logv;
    void Logv(const char *format, va_list ap) override
    {
        Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
    }
    void Logv(const rocksdb::InfoLogLevel level, const char *format, va_list ap) override
    {
        /* The options dump at open comes as HEADER lines: not worth a log line each. */
        if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL)
            return;
        char msg[1024];
        vsnprintf(msg, sizeof(msg), format, ap);
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
            msg[--n] = '\0';
        int lv = STORE_ROCKS_LOG_DEBUG;
        if (level == rocksdb::InfoLogLevel::WARN_LEVEL)
            lv = STORE_ROCKS_LOG_WARN;
        else if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL)
            lv = STORE_ROCKS_LOG_ERROR;
        store_rocks_log(lv, msg);
    }
};

/* RocksDB's recovery from a full disk (SstFileManager) waits until as much is
 * free as the largest write buffer, 64 MiB here, whatever the disk. Off for
 * no-space errors: the store calls DB::Resume() itself once store.disk_reserve
 * is free. Other errors keep RocksDB's own recovery. */
class ManualNoSpaceRecovery : public rocksdb::EventListener
{
  public:
    void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status bg_error,
                              bool *auto_recovery) override
    {
        if (bg_error.IsNoSpace())
            *auto_recovery = false;
    }
};

} // namespace

extern "C" int store_rocks_manual_nospace_recovery(rocksdb_options_t *o)
{
    try {
        o->rep.listeners.push_back(std::make_shared<ManualNoSpaceRecovery>());
    } catch (...) {
        return -1;
    }
    return 0;
}

extern "C" rocksdb_logger_t *store_rocks_logger_create(int verbose)
{
    rocksdb_logger_t *l = new (std::nothrow) rocksdb_logger_t;
    if (l == nullptr)
        return nullptr;
    try {
        l->rep = std::make_shared<OttrLogger>(verbose ? rocksdb::InfoLogLevel::INFO_LEVEL
                                                      : rocksdb::InfoLogLevel::WARN_LEVEL);
    } catch (...) {
        delete l;
        return nullptr;
    }
    return l;
}

extern "C" void store_rocks_logger_destroy(rocksdb_logger_t *l)
{
    delete l;
}

extern "C" int store_rocks_resume(rocksdb_t *db, char *err, size_t errlen)
{
    rocksdb::Status st = db->rep->Resume();
    if (st.ok())
        return 0;
    snprintf(err, errlen, "%s", st.ToString().c_str());
    return -1;
}

extern "C" int store_rocks_charge_memtables(rocksdb_options_t *o, rocksdb_cache_t *cache,
                                            size_t bytes)
{
    try {
        o->rep.write_buffer_manager =
            std::make_shared<rocksdb::WriteBufferManager>(bytes, cache->rep, false);
    } catch (...) {
        return -1;
    }
    return 0;
}
