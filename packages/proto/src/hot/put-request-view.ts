// PutRequest and RangeRequest decoding without copies, for a server that copies a put's key and
// value on anyway (into the raft log entry, the store) and only looks a range's keys up: the byte
// fields are views into the input, where the generated decoder copies each into a Buffer of its
// own and builds empty Buffers first. Only the plain form every client sends is read here (known
// fields with their wire types, lengths and varints of common size, in bounds); anything else is
// left to the generated decoder, so the result, and every error, are the generated decoder's
// (test/hot-codecs.test.ts).

import { PutRequest, RangeRequest } from '../gen/etcdserverpb/rpc.js';

const empty: Buffer = Buffer.alloc(0);

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** PutRequest.decode, with key and value as views into `input` (keep `input` unchanged while they are used). */
export function decodePutRequestView(input: Uint8Array): PutRequest {
  return fastPut(asBuffer(input)) ?? PutRequest.decode(input);
}

function fastPut(b: Buffer): PutRequest | undefined {
  const end = b.length;
  let key = empty;
  let value = empty;
  let lease = 0n;
  let prevKv = false;
  let ignoreValue = false;
  let ignoreLease = false;
  at = 0;
  while (at < end) {
    const tag = b[at++];
    if (tag === 10 || tag === 18) {
      const v = view(b, end);
      if (v === undefined) return undefined;
      if (tag === 10) key = v;
      else value = v;
      continue;
    }
    // lease (3) and the three bools (4-6) are varints
    if (tag !== 24 && tag !== 32 && tag !== 40 && tag !== 48) return undefined;
    const n = varint(b, end);
    if (n < 0) return undefined;
    if (tag === 24) lease = big(n);
    else if (tag === 32) prevKv = n !== 0;
    else if (tag === 40) ignoreValue = n !== 0;
    else ignoreLease = n !== 0;
  }
  return { key, value, lease, prevKv, ignoreValue, ignoreLease };
}

/** RangeRequest.decode, with key and range_end as views into `input`. */
export function decodeRangeRequestView(input: Uint8Array): RangeRequest {
  return fastRange(asBuffer(input)) ?? RangeRequest.decode(input);
}

/** Read position of the helpers below (module state: no object per field). */
let at = 0;

/** A varint of up to 7 bytes at `at` (exact as a number), advancing `at`; -1 when longer or cut off. */
function varint(b: Buffer, end: number): number {
  let n = 0;
  let shift = 0;
  for (;;) {
    if (at >= end || shift > 42) return -1;
    const x = b[at++];
    n += (x & 0x7f) * 2 ** shift;
    if (x < 0x80) return n;
    shift += 7;
  }
}

/** A length-delimited field's bytes as a view, advancing `at`; undefined when out of bounds. */
function view(b: Buffer, end: number): Buffer | undefined {
  const len = varint(b, end);
  if (len < 0 || len > end - at) return undefined;
  const v = b.subarray(at, at + len);
  at += len;
  return v;
}

function big(n: number): bigint {
  return n === 0 ? 0n : BigInt(n);
}

function fastRange(b: Buffer): RangeRequest | undefined {
  const end = b.length;
  let key = empty;
  let rangeEnd = empty;
  let limit = 0n;
  let revision = 0n;
  let sortOrder = 0;
  let sortTarget = 0;
  let serializable = false;
  let keysOnly = false;
  let countOnly = false;
  let minModRevision = 0n;
  let maxModRevision = 0n;
  let minCreateRevision = 0n;
  let maxCreateRevision = 0n;
  at = 0;
  while (at < end) {
    const tag = b[at++];
    if (tag === 10 || tag === 18) {
      const v = view(b, end);
      if (v === undefined) return undefined;
      if (tag === 10) key = v;
      else rangeEnd = v;
      continue;
    }
    // every other known field is a varint: int64s (3, 4, 10-13), enums (5, 6), bools (7-9)
    if ((tag & 7) !== 0 || tag < 24 || tag > 104) return undefined;
    const n = varint(b, end);
    if (n < 0) return undefined;
    switch (tag >> 3) {
      case 3: limit = big(n); break;
      case 4: revision = big(n); break;
      case 5: if (n > 0x7fff_ffff) return undefined; sortOrder = n; break;
      case 6: if (n > 0x7fff_ffff) return undefined; sortTarget = n; break;
      case 7: serializable = n !== 0; break;
      case 8: keysOnly = n !== 0; break;
      case 9: countOnly = n !== 0; break;
      case 10: minModRevision = big(n); break;
      case 11: maxModRevision = big(n); break;
      case 12: minCreateRevision = big(n); break;
      case 13: maxCreateRevision = big(n); break;
    }
  }
  return { key, rangeEnd, limit, revision, sortOrder, sortTarget, serializable, keysOnly, countOnly, minModRevision, maxModRevision, minCreateRevision, maxCreateRevision };
}
