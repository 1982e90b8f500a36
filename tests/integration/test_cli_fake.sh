# tests/integration/test_cli_fake.sh - `ottr` against a stand-in server (Python
# stdlib): every command's output, and each failure a user can meet (unknown
# trace, server error, garbage answer, timeout, dropped connection, unreachable
# server, bad arguments, bad files, rejected spans, busy receiver) gives one line
# on stderr and its documented exit code.
set -euo pipefail

: "${OTTR:?OTTR must point to the ottr binary}"
: "${OTTR_SRC:?OTTR_SRC must point to the source tree}"
DATA="$OTTR_SRC/tests/integration/data"
T=$(mktemp -d "${TMPDIR:-/tmp}/ottr-cli-fake.XXXXXX")
FAKE_PID=""
cleanup() {
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; fi
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "--- stdout:" >&2
    cat "$T/out" >&2 2>/dev/null || true
    echo "--- stderr:" >&2
    cat "$T/err" >&2 2>/dev/null || true
    exit 1
}

# run ARGS...: runs ottr with stdout in $T/out, stderr in $T/err, exit code in RC.
run() {
    RC=0
    "$OTTR" "$@" >"$T/out" 2>"$T/err" </dev/null || RC=$?
}
expect_rc() {
    [ "$RC" = "$1" ] || fail "exit code $RC, want $1"
}
# expect_error RC TEXT: exit code RC and exactly one stderr line "ottr: ...TEXT..."
expect_error() {
    expect_rc "$1"
    [ "$(wc -l <"$T/err")" = 1 ] || fail "want exactly one line on stderr"
    grep -q '^ottr: ' "$T/err" || fail "stderr does not start with 'ottr: '"
    grep -qF -- "$2" "$T/err" || fail "stderr does not mention '$2'"
    [ ! -s "$T/out" ] || fail "stdout should be empty on error"
}
# normalise FILE: the trace's start time on line 2 becomes START
normalise() {
    sed -E '2s/^start [0-9TZ:.-]+ /start START /' "$1"
}

python3 "$DATA/cli_fake_server.py" "$T/port" "$T/requests.log" "$DATA" &
FAKE_PID=$!
deadline=$(($(date +%s) + 15))
while [ ! -s "$T/port" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "fake server did not start"
    sleep 0.05
done
PORT=$(cat "$T/port")
export OTTR_SERVER="http://127.0.0.1:$PORT"
export OTTR_JAEGER_SERVER="http://127.0.0.1:$PORT"
export OTTR_OTLP_ENDPOINT="http://127.0.0.1:$PORT/v1/traces"
KNOWN=4bf92f3577b34da6a3ce929d0e0e4736

# --- trace: the tree, the details, JSON that can be sent back
run trace "$KNOWN"
expect_rc 0
normalise "$T/out" | diff -u "$DATA/cli_checkout_tree.txt" - || fail "tree differs from expected"
grep -q '"accept": "application/json"' "$T/requests.log" || fail "trace did not ask for JSON"
run trace "${KNOWN^^}" --attrs
expect_rc 0
normalise "$T/out" | diff -u "$DATA/cli_checkout_tree_attrs.txt" - || fail "--attrs differs"
run trace "$KNOWN" --width 60
expect_rc 0
python3 - "$T/out" <<'EOF' || fail "--width 60: a line is wider than 60 columns"
import sys
for line in open(sys.argv[1], encoding="utf-8"):
    assert len(line.rstrip("\n")) <= 60, line
EOF
run trace "$KNOWN" --json
expect_rc 0
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["resourceSpans"]) == 5' \
    "$T/out" || fail "--json is not OTLP JSON with 5 resourceSpans"
cp "$T/out" "$T/trace.json"
run trace --file "$T/trace.json"
expect_rc 0
normalise "$T/out" | diff -u "$DATA/cli_checkout_tree.txt" - || fail "--file of --json output differs"
"$OTTR" send - <"$T/trace.json" >"$T/out" 2>"$T/err" || fail "send - of trace --json failed"
grep -qx -- '-: 9 spans accepted' "$T/out" || fail "send of --json output: wrong report"

