// Snapshot file format: etcd's (snap/snapshotter.go), so `etcdctl backup` / `etcdctl migrate`
// read a tsetcd member's snapshots and tsetcd loads the ones they copy:
//
//   snappb.Snapshot   {1: crc varint (uint32), 2: data bytes}
//     crc             CRC-32C (Castagnoli) of data
//     data            raftpb.Snapshot {1: data bytes (the state machine: etcd's v2 store JSON),
//                                      2: metadata {1: conf_state {1: voters, 2: learners (repeated
//                                         uint64, unpacked as etcd writes them; packed read too)},
//                                         2: index, 3: term}}
//
// Files are named `<term>-<index>.snap` with both numbers as 16 hex digits.

import type { SnapshotMetadata } from '@tsetcd/raft';
import { SnapInvalidError } from './errors.js';
import { crc32c, decodePbFields, encodeVarint, pbBytes, pbUint, ProtobufWireError, readVarint } from '@tsetcd/common';

export const snapSuffix = '.snap';
export const snapBrokenSuffix = '.broken';
export const snapTmpSuffix = '.tmp';
/** Members per role a snapshot may list (sanity limit when decoding). */
export const snapMembersMax = 1 << 16;

const namePattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function snapFileName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}${snapSuffix}`;
}

export function parseSnapFileName(name: string): { term: number; index: number } | undefined {
  const m = namePattern.exec(name);
  if (!m) return undefined;
  const term = Number.parseInt(m[1], 16);
  const index = Number.parseInt(m[2], 16);
  if (!Number.isSafeInteger(term) || !Number.isSafeInteger(index)) return undefined;
  return { term, index };
}

function checkNumber(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new SnapInvalidError(`snap: ${what} must be a non-negative safe integer, got ${n}`);
}

const varintField = (field: number, v: number | bigint): Buffer => Buffer.from([...encodeVarint(field << 3), ...encodeVarint(v)]);
const bytesHead = (field: number, len: number): Buffer => Buffer.from([...encodeVarint((field << 3) | 2), ...encodeVarint(len)]);

/** The whole file's bytes for a snapshot. */
export function encodeSnapFile(meta: SnapshotMetadata, data: Uint8Array): Buffer {
  checkNumber(meta.index, 'index');
  checkNumber(meta.term, 'term');
  const conf = Buffer.concat([...meta.confState.voters.map((id) => varintField(1, id)), ...meta.confState.learners.map((id) => varintField(2, id))]);
  const metaMsg = Buffer.concat([bytesHead(1, conf.length), conf, varintField(2, meta.index), varintField(3, meta.term)]);
  const raftSnap = Buffer.concat([bytesHead(1, data.length), data, bytesHead(2, metaMsg.length), metaMsg]);
  return Buffer.concat([varintField(1, crc32c(raftSnap)), bytesHead(2, raftSnap.length), raftSnap]);
}

function ids(f: Map<number, Array<bigint | Buffer>>, n: number): bigint[] {
  const out: bigint[] = [];
  for (const v of f.get(n) ?? []) {
    if (typeof v === 'bigint') out.push(v);
    else {
      // packed
      const pos = { o: 0 };
      while (pos.o < v.length) out.push(BigInt.asUintN(64, readVarint(v, pos)));
    }
    if (out.length > snapMembersMax) throw 'member list too long';
  }
  return out;
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw `${what} ${v} is too large`;
  return Number(v);
}

/** Parses a whole file. Throws a string reason on bad input. */
export function decodeSnapFile(file: Buffer): { meta: SnapshotMetadata; data: Buffer } {
  try {
    if (file.length === 0) throw 'empty snapshot';
    const outer = decodePbFields(file);
    const raftSnap = pbBytes(outer, 2);
    const crc = Number(pbUint(outer, 1));
    if (raftSnap.length === 0 || crc === 0) throw 'empty snapshot';
    if (crc32c(raftSnap) !== crc) throw 'checksum mismatch';
    const snap = decodePbFields(raftSnap);
    const metaMsg = decodePbFields(pbBytes(snap, 2));
    const conf = decodePbFields(pbBytes(metaMsg, 1));
    const meta: SnapshotMetadata = {
      index: safeNumber(pbUint(metaMsg, 2), 'index'),
      term: safeNumber(pbUint(metaMsg, 3), 'term'),
      confState: { voters: ids(conf, 1), learners: ids(conf, 2) },
    };
    return { meta, data: pbBytes(snap, 1) };
  } catch (e) {
    if (e instanceof ProtobufWireError) throw e.message;
    throw e;
  }
}
