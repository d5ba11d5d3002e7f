// On-disk record framing of the write-ahead log (our own format; all integers little endian).
//
//   offset size
//   0      4    bodyBytes      length of the body that follows the header
//   4      1    type           RecordType
//   5      3    zero
//   8      4    bodyCrc        CRC-32C of the body, seeded with the chain (CRC of the previous record)
//   12     4    headerCrc      CRC-32C of bytes [0, 12) — protects the length field itself
//   16     n    body
//   16+n   p    zero padding so every frame starts 8-byte aligned
//
// An all-zero header is never valid (headerCrc of zeros is not zero), so zero bytes read where a
// header should be mean "end of log" (segments are preallocated with zeros).
//
// Record bodies:
//   Crc       u32 chain value the next records continue from (first record of every segment)
//   Metadata  opaque bytes given to Wal.create()
//   Entry     u64 index, u64 term, u8 entry type, data
//   HardState u64 term, u64 vote, u64 commit
//   Snapshot  u64 index, u64 term

import { crc32c, readU64LE, writeU64LE } from '@tsetcd/common';

export const RecordType = {
  Crc: 1,
  Metadata: 2,
  Entry: 3,
  HardState: 4,
  Snapshot: 5,
} as const;
export type RecordTypeValue = (typeof RecordType)[keyof typeof RecordType];

export const frameHeaderBytes = 16;
export const frameAlignBytes = 8;
/** Decoder sanity limit: a header claiming a larger body is treated as corrupt. */
export const recordBodyMaxBytes = 1024 * 1024 * 1024;

const entryFixedBytes = 17;
const hardStateBytes = 24;
const snapshotBytes = 16;

export function frameBytes(bodyBytes: number): number {
  return (frameHeaderBytes + bodyBytes + frameAlignBytes - 1) & ~(frameAlignBytes - 1);
}

/** A zeroed frame for a body of the given size; fill the body at frameHeaderBytes, then seal. */
export function allocFrame(type: RecordTypeValue, bodyBytes: number): Buffer {
  const frame = Buffer.alloc(frameBytes(bodyBytes));
  frame.writeUInt32LE(bodyBytes, 0);
  frame[4] = type;
  return frame;
}

/**
 * Writes both checksums; returns the new chain value: the body CRC, or for a Crc record the value
 * it carries (its own body CRC is unseeded so it can start a segment on its own).
 */
export function sealFrame(frame: Buffer, chain: number): number {
  const bodyBytes = frame.readUInt32LE(0);
  const isCrc = frame[4] === RecordType.Crc;
  const bodyCrc = crc32c(frame, isCrc ? 0 : chain, frameHeaderBytes, frameHeaderBytes + bodyBytes);
  frame.writeUInt32LE(bodyCrc, 8);
  frame.writeUInt32LE(crc32c(frame, 0, 0, 12), 12);
  return isCrc ? frame.readUInt32LE(frameHeaderBytes) : bodyCrc;
}

export function encodeCrc(chainValue: number): Buffer {
  const f = allocFrame(RecordType.Crc, 4);
  f.writeUInt32LE(chainValue >>> 0, frameHeaderBytes);
  return f;
}

export function encodeMetadata(metadata: Uint8Array): Buffer {
  const f = allocFrame(RecordType.Metadata, metadata.length);
  f.set(metadata, frameHeaderBytes);
  return f;
}

export function encodeEntry(index: number, term: number, type: number, data: Uint8Array): Buffer {
  const f = allocFrame(RecordType.Entry, entryFixedBytes + data.length);
  writeU64LE(f, frameHeaderBytes, index);
  writeU64LE(f, frameHeaderBytes + 8, term);
  f[frameHeaderBytes + 16] = type;
  f.set(data, frameHeaderBytes + entryFixedBytes);
  return f;
}

export function encodeHardState(term: number, vote: bigint, commit: number): Buffer {
  const f = allocFrame(RecordType.HardState, hardStateBytes);
  writeU64LE(f, frameHeaderBytes, term);
  f.writeBigUInt64LE(vote, frameHeaderBytes + 8);
  writeU64LE(f, frameHeaderBytes + 16, commit);
  return f;
}

export function encodeSnapshotMarker(index: number, term: number): Buffer {
  const f = allocFrame(RecordType.Snapshot, snapshotBytes);
  writeU64LE(f, frameHeaderBytes, index);
  writeU64LE(f, frameHeaderBytes + 8, term);
  return f;
}

