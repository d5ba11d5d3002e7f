// etcd's pipeline: while no stream to a peer is attached (the peer has not dialed this member
// yet, or cannot reach it), raft messages go one per POST /raft to the peer's URL, at most
// pipelineConns at a time; up to pipelineBufSize more wait, further ones are dropped (and the
// peer reported unreachable by the caller). Each POST must be answered 204 within
// pipelineTimeoutMs; anything else is a failure (410: this member was removed).

import * as http from 'node:http';
import * as https from 'node:https';
import { encodeMessage, type Message } from '@tsetcd/raft';
import { PeerHeader, PeerPath, PeerVersion } from './peer-headers.js';
import { PeerStatusError, PeerTimeoutError } from './errors.js';

/** etcd's connPerPipeline and pipelineBufSize. */
export const pipelineConns = 4;
export const pipelineBufSize = 64;
/** etcd's pipeline round tripper gives a request ConnReadTimeout. */
export const pipelineTimeoutMs = 5000;
/** Largest answer body read (an etcd refusal is a line of text). */
const maxAnswerBytes = 4096;

export interface PipelineOptions {
  localId: bigint;
  peerId: bigint;
  clusterId(): bigint;
  urls(): string[];
  localUrls(): string[];
  tls?: https.RequestOptions;
  /** the outcome of one POST (err undefined: delivered) */
  done(m: Message, err: Error | undefined, url: string): void;
}

export class Pipeline {
  private readonly o: PipelineOptions;
  private readonly queue: Message[] = [];
  private inflight = 0;
  private urlIndex = 0;
  private closed = false;
  private readonly agent: http.Agent;
  private readonly open = new Set<http.ClientRequest>();

  constructor(o: PipelineOptions) {
    this.o = o;
    const tls = o.urls().some((u) => u.startsWith('https:'));
    const ao = { keepAlive: true, maxSockets: pipelineConns };
    this.agent = tls ? new https.Agent(ao) : new http.Agent(ao);
  }

  /** Queues one message; false if the pipeline is full (dropped). */
  send(m: Message): boolean {
    if (this.closed || this.queue.length >= pipelineBufSize) return false;
    this.queue.push(m);
    this.pump();
    return true;
  }

  private pump(): void {
    while (!this.closed && this.inflight < pipelineConns && this.queue.length > 0) {
      const m = this.queue.shift()!;
      this.inflight++;
      this.post(m);
    }
  }

  private post(m: Message): void {
    const urls = this.o.urls();
    const base = urls.length === 0 ? '' : urls[this.urlIndex % urls.length];
    let finished = false;
    const finish = (err: Error | undefined): void => {
      if (finished) return;
      finished = true;
      this.inflight--;
      if (err !== undefined) this.urlIndex++;
      if (!this.closed) {
        this.o.done(m, err, base);
        this.pump();
      }
    };
    if (base === '') return finish(new Error('rafthttp: peer has no URL'));
    const url = new URL(PeerPath.pipeline, base);
    const body = encodeMessage(m);
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      agent: this.agent,
      timeout: pipelineTimeoutMs,
      ...(url.protocol === 'https:' ? this.o.tls : {}),
      headers: {
        'content-type': 'application/protobuf',
        'content-length': String(body.length),
        [PeerHeader.from]: this.o.localId.toString(16),
        [PeerHeader.serverVersion]: PeerVersion.server,
        [PeerHeader.minClusterVersion]: PeerVersion.minCluster,
        [PeerHeader.clusterId]: this.o.clusterId().toString(16),
        [PeerHeader.to]: this.o.peerId.toString(16),
        [PeerHeader.peerUrls]: this.o.localUrls().join(','),
      },
    });
    this.open.add(req);
    req.on('close', () => {
      this.open.delete(req);
      finish(new Error('rafthttp: pipeline request closed before its answer'));
    });
    req.on('timeout', () => req.destroy(new PeerTimeoutError(pipelineTimeoutMs)));
    req.on('error', finish);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (text.length < maxAnswerBytes) text += d.slice(0, maxAnswerBytes - text.length);
      });
      res.on('error', finish);
      res.on('end', () => finish(res.statusCode === 204 ? undefined : new PeerStatusError(res.statusCode ?? 0, text.trim())));
    });
    req.end(body);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    for (const r of this.open) r.destroy();
    this.open.clear();
    this.agent.destroy();
  }
}
