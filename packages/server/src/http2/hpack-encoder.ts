// RFC 7541 HPACK encoding. The server encodes its few constant header blocks once, as literals
// without indexing (static-table names where there are any), so it needs no dynamic table;
// with `indexing` the encoder keeps one (as in RFC 7541 Appendix C) for tests and clients.

import { huffmanEncode, huffmanEncodedLength } from './hpack-huffman.js';
import { entryOverhead } from './hpack-decoder.js';
import { staticNameIndex, staticPairIndex, staticTable } from './hpack-static-table.js';

export interface HpackEncoderOptions {
  /** Huffman-encode strings when that is shorter. Default false. */
  huffman?: boolean;
  /** Add fields to the dynamic table (literal with incremental indexing) and refer to them later. Default false. */
  indexing?: boolean;
  /** Dynamic table size, bytes (the peer's SETTINGS_HEADER_TABLE_SIZE). Default 4096. */
  tableSize?: number;
}

export class HpackEncoder {
  private readonly huffman: boolean;
  private readonly indexing: boolean;
  private readonly tableSize: number;
  /** Newest first. */
  private table: Array<[string, string]> = [];
  private tableBytes = 0;

  constructor(options: HpackEncoderOptions = {}) {
    this.huffman = options.huffman ?? false;
    this.indexing = options.indexing ?? false;
    this.tableSize = options.tableSize ?? 4096;
  }

  /** One header block for these fields (names lower-case, values latin1 strings). */
  encode(fields: ReadonlyArray<readonly [string, string]>): Buffer {
    const parts: number[] = [];
    for (const [name, value] of fields) this.encodeField(name, value, parts);
    return Buffer.from(parts);
  }

  private encodeField(name: string, value: string, out: number[]): void {
    const pair = this.findPair(name, value);
    if (pair !== 0) {
      writeInt(out, pair, 7, 0x80);
      return;
    }
    const nameIndex = this.findName(name);
    if (this.indexing) writeInt(out, nameIndex, 6, 0x40);
    else writeInt(out, nameIndex, 4, 0x00);
    if (nameIndex === 0) this.writeString(out, name);
    this.writeString(out, value);
    if (this.indexing) this.add(name, value);
  }

  private findPair(name: string, value: string): number {
    const s = staticPairIndex.get(`${name}\0${value}`);
    if (s !== undefined) return s;
    if (!this.indexing) return 0;
    const d = this.table.findIndex(([n, v]) => n === name && v === value);
    return d < 0 ? 0 : staticTable.length + 1 + d;
  }

  private findName(name: string): number {
    const s = staticNameIndex.get(name);
    if (s !== undefined) return s;
    if (!this.indexing) return 0;
    const d = this.table.findIndex(([n]) => n === name);
    return d < 0 ? 0 : staticTable.length + 1 + d;
  }

  private writeString(out: number[], s: string): void {
    if (this.huffman) {
      const n = huffmanEncodedLength(s);
      if (n <= s.length) {
        writeInt(out, n, 7, 0x80);
        const buf = new Uint8Array(n);
        huffmanEncode(s, buf, 0);
        for (const b of buf) out.push(b);
        return;
      }
    }
    writeInt(out, s.length, 7, 0x00);
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff);
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + entryOverhead;
    while (this.tableBytes + size > this.tableSize && this.table.length > 0) {
      const [n, v] = this.table.pop()!;
      this.tableBytes -= n.length + v.length + entryOverhead;
    }
    if (size > this.tableSize) return;
    this.table.unshift([name, value]);
    this.tableBytes += size;
  }
}

/** RFC 7541 §5.1 integer with an N-bit prefix; `flags` fills the bits above the prefix. */
export function writeInt(out: number[], value: number, prefixBits: number, flags: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/** A header block of literals without indexing, as the server sends its constant headers. */
export function encodeLiteralBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  return new HpackEncoder().encode(fields);
}
