// A minimal protobuf wire codec (varint, length-delimited) used for the handful of
// messages this package speaks itself: the etcd v3 KV/Lease/Watch subset needed for
// service discovery and grpc.health.v1. 64-bit integers are bigint end to end.

/** One decoded field: varints as bigint, length-delimited as Buffer. */
export type WireValue = bigint | Buffer;

export class ProtoWriter {
  private readonly chunks: Buffer[] = [];
  private readonly scratch: number[] = [];

  private varint(v: bigint): void {
    // Negative int64 values are encoded as their 64-bit two's complement (10 bytes).
    let x = v < 0n ? v + (1n << 64n) : v;
    const out = this.scratch;
    out.length = 0;
    while (x > 0x7fn) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.chunks.push(Buffer.from(out));
  }

  private tag(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  /** Writes a varint field, skipping the proto3 default (zero). */
  uint(field: number, v: bigint | number | boolean): this {
    const b = typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v);
    if (b === 0n) return this;
    this.tag(field, 0);
    this.varint(b);
    return this;
  }

  /** Writes a bytes/string field, skipping empty values. */
  bytes(field: number, v: Buffer | string | undefined): this {
    if (v === undefined) return this;
    const buf = typeof v === 'string' ? Buffer.from(v) : v;
    if (buf.length === 0) return this;
    this.tag(field, 2);
    this.varint(BigInt(buf.length));
    this.chunks.push(buf);
    return this;
  }

  /** Writes an embedded message (always present, even when empty). */
  message(field: number, inner: ProtoWriter): this {
    const buf = inner.finish();
    this.tag(field, 2);
    this.varint(BigInt(buf.length));
    this.chunks.push(buf);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Decodes one message level into field number → values (repeated fields keep order). */
export function decodeFields(buf: Buffer): Map<number, WireValue[]> {
  const out = new Map<number, WireValue[]>();
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new RangeError('protobuf: truncated varint');
      const byte = buf[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new RangeError('protobuf: varint too long');
    }
  };
  while (pos < buf.length) {
    const key = Number(readVarint());
    const field = key >>> 3;
    const wireType = key & 7;
    let value: WireValue;
    switch (wireType) {
      case 0:
        value = readVarint();
        break;
      case 1:
        value = buf.readBigUInt64LE(pos);
        pos += 8;
        break;
      case 2: {
        const len = Number(readVarint());
        if (pos + len > buf.length) throw new RangeError('protobuf: truncated bytes');
        value = buf.subarray(pos, pos + len);
        pos += len;
        break;
      }
      case 5:
        value = BigInt(buf.readUInt32LE(pos));
        pos += 4;
        break;
      default:
        throw new RangeError(`protobuf: unsupported wire type ${wireType}`);
    }
    let list = out.get(field);
    if (!list) out.set(field, (list = []));
    list.push(value);
  }
  return out;
}

/** Reads a varint field as signed int64 (two's complement), default 0n. */
export function int64Of(fields: Map<number, WireValue[]>, field: number): bigint {
  const v = fields.get(field)?.at(-1);
  if (typeof v !== 'bigint') return 0n;
  return v >= 1n << 63n ? v - (1n << 64n) : v;
}

export function boolOf(fields: Map<number, WireValue[]>, field: number): boolean {
  return int64Of(fields, field) !== 0n;
}

export function bytesOf(fields: Map<number, WireValue[]>, field: number): Buffer {
  const v = fields.get(field)?.at(-1);
  return Buffer.isBuffer(v) ? v : Buffer.alloc(0);
}

export function messagesOf(fields: Map<number, WireValue[]>, field: number): Buffer[] {
  return (fields.get(field) ?? []).filter((v): v is Buffer => Buffer.isBuffer(v));
}
