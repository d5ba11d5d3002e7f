// RFC 7541 HPACK decoding, one decoder per connection (the dynamic table is connection state).
// Every block comes from the network: integers, string lengths, table indexes and table size
// updates are bounds-checked, and the decoded header list is measured (RFC 9113 §6.5.2 size:
// name + value + 32 per field) so a small block that expands hugely is caught.

import { HuffmanError, huffmanDecode } from './hpack-huffman.js';
import { staticTable } from './hpack-static-table.js';

/** A block that cannot be decoded: a COMPRESSION_ERROR for the whole connection. */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}

/** Per-field overhead in table and header-list sizes (RFC 7541 §4.1). */
export const entryOverhead = 32;
const staticCount = staticTable.length;
/** Integers larger than this are refused (no legitimate length or index comes near it). */
const maxInteger = 0x7fff_ffff;

export type HeaderSink = (name: string, value: string) => void;

export class HpackDecoder {
  private names: string[] = [];
  private values: string[] = [];
  /** Index in names/values of the oldest entry still in the table. */
  private head = 0;
  private tableBytes = 0;
  /** The table size the encoder chose (≤ maxAllowedTableBytes). */
  private tableLimit: number;
  private pos = 0;

  /** @param maxAllowedTableBytes our SETTINGS_HEADER_TABLE_SIZE: the most the encoder may use. */
  constructor(private readonly maxAllowedTableBytes = 4096) {
    this.tableLimit = maxAllowedTableBytes;
  }

  /** Entries in the dynamic table (for tests). */
  get tableEntries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = this.names.length - 1; i >= this.head; i--) out.push([this.names[i], this.values[i]]);
    return out;
  }

  /** The dynamic table's size in RFC 7541 terms. */
  get tableSize(): number {
    return this.tableBytes;
  }

  /**
   * Decodes one complete header block, calling `sink` for each field in order until the list
   * passes `maxListBytes`; the rest of the block is still decoded (the table must stay in step
   * with the peer's encoder). Returns false when the list was too large. Throws HpackError.
   */
  decode(block: Uint8Array, sink: HeaderSink, maxListBytes = Infinity): boolean {
    const end = block.length;
    let listBytes = 0;
    let fields = 0;
    this.pos = 0;
    while (this.pos < end) {
      const b = block[this.pos];
      let name: string;
      let value: string;
      if ((b & 0x80) !== 0) {
        const index = this.readInt(block, 7);
        name = this.nameAt(index);
        value = this.valueAt(index);
      } else if ((b & 0xe0) === 0x20) {
        if (fields > 0) throw new HpackError('dynamic table size update after a header field');
        const size = this.readInt(block, 5);
        if (size > this.maxAllowedTableBytes) throw new HpackError(`dynamic table size update ${size} over the limit ${this.maxAllowedTableBytes}`);
        this.tableLimit = size;
        this.evictTo(size);
        continue;
      } else {
        const incremental = (b & 0xc0) === 0x40;
        const index = this.readInt(block, incremental ? 6 : 4);
        name = index === 0 ? this.readString(block) : this.nameAt(index);
        value = this.readString(block);
        if (incremental) this.add(name, value);
      }
      fields++;
      listBytes += name.length + value.length + entryOverhead;
      if (listBytes <= maxListBytes) sink(name, value);
    }
    return listBytes <= maxListBytes;
  }

  private readInt(block: Uint8Array, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = block[this.pos++] & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= block.length) throw new HpackError('truncated integer');
      const b = block[this.pos++];
      value += (b & 0x7f) * 2 ** shift;
      if (value > maxInteger) throw new HpackError('integer overflow');
      if ((b & 0x80) === 0) return value;
      shift += 7;
    }
  }

  private readString(block: Uint8Array): string {
    if (this.pos >= block.length) throw new HpackError('truncated string');
    const huffman = (block[this.pos] & 0x80) !== 0;
    const length = this.readInt(block, 7);
    const start = this.pos;
    const end = start + length;
    if (end > block.length) throw new HpackError('string past the end of the block');
    this.pos = end;
    if (!huffman) return latin1(block, start, end);
    try {
      return huffmanDecode(block, start, end);
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
  }

  private nameAt(index: number): string {
    if (index === 0) throw new HpackError('index 0');
    if (index <= staticCount) return staticTable[index - 1][0];
    return this.names[this.dynamicSlot(index)];
  }

  private valueAt(index: number): string {
    if (index <= staticCount) return staticTable[index - 1][1];
    return this.values[this.dynamicSlot(index)];
  }

  private dynamicSlot(index: number): number {
    const slot = this.names.length - (index - staticCount);
    if (slot < this.head) throw new HpackError(`index ${index} past the dynamic table`);
    return slot;
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + entryOverhead;
    if (size > this.tableLimit) {
      // RFC 7541 §4.4: an entry larger than the table empties it and is not added.
      this.evictTo(0);
      return;
    }
    this.evictTo(this.tableLimit - size);
    this.names.push(name);
    this.values.push(value);
    this.tableBytes += size;
  }

  private evictTo(limit: number): void {
    while (this.tableBytes > limit && this.head < this.names.length) {
      this.tableBytes -= this.names[this.head].length + this.values[this.head].length + entryOverhead;
      this.head++;
    }
    if (this.head > 32 && this.head * 2 > this.names.length) {
      this.names = this.names.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }
}

function latin1(block: Uint8Array, start: number, end: number): string {
  if (Buffer.isBuffer(block)) return (block as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);
  return Buffer.from(block.buffer, block.byteOffset + start, end - start).toString('latin1');
}
