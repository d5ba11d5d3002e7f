#!/usr/bin/env bash
# Reads on 3 members: starts 3 local members of one server (real etcd or tsetcd), seeds one key
# and runs the Go load tool's single-key range against them (connections spread over the
# members, as bench/side-by-side.sh does), printing per case req/s, p50/p99 and every member's
# CPU µs per read (utime+stime from /proc/PID/stat), the leader marked (L).
#
#   bench/cluster-reads.sh LABEL [SERVER_BINARY]      (default ./bin/tsetcd; /usr/bin/etcd for etcd)
#   env: CASES ("l s": linearizable, serializable), N (100000 reads), REPS (1),
#        PORT_BASE (34890: clients on PORT_BASE+1..3, peers on PORT_BASE+11..13)
set -euo pipefail
label=${1:?label}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${2:-$root/bin/tsetcd}
base=${PORT_BASE:-34890}
name=cluster-reads
# shellcheck source=three-members.sh
. "$root/bench/three-members.sh"
ETCDCTL_API=3 "$etcdctl" --endpoints="$eps" --command-timeout=5s put /bench/range "$(printf '%0256d' 0)" >/dev/null
echo "[$label] $bin, leader m$((leader + 1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "${REPS:-1}"); do
for c in ${CASES:-l s}; do
  n=${N:-100000}
  c0=()
  for i in 0 1 2; do c0[i]=$(ticks "${pids[i]}"); done
  load=$(cut -d' ' -f1 /proc/loadavg)
  out=$("$bench" --endpoints="$eps" --conns=10 --clients=100 --precise range /bench/range --consistency="$c" --total="$n" 2>&1)
  line=$(echo "$out" | awk -v l="$label" -v c="$c" -v load="$load" '
    /Requests\/sec:/ {rps=$2} /^  50% in/ {p50=$3*1000} /^  99% in/ {p99=$3*1000}
    END {printf "[%s] range-%s-10x100 load %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms; CPU µs/read:", l, c, load, rps, p50, p99}')
  total=0
  for i in 0 1 2; do
    us=$(( ($(ticks "${pids[i]}") - c0[i]) * 1000000 / hz / n ))
    total=$((total + us))
    role=m$((i + 1)); [ $i = "$leader" ] && role="$role(L)"
    line+=" $role $us;"
  done
  echo "$line total $total"
done
done
