// The registry used when the caller does not supply one: @tsetcd/client underneath.
// RPC_REGISTRY=wire selects the in-package etcd wire client (EtcdRegistry) instead.
import { ClientRegistry } from './client-registry.js';
import { EtcdRegistry } from './etcd-registry.js';
import type { Registry } from './registry.js';
import type { EtcdConf } from './etcd-auth.js';

export function defaultRegistry(conf: Omit<EtcdConf, 'Key' | 'ID'>): Registry {
  return process.env.RPC_REGISTRY === 'wire' ? new EtcdRegistry(conf) : new ClientRegistry(conf);
}
