// On-disk record framing of the write-ahead log: etcd's (wal/encoder.go, decoder.go, walpb), so
// etcd's own tools (`etcdctl backup`, `etcdctl migrate`) read a tsetcd member's log and tsetcd
// reads a log they wrote.
//
//   u64 LE lenField   low 56 bits: length of the walpb.Record that follows; when the top byte has
//                     its 0x80 bit set, its low 3 bits count the zero padding after the record
//   walpb.Record      {1: type varint, 2: crc varint (uint32), 3: data bytes}
//   padding           zeros so every frame starts 8-byte aligned
//
// crc is CRC-32C (Castagnoli) of the record's data, rolling over every record of the log (seeded
// with the previous record's crc); a crc record carries the value the next records continue from
// and has no data (first record of every segment).
//
// What we write: type as one byte, crc as a fixed 5-byte varint (a valid, non-minimal encoding,
// so a frame's size is known before the chain is), so a record's data tag sits at byte 16. What
// we read: any valid walpb.Record (etcd writes minimal varints).
//
// Record data (protobuf, etcd's messages):
//   metadata  opaque bytes given to Wal.create() (etcdserverpb.Metadata {NodeID 1, ClusterID 2})
//   entry     raftpb.Entry {Type 1, Term 2, Index 3, Data 4}
//   state     raftpb.HardState {Term 1, Vote 2, Commit 3}
//   snapshot  walpb.Snapshot {Index 1, Term 2}
//
// An all-zero length field is never a record (a record has at least its type), so zeros where a
// frame should start mean "end of log" (segments are preallocated with zeros).

import { crc32c, varintSize as varintBytes, writeVarintAt as putVarint, bigVarintSize as bigVarintBytes, writeBigVarintAt as putBigVarint } from '@tsetcd/common';

export const RecordType = {
  Metadata: 1,
  Entry: 2,
  HardState: 3,
  Crc: 4,
  Snapshot: 5,
} as const;
export type RecordTypeValue = (typeof RecordType)[keyof typeof RecordType];

/** The length field plus what we write of walpb.Record before its data: type and a 5-byte crc. */
export const frameHeaderBytes = 16;
export const frameAlignBytes = 8;
const lenFieldBytes = 8;
const crcFieldOffset = 11;
/** Decoder sanity limit: a frame claiming a larger record is treated as corrupt. */
export const recordBodyMaxBytes = 1024 * 1024 * 1024;

export function frameBytes(recordBytes: number): number {
  return (lenFieldBytes + recordBytes + frameAlignBytes - 1) & ~(frameAlignBytes - 1);
}

// ---- protobuf varints (writers: @tsetcd/common; numbers up to 2^53, vote as bigint) ----

function putCrc5(buf: Buffer, off: number, v: number): void {
  v >>>= 0;
  for (let i = 0; i < 4; i++) {
    buf[off + i] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[off + 4] = v;
}

class WireError extends Error {}

/** A varint at off; returns value (as a number, exact up to 2^53) and the offset after it. */
function readVarint(buf: Buffer, off: number, end: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (off >= end) throw new WireError('truncated varint');
    const b = buf[off++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, off];
    mul *= 128;
  }
  throw new WireError('varint too long');
}

function readBigVarint(buf: Buffer, off: number, end: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (off >= end) throw new WireError('truncated varint');
    const b = buf[off++];
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [v & 0xffffffffffffffffn, off];
    shift += 7n;
  }
  throw new WireError('varint too long');
}

/** Skips a field of the given wire type; returns the offset after it. */
function skipField(buf: Buffer, off: number, end: number, wire: number): number {
  switch (wire) {
    case 0:
      return readVarint(buf, off, end)[1];
    case 1:
      off += 8;
      break;
    case 2: {
      const [n, o] = readVarint(buf, off, end);
      off = o + n;
      break;
    }
    case 5:
      off += 4;
      break;
    default:
      throw new WireError(`unsupported wire type ${wire}`);
  }
  if (off > end) throw new WireError('field runs past the message');
  return off;
}

// ---- encoding ----

