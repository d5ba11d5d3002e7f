// A gRPC call's stream on node:http2 (ServerHttp2Stream): the CallStream the calls use when a
// connection is served by node:http2 (non-gRPC first requests, the gRPC proxy, or the lean
// layer switched off).

import { constants as http2Constants, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { CallStream, CallStreamSink } from './call-stream.js';
import { encodeGrpcMessage } from './grpc-message-encoding.js';
import { frameMessage } from './message-framing.js';

const responseHeaders = {
  ':status': 200,
  'content-type': 'application/grpc',
  'grpc-accept-encoding': 'identity,gzip',
};
const okTrailers = { 'grpc-status': '0' };
const respondOptions = { waitForTrailers: true };
const trailersOnlyOptions = { endStream: true };

const kSink = Symbol('tsetcd.callStream');
type StreamWithSink = ServerHttp2Stream & { [kSink]?: NodeCallStream };

function noop(): void {}
function onStreamData(this: StreamWithSink, chunk: Buffer): void {
  this[kSink]!.sink!._data(chunk);
}
function onStreamEnd(this: StreamWithSink): void {
  this[kSink]!.sink!._halfClosed();
}
function onStreamClose(this: StreamWithSink): void {
  this[kSink]!.sink!._streamClosed();
}
function onStreamDrain(this: StreamWithSink): void {
  this[kSink]!.sink!._drained();
}
function onWantTrailers(this: StreamWithSink): void {
  try {
    this.sendTrailers(this[kSink]!.trailers ?? okTrailers);
  } catch {
    // Reset by the peer between END of data and trailers.
  }
}
function uncork(s: NodeCallStream): void {
  s.corked = false;
  if (!s.stream.destroyed) s.stream.uncork();
}

/** Send a status as the only response (HEADERS with END_STREAM): no response message was sent. */
export function respondTrailersOnly(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.headersSent) return;
  const headers: Record<string, string | number> = {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(code),
  };
  if (message !== '') headers['grpc-message'] = encodeGrpcMessage(message);
  try {
    stream.respond(headers, trailersOnlyOptions);
    // Like grpc-go: a client still sending (an oversize body, a request to an unknown method)
    // is told to stop with RST_STREAM(NO_ERROR), sent after our END_STREAM, so the stream does
    // not sit half-open holding flow-control window.
    if (!stream.readableEnded) stream.close(http2Constants.NGHTTP2_NO_ERROR);
  } catch {
    // The stream was reset in the meantime: nobody is listening for the status.
  }
}

export class NodeCallStream implements CallStream {
  sink: CallStreamSink | undefined = undefined;
  trailers: Record<string, string> | undefined = undefined;
  corked = false;

  constructor(readonly stream: ServerHttp2Stream) {
    stream.on('error', noop);
  }

  get owner(): object | undefined {
    return this.stream.session;
  }

  get socket(): Socket | undefined {
    return this.stream.session?.socket as Socket | undefined;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get rstCode(): number {
    return this.stream.rstCode ?? 0;
  }

  get allSent(): boolean {
    return this.stream.writableFinished;
  }

  get needDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  bind(sink: CallStreamSink): void {
    this.sink = sink;
    const stream = this.stream as StreamWithSink;
    stream[kSink] = this;
    stream.on('close', onStreamClose);
    stream.on('wantTrailers', onWantTrailers);
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    stream.on('drain', onStreamDrain);
  }

  sendHeaders(): void {
    if (this.stream.headersSent || this.stream.destroyed) return;
    try {
      this.stream.respond(responseHeaders, respondOptions);
    } catch {
      // reset meanwhile; 'close' will cancel the call
    }
  }

  sendMessage(payload: Uint8Array): boolean {
    const stream = this.stream;
    if (stream.destroyed) return false;
    if (!this.corked) {
      // Messages written in the same tick leave in one writev (one or few DATA frames).
      this.corked = true;
      stream.cork();
      process.nextTick(uncork, this);
    }
    try {
      if (!stream.headersSent) stream.respond(responseHeaders, respondOptions);
      // the payload is only valid during this call (call-stream.ts): the framed copy is what is queued
      return stream.write(frameMessage(payload));
    } catch {
      // The stream was reset under us; 'close' is on its way and will cancel the call.
      return false;
    }
  }

  sendUnary(payload: Uint8Array): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    try {
      if (!stream.headersSent) stream.respond(responseHeaders, respondOptions);
      // the payload is only valid during this call (call-stream.ts): the framed copy is what is queued
      stream.end(frameMessage(payload));
    } catch {
      // reset by the client meanwhile
    }
  }

  sendStatus(code: number, message: string): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    if (!stream.headersSent) {
      respondTrailersOnly(stream, code, message);
      return;
    }
    if (code !== 0) {
      this.trailers = message === ''
        ? { 'grpc-status': String(code) }
        : { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) };
    }
    if (!stream.writableEnded) stream.end();
  }

  sendHttpStatus(status: number, headers: Record<string, string>): void {
    try {
      this.stream.respond({ ':status': status, ...headers }, trailersOnlyOptions);
    } catch {
      // reset meanwhile
    }
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    if (!this.stream.destroyed) this.stream.resume();
  }
}
