# tests/integration/test_cli_daemon.sh - `ottr` against the real ottrd: known traces
# sent with `ottr send` (JSON, gzip, protobuf, with an invalid span) become
# queryable; the multi-service trace prints as the expected tree; search filters
# pick the right traces; services, operations, the dependency table and DOT show
# the calls; and unknown traces, bad queries and a stopped daemon give their exit
# codes.
. "$(dirname "$0")/lib.sh"
: "${OTTR:?OTTR must point to the ottr binary}"
DATA="$OTTR_SRC/tests/integration/data"
CHECKOUT=4bf92f3577b34da6a3ce929d0e0e4736
HEALTH=5a1e0b9c3d2f4e6a8b7c9d0e1f2a3b4c

# run ARGS...: ottr with stdout in $TEST_TMP/out, stderr in $TEST_TMP/err, code in RC.
run() {
    RC=0
    "$OTTR" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || RC=$?
}
check() {
    if ! "$@"; then
        echo "--- stdout:" >&2
        cat "$TEST_TMP/out" >&2
        echo "--- stderr:" >&2
        cat "$TEST_TMP/err" >&2
        fail "check failed: $*"
    fi
}
expect_rc() {
    [ "$RC" = "$1" ] || check false "exit code $RC, want $1"
}
one_error_line() {
    [ "$(wc -l <"$TEST_TMP/err")" = 1 ] && grep -q "^ottr: .*$1" "$TEST_TMP/err"
}

# Moves a data file's timestamps so the trace ends about now: the store and the
# search look at recent time ranges.
shift_to_now() {
    python3 - "$1" "$2" <<'EOF'
import json, sys, time
BASE = 1700000000000000000
delta = time.time_ns() - 2 * 10**9 - BASE
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k.endswith("UnixNano"):
                o[k] = str(int(v) + delta)
            else:
                walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
doc = json.load(open(sys.argv[1]))
walk(doc)
json.dump(doc, open(sys.argv[2], "w"))
EOF
}

cat >"$TEST_TMP/ottrd.yaml" <<'EOF'
sampling:
  decision_wait: 2s
  decision_wait_after_root: 200ms
EOF
ottr_start --config "$TEST_TMP/ottrd.yaml"
export OTTR_SERVER="http://127.0.0.1:$QUERY_PORT"
export OTTR_JAEGER_SERVER="http://127.0.0.1:$JAEGER_PORT"
export OTTR_OTLP_ENDPOINT="http://127.0.0.1:$HTTP_PORT/v1/traces"

# --- send
shift_to_now "$DATA/cli_checkout_trace.json" "$TEST_TMP/checkout.json"
shift_to_now "$DATA/cli_health_trace.json" "$TEST_TMP/health.json"
run send "$TEST_TMP/checkout.json"
expect_rc 0
check grep -qx ".*checkout.json: 9 spans accepted" "$TEST_TMP/out"
gzip -c "$TEST_TMP/health.json" >"$TEST_TMP/health.json.gz"
run send "$TEST_TMP/health.json.gz"
expect_rc 0
check grep -qx ".*health.json.gz: 2 spans accepted" "$TEST_TMP/out"

# a protobuf request with one good span and one with an all-zero span ID
python3 - "$TEST_TMP/mixed.pb" <<'EOF'
import sys, time
def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7f) | (0x80 if n > 0x7f else 0))
        n >>= 7
        if not n:
            return bytes(out)
