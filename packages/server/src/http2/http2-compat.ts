// Plain HTTP requests on our HTTP/2 streams, with the request/response objects the client
// port's HTTP handlers are written against (the parts of node:http2's Http2ServerRequest and
// Http2ServerResponse they use): a Readable request body with flow control, and a Writable
// response whose headers are HPACK-encoded on first write. Used for the odd non-gRPC request
// on a connection that started with gRPC (a proxy sending /health beside its calls); other
// HTTP/2 connections are node:http2's.

import type { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { encodeLiteralBlock } from './hpack-encoder.js';
import type { RequestHeaders } from './http2-connection.js';
import type { Http2Stream, StreamHandler } from './http2-stream.js';

/** Not allowed in HTTP/2 responses (RFC 9113 §8.2.2): dropped. */
const connectionSpecific = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

type HeaderValue = string | number | readonly string[];

export class Http2CompatRequest extends Readable {
  readonly method: string;
  readonly url: string;
  readonly authority: string | undefined;
  readonly scheme: string | undefined;
  readonly httpVersion = '2.0';
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;

  constructor(readonly stream: Http2Stream, readonly headers: RequestHeaders, readonly socket: Socket) {
    super();
    this.method = headers[':method'] ?? 'GET';
    this.url = headers[':path'] ?? '/';
    this.authority = headers[':authority'];
    this.scheme = headers[':scheme'];
  }

  override _read(): void {
    this.stream.resume();
  }
}

export class Http2CompatResponse extends Writable {
  statusCode = 200;
  statusMessage = '';
  sendDate = true;
  headersSent = false;
  private readonly fields = new Map<string, HeaderValue>();
  /** A write waiting for the stream to drain. */
  waiting: (() => void) | undefined = undefined;

  constructor(readonly stream: Http2Stream, readonly req: Http2CompatRequest) {
    super();
  }

  get socket(): Socket {
    return this.req.socket;
  }

  setHeader(name: string, value: HeaderValue): this {
    if (this.headersSent) throw new Error('Cannot set headers after they are sent to the client');
    this.fields.set(name.toLowerCase(), value);
    return this;
  }

  getHeader(name: string): HeaderValue | undefined {
    return this.fields.get(name.toLowerCase());
  }

  getHeaders(): Record<string, HeaderValue> {
    return Object.fromEntries(this.fields);
  }

  getHeaderNames(): string[] {
    return [...this.fields.keys()];
  }

  hasHeader(name: string): boolean {
    return this.fields.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    if (!this.headersSent) this.fields.delete(name.toLowerCase());
  }

  writeHead(status: number, message?: string | Record<string, HeaderValue>, headers?: Record<string, HeaderValue>): this {
    this.statusCode = status;
    const h = typeof message === 'object' ? message : headers;
    if (typeof message === 'string') this.statusMessage = message;
    if (h !== undefined) for (const [k, v] of Object.entries(h)) this.setHeader(k, v);
    this.sendHead(false);
    return this;
  }

  flushHeaders(): void {
    this.sendHead(false);
  }

  private sendHead(endStream: boolean): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const out: Array<[string, string]> = [[':status', String(this.statusCode)]];
    for (const [name, value] of this.fields) {
      if (connectionSpecific.has(name) || name.startsWith(':')) continue;
      if (Array.isArray(value)) for (const v of value as string[]) out.push([name, String(v)]);
      else out.push([name, String(value)]);
    }
    if (this.sendDate && !this.fields.has('date')) out.push(['date', new Date().toUTCString()]);
    this.stream.respond(encodeLiteralBlock(out), endStream);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sendHead(false);
    if (this.stream.closed || this.stream.write(chunk)) callback();
    else this.waiting = () => callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.headersSent) this.sendHead(true);
    else this.stream.end();
    callback();
  }
}

/** Serves one HTTP/2 stream with `handler(req, res)`; a throwing handler's request gets 500. */
export function serveCompat(
  stream: Http2Stream,
  headers: RequestHeaders,
  socket: Socket,
  handler: (req: Http2CompatRequest, res: Http2CompatResponse) => void,
): void {
  const req = new Http2CompatRequest(stream, headers, socket);
  const res = new Http2CompatResponse(stream, req);
  req.on('error', () => {});
  res.on('error', () => {});
  stream.resetWhenEnded();
  const sink: StreamHandler = {
    _data(chunk) {
      if (!req.push(chunk)) stream.pause();
    },
    _halfClosed() {
      req.push(null);
    },
    _streamClosed() {
      const w = res.waiting;
      res.waiting = undefined;
      w?.();
      if (!res.writableFinished) res.destroy();
      if (!req.readableEnded) req.destroy();
    },
    _drained() {
      const w = res.waiting;
      res.waiting = undefined;
      w?.();
    },
  };
  stream.handler = sink;
  try {
    handler(req, res);
  } catch {
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  }
}