# colours: never when stdout is not a terminal, unless forced; NO_COLOR wins over nothing
run trace "$KNOWN"
if grep -q $'\x1b' "$T/out"; then fail "colour escape in non-terminal output"; fi
run trace "$KNOWN" --color
grep -q $'\x1b\[1;31m! ' "$T/out" || fail "--color does not mark errors in red"
run trace "$KNOWN" --color --no-color
if grep -q $'\x1b' "$T/out"; then fail "--no-color after --color still colours"; fi

# --- trace errors
run trace 0404
expect_error 1 "trace 00000000000000000000000000000404 not found"
run trace e3e3
expect_error 1 "not found"
run trace 500
expect_error 4 "HTTP 500: store failed: IO error"
run trace bad
expect_error 5 "unparsable trace"
run trace 51ee9 --timeout 1s
expect_error 3 "no answer within 1s"
run trace c105e
expect_error 3 "cannot reach ottrd at http://127.0.0.1:$PORT"
run trace "$KNOWN" --server http://127.0.0.1:1
expect_error 3 "cannot reach ottrd at http://127.0.0.1:1: connection refused"
run trace "$KNOWN" --server "ftp://127.0.0.1:$PORT"
expect_error 2 "invalid URL"
run trace not-hex
expect_error 2 'invalid trace ID "not-hex"'
run trace
expect_error 2 "want one trace ID"
run trace --file "$T/missing.json"
expect_error 5 "missing.json"

# --- search: the query sent and the table
run search --service checkout --name "POST /api/checkout" --tag http.method=POST \
    --min-duration 100ms --max-duration 1.5s --since 1h --limit 7
expect_rc 0
head -1 "$T/out" | grep -q '^TRACE ID  *ROOT SERVICE  *ROOT NAME  *START  *DURATION  *SPANS  *ERRORS$' ||
    fail "search table header"
grep -q "^$KNOWN  *frontend  *GET /checkout  *2023-11-14T22:13:20.000Z  *260ms  *6  *2\$" "$T/out" ||
    fail "search table row"
python3 - "$T/requests.log" <<'EOF' || fail "search sent the wrong query"
import json, sys, time, urllib.parse
req = [json.loads(l) for l in open(sys.argv[1]) if '"/api/search' in l][-1]
q = urllib.parse.parse_qs(urllib.parse.urlsplit(req["path"]).query)
assert q["q"] == ['{resource.service.name="checkout" && name="POST /api/checkout" && '
                  '.http.method="POST"}'], q["q"]
assert q["minDuration"] == ["100ms"] and q["maxDuration"] == ["1500ms"], q
assert q["limit"] == ["7"], q
start, end = int(q["start"][0]), int(q["end"][0])
assert end - start == 3600 and abs(end - time.time()) < 60, (start, end)
EOF
run search --traceql '{ nomatch }'
expect_rc 0
[ ! -s "$T/out" ] || fail "empty search printed a table"
grep -qx 'no traces found' "$T/err" || fail "empty search did not say so"
run search --json
expect_rc 0
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["traces"]' "$T/out" ||
    fail "search --json"
run search --start 2024-05-01T10:00:00Z --end 2024-05-01T11:00:00+01:00
expect_rc 0
grep '"/api/search' "$T/requests.log" | tail -1 | grep -q 'start=1714557600&end=1714557600' ||
    fail "--start/--end not sent as Unix seconds"
run search --since yesterday
expect_error 2 "--since: bad duration"
run search --dot
expect_error 2 "option '--dot' does not apply to 'search'"

# --- services and operations
run services
expect_rc 0
printf 'checkout\nfrontend\npayment\n' | diff -u - "$T/out" || fail "services list"
run operations "check out"
expect_rc 0
printf 'POST /api/checkout\npayment.Charge\n' | diff -u - "$T/out" || fail "operations list"
grep -q '"/api/services/check%20out/operations"' "$T/requests.log" ||
    fail "operations did not escape the service name"
run operations nosuch
expect_error 1 'no operations found for service "nosuch"'
run operations --json "check out"
expect_rc 0
[ "$(cat "$T/out")" = '["POST /api/checkout","payment.Charge"]' ] || fail "operations --json"

