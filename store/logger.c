/* store/logger.c - writes RocksDB's own log messages to Ottr's log. */
#include "store/internal.h"
#include "store/shim.h"

void store_rocks_log(int level, const char *msg)
{
    ottr_log_level lv = OTTR_LOG_DEBUG;
    if (level == STORE_ROCKS_LOG_WARN)
        lv = OTTR_LOG_WARN;
    else if (level == STORE_ROCKS_LOG_ERROR)
        lv = OTTR_LOG_ERROR;
    ottr_log(lv, "rocksdb", "%s", msg);
}
