#!/usr/bin/env bash
# Measures real etcd 3.4.23 and tsetcd in one run with the same Go load tool
# (../shared/bench: etcd benchmark's request pattern) and writes the ratio table into
# bench/RESULTS.md under "## Side by side (N member[s])".
#
#   bench/side-by-side.sh [1|3]        env: REPS (default 3), CASES, SKIP_BIG=1, NO_WRITE=1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
kit=${BENCH_KIT:-$root/../shared/bench}
members=${1:-1}
stamp=$(date +%Y%m%d-%H%M%S)
out=${OUT_ROOT:-/tmp/etcdbench/side-by-side-$stamp}
mkdir -p "$out"
[ -x /tmp/etcdbench/bin/benchmark ] || bash "$kit/build.sh"

run_one() { # label etcd-binary
  local label=$1 bin=$2
  local eps
  eps=$(ETCD_BIN="$bin" CLUSTER_STATE="$out/state-$label" bash "$kit/etcd-cluster.sh" start "$members")
  local pids; pids=$(CLUSTER_STATE="$out/state-$label" bash "$kit/etcd-cluster.sh" pids | tr '\n' ' ')
  set +e
  SERVER_PIDS="$pids" OUT="$out/$label" bash "$kit/run-bench.sh" -l "$label" "$eps"
  local rc=$?
  set -e
  CLUSTER_STATE="$out/state-$label" bash "$kit/etcd-cluster.sh" stop
  return $rc
}

run_one etcd "$(command -v etcd)"
run_one tsetcd "$root/bin/tsetcd"
node "$here/ratios.mjs" "$out/etcd/summary.txt" "$out/tsetcd/summary.txt" "$members" > "$out/section.md"
cat "$out/section.md"
if [ "${NO_WRITE:-0}" != 1 ]; then
  node "$here/ratios.mjs" --write "$root/bench/RESULTS.md" "$out/section.md" "Side by side ($members member$([ "$members" = 1 ] || echo s))"
fi
