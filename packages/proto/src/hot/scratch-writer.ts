// A writer the generated encoders accept in place of @bufbuild/protobuf's BinaryWriter, over one
// buffer reused from message to message: encoding a message allocates nothing (no writer, no
// growing buffer, no finish() copy, no {lo, hi} object per 64-bit field).
// The bytes it returns are a view valid only until its next use, for a caller that copies them
// at once (into a frame, a log entry). It writes exactly what BinaryWriter writes and throws
// what BinaryWriter throws (test/hot-codecs.test.ts compares them on random messages).

import { protoInt64 } from '@bufbuild/protobuf';
import type { BinaryWriter } from '@bufbuild/protobuf/wire';

/** What a generated message type offers for encoding. */
export interface Encodes<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
}

const initialBytes = 64 * 1024;
/** A buffer grown past this by one big message is dropped afterwards (not kept for the next). */
const keepBytes = 1024 * 1024;
const two32 = 0x1_0000_0000;
const maxSafe = 2n ** 53n - 1n;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
const uint64Max = 2n ** 64n - 1n;
/** Splits an in-range 64-bit BigInt into halves without building BigInts or an object. */
const halves = new DataView(new ArrayBuffer(8));

function varint32Size(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x20_0000) return 3;
  if (n < 0x1000_0000) return 4;
  return 5;
}

// BinaryWriter's argument checks, with its messages
function checkUInt32(arg: unknown): number {
  let n = arg;
  if (typeof n === 'string') n = Number(n);
  else if (typeof n !== 'number') throw new Error('invalid uint32: ' + typeof n);
  if (!Number.isInteger(n) || (n as number) > 0xffff_ffff || (n as number) < 0) throw new Error('invalid uint32: ' + n);
  return n as number;
}

function checkInt32(arg: unknown): number {
  let n = arg;
  if (typeof n === 'string') n = Number(n);
  else if (typeof n !== 'number') throw new Error('invalid int32: ' + typeof n);
  if (!Number.isInteger(n) || (n as number) > 0x7fff_ffff || (n as number) < -0x8000_0000) throw new Error('invalid int32: ' + n);
  return n as number;
}

export class ScratchWriter {
  private buf: Buffer = Buffer.allocUnsafeSlow(initialBytes);
  private pos = 0;
  /** Positions of the open forks: forks[0, depth) (the array is reused, never shrunk). */
  private readonly forks: number[] = [];
  private depth = 0;
  private busy = false;

  /**
   * Encodes `message` after `headroom` bytes left for the caller (a frame header) and returns
   * headroom + message as a view into the scratch buffer: valid until this writer's next use.
   */
  encode<T>(type: Encodes<T>, message: T, headroom = 0): Buffer {
    // a nested use (an encoder reached from inside another encode) gets a writer of its own
    if (this.busy) return new ScratchWriter().encode(type, message, headroom);
    const n = this.encodeLength(type, message, headroom); // (it may replace this.buf)
    return this.buf.subarray(0, n);
  }

  /**
   * encode() without the view: the message is the first n bytes of `scratch` (n returned), valid
   * until this writer's next use. Not for nested use (see encode()).
   */
  encodeLength<T>(type: Encodes<T>, message: T, headroom = 0): number {
    if (this.busy) throw new Error('ScratchWriter: nested encodeLength');
    this.busy = true;
    if (this.buf.length > keepBytes) this.buf = Buffer.allocUnsafeSlow(initialBytes);
    this.pos = headroom;
    this.depth = 0;
    try {
      this.ensure(0);
      type.encode(message, this as unknown as BinaryWriter);
      if (this.depth !== 0) throw new Error('invalid state, fork not joined');
      return this.pos;
    } finally {
      this.busy = false;
    }
  }

