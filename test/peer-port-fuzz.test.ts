// Seeded fuzzing of a member's peer port (issue 10, section 1). Random and mutated requests —
// truncated messages, wrong format versions, bit flips, well-formed raft messages from
// non-members or in another member's name (by the pipeline, POST /raft), stream dials with bad
// paths, versions or senders, other clusters' IDs, huge snapshots, garbage lease and promote
// requests — are sent to every member of a running 1-member and 3-member cluster. Each must get its refusal (or, for a large upload, a cut connection) and
// never reach raft; afterwards every member is alive and serving, `hashkv` agrees across members,
// the revision has not moved and no key appeared.
//
// The run is seeded: the seed is printed; SEED=<n> replays it. FUZZ_REQUESTS=<n> changes the
// number of requests per cluster.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, newMessage, EntryType, MessageType, type Message } from '@tsetcd/raft';
import { Rng } from '../packages/raft/test/sim/prng.js';
import { maxFrameBytes } from '../packages/server/src/rafthttp/framing.js';
import { ProcessCluster } from './kit/cluster.js';
import { eventually } from './kit/wait.js';
import { peerCall, isAnswer, frame, rawFrame, lengthPrefix, forgedProposal, payload, streamDial, type PeerHeaders, type PeerOutcome } from '../packages/server/test/peer-port-kit.js';

const seed = process.env.SEED !== undefined ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);
const requestsPerCluster = Number(process.env.FUZZ_REQUESTS ?? 400);
/** requests in flight at once */
const concurrency = 4;
/** the member-only routes: [method, path] (a stream dial's path ends in the dialer's ID) */
const memberRoutes = [
  ['GET', '/raft/stream/message/'],
  ['GET', '/raft/stream/msgapp/'],
  ['POST', '/raft'],
  ['POST', '/raft/snapshot'],
  ['POST', '/leases'],
  ['POST', '/members/promote/abc'],
  ['GET', '/members/hashkv'],
] as const;

interface FuzzCase {
  what: string;
  method: string;
  path: string;
  headers: PeerHeaders;
  body: Buffer[];
  /** acceptable statuses */
  expect: number[];
  /** a cut connection is acceptable too (large uploads are not read to their end once refused) */
  mayReset: boolean;
}

/** What the generator knows about the cluster under test. */
interface Target {
  cid: string;
  /** the member the request goes to */
  self: bigint;
  /** members this member admits as senders (never itself) */
  senders: bigint[];
  /** every member ID (for picking non-members) */
  members: bigint[];
}

const hex = (id: bigint): string => id.toString(16);

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function nonMember(rng: Rng, t: Target): bigint {
  for (;;) {
    const id = (BigInt(rng.int(2 ** 31)) << 32n) | BigInt(rng.int(2 ** 32));
    if (id !== 0n && !t.members.includes(id)) return id;
  }
}

/** A well-formed raft message of any type, with random fields. */
function randomMessage(rng: Rng, from: bigint, to: bigint): Message {
  const type = rng.int(19) as MessageType;
  const entries = Array.from({ length: rng.int(4) }, () => ({ term: rng.int(1000), index: rng.int(1_000_000), type: rng.chance(0.8) ? EntryType.Normal : EntryType.ConfChange, data: randomBytes(rng, rng.int(64)) }));
  return newMessage(type, to, {
    from,
    term: rng.int(2 ** 31),
    logTerm: rng.int(2 ** 31),
    index: rng.int(2 ** 31),
    commit: rng.int(2 ** 31),
    reject: rng.chance(0.2),
    entries,
    ...(type === MessageType.MsgSnap ? { snapshot: { data: randomBytes(rng, rng.int(32)), metadata: { index: rng.int(2 ** 31), term: rng.int(2 ** 31), confState: { voters: [from, to], learners: [] } } } as Message['snapshot'] } : {}),
  });
}

