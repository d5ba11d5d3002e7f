# Sourced by the 3-member bench scripts: starts 3 local members of one server (real etcd or
# tsetcd) on PORT_BASE+1..3 (clients) and PORT_BASE+11..13 (peers), waits until they are healthy
# and sets: dir (data dirs and logs), eps (client endpoints), pids, leader (0-based index), ticks
# PID (CPU ticks used), hz. Stops them on exit unless KEEP=1.
#   needs: bin, base, and name (a prefix for the temp dir and the cluster token); sets bench and
#   etcdctl (the Go load tool and etcdctl: BENCH_BIN, ETCDCTL_BIN)
bench=${BENCH_BIN:-/tmp/etcdbench/bin/benchmark}
etcdctl=${ETCDCTL_BIN:-$(command -v etcdctl || echo /usr/bin/etcdctl)}
[ -x "$bench" ] || { echo "load tool $bench missing (see ../shared/bench/build.sh)" >&2; exit 1; }
dir=$(mktemp -d "/tmp/$name.XXXXXX")
initial="" eps=""
for i in 1 2 3; do
  initial+="${initial:+,}m$i=http://127.0.0.1:$((base + 10 + i))"
  eps+="${eps:+,}127.0.0.1:$((base + i))"
done
pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
for i in 1 2 3; do
  "$bin" --name "m$i" --data-dir "$dir/m$i" \
    --listen-client-urls "http://127.0.0.1:$((base + i))" --advertise-client-urls "http://127.0.0.1:$((base + i))" \
    --listen-peer-urls "http://127.0.0.1:$((base + 10 + i))" --initial-advertise-peer-urls "http://127.0.0.1:$((base + 10 + i))" \
    --initial-cluster "$initial" --initial-cluster-token "$name-$$" --initial-cluster-state new --logger zap \
    > "$dir/m$i.log" 2>&1 < /dev/null &
  pids+=($!)
done
[ "${KEEP:-0}" = 1 ] || trap stop EXIT
ok=0
for _ in $(seq 1 300); do
  if ETCDCTL_API=3 "$etcdctl" --endpoints="$eps" --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.2
done
[ $ok = 1 ] || { tail -n 5 "$dir"/m*.log >&2; echo "members not healthy" >&2; exit 1; }
status() { ETCDCTL_API=3 "$etcdctl" --endpoints="$eps" endpoint status -w json; }
leader=$(status | node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(d.findIndex((x)=>x.Status.header.member_id===x.Status.leader))')
# LEADER=n (1..3): hand leadership to member n first (etcdctl move-leader), so that runs of both
# servers compare the same roles (which member wins the first election is luck)
if [ -n "${LEADER:-}" ] && [ "$leader" != $((LEADER - 1)) ]; then
  to=$(ETCDCTL_API=3 "$etcdctl" --endpoints="127.0.0.1:$((base + LEADER))" endpoint status | awk -F', ' '{print $2}')
  ETCDCTL_API=3 "$etcdctl" --endpoints="127.0.0.1:$((base + leader + 1))" move-leader "$to" >/dev/null
  leader=$((LEADER - 1))
fi
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
