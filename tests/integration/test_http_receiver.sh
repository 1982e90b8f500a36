#!/usr/bin/env bash
# tests/integration/test_http_receiver.sh - OTLP/HTTP on the real ottrd with curl:
# protobuf, JSON, gzip, chunked uploads, h2c prior knowledge and keep-alive are
# accepted; every kind of malformed request gets its status and a google.rpc.Status
# body in the request's encoding; the daemon keeps serving and /metrics counts it all.
source "$(dirname "$0")/lib.sh"

B=$TEST_TMP/bodies
mkdir -p "$B"

# Request bodies, protobuf hand-encoded with the Python standard library.
python3 - "$B" <<'EOF'
import gzip, json, os, struct, sys
out = sys.argv[1]

def varint(n):
    b = bytearray()
    while True:
        x = n & 0x7f
        n >>= 7
        b.append(x | (0x80 if n else 0))
        if not n:
            return bytes(b)

def ld(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload

def fixed64(num, v):
    return varint(num << 3 | 1) + struct.pack("<Q", v)

def kv(k, v):
    return ld(1, k.encode()) + ld(2, ld(1, v.encode()))

def span(tid, sid, name, parent=b""):
    s = ld(1, tid) + ld(2, sid)
    if parent:
        s += ld(4, parent)
    s += ld(5, name.encode()) + varint(6 << 3) + varint(2)
    s += fixed64(7, 1700000000000000000) + fixed64(8, 1700000000002000000)
    s += ld(9, kv("http.method", "GET"))
    return s

def request(spans, service="http-test"):
    resource = ld(1, kv("service.name", service))
    scope = ld(1, ld(1, b"itest")) + b"".join(ld(2, s) for s in spans)
    return ld(1, ld(1, resource) + ld(2, scope))

def w(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

t1 = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
t2 = bytes.fromhex("5b8efff798038103d269b633813fc60c")
good = request([span(t1, bytes.fromhex("b7ad6b7169203331"), "root"),
                span(t1, bytes.fromhex("b7ad6b7169203332"), "child", bytes.fromhex("b7ad6b7169203331")),
                span(t2, bytes.fromhex("c7ad6b7169203331"), "other")])
w("good.pb", good)
w("good.pb.gz", gzip.compress(good))
w("zero.pb", request([span(bytes(16), bytes.fromhex("d7ad6b7169203331"), "zero"),
                      span(t2, bytes.fromhex("d7ad6b7169203332"), "ok")]))
w("trunc.pb", good[:-3])
w("wrongwire.pb", b"\x08\x01")
w("bomb.gz", gzip.compress(bytes(4 << 20)))
w("big.pb", bytes(2 << 20))
w("corrupt.gz", gzip.compress(good)[:20] + b"\x00" * 10)

doc = {"resourceSpans": [{"resource": {"attributes": [
    {"key": "service.name", "value": {"stringValue": "http-json"}}]},
    "scopeSpans": [{"scope": {"name": "itest"}, "spans": [
        {"traceId": "1f2e3d4c5b6a79881f2e3d4c5b6a7988", "spanId": "0102030405060708",
         "name": "json-span", "kind": 2, "startTimeUnixNano": "1700000000000000000",
         "endTimeUnixNano": 1700000000001000000,
         "attributes": [{"key": "n", "value": {"intValue": "7"}}],
         "status": {"code": 2, "message": "boom"}}]}]}]}
w("good.json", json.dumps(doc).encode())
doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "not-hex"
w("badhex.json", json.dumps(doc).encode())
w("bad.json", b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":')
w("wrongtype.json", b'{"resourceSpans":[{"scopeSpans":[{"spans":{}}]}]}')
EOF

printf 'http:\n  max_body_size: 1MiB\nsampling:\n  decision_wait: 1s\n  decision_wait_after_root: 200ms\n' \
    >"$TEST_TMP/ottrd.yaml"
ottr_start --config "$TEST_TMP/ottrd.yaml"
URL="http://127.0.0.1:$HTTP_PORT/v1/traces"
PB="Content-Type: application/x-protobuf"
JS="Content-Type: application/json"

# post NAME EXPECTED_CODE CURL_ARGS...: POSTs and checks the status; the body is
# left in $TEST_TMP/out and the headers in $TEST_TMP/hdr.
post() {
    local name=$1 want=$2
    shift 2
    local code
    code=$(curl -s --max-time 20 -o "$TEST_TMP/out" -D "$TEST_TMP/hdr" -w '%{http_code}' "$@") ||
        true
    [ "$code" = "$want" ] || fail "$name: HTTP $code, want $want (body: $(head -c 300 "$TEST_TMP/out"))"
}

header_value() {
    tr -d '\r' <"$TEST_TMP/hdr" | sed -n "s/^$1: //Ip" | tail -n 1
}

# expect_status NAME json|proto GRPC_CODE: the body is a google.rpc.Status.
expect_status() {
    local name=$1 enc=$2 code=$3
    case $enc in
    json)
        header_value content-type | grep -q '^application/json' ||
            fail "$name: content type $(header_value content-type)"
        python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["code"] == int(sys.argv[2]) and d["message"], d' "$TEST_TMP/out" "$code" ||
            fail "$name: bad JSON status body: $(cat "$TEST_TMP/out")"
        ;;
    proto)
        header_value content-type | grep -q '^application/x-protobuf' ||
            fail "$name: content type $(header_value content-type)"
        # field 1 (code) is a varint first: 08 <code>, then the message (field 2).
        local head
        head=$(head -c 3 "$TEST_TMP/out" | od -An -tx1 | tr -d ' \n')
        [ "${head:0:4}" = "$(printf '08%02x' "$code")" ] && [ "${head:4:2}" = 12 ] ||
            fail "$name: protobuf status body starts $head, want code $code"
        ;;
    esac
}

# ---- accepted ----
post "protobuf" 200 -H "$PB" --data-binary @"$B/good.pb" "$URL"
[ ! -s "$TEST_TMP/out" ] || fail "protobuf: response body should be an empty ExportTraceServiceResponse"
header_value content-type | grep -q '^application/x-protobuf' || fail "protobuf: response type"

post "json" 200 -H "$JS; charset=utf-8" --data-binary @"$B/good.json" "$URL"
[ "$(cat "$TEST_TMP/out")" = "{}" ] || fail "json: body $(cat "$TEST_TMP/out")"
header_value content-type | grep -q '^application/json' || fail "json: response type"

post "gzip" 200 -H "$PB" -H "Content-Encoding: gzip" --data-binary @"$B/good.pb.gz" "$URL"
post "chunked" 200 -H "$PB" -H "Transfer-Encoding: chunked" --data-binary @"$B/good.pb" "$URL"
post "chunked gzip" 200 -H "$PB" -H "Content-Encoding: gzip" -H "Transfer-Encoding: chunked" \
    --data-binary @"$B/good.pb.gz" "$URL"
post "h2c" 200 --http2-prior-knowledge -H "$PB" --data-binary @"$B/good.pb" "$URL"
grep -q '^HTTP/2 200' "$TEST_TMP/hdr" || fail "h2c: not answered over HTTP/2: $(head -1 "$TEST_TMP/hdr")"
post "h2c json" 200 --http2-prior-knowledge -H "$JS" --data-binary @"$B/good.json" "$URL"
[ "$(cat "$TEST_TMP/out")" = "{}" ] || fail "h2c json: body $(cat "$TEST_TMP/out")"

# Keep-alive: the second request reuses the first connection.
conns=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}:%{num_connects} ' \
    -H "$PB" --data-binary @"$B/good.pb" "$URL" --next \
    -s -o /dev/null -w '%{http_code}:%{num_connects} ' \
    -H "$JS" --data-binary @"$B/good.json" "$URL")
