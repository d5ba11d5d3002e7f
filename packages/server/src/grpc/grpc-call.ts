// The server side of one gRPC call on one HTTP/2 stream: UnaryCall, ServerStreamCall and
// BidiCall share ServerCall (metadata, deadline, peer, cancellation, status trailers).
//
// Life of a call: created when the request HEADERS arrive; `finished` once the server has
// sent its status (by the handler returning/ending, or by the transport on an error or the
// deadline); `cancelled` when it ended for a reason other than the handler's own end
// (client RST_STREAM or gone, deadline, transport error, server closing). A handler learns
// of cancellation through `cancelled`, the 'cancelled' event, `signal` or `onCancel`.
//
// Long (~700 lines) on purpose: the three call kinds share one stream lifecycle (deadline,
// cancellation, flow control, trailers); kept together so the lifecycle is read in one place.

import type { IncomingHttpHeaders } from 'node:http2';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { CancellableCall, type CancelReason } from './cancellable-call.js';
import { GrpcError, GrpcCode, statusOf } from './errors.js';
import type { CallStream, CallStreamSink } from './call-stream.js';
import { MessageDeframer } from './message-framing.js';

export type Decoder<T> = (payload: Uint8Array) => T;
/** A method's mapping of what its handler throws (or rejects with) to the error its status is taken from. */
export type HandlerErrors = (err: unknown) => unknown;
/** The bytes may be a view into a buffer the next encode reuses: a stream copies what it keeps. */
export type Encoder<T> = (message: T) => Uint8Array;

/** What a handler may pass to end(): a GrpcError, or a plain status. */
export type CallStatus = GrpcError | { code: number; message?: string };

/** Limits and hooks a call needs from its server; one object shared by all calls. */
export interface CallContext {
  readonly maxReceiveMessageBytes: number;
  readonly maxSendMessageBytes: number;
  /** Incoming messages a bidi call queues before the HTTP/2 stream is paused. */
  readonly bidiReadQueueMessages: number;
  readonly observer: CallObserver | undefined;
}

export type CallType = 'unary' | 'server_stream' | 'bidi_stream';

/**
 * Hooks for metrics (etcd's go-grpc-prometheus: grpc_server_started_total, _handled_total,
 * _msg_received_total, _msg_sent_total). As there, a unary call counts from the moment its
 * request decoded (a request that fails to decode never reaches the interceptor); streams count
 * from their first byte; every decoded request message and every sent response is counted.
 */
export interface CallObserver {
  started(path: string, type: CallType): void;
  handled(path: string, type: CallType, code: number): void;
  received?(path: string, type: CallType): void;
  sent?(path: string, type: CallType): void;
}

const kServerClosing = Symbol('tsetcd.serverClosing');
const kCalls = Symbol('tsetcd.connectionCalls');
/** A connection (node:http2 session or our own HTTP/2 connection) with the calls open on it. */
type ConnectionWithCalls = object & { [kServerClosing]?: boolean; [kCalls]?: Set<ServerCall> };

/** Calls on this connection that end from now on were cancelled by the server shutting down. */
export function markServerClosing(connection: object): void {
  (connection as ConnectionWithCalls)[kServerClosing] = true;
}

/**
 * End the open calls on the connection with this status (server shutdown); handlers see 'closing'.
 * `streamsOnly`: only server-streaming and bidi calls (watches, keepalives), which never end
 * by themselves; unary calls are left to finish.
 */
export function abortSessionCalls(connection: object, code: number, message: string, streamsOnly = false): void {
  const calls = (connection as ConnectionWithCalls)[kCalls];
  if (calls === undefined) return;
  for (const call of [...calls]) if (!streamsOnly || call.type !== 'unary') call._abort(code, message, 'closing');
}

function onDeadline(call: ServerCall): void {
  call._deadlineTimer = undefined;
  call._abort(GrpcCode.DeadlineExceeded, 'context deadline exceeded', 'deadline');
}