function isUndecodable(payload: Uint8Array): boolean {
  try {
    decodeMessage(payload);
    return false;
  } catch {
    return true;
  }
}

/** A message body an admitted sender may post and that must not decode: raft never sees it. */
function brokenPayload(rng: Rng, t: Target, from: bigint): { what: string; bytes: Buffer } {
  const valid = encodeMessage(rng.chance(0.3) ? forgedProposal(from, t.self) : randomMessage(rng, from, t.self));
  for (;;) {
    switch (rng.int(5)) {
      case 0: {
        const p = randomBytes(rng, rng.range(1, 300));
        if (p[0] === valid[0]) p[0] ^= 0x80;
        return { what: 'random payload', bytes: p };
      }
      case 1: {
        // a whole frame (length prefix and all) where the bare message belongs
        const f = frame(decodeMessage(valid));
        if (isUndecodable(f)) return { what: 'a framed message', bytes: f };
        break;
      }
      case 2: {
        const p = Buffer.from(valid.subarray(0, rng.range(0, valid.length - 1)));
        if (isUndecodable(p)) return { what: 'truncated payload', bytes: p };
        break;
      }
      case 3: {
        const p = Buffer.from(valid);
        p[0] = rng.range(2, 255);
        return { what: `format version ${p[0]}`, bytes: p };
      }
      default: {
        const p = Buffer.from(valid);
        for (let k = rng.range(1, 4); k > 0; k--) p[rng.int(p.length)] ^= 1 << rng.int(8);
        if (isUndecodable(p)) return { what: 'bit flips', bytes: p };
      }
    }
  }
}

