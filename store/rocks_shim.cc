/* store/rocks_shim.cc - the RocksDB features the 7.8 C API lacks: a logger that
 * sends RocksDB's messages to Ottr's log instead of a LOG file in the data directory
 * (a LOG file write failing on a full disk aborts RocksDB builds that keep
 * assertions on), a listener that leaves recovery from a full disk to the store,
 * DB::Resume() after a background error, memtables charged to the block cache, and a
 * retention filter that decides from the key alone, so that compactions of `traces`
 * do not read (and decompress) every blob they pass just to drop it or keep it. */
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include <rocksdb/c.h>
#include <rocksdb/compaction_filter.h>
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

/* Retention by key: the same verdict for values inline in the SST and for values
 * in blob files, without fetching the blob. */
class KeyFilter : public rocksdb::CompactionFilter
{
  public:
    KeyFilter(store_key_expired_fn expired, void *arg, uint32_t cutoff)
        : expired_(expired), arg_(arg), cutoff_(cutoff)
    {
    }

    Decision FilterV2(int, const rocksdb::Slice &key, ValueType type, const rocksdb::Slice &,
                      std::string *, std::string *) const override
    {
        if (type != ValueType::kValue && type != ValueType::kBlobIndex)
            return Decision::kKeep;
        return Verdict(key);
    }
    Decision FilterBlobByKey(int, const rocksdb::Slice &key, std::string *,
                             std::string *) const override
    {
        return Verdict(key);
    }
    const char *Name() const override
    {
        return "ottr.retention.key";
    }

  private:
    Decision Verdict(const rocksdb::Slice &key) const
    {
        if (cutoff_ != 0 && expired_(arg_, cutoff_, key.data(), key.size()))
            return Decision::kRemove;
        return Decision::kKeep;
    }
    store_key_expired_fn expired_;
    void *arg_;
    uint32_t cutoff_;
};

class KeyFilterFactory : public rocksdb::CompactionFilterFactory
{
  public:
    KeyFilterFactory(store_cutoff_fn cutoff, store_key_expired_fn expired, void *arg)
        : cutoff_(cutoff), expired_(expired), arg_(arg)
    {
    }

    std::unique_ptr<rocksdb::CompactionFilter>
    CreateCompactionFilter(const rocksdb::CompactionFilter::Context &) override
    {
        return std::unique_ptr<rocksdb::CompactionFilter>(
            new KeyFilter(expired_, arg_, cutoff_(arg_)));
    }
    const char *Name() const override
    {
        return "ottr.retention.key.factory";
    }

  private:
    store_cutoff_fn cutoff_;
    store_key_expired_fn expired_;
    void *arg_;
};

} // namespace

extern "C" int store_rocks_key_filter(rocksdb_options_t *o, store_cutoff_fn cutoff,
                                      store_key_expired_fn expired, void *arg)
{
    try {
        o->rep.compaction_filter_factory = std::make_shared<KeyFilterFactory>(cutoff, expired, arg);
    } catch (...) {
        return -1;
    }
    return 0;
}

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
