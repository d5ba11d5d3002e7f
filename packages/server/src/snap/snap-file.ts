// Snapshot file format (our own; integers little endian):
//
//   "TSETSNAP"                  8 bytes magic
//   u32 version (1)
//   u32 metaBytes
//   meta: u64 index, u64 term, u32 voterCount, u64 voters..., u32 learnerCount, u64 learners...
//   data                        opaque state-machine bytes (streamed)
//   u64 dataBytes               trailer: data length, so the data can be written without knowing it up front
//   u32 crc32c                  of every byte before this field
//
// Files are named `<term>-<index>.snap` with both numbers as 16 hex digits (etcd's naming).

import type { SnapshotMetadata } from '@tsetcd/raft';
import { SnapInvalidError } from './errors.js';
import { readU64LE, writeU64LE } from '@tsetcd/common';

export const snapMagic = Buffer.from('TSETSNAP');
export const snapVersion = 1;
export const snapPrefixBytes = 16; // magic + version + metaBytes
export const snapTrailerBytes = 12;
export const snapSuffix = '.snap';
export const snapBrokenSuffix = '.broken';
export const snapTmpSuffix = '.tmp';
/** Members per role a snapshot header may list (sanity limit when decoding). */
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

function writeU64(buf: Buffer, off: number, n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new SnapInvalidError(`snap: ${what} must be a non-negative safe integer, got ${n}`);
  writeU64LE(buf, off, n);
}

/** Magic, version, meta length and meta. */
export function encodeSnapHeader(meta: SnapshotMetadata): Buffer {
  const { voters, learners } = meta.confState;
  const metaBytes = 16 + 4 + voters.length * 8 + 4 + learners.length * 8;
  const buf = Buffer.alloc(snapPrefixBytes + metaBytes);
  snapMagic.copy(buf, 0);
  buf.writeUInt32LE(snapVersion, 8);
  buf.writeUInt32LE(metaBytes, 12);
  let off = snapPrefixBytes;
  writeU64(buf, off, meta.index, 'index');
  writeU64(buf, off + 8, meta.term, 'term');
  off += 16;
  for (const list of [voters, learners]) {
    buf.writeUInt32LE(list.length, off);
    off += 4;
    for (const id of list) {
      buf.writeBigUInt64LE(id, off);
      off += 8;
    }
  }
  return buf;
}

/** Parses the meta section (buf holds at least the whole header). Throws a string reason on bad input. */
export function decodeSnapHeader(buf: Buffer): { meta: SnapshotMetadata; headerBytes: number } {
  if (buf.length < snapPrefixBytes || !buf.subarray(0, 8).equals(snapMagic)) throw 'bad magic';
  const version = buf.readUInt32LE(8);
  if (version !== snapVersion) throw `unsupported version ${version}`;
  const metaBytes = buf.readUInt32LE(12);
  if (metaBytes < 24 || snapPrefixBytes + metaBytes > buf.length) throw 'meta section runs past end of file';
  let off = snapPrefixBytes;
  const index = readU64LE(buf, off);
  const term = readU64LE(buf, off + 8);
  off += 16;
  const lists: bigint[][] = [];
  for (let k = 0; k < 2; k++) {
    if (off + 4 > snapPrefixBytes + metaBytes) throw 'meta section too short';
    const n = buf.readUInt32LE(off);
    off += 4;
    if (n > snapMembersMax || off + n * 8 > snapPrefixBytes + metaBytes) throw 'member list runs past meta section';
    const ids: bigint[] = [];
    for (let i = 0; i < n; i++, off += 8) ids.push(buf.readBigUInt64LE(off));
    lists.push(ids);
  }
  if (off !== snapPrefixBytes + metaBytes) throw 'meta section has trailing bytes';
  return { meta: { index, term, confState: { voters: lists[0], learners: lists[1] } }, headerBytes: off };
}
