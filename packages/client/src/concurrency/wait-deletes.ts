// Waiting for keys to go away, the core of Mutex and Election (clientv3/concurrency/key.go):
// repeatedly find the newest key on the prefix created before `maxCreateRevision`, and watch
// it until it is deleted. When none is left, the caller is first in line.
import type { Client } from '../client.js';
import type { Bytes } from '../bytes.js';
import { CanceledError, EtcdClientError } from '../errors.js';
import type { ResponseHeader } from '../kv.js';

export class WaitLostError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_WAIT_LOST';
}

/** Resolves once `key` is deleted (watching from `revision`). */
export async function waitDelete(client: Client, key: Bytes, revision: bigint, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new CanceledError('context canceled');
  const w = client.watch(key, { startRevision: revision });
  const onAbort = (): void => void w.stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const ev of w) {
      if (ev.type === 'delete') return;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await w.stop();
  }
  if (signal?.aborted) throw new CanceledError('context canceled');
  throw new WaitLostError('lost watcher waiting for delete');
}

/** Waits until no key on `prefix` has a create revision <= maxCreateRevision. */
export async function waitDeletes(client: Client, prefix: Bytes, maxCreateRevision: bigint, signal?: AbortSignal): Promise<ResponseHeader> {
  for (;;) {
    const r = await client.get(prefix, {
      prefix: true,
      sort: { target: 'create', order: 'descend' },
      limit: 1,
      maxCreateRevision,
      signal,
    });
    if (r.kvs.length === 0) return r.header;
    await waitDelete(client, r.kvs[0].key, r.header.revision, signal);
  }
}

/** Whether `signal` has fired (a call, so TypeScript does not narrow it across awaits). */
export function isAborted(signal?: AbortSignal): boolean {
  return signal?.aborted === true;
}
