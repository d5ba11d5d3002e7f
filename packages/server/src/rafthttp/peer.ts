// One remote member as the transport sees it (etcd's peer): the two streams this member dials on
// the peer's URL to receive from it (stream-reader.ts), the two streams the peer dialed here that
// carry this member's messages to it (stream-writer.ts), the pipeline for messages while no
// stream is attached (pipeline.ts), and whether the peer is active (etcd's peerStatus: any
// working stream or delivered POST makes it active, any failure inactive).

import type * as http from 'node:http';
import type * as https from 'node:https';
import { MessageType, type Message } from '@tsetcd/raft';
import { StreamReader } from './stream-reader.js';
import { StreamWriter } from './stream-writer.js';
import { Pipeline } from './pipeline.js';
import type { StreamKind } from './peer-headers.js';
import type { PeerDirectory } from './peer-checks.js';
import { PeerStatusError } from './errors.js';

/** Minimum spacing of repeated "cannot reach peer" warnings, per peer. */
const errorLogIntervalMs = 5000;

export interface PeerLog {
  info(m: string, f?: Record<string, unknown>): void;
  warn(m: string, f?: Record<string, unknown>): void;
}

export interface PeerContext {
  dir: PeerDirectory;
  /** this member's advertised peer URLs */
  localUrls(): string[];
  tls?: https.RequestOptions;
  /** a checked message from the peer */
  step(m: Message): void;
  reportUnreachable(id: bigint): void;
  /** a MsgProp that provably never left: the peer refused the connection */
  undelivered(m: Message): void;
  /** the peer answered that this member was removed (410) */
  removed(): void;
  log?: PeerLog;
}

export class Peer {
  /** ms timestamp since the peer has been active (0: inactive) */
  activeSince = 0;
  /** a MsgSnap is on its way to the peer */
  snapshotting = false;
  private lastErrorLog = 0;
  private readonly readers: Record<StreamKind, StreamReader>;
  private readonly writers: Record<StreamKind, StreamWriter>;
  private readonly pipeline: Pipeline;

  constructor(
    readonly id: bigint,
    private readonly ctx: PeerContext,
  ) {
    const dir = ctx.dir;
    const urls = (): string[] => dir.peerUrlsOf(id) ?? [];
    const hex = id.toString(16);
    const writerEvents = {
      attached: (kind: StreamKind) => {
        ctx.log?.info('established TCP streaming connection with remote peer', { 'stream-writer-type': streamName(kind), 'remote-peer-id': hex });
        this.activate();
      },
      lost: (kind: StreamKind, why: string) => {
        ctx.log?.warn('lost TCP streaming connection with remote peer', { 'stream-writer-type': streamName(kind), 'remote-peer-id': hex, error: why });
        this.deactivate(`${streamName(kind)} writer: ${why}`);
      },
    };
    this.writers = { msgapp: new StreamWriter('msgapp', writerEvents), message: new StreamWriter('message', writerEvents) };
    const reader = (kind: StreamKind): StreamReader =>
      new StreamReader({
        kind,
        dir,
        peerId: id,
        urls,
        localUrls: ctx.localUrls,
        tls: ctx.tls,
        step: ctx.step,
        connected: (k) => {
          ctx.log?.info('established TCP streaming connection with remote peer', { 'stream-reader-type': streamName(k), 'remote-peer-id': hex });
          this.activate();
        },
        failed: (k, err, url, wasUp) => {
          this.noteRemoved(err);
          if (wasUp) ctx.log?.warn('lost TCP streaming connection with remote peer', { 'stream-reader-type': streamName(k), 'remote-peer-id': hex, error: err.message });
          else this.logDialError(url, k, err);
          this.deactivate(`${streamName(k)} reader: ${err.message}`);
        },
      });
    this.readers = { msgapp: reader('msgapp'), message: reader('message') };
    this.pipeline = new Pipeline({
      localId: dir.memberId,
      peerId: id,
      clusterId: () => dir.clusterId,
      urls,
      localUrls: ctx.localUrls,
      tls: ctx.tls,
      done: (m, err, url) => {
        if (err === undefined) return this.activate();
        this.noteRemoved(err);
        this.logDialError(url, 'pipeline', err);
        this.deactivate(`pipeline: ${err.message}`);
        ctx.reportUnreachable(m.to);
        if (m.type === MessageType.MsgProp && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') ctx.undelivered(m);
      },
    });
    this.readers.message.start();
    this.readers.msgapp.start();
  }

  /**
   * Sends one message (not MsgSnap) by etcd's pick: MsgApp on the msgapp stream, else the
   * message stream, else (no stream attached) the pipeline. False if it was dropped.
   */
  send(m: Message): boolean {
    const w = m.type === MessageType.MsgApp && this.writers.msgapp.working ? this.writers.msgapp : this.writers.message.working ? this.writers.message : undefined;
    if (w !== undefined) return w.write(m);
    return this.pipeline.send(m);
  }

  /** The peer's admitted dial for `kind`: messages of that kind go out on `res` from now on. */
  attach(kind: StreamKind, res: http.ServerResponse): void {
    this.writers[kind].attach(res);
  }

  close(): void {
    for (const k of ['msgapp', 'message'] as const) {
      this.readers[k].close();
      this.writers[k].close();
    }
    this.pipeline.close();
    if (this.activeSince !== 0) this.deactivate('the transport closed the peer');
  }

  private activate(): void {
    if (this.activeSince !== 0) return;
    this.activeSince = Date.now();
    this.ctx.log?.info('peer became active', { 'peer-id': this.id.toString(16) });
  }

  private deactivate(why: string): void {
    if (this.activeSince === 0) return;
    this.activeSince = 0;
    this.ctx.log?.warn('peer became inactive (message send to peer failed)', { 'peer-id': this.id.toString(16), error: why });
  }

  private noteRemoved(err: Error): void {
    if (!(err instanceof PeerStatusError) || err.status !== 410) return;
    this.ctx.log?.warn('the member has been permanently removed from the cluster', { 'remote-peer-id': this.id.toString(16) });
    this.ctx.removed();
  }

  private logDialError(url: string, kind: string, err: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < errorLogIntervalMs) return;
    this.lastErrorLog = now;
    this.ctx.log?.warn('failed to dial remote peer', { 'remote-peer-id': this.id.toString(16), address: url, 'stream-type': kind, error: err.message });
  }
}

function streamName(kind: StreamKind): string {
  return kind === 'msgapp' ? 'stream MsgApp v2' : 'stream Message';
}