/** A frame for a record with `dataBytes` of data (undefined: none); fill the data at the returned offset, then seal. */
function allocFrame(type: RecordTypeValue, dataBytes: number | undefined): { frame: Buffer; dataAt: number } {
  const recordBytes = dataBytes === undefined ? 8 : 8 + 1 + varintBytes(dataBytes) + dataBytes;
  const frame = Buffer.alloc(frameBytes(recordBytes));
  const pad = frame.length - lenFieldBytes - recordBytes;
  frame.writeUInt32LE(recordBytes, 0); // records are < 4 GiB
  if (pad !== 0) frame[7] = 0x80 | pad;
  frame[8] = 0x08;
  frame[9] = type;
  frame[10] = 0x10;
  if (dataBytes === undefined) return { frame, dataAt: frameHeaderBytes };
  frame[16] = 0x1a;
  return { frame, dataAt: putVarint(frame, 17, dataBytes) };
}

/** Where the data of a frame we encoded lies (a crc record has none); no checks. */
export function frameData(frame: Buffer): { start: number; end: number } {
  const recordBytes = frame.readUInt32LE(0);
  if (recordBytes === 8) return { start: frameHeaderBytes, end: frameHeaderBytes };
  const [n, start] = readVarint(frame, 17, frame.length);
  return { start, end: start + n };
}

/**
 * Writes the crc; returns the new chain value: the CRC of the data seeded with `chain`, or for a
 * crc record the value it carries.
 */
export function sealFrame(frame: Buffer, chain: number): number {
  if (frame[9] === RecordType.Crc) return readVarint(frame, crcFieldOffset, frameHeaderBytes)[0] >>> 0;
  const { start, end } = frameData(frame);
  const crc = crc32c(frame, chain, start, end);
  putCrc5(frame, crcFieldOffset, crc);
  return crc;
}

export function encodeCrc(chainValue: number): Buffer {
  const { frame } = allocFrame(RecordType.Crc, undefined);
  putCrc5(frame, crcFieldOffset, chainValue);
  return frame;
}

export function encodeMetadata(metadata: Uint8Array): Buffer {
  const { frame, dataAt } = allocFrame(RecordType.Metadata, metadata.length);
  frame.set(metadata, dataAt);
  return frame;
}

export function encodeEntry(index: number, term: number, type: number, data: Uint8Array): Buffer {
  const dataField = data.length === 0 ? 0 : 1 + varintBytes(data.length) + data.length; // nil data: no field, as etcd
  const entryBytes = 1 + varintBytes(type) + 1 + varintBytes(term) + 1 + varintBytes(index) + dataField;
  const { frame, dataAt } = allocFrame(RecordType.Entry, entryBytes);
  let o = dataAt;
  frame[o++] = 0x08;
  o = putVarint(frame, o, type);
  frame[o++] = 0x10;
  o = putVarint(frame, o, term);
  frame[o++] = 0x18;
  o = putVarint(frame, o, index);
  if (dataField !== 0) {
    frame[o++] = 0x22;
    o = putVarint(frame, o, data.length);
    frame.set(data, o);
  }
  return frame;
}

export function encodeHardState(term: number, vote: bigint, commit: number): Buffer {
  const bytes = 3 + varintBytes(term) + bigVarintBytes(vote) + varintBytes(commit);
  const { frame, dataAt } = allocFrame(RecordType.HardState, bytes);
  let o = dataAt;
  frame[o++] = 0x08;
  o = putVarint(frame, o, term);
  frame[o++] = 0x10;
  o = putBigVarint(frame, o, vote);
  frame[o++] = 0x18;
  putVarint(frame, o, commit);
  return frame;
}

export function encodeSnapshotMarker(index: number, term: number): Buffer {
  const { frame, dataAt } = allocFrame(RecordType.Snapshot, 2 + varintBytes(index) + varintBytes(term));
  let o = dataAt;
  frame[o++] = 0x08;
  o = putVarint(frame, o, index);
  frame[o++] = 0x10;
  putVarint(frame, o, term);
  return frame;
}

