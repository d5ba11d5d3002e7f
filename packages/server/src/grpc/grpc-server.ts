// A small gRPC server on HTTP/2 streams. It knows nothing about etcd: services are
// registered as method paths ("/etcdserverpb.KV/Range") with decode/encode functions and a
// handler. It does not listen by itself: give it HTTP/2 streams, node:http2's with
// handleStream() or our own layer's with serveHttp2Stream() (the ClientPortListener does,
// next to HTTP/1.1 and TLS on the same port).

import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Http2Stream } from '../http2/http2-stream.js';
import type { CallStream } from './call-stream.js';
import { LeanCallStream } from './lean-call-stream.js';
import { NodeCallStream } from './node-call-stream.js';
import { GrpcCode, TransportUsageError, statusOf } from './errors.js';
import {
  BidiCall, type CallContext, type CallObserver, type CallStatus, type CallType, type Decoder, type Encoder, type HandlerErrors,
  ServerStreamCall, UnaryCall,
} from './grpc-call.js';
import { parseGrpcTimeoutMs } from './grpc-timeout.js';

/** grpc-go's default receive limit; etcd raises it to --max-request-bytes plus 512 KiB. */
export const defaultMaxReceiveMessageBytes = 4 * 1024 * 1024;
/** grpc-go's default send limit (math.MaxInt32). */
export const defaultMaxSendMessageBytes = 0x7fff_ffff;
const defaultBidiReadQueueMessages = 64;

export interface GrpcServerOptions {
  maxReceiveMessageBytes?: number;
  maxSendMessageBytes?: number;
  /** Incoming messages a bidi call queues unread before its stream is paused (flow control). */
  bidiReadQueueMessages?: number;
  /** Metrics hooks, called once per call at its start and once with its final status. */
  observer?: CallObserver;
  /** Wraps every handler as it is registered (addUnary, addServerStream, addBidi, addService). */
  interceptor?: MethodInterceptor;
}

export type UnaryHandler<Req, Res> = (req: Req, call: UnaryCall) => Promise<Res> | Res;
/** Ends the call itself (call.end()), or returns a promise whose settling ends it. */
export type ServerStreamHandler<Req> = (req: Req, call: ServerStreamCall) => void | Promise<void>;
/** Ends the call itself (call.end()), or returns a promise whose settling ends it. */
export type BidiHandler<Req> = (call: BidiCall<Req>) => void | Promise<void>;

/**
 * One place for what every method needs (a permission check, say): each handler is wrapped as it
 * is registered, and the in-process callers of localMethod() get the wrapped one too. Throwing
 * refuses the registration.
 */
export interface MethodInterceptor {
  unary(path: string, handler: UnaryHandler<unknown, unknown>): UnaryHandler<unknown, unknown>;
  serverStream(path: string, handler: ServerStreamHandler<unknown>): ServerStreamHandler<unknown>;
  bidi(path: string, handler: BidiHandler<unknown>): BidiHandler<unknown>;
}

/**
 * One method of a service definition as ts-proto (outputServices=grpc-js) and grpc-js
 * generate it, e.g. etcdserverpb.KVService.range.
 */
export interface MethodDefinitionLike<Req, Res, ClientStreams extends boolean, ServerStreams extends boolean> {
  path: string;
  requestStream: ClientStreams;
  responseStream: ServerStreams;
  requestDeserialize: (payload: Buffer) => Req;
  responseSerialize: (message: Res) => Uint8Array;
}
type AnyMethodDefinition = MethodDefinitionLike<any, any, boolean, boolean>;

/** The handler type addService expects for a method definition. */
export type HandlerFor<M> =
  M extends MethodDefinitionLike<infer Req, infer Res, false, false> ? UnaryHandler<Req, Res>
  : M extends MethodDefinitionLike<infer Req, unknown, false, true> ? ServerStreamHandler<Req>
  : M extends MethodDefinitionLike<infer Req, unknown, true, boolean> ? BidiHandler<Req>
  : never;

