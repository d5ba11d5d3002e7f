import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessCluster, etcdTarget, targetBin } from '../../../test/kit/cluster.js';
import { freePort } from '../../../test/kit/real-etcd.js';
import { eventually, waitFor } from '../../../test/kit/wait.js';
import {
  Client,
  LearnerNotReadyError,
  MemberNotFoundError,
  UnavailableError,
  type WatchEvent,
} from '../src/index.js';

test('three-member cluster: membership, maintenance, failover', { timeout: 120_000 }, async (t) => {
  const cluster = await ProcessCluster.start(t, { bin: targetBin, size: 3, args: ['--strict-reconfig-check=false'] });
  const client = new Client({ endpoints: cluster.endpoints, dialTimeout: 1_000 });
  t.after(() => client.close());

  /** Restarts a stopped member (no-op if running) and waits for the whole cluster. */
  async function restore(i: number): Promise<void> {
    if (!cluster.isRunning(i)) await cluster.startMember(i, 'existing');
    await cluster.waitReady();
  }

  /** The member that reports itself leader (a bounded poll: members down or electing answer later). */
  function leaderIndex(c: Client = client): Promise<number> {
    return eventually('a member that leads', 10_000, async () => {
      for (let i = 0; i < cluster.members.length; i++) {
        if (!cluster.isRunning(i)) continue;
        try {
          const st = await c.maintenance.status({ endpoint: cluster.endpoints[i], timeout: 500 });
          if (st.leader !== 0n && st.leader === st.header?.memberId) return i;
        } catch {
          // member down or electing
        }
      }
      return undefined;
    });
  }

  await t.test('member list / add learner / promote / update / remove', async () => {
    const list = await client.cluster.memberList();
    assert.equal(list.members.length, 3);
    assert.deepEqual(list.members.map((m) => m.clientURLs[0]).sort(), [...cluster.endpoints].sort());
    const peer = `http://127.0.0.1:${await freePort()}`;
    const added = await client.cluster.memberAdd([peer], { isLearner: true });
    assert.ok(added.member !== undefined);
    assert.equal(added.member.isLearner, true);
    assert.equal(added.members.length, 4);
    await assert.rejects(client.cluster.memberPromote(added.member.ID), LearnerNotReadyError);
    const peer2 = `http://127.0.0.1:${await freePort()}`;
    const updated = await client.cluster.memberUpdate(added.member.ID, [peer2]);
    assert.deepEqual(updated.members.find((m) => m.ID === added.member!.ID)?.peerURLs, [peer2]);
    const removed = await client.cluster.memberRemove(added.member.ID);
    assert.equal(removed.members.length, 3);
    await assert.rejects(client.cluster.memberRemove(added.member.ID), MemberNotFoundError);
  });

  // etcd only for now. Missing in tsetcd: a reliable MemberPromote of a freshly started learner:
  // the promote forwarded by a follower to the leader's peer URL often fails with 'etcdserver:
  // unhealthy cluster' (the leader's connectivity check, or a failed forward after the promotion
  // was applied, which leaves a voter without a process and breaks the failover cases below).
  if (etcdTarget === 'etcd') await t.test('a learner that caught up is promoted to a voting member', async () => {
    const peer = `http://127.0.0.1:${await freePort()}`;
    const clientUrl = `http://127.0.0.1:${await freePort()}`;
    const added = await client.cluster.memberAdd([peer], { isLearner: true });
    const id = added.member!.ID;
    const initial = `${cluster.initialCluster()},learner=${peer}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'tsetcd-learner-'));
    const proc = spawn(targetBin, [
      '--name=learner', `--data-dir=${dataDir}`, `--listen-client-urls=${clientUrl}`, `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=${initial}`,
      '--initial-cluster-state=existing', '--heartbeat-interval=50', '--election-timeout=500',
    ], { stdio: 'ignore' });
    const exited = new Promise((r) => proc.once('exit', r));
    try {
      // the leader refuses the promotion until the learner caught up; any other error fails at once
      await waitFor('the learner to catch up and be promoted', async () => {
        try {
          const promoted = await client.cluster.memberPromote(id);
          const seen = promoted.members.map((m) => `${m.ID.toString(16)}:${m.name}:${m.isLearner ? 'learner' : 'voter'}`);
          assert.equal(promoted.members.find((m) => m.ID === id)?.isLearner, false, `promoted ${id.toString(16)}: ${seen.join(' ')}`);
          return true;
        } catch (err) {
          if (err instanceof LearnerNotReadyError) return false;
          throw err;
        }
      }, 15_000, 50);
      const list = await client.cluster.memberList();
      assert.equal(list.members.length, 4);
      assert.equal(list.members.find((m) => m.ID === id)?.isLearner, false);
      assert.equal(list.members.find((m) => m.ID === id)?.name, 'learner');
      await client.cluster.memberRemove(id);
      assert.equal((await client.cluster.memberList()).members.length, 3);
    } finally {
      proc.kill('SIGKILL');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  await t.test('status and hashKV per endpoint, alarms, defragment, moveLeader', async () => {
    await client.put('/m/k', 'v');
    const rev = (await client.get('/m/k')).revision;
    const hashes = new Set<number>();
    for (const ep of cluster.endpoints) {
      const st = await client.maintenance.status({ endpoint: ep });
      assert.equal(st.header?.memberId !== undefined && st.header.memberId > 0n, true);
      assert.ok(st.dbSize > 0n);
      // Followers may lag a moment (a revision they have not applied is refused): read the hash
      // at a fixed revision once the member has it.
      hashes.add(await eventually(`${ep} to hash revision ${rev}`, 5_000, async () => (await client.maintenance.hashKV(rev, { endpoint: ep })).hash));
    }
    assert.equal(hashes.size, 1, 'every member has the same data');
    assert.deepEqual(await client.maintenance.alarmList(), []);
    await client.maintenance.defragment({ endpoint: cluster.endpoints[1] });
    const li = await leaderIndex();
    const target = (li + 1) % 3;
    const targetId = (await client.maintenance.status({ endpoint: cluster.endpoints[target] })).header!.memberId;
    await client.maintenance.moveLeader(targetId, { endpoint: cluster.endpoints[li] });
    assert.equal(await leaderIndex(), target);
  });

  await t.test('watch resumes on another member after its member (the leader) dies', async () => {
    const watching = new Client({ endpoints: cluster.endpoints, dialTimeout: 1_000 });
    t.after(() => watching.close());
    const w = watching.watch('/fo/', { prefix: true });
    await w.ready;
    // Make the member carrying the watch stream the leader, then kill it.
    const li = cluster.endpoints.indexOf(watching.activeEndpoint);
    const current = await leaderIndex();
    if (current !== li) {
      const id = (await client.maintenance.status({ endpoint: cluster.endpoints[li] })).header!.memberId;
      await client.maintenance.moveLeader(id, { endpoint: cluster.endpoints[current] });
      assert.equal(await leaderIndex(), li);
    }
    const order = [li, (li + 1) % 3, (li + 2) % 3].map((i) => cluster.endpoints[i]);
    const writer = new Client({ endpoints: [order[1], order[2]], dialTimeout: 1_000 });
    t.after(() => writer.close());
    const revs: bigint[] = [];
    let stop = false;
    const writing = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          revs.push((await writer.put(`/fo/${i % 5}`, String(i), { timeout: 2_000 })).revision);
        } catch {
          // election in progress; the write may or may not have happened. Pace the retries of this
          // background load (nothing waits on this pause).
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    const events: WatchEvent[] = [];
    const reading = (async () => {
      for await (const ev of w) events.push(ev);
    })();
    // the watcher sees writes before its member dies, and the writer gets writes acknowledged
    // by the new leader after it
    await waitFor('the watcher to see writes', () => events.length >= 5);
    await cluster.stopMember(li);
    try {
      const acked = revs.length;
      await waitFor('writes acknowledged after the leader died', () => revs.length >= acked + 10, 15_000);
    } finally {
      stop = true;
      await writing;
      await restore(li);
    }
    const last = (await writer.get('/fo/', { prefix: true })).revision;
    await waitFor(`the watcher to reach revision ${last}`, () => events.length > 0 && events[events.length - 1].kv.modRevision >= last, 5_000);
    await w.stop();
    await reading;
    assert.notEqual(watching.activeEndpoint, order[0], 'moved to a live member');
    const seen = events.map((e) => e.kv.modRevision);
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    for (let i = 1; i < seen.length; i++) assert.equal(seen[i], seen[i - 1] + 1n, `no gap after ${seen[i - 1]}`);
    for (const r of revs) assert.ok(seen.includes(r), `acknowledged write ${r} was delivered`);
    assert.equal(seen[seen.length - 1], last);
  });

  await t.test('failover: a dead endpoint first in the list is skipped; reads and writes succeed', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = new Client({ endpoints: [dead, cluster.endpoints[0]], dialTimeout: 2_000 });
    t.after(() => c.close());
    await c.put('/fo2/k', 'v');
    assert.equal((await c.get('/fo2/k')).kvs[0].value.toString(), 'v');
    assert.equal(c.activeEndpoint, cluster.endpoints[0]);
  });

  await t.test('failover: killing the active member moves reads and writes to another', async () => {
    const c = new Client({ endpoints: cluster.endpoints, dialTimeout: 2_000 });
    t.after(() => c.close());
    await c.put('/fo3/k', '1');
    const idx = cluster.endpoints.indexOf(c.activeEndpoint);
    await cluster.stopMember(idx);
    try {
      assert.equal((await c.get('/fo3/k')).kvs[0].value.toString(), '1');
      await c.put('/fo3/k', '2');
      assert.notEqual(c.activeEndpoint, cluster.endpoints[idx]);
    } finally {
      await restore(idx);
    }
  });

  await t.test('no live endpoint: Unavailable after the dial timeout, no hang', async () => {
    const c = new Client({ endpoints: [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`], dialTimeout: 300 });
    t.after(() => c.close());
    for (const call of [() => c.get('k'), () => c.put('k', 'v'), () => c.lease.grant(5)]) {
      const started = Date.now();
      await assert.rejects(call(), UnavailableError);
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 2_000, `took ${took} ms`);
    }
  });
});
