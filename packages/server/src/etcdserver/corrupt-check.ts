// Data-corruption checks between members (etcd's corrupt.go), over the peers' /members/hashkv:
// - the initial check (--experimental-initial-corrupt-check): a restarted member compares its
//   KV hash with every peer's at its own revision before it serves anything, and refuses to
//   start on a mismatch at the same compact revision;
// - the periodic check (--experimental-corrupt-check-time): the leader compares hashes with the
//   followers and raises the CORRUPT alarm (member 0, as etcd 3.4 does) on a mismatch.

import * as http from 'node:http';
import * as https from 'node:https';
import { etcdserverpb } from '@tsetcd/proto';
import type { ServerView } from './server-view.js';
import { EtcdError, idToHex, readUpTo } from '@tsetcd/common';
import { PeerHeader } from '../rafthttp/peer-headers.js';

export interface PeerHash {
  hash: number;
  revision: bigint;
  compactRevision: bigint;
}

/** the largest /members/hashkv answer read */
const maxHashAnswerBytes = 65536;

/** What the checks read of the member (its API view). */
type CheckedMember = Pick<ServerView, 'memberId' | 'clusterId' | 'cluster' | 'log' | 'requestTimeoutMs' | 'hashKV' | 'linearizableReadNotify' | 'propose' | 'isLeader' | 'isStopped'>;

type PeerAnswer = { id: bigint; eps: string[]; resp?: PeerHash; err?: 'compacted' | 'future' | string };

/** The errors a /members/hashkv answer may carry (etcd's mvcc messages). */
const compactedText = EtcdError.mvccCompacted.message;
const futureText = EtcdError.mvccFutureRev.message;

/**
 * GET <peer>/members/hashkv with a JSON HashKVRequest body, as member `o.from` of cluster
 * `o.clusterId` asking member `o.to` (the peer headers its peer listener requires).
 */
