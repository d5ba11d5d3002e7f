// HTTP plumbing of the peer handler: etcd's error answers, bounded body reads, and how a
// refused request's connection is wound down (the answer is sent, then at most a bounded amount
// of the remaining body is read and discarded before the connection is cut).

import type * as http from 'node:http';
import { PeerHeader } from './peer-headers.js';
import { PeerRefusal } from './errors.js';
import { readUpTo } from '@tsetcd/common';

/** Body bytes read and discarded after a refusal before the connection is cut (Go's net/http reads 256 KiB). */
export const maxDiscardBytes = 256 * 1024;

/** etcd's http.Error: status, text/plain body ending in a newline, the member's cluster ID. */
export function answerRefusal(req: http.IncomingMessage, res: http.ServerResponse, r: PeerRefusal, clusterId: bigint): void {
  if (res.headersSent) {
    // a stream already answered 200: all that is left is to end it
    if (!res.writableEnded) res.end();
    req.destroy();
    return;
  }
  res.writeHead(r.status, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    [PeerHeader.clusterId]: clusterId.toString(16),
    connection: 'close',
  });
  res.end(r.body + '\n');
  discardRest(req);
}

/** Reads and drops what is left of a request body, cutting the connection past maxDiscardBytes. */
export function discardRest(req: http.IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  let n = 0;
  req.on('data', (d: Buffer) => {
    n += d.length;
    if (n > maxDiscardBytes) req.destroy();
  });
  req.resume();
}

/** The whole body of a short request; more than `limit` bytes is refused (400). */
export async function readBody(req: http.IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const r = await readUpTo(req, limit, { stopPastLimit: true });
  if (r.failed || r.total > limit) throw new PeerRefusal(400, `error reading ${what}`);
  return r.bytes;
}