[ "$conns" = "200:1 200:0 " ] || fail "keep-alive: got '$conns', want '200:1 200:0 '"

# Partial success: the span with an all-zero trace ID is rejected, the other kept.
post "partial success" 200 -H "$PB" --data-binary @"$B/zero.pb" "$URL"
python3 - "$TEST_TMP/out" <<'EOF' || fail "partial success body: $(od -An -tx1 "$TEST_TMP/out" | head -3)"
import sys
b = open(sys.argv[1], "rb").read()
# ExportTraceServiceResponse{partial_success(1){rejected_spans(1)=1, error_message(2)}}
assert b[0] == 0x0a and b[2] == 0x08 and b[3] == 1 and b[4] == 0x12 and b[5] > 0, b
EOF

# ---- refused ----
post "truncated protobuf" 400 -H "$PB" --data-binary @"$B/trunc.pb" "$URL"
expect_status "truncated protobuf" proto 3
post "wrong wire type" 400 -H "$PB" --data-binary @"$B/wrongwire.pb" "$URL"
expect_status "wrong wire type" proto 3
post "bad JSON" 400 -H "$JS" --data-binary @"$B/bad.json" "$URL"
expect_status "bad JSON" json 3
post "bad hex" 400 -H "$JS" --data-binary @"$B/badhex.json" "$URL"
expect_status "bad hex" json 3
grep -q traceId "$TEST_TMP/out" || fail "bad hex: message does not name traceId: $(cat "$TEST_TMP/out")"
post "wrong JSON type" 400 -H "$JS" --data-binary @"$B/wrongtype.json" "$URL"
expect_status "wrong JSON type" json 3
post "corrupt gzip" 400 -H "$PB" -H "Content-Encoding: gzip" --data-binary @"$B/corrupt.gz" "$URL"
expect_status "corrupt gzip" proto 3
post "gzip bomb" 413 -H "$PB" -H "Content-Encoding: gzip" --data-binary @"$B/bomb.gz" "$URL"
expect_status "gzip bomb" proto 8
post "too large" 413 -H "$PB" --data-binary @"$B/big.pb" "$URL"
expect_status "too large" proto 8
post "too large chunked" 413 -H "$JS" -H "Transfer-Encoding: chunked" --data-binary @"$B/big.pb" "$URL"
expect_status "too large chunked" json 8
post "text/plain" 415 -H "Content-Type: text/plain" --data-binary @"$B/good.pb" "$URL"
expect_status "text/plain" proto 12
post "brotli" 415 -H "$JS" -H "Content-Encoding: br" --data-binary @"$B/good.json" "$URL"
expect_status "brotli" json 12
post "GET" 405 "$URL"
expect_status "GET" proto 12
[ "$(header_value allow)" = POST ] || fail "405 without Allow: POST"
post "unknown path" 404 -H "$PB" --data-binary @"$B/good.pb" "http://127.0.0.1:$HTTP_PORT/v1/logs"
expect_status "unknown path" proto 5
post "h2c bad JSON" 400 --http2-prior-knowledge -H "$JS" --data-binary @"$B/bad.json" "$URL"
expect_status "h2c bad JSON" json 3

