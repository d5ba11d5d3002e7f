// The protobuf wire format at its smallest, for etcd's storage messages that have no generated
// code here (walpb.Record, raftpb.Entry/HardState/ConfChange/Snapshot, etcdserverpb.Metadata):
// varints and length-delimited fields, written in field order and read into a field table.

export class ProtobufWireError extends Error {
  readonly code = 'ERR_PROTOBUF_WIRE';
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufWireError';
  }
}

/** Unsigned LEB128 of a 64-bit value (negative numbers as their two's complement, like Go's uint64 cast). */
export function encodeVarint(v: bigint | number): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

/** Bytes of the varint of a non-negative integer up to 2^53 (no BigInt: for hot encoders). */
export function varintSize(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/** Writes the varint of a non-negative integer up to 2^53 at `off`; returns the offset after it. */
export function writeVarintAt(buf: Uint8Array, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[off++] = n;
  return off;
}

/** Bytes of the varint of a 64-bit value (negative as its two's complement). */
export function bigVarintSize(n: bigint): number {
  let u = BigInt.asUintN(64, n);
  let len = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    len++;
  }
  return len;
}

/** Writes the varint of a 64-bit value at `off` (negative as its two's complement); returns the offset after it. */
export function writeBigVarintAt(buf: Uint8Array, off: number, n: bigint): number {
  let u = BigInt.asUintN(64, n);
  while (u >= 0x80n) {
    buf[off++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[off++] = Number(u);
  return off;
}

/** A varint field (wire type 0). */
export const pbVarintField = (field: number, v: bigint | number): number[] => [...encodeVarint((field << 3) | 0), ...encodeVarint(v)];
/** A length-delimited field (wire type 2). */
export const pbBytesField = (field: number, b: Uint8Array): number[] => [...encodeVarint((field << 3) | 2), ...encodeVarint(b.length), ...b];

/** Field number -> values in the order they came (varints and fixed as bigint, length-delimited as views). */
export type PbFields = Map<number, Array<bigint | Buffer>>;

/** Reads the varint at `pos.o` (advancing it); ProtobufWireError when cut off or longer than 10 bytes. */
export function readVarint(b: Buffer, pos: { o: number }): bigint {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.o >= b.length) throw new ProtobufWireError('truncated protobuf varint');
    const byte = b[pos.o++];
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return v;
    shift += 7n;
    if (shift > 63n) throw new ProtobufWireError('protobuf varint too long');
  }
}

/** Reads a message's fields (wire types 0, 1, 2 and 5). */
export function decodePbFields(b: Buffer): PbFields {
  const out: PbFields = new Map();
  const pos = { o: 0 };
  while (pos.o < b.length) {
    const tag = Number(readVarint(b, pos));
    const field = tag >>> 3;
    let v: bigint | Buffer;
    switch (tag & 7) {
      case 0:
        v = readVarint(b, pos);
        break;
      case 2: {
        const n = Number(readVarint(b, pos));
        if (pos.o + n > b.length) throw new ProtobufWireError('truncated protobuf field');
        v = b.subarray(pos.o, pos.o + n);
        pos.o += n;
        break;
      }
      case 1:
        if (pos.o + 8 > b.length) throw new ProtobufWireError('truncated protobuf field');
        v = b.readBigUInt64LE(pos.o);
        pos.o += 8;
        break;
      case 5:
        if (pos.o + 4 > b.length) throw new ProtobufWireError('truncated protobuf field');
        v = BigInt(b.readUInt32LE(pos.o));
        pos.o += 4;
        break;
      default:
        throw new ProtobufWireError(`unsupported protobuf wire type ${tag & 7}`);
    }
    const list = out.get(field) ?? [];
    list.push(v);
    out.set(field, list);
  }
  return out;
}

/** The last value of a varint field (0 when absent), as protobuf reads a repeated scalar. */
export function pbUint(f: PbFields, n: number): bigint {
  const v = f.get(n)?.at(-1);
  return typeof v === 'bigint' ? v : 0n;
}

/** The last value of a length-delimited field (empty when absent). */
export function pbBytes(f: PbFields, n: number): Buffer {
  const v = f.get(n)?.at(-1);
  return Buffer.isBuffer(v) ? v : Buffer.alloc(0);
}
