// The one bounded reader of HTTP bodies from the network (request bodies on the client and peer
// ports, answers from peers and discovery): a stream read to its end under a byte limit. Bytes
// past the limit are never held.

import type { Readable } from 'node:stream';

export interface BoundedBody {
  /** The whole body; empty once it passed the limit. */
  bytes: Buffer;
  /** How many bytes arrived in all (with `stopPastLimit`, up to the first chunk past the limit). */
  total: number;
  /** The stream failed or closed (the sender went away) before its end. */
  failed: boolean;
}

export interface BoundedReadOptions {
  /**
   * Stop at the first chunk past the limit: the stream is paused and the answer given at once
   * (the caller refuses the request and winds the connection down). Without it the rest is read
   * and counted, so the answer can name the body's size.
   */
  stopPastLimit?: boolean;
}

/** Reads `stream` to its end or failure, keeping it only while it stays within `limit` bytes. */
export function readUpTo(stream: Readable, limit: number, o: BoundedReadOptions = {}): Promise<BoundedBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const done = (failed: boolean): void => {
      if (settled) return;
      settled = true;
      resolve({ bytes: total <= limit ? Buffer.concat(chunks) : Buffer.alloc(0), total, failed });
    };
    stream.on('data', (c: Buffer | string) => {
      if (settled) return;
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      total += b.length;
      if (total <= limit) {
        chunks.push(b);
        return;
      }
      chunks.length = 0;
      if (o.stopPastLimit) {
        stream.pause();
        done(false);
      }
    });
    stream.on('end', () => done(false));
    stream.on('error', () => done(true));
    // closed without an end: the sender went away mid-body
    stream.on('close', () => done(true));
  });
}
