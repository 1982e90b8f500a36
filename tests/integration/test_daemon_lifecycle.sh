#!/usr/bin/env bash
# tests/integration/test_daemon_lifecycle.sh - ottrd starts on free loopback ports
# with a temporary data dir, answers /ready and /metrics (valid Prometheus text),
# rejects bad flags and config with status 2 naming the key, and exits cleanly on
# SIGTERM.
source "$(dirname "$0")/lib.sh"

# --help documents every flag; --version prints the version.
help=$("$OTTRD" --help)
for f in --config --data-dir --grpc-addr --http-addr --query-addr --jaeger-addr --log-level \
    --check-config --version --help; do
    grep -q -- "$f" <<<"$help" || fail "--help does not mention $f"
done
"$OTTRD" --version | grep -Eq '^ottrd [0-9]+\.[0-9]+\.[0-9]+' || fail "--version"

# Bad flags and config: exit status 2, message naming the key (and line).
set +e
out=$("$OTTRD" --bogus 2>&1); rc=$?
set -e
[ "$rc" = 2 ] || fail "unknown flag: exit $rc"
grep -q -- "--bogus" <<<"$out" || fail "unknown flag not named: $out"

set +e
out=$("$OTTRD" --grpc-addr nowhere --check-config 2>&1); rc=$?
set -e
[ "$rc" = 2 ] || fail "bad address: exit $rc"
grep -q "grpc.addr: bad address \"nowhere\"" <<<"$out" || fail "bad address message: $out"

printf 'store:\n  retention: 3d\n' >"$TEST_TMP/bad.yaml"
set +e
out=$("$OTTRD" --config "$TEST_TMP/bad.yaml" --check-config 2>&1); rc=$?
set -e
[ "$rc" = 2 ] || fail "bad duration: exit $rc"
grep -q "bad.yaml:2: store.retention: bad duration" <<<"$out" || fail "bad duration message: $out"

printf 'grpc:\n  adress: 1.2.3.4:5\n' >"$TEST_TMP/bad2.yaml"
set +e
out=$("$OTTRD" --config "$TEST_TMP/bad2.yaml" 2>&1); rc=$?
set -e
[ "$rc" = 2 ] || fail "unknown key: exit $rc"
grep -q "bad2.yaml:2: grpc.adress: unknown key" <<<"$out" || fail "unknown key message: $out"

printf 'log_level: debug\nsampling:\n  decision_wait: 5s\n' >"$TEST_TMP/good.yaml"
"$OTTRD" --config "$TEST_TMP/good.yaml" --check-config | grep -q "configuration OK" ||
    fail "--check-config on a good file"

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
          'ottr_sampler_traces_buffered'):
    assert m in types, m + ' missing'
PY

# Unknown path on the query port is a 404, not a hang.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$QUERY_PORT/nope")
[ "$code" = 404 ] || fail "unknown path answered $code"

# A second daemon on the same data dir is refused with a clear message.
set +e
out=$("$OTTRD" --data-dir "$DATA_DIR" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
    --query-addr 127.0.0.1:0 --jaeger-addr 127.0.0.1:0 2>&1); rc=$?
set -e
[ "$rc" = 3 ] || fail "second daemon on the same data dir: exit $rc ($out)"

# Structured JSON logs on stderr.
head -n 1 "$TEST_TMP/ottrd.log" | python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); assert d["level"] and d["msg"] and d["ts"]' ||
    fail "log lines are not JSON"

ottr_stop
grep -q '"msg":"stopped"' "$TEST_TMP/ottrd.log" || fail "no clean-stop log line"
echo "PASS"
