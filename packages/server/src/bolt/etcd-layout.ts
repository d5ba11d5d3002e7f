// etcd 3.4's bucket contents <-> tsetcd's backend contents. tsetcd keeps the same bucket names
// but some compact encodings of its own; a snapshot must carry etcd's:
//   key       etcd: main(8 BE) '_' sub(8 BE) ['t'] -> mvccpb.KeyValue (tombstone: only the key)
//             ours: main(8 BE) sub(8 BE) ['t']     -> kv-codec layout
//   meta      consistent_index: 8 bytes BE in both; scheduledCompactRev / finishedCompactRev:
//             etcd a 17-byte revision key {main, sub 0}, ours 8 bytes BE
//   lease     8-byte BE ID -> etcd leasepb.Lease {ID 1, TTL 2, RemainingTTL 3}; ours 24 bytes
//   members   etcd: hex ID -> JSON of membership.Member; ours a tsetcdpb.Member
//   alarm     etcd: marshalled AlarmMember -> empty; ours memberID(8 BE) alarm(4 BE)
//   auth, authUsers, authRoles, members_removed, cluster: identical.

import { etcdserverpb, mvccpb, tsetcdpb } from '@tsetcd/proto';
import { Buckets, type Backend, type BackendReadView } from '../backend/backend.js';
import { TurnBudget } from '../loop/turn-budget.js';
import { encodeKv, encodeTombstone, etcdKvBytes } from '../mvcc/kv-codec.js';
import { etcdRevKey, isTombstoneKey, readRev, revKey } from '../mvcc/revision.js';
import { decodeLeaseRecord, encodeLeaseRecord } from '../lease/lessor.js';
import { etcdMemberJson } from '@tsetcd/common';

const etcdRevKeyBytes = 17;
const consistentIndexKey = 'consistent_index';
const compactRevKeys = new Set(['scheduledCompactRev', 'finishedCompactRev']);

export class EtcdLayoutError extends Error {
  readonly code = 'ETCD_LAYOUT';
}

/** Every bucket etcd 3.4 creates, present (maybe empty) in every snapshot. */
export const etcdBucketNames: readonly string[] = Object.values(Buckets);

function byKey(a: [Buffer, Buffer], b: [Buffer, Buffer]): number {
  return Buffer.compare(a[0], b[0]);
}

function etcdCompactRev(ours: Buffer): Buffer {
  const out = Buffer.alloc(etcdRevKeyBytes);
  ours.copy(out, 0, 0, 8);
  out[8] = 0x5f; // '_'
  return out;
}

/** encoding/json of etcd's membership.Member (field order and omitempty as in Go). */
export function etcdMemberJsonOf(m: tsetcdpb.Member): string {
  return etcdMemberJson({ id: m.ID, name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner });
}

/** One tsetcd entry in etcd's form (the meta bucket's consistent index: `consistentIndex`). */
export function toEtcd(bucket: string, k: Buffer, v: Buffer, consistentIndex: number): [Buffer, Buffer] {
  switch (bucket) {
    case Buckets.key: {
      const tomb = isTombstoneKey(k);
      return [etcdRevKey(k), etcdKvBytes(v, readRev(k, 0), tomb)];
    }
    case Buckets.meta: {
      const name = k.toString('latin1');
      if (name === consistentIndexKey) {
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt(consistentIndex));
        return [k, b];
      }
      if (compactRevKeys.has(name) && v.length === 8) return [k, etcdCompactRev(v)];
      return [k, v];
    }
    case Buckets.lease: {
      const r = decodeLeaseRecord(v);
      return [k, Buffer.from(tsetcdpb.Lease.encode({ ID: r.id, TTL: BigInt(r.ttlSeconds), RemainingTTL: BigInt(r.remainingTtlSeconds) }).finish())];
    }
    case Buckets.members:
      return [k, Buffer.from(etcdMemberJsonOf(tsetcdpb.Member.decode(v)))];
    case Buckets.alarm:
      return [Buffer.from(etcdserverpb.AlarmMember.encode({ memberID: k.readBigUInt64BE(0), alarm: k.readInt32BE(8) }).finish()), Buffer.alloc(0)];
    default:
      return [k, v];
  }
}

/** buckets whose conversion adds or renames keys: small, converted whole and re-sorted */
const resortedBuckets = new Set<string>([Buckets.meta, Buckets.alarm]);
const visitChunkEntries = 256;

export interface EtcdLayoutVisitor {
  beginBucket(name: Buffer): void;
  entry(key: Buffer, value: Buffer): void;
  /** awaited when it returns a promise */
  endBucket(): void | Promise<void>;
  /** awaited between slices (e.g. to write out what was produced) */
  between?(): Promise<void>;
}

/**
 * Walks a backend read view in etcd's layout and bbolt's order (buckets by name, each bucket's
 * entries by key), in slices of the event loop. Every bucket etcd creates is visited, maybe
 * empty; the meta bucket always carries the consistent index committed with the data.
 */
