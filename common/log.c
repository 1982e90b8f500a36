/* common/log.c - structured logging: one JSON object per line on stderr. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"

static atomic_int log_level = OTTR_LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error"};

int ottr_log_level_parse(const char *s, ottr_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (ottr_log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = OTTR_LOG_WARN;
        return 0;
    }
    return -1;
}

void ottr_log_set_level(ottr_log_level level)
{
    atomic_store(&log_level, (int)level);
}

ottr_log_level ottr_log_get_level(void)
{
    return (ottr_log_level)atomic_load(&log_level);
}

void ottr_log(ottr_log_level level, const char *component, const char *fmt, ...)
{
    if ((int)level < atomic_load(&log_level))
        return;

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t mlen = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;

    char ts[40];
    ottr_format_time(ottr_now_ns(), ts, sizeof(ts));

    /* Build the whole line first so concurrent writers never interleave. */
    char line[4096];
    ottr_buf b = {0};
    ottr_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":", ts, level_names[level]);
    ottr_buf_json_str(&b, component ? component : "ottr", component ? strlen(component) : 4);
    ottr_buf_puts(&b, ",\"msg\":");
    ottr_buf_json_str(&b, msg, mlen);
    ottr_buf_puts(&b, "}\n");
    if (b.oom || b.data == NULL) {
        snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"(log line lost: no memory)\"}\n",
                 level_names[level]);
        fputs(line, stderr);
    } else {
        fwrite(b.data, 1, b.len, stderr);
    }
    ottr_buf_free(&b);
}
