// One long-lived outgoing stream to a peer: an HTTP POST whose body never ends, carrying framed
// raft messages. Two per peer (like etcd's msgapp and message streams) so that heartbeats and
// votes never queue behind a large MsgApp. A broken stream reconnects with exponential back-off;
// messages offered while it is down are dropped (raft retransmits) and reported unreachable.

import * as http from 'node:http';
import * as https from 'node:https';
import { encodeFrame } from './framing.js';
import { PeerHeader, PeerPath, type StreamKind } from './peer-headers.js';
import { PeerStatusError } from './errors.js';

/** First retry delay after a stream breaks; doubles up to maxReconnectDelayMs. */
export const minReconnectDelayMs = 25;
export const maxReconnectDelayMs = 1000;
/** Bytes buffered in a stream's socket before further messages are dropped (slow/partitioned peer). */
export const maxStreamBufferedBytes = 32 * 1024 * 1024;

export interface PeerStreamOptions {
  kind: StreamKind;
  localId: bigint;
  peerId: bigint;
  clusterId: () => bigint;
  /** the peer's URLs, tried in turn on reconnect */
  urls: () => string[];
  tls?: https.RequestOptions;
  onActive(active: boolean): void;
  onDropped(): void;
  onError(err: Error, url: string): void;
}

type State = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

export class PeerStream {
  private readonly o: PeerStreamOptions;
  private state: State = 'idle';
  private req: http.ClientRequest | undefined;
  private delayMs = minReconnectDelayMs;
  private timer: NodeJS.Timeout | undefined;
  private urlIndex = 0;
  private corked = false;
  private readonly agent: http.Agent;

  constructor(o: PeerStreamOptions) {
    this.o = o;
    const AgentCtor = this.isTls() ? https.Agent : http.Agent;
    this.agent = new AgentCtor({ keepAlive: false, maxSockets: 1 });
  }

  private isTls(): boolean {
    return this.o.urls().some((u) => u.startsWith('https:'));
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Queues one encoded message; false if it was dropped (stream down or peer too slow). */
  write(payload: Uint8Array): boolean {
    if (this.state === 'idle') this.connect();
    const req = this.req;
    if (this.state !== 'open' || req === undefined) return false;
    if (req.writableLength > maxStreamBufferedBytes) return false;
    if (!this.corked) {
      this.corked = true;
      req.cork();
      process.nextTick(() => {
        this.corked = false;
        req.uncork();
      });
    }
    req.write(encodeFrame(payload));
    return true;
  }

  /** Starts connecting (if not already). */
  ensure(): void {
    if (this.state === 'idle') this.connect();
  }

  private connect(): void {
    if (this.state === 'closed') return;
    const urls = this.o.urls();
    if (urls.length === 0) {
      this.scheduleReconnect();
      return;
    }
    const base = urls[this.urlIndex++ % urls.length];
    this.state = 'connecting';
    const url = new URL(this.o.kind === 'msgapp' ? PeerPath.streamMsgApp : PeerPath.streamMessage, base);
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: 'POST',
      agent: this.agent,
      ...(url.protocol === 'https:' ? this.o.tls : {}),
      headers: {
        'content-type': 'application/octet-stream',
        [PeerHeader.clusterId]: this.o.clusterId().toString(16),
        [PeerHeader.from]: this.o.localId.toString(16),
        [PeerHeader.to]: this.o.peerId.toString(16),
        [PeerHeader.serverVersion]: '3.4.23',
      },
    });
    this.req = req;
    req.setNoDelay(true);
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      if (this.req === req) this.req = undefined;
      req.destroy();
      if (this.state === 'closed') return;
      if (this.state === 'open') this.o.onActive(false);
      this.o.onError(err, base);
      this.scheduleReconnect();
    };
    req.on('error', fail);
    req.on('close', () => fail(new Error('rafthttp: stream closed by peer')));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d.length < 512 ? d : ''));
        res.on('end', () => fail(new PeerStatusError(res.statusCode ?? 0, body.trim())));
        res.on('error', () => fail(new PeerStatusError(res.statusCode ?? 0, body.trim())));
        return;
      }
      res.on('data', () => undefined);
      res.on('end', () => fail(new Error('rafthttp: stream ended by peer')));
      res.on('error', fail);
      if (this.state !== 'connecting' || this.req !== req) return;
      this.state = 'open';
      this.delayMs = minReconnectDelayMs;
      this.o.onActive(true);
    });
    req.flushHeaders();
  }

  private scheduleReconnect(): void {
    if (this.state === 'closed') return;
    this.state = 'backoff';
    this.o.onDropped();
    const d = this.delayMs;
    this.delayMs = Math.min(maxReconnectDelayMs, this.delayMs * 2);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'backoff') this.connect();
    }, d);
  }

  close(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const req = this.req;
    this.req = undefined;
    req?.destroy();
    this.agent.destroy();
    if (wasOpen) this.o.onActive(false);
  }
}
