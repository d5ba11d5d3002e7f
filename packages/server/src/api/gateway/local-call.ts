// The gateway's side of a gRPC call made in this process: what a registered handler reads from
// its call (metadata, cancellation, writes for streams, requests for bidi streams), fed from
// an HTTP request instead of an HTTP/2 stream. etcd's gateway is a gRPC client of its own
// server over loopback; calling the registered handlers directly keeps every check the gRPC
// path makes (the permission gate, learner and stopped checks) without the second hop.
//
// The gateway never presents a client certificate: peerCertificate is always undefined.

import type { IncomingHttpHeaders } from 'node:http';
import { CancellableCall } from '../../grpc/cancellable-call.js';
import { statusOf, type CallStatus, type CancelReason } from '../../grpc/index.js';

/** Where a stream call's messages and its end go (the HTTP response). */
export interface StreamSink {
  write(message: unknown): boolean;
  drained(): Promise<void>;
  needDrain(): boolean;
  end(status: CallStatus | undefined): void;
}

export class LocalCall extends CancellableCall {
  readonly deadline = Infinity;
  readonly peerCertificate = undefined;
  finished = false;

  constructor(
    readonly path: string,
    readonly metadata: IncomingHttpHeaders,
    readonly peer: string,
  ) {
    super();
  }

  /** The HTTP client went away, or the member is shutting down. */
  cancel(reason: CancelReason): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.cancelReason = reason;
    this.finished = true;
    this.abortSignal(reason);
    this.onCancelled();
    this.emit('cancelled', reason);
  }

  protected onCancelled(): void {}

  sendHeaders(): void {}
}

export class LocalStreamCall extends LocalCall {
  constructor(path: string, metadata: IncomingHttpHeaders, peer: string, private readonly sink: StreamSink) {
    super(path, metadata, peer);
  }

  write(message: unknown): boolean {
    if (this.finished) return false;
    return this.sink.write(message);
  }

  get needDrain(): boolean {
    return !this.finished && this.sink.needDrain();
  }

  drained(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return this.sink.drained();
  }

  end(status?: CallStatus): void {
    if (this.finished) return;
    this.finished = true;
    this.sink.end(status);
    this.onEnded();
  }

  protected onEnded(): void {}

  /** Ends the call when an async handler settles (as the transport's runHandler does). */
  runHandler(result: unknown): void {
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(
        () => this.end(),
        (err) => this.end(statusOf(err)),
      );
    }
  }
}

/** A bidi call whose requests are the JSON values of the HTTP request body, in order. */
export class LocalBidiCall<Req = unknown> extends LocalStreamCall implements AsyncIterable<Req> {
  private readonly queue: Req[] = [];
  private readsDone = false;
  private waiter: ((r: IteratorResult<Req>) => void) | undefined;

  push(req: Req): void {
    if (this.readsDone) return;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: req, done: false });
      return;
    }
    this.queue.push(req);
  }

  /** The body ended (or will be read no further). */
  closeReads(): void {
    if (this.readsDone) return;
    this.readsDone = true;
    if (this.waiter !== undefined && this.queue.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  protected override onCancelled(): void {
    this.queue.length = 0;
    this.closeReads();
  }

  protected override onEnded(): void {
    this.queue.length = 0;
    this.closeReads();
  }

  read(): Promise<Req | undefined> {
    return this.next().then((r) => (r.done === true ? undefined : r.value));
  }

  private next(): Promise<IteratorResult<Req>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.readsDone) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) return Promise.reject(new Error('LocalBidiCall: concurrent reads'));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Req> {
    return {
      next: () => this.next(),
      return: (): Promise<IteratorResult<Req>> => {
        this.queue.length = 0;
        this.closeReads();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