# ---- still serving, also to concurrent clients, and counted ----
post "after errors" 200 -H "$PB" --data-binary @"$B/good.pb" "$URL"
codes=$(seq 40 | xargs -P 8 -I{} curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' \
    -H "$PB" --data-binary @"$B/good.pb" "$URL" | sort | uniq -c | tr -s ' ')
[ "$codes" = " 40 200" ] || fail "concurrent posts: $codes"

metric() {
    curl -sf --max-time 10 "http://127.0.0.1:$QUERY_PORT/metrics" |
        awk -v k="$1" '$1 == k { print $2 }'
}
# Accepted spans: 3 per good.pb (protobuf, gzip, chunked, chunked gzip, h2c, keep-alive,
# after errors = 7 requests, and 40 concurrent ones), 1 per good.json (json, h2c json,
# keep-alive = 3), and 1 from the partial success.
want_spans=$((47 * 3 + 3 + 1))
got=$(metric 'ottr_receiver_spans_total{protocol="http",result="accepted"}')
[ "$got" = "$want_spans" ] || fail "accepted spans: $got, want $want_spans"
got=$(metric 'ottr_receiver_spans_total{protocol="http",result="rejected"}')
[ "$got" = 1 ] || fail "rejected spans: $got, want 1"
got=$(metric 'ottr_receiver_requests_total{protocol="http",code="200"}')
[ "$got" = 51 ] || fail "requests with 200: $got, want 51"
got=$(metric 'ottr_receiver_requests_total{protocol="http",code="400"}')
[ "$got" = 7 ] || fail "requests with 400: $got, want 7"
got=$(metric 'ottr_receiver_requests_total{protocol="http",code="413"}')
[ "$got" = 3 ] || fail "requests with 413: $got, want 3"
got=$(metric 'ottr_receiver_request_duration_seconds_count{protocol="http"}')
[ "$got" = 65 ] || fail "duration observations: $got, want 65"
got=$(metric 'ottr_receiver_bytes_total{protocol="http"}')
[ -n "$got" ] && [ "$got" -gt 0 ] || fail "bytes_total: '$got'"

# What was accepted is stored as sent: the JSON span and the protobuf spans come back
# from the Tempo API once the (shortened) decision wait has passed.
trace_has() {
    curl -sf --max-time 10 -H 'Accept: application/json' \
        "http://127.0.0.1:$QUERY_PORT/api/traces/$1" >"$TEST_TMP/trace" &&
        python3 -c '
import json, sys
spans = [s for b in json.load(open(sys.argv[1]))["batches"]
         for ss in b["scopeSpans"] for s in ss["spans"]]
want = sys.argv[2:]
assert all(any(s["name"] == w for s in spans) for w in want), spans' "$TEST_TMP/trace" "${@:2}"
}
wait_for 20 trace_has 1f2e3d4c5b6a79881f2e3d4c5b6a7988 json-span ||
    fail "the JSON trace was not stored: $(cat "$TEST_TMP/trace" 2>/dev/null)"
grep -q '"intValue":"7"' "$TEST_TMP/trace" || fail "JSON span attribute lost: $(cat "$TEST_TMP/trace")"
grep -q '"message":"boom"' "$TEST_TMP/trace" || fail "JSON span status lost: $(cat "$TEST_TMP/trace")"
wait_for 20 trace_has 0af7651916cd43dd8448eb211c80319c root child ||
    fail "the protobuf trace was not stored: $(cat "$TEST_TMP/trace" 2>/dev/null)"

ottr_stop
echo "ok"
