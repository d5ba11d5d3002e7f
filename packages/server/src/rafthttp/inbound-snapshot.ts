// Receiving a snapshot (POST /raft/snapshot, already admitted): the first frame is the MsgSnap,
// decoded and checked before anything is written; the rest of the body is the sender's database,
// streamed to a file and handed with the message to the host, which installs it. Answers as
// etcd's snapshotHandler: 204 once processed, 400 for a message that cannot be decoded or is not
// a MsgSnap from the sender to this member, 500 when saving or processing fails.

import type * as http from 'node:http';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decodeMessage, type Message } from '@tsetcd/raft';
import { FrameDecoder } from './framing.js';
import { checkMessage, type PeerDirectory } from './peer-checks.js';
import { PeerRefusal } from './errors.js';

export interface InboundSnapshotContext {
  dir: PeerDirectory;
  /** where incoming databases are written */
  snapshotDir(): string;
  /** installs the database and steps the message */
  receive(m: Message, dbFile: string): Promise<void>;
  log?: { info(m: string, f?: Record<string, unknown>): void; warn(m: string, f?: Record<string, unknown>): void };
}

/** Decodes the head frame's payload; a malformed one is etcd's 400 "failed to decode raft message (…)". */
function decodeFrame(payload: Buffer): Message {
  try {
    return decodeMessage(payload);
  } catch (e) {
    throw new PeerRefusal(400, `failed to decode raft message (${(e as Error).message})`);
  }
}

/** The MsgSnap frame at the start of the body, checked, and the body bytes that followed it. */
function readHead(req: http.IncomingMessage, from: bigint, dir: PeerDirectory): Promise<{ m: Message; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const head = new FrameDecoder();
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onEnd);
      req.pause();
      fn();
    };
    const onData = (chunk: Buffer): void => {
      try {
        let frames: Buffer[];
        try {
          frames = head.push(chunk, 1);
        } catch (e) {
          throw new PeerRefusal(400, `failed to decode raft message (${(e as Error).message})`);
        }
        if (frames.length === 0) return;
        const m = decodeFrame(frames[0]);
        checkMessage(m, from, dir, 'snapshot');
        const rest = head.takeRemaining();
        settle(() => resolve({ m, rest }));
      } catch (e) {
        settle(() => reject(e));
      }
    };
    const onEnd = (): void => settle(() => reject(new PeerRefusal(400, 'failed to decode raft message (unexpected EOF)')));
    req.on('data', onData);
    req.on('end', onEnd);
    // the sender went away before the head was complete
    req.on('close', onEnd);
  });
}

export async function receiveSnapshot(req: http.IncomingMessage, res: http.ServerResponse, from: bigint, ctx: InboundSnapshotContext): Promise<void> {
  const { m, rest } = await readHead(req, from, ctx.dir);
  const index = m.snapshot?.metadata.index ?? 0;
  ctx.log?.info('receiving database snapshot', { 'remote-snapshot-sender-id': from.toString(16), 'incoming-snapshot-index': index });
  const dir = ctx.snapshotDir();
  const file = join(dir, `incoming-${Date.now()}-${Math.floor(Math.random() * 1e9)}.snap.db`);
  try {
    try {
      await mkdir(dir, { recursive: true });
      const out = createWriteStream(file);
      if (rest.length > 0) out.write(rest);
      await pipeline(req, out);
    } catch (e) {
      throw new PeerRefusal(500, `failed to save KV snapshot (${(e as Error).message})`);
    }
    try {
      await ctx.receive(m, file);
    } catch (e) {
      throw new PeerRefusal(500, `failed to process raft message (${(e as Error).message})`);
    }
    res.writeHead(204).end();
  } finally {
    await rm(file, { force: true }).catch(() => undefined);
  }
}
