// PutRequest decoding without copies, for a server that copies key and value on anyway (into
// the raft log entry, the store): key and value are views into the input, where the generated
// decoder copies each into a Buffer of its own and builds two empty Buffers first. Only the
// plain form every client sends is read here (known fields with their wire types, lengths and
// varints of common size, in bounds); anything else is left to the generated decoder, so the
// result, and every error, are the generated decoder's (test/hot-codecs.test.ts).

import { PutRequest } from '../gen/etcdserverpb/rpc.js';

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
  let pos = 0;
  while (pos < end) {
    const tag = b[pos++];
    if (tag === 10 || tag === 18) {
      // length: a varint of up to 4 bytes (< 256 MiB)
      if (pos >= end) return undefined;
      let len = b[pos++];
      if (len > 0x7f) {
        len &= 0x7f;
        let shift = 7;
        for (;;) {
          if (pos >= end || shift > 21) return undefined;
          const x = b[pos++];
          len += (x & 0x7f) * 2 ** shift;
          if (x < 0x80) break;
          shift += 7;
        }
      }
      if (len > end - pos) return undefined;
      const view = b.subarray(pos, pos + len);
      pos += len;
      if (tag === 10) key = view;
      else value = view;
    } else if (tag === 24) {
      // lease: a non-negative varint of up to 7 bytes (< 2^49, exact as a number)
      let n = 0;
      let shift = 0;
      for (;;) {
        if (pos >= end || shift > 42) return undefined;
        const x = b[pos++];
        n += (x & 0x7f) * 2 ** shift;
        if (x < 0x80) break;
        shift += 7;
      }
      lease = n === 0 ? 0n : BigInt(n);
    } else if (tag === 32 || tag === 40 || tag === 48) {
      if (pos >= end || b[pos] > 0x7f) return undefined;
      const v = b[pos++] !== 0;
      if (tag === 32) prevKv = v;
      else if (tag === 40) ignoreValue = v;
      else ignoreLease = v;
    } else {
      return undefined;
    }
  }
  return { key, value, lease, prevKv, ignoreValue, ignoreLease };
}
