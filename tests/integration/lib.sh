# tests/integration/lib.sh - shared helpers for shell integration tests: start ottrd
# on free loopback ports with a temporary data dir, wait on conditions with a
# deadline, stop it and check the exit. Source it; it sets `set -euo pipefail`.
set -euo pipefail

: "${OTTRD:?OTTRD must point to the ottrd binary}"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ottr-test.XXXXXX")
OTTR_PID=""
trap 'ottr_cleanup' EXIT

ottr_cleanup() {
    if [ -n "$OTTR_PID" ] && kill -0 "$OTTR_PID" 2>/dev/null; then
        kill -KILL "$OTTR_PID" 2>/dev/null || true
    fi
    if [ "${KEEP_TMP:-0}" != 1 ]; then rm -rf "$TEST_TMP"; fi
}

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$TEST_TMP/ottrd.log" ]; then
        echo "--- ottrd log (last 40 lines) ---" >&2
        tail -n 40 "$TEST_TMP/ottrd.log" >&2
    fi
    exit 1
}

# wait_for SECONDS CMD...: runs CMD until it succeeds or the deadline passes.
wait_for() {
    local secs=$1
    shift
    local deadline=$(($(date +%s%N) + secs * 1000000000))
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# ottr_start [ARGS...]: starts ottrd on 127.0.0.1 port 0 for every listener, data in
# $DATA_DIR (default $TEST_TMP/data), waits for /ready (30 s deadline) and sets
# GRPC_PORT HTTP_PORT QUERY_PORT JAEGER_PORT ADMIN_PORT ZIPKIN_PORT OTTR_PID.
ottr_start() {
    DATA_DIR=${DATA_DIR:-$TEST_TMP/data}
    rm -f "$TEST_TMP/ports"
    "$OTTRD" --data-dir "$DATA_DIR" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
        --query-addr 127.0.0.1:0 --jaeger-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 \
        --zipkin-addr 127.0.0.1:0 --port-file "$TEST_TMP/ports" \
        "$@" 2>>"$TEST_TMP/ottrd.log" &
    OTTR_PID=$!
    wait_for 30 test -s "$TEST_TMP/ports" || fail "ottrd did not write its port file"
    GRPC_PORT=$(sed -n 's/^grpc=//p' "$TEST_TMP/ports")
    HTTP_PORT=$(sed -n 's/^http=//p' "$TEST_TMP/ports")
    QUERY_PORT=$(sed -n 's/^query=//p' "$TEST_TMP/ports")
    JAEGER_PORT=$(sed -n 's/^jaeger=//p' "$TEST_TMP/ports")
    ADMIN_PORT=$(sed -n 's/^admin=//p' "$TEST_TMP/ports")
    ZIPKIN_PORT=$(sed -n 's/^zipkin=//p' "$TEST_TMP/ports")
    wait_for 30 curl -sf "http://127.0.0.1:$QUERY_PORT/ready" || fail "ottrd never became ready"
}

# ottr_stop: SIGTERM, wait up to 30 s, and require exit status 0.
ottr_stop() {
    kill -TERM "$OTTR_PID"
    local deadline=$(($(date +%s) + 30))
    while kill -0 "$OTTR_PID" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "ottrd did not exit within 30 s of SIGTERM"
        sleep 0.05
    done
    local rc=0
    wait "$OTTR_PID" || rc=$?
    OTTR_PID=""
    [ "$rc" = 0 ] || fail "ottrd exited with status $rc after SIGTERM"
}

# ottr_kill9: SIGKILL and reap.
ottr_kill9() {
    kill -KILL "$OTTR_PID" 2>/dev/null || true
    wait "$OTTR_PID" 2>/dev/null || true
    OTTR_PID=""
}
