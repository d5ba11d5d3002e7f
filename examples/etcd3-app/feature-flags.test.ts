// Testing an etcd-using app without Docker or a Go binary: a three-member tsetcd cluster in
// this process (@tsetcd/server/testing), the app's real etcd3 client pointed at it.
// Run: node --import tsx --test examples/etcd3-app/feature-flags.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { startCluster } from '@tsetcd/server/testing';
import { FeatureFlags } from './feature-flags.js';

/** Resolves when `flags` reports `name` switched to `on` (no sleeps: the watch event is the signal). */
function flagChanged(flags: FeatureFlags, name: string, on: boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = flags.onChange((n, v) => {
      if (n === name && v === on) {
        off();
        resolve();
      }
    });
  });
}

test('feature flags propagate between instances, also after the leader dies', async (t) => {
  const cluster = await startCluster({ members: 3 });
  t.after(() => cluster.close());
  const admin = new Etcd3({ hosts: cluster.endpoints });
  const reader = new Etcd3({ hosts: cluster.endpoints });
  t.after(() => {
    admin.close();
    reader.close();
  });
  const writer = new FeatureFlags(admin);
  const app = new FeatureFlags(reader);
  await writer.set('dark-mode', true);
  await app.start();
  t.after(() => app.close());
  assert.equal(app.isOn('dark-mode'), true, 'loaded at start');

  const seen = flagChanged(app, 'beta', true);
  await writer.set('beta', true);
  await seen;
  assert.equal(app.isOn('beta'), true);

  // the leader goes away: writes and the watch carry on through the other members
  await cluster.kill(await cluster.leader());
  const seenOff = flagChanged(app, 'beta', false);
  await writer.set('beta', false);
  await seenOff;
  assert.equal(app.isOn('beta'), false);
});
