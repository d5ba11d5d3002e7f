// Talking to a member's peer port as an outsider would: raw HTTP requests with chosen peer
// headers and bodies (answers and connection resets both reported, never thrown), and forged raft
// messages and frames (a MsgProp carrying real InternalRaftRequests, broken frames).

import * as http from 'node:http';
import * as https from 'node:https';
import { encodeMessage, newMessage, EntryType, MessageType, type Message } from '@tsetcd/raft';
import { tsetcdpb } from '@tsetcd/proto';
import { encodeFrame } from '../src/rafthttp/framing.js';
import { PeerVersion } from '../src/rafthttp/peer-headers.js';

export interface PeerAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** What came back: an answer, or the connection was cut (`reset`, with the error code). */
export type PeerOutcome = PeerAnswer | { reset: string };

export interface PeerHeaders {
  clusterId?: string;
  from?: string;
  to?: string;
  [extra: string]: string | undefined;
}

/**
 * One request to a peer listener (https: with `tls`, e.g. a client certificate); resolves with
 * the answer or the reset, within `timeoutMs`. It says it is a 3.4 member (X-Server-Version, as
 * members' raft requests do) unless `h` names 'x-server-version' (undefined: leave it out).
 */
export function peerCall(baseUrl: string, method: string, path: string, h: PeerHeaders, body?: Buffer | Buffer[], timeoutMs = 10_000, tls?: https.RequestOptions): Promise<PeerOutcome> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (!('x-server-version' in h)) headers['x-server-version'] = PeerVersion.server;
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const name = k === 'clusterId' ? 'x-etcd-cluster-id' : k === 'from' ? 'x-server-from' : k === 'to' ? 'x-raft-to' : k;
    headers[name] = v;
  }
  const parts = body === undefined ? [] : Array.isArray(body) ? body : [body];
  // a declared length: GET bodies are not chunked by Node's client
  if (body !== undefined) headers['content-length'] = String(parts.reduce((n, p) => n + p.length, 0));
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: PeerOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    const url = new URL(path, baseUrl);
    const req = url.protocol === 'https:' ? https.request(url, { method, headers, agent: false, ...tls }) : http.request(url, { method, headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ reset: 'client timeout' });
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      const end = (): void => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers });
      res.on('end', end);
      res.on('error', end);
      res.on('aborted', end);
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish({ reset: e.code ?? e.message }));
    for (const p of parts) req.write(p);
    req.end();
  });
}

export function isAnswer(o: PeerOutcome): o is PeerAnswer {
  return 'status' in o;
}

/** The InternalRaftRequest bytes a member would propose for `r` (request ID `id`). */
export function internalRequest(id: bigint, r: Partial<tsetcdpb.InternalRaftRequest>): Uint8Array {
  return tsetcdpb.InternalRaftRequest.encode(tsetcdpb.InternalRaftRequest.fromPartial({ ...r, header: { ID: id } })).finish();
}

/** A MsgProp as a follower forwards it: entries carrying `put injected` and `authDisable`. */
export function forgedProposal(from: bigint, to: bigint, key = 'injected'): Message {
  return newMessage(MessageType.MsgProp, to, {
    from,
    entries: [
      { term: 0, index: 0, type: EntryType.Normal, data: internalRequest(0x7777n, { put: { key: Buffer.from(key), value: Buffer.from('by-an-outsider') } }) },
      { term: 0, index: 0, type: EntryType.Normal, data: internalRequest(0x7778n, { authDisable: {} }) },
    ],
  });
}

/** The body of a pipeline POST /raft: one encoded message, unframed. */
export function payload(m: Message): Buffer {
  return Buffer.from(encodeMessage(m));
}

/** The path a member dials to receive `kind` messages, naming `from` as the dialer. */
export function streamDial(kind: 'msgapp' | 'message', from: string): string {
  return `/raft/stream/${kind}/${from}`;
}

export function frame(m: Message): Buffer {
  return encodeFrame(encodeMessage(m));
}

/** A frame whose payload is `payload` as given (any bytes). */
export function rawFrame(payload: Uint8Array): Buffer {
  return encodeFrame(payload);
}

/** A 4-byte length prefix announcing `n` bytes (and nothing after it). */
export function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
