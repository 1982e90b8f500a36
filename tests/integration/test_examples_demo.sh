#!/usr/bin/env bash
# tests/integration/test_examples_demo.sh - examples/demo/run in a short mode: the demo
# shop (OpenTelemetry Python SDK, real HTTP services, a database and a queue hop) sends
# its traces to a real ottrd, and what the demo prints shows every service, every edge of
# the service graph (HTTP, messaging, database, an uninstrumented peer) and a kept trace
# with the declined card.
source "$(dirname "$0")/lib.sh"
: "${OTTR:?OTTR must point to the ottr binary}"
py=$OTTR_SRC/tests/integration/sdk/.venv/bin/python
[ -x "$py" ] || { echo "SKIP: no OpenTelemetry SDK in $py (scripts/bootstrap --test)"; exit 77; }

out=$TEST_TMP/demo.txt
OTTRD=$OTTRD OTTR=$OTTR OTTR_DEMO_PYTHON=$py \
    "$OTTR_SRC/examples/demo/run" --seconds 3 --rate 20 >"$out" 2>&1 ||
    { cat "$out" >&2; fail "examples/demo/run failed"; }
has() { grep -Eq -- "$1" "$out" || { cat "$out" >&2; fail "the demo's output lacks: $1"; }; }

has '^demo: [0-9]+ requests in .* spans exported$'
# ottr services: all five.
for s in cart checkout email frontend payment; do has "^$s$"; done
# ottr deps: every kind of edge.
has '^user +→ +frontend +virtual_node'
has '^frontend +→ +cart +- '
has '^frontend +→ +checkout +- '
has '^checkout +→ +payment +- +[0-9]+ +[1-9][0-9]* '     # with errors
has '^checkout +→ +email +messaging_system '
has '^cart +→ +shop +database '
has '^checkout +→ +shop +database '
has '^payment +→ +card-network +virtual_node '
# ottr trace: the declined checkout, error spans marked with "!", through to payment.
has '^== ottr trace [0-9a-f]{32} '
has '^! +frontend: POST /checkout'
has '^! .*payment: POST /charge'
has 'checkout: INSERT shop.orders'
# ottr search: checkout traces, rooted at the frontend.
has '^[0-9a-f]{32} +frontend +POST /checkout '
echo PASS
