#!/usr/bin/env bash
# Starts one 1-member server (etcd or ts = ./bin/tsetcd) on PORT, warms it with WARM puts (default 300),
# then runs N (default 2000) single-client puts with the Go load tool and prints req/s, p50/p99, CPU us per
# request for the process and per thread (from /proc/PID/task/*/stat). STRACE=1 adds `strace -f -c`
# (written to /tmp/put1/strace-KIND.txt). Scratch files go under /tmp/put1.
# usage: bench/single-put.sh etcd|ts PORT   (PORT+1 is the peer port)
mkdir -p /tmp/put1; kind=$1; port=$2; dir=/tmp/put1/data-$kind-$port; rm -rf $dir
if [ $kind = etcd ]; then
  /usr/bin/etcd --name n1 --data-dir $dir --listen-client-urls http://127.0.0.1:$port --advertise-client-urls http://127.0.0.1:$port --listen-peer-urls http://127.0.0.1:$((port+1)) --initial-advertise-peer-urls http://127.0.0.1:$((port+1)) --initial-cluster n1=http://127.0.0.1:$((port+1)) > $dir.log 2>&1 &
else
  ${TSETCD:-$(cd "$(dirname "$0")/.." && pwd)/bin/tsetcd} --name n1 --data-dir $dir --listen-client-urls http://127.0.0.1:$port --advertise-client-urls http://127.0.0.1:$port --listen-peer-urls http://127.0.0.1:$((port+1)) --initial-advertise-peer-urls http://127.0.0.1:$((port+1)) --initial-cluster n1=http://127.0.0.1:$((port+1)) > $dir.log 2>&1 &
fi
pid=$!
for i in $(seq 100); do curl -s http://127.0.0.1:$port/health | grep -q true && break; sleep 0.1; done
B="/tmp/etcdbench/bin/benchmark --endpoints=127.0.0.1:$port --precise --conns=1 --clients=1 put --key-size=8 --val-size=256 --sequential-keys --key-space-size=2000"
$B --total=${WARM:-300} >/dev/null 2>&1
tick=$(getconf CLK_TCK)
snap() { for t in /proc/$pid/task/*; do echo "$(basename $t)_$(cat $t/comm | tr ' ' _) $(awk '{print $14+$15}' $t/stat)"; done | sort; }
snap > /tmp/put1/t0
c0=$(awk '{print $14+$15}' /proc/$pid/stat)
if [ -n "$STRACE" ]; then strace -f -c -o /tmp/put1/strace-$kind.txt -p $pid & spid=$!; sleep 1; fi
$B --total=${N:-2000} 2>&1 | grep -E "Requests/sec|Average|50%|99%|Total:" | tr '\n' ' '; echo
if [ -n "$STRACE" ]; then kill -INT $spid; wait $spid 2>/dev/null; fi
c1=$(awk '{print $14+$15}' /proc/$pid/stat)
snap > /tmp/put1/t1
echo "$kind CPU us/req: $(( (c1-c0)*1000000/tick/${N:-2000} ))"
join /tmp/put1/t0 /tmp/put1/t1 | awk -v n=${N:-2000} -v tk=$tick '{d=$3-$2; if(d>0) printf "  %s %d us/req\n", $1, d*1000000/tk/n}'
kill $pid; wait $pid 2>/dev/null
