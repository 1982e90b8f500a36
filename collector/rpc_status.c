/* collector/rpc_status.c - google.rpc.Status error bodies (protobuf and OTLP/JSON),
 * optionally carrying a google.rpc.RetryInfo that tells a client when to retry. */
#include <stdint.h>
#include <string.h>

#include "collector/collector.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define RETRY_INFO_TYPE_URL "type.googleapis.com/google.rpc.RetryInfo"

int collector_rpc_status_pack(int code, const char *message, int retry_after_s, ottr_buf *out)
{
    Google__Protobuf__Duration delay = GOOGLE__PROTOBUF__DURATION__INIT;
    Google__Rpc__RetryInfo retry = GOOGLE__RPC__RETRY_INFO__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Google__Protobuf__Any *details[1] = {&any};
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    uint8_t retry_bytes[32]; /* a RetryInfo with one Duration packs to <= 15 bytes */

    st.code = code;
    st.message = (char *)(message ? message : "");
    if (retry_after_s > 0) {
        delay.seconds = retry_after_s;
        retry.retry_delay = &delay;
        size_t n = google__rpc__retry_info__get_packed_size(&retry);
        if (n > sizeof(retry_bytes))
            return -1;
        google__rpc__retry_info__pack(&retry, retry_bytes);
        any.type_url = (char *)RETRY_INFO_TYPE_URL;
        any.value.data = retry_bytes;
        any.value.len = n;
        st.n_details = 1;
        st.details = details;
    }
    size_t len = google__rpc__status__get_packed_size(&st);
    if (ottr_buf_reserve(out, len) != 0)
        return -1;
    google__rpc__status__pack(&st, (uint8_t *)out->data + out->len);
    out->len += len;
    out->data[out->len] = '\0';
    return 0;
}

void collector_rpc_status_json(int code, const char *message, int retry_after_s, ottr_buf *out)
{
    const char *m = message ? message : "";
    ottr_buf_printf(out, "{\"code\":%d,\"message\":", code);
    ottr_buf_json_str(out, m, strlen(m));
    if (retry_after_s > 0)
        ottr_buf_printf(
            out, ",\"details\":[{\"@type\":\"" RETRY_INFO_TYPE_URL "\",\"retryDelay\":\"%ds\"}]",
            retry_after_s);
    ottr_buf_putc(out, '}');
}
