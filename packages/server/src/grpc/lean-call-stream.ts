// A gRPC call's stream on our own HTTP/2 layer (http2/): the response header blocks are
// encoded once, and a unary response (HEADERS + DATA + trailers) is queued as one burst.

import type { Socket } from 'node:net';
import { encodeLiteralBlock } from '../http2/hpack-encoder.js';
import type { Http2Stream } from '../http2/http2-stream.js';
import type { CallStream, CallStreamSink } from './call-stream.js';
import { encodeGrpcMessage } from './grpc-message-encoding.js';
import { frameMessage, messageHeaderBytes } from './message-framing.js';

const responseHeadersBlock = encodeLiteralBlock([
  [':status', '200'],
  ['content-type', 'application/grpc'],
  ['grpc-accept-encoding', 'identity,gzip'],
]);
const okTrailersBlock = encodeLiteralBlock([['grpc-status', '0']]);
/** A unary response's message header and payload, handed to respondAll (which copies them at once). */
const unaryHeader = Buffer.alloc(messageHeaderBytes);
const noBytes = new Uint8Array(0);
const unaryParts: Uint8Array[] = [unaryHeader, noBytes];

function trailersBlock(code: number, message: string): Buffer {
  if (code === 0 && message === '') return okTrailersBlock;
  return message === ''
    ? encodeLiteralBlock([['grpc-status', String(code)]])
    : encodeLiteralBlock([['grpc-status', String(code)], ['grpc-message', encodeGrpcMessage(message)]]);
}

function trailersOnlyBlock(code: number, message: string): Buffer {
  const fields: Array<[string, string]> = [[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', String(code)]];
  if (message !== '') fields.push(['grpc-message', encodeGrpcMessage(message)]);
  return encodeLiteralBlock(fields);
}

export class LeanCallStream implements CallStream {
  constructor(readonly stream: Http2Stream) {}

  get owner(): object {
    return this.stream.connection;
  }

  get socket(): Socket {
    return this.stream.connection.socket;
  }

  get destroyed(): boolean {
    return this.stream.closed;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get rstCode(): number {
    return this.stream.rstCode;
  }

  get allSent(): boolean {
    return this.stream.allSent;
  }

  get needDrain(): boolean {
    return this.stream.needDrain;
  }

  bind(sink: CallStreamSink): void {
    this.stream.handler = sink;
  }

  sendHeaders(): void {
    this.stream.respond(responseHeadersBlock, false);
  }

  sendMessage(payload: Uint8Array): boolean {
    const stream = this.stream;
    if (stream.closed) return false;
    if (!stream.headersSent) stream.respond(responseHeadersBlock, false);
    // the payload is only valid during this call (call-stream.ts): the framed copy is what is queued
    return stream.write(frameMessage(payload));
  }

  sendUnary(payload: Uint8Array): void {
    const stream = this.stream;
    if (stream.closed) return;
    stream.resetWhenEnded();
    unaryHeader.writeUInt32BE(payload.length, 1);
    unaryParts[1] = payload;
    stream.respondAll(responseHeadersBlock, unaryParts, okTrailersBlock);
    unaryParts[1] = noBytes;
  }

  sendStatus(code: number, message: string): void {
    const stream = this.stream;
    if (stream.closed) return;
    stream.resetWhenEnded();
    if (!stream.headersSent) stream.respond(trailersOnlyBlock(code, message), true);
    else stream.end(trailersBlock(code, message));
  }

  sendHttpStatus(status: number, headers: Record<string, string>): void {
    const stream = this.stream;
    if (stream.closed) return;
    stream.resetWhenEnded();
    stream.respond(encodeLiteralBlock([[':status', String(status)], ...Object.entries(headers)]), true);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }
}