# --- deps: table and DOT
run deps
expect_rc 0
grep -q '^checkout  *→  payment  *12  *3  *25.0%  *165ms$' "$T/out" || fail "deps table row"
grep '"/api/service-graph' "$T/requests.log" | tail -1 | python3 -c '
import sys, json, urllib.parse
q = urllib.parse.parse_qs(urllib.parse.urlsplit(json.loads(sys.stdin.read())["path"]).query)
assert int(q["end"][0]) - int(q["start"][0]) == 86400, q' || fail "deps default range is not 24h"
run deps --dot --since 1h
expect_rc 0
head -1 "$T/out" | grep -qx 'digraph ottr {' || fail "deps --dot header"
grep -q '"checkout" -> "payment" \[label="12 calls\\n3 errors\\np95 165ms", color=red' "$T/out" ||
    fail "deps --dot edge"
if command -v dot >/dev/null; then
    dot -Tsvg "$T/out" >/dev/null || fail "dot rejects the DOT output"
fi

# --- send: JSON, gzip, protobuf, partial success, busy, bad files
run send "$DATA/cli_checkout_trace.json"
expect_rc 0
grep -qx ".*cli_checkout_trace.json: 9 spans accepted" "$T/out" || fail "send report"
tail -1 "$T/requests.log" | grep -q '"content_type": "application/json"' || fail "send JSON type"
gzip -c "$DATA/cli_checkout_trace.json" >"$T/trace.json.gz"
run send "$T/trace.json.gz"
expect_rc 0
tail -1 "$T/requests.log" | grep -q '"content_encoding": "gzip"' || fail "gzip not sent as gzip"
python3 - "$T/one.pb" <<'EOF'
import sys
def field(num, payload):
    n, out = len(payload), bytearray([num << 3 | 2])
    while True:
        out.append((n & 0x7f) | (0x80 if n > 0x7f else 0))
        n >>= 7
        if not n:
            return bytes(out) + payload
span = field(1, bytes(range(1, 17))) + field(2, bytes(range(1, 9))) + field(5, b"op")
open(sys.argv[1], "wb").write(field(1, field(2, field(2, span))))
EOF
run send "$T/one.pb"
expect_rc 0
grep -q "one.pb: 1 span accepted" "$T/out" || fail "protobuf send report"
tail -1 "$T/requests.log" | grep -q '"content_type": "application/x-protobuf"' ||
    fail "protobuf content type"
sed 's/"send receipt"/"rejectme"/' "$DATA/cli_checkout_trace.json" >"$T/reject.json"
run send "$T/reject.json"
expect_rc 5
grep -q "reject.json: 8 of 9 spans accepted, 1 rejected: invalid span ID" "$T/out" ||
    fail "partial success report"
run send "$DATA/cli_checkout_trace.json" --otlp-endpoint "http://127.0.0.1:$PORT/busy/v1/traces"
expect_error 4 "answered HTTP 429 (busy: retry after 7s): over the memory budget"
printf 'garbage' >"$T/garbage.bin"
run send "$T/garbage.bin"
expect_error 5 "neither OTLP JSON nor OTLP protobuf"
run send "$T/nope.json"
expect_error 5 "nope.json"
run send "$DATA/cli_checkout_trace.json" --otlp-endpoint http://127.0.0.1:1/v1/traces
expect_error 3 "cannot reach the OTLP receiver at http://127.0.0.1:1/v1/traces: connection refused"

# --- help, version, usage
run help
expect_rc 0
grep -q '^Exit codes:' "$T/out" || fail "help lacks the exit codes"
run help deps
expect_rc 0
grep -q '^Usage: ottr deps' "$T/out" || fail "help deps"
run search --help
expect_rc 0
grep -q '^Usage: ottr search' "$T/out" || fail "search --help"
run version
expect_rc 0
grep -q '^ottr [0-9]' "$T/out" || fail "version"
run
expect_rc 2
grep -q '^Usage: ottr' "$T/err" || fail "no command: usage on stderr"
run frobnicate
expect_error 2 "unknown command 'frobnicate'"

echo "PASS"