// ---- decoding ----

export type DecodedFrame =
  | { kind: 'record'; type: RecordTypeValue; body: Buffer; next: number; chain: number; entry?: DecodedEntry } // entry: an entry record's fields
  | { kind: 'end' } // clean end: EOF or a zero length field
  | { kind: 'bad'; detail: string; extentEnd: number }; // extentEnd: where the bad record claims to end

/** The whole frame's size claimed by the length field at `offset` (undefined when it is not readable or over the limit). */
export function claimedFrameBytes(buf: Buffer, offset: number): number | undefined {
  if (buf.length < offset + lenFieldBytes) return undefined;
  const recordBytes = buf.readUInt32LE(offset) + buf.readUInt16LE(offset + 4) * 2 ** 32 + buf[offset + 6] * 2 ** 48;
  if (recordBytes > recordBodyMaxBytes) return undefined;
  const top = buf[offset + 7];
  return lenFieldBytes + recordBytes + (top & 0x80 ? top & 7 : 0);
}

/** Decodes the frame at `offset`. `chain` is the CRC of the previous record (ignored for crc records). */
export function decodeFrame(buf: Buffer, offset: number, chain: number): DecodedFrame {
  const left = buf.length - offset;
  if (left <= 0) return { kind: 'end' };
  if (left < lenFieldBytes) {
    if (isZero(buf, offset, buf.length)) return { kind: 'end' };
    return { kind: 'bad', detail: 'truncated record length', extentEnd: buf.length };
  }
  const recordBytes = buf.readUInt32LE(offset) + buf.readUInt16LE(offset + 4) * 2 ** 32 + buf[offset + 6] * 2 ** 48;
  const top = buf[offset + 7];
  if (recordBytes === 0 && top === 0) return { kind: 'end' };
  if (recordBytes > recordBodyMaxBytes) {
    return { kind: 'bad', detail: `record of ${recordBytes} bytes exceeds limit`, extentEnd: buf.length };
  }
  const pad = top & 0x80 ? top & 7 : 0;
  if ((top & 0x78) !== 0 || (top !== 0 && (top & 0x80) === 0)) {
    return { kind: 'bad', detail: 'invalid record length field', extentEnd: buf.length };
  }
  const recStart = offset + lenFieldBytes;
  const recEnd = recStart + recordBytes;
  const next = recEnd + pad;
  if (next > buf.length) {
    return { kind: 'bad', detail: 'record runs past end of file', extentEnd: dataFieldEnd(buf, recStart, buf.length) ?? buf.length };
  }
  let type = 0;
  let crc = 0;
  let dataStart = recEnd;
  let dataEnd = recEnd;
  let hasData = false;
  try {
    for (let o = recStart; o < recEnd; ) {
      const [key, at] = readVarint(buf, o, recEnd);
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (field === 0) throw new WireError('illegal field number 0');
      if (field === 1 && wire === 0) [type, o] = readVarint(buf, at, recEnd);
      else if (field === 2 && wire === 0) {
        [crc, o] = readVarint(buf, at, recEnd);
        crc = crc % 2 ** 32;
      } else if (field === 3 && wire === 2) {
        const [n, s] = readVarint(buf, at, recEnd);
        if (s + n > recEnd) throw new WireError('data runs past the record');
        dataStart = s;
        dataEnd = s + n;
        hasData = true;
        o = dataEnd;
      } else o = skipField(buf, at, recEnd, wire);
    }
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    return { kind: 'bad', detail: `malformed record: ${e.message}`, extentEnd: dataFieldEnd(buf, recStart, recEnd) ?? next };
  }
  const body = buf.subarray(dataStart, dataEnd);
  if (type === RecordType.Crc) {
    if (hasData) return { kind: 'bad', detail: 'crc record with data', extentEnd: next };
    return { kind: 'record', type, body, next, chain: crc >>> 0 };
  }
  const dataCrc = crc32c(buf, chain, dataStart, dataEnd);
  if (dataCrc !== crc >>> 0) return { kind: 'bad', detail: 'record checksum mismatch', extentEnd: hasData ? dataEnd : next };
  try {
    switch (type) {
      case RecordType.Entry:
        return { kind: 'record', type, body, next, chain: dataCrc, entry: decodeEntryBody(body) };
      case RecordType.HardState:
        decodeHardStateBody(body);
        return { kind: 'record', type, body, next, chain: dataCrc };
      case RecordType.Snapshot:
        decodeSnapshotBody(body);
        return { kind: 'record', type, body, next, chain: dataCrc };
      case RecordType.Metadata:
        return { kind: 'record', type, body, next, chain: dataCrc };
    }
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    return { kind: 'bad', detail: `malformed record data: ${e.message}`, extentEnd: next };
  }
  return { kind: 'bad', detail: `invalid record type ${type}`, extentEnd: next };
}

