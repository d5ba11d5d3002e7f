// Watch: every watcher of a client shares one gRPC Watch stream. Creates are sent one at a time
// (the server answers them in order), and each watcher remembers the revision it needs next, so
// after the stream breaks (member down, leader change) every watcher is re-created from that
// revision: no event is lost and none is delivered twice.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { etcdserverpb, mvccpb } from '@tsetcd/proto';
import { rangeEndFor, toBuffer, toInt64, type Bytes } from './bytes.js';
import {
  ClientClosedError,
  CompactedError,
  EtcdClientError,
  EtcdServerError,
  InvalidAuthTokenError,
  UnavailableError,
  isRetryableForReads,
  WatchCanceledError,
  serverErrorFromMessage,
  toClientError,
} from './errors.js';
import { header, type KeyValue, type ResponseHeader } from './kv.js';
import { StreamRetry } from './stream-retry.js';
import type { Transport } from './transport.js';
import { EtcdError } from '@tsetcd/common';

export interface WatchOptions {
  prefix?: boolean;
  rangeEnd?: Bytes;
  fromKey?: boolean;
  /** First revision to deliver (default: changes after now). */
  startRevision?: bigint | number;
  /** Include the previous key-value in each event. */
  prevKv?: boolean;
  /** Ask the server for periodic progress notifications. */
  progressNotify?: boolean;
  /** Filters: do not deliver puts / deletes. */
  noPut?: boolean;
  noDelete?: boolean;
  /** Let the server split large responses (reassembled here before delivery). */
  fragment?: boolean;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv: KeyValue | undefined;
}

/** One server response as delivered to a watcher. */
export interface WatchBatch {
  header: ResponseHeader;
  /** Revision of the store when the server sent this batch. */
  revision: bigint;
  events: WatchEvent[];
  /** A progress notification: no events, everything up to `revision` has been delivered. */
  progress: boolean;
}

/** Sentinel watch id etcd uses for responses addressed to every watcher of a stream. */
const broadcastWatchId = -1n;

interface WatcherEvents {
  created: [watchId: bigint, revision: bigint];
  progress: [revision: bigint];
  resumed: [nextRevision: bigint];
}

/**
 * A watch: iterate its events with `for await`, or its batches with `batches()` (one consumer).
 * Ends cleanly on stop() / client close; throws CompactedError or WatchCanceledError when the
 * server cancels it.
 */
export class Watcher extends EventEmitter<WatcherEvents> implements AsyncIterable<WatchEvent> {
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
  /** Server-side id on the current stream (undefined while (re)connecting). */
  watchId: bigint | undefined;
  /** Revision this watcher needs next; 0 until the first create is acknowledged. */
  nextRevision: bigint;
  /** Resolves once the server has registered the watch (rejects if it refused it). */
  readonly ready: Promise<void>;

  private readonly queue: WatchBatch[] = [];
  private wake: (() => void) | undefined;
  private failure: EtcdClientError | undefined;
  private ended = false;
  private stopped = false;
  private fragments: mvccpb.Event[] = [];
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private everCreated = false;

