// Receiving etcd's pipeline: POST /raft (sender already admitted) carries one raft message, its
// body bounded by maxFrameBytes. It is decoded (400 "error unmarshalling raft message"), checked
// like a stream's (checkMessage on the "pipeline" channel: any stream type, never MsgSnap), then
// handed to raft; 204 when done, as etcd's pipelineHandler.

import type * as http from 'node:http';
import { decodeMessage, type Message } from '@tsetcd/raft';
import { maxFrameBytes } from './framing.js';
import { PeerHeader } from './peer-headers.js';
import { checkMessage, type PeerDirectory } from './peer-checks.js';
import { readBody } from './peer-http.js';
import { PeerRefusal } from './errors.js';

export async function servePipeline(req: http.IncomingMessage, res: http.ServerResponse, from: bigint, dir: PeerDirectory, step: (m: Message) => void): Promise<void> {
  const body = await readBody(req, maxFrameBytes, 'raft message');
  let m: Message;
  try {
    m = decodeMessage(body);
  } catch {
    throw new PeerRefusal(400, 'error unmarshalling raft message');
  }
  checkMessage(m, from, dir, 'pipeline');
  step(m);
  res.writeHead(204, { [PeerHeader.clusterId]: dir.clusterId.toString(16) }).end();
}
