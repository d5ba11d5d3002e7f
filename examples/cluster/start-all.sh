#!/usr/bin/env bash
# Starts the three local members (Procfile-style: one process each, logs prefixed by name) and
# stops them all on Ctrl-C. Try: etcdctl --endpoints=127.0.0.1:2379,127.0.0.1:3379,127.0.0.1:4379 member list
here="$(cd "$(dirname "$0")" && pwd)"
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait; }
trap stop INT TERM
for i in 1 2 3; do
  ( "$here/start0$i.sh" "$@" 2>&1 | sed -u "s/^/etcd0$i | /" ) &
  pids+=($!)
done
wait