/** One request, and what the member must answer. */
function genCase(rng: Rng, t: Target): FuzzCase {
  const sender = rng.pick(t.senders);
  const admitted: PeerHeaders = { clusterId: t.cid, from: hex(sender), to: hex(t.self) };
  switch (rng.int(12)) {
    case 0: {
      // a broken message from an admitted sender, by the pipeline: 400
      const b = brokenPayload(rng, t, sender);
      return { what: `${b.what} by the pipeline`, method: 'POST', path: '/raft', headers: admitted, body: [b.bytes], expect: [400], mayReset: false };
    }
    case 1: {
      // a stream dial from an admitted sender with a path or versions etcd refuses
      const kind = rng.pick(['message', 'msgapp']);
      const [what, path, headers, status] = rng.pick([
        ['unknown stream type', `/raft/stream/msgappv2/${hex(sender)}`, admitted, 404],
        ['no sender in the path', `/raft/stream/${kind}`, admitted, 404],
        ['a path too deep', `/raft/stream/${kind}/${hex(sender)}/x`, admitted, 404],
        ['no server version', streamDial(kind, hex(sender)), { ...admitted, 'x-server-version': undefined }, 412],
        ['server version 2.3.0', streamDial(kind, hex(sender)), { ...admitted, 'x-server-version': '2.3.0' }, 412],
        ['garbage server version', streamDial(kind, hex(sender)), { ...admitted, 'x-server-version': randomBytes(rng, 5).toString('latin1').replace(/[^\x21-\x7e]/g, 'q') }, 412],
        ['minimum cluster version 9.9', streamDial(kind, hex(sender)), { ...admitted, 'x-min-cluster-version': '9.9.0' }, 412],
      ] as Array<[string, string, PeerHeaders, number]>);
      return { what: `stream dial: ${what}`, method: 'GET', path, headers, body: [], expect: [status], mayReset: false };
    }
    case 2: {
      // well-formed, admitted sender, but the message speaks for a non-member or is for another member
      const other = nonMember(rng, t);
      const m = rng.chance(0.5) ? randomMessage(rng, other, t.self) : randomMessage(rng, sender, other);
      if (m.type === MessageType.MsgProp && m.from === other) m.entries = forgedProposal(other, t.self).entries;
      return { what: `${MessageType[m.type]} from ${hex(m.from)} to ${hex(m.to)} via ${hex(sender)}`, method: 'POST', path: '/raft', headers: admitted, body: [payload(m)], expect: [400, 412], mayReset: false };
    }
    case 3: {
      // a valid message from a non-member (the forged proposal among them), to any member route
      const from = nonMember(rng, t);
      const m = rng.chance(0.5) ? forgedProposal(from, t.self) : randomMessage(rng, from, t.self);
      return { what: `${MessageType[m.type]} from non-member ${hex(from)}`, ...memberRoute(rng, hex(from)), headers: { ...admitted, from: hex(from) }, body: [frame(m)], expect: [404], mayReset: false };
    }
    case 4: {
      let cid = rng.chance(0.2) ? '' : hex(BigInt(rng.int(2 ** 31)) * 7919n + 1n);
      if (cid === t.cid) cid += '0';
      const m = forgedProposal(sender, t.self);
      return { what: `cluster ID "${cid}"`, ...memberRoute(rng, admitted.from), headers: { ...admitted, clusterId: cid === '' ? undefined : cid }, body: [frame(m)], expect: [412], mayReset: false };
    }
    case 5: {
      const bad = rng.pick(['', 'zz', '-1', '0x12', '1'.repeat(17), ' 1', randomBytes(rng, 6).toString('latin1').replace(/[^\x21-\x7e]/g, 'q')]);
      const valid = /^[0-9a-f]{1,16}$/i.test(bad);
      return { what: `sender header "${bad}"`, ...memberRoute(rng, bad), headers: { ...admitted, from: bad }, body: [frame(forgedProposal(sender, t.self))], expect: valid ? [404, 410] : [404], mayReset: false };
    }
    case 6: {
      const to = rng.chance(0.5) ? hex(nonMember(rng, t)) : rng.pick(['', 'zz', hex(sender)]);
      return { what: `receiver header "${to}"`, ...memberRoute(rng, admitted.from), headers: { ...admitted, to: to === '' ? undefined : to }, body: [frame(forgedProposal(sender, t.self))], expect: [412], mayReset: false };
    }
    case 7: {
      // the member's own ID as the sender
      return { what: 'sender is the receiver', ...memberRoute(rng, hex(t.self)), headers: { ...admitted, from: hex(t.self) }, body: [frame(forgedProposal(t.self, t.self))], expect: [404], mayReset: false };
    }
    case 8: {
      // a huge snapshot from someone not allowed to send one
      const size = rng.range(1, 6) * 1024 * 1024;
      const from = nonMember(rng, t);
      const snap = newMessage(MessageType.MsgSnap, t.self, { from, term: 1_000_000, snapshot: { data: new Uint8Array(0), metadata: { index: 1_000_000_000, term: 1_000_000, confState: { voters: [from], learners: [] } } } as Message['snapshot'] });
      const wrongCluster = rng.chance(0.5);
      const headers = wrongCluster ? { ...admitted, clusterId: 'badc1d' } : { ...admitted, from: hex(from) };
      return { what: `${size >> 20} MiB snapshot, ${wrongCluster ? 'wrong cluster' : 'non-member'}`, method: 'POST', path: '/raft/snapshot', headers, body: [frame(snap), randomBytes(rng, 64 * 1024), Buffer.alloc(size, 0x5a)], expect: [wrongCluster ? 412 : 404], mayReset: true };
    }
    case 9: {
      // a snapshot upload from an admitted sender whose head is broken or not acceptable
      const kind = rng.int(3);
      // (the database follows the head, so a broken head must be a whole frame: its length is its own)
      const head = kind === 0 ? rawFrame(Buffer.concat([Buffer.from([rng.range(2, 255)]), randomBytes(rng, rng.int(200))])) : kind === 1 ? lengthPrefix(rng.range(maxFrameBytes + 1, 2 ** 32 - 1)) : frame(randomMessage(rng, nonMember(rng, t), t.self));
      return { what: `snapshot with a bad head (${kind})`, method: 'POST', path: '/raft/snapshot', headers: admitted, body: [head, Buffer.alloc(rng.range(0, 2) * 1024 * 1024, 1)], expect: [400], mayReset: true };
    }
    case 10: {
      // lease renewals, promotions and hash requests from an admitted sender, with garbage or unknown IDs
      if (rng.chance(0.3)) {
        const [body, expect] = rng.pick([
          ['{}', [200]],
          ['{"revision":0}', [200]],
          ['null', [400]],
          ['{"revision":"x"}', [400]],
          ['[', [400]],
          ['{"revision":99999999}', [400]],
          [' '.repeat(8192), [400]],
        ] as const);
        return { what: `hashkv ${JSON.stringify(body.slice(0, 24))}`, method: 'GET', path: '/members/hashkv', headers: admitted, body: [Buffer.from(body)], expect: [...expect], mayReset: body.length > 4096 };
      }
      if (rng.chance(0.5)) {
        const body = rng.pick([randomBytes(rng, rng.int(64)), Buffer.from('null'), Buffer.from('{"id":7}'), Buffer.from('{"id":"xyz"}'), Buffer.alloc(8192, 0x20), Buffer.from(JSON.stringify({ id: hex(nonMember(rng, t)) }))]);
        const wellFormed = /^\{"id":"[0-9a-f]{1,16}"\}$/.test(body.toString('latin1'));
        // an unknown lease: 200 {"ttl":-1} on the leader, 503 on a follower
        return { what: `lease renewal ${body.length} bytes`, method: 'POST', path: '/leases', headers: admitted, body: [body], expect: wellFormed ? [200, 503] : [400], mayReset: body.length > 4096 };
      }
      const id = rng.pick(['zz', '', hex(nonMember(rng, t)), '1'.repeat(20)]);
      return { what: `promote "${id}"`, method: 'POST', path: `/members/promote/${id}`, headers: admitted, body: [], expect: id === '' ? [404] : /^[0-9a-f]{1,16}$/.test(id) ? [412] : [404], mayReset: false };
    }
    default: {
      // paths and methods the listener does not serve
      const path = rng.pick(['/', '/raft/other', '/raft/probing', '/raft/stream', '/raft/stream/x', '/v3/kv/put', '/members/x', '/leases/internal', '/version/', '/debug/vars']);
      const method = rng.pick(['GET', 'POST', 'PUT', 'DELETE']);
      // under /raft/stream/ only GET is served (etcd's stream handler: 405 first, then "invalid path")
      const expect = path === '/raft/stream/x' && method !== 'GET' ? [405] : [404];
      return { what: `${method} ${path}`, method, path, headers: admitted, body: method === 'GET' || method === 'DELETE' ? [] : [randomBytes(rng, rng.int(100))], expect, mayReset: false };
    }
  }
}

