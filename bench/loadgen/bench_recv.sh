#!/usr/bin/env bash
# bench/loadgen/bench_recv.sh - OTLP/gRPC receive throughput: recv_bench (the gRPC
# receiver with an ingest that only counts) against loadgen's default workload on
# this machine, RUNS times; prints each run and the median acknowledged spans/s.
# Usage: bench_recv.sh BUILD_DIR [RUNS=5] [SECONDS=5] [extra loadgen flags...]
# Use a build without sanitizers (cmake -DOTTR_SANITIZE=OFF).
set -euo pipefail
build=${1:?usage: bench_recv.sh BUILD_DIR [RUNS] [SECONDS] [loadgen flags...]}
runs=${2:-5}
secs=${3:-5}
shift $(($# < 3 ? $# : 3))
recv="$build/bench/loadgen/recv_bench"
loadgen="$build/bench/loadgen/loadgen"
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

results=()
for i in $(seq "$runs"); do
    rm -f "$tmp/port"
    "$recv" --port-file "$tmp/port" >"$tmp/recv.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
    port=$(sed -n 's/^grpc=//p' "$tmp/port")
    line=$("$loadgen" --target "127.0.0.1:$port" --duration "$secs" --quiet "$@" | grep '^RESULT')
    kill -INT "$pid"
    wait "$pid" || true
    pid=""
    sps=$(tr ' ' '\n' <<<"$line" | sed -n 's/^spans_per_s=//p')
    cpu=$(sed -n 's/.* \([0-9]*\) spans per CPU-second/\1/p' "$tmp/recv.out")
    echo "run $i: $line receiver_spans_per_cpu_s=$cpu"
    results+=("$sps")
done
median=$(printf '%s\n' "${results[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "MEDIAN spans_per_s=$median runs=$runs seconds=$secs"
