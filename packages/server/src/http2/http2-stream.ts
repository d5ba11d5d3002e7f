// One HTTP/2 stream of a server connection: what the peer sent (DATA delivered to a handler,
// with read pausing that holds back the stream's WINDOW_UPDATEs) and what we send (a header
// block, DATA within the peer's flow-control windows, trailers). Knows nothing of gRPC.

import type { Http2Connection } from './http2-connection.js';
import { dataCopyLimitBytes } from './frame-output.js';

/** What a stream tells whoever serves it. */
export interface StreamHandler {
  /** A DATA payload (a view into the received bytes). */
  _data(chunk: Buffer): void;
  /** The peer ended its side (END_STREAM). */
  _halfClosed(): void;
  /** The stream is over: both sides ended, reset by either side, or the connection went away. */
  _streamClosed(): void;
  /** Data queued by write() went out below the high-water mark after write() returned false. */
  _drained(): void;
}

/** The empty queue every stream starts with (never written to). */
const noChunks: Uint8Array[] = [];

/** Bytes queued on a stream beyond which write() asks the writer to wait for _drained(). */
const highWaterBytes = 64 * 1024;

export class Http2Stream {
  handler: StreamHandler | undefined = undefined;
  /** Our flow-control credit for sending on this stream (may go negative after a SETTINGS change). */
  sendWindow: number;
  /** What the peer may still send before we grant more. */
  recvWindow: number;
  /** Bytes received and consumed but not yet granted back with WINDOW_UPDATE. */
  unackedBytes = 0;
  headersSent = false;
  /** We queued END_STREAM. */
  localEnded = false;
  /** The peer sent END_STREAM. */
  remoteEnded = false;
  /** The DATA frame being delivered carries END_STREAM (a response sent meanwhile needs no reset). */
  remoteEnding = false;
  closed = false;
  /** The RST_STREAM code, sent or received; 0 when the stream was not reset. */
  rstCode = 0;
  needDrain = false;

  /** DATA queued (noChunks until something waits: most responses leave at once). */
  private out: Uint8Array[] = noChunks;
  private outHead = 0;
  private outBytes = 0;
  private endPending = false;
  /** Reset with NO_ERROR once our side has ended if the peer's has not (gRPC servers do). */
  private resetAfterEnd = false;
  private trailers: Uint8Array | undefined = undefined;
  private paused = false;
  private held: Buffer[] | undefined = undefined;
  private heldEnd = false;
  /** @internal the connection's list of streams waiting for connection-level window. */
  blocked = false;

  constructor(
    readonly connection: Http2Connection,
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** All our frames, END_STREAM included, are queued on the connection. */
  get allSent(): boolean {
    return this.localEnded;
  }

  /**
   * Once our END_STREAM is queued and the peer is still sending, tell it to stop with
   * RST_STREAM(NO_ERROR) (RFC 9113 §8.1), so a stream never sits half-open holding window.
   */
  resetWhenEnded(): void {
    this.resetAfterEnd = true;
    if (this.localEnded && !this.remoteEnded && !this.remoteEnding && !this.closed) this.reset(0);
  }

  /** Send a response header block (encoded once by the caller); `endStream` for a header-only response. */
  respond(block: Uint8Array, endStream: boolean): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    this.connection._sendHeaders(this, block, endStream);
    if (endStream) this.endLocal();
  }

  /**
   * Header block, one DATA payload (the concatenation of `parts`) and trailers with END_STREAM,
   * as one burst when nothing is queued and the windows allow; else through the queue. `parts`
   * may be views into reused buffers: they are copied before this returns.
   */
  respondAll(headerBlock: Uint8Array, parts: Uint8Array[], trailerBlock: Uint8Array): void {
    if (this.closed) return;
    let length = 0;
    for (const p of parts) length += p.length;
    // small DATA is copied into the output arena as it is queued; the rest is copied here
    if (length >= dataCopyLimitBytes) parts = [Buffer.concat(parts, length)];
    const c = this.connection;
    if (!this.headersSent && this.outBytes === 0 && length <= this.sendWindow && c._canSendNow(length)) {
      this.headersSent = true;
      c._sendHeaders(this, headerBlock, false);
      this.sendWindow -= length;
      c._sendData(this, false, length, parts);
      this.localEnded = true;
      c._sendHeaders(this, trailerBlock, true);
      this.endLocal();
      return;
    }
    this.respond(headerBlock, false);
    if (length < dataCopyLimitBytes) parts = [Buffer.concat(parts, length)];
    for (const p of parts) this.write(p);
    this.end(trailerBlock);
  }