/** A member-only route; a stream dial names `from` (the sender header's value) in its path. */
function memberRoute(rng: Rng, from: string | undefined): { method: string; path: string } {
  const [method, path] = rng.pick(memberRoutes);
  return { method, path: path.endsWith('/') ? path + encodeURIComponent(from ?? '') : path };
}

function describe(o: PeerOutcome): string {
  return isAnswer(o) ? `${o.status} ${JSON.stringify(o.body.slice(0, 120))}` : `reset (${o.reset})`;
}

async function clusterId(peerUrl: string): Promise<string> {
  const o = await peerCall(peerUrl, 'GET', '/members', {});
  assert.ok(isAnswer(o) && o.status === 200, `GET /members: ${describe(o)}`);
  return String(o.headers['x-etcd-cluster-id']);
}

async function fuzzCluster(t: TestContext, size: number, rng: Rng): Promise<void> {
  const started = Date.now();
  const c = await ProcessCluster.start(t, { size });
  await c.leader();
  const all = c.members.map((_, i) => i);
  const client = c.client(all, 5000);
  for (let k = 0; k < 5; k++) await client.put(`/base/${k}`, `v${k}`);
  const ids = await Promise.all(all.map(async (i) => (await c.status(i))!.id));
  // a 1-member cluster has no other member to speak as: a learner that never starts stands in
  const extra = size === 1 ? [(await client.cluster.memberAdd(['http://127.0.0.1:9'], { isLearner: true })).member!.ID] : [];
  const members = [...ids, ...extra];
  const peerUrls = all.map((i) => `http://127.0.0.1:${c.members[i].peerPort}`);
  const cid = await clusterId(peerUrls[0]);
  const before = await client.get('\0', { fromKey: true });

  const cases = Array.from({ length: requestsPerCluster }, () => {
    const i = rng.int(size);
    const target: Target = { cid, self: ids[i], senders: members.filter((id) => id !== ids[i]), members };
    return { i, c: genCase(rng, target) };
  });
  const failures: string[] = [];
  const tally = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < cases.length) {
        const n = next++;
        const { i, c: fc } = cases[n];
        const o = await peerCall(peerUrls[i], fc.method, fc.path, fc.headers, fc.body, 20_000);
        const key = describe(o).replace(/ ".*$/, '');
        tally.set(key, (tally.get(key) ?? 0) + 1);
        const ok = isAnswer(o) ? fc.expect.includes(o.status) : fc.mayReset && o.reset !== 'client timeout';
        if (!ok) failures.push(`#${n} member ${i} ${fc.method} ${fc.path} [${fc.what}] expected ${fc.expect.join('|')}${fc.mayReset ? ' or reset' : ''}, got ${describe(o)}`);
      }
    }),
  );
  t.diagnostic(`${size}-member cluster: ${cases.length} requests, answers ${JSON.stringify(Object.fromEntries(tally))}`);
  assert.deepEqual(failures, [], `seed ${seed}: unexpected answers`);

  // every member alive and serving linearizable reads, one leader
  for (const i of all) assert.ok(c.isRunning(i), `member ${i} is running (seed ${seed})`);
  await c.leader();
  for (const i of all) {
    const r = await c.client(i, 5000).get('\0', { fromKey: true });
    assert.deepEqual(r.kvs.map((kv) => kv.key.toString()), before.kvs.map((kv) => kv.key.toString()), `member ${i}: no key appeared (seed ${seed})`);
    assert.equal(r.header.revision, before.header.revision, `member ${i}: the revision did not move (seed ${seed})`);
  }
  // the same data everywhere
  const rev = before.header.revision;
  await eventually('hashkv agrees', 10_000, async () => {
    const hs = await Promise.all(all.map(async (i) => (await c.client(i, 5000).maintenance.hashKV(rev)).hash));
    return hs.every((h) => h === hs[0]) ? true : undefined;
  });
  // and replication still works
  const w = await c.client(0).put('/after-fuzz', 'x');
  for (const i of all) assert.equal((await c.client(i, 5000).get('/after-fuzz')).kvs[0]?.value.toString(), 'x');
  assert.equal(w.header.revision, rev + 1n);
  t.diagnostic(`${size}-member cluster done in ${Date.now() - started} ms`);
}

test(`peer port fuzz: seeded hostile requests leave 1- and 3-member clusters alive, consistent and unchanged (SEED=${seed})`, async (t) => {
  console.log(`# peer port fuzz seed ${seed} (SEED=${seed} to replay)`);
  t.diagnostic(`seed ${seed} (SEED=${seed} to replay)`);
  const rng = new Rng(seed);
  await t.test('1 member', (tt) => fuzzCluster(tt, 1, new Rng(rng.fork())));
  await t.test('3 members', (tt) => fuzzCluster(tt, 3, new Rng(rng.fork())));
});
