// One short request to a peer's listener (lease renewals and promotions forwarded to the leader):
// the peer headers (cluster ID, sender, receiver) that the receiving member's checks require, the
// peer TLS client credentials, a deadline, and a bounded answer.

import * as http from 'node:http';
import * as https from 'node:https';
import { PeerHeader } from './peer-headers.js';
import { PeerTimeoutError, RaftHttpError } from './errors.js';

/** Largest answer read from a peer for a short request. */
export const maxAnswerBytes = 1024 * 1024;

export interface PeerRequest {
  url: URL;
  method: 'GET' | 'POST';
  clusterId: bigint;
  from: bigint;
  to: bigint;
  body?: string;
  contentType?: string;
  timeoutMs: number;
  tls?: https.RequestOptions;
}

export interface PeerAnswer {
  status: number;
  body: string;
}

export function peerRequest(o: PeerRequest): Promise<PeerAnswer> {
  const mod = o.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(o.url, {
      method: o.method,
      timeout: o.timeoutMs,
      ...(o.url.protocol === 'https:' ? o.tls : {}),
      headers: {
        ...(o.contentType ? { 'content-type': o.contentType } : {}),
        [PeerHeader.clusterId]: o.clusterId.toString(16),
        [PeerHeader.from]: o.from.toString(16),
        [PeerHeader.to]: o.to.toString(16),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (d: Buffer) => {
        n += d.length;
        if (n > maxAnswerBytes) return void req.destroy(new RaftHttpError('ERR_RAFTHTTP_ANSWER_TOO_LARGE', `rafthttp: peer answer exceeds ${maxAnswerBytes} bytes`));
        chunks.push(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new PeerTimeoutError(o.timeoutMs)));
    req.on('error', reject);
    req.end(o.body);
  });
}
