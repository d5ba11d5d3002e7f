// Differential test of restarts: an empty store, then one with a little history and a
// compaction, are stopped and started again on the same data dir; etcd 3.4.23 and tsetcd must
// answer the same afterwards (revision 1 for the empty store, same hash, same compaction).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { etcdserverpb } from '@tsetcd/proto';
import { P, connect, firstDifference, normalise, show, startEtcd, startTsetcd, unary, Labels, type Endpoints, type NormaliseContext } from './harness.js';

const b = (s: string): Buffer => Buffer.from(s);

test('differential: etcd 3.4.23 and tsetcd answer the same after restarts (empty store, then history)', async (t) => {
  let eps: Endpoints[] = await Promise.all([startEtcd(t), startTsetcd(t)]);
  const norms: NormaliseContext[] = eps.map((e) => ({ labels: new Labels(), serverLeaseIds: new Set(), memberIds: new Set(), ports: [e.clientPort, e.peerPort] }));
  let step = 0;
  /** Runs the same requests on both, compares, returns etcd's answer. */
  const same = async (label: string, ask: (c: ReturnType<typeof connect>, side: number) => Promise<unknown>): Promise<unknown> => {
    const got = await Promise.all(eps.map(async (e, i) => {
      const c = connect(t, e.client);
      try {
        const r = await ask(c, i);
        return normalise(r, norms[i]);
      } finally {
        for (const x of Object.values(c)) (x as { close(): void }).close();
      }
    }));
    const d = firstDifference(got[0], got[1]);
    assert.equal(d, undefined, `step ${step} "${label}" differs: ${show(d)}\n  etcd:   ${show(got[0])}\n  tsetcd: ${show(got[1])}`);
    step++;
    return got[0];
  };
  const checks = async (when: string) => {
    await same(`${when}: member list`, async (c, side) => {
      const r = await unary<etcdserverpb.MemberListRequest, etcdserverpb.MemberListResponse>(c.cluster, 'memberList', {});
      // member IDs hash the peer URLs, whose ports differ
      if ('members' in r) for (const m of r.members) norms[side].memberIds.add(m.ID);
      return r;
    });
    await same(`${when}: status`, (c) => unary(c.maintenance, 'status', {}));
    await same(`${when}: get`, (c) => unary(c.kv, 'range', P.RangeRequest.fromPartial({ key: b('\0'), rangeEnd: b('\0') })));
    await same(`${when}: read revision 1`, (c) => unary(c.kv, 'range', P.RangeRequest.fromPartial({ key: b('a'), revision: 1n })));
    await same(`${when}: hashKV`, (c) => unary(c.maintenance, 'hashKv', { revision: 0n }));
  };
  const restart = async () => {
    await Promise.all(eps.map((e) => e.stop()));
    eps = await Promise.all([startEtcd(t, eps[0]), startTsetcd(t, eps[1])]);
  };

  await checks('fresh');
  await restart();
  await checks('empty store restarted');
  await same('first put after restart', (c) => unary(c.kv, 'put', P.PutRequest.fromPartial({ key: b('a'), value: b('1') })));
  await same('second put', (c) => unary(c.kv, 'put', P.PutRequest.fromPartial({ key: b('a'), value: b('2'), prevKv: true })));
  await same('delete', (c) => unary(c.kv, 'deleteRange', P.DeleteRangeRequest.fromPartial({ key: b('a') })));
  await same('third put', (c) => unary(c.kv, 'put', P.PutRequest.fromPartial({ key: b('b'), value: b('3') })));
  await same('compact at 3', (c) => unary(c.kv, 'compact', P.CompactionRequest.fromPartial({ revision: 3n, physical: true })));
  await checks('with history');
  await restart();
  await checks('with history restarted');
  await same('compact at 3 again', (c) => unary(c.kv, 'compact', P.CompactionRequest.fromPartial({ revision: 3n })));
  await same('read below the compaction', (c) => unary(c.kv, 'range', P.RangeRequest.fromPartial({ key: b('a'), revision: 2n })));
  await same('put after the second restart', (c) => unary(c.kv, 'put', P.PutRequest.fromPartial({ key: b('c'), value: b('4') })));
});
