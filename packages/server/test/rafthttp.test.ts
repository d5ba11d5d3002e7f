// The peer transport between two in-process endpoints with scripted hosts: framing, the two
// streams (each dialed by its receiver, as etcd's), the pipeline, cluster-ID checks, removed
// members, snapshots streamed with the database, reconnects; the peer handler's checks and error
// boundary against hostile requests, and the dialing side against a hostile peer's answers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MessageType, encodeMessage, newMessage, type Message } from '@tsetcd/raft';
import { PeerTransport, type RaftHost } from '../src/rafthttp/peer-transport.js';
import { FrameDecoder, encodeFrame, encodeMessageFrame } from '../src/rafthttp/framing.js';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { maxFrameBytes, linkHeartbeatFrame } from '../src/rafthttp/framing.js';
import { peerCall, isAnswer, frame, rawFrame, lengthPrefix, forgedProposal, payload, streamDial, type PeerHeaders } from './peer-port-kit.js';
import { captureLog } from './tls-test-kit.js';
import { waitFor } from '../../../test/kit/wait.js';

test('frame decoder: frames split anywhere, bounded pulls', () => {
  const a = encodeFrame(Buffer.from('hello'));
  const b = encodeFrame(Buffer.alloc(0));
  const c = encodeFrame(Buffer.from('world!'));
  const all = Buffer.concat([a, b, c]);
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new FrameDecoder();
    const got = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))].map((x) => x.toString());
    assert.deepEqual(got, ['hello', '', 'world!']);
  }
  const d = new FrameDecoder();
  assert.deepEqual(d.push(all, 1).map(String), ['hello']);
  assert.equal(d.takeRemaining().length, b.length + c.length);
  const big = Buffer.alloc(4);
  big.writeUInt32BE(0xffffffff);
  assert.throws(() => new FrameDecoder().push(big), /exceeds the limit/);
  // a message framed in place is the same frame as its encoding framed by copy
  const m = newMessage(MessageType.MsgApp, 2n, { from: 1n, term: 3, index: 7, commit: 6, entries: [{ term: 3, index: 8, type: 0, data: Buffer.from('v') }] });
  assert.deepEqual(encodeMessageFrame(m), encodeFrame(encodeMessage(m)));
});

interface Fake extends RaftHost {
  got: Message[];
  unreachable: bigint[];
  undelivered: Message[];
  snapshots: Array<{ m: Message; bytes: Buffer }>;
  snapReports: Array<[bigint, boolean]>;
  removed: number;
  peers: Map<bigint, string[]>;
  removedIds: Set<bigint>;
  clusterIdValue: bigint;
}

function fakeHost(id: bigint, dir: string, db?: Buffer): Fake {
  const h: Fake = {
    memberId: id,
    get clusterId() {
      return h.clusterIdValue;
    },
    clusterIdValue: 0xc1n,
    got: [],
    unreachable: [],
    undelivered: [],
    snapshots: [],
    snapReports: [],
    removed: 0,
    peers: new Map(),
    removedIds: new Set(),
    step: (m) => void h.got.push(m),
    reportUnreachable: (p) => void h.unreachable.push(p),
    proposalUndelivered: (m) => void h.undelivered.push(m),
    reportSnapshot: (p, ok) => void h.snapReports.push([p, ok]),
    peerUrlsOf: (p) => h.peers.get(p),
    isRemovedMember: (p) => h.removedIds.has(p),
    snapshotDbFile: async () => {
      const f = join(dir, `out-${Date.now()}.db`);
      await writeFile(f, db ?? Buffer.alloc(0));
      return f;
    },
    receiveSnapshot: async (m, file) => void h.snapshots.push({ m, bytes: await readFile(file) }),
    snapshotDir: () => join(dir, `in-${id}`),
    membersJson: () => '[{"id":18446744073709551615,"peerURLs":["http://x:1"]}]',
    versions: () => ({ etcdserver: '3.4.23', etcdcluster: '3.4.0' }),
    removedByPeer: () => void h.removed++,
    leaseRenew: () => 5,
    hashKV: async () => ({ hash: 77, revision: 5n, compactRevision: 0n }),
  };
  return h;
}

/** Both streams carrying `log`'s member's messages to the peer are attached (the peer dialed them). */
function writersUp(log: { lines: Array<{ msg: string; fields: Record<string, unknown> }> }): boolean {
  const up = (t: string) => log.lines.some((l) => l.msg === 'established TCP streaming connection with remote peer' && l.fields['stream-writer-type'] === t);
  return up('stream MsgApp v2') && up('stream Message');
}

