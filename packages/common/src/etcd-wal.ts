// etcd's WAL record framing (wal/encoder.go, decoder.go): each record is a u64 little-endian
// length whose top byte, when its 0x80 bit is set, holds the count of padding bytes (the low
// three bits), then walpb.Record {type 1, crc 2, data 3}, then the padding to 8 bytes. The crc is
// crc32c rolling over every record's data. Preallocated zeros end the log.

import { crc32c } from './crc32c.js';
import { pbBytes, pbBytesField, pbUint, pbVarintField, decodePbFields } from './protobuf-wire.js';

export const EtcdWalRecordType = { metadata: 1, entry: 2, state: 3, crc: 4, snapshot: 5 } as const;

export class EtcdWalError extends Error {
  readonly code = 'ERR_ETCD_WAL';
  constructor(message: string) {
    super(message);
    this.name = 'EtcdWalError';
  }
}

const frameLengthMask = (1n << 56n) - 1n;

/** Writes one segment's records (a crc record first starts the rolling checksum at 0). */
export class EtcdWalWriter {
  private crc = 0;
  private readonly chunks: Buffer[] = [];

  record(type: number, data?: Uint8Array): void {
    if (data) this.crc = crc32c(data, this.crc);
    const body = Buffer.from([...pbVarintField(1, type), ...pbVarintField(2, this.crc), ...(data ? pbBytesField(3, data) : [])]);
    const pad = (8 - (body.length % 8)) % 8;
    let len = BigInt(body.length);
    if (pad !== 0) len |= BigInt(0x80 | pad) << 56n;
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(len);
    this.chunks.push(head, body, Buffer.alloc(pad));
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** The records of one segment, up to the first zero length (the preallocated tail). */
export function* etcdWalRecords(segment: Buffer): Generator<{ type: number; data: Buffer }> {
  let o = 0;
  while (o + 8 <= segment.length) {
    const frame = segment.readBigUInt64LE(o);
    const len = Number(frame & frameLengthMask);
    if (len === 0) return;
    const top = Number(frame >> 56n);
    const pad = top & 0x80 ? top & 0x07 : 0;
    // the length counts the record only; padding to 8 bytes follows it
    if (o + 8 + len + pad > segment.length) throw new EtcdWalError(`torn record at ${o}`);
    const rec = decodePbFields(segment.subarray(o + 8, o + 8 + len));
    o += 8 + len + pad;
    yield { type: Number(pbUint(rec, 1)), data: pbBytes(rec, 3) };
  }
}
