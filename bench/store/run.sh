#!/usr/bin/env bash
# bench/store/run.sh - runs bench_store, then RocksDB's own db_bench fillseq with the
# same value sizes, and prints both append rates (MB/s) side by side.
#
# Usage: bench/store/run.sh [path/to/bench_store] [traces]
#   BENCH_DIR  where to put the databases (default: a new directory under /tmp)
# Build bench_store first, in a build without sanitizers:
#   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build-rel bench_store
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=${1:-}
traces=${2:-200000}
if [ -z "$bench" ]; then
    # The first bench_store of a build without sanitizers.
    for b in "$root"/build-rel/bench/store/bench_store "$root"/build*/bench/store/bench_store; do
        cache=${b%/bench/store/bench_store}/CMakeCache.txt
        if [ -x "$b" ] && ! grep -q '^OTTR_SANITIZE:BOOL=ON' "$cache" 2>/dev/null; then
            bench=$b
            break
        fi
    done
fi
if [ -z "$bench" ] || [ ! -x "$bench" ]; then
    echo "bench_store not found: build it (see the comment at the top of $0)" >&2
    exit 2
fi
dbbench=$(command -v db_bench || command -v rocksdb_db_bench || true)
if [ -z "$dbbench" ]; then
    echo "db_bench not found (Debian: apt-get install rocksdb-tools)" >&2
    exit 2
fi

work=${BENCH_DIR:-$(mktemp -d /tmp/ottr-store-run-XXXXXX)}
mkdir -p "$work"
trap 'rm -rf "$work"/ottr "$work"/dbbench' EXIT

per_request=50
echo "== bench_store ($traces traces, $per_request per request)"
out=$("$bench" --traces "$traces" --per-request "$per_request" --lookups 20000 \
      --sync none --dir "$work/ottr")
echo "$out"
chunk=$(echo "$out" | sed -n 's/.*chunk_bytes_avg=\([0-9]*\).*/\1/p')
request=$(echo "$out" | sed -n 's/.*request_bytes_avg=\([0-9]*\).*/\1/p')
requests=$(echo "$out" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
ours=$(echo "$out" | sed -n 's/^append: .*s), \([0-9.]*\) MB\/s.*/\1/p')

common=(--compression_type=lz4 --sync=0 --disable_wal=0 --key_size=24 --threads=1
        --histogram=0 --statistics=0)
echo
echo "== db_bench fillseq: one $chunk-byte value per trace, $per_request per batch"
rm -rf "$work/dbbench"
a=$("$dbbench" --benchmarks=fillseq --db="$work/dbbench" --num="$traces" \
      --value_size="$chunk" --batch_size="$per_request" "${common[@]}" 2>/dev/null | grep '^fillseq')
echo "$a"
echo
echo "== db_bench fillseq: one $request-byte value per request"
rm -rf "$work/dbbench"
b=$("$dbbench" --benchmarks=fillseq --db="$work/dbbench" --num="$requests" \
      --value_size="$request" --batch_size=1 "${common[@]}" 2>/dev/null | grep '^fillseq')
echo "$b"

mbs() { echo "$1" | sed -n 's/.*; *\([0-9.]*\) MB\/s.*/\1/p'; }
echo
echo "append MB/s: store_append_pending $ours | db_bench per-trace values $(mbs "$a") | db_bench per-request values $(mbs "$b")"