export type { CancelReason };

export abstract class ServerCall extends CancellableCall implements CallStreamSink {
  /** Request headers: `authorization`/`token`, `hasleader`, `grpc-timeout`, ... (lower-case names). */
  readonly metadata: IncomingHttpHeaders;
  /** Absolute deadline in ms since the epoch (Date.now() clock); Infinity when the client set none. */
  readonly deadline: number;
  finished = false;
  /** @internal */ _deadlineTimer: NodeJS.Timeout | undefined = undefined;
  protected readonly deframer: MessageDeframer;
  private readonly connection: ConnectionWithCalls | undefined;

  constructor(
    readonly path: string,
    protected readonly stream: CallStream,
    headers: IncomingHttpHeaders,
    timeoutMs: number,
    protected readonly ctx: CallContext,
    readonly type: CallType,
  ) {
    super();
    this.metadata = headers;
    const connection = stream.owner as ConnectionWithCalls | undefined;
    this.connection = connection;
    if (connection !== undefined) (connection[kCalls] ??= new Set()).add(this);
    this.deframer = new MessageDeframer(ctx.maxReceiveMessageBytes, this);
    stream.bind(this);
    if (timeoutMs === Infinity) {
      this.deadline = Infinity;
    } else {
      this.deadline = Date.now() + timeoutMs;
      // setTimeout cannot wait longer than 2^31-1 ms (~24.8 days); such a deadline is as good as none.
      if (timeoutMs <= 0x7fff_ffff) this._deadlineTimer = setTimeout(onDeadline, timeoutMs, this);
    }
    if (type !== 'unary') this.observeStart();
  }

  /** Whether the observer has seen this call start (and so must see it end). */
  private observed = false;

  /** @internal */
  protected observeStart(): void {
    if (this.observed) return;
    this.observed = true;
    this.ctx.observer?.started(this.path, this.type);
  }

  /** @internal */
  protected observeEnd(code: number): void {
    if (this.observed) this.ctx.observer?.handled(this.path, this.type, code);
  }

  /** @internal */
  protected observeSent(): void {
    this.ctx.observer?.sent?.(this.path, this.type);
  }

  /** "ip:port" of the client, "[ip6]:port" for IPv6. */
  get peer(): string {
    const socket = this.stream.socket;
    if (socket === undefined) return '';
    const host = socket.remoteAddress ?? '';
    return host.includes(':') ? `[${host}]:${socket.remotePort}` : `${host}:${socket.remotePort}`;
  }

  /** The client's TLS certificate when it presented one and it was verified against the trusted CA. */
  get peerCertificate(): PeerCertificate | undefined {
    const socket = this.stream.socket as TLSSocket | undefined;
    if (socket === undefined || socket.encrypted !== true || socket.authorized !== true) return undefined;
    const cert = socket.getPeerCertificate();
    return cert !== null && cert.subject !== undefined ? cert : undefined;
  }

  /** @internal a DATA chunk arrived. */
  _data(chunk: Buffer): void {
    try {
      this.deframer.push(chunk);
    } catch (err) {
      const { code, message } = statusOf(err);
      this._abort(code, message, 'error');
    }
  }

  /** @internal the deframer found a message (the MessageDeframer's sink). */
  onMessage(payload: Buffer, compressed: boolean): void {
    if (this.finished) return;
    let message: unknown;
    try {
      if (compressed) payload = this.decompress(payload);
      message = this.decode(payload);
    } catch (err) {
      if (err instanceof GrpcError) {
        this._abort(err.code, err.message, 'error');
      } else {
        this._abort(GrpcCode.Internal, `grpc: error unmarshalling request: ${(err as Error)?.message ?? err}`, 'error');
      }
      return;
    }
    if (this.type === 'unary') this.observeStart();
    this.ctx.observer?.received?.(this.path, this.type);
    this.received(message);
  }

