// grpc-js clients of etcd's v3 services (the generated @tsetcd/proto clients) for one member,
// without message size limits, closed by t.after.

import { credentials, type Client } from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';

export interface EtcdClients {
  kv: InstanceType<typeof etcdserverpb.KVClient>;
  watch: InstanceType<typeof etcdserverpb.WatchClient>;
  lease: InstanceType<typeof etcdserverpb.LeaseClient>;
  maintenance: InstanceType<typeof etcdserverpb.MaintenanceClient>;
  cluster: InstanceType<typeof etcdserverpb.ClusterClient>;
  auth: InstanceType<typeof etcdserverpb.AuthClient>;
}

/** `addr` is host:port or a URL (http://host:port). */
export function connectEtcd(t: { after(fn: () => unknown): void }, addr: string): EtcdClients {
  const target = /^[a-z]+:\/\//.test(addr) ? new URL(addr).host : addr;
  const c = credentials.createInsecure();
  const opts = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
  const clients: EtcdClients = {
    kv: new etcdserverpb.KVClient(target, c, opts),
    watch: new etcdserverpb.WatchClient(target, c, opts),
    lease: new etcdserverpb.LeaseClient(target, c, opts),
    maintenance: new etcdserverpb.MaintenanceClient(target, c, opts),
    cluster: new etcdserverpb.ClusterClient(target, c, opts),
    auth: new etcdserverpb.AuthClient(target, c, opts),
  };
  t.after(() => {
    for (const cl of Object.values(clients)) (cl as Client).close();
  });
  return clients;
}
