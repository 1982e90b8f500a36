#!/usr/bin/env bash
# fuzz/run.sh - runs one libFuzzer target of fuzz/ for a while, from its seed
# corpus and regressions; what it finds goes to a scratch corpus under WORKDIR,
# never into the tree. Used by ctest (OTTR_FUZZ builds) and by scripts/fuzz.
#   run.sh [--fresh] [--keep] BINARY TARGET SECONDS WORKDIR
#     --fresh  start from an empty scratch corpus (ctest: the same run each time)
#     --keep   copy a crashing input into fuzz/regressions/TARGET/
# Exits non-zero when the target crashed, leaked, hung or broke a check.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fresh=0 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) fresh=1; shift ;;
    --keep) keep=1; shift ;;
    *) break ;;
  esac
done
if [ $# -ne 4 ]; then
  echo "usage: $0 [--fresh] [--keep] BINARY TARGET SECONDS WORKDIR" >&2
  exit 2
fi
bin=$1 target=$2 seconds=$3 work=$4/$target

[ "$fresh" = 1 ] && rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
rm -f "$work/artifacts/"*
dirs=("$work/corpus" "$here/corpus/$target")
[ -d "$here/regressions/$target" ] && dirs+=("$here/regressions/$target")
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
      -print_final_stats=1 -artifact_prefix="$work/artifacts/")
[ -f "$here/dict/$target.dict" ] && args+=(-dict="$here/dict/$target.dict")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$bin" "${args[@]}" "${dirs[@]}" 2>"$work/log"
rc=$?
# The closing figures, and the whole log when something went wrong.
if [ $rc -ne 0 ]; then
  cat "$work/log" >&2
else
  grep -E 'DONE|stat::' "$work/log" | sed "s/^/$target: /"
fi
found=("$work/artifacts/"*)
if [ -e "${found[0]}" ]; then
  for f in "${found[@]}"; do
    echo "$target: crashing input kept at $f" >&2
    if [ "$keep" = 1 ]; then
      mkdir -p "$here/regressions/$target"
      cp "$f" "$here/regressions/$target/"
      echo "$target: copied to fuzz/regressions/$target/$(basename "$f")" >&2
    fi
  done
  [ $rc -eq 0 ] && rc=1
fi
exit $rc
