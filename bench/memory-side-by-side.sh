#!/usr/bin/env bash
# Memory and start-up of real etcd 3.4.23 and tsetcd on the same load, one member each, one at a
# time, with the Go load tool (../shared/bench, etcd benchmark's request pattern):
#   1. 1M puts of 8-byte keys (1M distinct) and 256-byte values (10 conns, 100 clients);
#      RSS (anonymous / file-backed) and heap right after, and after 30 s idle
#   2. stop, reopen: time until a serializable read of a key from the middle of the key space
#      answers (the member serves reads once its index is built); RSS after
#   3. STEADY_S seconds of puts at STEADY_RATE/s over the same 1M keys; CPU µs/request, RSS after
# Heap: etcd's go_memstats (/metrics), tsetcd's V8 heap (bench/heap-probe.mjs, live = after a GC).
#
#   bench/memory-side-by-side.sh          env: STEADY_S (default 600), STEADY_RATE (3000), KEYS (1000000),
#                                              ONLY=etcd|tsetcd, PORT (client port, default 43379)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bench=${BENCH_BIN:-/tmp/etcdbench/bin/benchmark}
[ -x "$bench" ] || bash "${BENCH_KIT:-$root/../shared/bench}/build.sh"
KEYS=${KEYS:-1000000}; STEADY_S=${STEADY_S:-600}; STEADY_RATE=${STEADY_RATE:-3000}
PORT=${PORT:-43379}; PPORT=$((PORT + 1))
work=$(mktemp -d /tmp/memory-side-by-side.XXXXXX)
pid=

rss() { awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{printf "RSS %d MiB (anon %d, file %d)", r/1024, a/1024, f/1024}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
heap() { # label server
  if [ "$2" = tsetcd ]; then
    : > "$work/probe"; kill -USR2 "$pid"
    for _ in $(seq 1 100); do [ -s "$work/probe" ] && break; sleep 0.1; done
    echo "heap: $(cat "$work/probe")"
  else
    curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^go_memstats_heap_(inuse|sys)_bytes/ {printf "%s=%d ", $1, $2/1048576} END {print ""}' | sed 's/^/heap (MiB): /'
  fi
}
start() { # server datadir
  if [ "$1" = etcd ]; then
    /usr/bin/etcd --name m1 --data-dir "$2" --listen-client-urls "http://127.0.0.1:$PORT" --advertise-client-urls "http://127.0.0.1:$PORT" \
      --listen-peer-urls "http://127.0.0.1:$PPORT" --initial-advertise-peer-urls "http://127.0.0.1:$PPORT" \
      --initial-cluster "m1=http://127.0.0.1:$PPORT" --logger zap >> "$2.log" 2>&1 &
  else
    HEAP_PROBE_OUT="$work/probe" node --import "$here/heap-probe.mjs" "$root/packages/server/dist/cmd/main.js" --name m1 --data-dir "$2" \
      --listen-client-urls "http://127.0.0.1:$PORT" --advertise-client-urls "http://127.0.0.1:$PORT" \
      --listen-peer-urls "http://127.0.0.1:$PPORT" --initial-advertise-peer-urls "http://127.0.0.1:$PPORT" \
      --initial-cluster "m1=http://127.0.0.1:$PPORT" >> "$2.log" 2>&1 &
  fi
  pid=$!
}
stop() { kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; }
# a key from the middle of the key space: the benchmark's keys are Go's binary.PutVarint(n)
# (zigzag, then 7 bits a byte) zero-padded; its varint bytes are a prefix no other key has
varint_escapes() { local n=$(( $1 * 2 )) e=""; while [ "$n" -ge 128 ]; do e+=$(printf '\\x%02x' $(( (n & 127) | 128 ))); n=$(( n >> 7 )); done; printf '%s\\x%02x' "$e" "$n"; }
mid_key=$(printf "$(varint_escapes $((KEYS / 2)))")
read_ok() { ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$PORT" --dial-timeout=1s --command-timeout=2s get --consistency=s --prefix "$mid_key" --limit 1 -w json 2>/dev/null | grep -q '"count":1'; }
health_ok() { ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$PORT" --dial-timeout=1s --command-timeout=2s get --consistency=s x >/dev/null 2>&1; }
wait_for() { for _ in $(seq 1 6000); do "$1" && return 0; kill -0 "$pid" 2>/dev/null || { echo "server exited" >&2; return 1; }; sleep 0.05; done; return 1; }

run() { # server
  local s=$1 d="$work/$1"
  echo "## $s"
  start "$s" "$d"; wait_for health_ok || return 1
  local c0; c0=$(cpu_ticks "$pid")
  "$bench" --endpoints="127.0.0.1:$PORT" --conns=10 --clients=100 put --key-size=8 --val-size=256 --sequential-keys \
    --key-space-size="$KEYS" --total="$KEYS" 2>&1 | grep -E "Requests/sec" | sed 's/^ */load: /'
  echo "load: CPU $(( ($(cpu_ticks "$pid") - c0) * 1000000 / $(getconf CLK_TCK) / KEYS )) µs/request"
  echo "after load: $(rss "$pid")"; heap after-load "$s"
  sleep "${IDLE_S:-30}"
  echo "after ${IDLE_S:-30} s idle: $(rss "$pid")"; heap idle "$s"
  stop
  local t0; t0=$(date +%s.%N)
  start "$s" "$d"; wait_for read_ok || return 1
  echo "reopen: first serializable read after $(echo "$(date +%s.%N) - $t0" | bc) s, CPU $(awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14+$15)/t}' "/proc/$pid/stat") s"
  echo "after reopen: $(rss "$pid")"; heap reopen "$s"
  c0=$(cpu_ticks "$pid")
  "$bench" --endpoints="127.0.0.1:$PORT" --conns=10 --clients=100 put --key-size=8 --val-size=256 --sequential-keys \
    --key-space-size="$KEYS" --total=$((STEADY_S * STEADY_RATE)) --rate="$STEADY_RATE" 2>&1 | grep -E "Requests/sec|Total:" | sed 's/^ */steady: /'
  echo "steady: CPU $(( ($(cpu_ticks "$pid") - c0) * 1000000 / $(getconf CLK_TCK) / (STEADY_S * STEADY_RATE) )) µs/request"
  echo "after steady puts: $(rss "$pid")"; heap steady "$s"
  stop
  rm -rf "$d"
}

for s in etcd tsetcd; do
  [ -n "${ONLY:-}" ] && [ "$ONLY" != "$s" ] && continue
  run "$s"
done
rm -rf "$work"
