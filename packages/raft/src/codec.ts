// Compact binary codec for raft messages, entries and conf changes (what the peer transport and
// the WAL put on the wire/disk). Layout: little-endian; numbers (index/term/commit, always
// non-negative integers < 2^53) are unsigned LEB128 varints; node ids are 8-byte u64; byte strings
// are varint length + bytes.
import type { ConfChange, ConfState, Entry, Snapshot } from './types.js';
import { ConfChangeType, EntryType } from './types.js';
import { MESSAGE_TYPE_COUNT, NO_ENTRIES, type Message, type MessageType } from './message.js';
import { ErrDecode } from './errors.js';
import { copyEntryData } from './entry-data.js';

const MESSAGE_FORMAT_VERSION = 1;

class Writer {
  buf: Buffer;
  pos: number;
  /** `headroom` bytes are left free before the encoding (for the caller's framing) */
  constructor(initialBytes: number, headroom = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialBytes + headroom));
    this.pos = headroom;
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  uvarint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new ErrDecode(`cannot encode ${v} as an unsigned integer`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  u64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.uvarint(b.byteLength);
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.byteLength) throw new ErrDecode('unexpected end of input');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  uvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new ErrDecode('integer overflow');
        return result;
      }
      mul *= 0x80;
    }
    throw new ErrDecode('varint too long');
  }
  u64(): bigint {
    this.need(8);
    const dv = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return dv.getBigUint64(0, true);
  }
  /** Copies, so decoded values never alias the (possibly reused) input buffer. */
  bytes(): Uint8Array {
    const n = this.uvarint();
    this.need(n);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  /** Entry data: copied into the log's slabs (entry-data.ts), as it may stay in the log long. */
  entryData(): Uint8Array {
    const n = this.uvarint();
    this.need(n);
    const out = copyEntryData(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  end(): void {
    if (this.pos !== this.buf.byteLength) throw new ErrDecode(`${this.buf.byteLength - this.pos} trailing bytes`);
  }
}

function writeEntry(w: Writer, e: Entry): void {
  w.uvarint(e.term);
  w.uvarint(e.index);
  w.u8(e.type);
  w.bytes(e.data);
}

function readEntry(r: Reader): Entry {
  const term = r.uvarint();
  const index = r.uvarint();
  const type = r.u8();
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) throw new ErrDecode(`bad entry type ${type}`);
  return { term, index, type, data: r.entryData() };
}

function writeConfState(w: Writer, cs: ConfState): void {
  w.uvarint(cs.voters.length);
  for (const id of cs.voters) w.u64(id);
  w.uvarint(cs.learners.length);
  for (const id of cs.learners) w.u64(id);
}

function readConfState(r: Reader): ConfState {
  const voters: bigint[] = [];
  for (let n = r.uvarint(); n > 0; n--) voters.push(r.u64());
  const learners: bigint[] = [];
  for (let n = r.uvarint(); n > 0; n--) learners.push(r.u64());
  return { voters, learners };
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  w.uvarint(s.metadata.index);
  w.uvarint(s.metadata.term);
  writeConfState(w, s.metadata.confState);
  w.bytes(s.data);
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.uvarint();
  const term = r.uvarint();
  const confState = readConfState(r);
  return { metadata: { index, term, confState }, data: r.bytes() };
}

export function encodeEntry(e: Entry): Uint8Array {
  const w = new Writer(24 + e.data.byteLength);
  writeEntry(w, e);
  return w.finish();
}

export function decodeEntry(buf: Uint8Array): Entry {
  const r = new Reader(buf);
  const e = readEntry(r);
  r.end();
  return e;
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const w = new Writer(64 + s.data.byteLength);
  writeSnapshot(w, s);
  return w.finish();
}

export function decodeSnapshot(buf: Uint8Array): Snapshot {
  const r = new Reader(buf);
  const s = readSnapshot(r);
  r.end();
  return s;
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const w = new Writer(16 + cc.context.byteLength);
  w.u8(cc.type);
  w.u64(cc.nodeId);
  w.bytes(cc.context);
  return w.finish();
}

export function decodeConfChange(buf: Uint8Array): ConfChange {
  const r = new Reader(buf);
  const type = r.u8();
  if (type > ConfChangeType.AddLearnerNode) throw new ErrDecode(`bad conf change type ${type}`);
  const nodeId = r.u64();
  const context = r.bytes();
  r.end();
  return { type, nodeId, context };
}

const FLAG_REJECT = 1;
const FLAG_SNAPSHOT = 2;
const FLAG_COMMIT_ONLY = 4;

/**
 * Encodes a message. With `headroom`, the result starts with that many bytes left for the caller
 * (a transport's length prefix, written in place instead of copying the encoding into a frame).
 */
export function encodeMessage(m: Message, headroom = 0): Uint8Array {
  let size = 64 + m.context.byteLength;
  for (let i = 0; i < m.entries.length; i++) size += 24 + m.entries[i].data.byteLength;
  if (m.snapshot) size += 64 + m.snapshot.data.byteLength;
  const w = new Writer(size, headroom);
  w.u8(MESSAGE_FORMAT_VERSION);
  w.u8(m.type);
  w.u8((m.reject ? FLAG_REJECT : 0) | (m.snapshot ? FLAG_SNAPSHOT : 0) | (m.commitOnly ? FLAG_COMMIT_ONLY : 0));
  w.u64(m.from);
  w.u64(m.to);
  w.uvarint(m.term);
  w.uvarint(m.logTerm);
  w.uvarint(m.index);
  w.uvarint(m.commit);
  w.uvarint(m.rejectHint);
  w.bytes(m.context);
  w.uvarint(m.entries.length);
  for (let i = 0; i < m.entries.length; i++) writeEntry(w, m.entries[i]);
  if (m.snapshot) writeSnapshot(w, m.snapshot);
  return w.finish();
}

export function decodeMessage(buf: Uint8Array): Message {
  const r = new Reader(buf);
  const version = r.u8();
  if (version !== MESSAGE_FORMAT_VERSION) throw new ErrDecode(`unknown message format version ${version}`);
  const type = r.u8();
  if (type >= MESSAGE_TYPE_COUNT) throw new ErrDecode(`bad message type ${type}`);
  const flags = r.u8();
  const from = r.u64();
  const to = r.u64();
  const term = r.uvarint();
  const logTerm = r.uvarint();
  const index = r.uvarint();
  const commit = r.uvarint();
  const rejectHint = r.uvarint();
  const context = r.bytes();
  const n = r.uvarint();
  let entries: Entry[] = NO_ENTRIES;
  if (n > 0) {
    entries = new Array<Entry>(n);
    for (let i = 0; i < n; i++) entries[i] = readEntry(r);
  }
  const snapshot = flags & FLAG_SNAPSHOT ? readSnapshot(r) : undefined;
  r.end();
  return {
    type: type as MessageType,
    from,
    to,
    term,
    logTerm,
    index,
    entries,
    commit,
    snapshot,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
    context,
    commitOnly: (flags & FLAG_COMMIT_ONLY) !== 0,
  };
}
