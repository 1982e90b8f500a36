#!/usr/bin/env bash
# tests/integration/test_grpc_loadgen.sh - loadgen against the real ottrd over OTLP/gRPC
# (plain and gzip): every request is acknowledged, every acknowledged trace ID is
# listed in --ids-file, the receiver counters on /metrics match what loadgen saw,
# and loadgen reports failure when nothing answers.
source "$(dirname "$0")/lib.sh"
: "${LOADGEN:?LOADGEN must point to the loadgen binary}"

REQUESTS=300
GZ_REQUESTS=40
SPANS_PER_REQUEST=128 # loadgen's default: 16 traces x 8 spans

# metric NAME LABELS: the value of one sample on /metrics, 0 when absent.
metric() {
    curl -sf "http://127.0.0.1:$QUERY_PORT/metrics" |
        awk -v want="$1{$2}" '$1 == want { v = $2 } END { print (v == "" ? 0 : v) }'
}

# result_field OUTPUT KEY: a key=value from loadgen's RESULT line.
result_field() {
    grep '^RESULT ' <<<"$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

ottr_start

out=$("$LOADGEN" --target "127.0.0.1:$GRPC_PORT" --requests "$REQUESTS" --workers 2 \
    --inflight 8 --seed 42 --ids-file "$TEST_TMP/ids.txt") || fail "loadgen failed: $out"
[ "$(result_field "$out" ok)" = "$REQUESTS" ] || fail "not every request acknowledged: $out"
[ "$(result_field "$out" errors)" = 0 ] || fail "loadgen saw errors: $out"
grep -q "status: OK=$REQUESTS\$" <<<"$out" || fail "status line: $out"

# One line per acknowledged trace: 32 hex digits and its span count, all distinct.
want_traces=$((REQUESTS * 16))
[ "$(wc -l <"$TEST_TMP/ids.txt")" = "$want_traces" ] || fail "ids file has $(wc -l <"$TEST_TMP/ids.txt") lines, want $want_traces"
grep -Evq '^[0-9a-f]{32} 8$' "$TEST_TMP/ids.txt" && fail "malformed line in ids file"
[ "$(cut -d' ' -f1 "$TEST_TMP/ids.txt" | sort -u | wc -l)" = "$want_traces" ] ||
    fail "trace IDs are not unique"

# gzip-compressed requests are accepted as well.
out=$("$LOADGEN" --target "127.0.0.1:$GRPC_PORT" --requests "$GZ_REQUESTS" --gzip --workers 1 \
    --inflight 4 --ids-file "$TEST_TMP/ids.txt") || fail "loadgen --gzip failed: $out"
[ "$(result_field "$out" ok)" = "$GZ_REQUESTS" ] || fail "gzip requests not acknowledged: $out"

# The daemon counted exactly what loadgen saw acknowledged.
total=$((REQUESTS + GZ_REQUESTS))
ok=$(metric ottr_receiver_requests_total 'protocol="grpc",code="OK"')
[ "$ok" = "$total" ] || fail "requests_total{code=OK} is $ok, want $total"
accepted=$(metric ottr_receiver_spans_total 'protocol="grpc",result="accepted"')
[ "$accepted" = $((total * SPANS_PER_REQUEST)) ] ||
    fail "spans_total{accepted} is $accepted, want $((total * SPANS_PER_REQUEST))"
for r in rejected refused; do
    v=$(metric ottr_receiver_spans_total "protocol=\"grpc\",result=\"$r\"")
    [ "$v" = 0 ] || fail "spans_total{$r} is $v, want 0"
done
bytes=$(metric ottr_receiver_bytes_total 'protocol="grpc"')
[ "$bytes" -gt $((total * 30000)) ] || fail "bytes_total is $bytes, too small"
count=$(metric ottr_receiver_request_duration_seconds_count 'protocol="grpc"')
[ "$count" = "$total" ] || fail "request_duration_seconds_count is $count, want $total"

ottr_stop

# Nothing listening any more: loadgen says so and exits non-zero.
set +e
out=$("$LOADGEN" --target "127.0.0.1:$GRPC_PORT" --requests 3 --timeout 2 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "loadgen against a closed port exited $rc: $out"
[ "$(result_field "$out" ok)" = 0 ] || fail "closed port: $out"
grep -q 'status: UNAVAILABLE=3' <<<"$out" || fail "closed port status: $out"
echo "PASS"