  protected abstract decode(payload: Buffer): unknown;
  protected abstract received(message: unknown): void;
  /** @internal the client half-closed (END_STREAM). */
  abstract _halfClosed(): void;

  private decompress(payload: Buffer): Buffer {
    const encoding = this.metadata['grpc-encoding'];
    if (encoding === undefined || encoding === 'identity') {
      throw new GrpcError(GrpcCode.Internal, 'grpc: compressed flag set with identity or empty encoding');
    }
    if (encoding !== 'gzip') {
      throw new GrpcError(GrpcCode.Unimplemented, `grpc: Decompressor is not installed for grpc-encoding "${encoding}"`);
    }
    const max = this.ctx.maxReceiveMessageBytes;
    try {
      return gunzipSync(payload, { maxOutputLength: Math.min(max + 1, 0x7fff_ffff) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new GrpcError(GrpcCode.ResourceExhausted,
          `grpc: received message after decompression larger than max (${max + 1} vs. ${max})`);
      }
      throw new GrpcError(GrpcCode.Internal, `grpc: failed to decompress the received message: ${(err as Error).message}`);
    }
  }

  /** Encode and check the send limit; throws GrpcError. */
  protected encodeResponse(encode: Encoder<unknown>, message: unknown): Uint8Array {
    const payload = encode(message);
    if (payload.length > this.ctx.maxSendMessageBytes) {
      throw new GrpcError(GrpcCode.ResourceExhausted,
        `grpc: trying to send message larger than max (${payload.length} vs. ${this.ctx.maxSendMessageBytes})`);
    }
    return payload;
  }

  /** Send response headers now (normally they go with the first message). */
  sendHeaders(): void {
    if (this.finished || this.stream.headersSent || this.stream.destroyed) return;
    this.stream.sendHeaders();
  }

  /** Send the status and close the server's side. Idempotent: only the first status counts. */
  protected finish(code: number, message: string): void {
    if (this.finished) return;
    this.finished = true;
    this.clearDeadline();
    this.deframer.stop();
    this.observeEnd(code);
    this.stream.sendStatus(code, message);
  }

  protected finishWithError(err: unknown): void {
    const { code, message } = statusOf(err);
    this.finish(code, message);
  }

  /** @internal End the call with a status the handler did not choose, and tell the handler. */
  _abort(code: number, message: string, reason: CancelReason): void {
    if (!this.finished) this.finish(code, message);
    this.cancel(reason);
  }

  private clearDeadline(): void {
    if (this._deadlineTimer !== undefined) {
      clearTimeout(this._deadlineTimer);
      this._deadlineTimer = undefined;
    }
  }

  protected cancel(reason: CancelReason): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.cancelReason = reason;
    this.clearDeadline();
    this.onCancelled();
    this.abortSignal(reason);
    this.emit('cancelled', reason);
  }

  /** Subclass hook run when cancelled, before the 'cancelled' event. */
  protected onCancelled(): void {}

  /** @internal */
  _streamClosed(): void {
    this.connection?.[kCalls]?.delete(this);
    if (!this.finished) {
      // The stream closed before our status went out: RST_STREAM from the client, or its
      // connection went away, or the server is shutting the session down.
      this.finished = true;
      this.deframer.stop();
      this.observeEnd(GrpcCode.Canceled);
      this.cancel(this.connection?.[kServerClosing] === true ? 'closing' : 'client');
    } else if (!this.cancelled && !this.stream.allSent && this.stream.rstCode !== 0) {
      // Our status was queued but the stream was reset before it was flushed.
      this.cancel('client');
    }
    this._drained();
  }

  /** @internal */
  _drained(): void {}
}

/** A unary call: the handler gets the request and this call, and returns (or resolves) the response. */
export class UnaryCall extends ServerCall {
  private gotRequest = false;

