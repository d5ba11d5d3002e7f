// What a gRPC call needs from its HTTP/2 stream, so that the calls (grpc-call.ts) run the same
// on node:http2 (node-call-stream.ts) and on our own HTTP/2 layer (lean-call-stream.ts).

import type { Socket } from 'node:net';

/** What the stream tells its call. */
export interface CallStreamSink {
  /** A DATA chunk of the request. */
  _data(chunk: Buffer): void;
  /** The client half-closed. */
  _halfClosed(): void;
  /** The stream is gone (ended both ways, reset, or its connection went away). */
  _streamClosed(): void;
  /** There is room to write again. */
  _drained(): void;
}

export interface CallStream {
  /** The connection (session) the stream belongs to: the key for a connection's set of calls. */
  readonly owner: object | undefined;
  /** The connection's socket (a TLSSocket over TLS), for the peer address and certificate. */
  readonly socket: Socket | undefined;
  /** Closed or reset: nothing more can be sent. */
  readonly destroyed: boolean;
  readonly headersSent: boolean;
  /** The RST_STREAM code when the stream was reset, else 0. */
  readonly rstCode: number;
  /** Our end of the stream (status included) is queued. */
  readonly allSent: boolean;
  /** The send buffer is over its high-water mark. */
  readonly needDrain: boolean;
  bind(sink: CallStreamSink): void;
  /** The response headers (:status 200, content-type application/grpc). */
  sendHeaders(): void;
  // The payloads below are only valid during the call (encoders write into a reused buffer):
  // a stream copies whatever it queues.
  /** One message, length-prefixed; headers first if not sent. Returns false when the buffer is full. */
  sendMessage(payload: Uint8Array): boolean;
  /** A unary response: headers, the message and the OK status. */
  sendUnary(payload: Uint8Array): void;
  /** The status (trailers, or a trailers-only response when no headers went out) and END_STREAM. */
  sendStatus(code: number, message: string): void;
  /** A plain HTTP response without body (405 for a non-POST gRPC request). */
  sendHttpStatus(status: number, headers: Record<string, string>): void;
  /** Stop / restart reading request DATA (flow control holds the client meanwhile). */
  pause(): void;
  resume(): void;
}