def field(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload
def fixed64(num, v):
    return varint(num << 3 | 1) + v.to_bytes(8, "little")
now = time.time_ns()
tid = bytes.fromhex("7e57000000000000000000000000beef")
def span(sid, name):
    return (field(1, tid) + field(2, sid) + field(5, name) + varint(6 << 3) + varint(2)
            + fixed64(7, now - 5 * 10**6) + fixed64(8, now))
res = field(1, field(1, field(1, b"service.name") + field(2, field(1, b"pb-service"))))
scope = field(2, span(bytes.fromhex("00000000000000a1"), b"pb-op")) + \
        field(2, span(bytes(8), b"invalid"))
open(sys.argv[1], "wb").write(field(1, res + field(2, scope)))
EOF
run send "$TEST_TMP/mixed.pb"
expect_rc 5
check grep -q "mixed.pb: 1 of 2 spans accepted, 1 rejected" "$TEST_TMP/out"

# --- trace: wait until decided and stored, then the exact tree
wait_for 30 "$OTTR" trace "$CHECKOUT" || fail "the checkout trace never became queryable"
wait_for 30 "$OTTR" trace "$HEALTH" || fail "the health trace never became queryable"
wait_for 30 "$OTTR" trace 7e57000000000000000000000000beef ||
    fail "the protobuf trace never became queryable"
run trace "$CHECKOUT"
expect_rc 0
sed -E '2s/^start [0-9TZ:.-]+ /start START /' "$TEST_TMP/out" >"$TEST_TMP/tree.txt"
check diff -u "$DATA/cli_checkout_tree.txt" "$TEST_TMP/tree.txt"
run trace "$CHECKOUT" --attrs
expect_rc 0
sed -E '2s/^start [0-9TZ:.-]+ /start START /' "$TEST_TMP/out" >"$TEST_TMP/tree.txt"
check diff -u "$DATA/cli_checkout_tree_attrs.txt" "$TEST_TMP/tree.txt"
run trace 7e57000000000000000000000000beef
expect_rc 0
check grep -q "pb-service: pb-op" "$TEST_TMP/out"
if grep -q "invalid" "$TEST_TMP/out"; then check false "the rejected span was stored"; fi
run trace "$CHECKOUT" --json
expect_rc 0
check python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert sum(len(s["spans"]) for r in d["resourceSpans"] for s in r["scopeSpans"]) == 9' \
    "$TEST_TMP/out"

# --- trace errors
run trace 0123456789abcdef0123456789abcdef
expect_rc 1
check one_error_line "trace 0123456789abcdef0123456789abcdef not found"
run trace zz
expect_rc 2
check one_error_line 'invalid trace ID "zz"'

# --- search filters (the traces started about 2 s ago)
search_ids() {
    run search --since 10m "$@"
    expect_rc 0
    awk 'NR > 1 { print $1 }' "$TEST_TMP/out" | sort | tr '\n' ' '
}
wait_for 30 "$OTTR" search --since 10m --service payment ||
    fail "search never found the checkout trace"
[ "$(search_ids --service payment)" = "$CHECKOUT " ] || check false "--service payment"
[ "$(search_ids --service frontend)" = "$CHECKOUT $HEALTH " ] || check false "--service frontend"
[ "$(search_ids --name "GET /health")" = "$HEALTH " ] || check false "--name"
[ "$(search_ids --tag http.route=/checkout)" = "$CHECKOUT " ] || check false "--tag"
[ "$(search_ids --tag status=error)" = "$CHECKOUT " ] || check false "--tag status=error"
[ "$(search_ids --service frontend --min-duration 100ms)" = "$CHECKOUT " ] ||
    check false "--min-duration"
[ "$(search_ids --service frontend --max-duration 50ms)" = "$HEALTH " ] ||
    check false "--max-duration"
[ "$(search_ids --traceql '{ resource.service.name = "inventory" && name = "SELECT stock" }')" = \
    "$CHECKOUT " ] || check false "--traceql"
run search --since 10m --service payment
check grep -q "^$CHECKOUT  *frontend  *GET /checkout  .*  260ms  *9  *2\$" "$TEST_TMP/out"
run search --since 10m --service nosuch
expect_rc 0
check grep -qx "no traces found" "$TEST_TMP/err"
run search --traceql '{ this is not traceql'
expect_rc 4
check one_error_line "answered HTTP 400"

# --- services and operations
run services
expect_rc 0
check grep -qx checkout "$TEST_TMP/out"
check grep -qx email "$TEST_TMP/out"
check grep -qx pb-service "$TEST_TMP/out"
run operations checkout
expect_rc 0
printf 'POST /api/checkout\ninventory.Reserve\npayment.Charge\n' >"$TEST_TMP/want"
check diff -u "$TEST_TMP/want" "$TEST_TMP/out"
run operations nosuch
expect_rc 1
check one_error_line 'no operations found for service "nosuch"'

# --- deps: the edges of the checkout trace. ottrd persists the service graph per
# minute, when the minute is over or at shutdown; a restart makes it readable now
# and shows that it survives restarts.
ottr_stop
ottr_start --config "$TEST_TMP/ottrd.yaml"
export OTTR_SERVER="http://127.0.0.1:$QUERY_PORT"
deps_ready() {
    "$OTTR" deps --since 1h >"$TEST_TMP/deps" 2>/dev/null &&
        grep -q '^checkout  *→  payment ' "$TEST_TMP/deps" &&
        grep -q '^frontend  *→  checkout ' "$TEST_TMP/deps" &&
        grep -q '^checkout  *→  inventory ' "$TEST_TMP/deps"
}
wait_for 15 deps_ready || { cat "$TEST_TMP/deps" >&2; fail "deps never showed the checkout calls"; }
run deps --since 1h
expect_rc 0
check grep -q '^CLIENT  ' "$TEST_TMP/out"
check grep -Eq '^checkout +→ +payment +(- +)?1 +1 +100\.0% +[0-9.]+(µs|ms|s)$' "$TEST_TMP/out"
check grep -Eq '^frontend +→ +checkout +(- +)?1 +0 +0\.0% +[0-9.]+(µs|ms|s)$' "$TEST_TMP/out"
run deps --since 1h --dot
expect_rc 0
check grep -qx 'digraph ottr {' "$TEST_TMP/out"
check grep -q '^  "checkout" -> "payment" \[label="1 calls\\n1 errors\\np95 .*color=red' \
    "$TEST_TMP/out"
check grep -q '^  "frontend" -> "checkout" \[label="1 calls' "$TEST_TMP/out"
if command -v dot >/dev/null; then check dot -Tsvg -o /dev/null "$TEST_TMP/out"; fi

# --- the daemon stopped: unreachable
ottr_stop
run trace "$CHECKOUT"
expect_rc 3
check one_error_line "cannot reach ottrd at http://127.0.0.1:$QUERY_PORT: connection refused"
run send "$TEST_TMP/checkout.json"
expect_rc 3
check one_error_line "cannot reach the OTLP receiver"

echo "PASS"
