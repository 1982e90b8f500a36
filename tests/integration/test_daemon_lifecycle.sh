#!/usr/bin/env bash
# tests/integration/test_daemon_lifecycle.sh - ottrd starts on free loopback ports
# with a temporary data dir, answers /ready and /metrics (valid Prometheus text),
# rejects bad flags and config with status 2 naming the key, and exits cleanly on
# SIGTERM.
source "$(dirname "$0")/lib.sh"

# --help documents every flag; --help-config every key with its default;
# --version prints the version.
help=$("$OTTRD" --help)
for f in --config --data-dir --grpc-addr --http-addr --query-addr --jaeger-addr --admin-addr \
    --zipkin-addr --log-level \
    --check-config --version --help --help-config; do
    grep -q -- "$f" <<<"$help" || fail "--help does not mention $f"
done
grep -q -- "--data-dir DIR .*(default ./data)" <<<"$help" || fail "--help lacks a default"
keys=$("$OTTRD" --help-config)
grep -qF "sampling.decision_cache_size (count, 1 to 100000000; default 200000)" <<<"$keys" ||
    fail "--help-config: $keys"
"$OTTRD" --version | grep -Eq '^ottrd [0-9]+\.[0-9]+\.[0-9]+' || fail "--version"

# Runs ottrd with the arguments after $1: it must exit 2 with a message holding $1.
usage_error() {
    local want=$1 out rc
    shift
    set +e
    out=$("$OTTRD" "$@" 2>&1); rc=$?
    set -e
    [ "$rc" = 2 ] || fail "ottrd $*: exit $rc, want 2"
    grep -qF -- "$want" <<<"$out" || fail "ottrd $*: no \"$want\" in: $out"
}

# Bad flags and config: exit status 2, message naming the key (and line).
usage_error "--bogus" --bogus
usage_error 'grpc.addr: bad address "nowhere"' --grpc-addr nowhere --check-config
printf 'store:\n  retention: 3d\n' >"$TEST_TMP/bad.yaml"
usage_error "bad.yaml:2: store.retention: bad duration" --config "$TEST_TMP/bad.yaml" --check-config
printf 'grpc:\n  adress: 1.2.3.4:5\n' >"$TEST_TMP/bad2.yaml"
usage_error "bad2.yaml:2: grpc.adress: unknown key" --config "$TEST_TMP/bad2.yaml"
# Zero and out-of-range values.
printf 'http:\n  max_body_size: 0\n' >"$TEST_TMP/zero.yaml"
usage_error "zero.yaml:2: http.max_body_size: 0 is out of range (want 1KiB to 1GiB)" \
    --config "$TEST_TMP/zero.yaml" --check-config
printf 'sampling:\n  decision_wait: 1s\n  decision_cache_size: 0\n' >"$TEST_TMP/zero2.yaml"
usage_error "zero2.yaml:3: sampling.decision_cache_size: 0 is out of range" \
    --config "$TEST_TMP/zero2.yaml" --check-config

printf 'log_level: debug\nsampling:\n  decision_wait: 5s\n' >"$TEST_TMP/good.yaml"
"$OTTRD" --config "$TEST_TMP/good.yaml" --check-config | grep -qx "ok" ||
    fail "--check-config on a good file"
# --check-config FILE is --config FILE --check-config; it opens no store and no port.
"$OTTRD" --check-config "$TEST_TMP/good.yaml" --data-dir "$TEST_TMP/never" | grep -qx "ok" ||
    fail "--check-config FILE on a good file"
[ ! -e "$TEST_TMP/never" ] || fail "--check-config created the data directory"
usage_error "bad.yaml:2: store.retention: bad duration" --check-config "$TEST_TMP/bad.yaml"
usage_error "name two files" --check-config "$TEST_TMP/bad.yaml" --config "$TEST_TMP/good.yaml"

# Start for real on free ports.
ottr_start --config "$TEST_TMP/good.yaml"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$QUERY_PORT/ready")
[ "$code" = 200 ] || fail "/ready answered $code"

curl -sf "http://127.0.0.1:$QUERY_PORT/metrics" >"$TEST_TMP/metrics.txt" || fail "/metrics"
# Prometheus text: every non-comment line is `name{labels} value`, and the
# process metrics are present.
python3 - "$TEST_TMP/metrics.txt" <<'PY' || fail "/metrics is not valid Prometheus text"
import re, sys
text = open(sys.argv[1]).read()
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
                    r'(-?[0-9.e+-]+|[+-]Inf|NaN)$')
types = {}
for line in text.splitlines():
    if line.startswith('# TYPE '):
        _, _, name, typ = line.split(' ', 3)
        assert typ in ('counter', 'gauge', 'histogram', 'summary', 'untyped'), line
        assert name not in types, 'duplicate TYPE ' + name
        types[name] = typ
    elif line.startswith('#') or not line:
        continue
    else:
        assert sample.match(line), 'bad sample line: ' + line
for m in ('process_cpu_seconds_total', 'process_resident_memory_bytes',
          'process_start_time_seconds', 'process_open_fds',
          'ottr_store_memtable_bytes', 'ottr_store_block_cache_usage_bytes',
          'ottr_store_pending_compaction_bytes', 'ottr_store_sst_bytes',
          'ottr_store_disk_available_bytes', 'ottr_store_disk_size_bytes',
          'ottr_sampler_traces_buffered'):
    assert m in types, m + ' missing'
PY

# Unknown path on the query port is a 404, not a hang.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$QUERY_PORT/nope")
[ "$code" = 404 ] || fail "unknown path answered $code"

# A second daemon on the same data dir is refused with a clear message.
set +e
out=$("$OTTRD" --data-dir "$DATA_DIR" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
    --query-addr 127.0.0.1:0 --jaeger-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 \
    --zipkin-addr 127.0.0.1:0 2>&1); rc=$?
set -e
[ "$rc" = 3 ] || fail "second daemon on the same data dir: exit $rc ($out)"

# Structured JSON logs on stderr.
head -n 1 "$TEST_TMP/ottrd.log" | python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); assert d["level"] and d["msg"] and d["ts"]' ||
    fail "log lines are not JSON"

ottr_stop
grep -q '"msg":"stopped"' "$TEST_TMP/ottrd.log" || fail "no clean-stop log line"
echo "PASS"
