// What every call a handler sees offers about its cancellation: `cancelled` and its reason,
// `signal` (aborted on cancel) and `onCancel`. The HTTP/2 calls (grpc-call.ts) and the
// gateway's in-process calls (api/gateway/local-call.ts) both build on it; each decides when
// it is cancelled and calls abortSignal() then emits 'cancelled'.

import { EventEmitter } from 'node:events';
import { GrpcError, GrpcCode } from './errors.js';

export type CancelReason = 'client' | 'deadline' | 'error' | 'closing';

/** CancellableCall is an EventEmitter ('cancelled', and 'drain' for streams): see below. */
export interface CancellableCall extends EventEmitter {}

export abstract class CancellableCall {
  cancelled = false;
  cancelReason: CancelReason | undefined = undefined;
  private abortController: AbortController | undefined = undefined;

  /** Aborted when the call is cancelled (created on first use). */
  get signal(): AbortSignal {
    if (this.abortController === undefined) {
      this.abortController = new AbortController();
      if (this.cancelled) this.abortController.abort(new GrpcError(GrpcCode.Canceled, `call ${this.cancelReason}`));
    }
    return this.abortController.signal;
  }

  /** Run `fn` once when the call is cancelled (at once if it already is). Returns an unsubscribe. */
  onCancel(fn: () => void): () => void {
    if (this.cancelled) {
      fn();
      return () => undefined;
    }
    this.once('cancelled', fn);
    return () => this.off('cancelled', fn);
  }

  /** Aborts `signal` (when it was asked for) with the cancel reason. */
  protected abortSignal(reason: CancelReason): void {
    this.abortController?.abort(new GrpcError(GrpcCode.Canceled, `call ${reason}`));
  }
}

// A call is an EventEmitter without running EventEmitter's constructor: that builds a listener
// table per call (~400 B), while most calls never get a listener. EventEmitter's methods create
// the table on the first listener (and read an absent one as empty), so inheriting them is enough.
Object.setPrototypeOf(CancellableCall.prototype, EventEmitter.prototype);
