// The receiving end of one peer stream (etcd's streamReader): this member dials
// GET /raft/stream/<kind>/<own ID> on the peer's URL and reads the frames the peer writes into
// the answer. Every frame from the network is hostile until checked: its length is bounded
// (maxFrameBytes), it must decode, a link heartbeat is dropped, and any other message must be
// of a type that belongs on this stream, from the dialed peer (forwarded requests may name
// another current member) and to this member (checkMessage). A frame that fails ends the
// connection; nothing of it reaches raft. A broken or silent (connReadTimeoutMs) connection is
// dialed again, at most once per dialRetryMs (etcd's DialRetryFrequency).

import * as http from 'node:http';
import * as https from 'node:https';
import { decodeMessage, type Message } from '@tsetcd/raft';
import { FrameDecoder, isLinkHeartbeat } from './framing.js';
import { PeerHeader, PeerVersion, streamPath, type StreamKind } from './peer-headers.js';
import { checkMessage, type PeerDirectory } from './peer-checks.js';
import { PeerStatusError, RaftHttpError } from './errors.js';
import { connReadTimeoutMs } from './stream-writer.js';

/** etcd's default DialRetryFrequency: one dial per 100 ms at most. */
export const dialRetryMs = 100;
/** Largest refusal text read from a peer's non-200 answer. */
const maxRefusalBytes = 512;

export interface StreamReaderOptions {
  kind: StreamKind;
  dir: PeerDirectory;
  peerId: bigint;
  /** the peer's URLs: one is dialed, the next after a failure */
  urls(): string[];
  /** this member's advertised peer URLs (X-PeerURLs) */
  localUrls(): string[];
  tls?: https.RequestOptions;
  /** a checked message for raft */
  step(m: Message): void;
  /** the stream is up */
  connected(kind: StreamKind): void;
  /** a dial failed or a connection broke (`wasUp`: it had been connected) */
  failed(kind: StreamKind, err: Error, url: string, wasUp: boolean): void;
}

/**
 * A stream's body from our writers is raw frames delimited by the connection's close
 * (stream-handler.ts). Once the 200 is read, the rest is read straight off the socket instead of
 * through Node's HTTP parser and the answer's Readable (a parser pass, a push and an event per
 * chunk, for every message on the replication path). A body with a length or chunked (another
 * writer) stays with the parser. The socket's end and close still reach the HTTP client (the
 * answer ends, the request closes), and so does its read timeout.
 */
function readBodyOffSocket(res: http.IncomingMessage, onData: (chunk: Buffer) => void): boolean {
  const sock = res.socket;
  if (sock === null || res.headers['transfer-encoding'] !== undefined || res.headers['content-length'] !== undefined) return false;
  // the HTTP client's parser feeds on the socket's one 'data' listener; anything else: leave it be
  if (sock.listenerCount('data') !== 1) return false;
  sock.removeAllListeners('data');
  sock.on('data', onData);
  return true;
}

export class StreamReader {
  private readonly o: StreamReaderOptions;
  private closed = false;
  private req: http.ClientRequest | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastDial = 0;
  private urlIndex = 0;
  private readonly agent: http.Agent;

  constructor(o: StreamReaderOptions) {
    this.o = o;
    const tls = o.urls().some((u) => u.startsWith('https:'));
    this.agent = tls ? new https.Agent({ keepAlive: false, maxSockets: 1 }) : new http.Agent({ keepAlive: false, maxSockets: 1 });
  }

  start(): void {
    if (this.closed || this.req !== undefined || this.timer !== undefined) return;
    const wait = this.lastDial + dialRetryMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.start();
      }, wait);
      return;
    }
    this.dial();
  }

  private dial(): void {
    const urls = this.o.urls();
    this.lastDial = Date.now();
    if (urls.length === 0) return this.start();
    const base = urls[this.urlIndex % urls.length];
    const dir = this.o.dir;
    const url = new URL(streamPath(this.o.kind, dir.memberId), base);
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'GET',
      agent: this.agent,
      ...(url.protocol === 'https:' ? this.o.tls : {}),
      headers: {
        [PeerHeader.from]: dir.memberId.toString(16),
        [PeerHeader.serverVersion]: PeerVersion.server,
        [PeerHeader.minClusterVersion]: PeerVersion.minCluster,
        [PeerHeader.clusterId]: dir.clusterId.toString(16),
        [PeerHeader.to]: this.o.peerId.toString(16),
        [PeerHeader.peerUrls]: this.o.localUrls().join(','),
      },
    });
    this.req = req;
    let up = false;
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      req.destroy();
      if (this.req === req) this.req = undefined;
      if (this.closed) return;
      this.urlIndex++;
      this.o.failed(this.o.kind, err, base, up);
      this.start();
    };
    // silence (no answer, no frame, no link heartbeat) for connReadTimeoutMs ends the connection
    req.setTimeout(connReadTimeoutMs, () => fail(new RaftHttpError('ERR_RAFTHTTP_READ_TIMEOUT', `rafthttp: nothing read from the peer for ${connReadTimeoutMs} ms`)));
    req.on('error', fail);
    req.on('close', () => fail(new RaftHttpError('ERR_RAFTHTTP_STREAM_CLOSED', 'rafthttp: stream closed by peer')));
    req.on('response', (res) => {
      res.on('error', fail);
      if (res.statusCode !== 200) {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (text.length < maxRefusalBytes) text += d.slice(0, maxRefusalBytes - text.length);
        });
        res.on('end', () => fail(new PeerStatusError(res.statusCode ?? 0, text.trim())));
        return;
      }
      if (res.headers[PeerHeader.clusterId] !== undefined && res.headers[PeerHeader.clusterId] !== dir.clusterId.toString(16)) {
        return fail(new RaftHttpError('ERR_RAFTHTTP_CLUSTER_ID_MISMATCH', 'rafthttp: stream answered by a member of another cluster'));
      }
      up = true;
      this.o.connected(this.o.kind);
      const dec = new FrameDecoder();
      const onData = (chunk: Buffer): void => {
        if (done) return;
        try {
          for (const f of dec.push(chunk)) {
            if (done || this.closed) return;
            this.receive(f);
          }
        } catch (e) {
          fail(e instanceof Error ? e : new Error(String(e)));
        }
      };
      // the body read together with the head comes through the answer, the rest off the socket
      res.on('data', onData);
      readBodyOffSocket(res, onData);
      res.on('end', () => fail(new RaftHttpError('ERR_RAFTHTTP_STREAM_CLOSED', 'rafthttp: stream ended by peer')));
    });
    req.end();
  }

  /** One frame from the peer: decoded, checked, then stepped; throws (ending the stream) if refused. */
  private receive(frame: Buffer): void {
    let m: Message;
    try {
      m = decodeMessage(frame);
    } catch (e) {
      throw new RaftHttpError('ERR_RAFTHTTP_BAD_FRAME', `rafthttp: failed to decode raft message (${(e as Error).message})`);
    }
    if (isLinkHeartbeat(m)) return;
    try {
      checkMessage(m, this.o.peerId, this.o.dir, this.o.kind);
    } catch (e) {
      throw new RaftHttpError('ERR_RAFTHTTP_BAD_FRAME', `rafthttp: refused raft message from the stream (${(e as { body?: string }).body ?? (e as Error).message})`);
    }
    this.o.step(m);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.req?.destroy();
    this.req = undefined;
    this.agent.destroy();
  }
}