/** A method as an in-process caller sees it; the handler takes the request and/or a call object. */
export interface LocalMethod {
  kind: CallType;
  handler: (...args: any[]) => unknown;
}

const kindUnary = 0;
const kindServerStream = 1;
const kindBidi = 2;

interface Method {
  kind: typeof kindUnary | typeof kindServerStream | typeof kindBidi;
  decode: Decoder<unknown>;
  encode: Encoder<unknown>;
  handler: (...args: never[]) => unknown;
  /** unary: what the handler's throw or rejection becomes (for callers over the wire and in-process alike) */
  errors?: HandlerErrors;
}

function isGrpcContentType(ct: string | undefined): boolean {
  if (ct === undefined || !ct.startsWith('application/grpc')) return false;
  // "application/grpc", "application/grpc+proto", "application/grpc;charset=..." — not grpc-web.
  return ct.length === 16 || ct.charCodeAt(16) === 0x2b /* + */ || ct.charCodeAt(16) === 0x3b /* ; */;
}

/** "unknown service x" / "unknown method y for service x", as grpc-go words it. */
function unknownMethodMessage(path: string, services: Set<string>): string {
  const slash = path.lastIndexOf('/');
  if (slash <= 0 || path[0] !== '/') return `malformed method name: ${JSON.stringify(path)}`;
  const service = path.slice(1, slash);
  if (!services.has(service)) return `unknown service ${service}`;
  return `unknown method ${path.slice(slash + 1)} for service ${service}`;
}

export class GrpcServer {
  private readonly methods = new Map<string, Method>();
  private readonly services = new Set<string>();
  private readonly ctx: CallContext;
  private readonly interceptor: MethodInterceptor | undefined;

  constructor(options: GrpcServerOptions = {}) {
    const maxReceive = options.maxReceiveMessageBytes ?? defaultMaxReceiveMessageBytes;
    const maxSend = options.maxSendMessageBytes ?? defaultMaxSendMessageBytes;
    const queue = options.bidiReadQueueMessages ?? defaultBidiReadQueueMessages;
    if (!Number.isInteger(maxReceive) || maxReceive < 0) throw new TransportUsageError(`maxReceiveMessageBytes must be a non-negative integer, got ${maxReceive}`);
    if (!Number.isInteger(maxSend) || maxSend < 0) throw new TransportUsageError(`maxSendMessageBytes must be a non-negative integer, got ${maxSend}`);
    if (!Number.isInteger(queue) || queue < 1) throw new TransportUsageError(`bidiReadQueueMessages must be a positive integer, got ${queue}`);
    this.ctx = {
      maxReceiveMessageBytes: maxReceive,
      maxSendMessageBytes: maxSend,
      bidiReadQueueMessages: queue,
      observer: options.observer,
    };
    this.interceptor = options.interceptor;
  }

  /**
   * `errors`: what the handler's throws and rejections become before their status is taken,
   * applied by the call (no wrapper promise per call to convert them).
   */
  addUnary<Req, Res>(path: string, decode: Decoder<Req>, encode: Encoder<Res>, handler: UnaryHandler<Req, Res>, errors?: HandlerErrors): this {
    return this.add(path, { kind: kindUnary, decode, encode: encode as Encoder<unknown>, handler: handler as Method['handler'], errors });
  }

  addServerStream<Req, Res>(path: string, decode: Decoder<Req>, encode: Encoder<Res>, handler: ServerStreamHandler<Req>): this {
    return this.add(path, { kind: kindServerStream, decode, encode: encode as Encoder<unknown>, handler: handler as Method['handler'] });
  }

  addBidi<Req, Res>(path: string, decode: Decoder<Req>, encode: Encoder<Res>, handler: BidiHandler<Req>): this {
    return this.add(path, { kind: kindBidi, decode, encode: encode as Encoder<unknown>, handler: handler as Method['handler'] });
  }

