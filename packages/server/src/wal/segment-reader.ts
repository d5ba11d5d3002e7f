// Reads a segment file front to back on demand, so replay does not pull a mostly empty
// preallocated segment (64 MiB by default) into memory just to find where its data ends.

import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isZero } from './record.js';

export const segmentReadChunkBytes = 1024 * 1024;
/** Segments up to this size (the default 64 MiB) are read into one buffer allocated up front. */
const wholeSegmentBytes = 64 * 1024 * 1024;

export class SegmentReader {
  private buf = Buffer.alloc(0);
  private filled = 0;
  private eof = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly fileBytes: number,
  ) {}

  static async open(path: string): Promise<SegmentReader> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      return new SegmentReader(fh, st.size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** The bytes read so far (a prefix of the file). */
  view(): Buffer {
    return this.buf.subarray(0, this.filled);
  }

  /** Reads until at least `bytes` bytes of the file are in view(), or the file ends. */
  async ensure(bytes: number): Promise<void> {
    const want = Math.min(bytes, this.fileBytes);
    while (this.filled < want && !this.eof) {
      if (this.buf.length < want) {
        // Not zero-filled (only view()'s prefix, bytes read from the file, is ever exposed), and
        // a whole segment of the usual size at once, so it is never copied as reading goes on;
        // the pages of its unread rest (most of a preallocated last segment) are never touched.
        const cap = Math.min(this.fileBytes, Math.max(want, this.buf.length * 2, wholeSegmentBytes));
        const grown = Buffer.allocUnsafeSlow(cap);
        this.buf.copy(grown, 0, 0, this.filled);
        this.buf = grown;
      }
      const len = Math.min(this.buf.length - this.filled, Math.max(want - this.filled, segmentReadChunkBytes));
      const { bytesRead } = await this.fh.read(this.buf, this.filled, len, this.filled);
      if (bytesRead === 0) this.eof = true;
      this.filled += bytesRead;
    }
  }

  /** True when file bytes [start, start + limit) (clipped to the file) are all zero; reads in chunks. */
  async zeroFrom(start: number, limit = Number.POSITIVE_INFINITY): Promise<boolean> {
    const end = Math.min(this.fileBytes, start + limit);
    const inView = Math.min(end, this.filled);
    if (start < inView && !isZero(this.buf, start, inView)) return false;
    const chunk = Buffer.alloc(segmentReadChunkBytes);
    for (let pos = Math.max(start, inView); pos < end; ) {
      const { bytesRead } = await this.fh.read(chunk, 0, Math.min(chunk.length, end - pos), pos);
      if (bytesRead === 0) break;
      if (!isZero(chunk, 0, bytesRead)) return false;
      pos += bytesRead;
    }
    return true;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