  constructor(
    private readonly manager: WatchManager,
    key: Bytes,
    readonly options: WatchOptions,
  ) {
    super();
    this.key = toBuffer(key);
    this.rangeEnd = rangeEndFor(key, options);
    this.nextRevision = toInt64(options.startRevision, 'startRevision');
    this.ready = new Promise<void>((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => undefined);
  }

  get isStopped(): boolean {
    return this.stopped || this.ended;
  }

  /** The create request for the current stream (resuming from nextRevision). */
  createRequest(): etcdserverpb.WatchRequest {
    const filters: etcdserverpb.WatchCreateRequest_FilterType[] = [];
    if (this.options.noPut === true) filters.push(etcdserverpb.WatchCreateRequest_FilterType.NOPUT);
    if (this.options.noDelete === true) filters.push(etcdserverpb.WatchCreateRequest_FilterType.NODELETE);
    return {
      requestUnion: {
        $case: 'createRequest',
        value: etcdserverpb.WatchCreateRequest.fromPartial({
          key: this.key,
          rangeEnd: this.rangeEnd,
          startRevision: this.nextRevision,
          progressNotify: this.options.progressNotify === true,
          filters,
          prevKv: this.options.prevKv === true,
          fragment: this.options.fragment === true,
        }),
      },
    };
  }

  /** @internal */ onCreated(watchId: bigint, revision: bigint): void {
    assert.ok(this.watchId === undefined, 'a watcher is created once per stream');
    this.watchId = watchId;
    this.fragments = [];
    if (this.nextRevision === 0n) this.nextRevision = revision + 1n;
    if (!this.everCreated) {
      this.everCreated = true;
      this.resolveReady();
    } else {
      this.emit('resumed', this.nextRevision);
    }
    this.emit('created', watchId, revision);
  }

  /** @internal */ onResponse(r: etcdserverpb.WatchResponse): void {
    if (this.isStopped) return;
    if (r.fragment) {
      this.fragments.push(...r.events);
      return;
    }
    const raw = this.fragments.length > 0 ? [...this.fragments, ...r.events] : r.events;
    this.fragments = [];
    const h = header(r.header);
    if (raw.length === 0) {
      this.onProgress(h);
      return;
    }
    // Drop anything already delivered (possible only around a resume).
    const events: WatchEvent[] = [];
    for (const ev of raw) {
      const kv = ev.kv ?? mvccpb.KeyValue.fromPartial({});
      if (kv.modRevision < this.nextRevision) continue;
      events.push({ type: ev.type === mvccpb.Event_EventType.DELETE ? 'delete' : 'put', kv, prevKv: ev.prevKv });
    }
    if (events.length === 0) return;
    const next = events[events.length - 1].kv.modRevision + 1n;
    assert.ok(next > this.nextRevision, 'nextRevision only moves forward');
    this.nextRevision = next;
    this.push({ header: h, revision: h.revision, events, progress: false });
  }

  /** @internal */ onProgress(h: ResponseHeader): void {
    if (this.isStopped || this.watchId === undefined) return;
    if (h.revision + 1n > this.nextRevision) this.nextRevision = h.revision + 1n;
    this.push({ header: h, revision: h.revision, events: [], progress: true });
    this.emit('progress', h.revision);
  }

  private push(b: WatchBatch): void {
    this.queue.push(b);
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** @internal Ends the watcher with an error (server cancel, refused create). */
  fail(err: EtcdClientError): void {
    if (this.isStopped) return;
    this.failure = err;
    this.ended = true;
    this.watchId = undefined;
    this.rejectReady(err);
    this.manager.forget(this);
    this.wakeUp();
  }

  /** @internal Ends the watcher without error (client closed). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.rejectReady(new ClientClosedError());
    this.wakeUp();
  }

  /** Cancels the watch on the server; iteration ends after already queued events. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.rejectReady(new WatchCanceledError('watcher stopped'));
    this.manager.forget(this);
    this.wakeUp();
  }

  /** Asks the server for a progress notification on this watcher's stream. */
  requestProgress(): void {
    this.manager.requestProgress();
  }

  private async nextBatch(): Promise<WatchBatch | undefined> {
    for (;;) {
      const b = this.queue.shift();
      if (b !== undefined) return b;
      if (this.failure !== undefined) throw this.failure;
      if (this.isStopped) return undefined;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** Every response (event batches and progress notifications). */
  batches(): AsyncIterableIterator<WatchBatch> {
    const it: AsyncIterableIterator<WatchBatch> = {
      next: async () => {
        const b = await this.nextBatch();
        return b === undefined ? { done: true, value: undefined } : { done: false, value: b };
      },
      return: async () => {
        await this.stop();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    let pending: WatchEvent[] = [];
    return {
      next: async () => {
        while (pending.length === 0) {
          const b = await this.nextBatch();
          if (b === undefined) return { done: true, value: undefined };
          pending = b.events.slice();
        }
        return { done: false, value: pending.shift()! };
      },
      return: async () => {
        await this.stop();
        return { done: true, value: undefined };
      },
    };
  }
}

export class WatchManager {
  private stream: grpc.ClientDuplexStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse> | undefined;
  private connecting = false;
  private closed = false;
  private readonly watchers = new Set<Watcher>();
  private readonly byId = new Map<bigint, Watcher>();
  private createQueue: Watcher[] = [];
  private creating: Watcher | undefined;
  private readonly retry = new StreamRetry();
  private readonly abort = new AbortController();

  constructor(
    private readonly transport: Transport,
    private readonly requireLeader = true,
  ) {}

  watch(key: Bytes, opts: WatchOptions = {}): Watcher {
    if (this.closed) throw new ClientClosedError();
    const w = new Watcher(this, key, opts);
    this.watchers.add(w);
    this.createQueue.push(w);
    if (this.stream === undefined) this.connect();
    else this.sendNextCreate();
    return w;
  }

  /** Sends a progress request; the answer reaches every watcher as a progress batch. */
  requestProgress(): void {
    this.stream?.write({ requestUnion: { $case: 'progressRequest', value: {} } });
  }

  /** @internal A watcher ended: cancel it on the server and drop the stream when idle. */
  forget(w: Watcher): void {
    if (!this.watchers.delete(w)) return;
    this.createQueue = this.createQueue.filter((x) => x !== w);
    if (w.watchId !== undefined) {
      this.byId.delete(w.watchId);
      this.stream?.write({ requestUnion: { $case: 'cancelRequest', value: { watchId: w.watchId } } });
      w.watchId = undefined;
    }
    this.closeIfIdle();
  }

  private closeIfIdle(): void {
    if (this.watchers.size > 0 || this.creating !== undefined) return;
    const s = this.stream;
    this.stream = undefined;
    this.byId.clear();
    this.retry.reset();
    if (s !== undefined) {
      s.removeAllListeners('data');
      s.cancel();
    }
    this.retry.cancel();
  }

  private connect(): void {
    if (this.connecting || this.closed || this.stream !== undefined || this.watchers.size === 0) return;
    this.connecting = true;
    this.transport
      .bidi(etcdserverpb.WatchService.watch, this.requireLeader ? { hasleader: 'true' } : undefined, this.abort.signal)
      .then(
        ({ stream }) => {
          this.connecting = false;
          if (this.closed || this.watchers.size === 0) {
            stream.cancel();
            stream.on('error', () => undefined);
            return;
          }
          this.attach(stream);
        },
        (err: unknown) => {
          this.connecting = false;
          this.onStreamFailure(toClientError(err));
        },
      );
  }

  private attach(stream: grpc.ClientDuplexStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>): void {
    this.stream = stream;
    this.creating = undefined;
    // Re-create every live watcher, oldest first, each from the revision it needs next.
    this.createQueue = [...this.watchers];
    stream.on('data', (r: etcdserverpb.WatchResponse) => {
      if (this.stream === stream) this.onResponse(r);
    });
    const broken = (err: unknown): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.onStreamFailure(err === undefined ? new UnavailableError('watch stream ended') : toClientError(err));
    };
    stream.on('error', broken);
    stream.on('end', () => broken(undefined));
    this.sendNextCreate();
  }

  private sendNextCreate(): void {
    if (this.stream === undefined || this.creating !== undefined) return;
    const w = this.createQueue.shift();
    if (w === undefined) return;
    assert.ok(this.watchers.has(w) && w.watchId === undefined, 'only live, unregistered watchers are created');
    this.creating = w;
    this.stream.write(w.createRequest());
  }

  private onResponse(r: etcdserverpb.WatchResponse): void {
    this.retry.reset();
    if (r.created) {
      const w = this.creating;
      this.creating = undefined;
      if (w !== undefined) {
        if (r.canceled || r.watchId === broadcastWatchId) {
          const err = cancelError(r);
          if (err instanceof InvalidAuthTokenError && this.transport.hasCredentials) {
            // The stream's token expired: reopen it with a fresh one and re-create everything.
            this.restartStream(err);
            return;
          }
          w.fail(err);
        } else if (w.isStopped || !this.watchers.has(w)) {
          this.stream?.write({ requestUnion: { $case: 'cancelRequest', value: { watchId: r.watchId } } });
        } else {
          this.byId.set(r.watchId, w);
          w.onCreated(r.watchId, header(r.header).revision);
          if (r.events.length > 0) w.onResponse(r);
        }
      }
      this.sendNextCreate();
      this.closeIfIdle();
      return;
    }
    if (r.watchId === broadcastWatchId) {
      if (r.events.length === 0) for (const w of this.byId.values()) w.onProgress(header(r.header));
      return;
    }
    const w = this.byId.get(r.watchId);
    if (w === undefined) return;
    if (r.canceled) {
      const err = cancelError(r);
      if (err instanceof InvalidAuthTokenError && this.transport.hasCredentials) {
        this.restartStream(err);
        return;
      }
      this.byId.delete(r.watchId);
      w.watchId = undefined;
      w.fail(err);
      return;
    }
    w.onResponse(r);
  }

  private restartStream(err: EtcdClientError): void {
    const s = this.stream;
    this.stream = undefined;
    if (s !== undefined) {
      s.removeAllListeners('data');
      s.cancel();
    }
    this.onStreamFailure(err);
  }

  private onStreamFailure(err: EtcdClientError): void {
    for (const w of this.watchers) w.watchId = undefined;
    this.byId.clear();
    this.creating = undefined;
    if (this.closed || this.watchers.size === 0) return;
    if (err instanceof ClientClosedError) {
      for (const w of [...this.watchers]) w.end();
      return;
    }
    if (err instanceof EtcdServerError && !(err instanceof InvalidAuthTokenError) && !isRetryableForReads(err)) {
      // Not a connectivity problem (bad credentials, permission...): retrying cannot help.
      for (const w of [...this.watchers]) w.fail(err);
      return;
    }
    if (err instanceof InvalidAuthTokenError) this.transport.invalidateToken();
    this.retry.schedule(() => this.connect());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort(new ClientClosedError());
    const ws = [...this.watchers];
    this.watchers.clear();
    this.createQueue = [];
    this.creating = undefined;
    this.closeIfIdle();
    for (const w of ws) w.end();
  }
}

function cancelError(r: etcdserverpb.WatchResponse): EtcdClientError {
  if (r.compactRevision > 0n) {
    const e = new CompactedError(EtcdError.compacted.message);
    e.compactRevision = r.compactRevision;
    return e;
  }
  if (r.cancelReason !== '') {
    // etcd formats gRPC errors into the reason: "rpc error: code = X desc = <message>".
    const m = /^rpc error: code = \w+ desc = (.*)$/s.exec(r.cancelReason);
    return serverErrorFromMessage(m?.[1] ?? r.cancelReason) ?? new WatchCanceledError(r.cancelReason);
  }
  return new WatchCanceledError('watch canceled by the server');
}