export type DecodedFrame =
  | { kind: 'record'; type: RecordTypeValue; body: Buffer; next: number; chain: number }
  | { kind: 'end' } // clean end: EOF or an all-zero header
  | { kind: 'bad'; detail: string; extentEnd: number }; // extentEnd: where the bad record claims to end

const zeroHeader = Buffer.alloc(frameHeaderBytes);

/** Decodes the frame at `offset`. `chain` is the CRC of the previous record (ignored for Crc records). */
export function decodeFrame(buf: Buffer, offset: number, chain: number): DecodedFrame {
  const left = buf.length - offset;
  if (left <= 0) return { kind: 'end' };
  if (left < frameHeaderBytes) {
    if (isZero(buf, offset, buf.length)) return { kind: 'end' };
    return { kind: 'bad', detail: 'truncated record header', extentEnd: buf.length };
  }
  if (buf.compare(zeroHeader, 0, frameHeaderBytes, offset, offset + frameHeaderBytes) === 0) return { kind: 'end' };
  if (crc32c(buf, 0, offset, offset + 12) !== buf.readUInt32LE(offset + 12)) {
    return { kind: 'bad', detail: 'header checksum mismatch', extentEnd: offset + frameHeaderBytes };
  }
  const bodyBytes = buf.readUInt32LE(offset);
  const type = buf[offset + 4];
  if (bodyBytes > recordBodyMaxBytes) {
    return { kind: 'bad', detail: `record body of ${bodyBytes} bytes exceeds limit`, extentEnd: buf.length };
  }
  const bodyStart = offset + frameHeaderBytes;
  const bodyEnd = bodyStart + bodyBytes;
  const next = offset + frameBytes(bodyBytes);
  if (bodyEnd > buf.length) return { kind: 'bad', detail: 'record runs past end of file', extentEnd: buf.length };
  const seed = type === RecordType.Crc ? 0 : chain;
  const bodyCrc = crc32c(buf, seed, bodyStart, bodyEnd);
  if (bodyCrc !== buf.readUInt32LE(offset + 8)) {
    return { kind: 'bad', detail: 'body checksum mismatch', extentEnd: Math.min(next, buf.length) };
  }
  const body = buf.subarray(bodyStart, bodyEnd);
  switch (type) {
    case RecordType.Crc:
      if (bodyBytes !== 4) break;
      return { kind: 'record', type, body, next, chain: body.readUInt32LE(0) };
    case RecordType.Entry:
      if (bodyBytes < entryFixedBytes) break;
      return { kind: 'record', type, body, next, chain: bodyCrc };
    case RecordType.HardState:
      if (bodyBytes !== hardStateBytes) break;
      return { kind: 'record', type, body, next, chain: bodyCrc };
    case RecordType.Snapshot:
      if (bodyBytes !== snapshotBytes) break;
      return { kind: 'record', type, body, next, chain: bodyCrc };
    case RecordType.Metadata:
      return { kind: 'record', type, body, next, chain: bodyCrc };
  }
  return { kind: 'bad', detail: `invalid record type ${type} with ${bodyBytes} byte body`, extentEnd: Math.min(next, buf.length) };
}

const zeroChunk = Buffer.alloc(64 * 1024);

/** True when buf[start, end) holds only zero bytes. */
export function isZero(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i += zeroChunk.length) {
    const n = Math.min(zeroChunk.length, end - i);
    if (buf.compare(zeroChunk, 0, n, i, i + n) !== 0) return false;
  }
  return true;
}

/** An entry record's fields; data is a view into `body` (copy what is kept). */
export function decodeEntryBody(body: Buffer): { index: number; term: number; type: number; data: Buffer } {
  return { index: readU64LE(body, 0), term: readU64LE(body, 8), type: body[16], data: body.subarray(entryFixedBytes) };
}

export function decodeHardStateBody(body: Buffer): { term: number; vote: bigint; commit: number } {
  return { term: readU64LE(body, 0), vote: body.readBigUInt64LE(8), commit: readU64LE(body, 16) };
}

export function decodeSnapshotBody(body: Buffer): { index: number; term: number } {
  return { index: readU64LE(body, 0), term: readU64LE(body, 8) };
}