async function pair(t: { after(fn: () => Promise<void>): void }, db?: Buffer) {
  const dir = await mkdtemp(join(tmpdir(), 'rafthttp-'));
  const ha = fakeHost(1n, dir, db);
  const hb = fakeHost(2n, dir, db);
  const la = captureLog();
  const lb = captureLog();
  const a = new PeerTransport({ host: ha, listenPeerUrls: ['http://127.0.0.1:0'], log: la });
  const b = new PeerTransport({ host: hb, listenPeerUrls: ['http://127.0.0.1:0'], log: lb });
  await a.listen();
  await b.listen();
  ha.peers.set(2n, b.boundUrls);
  hb.peers.set(1n, a.boundUrls);
  t.after(async () => {
    await a.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { a, b, ha, hb, dir, la, lb };
}


const msg = (type: MessageType, index = 0): Message => newMessage(type, 2n, { from: 1n, term: 3, index, commit: index });

test('messages reach the peer in order on the streams the peer dialed; MsgApp separately from heartbeats', async (t) => {
  const { a, ha, hb, la, lb } = await pair(t);
  // only a is told about its peer: b's streams to a are dialed when a dials b's
  a.syncPeers([1n, 2n]);
  await waitFor('a\'s streams to b attached (b dialed them)', () => writersUp(la));
  await waitFor('b\'s streams to a attached (a dialed them)', () => writersUp(lb));
  assert.ok(a.activeSince(2n) > 0);
  for (let i = 1; i <= 200; i++) a.send([msg(MessageType.MsgApp, i), msg(MessageType.MsgHeartbeat, i)]);
  await waitFor('all delivered', () => hb.got.length === 400);
  const apps = hb.got.filter((m) => m.type === MessageType.MsgApp).map((m) => m.index);
  const hbs = hb.got.filter((m) => m.type === MessageType.MsgHeartbeat).map((m) => m.index);
  assert.deepEqual(apps, [...Array(200).keys()].map((i) => i + 1));
  assert.deepEqual(hbs, [...Array(200).keys()].map((i) => i + 1));
  assert.deepEqual(ha.unreachable, []);
  assert.ok(!hb.got.some((m) => m.from === 0n), 'link heartbeats never reach raft');
});

test('before the peer dials, messages go by the pipeline (POST /raft)', async (t) => {
  const { a, ha, hb, lb } = await pair(t);
  // a knows b, b does not know a yet and a has not dialed: nothing is attached anywhere
  a.send([msg(MessageType.MsgHeartbeat, 1), msg(MessageType.MsgApp, 2)]);
  await waitFor('delivered by POST', () => hb.got.length === 2);
  assert.deepEqual(hb.got.map((m) => m.index).sort(), [1, 2]);
  assert.deepEqual(ha.unreachable, []);
  assert.ok(a.activeSince(2n) > 0, 'a delivered POST makes the peer active');
  void lb;
});

test('a proposal to a peer whose address refuses the connection is handed back as never sent', async (t) => {
  const { a, b, ha } = await pair(t);
  await b.close(); // b's address now refuses connections
  a.send([forgedProposal(1n, 2n), msg(MessageType.MsgHeartbeat)]);
  await waitFor('the proposal handed back', () => ha.undelivered.length === 1);
  assert.equal(ha.undelivered[0].type, MessageType.MsgProp);
  await waitFor('both reported unreachable', () => ha.unreachable.filter((id) => id === 2n).length >= 2);
  assert.equal(ha.undelivered.length, 1, 'only the proposal: a heartbeat is not handed back');
});

test('a peer of another cluster refuses the streams and the pipeline; messages to it are reported unreachable', async (t) => {
  const { a, ha, hb, la } = await pair(t);
  hb.clusterIdValue = 0xdeadn;
  a.syncPeers([2n]);
  await waitFor('dial refused', () => la.lines.some((l) => l.msg === 'failed to dial remote peer' && /412: cluster ID mismatch/.test(String(l.fields.error))));
  assert.equal(a.activeSince(2n), 0);
  a.send([msg(MessageType.MsgHeartbeat)]);
  await waitFor('reported unreachable', () => ha.unreachable.includes(2n));
  assert.equal(hb.got.length, 0);
});

test('a removed member is told so (HTTP 410) and its streams are cut', async (t) => {
  const { a, b, ha, hb, la, lb } = await pair(t);
  a.syncPeers([2n]);
  await waitFor('streams up', () => writersUp(la) && writersUp(lb));
  hb.removedIds.add(1n);
  b.syncPeers([2n]);
  await waitFor('removal noticed', () => ha.removed > 0);
  // the removed member's dials and posts are refused with 410 from now on
  const o = await peerCall(b.boundUrls[0], 'GET', streamDial('message', '1'), { clusterId: 'c1', to: '2' });
  assert.ok(isAnswer(o));
  assert.deepEqual([o.status, o.body], [410, 'removed member\n']);
});

test('MsgSnap carries the database, streamed; both sides report', async (t) => {
  const db = randomBytes(3 * 1024 * 1024 + 17);
  const { a, ha, hb } = await pair(t, db);
  const m = newMessage(MessageType.MsgSnap, 2n, { from: 1n, term: 4, snapshot: { data: new Uint8Array(0), metadata: { index: 42, term: 4, confState: { voters: [1n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } } as Message['snapshot'] });
  a.send([m]);
  await waitFor('snapshot received', () => hb.snapshots.length === 1 && ha.snapReports.length === 1, 10_000);
  assert.equal(hb.snapshots[0].m.snapshot?.metadata.index, 42);
  assert.ok(hb.snapshots[0].bytes.equals(db));
  assert.deepEqual(ha.snapReports, [[2n, true]]);
});

test('streams reconnect after the peer restarts; /members and /version answer', async (t) => {
  const { a, b, ha, hb } = await pair(t);
  a.syncPeers([2n]);
  await waitFor('up', () => a.activeSince(2n) > 0);
  const url = b.boundUrls[0];
  const members = await (await fetch(`${url}/members`)).text();
  assert.equal(members, hb.membersJson());
  assert.deepEqual(await (await fetch(`${url}/version`)).json(), { etcdserver: '3.4.23', etcdcluster: '3.4.0' });
  await b.close();
  await waitFor('down', () => a.activeSince(2n) === 0);
  const b2 = new PeerTransport({ host: hb, listenPeerUrls: [url] });
  await b2.listen();
  t.after(() => b2.close());
  await waitFor('up again', () => a.activeSince(2n) > 0, 10_000);
  const before = hb.got.length;
  a.send([msg(MessageType.MsgHeartbeat, 7)]);
  await waitFor('delivered after reconnect', () => hb.got.length === before + 1);
  void ha;
});

test('peer TLS with client certificate auth: same-CA peers talk, a peer from another CA is refused', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const dir = await mkdtemp(join(tmpdir(), 'rafthttp-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ca = (n: string) => ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${n}.key`, '-out', `${n}.crt`, '-days', '2', '-subj', `/CN=${n}`);
  const leaf = (n: string, caName: string) => {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${n}.key`, '-out', `${n}.csr`, '-subj', `/CN=${n}`);
    writeFileSync(join(dir, `${n}.ext`), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
    ssl('x509', '-req', '-in', `${n}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${n}.crt`, '-days', '2', '-extfile', `${n}.ext`);
  };
  ca('ca');
  ca('evil-ca');
  leaf('peer', 'ca');
  leaf('evil', 'evil-ca');
  const f = (n: string) => join(dir, n);
  const tls = { certFile: f('peer.crt'), keyFile: f('peer.key'), trustedCaFile: f('ca.crt'), clientCertAuth: true };
  const ha = fakeHost(1n, dir);
  const hb = fakeHost(2n, dir);
  const he = fakeHost(3n, dir);
  const a = new PeerTransport({ host: ha, listenPeerUrls: ['https://127.0.0.1:0'], tls });
  const bLog = captureLog();
  const b = new PeerTransport({ host: hb, listenPeerUrls: ['https://127.0.0.1:0'], tls, log: bLog });
  // the intruder trusts our CA (so it would accept our server) but presents its own client cert
  const e = new PeerTransport({ host: he, listenPeerUrls: ['https://127.0.0.1:0'], tls: { certFile: f('evil.crt'), keyFile: f('evil.key'), trustedCaFile: f('ca.crt'), clientCertAuth: true } });
  for (const x of [a, b, e]) await x.listen();
  t.after(async () => {
    for (const x of [a, b, e]) await x.close();
  });
  ha.peers.set(2n, b.boundUrls);
  he.peers.set(2n, b.boundUrls);
  // b counts both as members: only the certificate tells the intruder apart
  hb.peers.set(1n, a.boundUrls);
  hb.peers.set(3n, e.boundUrls);
  a.syncPeers([2n]);
  e.syncPeers([2n]);
  await waitFor('TLS stream up', () => a.activeSince(2n) > 0);
  a.send([msg(MessageType.MsgHeartbeat, 1)]);
  await waitFor('delivered over TLS', () => hb.got.length === 1);
  // the intruder's stream dials are refused in the TLS handshake (a's are not: only its show up)
  await waitFor('the intruder\'s connections rejected', () => bLog.lines.filter((l) => l.msg === 'rejected connection').length >= 2);
  assert.equal(e.activeSince(2n), 0, 'a peer with a certificate from another CA is refused');
  // short requests (forwarded lease renewals, promotions) carry the peer certificate too
  const renew = await a.request(2n, 'POST', '/leases', 5000, { contentType: 'application/json', data: '{"id":"abc"}' });
  assert.deepEqual(renew, { status: 200, body: '{"ttl":5}' });
  await assert.rejects(e.request(2n, 'POST', '/leases', 5000, { contentType: 'application/json', data: '{"id":"abc"}' }));
  await assert.rejects(() => new PeerTransport({ host: ha, listenPeerUrls: ['https://127.0.0.1:0'] }).listen(), /--peer-cert-file/);
});

// ---- the peer handler's checks and error boundary (issue 10: the peer port) ----

test('peer checks: versions, cluster ID, sender, removed member, receiver; each refusal is etcd answer and nothing is stepped', async (t) => {
  const { b, hb } = await pair(t);
  const url = b.boundUrls[0];
  const good: PeerHeaders = { clusterId: 'c1', from: '1', to: '2' };
  const cases: Array<[string, PeerHeaders, number, string]> = [
    ['wrong cluster ID', { ...good, clusterId: 'c2' }, 412, 'cluster ID mismatch\n'],
    ['no cluster ID', { from: '1', to: '2' }, 412, 'cluster ID mismatch\n'],
    ['unreadable sender', { ...good, from: 'zz' }, 404, 'invalid from\n'],
    ['sender too long', { ...good, from: '1'.repeat(17) }, 404, 'invalid from\n'],
    ['non-member sender', { ...good, from: '1234' }, 404, 'error sender not found\n'],
    ['sender claims to be the receiver', { ...good, from: '2' }, 404, 'error sender not found\n'],
    ['wrong receiver', { ...good, to: '3' }, 412, 'to field mismatch\n'],
    ['no receiver', { clusterId: 'c1', from: '1' }, 412, 'to field mismatch\n'],
  ];
  // stream dials name the dialer in the path (etcd's /raft/stream/<type>/<from>), the rest in X-Server-From
  const routes: Array<[string, string, (h: PeerHeaders) => string, Buffer | undefined]> = [
    ['GET', 'stream message', (h) => streamDial('message', h.from ?? ''), undefined],
    ['GET', 'stream msgapp', (h) => streamDial('msgapp', h.from ?? ''), undefined],
    ['POST', 'pipeline', () => '/raft', payload(msg(MessageType.MsgHeartbeat))],
    ['POST', 'snapshot', () => '/raft/snapshot', frame(msg(MessageType.MsgHeartbeat))],
    ['POST', 'leases', () => '/leases', Buffer.from('{"id":"1"}')],
  ];
  for (const [method, name, path, body] of routes) {
    for (const [what, h, status, text] of cases) {
      const o = await peerCall(url, method, path(h), h, body);
      assert.ok(isAnswer(o), `${name} ${what}: ${JSON.stringify(o)}`);
      assert.equal(o.status, status, `${name} ${what}`);
      assert.equal(o.body, text, `${name} ${what}`);
      assert.equal(o.headers['x-etcd-cluster-id'], 'c1');
      // etcd's stream handler names its version on every answer
      assert.equal(o.headers['x-server-version'], name.startsWith('stream') ? '3.4.23' : undefined, `${name} ${what}`);
    }
  }
  // raft routes check the member's versions first (etcd's checkClusterCompatibilityFromHeader)
  const versions: Array<[string, PeerHeaders]> = [
    ['no server version (etcd 2.0)', { ...good, 'x-server-version': undefined }],
    ['server version 2.3', { ...good, 'x-server-version': '2.3.8' }],
    ['unreadable server version', { ...good, 'x-server-version': 'x.y' }],
    ['minimum cluster version 3.5', { ...good, 'x-min-cluster-version': '3.5.0' }],
    ['unreadable minimum cluster version', { ...good, 'x-min-cluster-version': '3' }],
  ];
  for (const [method, name, path, body] of routes.filter((r) => r[1] !== 'leases')) {
    for (const [what, h] of versions) {
      const o = await peerCall(url, method, path(h), { ...h, clusterId: 'c2' }, body);
      assert.ok(isAnswer(o), `${name} ${what}`);
      assert.deepEqual([o.status, o.body], [412, 'incompatible version\n'], `${name} ${what}`);
    }
  }
  const newer = await peerCall(url, 'POST', '/raft', { ...good, 'x-server-version': '3.5.1', 'x-min-cluster-version': '3.0.0' }, payload(msg(MessageType.MsgHeartbeat, 9)));
  assert.ok(isAnswer(newer));
  assert.equal(newer.status, 204, 'a 3.5 member that still speaks 3.0 is admitted');
  hb.got.length = 0;
  // the stream type is checked after the cluster ID, before the sender (etcd's order)
  for (const p of ['/raft/stream/msgappv3/1', '/raft/stream/message/1/2', '/raft/stream/x']) {
    const wrong = await peerCall(url, 'GET', p, { ...good, from: undefined });
    assert.ok(isAnswer(wrong));
    assert.deepEqual([wrong.status, wrong.body], [404, 'invalid path\n'], p);
    const other = await peerCall(url, 'GET', p, { ...good, clusterId: 'c2' });
    assert.ok(isAnswer(other));
    assert.deepEqual([other.status, other.body], [412, 'cluster ID mismatch\n'], p);
  }
  for (const [what, h, status, text] of cases) {
    const o = await peerCall(url, 'GET', '/members/hashkv', h, Buffer.from('{}'));
    assert.ok(isAnswer(o), what);
    assert.deepEqual([o.status, o.body], [status, text], `/members/hashkv ${what}`);
  }
  const hash = await peerCall(url, 'GET', '/members/hashkv', good, Buffer.from('{}'));
  assert.ok(isAnswer(hash));
  assert.deepEqual([hash.status, JSON.parse(hash.body)], [200, { header: { revision: 5 }, hash: 77 }]);
  hb.removedIds.add(1n);
  for (const [method, name, path, body] of routes) {
    const removed = await peerCall(url, method, path(good), good, body);
    assert.ok(isAnswer(removed), name);
    assert.deepEqual([removed.status, removed.body], [410, 'removed member\n'], name);
  }
  assert.equal(hb.got.length, 0);
  assert.equal(hb.snapshots.length, 0);
});

test('stream dial: an admitted member gets 200 at once and reads framed messages and link heartbeats', async (t) => {
  const { a, b, hb } = await pair(t);
  // member 1's own transport is gone: the only dial of b's stream to 1 is this one
  await a.close();
  const url = new URL(streamDial('message', '1'), b.boundUrls[0]);
  const got: Buffer[] = [];
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(url, { headers: { 'x-etcd-cluster-id': 'c1', 'x-raft-to': '2', 'x-server-version': '3.4.23' } }, resolve);
    req.on('error', reject);
    req.end();
  });
  t.after(() => res.destroy());
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-server-version'], '3.4.23');
  assert.equal(res.headers['x-etcd-cluster-id'], 'c1');
  // the body is the frames as they are, until the connection closes
  assert.equal(res.headers['transfer-encoding'], undefined);
  assert.equal(res.headers.connection, 'close');
  res.on('data', (d: Buffer) => got.push(d));
  // b's messages to member 1 now go out in this answer
  b.send([newMessage(MessageType.MsgHeartbeat, 1n, { from: 2n, term: 3, index: 5 })]);
  const want = frame(newMessage(MessageType.MsgHeartbeat, 1n, { from: 2n, term: 3, index: 5 }));
  await waitFor('the frame arrives', () => Buffer.concat(got).includes(want));
  // and a link heartbeat within etcd's ConnReadTimeout/3
  await waitFor('a link heartbeat', () => Buffer.concat(got).includes(linkHeartbeatFrame), 4000);
  assert.equal(hb.got.length, 0);
});

test('pipeline: a body that does not decode or does not belong is refused on that connection; the listener keeps serving', async (t) => {
  const { a, b, hb, la } = await pair(t);
  const url = b.boundUrls[0];
  const h = { clusterId: 'c1', from: '1', to: '2' };
  // the 6 bytes, and their payload alone
  for (const body of [Buffer.from([0, 0, 0, 2, 0xff, 0xff]), Buffer.from([0xff, 0xff]), Buffer.alloc(0), Buffer.from([1, 99, 0])]) {
    const o = await peerCall(url, 'POST', '/raft', h, body);
    assert.ok(isAnswer(o));
    assert.deepEqual([o.status, o.body], [400, 'error unmarshalling raft message\n'], body.toString('hex'));
  }
  // a body over the frame limit is refused without being kept (the rest may be cut)
  const huge = await peerCall(url, 'POST', '/raft', h, Buffer.alloc(maxFrameBytes + 1, 1));
  if (isAnswer(huge)) assert.deepEqual([huge.status, huge.body], [400, 'error reading raft message\n']);
  // well-formed messages that do not belong: another sender's name, another receiver, a MsgSnap
  // without its database, a local-only type
  const refused: Array<[string, Message, number, string]> = [
    ['from another member', newMessage(MessageType.MsgHeartbeat, 2n, { from: 3n, term: 3 }), 400, 'raft message sender mismatch\n'],
    ['to another member', newMessage(MessageType.MsgHeartbeat, 3n, { from: 1n, term: 3 }), 412, 'to field mismatch\n'],
    ['MsgSnap by the pipeline', newMessage(MessageType.MsgSnap, 2n, { from: 1n, term: 3 }), 400, 'wrong raft message type\n'],
    ['MsgHup', newMessage(MessageType.MsgHup, 2n, { from: 1n }), 400, 'wrong raft message type\n'],
    ['a link heartbeat', newMessage(MessageType.MsgHeartbeat, 0n), 400, 'raft message sender mismatch\n'],
    ['forwarded MsgProp naming a non-member', forgedProposal(0x1234n, 2n), 400, 'raft message sender mismatch\n'],
  ];
  for (const [what, m, status, text] of refused) {
    const o = await peerCall(url, 'POST', '/raft', h, payload(m));
    assert.ok(isAnswer(o), what);
    assert.deepEqual([o.status, o.body], [status, text], what);
  }
  assert.equal(hb.got.length, 0, 'nothing refused reached raft');
  const ok = await peerCall(url, 'POST', '/raft', h, payload(msg(MessageType.MsgApp, 1)));
  assert.ok(isAnswer(ok));
  assert.deepEqual([ok.status, ok.body], [204, '']);
  assert.deepEqual(hb.got.map((m) => m.index), [1]);
  // the real peer still gets through
  a.syncPeers([2n]);
  await waitFor('streams up', () => writersUp(la));
  a.send([msg(MessageType.MsgHeartbeat, 2)]);
  await waitFor('delivered', () => hb.got.length === 2);
});

/**
 * A hostile "peer": answers every stream dial with what `script` writes (status, then body
 * chunks), and counts the dials. Member 1 (transport `a`) believes it is member 2.
 */
async function hostilePeer(t: { after(fn: () => Promise<void>): void }, script: (n: number, kind: string, res: http.ServerResponse) => void) {
  const dir = await mkdtemp(join(tmpdir(), 'rafthttp-hostile-'));
  const dials: string[] = [];
  const srv = http.createServer((req, res) => {
    if (req.method !== 'GET' || !req.url?.startsWith('/raft/stream/')) return void res.writeHead(404).end();
    const kind = req.url.split('/')[3];
    dials.push(kind);
    script(dials.filter((k) => k === kind).length, kind, res);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const ha = fakeHost(1n, dir);
  ha.peers.set(2n, [`http://127.0.0.1:${(srv.address() as AddressInfo).port}`]);
  const log = captureLog();
  const a = new PeerTransport({ host: ha, listenPeerUrls: ['http://127.0.0.1:0'], log });
  await a.listen();
  t.after(async () => {
    await a.close();
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });
  return { a, ha, dials, log };
}

for (const body of ['raw (read off the socket)', 'chunked (read through the HTTP parser)']) test(`stream reader, ${body} body: frames from the dialed peer are bounded, decoded safely and checked (type per stream, from the peer, to us); a bad one ends the connection, nothing of it reaches raft`, async (t) => {
  const good = (i: number) => frame(newMessage(MessageType.MsgHeartbeat, 1n, { from: 2n, term: 3, index: i }));
  const goodApp = (i: number) => frame(newMessage(MessageType.MsgApp, 1n, { from: 2n, term: 3, index: i }));
  // what the peer writes on the n-th dial of the message stream (then it ends or is cut)
  const attacks: Array<[string, Buffer[]]> = [
    ['the 6-byte crash frame', [good(1), Buffer.from([0, 0, 0, 2, 0xff, 0xff]), good(100)]],
    ['a 4 GiB length prefix', [good(2), lengthPrefix(0xffffffff), good(100)]],
    ['an empty frame', [good(3), rawFrame(new Uint8Array(0)), good(100)]],
    ['a message in another member\'s name', [good(4), frame(newMessage(MessageType.MsgHeartbeat, 1n, { from: 3n, term: 3 })), good(100)]],
    ['a message for another member', [good(5), frame(newMessage(MessageType.MsgHeartbeat, 3n, { from: 2n, term: 3 })), good(100)]],
    ['a MsgApp on the message stream', [good(6), goodApp(100), good(100)]],
    ['a MsgSnap on a stream', [good(7), frame(newMessage(MessageType.MsgSnap, 1n, { from: 2n, term: 3 })), good(100)]],
    ['a forged proposal from a non-member', [good(8), frame(forgedProposal(0x1234n, 1n)), good(100)]],
    ['a local-only MsgHup', [good(9), frame(newMessage(MessageType.MsgHup, 1n, { from: 2n })), good(100)]],
    ['a truncated frame, then the end', [good(10), good(100).subarray(0, 7)]],
  ];
  const { a, ha, dials, log } = await hostilePeer(t, (n, kind, res) => {
    res.useChunkedEncodingByDefault = body.startsWith('chunked');
    res.writeHead(200, { 'x-etcd-cluster-id': 'c1' });
    if (kind === 'msgapp') {
      // the msgapp stream: a heartbeat does not belong there
      res.write(Buffer.concat([goodApp(50), good(100), goodApp(100)]));
      return;
    }
    const attack = attacks[n - 1];
    if (attack === undefined) return void res.write(linkHeartbeatFrame);
    res.write(Buffer.concat(attack[1]));
    res.end();
  });
  a.syncPeers([2n]);
  await waitFor('every attack dialed and refused', () => dials.filter((k) => k === 'message').length > attacks.length, 20_000);
  const seen = ha.got.map((m) => `${MessageType[m.type]} ${m.index}`);
  assert.ok(!seen.includes('MsgHeartbeat 100') && !seen.includes('MsgApp 100'), `nothing after a bad frame, nor the bad frame: ${seen.join(', ')}`);
  // (a length prefix over the limit fails the whole chunk it arrives in: the frame before it may go too)
  for (let i = 1; i <= attacks.length; i++) if (i !== 2) assert.ok(seen.includes(`MsgHeartbeat ${i}`), `the good frame before attack ${i} was stepped`);
  assert.ok(seen.includes('MsgApp 50'));
  assert.ok(ha.got.every((m) => m.from === 2n && m.to === 1n && m.type !== MessageType.MsgProp));
  assert.ok(log.lines.some((l) => l.msg === 'lost TCP streaming connection with remote peer' && /wrong raft message type/.test(String(l.fields.error))));
  assert.ok(log.lines.some((l) => l.msg === 'lost TCP streaming connection with remote peer' && /exceeds the limit/.test(String(l.fields.error))));
});

test('stream reader: an answer from another cluster, a 410 and a silent peer', async (t) => {
  let mode = 'other-cluster';
  const { a, ha, dials, log } = await hostilePeer(t, (_n, _kind, res) => {
    if (mode === 'other-cluster') return void res.writeHead(200, { 'x-etcd-cluster-id': 'c2' }).write(frame(newMessage(MessageType.MsgHeartbeat, 1n, { from: 2n, term: 3 })));
    if (mode === 'removed') return void res.writeHead(410).end('removed member\n');
    res.writeHead(200, { 'x-etcd-cluster-id': 'c1' });
    res.flushHeaders(); // then nothing, not even link heartbeats
  });
  a.syncPeers([2n]);
  await waitFor('dialed', () => dials.length >= 4);
  assert.equal(ha.got.length, 0, 'nothing read from another cluster\'s answer');
  mode = 'removed';
  await waitFor('told it was removed', () => ha.removed > 0);
  mode = 'silent';
  const n = dials.length;
  await waitFor('a silent stream is given up after ConnReadTimeout and dialed again', () => log.lines.some((l) => /nothing read from the peer for 5000 ms/.test(String(l.fields.error))) && dials.length > n + 2, 15_000);
});

test('peer handler: an error thrown by raft or the host is a 500 on that connection, not a crash', async (t) => {
  const { b, hb } = await pair(t);
  hb.step = () => {
    throw new Error('raft refused it');
  };
  hb.receiveSnapshot = async () => {
    throw new Error('cannot install');
  };
  const url = b.boundUrls[0];
  const h = { clusterId: 'c1', from: '1', to: '2' };
  const o = await peerCall(url, 'POST', '/raft', h, payload(msg(MessageType.MsgHeartbeat)));
  assert.ok(isAnswer(o));
  assert.deepEqual([o.status, o.body], [500, 'error processing raft message\n']);
  const snap = newMessage(MessageType.MsgSnap, 2n, { from: 1n, term: 4, snapshot: { data: new Uint8Array(0), metadata: { index: 9, term: 4, confState: { voters: [1n, 2n], learners: [] } } } as Message['snapshot'] });
  const s = await peerCall(url, 'POST', '/raft/snapshot', h, [frame(snap), Buffer.from('db')]);
  assert.ok(isAnswer(s));
  assert.deepEqual([s.status, s.body], [500, 'failed to process raft message (cannot install)\n']);
  const v = await peerCall(url, 'GET', '/version', {});
  assert.ok(isAnswer(v) && v.status === 200);
});

test('peer snapshot: the head frame is checked before the database is read', async (t) => {
  const { b, hb } = await pair(t);
  const url = b.boundUrls[0];
  const h = { clusterId: 'c1', from: '1', to: '2' };
  const db = Buffer.alloc(4 * 1024 * 1024, 7);
  const snap = (from: bigint) => newMessage(MessageType.MsgSnap, 2n, { from, term: 4, snapshot: { data: new Uint8Array(0), metadata: { index: 9, term: 4, confState: { voters: [1n, 2n], learners: [] } } } as Message['snapshot'] });
  const cases: Array<[string, PeerHeaders, Buffer[], number[], RegExp]> = [
    ['a non-member', { ...h, from: '1234' }, [frame(snap(0x1234n)), db], [404], /^error sender not found\n$/],
    ['another cluster', { ...h, clusterId: 'bad' }, [frame(snap(1n)), db], [412], /^cluster ID mismatch\n$/],
    ['not a MsgSnap', h, [frame(msg(MessageType.MsgApp, 3)), db], [400], /^wrong raft message type\n$/],
    ['a head in another name', h, [frame(snap(3n)), db], [400], /^raft message sender mismatch\n$/],
    ['an undecodable head', h, [Buffer.from([0, 0, 0, 3, 1, 99, 0]), db], [400], /^failed to decode raft message \(raft codec: bad message type 99\)\n$/],
    ['a head of 4 GiB', h, [lengthPrefix(0xffffffff), db], [400], /exceeds the limit/],
    ['no head at all', h, [], [400], /^failed to decode raft message \(unexpected EOF\)\n$/],
  ];
  for (const [what, hd, body, statuses, text] of cases) {
    const o = await peerCall(url, 'POST', '/raft/snapshot', hd, body);
    // a refused upload may also be cut once the answer is sent (the rest is not read)
    if (!isAnswer(o)) continue;
    assert.ok(statuses.includes(o.status), `${what}: ${o.status} ${o.body}`);
    assert.match(o.body, text, what);
  }
  assert.equal(hb.snapshots.length, 0);
  const ok = await peerCall(url, 'POST', '/raft/snapshot', h, [frame(snap(1n)), Buffer.from('the database')]);
  assert.ok(isAnswer(ok));
  assert.equal(ok.status, 204);
  assert.equal(hb.snapshots[0].bytes.toString(), 'the database');
});

test('peer handler: unknown paths 404, wrong methods 405 with Allow, public reads need no headers', async (t) => {
  const { b } = await pair(t);
  const url = b.boundUrls[0];
  const nf = await peerCall(url, 'POST', '/raft/other', {});
  assert.ok(isAnswer(nf));
  assert.deepEqual([nf.status, nf.body], [404, '404 page not found\n']);
  // streams are dialed with GET, the pipeline and snapshots posted (etcd's Allow headers)
  for (const [method, path, allow] of [['POST', '/raft/stream/message/1', 'GET'], ['PUT', '/raft/stream/other', 'GET'], ['GET', '/raft', 'POST'], ['GET', '/raft/snapshot', 'POST'], ['DELETE', '/members', 'GET']]) {
    const m = await peerCall(url, method, path, {});
    assert.ok(isAnswer(m));
    assert.deepEqual([m.status, m.body, m.headers.allow], [405, 'Method Not Allowed\n', allow], `${method} ${path}`);
  }
  const members = await peerCall(url, 'GET', '/members', {});
  assert.ok(isAnswer(members) && members.status === 200 && members.headers['x-etcd-cluster-id'] === 'c1');
});
