// The peer transport between two in-process endpoints with scripted hosts: framing, the two
// streams, cluster-ID checks, removed members, snapshots streamed with the database, reconnects;
// the peer handler's checks and error boundary against hostile requests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MessageType, newMessage, type Message } from '@tsetcd/raft';
import { PeerTransport, type RaftHost } from '../src/rafthttp/peer-transport.js';
import { FrameDecoder, encodeFrame } from '../src/rafthttp/framing.js';
import { peerCall, isAnswer, frame, rawFrame, lengthPrefix, forgedProposal, type PeerHeaders } from './peer-port-kit.js';
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
});

interface Fake extends RaftHost {
  got: Message[];
  unreachable: bigint[];
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
    snapshots: [],
    snapReports: [],
    removed: 0,
    peers: new Map(),
    removedIds: new Set(),
    step: (m) => void h.got.push(m),
    reportUnreachable: (p) => void h.unreachable.push(p),
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

async function pair(t: { after(fn: () => Promise<void>): void }, db?: Buffer) {
  const dir = await mkdtemp(join(tmpdir(), 'rafthttp-'));
  const ha = fakeHost(1n, dir, db);
  const hb = fakeHost(2n, dir, db);
  const a = new PeerTransport({ host: ha, listenPeerUrls: ['http://127.0.0.1:0'] });
  const bLog = captureLog();
  const b = new PeerTransport({ host: hb, listenPeerUrls: ['http://127.0.0.1:0'], log: bLog });
  await a.listen();
  await b.listen();
  ha.peers.set(2n, b.boundUrls);
  hb.peers.set(1n, a.boundUrls);
  t.after(async () => {
    await a.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { a, b, ha, hb, dir, bLog };
}

const msg = (type: MessageType, index = 0): Message => newMessage(type, 2n, { from: 1n, term: 3, index, commit: index });

test('messages reach the peer in order on their stream; MsgApp separately from heartbeats', async (t) => {
  const { a, ha, hb } = await pair(t);
  a.syncPeers([1n, 2n]);
  await waitFor('streams up', () => a.activeSince(2n) > 0);
  // the msgapp stream opens on its own: probe it until a MsgApp gets through
  await waitFor('msgapp stream up', () => {
    if (hb.got.some((m) => m.type === MessageType.MsgApp)) return true;
    a.send([msg(MessageType.MsgApp, 0)]);
    return false;
  });
  hb.got.length = 0;
  ha.unreachable.length = 0;
  for (let i = 1; i <= 200; i++) a.send([msg(MessageType.MsgApp, i), msg(MessageType.MsgHeartbeat, i)]);
  await waitFor('all delivered', () => hb.got.length === 400);
  const apps = hb.got.filter((m) => m.type === MessageType.MsgApp).map((m) => m.index);
  const hbs = hb.got.filter((m) => m.type === MessageType.MsgHeartbeat).map((m) => m.index);
  assert.deepEqual(apps, [...Array(200).keys()].map((i) => i + 1));
  assert.deepEqual(hbs, [...Array(200).keys()].map((i) => i + 1));
  assert.deepEqual(ha.unreachable, []);
});

test('a peer of another cluster refuses the streams; messages to it are reported unreachable', async (t) => {
  const { a, ha, hb, bLog } = await pair(t);
  hb.clusterIdValue = 0xdeadn;
  a.syncPeers([2n]);
  // both streams' dials refused by the peer
  const refused = (path: string) => bLog.lines.some((l) => l.msg === 'refused peer request' && l.fields.status === 412 && l.fields.path === path);
  await waitFor('both stream dials refused', () => refused('/raft/stream/message') && refused('/raft/stream/msgapp'));
  assert.equal(a.activeSince(2n), 0);
  a.send([msg(MessageType.MsgHeartbeat)]);
  assert.deepEqual(ha.unreachable, [2n]);
  assert.equal(hb.got.length, 0);
});

test('a removed member is told so (HTTP 410) and its open streams are cut', async (t) => {
  const { a, b, ha, hb } = await pair(t);
  a.syncPeers([2n]);
  await waitFor('streams up', () => a.activeSince(2n) > 0);
  hb.removedIds.add(1n);
  b.syncPeers([2n]);
  await waitFor('removal noticed', () => ha.removed > 0);
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

test('peer checks: cluster ID, sender, removed member, receiver; each refusal is etcd answer and nothing is stepped', async (t) => {
  const { b, hb } = await pair(t);
  const url = b.boundUrls[0];
  const good = { clusterId: 'c1', from: '1', to: '2' };
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
  for (const path of ['/raft/stream/message', '/raft/stream/msgapp', '/raft/snapshot', '/leases']) {
    for (const [what, h, status, body] of cases) {
      const o = await peerCall(url, 'POST', path, h, frame(msg(MessageType.MsgHeartbeat)));
      assert.ok(isAnswer(o), `${path} ${what}: ${JSON.stringify(o)}`);
      assert.equal(o.status, status, `${path} ${what}`);
      assert.equal(o.body, body, `${path} ${what}`);
      assert.equal(o.headers['x-etcd-cluster-id'], 'c1');
    }
  }
  for (const [what, h, status, body] of cases) {
    const o = await peerCall(url, 'GET', '/members/hashkv', h, Buffer.from('{}'));
    assert.ok(isAnswer(o), what);
    assert.deepEqual([o.status, o.body], [status, body], `/members/hashkv ${what}`);
  }
  const hash = await peerCall(url, 'GET', '/members/hashkv', good, Buffer.from('{}'));
  assert.ok(isAnswer(hash));
  assert.deepEqual([hash.status, JSON.parse(hash.body)], [200, { header: { revision: 5 }, hash: 77 }]);
  hb.removedIds.add(1n);
  const removed = await peerCall(url, 'POST', '/raft/stream/message', good, frame(msg(MessageType.MsgHeartbeat)));
  assert.ok(isAnswer(removed));
  assert.deepEqual([removed.status, removed.body], [410, 'removed member\n']);
  assert.equal(hb.got.length, 0);
  assert.equal(hb.snapshots.length, 0);
});

test('peer stream: a frame that does not decode is answered 400 on that connection; the listener keeps serving', async (t) => {
  const { a, b, hb } = await pair(t);
  const url = b.boundUrls[0];
  const h = { clusterId: 'c1', from: '1', to: '2' };
  // the 6 bytes: a 2-byte frame with format version 255
  const crashFrame = Buffer.from([0, 0, 0, 2, 0xff, 0xff]);
  const crash = await peerCall(url, 'POST', '/raft/stream/message', h, crashFrame);
  assert.ok(isAnswer(crash));
  assert.deepEqual([crash.status, crash.body], [400, 'failed to decode raft message (raft codec: unknown message format version 255)\n']);
  const huge = await peerCall(url, 'POST', '/raft/stream/message', h, lengthPrefix(0xffffffff));
  assert.ok(isAnswer(huge));
  assert.equal(huge.status, 400);
  assert.match(huge.body, /^failed to decode raft message \(rafthttp: frame of 4294967295 bytes exceeds the limit/);
  const cut = await peerCall(url, 'POST', '/raft/stream/message', h, frame(msg(MessageType.MsgHeartbeat)).subarray(0, 9));
  assert.ok(isAnswer(cut));
  assert.deepEqual([cut.status, cut.body], [400, 'failed to decode raft message (unexpected EOF)\n']);
  // well-formed messages that do not belong: another sender's name, another receiver, a MsgSnap
  // without its database, a local-only type, a MsgApp on the message stream
  const refused: Array<[string, Message, number, string]> = [
    ['from another member', newMessage(MessageType.MsgHeartbeat, 2n, { from: 3n, term: 3 }), 400, 'raft message sender mismatch\n'],
    ['to another member', newMessage(MessageType.MsgHeartbeat, 3n, { from: 1n, term: 3 }), 412, 'to field mismatch\n'],
    ['MsgSnap on a stream', newMessage(MessageType.MsgSnap, 2n, { from: 1n, term: 3 }), 400, 'wrong raft message type\n'],
    ['MsgHup', newMessage(MessageType.MsgHup, 2n, { from: 1n }), 400, 'wrong raft message type\n'],
    ['MsgApp on the message stream', msg(MessageType.MsgApp, 1), 400, 'wrong raft message type\n'],
    ['forwarded MsgProp naming a non-member', forgedProposal(0x1234n, 2n), 400, 'raft message sender mismatch\n'],
  ];
  for (const [what, m, status, body] of refused) {
    const o = await peerCall(url, 'POST', '/raft/stream/message', h, frame(m));
    assert.ok(isAnswer(o), what);
    assert.deepEqual([o.status, o.body], [status, body], what);
  }
  assert.equal(hb.got.length, 0, 'nothing refused reached raft');
  // an empty frame is no message either
  const empty = await peerCall(url, 'POST', '/raft/stream/message', h, rawFrame(new Uint8Array(0)));
  assert.ok(isAnswer(empty));
  assert.deepEqual([empty.status, empty.body], [400, 'failed to decode raft message (raft codec: unexpected end of input)\n']);
  // a stream that announces its version (as members' do) is answered at once; a bad frame then ends it
  const member = await peerCall(url, 'POST', '/raft/stream/message', { ...h, 'x-server-version': '3.4.23' }, crashFrame);
  assert.ok(isAnswer(member));
  assert.deepEqual([member.status, member.body], [200, '']);
  // a bad frame after good ones: the good ones were stepped, the stream ends
  const late = await peerCall(url, 'POST', '/raft/stream/message', h, [frame(msg(MessageType.MsgHeartbeat, 1)), Buffer.from([0, 0, 0, 1, 9])]);
  assert.ok(isAnswer(late));
  assert.equal(late.status, 200);
  assert.deepEqual(hb.got.map((m) => m.index), [1]);
  // the real peer still gets through
  a.syncPeers([2n]);
  await waitFor('streams up', () => a.activeSince(2n) > 0);
  a.send([msg(MessageType.MsgHeartbeat, 2)]);
  await waitFor('delivered', () => hb.got.length === 2);
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
  const o = await peerCall(url, 'POST', '/raft/stream/message', h, frame(msg(MessageType.MsgHeartbeat)));
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
  const nf = await peerCall(url, 'POST', '/raft/stream/other', {});
  assert.ok(isAnswer(nf));
  assert.deepEqual([nf.status, nf.body], [404, '404 page not found\n']);
  const m = await peerCall(url, 'GET', '/raft/stream/message', {});
  assert.ok(isAnswer(m));
  assert.deepEqual([m.status, m.body, m.headers.allow], [405, 'Method Not Allowed\n', 'POST']);
  const pm = await peerCall(url, 'DELETE', '/members', {});
  assert.ok(isAnswer(pm));
  assert.deepEqual([pm.status, pm.headers.allow], [405, 'GET']);
  const members = await peerCall(url, 'GET', '/members', {});
  assert.ok(isAnswer(members) && members.status === 200 && members.headers['x-etcd-cluster-id'] === 'c1');
});
