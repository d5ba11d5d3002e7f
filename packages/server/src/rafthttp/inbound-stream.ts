// Receiving one peer stream (POST /raft/stream/msgapp or /raft/stream/message, already admitted):
// framed raft messages, each decoded, checked and handed to raft in order.
//
// When the answer goes out: a member's stream announces its version (X-Server-Version, as
// etcd's streams do) and is answered 200 at once, so that it can start sending. A request that
// does not (curl, a probe) is answered after its first whole frame, so a frame that cannot be
// decoded or is not acceptable gets etcd's 400/412 on that connection. A bad frame after the 200
// ends the stream (the status is already sent); a member's stream then reconnects.

import type * as http from 'node:http';
import { decodeMessage, type Message } from '@tsetcd/raft';
import { FrameDecoder } from './framing.js';
import { PeerHeader, type StreamKind } from './peer-headers.js';
import { checkMessage, type PeerDirectory } from './peer-checks.js';
import { PeerRefusal } from './errors.js';

export interface InboundStreamContext {
  dir: PeerDirectory;
  /** hands a checked message to raft */
  step(m: Message): void;
  /** true once the transport is closing: later frames are ignored */
  closed(): boolean;
  /** the stream is open (true) or gone (false); the transport cuts streams of removed members */
  track(req: http.IncomingMessage, from: bigint, open: boolean): void;
  /** answers (or ends) the connection with a refusal or an unexpected error */
  fail(e: unknown): void;
}

/** Decodes a frame's payload; a malformed one is etcd's 400 "failed to decode raft message (…)". */
export function decodeFrame(payload: Buffer): Message {
  try {
    return decodeMessage(payload);
  } catch (e) {
    throw new PeerRefusal(400, `failed to decode raft message (${(e as Error).message})`);
  }
}

export function serveStream(req: http.IncomingMessage, res: http.ServerResponse, from: bigint, kind: StreamKind, ctx: InboundStreamContext): void {
  const dec = new FrameDecoder();
  let dead = false;
  const accept = (): void => {
    if (res.headersSent) return;
    res.writeHead(200, { 'content-type': 'application/octet-stream', [PeerHeader.clusterId]: ctx.dir.clusterId.toString(16) });
    res.flushHeaders();
  };
  const die = (e: unknown): void => {
    if (dead) return;
    dead = true;
    req.pause();
    ctx.track(req, from, false);
    ctx.fail(e);
  };
  ctx.track(req, from, true);
  req.socket.setNoDelay(true);
  if (req.headers[PeerHeader.serverVersion] !== undefined) accept();
  req.on('data', (chunk: Buffer) => {
    if (dead) return;
    try {
      let frames: Buffer[];
      try {
        frames = dec.push(chunk);
      } catch (e) {
        throw new PeerRefusal(400, `failed to decode raft message (${(e as Error).message})`);
      }
      for (const f of frames) {
        if (dead || ctx.closed()) return;
        const m = decodeFrame(f);
        checkMessage(m, from, ctx.dir, kind);
        ctx.step(m);
        accept();
      }
    } catch (e) {
      die(e);
    }
  });
  req.on('end', () => {
    if (dead) return;
    if (dec.pendingBytes > 0) return die(new PeerRefusal(400, 'failed to decode raft message (unexpected EOF)'));
    dead = true;
    ctx.track(req, from, false);
    accept();
    res.end();
  });
  req.on('close', () => {
    if (dead) return;
    dead = true;
    ctx.track(req, from, false);
    if (!res.writableEnded) res.end();
  });
}
