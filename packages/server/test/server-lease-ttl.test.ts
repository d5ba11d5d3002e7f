// LeaseTimeToLive of an unknown or expired lease: etcd 3.4 answers (no error) with TTL -1 and
// grantedTTL 0, which etcdctl prints as "already expired".

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { etcdserverpb as P } from '@tsetcd/proto';
import { startMember, connect, call } from './server-helpers.js';
import { waitFor } from '../../../test/kit/wait.js';

test('lease timetolive: unknown and expired leases get TTL -1 without an error', async (t) => {
  const m = await startMember(t);
  const { lease } = connect(t, m.clientUrls[0]);
  const unknown = await call(lease.leaseTimeToLive.bind(lease), P.LeaseTimeToLiveRequest.fromPartial({ ID: 0x1234n, keys: true }));
  assert.equal(unknown.ID, 0x1234n);
  assert.equal(unknown.TTL, -1n);
  assert.equal(unknown.grantedTTL, 0n);
  assert.deepEqual(unknown.keys, []);

  const g = await call(lease.leaseGrant.bind(lease), P.LeaseGrantRequest.fromPartial({ TTL: 1n }));
  const live = await call(lease.leaseTimeToLive.bind(lease), P.LeaseTimeToLiveRequest.fromPartial({ ID: g.ID }));
  assert.equal(live.grantedTTL, 1n);
  assert.ok(live.TTL >= 0n && live.TTL <= 1n);
  // the 1 s lease runs out (the leader's lessor revokes it): polled until TTL says expired
  await waitFor('the lease to expire', async () =>
    (await call(lease.leaseTimeToLive.bind(lease), P.LeaseTimeToLiveRequest.fromPartial({ ID: g.ID }))).TTL === -1n, 15_000, 100);

  const out = await new Promise<string>((resolve, reject) =>
    execFile('etcdctl', ['--endpoints', m.clientUrls[0], 'lease', 'timetolive', '1234'], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
  );
  assert.equal(out, 'lease 0000000000001234 already expired\n'); // etcdctl prints the ID as %016x
});
