// The event loop's longest stall while a follower installs a leader's database snapshot
// (etcdserver/snapshot-install.ts): the leader's database holds N keys, the follower's N/2 older
// ones. Measured by the stall probe (wall clock, and the event-loop thread's own CPU time).
// Run: node --import tsx bench/snapshot-install-stalls.ts [keys...]   (default 200000)

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MvccStore } from '../packages/server/src/mvcc/store.js';
import { replaceStoreContent } from '../packages/server/src/etcdserver/snapshot-install.js';
import { StallProbe } from '../packages/server/test/stall-probe.js';

const value = Buffer.alloc(256, 0x61);

async function fill(store: MvccStore, n: number, round: number): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const tx = store.write();
    for (let j = i; j < Math.min(n, i + 1000); j++) tx.put(Buffer.from(`/k/${String(j).padStart(8, '0')}`), value.subarray(round), 0n);
    tx.end();
    if (i % 20_000 === 0) await store.backend.forceCommit();
  }
  await store.backend.forceCommit();
}

const counts = process.argv.slice(2).map(Number);
for (const keys of counts.length > 0 ? counts : [200_000]) {
  const base = mkdtempSync(join(tmpdir(), 'install-stalls-'));
  try {
    const leader = MvccStore.openDir(join(base, 'leader'), { unsafeNoFsync: true });
    await fill(leader, keys, 0);
    leader.setConsistentIndex(keys + 10);
    await leader.close();
    const follower = MvccStore.openDir(join(base, 'follower'), { unsafeNoFsync: true });
    await fill(follower, keys / 2, 1);
    const staged = join(base, 'staged');
    cpSync(join(base, 'leader', 'member', 'snap', 'db'), staged, { recursive: true });
    rmSync(join(staged, 'lock.mdb'), { force: true });

    const probe = new StallProbe(5, 'install');
    const t0 = performance.now();
    const ci = await replaceStoreContent(follower, staged);
    follower.takeRestoredLeasedKeys();
    const wall = performance.now() - t0;
    const p = probe.stop();
    console.log(
      `${keys} keys: install ${wall.toFixed(0)} ms; longest stall wall ${p.wallMs.toFixed(1)} ms, own ${p.ownMs.toFixed(1)} ms, ` +
        `cpu ${p.cpuMs.toFixed(1)} ms (${p.ticks} ticks); consistent index ${ci}, ${follower.liveKeys} keys`,
    );
    await follower.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
