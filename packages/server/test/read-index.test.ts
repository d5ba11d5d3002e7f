// The linearizable read loop's batching: how many read-index rounds run at once, which readers a
// round's answer releases, and that a reader still waits for this member to apply the index.
// The raft side is the loop's own narrow interface, recorded (the cluster tests drive real raft).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadIndexLoop, type ReadIndexRaft } from '../src/etcdserver/read-index.js';

class RecordingRaft implements ReadIndexRaft {
  asked: Buffer[] = [];
  applied = 0;
  private id = 0n;
  stopped = false;
  readIndex(ctx: Buffer): void {
    this.asked.push(ctx);
  }
  nextId(): bigint {
    return ++this.id;
  }
  wake(): void {}
  appliedIndex(): number {
    return this.applied;
  }
  hasLeader(): boolean {
    return true;
  }
  isStopped(): boolean {
    return this.stopped;
  }
}

const timings = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, requestTimeoutMs: 5000 };
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Tracks whether a reader's promise settled (and how). */
function track(p: Promise<void>): { state: () => string } {
  let s = 'pending';
  p.then(
    () => (s = 'resolved'),
    (e: Error) => (s = `rejected: ${e.message}`),
  );
  return { state: () => s };
}

test('a reader arriving while a round is in flight starts the next round at once; a third waits for an answer', async () => {
  const raft = new RecordingRaft();
  const loop = new ReadIndexLoop(raft, { ...timings, maxInFlight: 2 });
  const a1 = track(loop.notify());
  const a2 = track(loop.notify());
  await turn();
  assert.equal(raft.asked.length, 1, 'readers of one turn share one round');
  const b = track(loop.notify());
  await turn();
  assert.equal(raft.asked.length, 2, 'the second round did not wait for the first');
  const c = track(loop.notify());
  await turn();
  assert.equal(raft.asked.length, 2, 'no third round while two are in flight');

  // the second round answers first: only its reader goes
  raft.applied = 7;
  loop.onReadState({ index: 7, requestCtx: raft.asked[1] });
  await turn();
  assert.deepEqual([a1.state(), a2.state(), b.state()], ['pending', 'pending', 'resolved']);
  assert.equal(raft.asked.length, 3, 'the freed slot starts a round for the waiting reader');
  loop.onReadState({ index: 5, requestCtx: raft.asked[0] });
  await turn();
  assert.deepEqual([a1.state(), a2.state(), c.state()], ['resolved', 'resolved', 'pending']);
  loop.close(new Error('closed'));
  await turn();
  assert.equal(c.state(), 'rejected: closed');
});

test('readers wait for this member to apply the read index, and a foreign read state releases nobody', async () => {
  const raft = new RecordingRaft();
  const loop = new ReadIndexLoop(raft, timings);
  raft.applied = 3;
  const r = track(loop.notify());
  await turn();
  loop.onReadState({ index: 9, requestCtx: Buffer.from('someone else') });
  loop.onReadState({ index: 9, requestCtx: raft.asked[0] });
  await turn();
  assert.equal(r.state(), 'pending', 'index 9 is not applied yet');
  loop.onApplied(8);
  await turn();
  assert.equal(r.state(), 'pending');
  loop.onApplied(9);
  await turn();
  assert.equal(r.state(), 'resolved');
  // the same answer again (a duplicate) is ignored
  loop.onReadState({ index: 9, requestCtx: raft.asked[0] });
  loop.close(new Error('closed'));
});

test('maxInFlight 1 keeps one round at a time (etcd 3.4)', async () => {
  const raft = new RecordingRaft();
  const loop = new ReadIndexLoop(raft, { ...timings, maxInFlight: 1 });
  const a = track(loop.notify());
  await turn();
  const b = track(loop.notify());
  await turn();
  assert.equal(raft.asked.length, 1);
  loop.onReadState({ index: 0, requestCtx: raft.asked[0] });
  await turn();
  assert.equal(a.state(), 'resolved');
  assert.equal(raft.asked.length, 2);
  loop.onReadState({ index: 0, requestCtx: raft.asked[1] });
  await turn();
  assert.equal(b.state(), 'resolved');
  loop.close(new Error('closed'));
});
