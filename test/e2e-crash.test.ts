// kill -9 in the middle of writes: after a restart every acknowledged write is there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import { startTsetcd, tempDir } from './kit/tsetcd-process.js';
import { waitFor } from './kit/wait.js';

function kvClient(endpoint: string) {
  return new etcdserverpb.KVClient(endpoint, credentials.createInsecure());
}

test('SIGKILL mid-writes loses no acknowledged write', async (t) => {
  const dir = await tempDir(t);
  const srv = await startTsetcd(t, dir, ['--snapshot-count', '100']);
  const kv = kvClient(srv.endpoint);
  const acked = new Map<string, bigint>();
  let stop = false;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      const key = `w${w}/${i}`;
      try {
        const r = await new Promise<etcdserverpb.PutResponse>((res, rej) =>
          kv.put(etcdserverpb.PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from(String(i)) }), (e, v) => (e ? rej(e) : res(v))),
        );
        acked.set(key, r.header!.revision);
      } catch {
        return;
      }
    }
  };
  const writers = Array.from({ length: 16 }, (_, w) => writer(w));
  // kill once a fair number of writes were acknowledged, mid-stream (the bound is a deadline
  // only: on a slow machine fewer writes still make the test, see below)
  await waitFor('300 acknowledged writes', () => acked.size >= 300, 15_000).catch(() => undefined);
  srv.child.kill('SIGKILL');
  stop = true;
  await Promise.all(writers);
  kv.close();
  assert.ok(acked.size > 50, `only ${acked.size} writes acknowledged`);

  const again = await startTsetcd(t, dir, ['--snapshot-count', '100']);
  const kv2 = kvClient(again.endpoint);
  t.after(() => kv2.close());
  const all = await new Promise<etcdserverpb.RangeResponse>((res, rej) =>
    kv2.range(etcdserverpb.RangeRequest.fromPartial({ key: Buffer.from('w'), rangeEnd: Buffer.from('x') }), (e, v) => (e ? rej(e) : res(v))),
  );
  const have = new Map(all.kvs.map((k) => [k.key.toString(), k.modRevision]));
  for (const [k, rev] of acked) assert.equal(have.get(k), rev, `acknowledged write ${k}@${rev} missing after restart`);
  again.child.kill('SIGTERM');
  assert.equal((await again.exited).signal, 'SIGTERM');
});