export async function visitEtcdLayout(view: BackendReadView, v: EtcdLayoutVisitor, budget = new TurnBudget()): Promise<void> {
  const present = new Set(view.bucketNames());
  const names = [...new Set([...etcdBucketNames, ...present])].map((n) => Buffer.from(n, 'latin1')).sort(Buffer.compare);
  const meta = present.has(Buckets.meta) ? view.range(Buckets.meta) : [];
  const ciEntry = meta.find(([k]) => k.toString('latin1') === consistentIndexKey);
  const ci = ciEntry === undefined ? 0 : Number(ciEntry[1].readBigUInt64BE(0));
  for (const nameBuf of names) {
    const name = nameBuf.toString('latin1');
    v.beginBucket(nameBuf);
    if (resortedBuckets.has(name)) {
      const entries = (name === Buckets.meta ? meta : present.has(name) ? view.range(name) : []).map(([k, val]) => toEtcd(name, k, val, ci));
      if (name === Buckets.meta && ciEntry === undefined) entries.push(toEtcd(name, Buffer.from(consistentIndexKey, 'latin1'), Buffer.alloc(8), ci));
      for (const [k, val] of entries.sort(byKey)) v.entry(k, val);
    } else if (present.has(name)) {
      // the other buckets' conversions keep the key order: streamed
      let from: Buffer | undefined;
      for (;;) {
        const chunk = view.range(name, from, undefined, visitChunkEntries);
        for (const [k, val] of chunk) {
          const [ek, ev] = toEtcd(name, k, val, ci);
          v.entry(ek, ev);
        }
        if (chunk.length < visitChunkEntries) break;
        from = Buffer.concat([chunk[chunk.length - 1][0], Buffer.of(0)]);
        await v.between?.();
        await budget.pause();
      }
    }
    await v.endBucket();
  }
}

// ---- etcd -> tsetcd ----

interface EtcdMemberJson {
  id?: number | string;
  peerURLs?: string[] | null;
  isLearner?: boolean;
  name?: string;
  clientURLs?: string[] | null;
}

/** One etcd entry in tsetcd's form (a member's ID comes from the hex bucket key: exact beyond 2^53). */
function fromEtcd(bucket: string, k: Buffer, v: Buffer): [Buffer, Buffer] | undefined {
  switch (bucket) {
    case Buckets.key: {
      if (k.length < etcdRevKeyBytes || k[8] !== 0x5f) throw new EtcdLayoutError(`key bucket: bad revision key ${k.toString('hex')}`);
      const main = readRev(k, 0);
      const sub = readRev(k, 9);
      const tomb = k.length === etcdRevKeyBytes + 1 && k[etcdRevKeyBytes] === 0x74;
      const kv = mvccpb.KeyValue.decode(v);
      const key = Buffer.from(kv.key);
      return [revKey(main, sub, tomb), tomb ? encodeTombstone(key) : encodeKv(key, kv.createRevision, kv.version, kv.lease, Buffer.from(kv.value))];
    }
    case Buckets.meta: {
      const name = k.toString('latin1');
      if (compactRevKeys.has(name) && v.length === etcdRevKeyBytes) return [k, Buffer.from(v.subarray(0, 8))];
      return [k, v];
    }
    case Buckets.lease: {
      const l = tsetcdpb.Lease.decode(v);
      return [k, encodeLeaseRecord({ id: l.ID, ttlSeconds: Number(l.TTL), remainingTtlSeconds: Number(l.RemainingTTL) })];
    }
    case Buckets.members: {
      const j = JSON.parse(v.toString('utf8')) as EtcdMemberJson;
      const m: tsetcdpb.Member = { ID: BigInt('0x' + k.toString('latin1')), name: j.name ?? '', peerUrls: j.peerURLs ?? [], clientUrls: j.clientURLs ?? [], isLearner: j.isLearner === true };
      return [k, Buffer.from(tsetcdpb.Member.encode(m).finish())];
    }
    case Buckets.alarm: {
      const a = etcdserverpb.AlarmMember.decode(k);
      const b = Buffer.alloc(12);
      b.writeBigUInt64BE(a.memberID, 0);
      b.writeInt32BE(a.alarm, 8);
      return [b, Buffer.alloc(0)];
    }
    default:
      return [k, v];
  }
}

/**
 * Writes etcd-layout buckets (e.g. read from an etcd snapshot / bbolt backend) into an empty
 * tsetcd backend, with the consistent index of the meta bucket. The caller commits.
 */
export function importEtcdBuckets(backend: Backend, buckets: Iterable<{ name: string; entries: Iterable<[Buffer, Buffer]> }>): void {
  for (const { name, entries } of buckets) {
    for (const [k, v] of entries) {
      if (name === Buckets.meta && k.toString('latin1') === consistentIndexKey) {
        backend.setConsistentIndex(Number(v.readBigUInt64BE(0)));
        continue;
      }
      const kv = fromEtcd(name, Buffer.from(k), Buffer.from(v));
      if (kv !== undefined) backend.put(name, kv[0], kv[1]);
    }
  }
}
