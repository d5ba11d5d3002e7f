// Keys and values: strings are UTF-8, Buffers/Uint8Arrays are taken as they are.
import { prefixEnd } from '@tsetcd/common';
import { InvalidArgumentError } from './errors.js';

export type Bytes = string | Buffer | Uint8Array;

export function toBuffer(v: Bytes): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** The smallest key greater than every key starting with `prefix` (etcd's GetPrefixRangeEnd). */
export { prefixEnd };

/** Range end for a key with etcd's range options (prefix / fromKey / explicit rangeEnd). */
export function rangeEndFor(key: Bytes, o: { prefix?: boolean; fromKey?: boolean; rangeEnd?: Bytes }): Buffer {
  const set = [o.prefix === true, o.fromKey === true, o.rangeEnd !== undefined].filter(Boolean).length;
  if (set > 1) throw new InvalidArgumentError('only one of prefix, fromKey and rangeEnd may be given');
  if (o.prefix === true) return prefixEnd(key);
  if (o.fromKey === true) return Buffer.from([0]);
  if (o.rangeEnd !== undefined) return toBuffer(o.rangeEnd);
  return Buffer.alloc(0);
}

/** Accepts number or bigint for 64-bit fields; numbers must be safe integers. */
export function toInt64(v: bigint | number | undefined, what: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) throw new InvalidArgumentError(`${what} must be an integer, got ${v}`);
  return BigInt(v);
}
