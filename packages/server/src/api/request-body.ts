// Reading an HTTP request body under a size limit, for the JSON gateway and the dashboard's
// endpoint proxy: bytes past the limit are counted and dropped, never held.

import type { Readable } from 'node:stream';

export interface BoundedBody {
  /** The whole body; empty once it passed the limit. */
  bytes: Buffer;
  /** How many bytes arrived in all. */
  total: number;
  /** The request failed (the client went away) before its end. */
  failed: boolean;
}

/** Reads `req` to its end or failure, keeping it only while it stays within `limit` bytes. */
export function readUpTo(req: Readable, limit: number): Promise<BoundedBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (c: Buffer) => {
      total += c.length;
      if (total <= limit) chunks.push(c);
      else chunks.length = 0;
    });
    const done = (failed: boolean) => resolve({ bytes: total <= limit ? Buffer.concat(chunks) : Buffer.alloc(0), total, failed });
    req.on('end', () => done(false));
    req.on('error', () => done(true));
  });
}