  /**
   * Register the implemented methods of a generated service definition (e.g.
   * `etcdserverpb.KVService`), keyed by the definition's method names. Methods left out stay
   * UNIMPLEMENTED. A client-streaming method is served as bidi (reply once, then end()).
   */
  addService<D extends Record<string, AnyMethodDefinition>>(definition: D, handlers: { [K in keyof D]?: HandlerFor<D[K]> }): this {
    for (const name of Object.keys(handlers)) {
      const m = definition[name];
      const handler = handlers[name];
      if (m === undefined) throw new TransportUsageError(`service has no method ${name}`);
      if (handler === undefined) continue;
      const h = handler as Method['handler'];
      const decode = m.requestDeserialize as Decoder<unknown>;
      const encode = m.responseSerialize as Encoder<unknown>;
      if (m.requestStream) this.add(m.path, { kind: kindBidi, decode, encode, handler: h });
      else if (m.responseStream) this.add(m.path, { kind: kindServerStream, decode, encode, handler: h });
      else this.add(m.path, { kind: kindUnary, decode, encode, handler: h });
    }
    return this;
  }

  /** Registered method paths. */
  paths(): string[] {
    return [...this.methods.keys()];
  }

  /**
   * A registered method for callers in this process (etcd's JSON gateway calls the gRPC
   * services through them): its kind and handler, as registered (wrappers included).
   */
  localMethod(path: string): LocalMethod | undefined {
    const m = this.methods.get(path);
    if (m === undefined) return undefined;
    const kind = m.kind === kindUnary ? 'unary' : m.kind === kindServerStream ? 'server_stream' : 'bidi_stream';
    const handler = m.errors === undefined ? m.handler as LocalMethod['handler'] : mappedErrors(m.handler as LocalMethod['handler'], m.errors);
    const observer = this.ctx.observer;
    return { kind, handler: observer === undefined ? handler : observedLocal(observer, path, kind, handler) };
  }

  /** The largest request message accepted (grpc-go's "received message larger than max"). */
  get maxReceiveMessageBytes(): number {
    return this.ctx.maxReceiveMessageBytes;
  }

  private add(path: string, method: Method): this {
    const slash = path.lastIndexOf('/');
    if (path[0] !== '/' || slash <= 1 || slash === path.length - 1) {
      throw new TransportUsageError(`gRPC method path must look like "/package.Service/Method", got ${JSON.stringify(path)}`);
    }
    if (this.methods.has(path)) throw new TransportUsageError(`gRPC method ${path} is already registered`);
    const i = this.interceptor;
    if (i !== undefined) method = { ...method, handler: intercepted(i, path, method) };
    this.methods.set(path, method);
    this.services.add(path.slice(1, slash));
    return this;
  }

  /**
   * Serve one node:http2 stream if it is a gRPC request (content-type application/grpc...).
   * Returns false, touching nothing, when it is not, so the caller can serve it as HTTP.
   */
  handleStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean => {
    if (!isGrpcContentType(headers['content-type'])) return false;
    this.dispatch(new NodeCallStream(stream), headers);
    return true;
  };

  /** The same for a stream of our own HTTP/2 layer (http2/). */
  serveHttp2Stream = (stream: Http2Stream, headers: IncomingHttpHeaders): boolean => {
    if (!isGrpcContentType(headers['content-type'])) return false;
    this.dispatch(new LeanCallStream(stream), headers);
    return true;
  };

  private dispatch(stream: CallStream, headers: IncomingHttpHeaders): void {
    if (headers[':method'] !== 'POST') {
      stream.sendHttpStatus(405, { allow: 'POST' });
      return;
    }
    const path = headers[':path'] ?? '';
    const method = this.methods.get(path);
    if (method === undefined) {
      stream.sendStatus(GrpcCode.Unimplemented, unknownMethodMessage(path, this.services));
      return;
    }
    let timeoutMs = Infinity;
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) {
      const parsed = parseGrpcTimeoutMs(timeout as string);
      if (typeof parsed !== 'number') {
        stream.sendStatus(GrpcCode.Internal, `malformed grpc-timeout: ${parsed.message}`);
        return;
      }
      timeoutMs = parsed;
    }
    switch (method.kind) {
      case kindUnary:
        new UnaryCall(path, stream, headers, timeoutMs, this.ctx, method.decode, method.encode,
          method.handler as (req: unknown, call: UnaryCall) => unknown, method.errors);
        break;
      case kindServerStream:
        new ServerStreamCall(path, stream, headers, timeoutMs, this.ctx, method.decode, method.encode,
          method.handler as (req: unknown, call: ServerStreamCall) => unknown);
        break;
      case kindBidi:
        new BidiCall(path, stream, headers, timeoutMs, this.ctx, method.decode, method.encode)
          ._start(method.handler as (call: BidiCall) => unknown);
        break;
    }
  }
}

