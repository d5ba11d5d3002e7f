#!/usr/bin/env bash
# Member etcd02 of the seed's three-member local cluster (client 3379, peer 3380).
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../bin/tsetcd" --name etcd02 --data-dir "${DATA_DIR:-$here/data}/etcd02" \
  --listen-client-urls http://127.0.0.1:3379 --advertise-client-urls http://127.0.0.1:3379 \
  --listen-peer-urls http://127.0.0.1:3380 --initial-advertise-peer-urls http://127.0.0.1:3380 \
  --initial-cluster etcd01=http://127.0.0.1:2380,etcd02=http://127.0.0.1:3380,etcd03=http://127.0.0.1:4380 \
  --initial-cluster-token etcd-cluster-1 --initial-cluster-state new "$@"