export function fetchPeerHashKV(peerUrl: string, rev: bigint, o: { tls?: https.RequestOptions; timeoutMs: number; clusterId: bigint; from: bigint; to: bigint }): Promise<PeerHash> {
  const url = new URL('/members/hashkv', peerUrl);
  const body = JSON.stringify(rev === 0n ? {} : { revision: Number(rev) });
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), [PeerHeader.clusterId]: idToHex(o.clusterId), [PeerHeader.from]: idToHex(o.from), [PeerHeader.to]: idToHex(o.to) }, timeout: o.timeoutMs, ...(url.protocol === 'https:' ? o.tls : {}) }, (res) => {
      void readUpTo(res, maxHashAnswerBytes).then((r) => {
        const text = r.bytes.toString('utf8');
        if (r.failed) return reject(new Error('connection closed before the end of the answer'));
        if (res.statusCode === 400 && text.includes(compactedText)) return reject(new Error('compacted'));
        if (res.statusCode === 400 && text.includes(futureText)) return reject(new Error('future'));
        if (res.statusCode !== 200) return reject(new Error(`unknown error: ${text.trim()}`));
        try {
          const j = JSON.parse(text) as { header?: { revision?: number }; hash?: number; compact_revision?: number };
          resolve({ hash: Number(j.hash ?? 0) >>> 0, revision: BigInt(j.header?.revision ?? 0), compactRevision: BigInt(j.compact_revision ?? 0) });
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded')));
    req.on('error', reject);
    req.end(body);
  });
}

async function peerHashes(s: CheckedMember, rev: bigint, tls: https.RequestOptions | undefined): Promise<PeerAnswer[]> {
  const out: PeerAnswer[] = [];
  for (const m of s.cluster.members()) {
    if (m.id === s.memberId || m.peerUrls.length === 0) continue;
    let last = '';
    let got: PeerHash | undefined;
    for (const ep of m.peerUrls) {
      try {
        got = await fetchPeerHashKV(ep, rev, { tls, timeoutMs: s.requestTimeoutMs(), clusterId: s.clusterId, from: s.memberId, to: m.id });
        break;
      } catch (e) {
        last = (e as Error).message;
        s.log.warn('failed hash kv request', { 'local-member-id': idToHex(s.memberId), 'requested-revision': Number(rev), 'remote-peer-endpoint': ep, error: last });
      }
    }
    out.push(got ? { id: m.id, eps: m.peerUrls, resp: got } : { id: m.id, eps: m.peerUrls, err: last });
  }
  return out;
}

/** etcd's CheckInitialHashKV. Throws "<id> found data inconsistency with peers" on a mismatch. */
export async function checkInitialHashKV(s: CheckedMember, tls?: https.RequestOptions): Promise<void> {
  const id = idToHex(s.memberId);
  s.log.info('starting initial corruption check', { 'local-member-id': id, timeout: `${s.requestTimeoutMs() / 1000}s` });
  const h = await s.hashKV(0n);
  const rev = h.revision;
  let mismatch = 0;
  for (const p of await peerHashes(s, rev, tls)) {
    const base = { 'local-member-id': id, 'local-member-revision': Number(rev), 'local-member-compact-revision': Number(h.compactRevision), 'local-member-hash': h.hash, 'remote-peer-id': idToHex(p.id), 'remote-peer-endpoints': p.eps };
    if (p.resp) {
      if (p.resp.hash === h.hash) continue;
      const fields = { ...base, 'remote-peer-revision': Number(p.resp.revision), 'remote-peer-compact-revision': Number(p.resp.compactRevision), 'remote-peer-hash': p.resp.hash };
      if (p.resp.compactRevision === h.compactRevision) {
        s.log.warn('found different hash values from remote peer', fields);
        mismatch++;
      } else {
        s.log.warn('found different compact revision values from remote peer', fields);
      }
    } else if (p.err === 'future') {
      s.log.warn('cannot fetch hash from slow remote peer', base);
    } else if (p.err === 'compacted') {
      s.log.warn('cannot fetch hash from remote peer; local member is behind', base);
    }
  }
  if (mismatch > 0) throw new Error(`${id} found data inconsistency with peers`);
  s.log.info('initial corruption checking passed; no corruption', { 'local-member-id': id });
}

/** etcd's checkHashKV (leader only): raises the CORRUPT alarm when a follower's data differs. */
export async function checkHashKV(s: CheckedMember, tls?: https.RequestOptions): Promise<void> {
  const h = await s.hashKV(0n);
  const peers = await peerHashes(s, h.revision, tls);
  await s.linearizableReadNotify();
  const h2 = await s.hashKV(0n);
  let alarmed = false;
  const mismatch = (): void => {
    if (alarmed) return;
    alarmed = true;
    // which member is corrupted is not known: etcd 3.4 raises the alarm for member 0
    s.propose({ alarm: { action: etcdserverpb.AlarmRequest_AlarmAction.ACTIVATE, memberID: 0n, alarm: etcdserverpb.AlarmType.CORRUPT } }).catch((e) => s.log.warn('failed to raise the CORRUPT alarm', { error: String(e) }));
  };
  if (h2.hash !== h.hash && h2.revision === h.revision && h2.compactRevision === h.compactRevision) {
    s.log.warn('found hash mismatch', { 'revision-1': Number(h.revision), 'compact-revision-1': Number(h.compactRevision), 'hash-1': h.hash, 'revision-2': Number(h2.revision), 'compact-revision-2': Number(h2.compactRevision), 'hash-2': h2.hash });
    mismatch();
  }
  let checked = 0;
  for (const p of peers) {
    if (!p.resp) continue;
    checked++;
    if (p.resp.revision > h2.revision) {
      s.log.warn("revision from follower must be less than or equal to leader's", { 'leader-revision': Number(h2.revision), 'follower-revision': Number(p.resp.revision), 'follower-peer-id': idToHex(p.id) });
      mismatch();
    }
    if (p.resp.compactRevision > h2.compactRevision) {
      s.log.warn("compact revision from follower must be less than or equal to leader's", { 'leader-compact-revision': Number(h2.compactRevision), 'follower-compact-revision': Number(p.resp.compactRevision), 'follower-peer-id': idToHex(p.id) });
      mismatch();
    }
    if (p.resp.compactRevision === h.compactRevision && p.resp.hash !== h.hash) {
      s.log.warn('same compact revision then hashes must match', { 'leader-compact-revision': Number(h2.compactRevision), 'leader-hash': h.hash, 'follower-compact-revision': Number(p.resp.compactRevision), 'follower-hash': p.resp.hash, 'follower-peer-id': idToHex(p.id) });
      mismatch();
    }
  }
  s.log.info('finished peer corruption check', { 'number-of-peers-checked': checked });
}

/** etcd's monitorKVHash: every `intervalMs`, the leader checks. Returns a stop function. */
export function monitorKVHash(s: CheckedMember, intervalMs: number, tls?: https.RequestOptions): () => void {
  s.log.info('enabled corruption checking', { 'local-member-id': idToHex(s.memberId), interval: `${intervalMs / 1000}s` });
  let running = false;
  const t = setInterval(() => {
    if (running || !s.isLeader() || s.isStopped()) return;
    running = true;
    checkHashKV(s, tls)
      .catch((e) => s.log.warn('failed to check hash KV', { error: String((e as Error).message ?? e) }))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  t.unref();
  return () => clearInterval(t);
}
