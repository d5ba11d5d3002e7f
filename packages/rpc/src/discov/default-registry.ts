// The registry used when the caller does not supply one: @tsetcd/client underneath.
import { ClientRegistry } from './client-registry.js';
import type { Registry } from './registry.js';
import type { EtcdConf } from './etcd-auth.js';

export function defaultRegistry(conf: Omit<EtcdConf, 'Key' | 'ID'>): Registry {
  return new ClientRegistry(conf);
}