  /** The scratch buffer (what the last encodeLength() wrote is at its start). */
  get scratch(): Buffer {
    return this.buf;
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let len = this.buf.length;
    while (len < need) len *= 2;
    const grown = Buffer.allocUnsafeSlow(len);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  // ---- the BinaryWriter methods the generated encoders call ----

  fork(): this {
    this.forks[this.depth++] = this.pos;
    this.ensure(1);
    this.buf[this.pos++] = 0;
    return this;
  }

  join(): this {
    if (this.depth === 0) throw new Error('invalid state, fork stack empty');
    const at = this.forks[--this.depth];
    const len = this.pos - at - 1;
    const prefix = varint32Size(len);
    if (prefix > 1) {
      this.ensure(prefix - 1);
      this.buf.copyWithin(at + prefix, at + 1, this.pos);
    }
    this.pos = at;
    this.uint32(len);
    this.pos += len;
    return this;
  }

  uint32(value: number): this {
    let v = checkUInt32(value);
    this.ensure(5);
    const b = this.buf;
    while (v > 0x7f) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v;
    return this;
  }

  int32(value: number): this {
    let v = checkInt32(value);
    if (v >= 0) return this.uint32(v);
    this.ensure(10);
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>= 7;
    }
    this.buf[this.pos++] = 1;
    return this;
  }

  bool(value: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
    return this;
  }

  bytes(value: Uint8Array): this {
    const n = value.byteLength;
    this.uint32(n);
    this.ensure(n);
    this.buf.set(value, this.pos);
    this.pos += n;
    return this;
  }

  string(value: string): this {
    if (typeof value !== 'string') value = String(value);
    const len = value.length;
    this.ensure(len * 3 + 5);
    const b = this.buf;
    const start = this.pos;
    if (len < 0x80) {
      let i = 0;
      let o = start + 1;
      for (; i < len; i++) {
        const c = value.charCodeAt(i);
        if (c > 0x7f) break;
        b[o++] = c;
      }
      if (i === len) {
        b[start] = len;
        this.pos = o;
        return this;
      }
    }
    const guess = varint32Size(len);
    const written = b.write(value, start + guess, 'utf8');
    const prefix = varint32Size(written);
    if (prefix !== guess) b.copyWithin(start + prefix, start + guess, start + guess + written);
    this.uint32(written);
    this.pos += written;
    return this;
  }

  int64(value: bigint | string | number): this {
    if (typeof value === 'bigint' && value >= int64Min && value <= int64Max) {
      if (value >= 0n && value <= maxSafe) return this.safeVarint(Number(value));
      halves.setBigInt64(0, value, true);
      return this.varint64(halves.getInt32(0, true), halves.getInt32(4, true));
    }
    // strings, numbers and out-of-range values: BinaryWriter's own conversion (and errors)
    const tc = protoInt64.enc(value);
    return this.varint64(tc.lo, tc.hi);
  }

  uint64(value: bigint | string | number): this {
    if (typeof value === 'bigint' && value >= 0n && value <= uint64Max) {
      if (value <= maxSafe) return this.safeVarint(Number(value));
      halves.setBigUint64(0, value, true);
      return this.varint64(halves.getInt32(0, true), halves.getInt32(4, true));
    }
    const tc = protoInt64.uEnc(value);
    return this.varint64(tc.lo, tc.hi);
  }

  /** A non-negative safe integer as a varint (no BigInt arithmetic). */
  private safeVarint(n: number): this {
    if (n < two32) {
      this.ensure(5);
      const b = this.buf;
      while (n > 0x7f) {
        b[this.pos++] = (n & 0x7f) | 0x80;
        n = n >>> 7;
      }
      b[this.pos++] = n;
      return this;
    }
    const lo = n >>> 0;
    return this.varint64(lo, (n - lo) / two32);
  }

  /** BinaryWriter's 64-bit varint from two 32-bit halves. */
  private varint64(lo: number, hi: number): this {
    this.ensure(10);
    const b = this.buf;
    let pos = this.pos;
    for (let i = 0; i < 28; i += 7) {
      const shift = lo >>> i;
      const more = !(shift >>> 7 === 0 && hi === 0);
      b[pos++] = (more ? shift | 0x80 : shift) & 0xff;
      if (!more) {
        this.pos = pos;
        return this;
      }
    }
    const split = ((lo >>> 28) & 0x0f) | ((hi & 0x07) << 4);
    const moreHi = !(hi >> 3 === 0);
    b[pos++] = (moreHi ? split | 0x80 : split) & 0xff;
    if (!moreHi) {
      this.pos = pos;
      return this;
    }
    for (let i = 3; i < 31; i += 7) {
      const shift = hi >>> i;
      const more = !(shift >>> 7 === 0);
      b[pos++] = (more ? shift | 0x80 : shift) & 0xff;
      if (!more) {
        this.pos = pos;
        return this;
      }
    }
    b[pos++] = (hi >>> 31) & 0x01;
    this.pos = pos;
    return this;
  }
}
