#!/usr/bin/env bash
# Where a put's CPU goes on 3 members: starts 3 local members of one server (real etcd or
# tsetcd), runs the Go load tool's put cases against them and prints, per case, req/s, p50/p99
# and for every member its CPU µs per put (utime+stime from /proc/PID/stat) and WAL fsyncs per
# put (etcd_disk_wal_fsync_duration_seconds_count on its /metrics), the leader marked (L).
#
#   bench/cluster-write-path.sh LABEL [SERVER_BINARY]      (default ./bin/tsetcd; /usr/bin/etcd for etcd)
#   env: CASES ("1x1 10x100"), N1 (2000 puts), N2 (30000 puts), TARGET_LEADER=1 (all connections
#        to the leader; default: spread over the members, as bench/side-by-side.sh does),
#        LEADER=n (hand leadership to member n before the run: the spread 1×1 client talks to m1),
#        REPEAT (1: each case runs that many times on the same members, "#2", "#3"... after the
#        first: a fresh member's first thousands of puts include V8's JIT warm-up),
#        PORT_BASE (34790: clients on PORT_BASE+1..3, peers on PORT_BASE+11..13), KEEP=1 (leave running)
set -euo pipefail
label=${1:?label}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${2:-$root/bin/tsetcd}
base=${PORT_BASE:-34790}
name=cluster-write-path
# shellcheck source=three-members.sh
. "$root/bench/three-members.sh"
ETCDCTL_API=3 "$etcdctl" --endpoints="$eps" --command-timeout=5s put /bench/ready 1 >/dev/null
fsyncs() { curl -s "http://127.0.0.1:$((base + $1))/metrics" | awk '/^etcd_disk_wal_fsync_duration_seconds_count/{print $2}'; }
echo "[$label] $bin, leader m$((leader + 1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $(for c in ${CASES:-1x1 10x100}; do for r in $(seq 1 "${REPEAT:-1}"); do echo "$c#$r"; done; done); do
  rep=${c#*#} c=${c%#*}
  case $c in
    1x1) conns="--conns=1 --clients=1"; n=${N1:-2000} ;;
    10x100) conns="--conns=10 --clients=100"; n=${N2:-30000} ;;
    *) echo "unknown case $c" >&2; exit 2 ;;
  esac
  g=(--endpoints="$eps" --precise)
  [ "${TARGET_LEADER:-0}" = 1 ] && g+=(--target-leader)
  c0=() f0=()
  for i in 0 1 2; do c0[i]=$(ticks "${pids[i]}"); f0[i]=$(fsyncs $((i + 1))); done
  load=$(cut -d' ' -f1 /proc/loadavg)
  # shellcheck disable=SC2086
  out=$("$bench" "${g[@]}" $conns put --key-size=8 --val-size=256 --sequential-keys --key-space-size="$n" --total="$n" 2>&1)
  r=""; [ "$rep" = 1 ] || r=" #$rep"
  line=$(echo "$out" | awk -v l="$label" -v c="$c" -v r="$r" -v load="$load" '
    /Requests\/sec:/ {rps=$2} /^  50% in/ {p50=$3*1000} /^  99% in/ {p99=$3*1000}
    END {printf "[%s] put-%s%s load %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms; CPU µs/put, fsyncs/put:", l, c, r, load, rps, p50, p99}')
  total=0
  for i in 0 1 2; do
    us=$(( ($(ticks "${pids[i]}") - c0[i]) * 1000000 / hz / n ))
    total=$((total + us))
    fs=$(awk -v a="$(fsyncs $((i + 1)))" -v b="${f0[i]}" -v n="$n" 'BEGIN{printf "%.2f", (a - b) / n}')
    role=m$((i + 1)); [ $i = "$leader" ] && role="$role(L)"
    line+=" $role $us, $fs;"
  done
  echo "$line total $total"
done