/** An in-process caller's view of a handler whose errors the method maps (as UnaryCall does). */
function mappedErrors(handler: LocalMethod['handler'], errors: HandlerErrors): LocalMethod['handler'] {
  const rethrow = (e: unknown): never => {
    throw errors(e);
  };
  return (req, call) => {
    let out: unknown;
    try {
      out = handler(req, call);
    } catch (e) {
      throw errors(e);
    }
    return out instanceof Promise ? out.then(undefined, rethrow) : out;
  };
}

function intercepted(i: MethodInterceptor, path: string, m: Method): Method['handler'] {
  switch (m.kind) {
    case kindUnary:
      return i.unary(path, m.handler as UnaryHandler<unknown, unknown>) as Method['handler'];
    case kindServerStream:
      return i.serverStream(path, m.handler as ServerStreamHandler<unknown>) as Method['handler'];
    case kindBidi:
      return i.bidi(path, m.handler as BidiHandler<unknown>) as Method['handler'];
  }
}

/** What observedLocal needs from an in-process call object (the gateway's LocalCall). */
interface ObservableLocalCall {
  write?(message: unknown): boolean;
  end?(status?: CallStatus): void;
  once(event: 'cancelled', fn: () => void): unknown;
  [Symbol.asyncIterator]?(): AsyncIterator<unknown>;
}

/**
 * An in-process caller's handler, counted by the observer as a call over the wire would be (etcd's
 * gateway is a gRPC client of its own server, so its calls show in grpc_server_* metrics): start,
 * each request read and response written, and the final status (the handler's outcome, the
 * call's end(status), or Canceled when the caller goes away first).
 */
function observedLocal(o: CallObserver, path: string, type: CallType, handler: LocalMethod['handler']): LocalMethod['handler'] {
  if (type === 'unary') {
    return async (req: unknown, call: unknown) => {
      o.started(path, type);
      o.received?.(path, type);
      try {
        const res = await handler(req, call);
        o.handled(path, type, GrpcCode.OK);
        o.sent?.(path, type);
        return res;
      } catch (e) {
        o.handled(path, type, statusOf(e).code);
        throw e;
      }
    };
  }
  return (...args: unknown[]) => {
    const call = args[args.length - 1] as ObservableLocalCall;
    o.started(path, type);
    let ended = false;
    const end = (code: number): void => {
      if (ended) return;
      ended = true;
      o.handled(path, type, code);
    };
    call.once('cancelled', () => end(GrpcCode.Canceled));
    const write = call.write;
    if (write !== undefined) {
      call.write = function (this: ObservableLocalCall, message: unknown) {
        const ok = write.call(this, message);
        if (!ended) o.sent?.(path, type);
        return ok;
      };
    }
    const endCall = call.end;
    if (endCall !== undefined) {
      call.end = function (this: ObservableLocalCall, status?: CallStatus) {
        end(status?.code ?? GrpcCode.OK);
        endCall.call(this, status);
      };
    }
    if (type === 'server_stream') o.received?.(path, type);
    const iterate = call[Symbol.asyncIterator];
    if (type === 'bidi_stream' && iterate !== undefined) {
      call[Symbol.asyncIterator] = function (this: ObservableLocalCall) {
        const it = iterate.call(this);
        return {
          next: async () => {
            const r = await it.next();
            if (r.done !== true) o.received?.(path, type);
            return r;
          },
          return: it.return?.bind(it),
        };
      };
    }
    return handler(...args);
  };
}