  /** Queue DATA. Returns false when the queue is over its high-water mark (wait for _drained). */
  write(chunk: Uint8Array): boolean {
    if (this.closed || this.endPending) return false;
    if (chunk.length > 0) {
      if (this.out === noChunks) this.out = [];
      this.out.push(chunk);
      this.outBytes += chunk.length;
      this._pump(true);
    }
    if (this.outBytes >= highWaterBytes) {
      this.needDrain = true;
    } else if (this.needDrain) {
      // below the mark again without a window update: whoever waits for it hears it soon
      this.needDrain = false;
      process.nextTick(notifyDrained, this);
    }
    return !this.needDrain;
  }

  /** End our side after the queued DATA: with trailers (a header block) or an empty DATA frame. */
  end(trailerBlock?: Uint8Array): void {
    if (this.closed || this.endPending) return;
    this.endPending = true;
    this.trailers = trailerBlock;
    this._pump();
  }

  /** Reset the stream (RST_STREAM with `code`). */
  reset(code: number): void {
    if (this.closed) return;
    this.rstCode = code;
    this.connection._sendRst(this.id, code);
    this._close();
  }

  /** Stop delivering DATA: it is held and the stream's window is not granted back until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    for (let i = 0; i < held.length; i++) {
      if (this.paused || this.closed) {
        const rest = held.slice(i);
        this.held = this.held === undefined ? rest : rest.concat(this.held);
        return;
      }
      this.deliver(held[i]);
    }
    if (this.heldEnd && !this.paused) {
      this.heldEnd = false;
      this.handler?._halfClosed();
    }
  }

  /** @internal DATA from the peer (flow control already charged). */
  _onData(chunk: Buffer): void {
    if (this.paused) {
      (this.held ??= []).push(chunk);
      return;
    }
    this.deliver(chunk);
  }

  private deliver(chunk: Buffer): void {
    this.connection._consumed(this, chunk.length);
    this.handler?._data(chunk);
  }

  /** @internal END_STREAM from the peer. */
  _onRemoteEnd(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    if (this.paused && this.held !== undefined) this.heldEnd = true;
    else this.handler?._halfClosed();
    if (this.localEnded) this._close();
  }

  /** @internal RST_STREAM from the peer. */
  _onReset(code: number): void {
    if (this.closed) return;
    this.rstCode = code;
    this._close();
  }

  /** @internal the connection went away. */
  _close(): void {
    if (this.closed) return;
    this.closed = true;
    this.out = noChunks;
    this.outBytes = 0;
    this.held = undefined;
    this.connection._streamClosed(this);
    this.handler?._streamClosed();
  }

  private endLocal(): void {
    this.localEnded = true;
    if (this.remoteEnded) this._close();
    else if (this.resetAfterEnd && !this.remoteEnding) this.reset(0);
  }

  /** @internal Send what the windows allow; END_STREAM once the queue is empty. */
  _pump(fromWrite = false): void {
    const c = this.connection;
    while (this.outBytes > 0 && !this.closed) {
      const n = Math.min(this.outBytes, this.sendWindow, c._sendWindowFor(this), c.peerMaxFrameSize);
      if (n <= 0) break;
      const parts: Uint8Array[] = [];
      let left = n;
      while (left > 0) {
        const head = this.out[this.outHead];
        if (head.length <= left) {
          parts.push(head);
          left -= head.length;
          this.outHead++;
        } else {
          parts.push(head.subarray(0, left));
          this.out[this.outHead] = head.subarray(left);
          left = 0;
        }
      }
      if (this.outHead === this.out.length) {
        this.out = noChunks;
        this.outHead = 0;
      } else if (this.outHead > 64) {
        this.out = this.out.slice(this.outHead);
        this.outHead = 0;
      }
      this.outBytes -= n;
      this.sendWindow -= n;
      c._sendData(this, false, n, parts);
    }
    if (this.closed) return;
    if (this.outBytes === 0 && this.endPending && !this.localEnded) {
      // (trailers without response headers would be a header-only response: the caller's choice)
      this.headersSent = true;
      this.localEnded = true;
      if (this.trailers !== undefined) c._sendHeaders(this, this.trailers, true);
      else c._sendData(this, true, 0, []);
      this.endLocal();
      return;
    }
    if (!fromWrite && this.needDrain && this.outBytes < highWaterBytes) {
      this.needDrain = false;
      this.handler?._drained();
    }
  }
}

function notifyDrained(stream: Http2Stream): void {
  if (!stream.closed) stream.handler?._drained();
}