/**
 * Where the data field of the record starting at recStart ends, parsing no further than limit
 * (undefined when it cannot be found). A bad record's extent for the torn-write check: a length
 * field damaged to claim more than the record holds must not hide the live records behind it.
 */
function dataFieldEnd(buf: Buffer, recStart: number, limit: number): number | undefined {
  try {
    for (let o = recStart; o < limit; ) {
      const [key, at] = readVarint(buf, o, limit);
      if (key < 8) return undefined;
      if (key === 0x1a) {
        const [n, s] = readVarint(buf, at, limit);
        return s + n <= limit ? s + n : undefined;
      }
      o = skipField(buf, at, limit, key % 8);
    }
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
  }
  return undefined;
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

function safe(n: number, what: string): number {
  if (!Number.isSafeInteger(n)) throw new WireError(`${what} is not a safe integer`);
  return n;
}

export interface DecodedEntry {
  index: number;
  term: number;
  type: number;
  /** a view into the record (copy what is kept) */
  data: Buffer;
}

/** An entry record's fields. Throws on malformed data. */
export function decodeEntryBody(body: Buffer): DecodedEntry {
  let index = 0;
  let term = 0;
  let type = 0;
  let data = body.subarray(0, 0);
  for (let o = 0; o < body.length; ) {
    const [key, at] = readVarint(body, o, body.length);
    const wire = key % 8;
    switch (key) {
      case 0x08:
        [type, o] = readVarint(body, at, body.length);
        break;
      case 0x10:
        [term, o] = readVarint(body, at, body.length);
        break;
      case 0x18:
        [index, o] = readVarint(body, at, body.length);
        break;
      case 0x22: {
        const [n, s] = readVarint(body, at, body.length);
        if (s + n > body.length) throw new WireError('entry data runs past the record');
        data = body.subarray(s, s + n);
        o = s + n;
        break;
      }
      default:
        o = skipField(body, at, body.length, wire);
    }
  }
  return { index: safe(index, 'entry index'), term: safe(term, 'entry term'), type, data };
}

export function decodeHardStateBody(body: Buffer): { term: number; vote: bigint; commit: number } {
  let term = 0;
  let vote = 0n;
  let commit = 0;
  for (let o = 0; o < body.length; ) {
    const [key, at] = readVarint(body, o, body.length);
    if (key === 0x08) [term, o] = readVarint(body, at, body.length);
    else if (key === 0x10) [vote, o] = readBigVarint(body, at, body.length);
    else if (key === 0x18) [commit, o] = readVarint(body, at, body.length);
    else o = skipField(body, at, body.length, key % 8);
  }
  return { term: safe(term, 'hard state term'), vote, commit: safe(commit, 'hard state commit') };
}

export function decodeSnapshotBody(body: Buffer): { index: number; term: number } {
  let index = 0;
  let term = 0;
  for (let o = 0; o < body.length; ) {
    const [key, at] = readVarint(body, o, body.length);
    if (key === 0x08) [index, o] = readVarint(body, at, body.length);
    else if (key === 0x10) [term, o] = readVarint(body, at, body.length);
    else o = skipField(body, at, body.length, key % 8);
  }
  return { index: safe(index, 'snapshot index'), term: safe(term, 'snapshot term') };
}
