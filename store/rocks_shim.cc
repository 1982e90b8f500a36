/* store/rocks_shim.cc - the two RocksDB features the 7.8 C API lacks: a logger that
 * sends RocksDB's messages to Ottr's log instead of a LOG file in the data directory
 * (a LOG file write failing on a full disk aborts RocksDB builds that keep
 * assertions on), and DB::Resume() after a background error. */
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include <rocksdb/c.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>

/* The C API's wrappers, as c.cc defines them: one member each. */
struct rocksdb_t {
    rocksdb::DB *rep;
};
struct rocksdb_logger_t {
    std::shared_ptr<rocksdb::Logger> rep;
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

} // namespace

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