  constructor(
    path: string, stream: CallStream, headers: IncomingHttpHeaders, timeoutMs: number, ctx: CallContext,
    private readonly decoder: Decoder<unknown>,
    private readonly encoder: Encoder<unknown>,
    private readonly handler: (req: unknown, call: UnaryCall) => unknown,
    /** What the handler's throw or rejection becomes before its status is taken (the method's error mapping). */
    private readonly handlerErrors: HandlerErrors | undefined = undefined,
  ) {
    super(path, stream, headers, timeoutMs, ctx, 'unary');
  }

  protected decode(payload: Buffer): unknown {
    return this.decoder(payload);
  }

  private handlerFailed(err: unknown): void {
    this.finishWithError(this.handlerErrors === undefined ? err : this.handlerErrors(err));
  }

  protected received(req: unknown): void {
    if (this.gotRequest) return; // grpc-go also ignores what follows the one request message
    this.gotRequest = true;
    let result: unknown;
    try {
      result = this.handler(req, this);
    } catch (err) {
      this.handlerFailed(err);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then((res) => this.respond(res), (err) => this.handlerFailed(err));
    } else {
      this.respond(result);
    }
  }

  private respond(res: unknown): void {
    if (this.finished) return;
    let payload: Uint8Array;
    try {
      payload = this.encodeResponse(this.encoder, res);
    } catch (err) {
      this.finishWithError(err);
      return;
    }
    this.finished = true;
    if (this._deadlineTimer !== undefined) {
      clearTimeout(this._deadlineTimer);
      this._deadlineTimer = undefined;
    }
    this.deframer.stop();
    this.observeEnd(GrpcCode.OK);
    this.observeSent();
    this.stream.sendUnary(payload);
  }

  _halfClosed(): void {
    if (!this.gotRequest && !this.finished) {
      this._abort(GrpcCode.Internal,
        this.deframer.partial ? 'grpc: stream ended in the middle of a message' : 'grpc: no request message for unary call', 'error');
    }
  }
}

/** What server-stream and bidi calls share: writing messages with back-pressure, and end(). */
export abstract class StreamingCall extends ServerCall {
  private drainWaiters: Array<() => void> = [];

  constructor(
    path: string, stream: CallStream, headers: IncomingHttpHeaders, timeoutMs: number, ctx: CallContext,
    type: CallType,
    protected readonly encoder: Encoder<unknown>,
  ) {
    super(path, stream, headers, timeoutMs, ctx, type);
  }

  /**
   * Send one message. Returns false when the stream's buffer is full: wait for `drained()`
   * (or the 'drain' event) before writing more. Writes after end/cancel are dropped (false).
   * Throws GrpcError RESOURCE_EXHAUSTED if the message exceeds the send limit.
   */
  write(message: unknown): boolean {
    if (this.finished || this.stream.destroyed) return false;
    const payload = this.encodeResponse(this.encoder, message);
    const ok = this.stream.sendMessage(payload);
    this.observeSent();
    return ok;
  }

  /** True while the stream's send buffer is over its high-water mark. */
  get needDrain(): boolean {
    return !this.finished && !this.stream.destroyed && this.stream.needDrain;
  }

