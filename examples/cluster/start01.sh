#!/usr/bin/env bash
# Member etcd01 of the seed's three-member local cluster (client 2379, peer 2380).
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../bin/tsetcd" --name etcd01 --data-dir "${DATA_DIR:-$here/data}/etcd01" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster etcd01=http://127.0.0.1:2380,etcd02=http://127.0.0.1:3380,etcd03=http://127.0.0.1:4380 \
  --initial-cluster-token etcd-cluster-1 --initial-cluster-state new "$@"