  /** Resolves when there is room to write again, or the call is over (check `cancelled`). */
  drained(): Promise<void> {
    if (!this.needDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  override _drained(): void {
    if (this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
    if (!this.finished) this.emit('drain');
  }

  /** End the call: OK by default, or the given status. Later calls are ignored. */
  end(status?: CallStatus): void {
    if (status === undefined) {
      this.finish(GrpcCode.OK, '');
    } else {
      this.finish(status.code, status.message ?? '');
    }
    this.onEnded();
  }

  protected onEnded(): void {}

  /** Run an async handler: its resolution ends the call OK, its rejection with its status. */
  protected runHandler(result: unknown): void {
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(() => this.end(), (err) => this.end(statusOf(err)));
    }
  }
}

/** A server-streaming call: one request, any number of responses. */
export class ServerStreamCall extends StreamingCall {
  private gotRequest = false;

  constructor(
    path: string, stream: CallStream, headers: IncomingHttpHeaders, timeoutMs: number, ctx: CallContext,
    private readonly decoder: Decoder<unknown>,
    encoder: Encoder<unknown>,
    private readonly handler: (req: unknown, call: ServerStreamCall) => unknown,
  ) {
    super(path, stream, headers, timeoutMs, ctx, 'server_stream', encoder);
  }

  protected decode(payload: Buffer): unknown {
    return this.decoder(payload);
  }

  protected received(req: unknown): void {
    if (this.gotRequest) return;
    this.gotRequest = true;
    try {
      this.runHandler(this.handler(req, this));
    } catch (err) {
      this.end(statusOf(err));
    }
  }

  _halfClosed(): void {
    if (!this.gotRequest && !this.finished) {
      this._abort(GrpcCode.Internal, 'grpc: no request message for server-streaming call', 'error');
    }
  }
}

/**
 * A bidirectional call. Iterate it (`for await (const req of call)`) for the requests: the
 * iteration ends when the client half-closes or the call is over. Requests not yet consumed
 * are queued up to a bound, then the HTTP/2 stream is paused so flow control holds the client.
 */
export class BidiCall<Req = unknown> extends StreamingCall implements AsyncIterable<Req> {
  private readonly queue: Req[] = [];
  private queueHead = 0;
  private readsDone = false;
  private waiter: ((r: IteratorResult<Req>) => void) | undefined = undefined;
  private paused = false;

  constructor(
    path: string, stream: CallStream, headers: IncomingHttpHeaders, timeoutMs: number, ctx: CallContext,
    private readonly decoder: Decoder<unknown>,
    encoder: Encoder<unknown>,
  ) {
    super(path, stream, headers, timeoutMs, ctx, 'bidi_stream', encoder);
  }

  /** @internal */
  _start(handler: (call: BidiCall) => unknown): void {
    try {
      this.runHandler(handler(this as BidiCall));
    } catch (err) {
      this.end(statusOf(err));
    }
  }

  protected decode(payload: Buffer): unknown {
    return this.decoder(payload);
  }

  protected received(req: unknown): void {
    if (this.readsDone) return;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w({ value: req as Req, done: false });
      return;
    }
    this.queue.push(req as Req);
    if (!this.paused && this.queue.length - this.queueHead >= this.ctx.bidiReadQueueMessages) {
      this.paused = true;
      this.stream.pause();
    }
  }

  _halfClosed(): void {
    this.stopReads();
  }

  protected override onCancelled(): void {
    this.dropReads();
  }

  protected override onEnded(): void {
    this.dropReads();
  }

  /** No more requests will be read: drop the queue and let any further DATA drain away. */
  private dropReads(): void {
    this.stopReads();
    this.queue.length = 0;
    this.queueHead = 0;
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
    }
  }

  private stopReads(): void {
    if (this.readsDone) return;
    this.readsDone = true;
    if (this.waiter !== undefined && this.queue.length === this.queueHead) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** Next request, or undefined when there are no more. */
  read(): Promise<Req | undefined> {
    return this.next().then((r) => (r.done === true ? undefined : r.value));
  }

  private next(): Promise<IteratorResult<Req>> {
    if (this.queueHead < this.queue.length) {
      const value = this.queue[this.queueHead++];
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      }
      if (this.paused && this.queue.length - this.queueHead < this.ctx.bidiReadQueueMessages / 2) {
        this.paused = false;
        this.stream.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.readsDone) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) return Promise.reject(new Error('BidiCall: concurrent reads'));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Req> {
    return {
      next: () => this.next(),
      return: (): Promise<IteratorResult<Req>> => {
        // Leaving the loop early stops reading (later requests are dropped); the call stays
        // open for writes and end().
        this.dropReads();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
