// etcd's JSON gateway on the client port (grpc-gateway v1.9.5, as in etcd 3.4): POST
// /v3/kv/put etc. with JSON bodies, answered as etcd answers them. Requests are read the way
// Go reads them (gateway/jsonpb-decode.ts) and go to the registered gRPC handlers in this
// process (gateway/local-call.ts), so the gRPC checks apply to them as they do in etcd, whose
// gateway is a gRPC client of its own server. Responses: the message as JSON (.proto field
// names, 64-bit numbers as strings, defaults left out); errors {"error","message","code"}
// with grpc-gateway's HTTP status; streams (/v3/watch, /v3/lease/keepalive,
// /v3/election/observe, /v3/maintenance/snapshot) one {"result": ...} line per message, and a
// failure as {"error":{"grpc_code",...}} before the end of the chunked body.

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { ServerView } from '../etcdserver/server-view.js';
import { toGrpcError } from './errors.js';
import { GrpcCode, type CallStatus, type GrpcServer, type LocalMethod } from '../grpc/index.js';
import { GoJsonError, decodeNext, peekValue, type ScanState } from './gateway/go-json.js';
import { decodeMessageNode } from './gateway/jsonpb-decode.js';
import { gatewayRoutes, type GatewayRoute } from './gateway/routes.js';
import { LocalBidiCall, LocalCall, LocalStreamCall } from './gateway/local-call.js';
import { readUpTo } from '@tsetcd/common';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** grpc-gateway v1.9.5's HTTPStatusFromCode. */
const httpStatusOf: Record<number, number> = {
  [GrpcCode.OK]: 200,
  [GrpcCode.Canceled]: 408,
  [GrpcCode.Unknown]: 500,
  [GrpcCode.InvalidArgument]: 400,
  [GrpcCode.DeadlineExceeded]: 504,
  [GrpcCode.NotFound]: 404,
  [GrpcCode.AlreadyExists]: 409,
  [GrpcCode.PermissionDenied]: 403,
  [GrpcCode.ResourceExhausted]: 429,
  [GrpcCode.FailedPrecondition]: 412,
  [GrpcCode.Aborted]: 409,
  [GrpcCode.OutOfRange]: 400,
  [GrpcCode.Unimplemented]: 501,
  [GrpcCode.Internal]: 500,
  [GrpcCode.Unavailable]: 503,
  [GrpcCode.DataLoss]: 500,
  [GrpcCode.Unauthenticated]: 401,
};

const cnRefusal = 'CommonName of client sending a request against gateway will be ignored and not used as expected';

/**
 * Bodies are read up to this many times the largest gRPC message (base64 makes bytes 4/3 as
 * long; JSON adds field names and spaces). A longer body is answered without being kept.
 */
const bodyFactor = 4;

/** ts-proto's lowerCamel JSON names back to the .proto names (range_end, cluster_id; ID, TTL, peerURLs kept). */
function protoName(k: string): string {
  return k.replace(/([a-z0-9])([A-Z])(?=[a-z]|$)/g, (_m, a: string, b: string) => `${a}_${b.toLowerCase()}`);
}

/** Fields whose .proto names are camelCase already (StatusResponse, Member). */
const camelProtoNames = new Set(['permType', 'isLearner', 'dbSize', 'raftIndex', 'raftAppliedIndex', 'dbSizeInUse', 'grantedTTL', 'memberID', 'peerURLs', 'clientURLs']);

function snake(v: unknown, parent = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => snake(x, parent));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // raftTerm is raft_term in ResponseHeader but raftTerm in StatusResponse
      const keep = camelProtoNames.has(k) || (k === 'raftTerm' && parent !== 'header');
      out[keep ? k : protoName(k)] = snake(x, k);
    }
    return out;
  }
  return v;
}

function sendJson(res: Res, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

/** http.Error: a text answer (grpc-gateway's 404/405, the CommonName refusal). */
function sendText(res: Res, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(`${text}\n`);
}

function errorBody(status: CallStatus): { error: string; message: string; code: number } {
  const message = status.message ?? '';
  return { error: message, message, code: status.code };
}

function sendError(res: Res, status: CallStatus): void {
  sendJson(res, httpStatusOf[status.code] ?? 500, errorBody(status));
}

function statusOfError(e: unknown): CallStatus {
  const g = toGrpcError(e);
  return { code: g.code, message: g.message };
}

/** grpc-gateway's stream error chunk. */
function streamErrorChunk(status: CallStatus): string {
  const http = httpStatusOf[status.code] ?? 500;
  return JSON.stringify({ error: { grpc_code: status.code, http_code: http, message: status.message ?? '', http_status: STATUS_CODES[http] ?? '' } });
}

/** gRPC metadata from the HTTP headers, as grpc-gateway forwards them: Authorization and Grpc-Metadata-*. */
function metadataOf(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const md: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k === 'authorization') md.authorization = Array.isArray(v) ? v[0] : v;
    else if (k.startsWith('grpc-metadata-') && k.length > 'grpc-metadata-'.length) md[k.slice('grpc-metadata-'.length)] = v;
  }
  return md;
}

function peerOf(req: Req): string {
  const s = req.socket;
  const host = s?.remoteAddress ?? '';
  return host.includes(':') ? `[${host}]:${s?.remotePort}` : `${host}:${s?.remotePort}`;
}

const timeoutUnitsMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** grpc-gateway's Grpc-Timeout header (a number and a unit, H M S m u n): ms, or the refusal. */
function timeoutOf(req: Req): number | CallStatus | undefined {
  const raw = req.headers['grpc-timeout'];
  const tm = Array.isArray(raw) ? raw[0] : raw;
  if (tm === undefined || tm === '') return undefined;
  const unit = timeoutUnitsMs[tm[tm.length - 1]];
  const digits = tm.slice(0, -1);
  if (tm.length < 2 || unit === undefined || !/^[+-]?[0-9]+$/.test(digits) || BigInt(digits) > (1n << 63n) - 1n || BigInt(digits) < -(1n << 63n)) {
    return { code: GrpcCode.InvalidArgument, message: `invalid grpc-timeout: ${tm}` };
  }
  return Math.max(0, Number(digits) * unit);
}

const deadlineExceeded: CallStatus = { code: GrpcCode.DeadlineExceeded, message: 'context deadline exceeded' };

/** Runs `onDeadline` after `ms` unless disarmed; setTimeout's ceiling (~24.8 days) counts as none. */
function armDeadline(ms: number | undefined, onDeadline: () => void): () => void {
  if (ms === undefined || ms > 0x7fff_ffff) return () => undefined;
  const timer = setTimeout(onDeadline, ms);
  return () => clearTimeout(timer);
}

/** The body as a latin1 string (bytes), or 'too large' once it passes `limit` (the rest is drained). */
async function readBody(req: Req, limit: number): Promise<string | { tooLarge: number }> {
  const r = await readUpTo(req, limit);
  return r.total > limit ? { tooLarge: r.total } : r.bytes.toString('latin1');
}

export interface JsonGatewayOptions {
  /** the gRPC services the gateway calls */
  grpc: GrpcServer;
  /** etcd --client-cert-auth */
  clientCertAuth?: boolean;
  /** etcd --enable-grpc-gateway=false: /v3/ and /v3beta/ are not served */
  disabled?: boolean;
}

export interface JsonGateway {
  /** Serves the request if its path is under /v3/ or /v3beta/; false otherwise. */
  (req: Req, res: Res, path: string): boolean;
  /** The member is shutting down: open streams end with "transport is closing". */
  closeStreams(): void;
}

export function createJsonGateway(s: ServerView, opts: JsonGatewayOptions): JsonGateway {
  const routes = new Map<string, { route: GatewayRoute; method: LocalMethod }>();
  for (const route of gatewayRoutes) {
    const method = opts.grpc.localMethod(route.grpcPath);
    if (method === undefined) throw new Error(`JSON gateway: ${route.path} proxies ${route.grpcPath}, which is not registered`);
    if (method.kind !== route.kind) throw new Error(`JSON gateway: ${route.grpcPath} is ${method.kind}, the route expects ${route.kind}`);
    routes.set(route.path, { route, method });
  }
  const maxMessage = opts.grpc.maxReceiveMessageBytes;
  const bodyLimit = bodyFactor * maxMessage + 64 * 1024;
  const openStreams = new Set<(status: CallStatus) => void>();

  /** A decoded request, or the status it is refused with. */
  function toRequest(route: GatewayRoute, node: Parameters<typeof decodeMessageNode>[0] | undefined): unknown {
    const partial = node === undefined ? {} : decodeMessageNode(node, route.requestType);
    const msg = route.request.fromPartial(partial);
    const size = route.request.encode(msg).finish().length;
    if (size > maxMessage) throw Object.assign(new Error(`grpc: received message larger than max (${size} vs. ${maxMessage})`), { grpcCode: GrpcCode.ResourceExhausted });
    return msg;
  }

  const gateway = ((req: Req, res: Res, rawPath: string): boolean => {
    let path = rawPath;
    if (path.startsWith('/v3beta/')) path = `/v3/${path.slice('/v3beta/'.length)}`;
    if (path === '/v3' || path === '/v3beta') {
      // Go's ServeMux sends the bare subtree name to its slash form
      res.statusCode = 301;
      res.setHeader('Location', '/v3/');
      res.end();
      return true;
    }
    if (!path.startsWith('/v3/')) return false;
    // etcd's accessController: with --client-cert-auth and auth on, a certificate's CN would
    // not be the user the gateway's own gRPC call runs as; such requests are refused
    const socket = req.socket as TLSSocket | undefined;
    if (opts.clientCertAuth === true && socket?.encrypted === true && s.auth.isEnabled() && socket.authorized === true) {
      const cn = socket.getPeerCertificate()?.subject?.CN;
      if (cn !== undefined && (Array.isArray(cn) ? cn.length > 0 && cn[0] !== '' : cn !== '')) {
        sendText(res, 400, cnRefusal);
        return true;
      }
    }
    const entry = routes.get(path);
    if (entry === undefined) {
      sendText(res, 404, 'Not Found');
      return true;
    }
    if (req.method !== 'POST') {
      sendText(res, 405, 'Method Not Allowed');
      return true;
    }
    const { route, method } = entry;
    const timeout = timeoutOf(req);
    if (timeout !== undefined && typeof timeout !== 'number') {
      sendError(res, timeout);
      return true;
    }
    if (route.kind === 'bidi_stream') void serveBidi(req, res, route, method, timeout);
    else void serveOne(req, res, route, method, timeout);
    return true;
  }) as JsonGateway;

  gateway.closeStreams = () => {
    for (const close of [...openStreams]) close({ code: GrpcCode.Unavailable, message: 'transport is closing' });
  };

  /** Unary and server-streaming routes: one request, the whole body. */
  async function serveOne(req: Req, res: Res, route: GatewayRoute, method: LocalMethod, timeoutMs: number | undefined): Promise<void> {
    const body = await readBody(req, bodyLimit);
    let request: unknown;
    try {
      if (typeof body !== 'string') throw Object.assign(new Error(`grpc: received message larger than max (${body.tooLarge} vs. ${maxMessage})`), { grpcCode: GrpcCode.ResourceExhausted });
      const first = decodeNext(body, 0);
      request = toRequest(route, first?.node);
    } catch (e) {
      // grpc-gateway wraps body errors as InvalidArgument; the size check is the server's
      sendError(res, e instanceof GoJsonError || e instanceof RangeError ? { code: GrpcCode.InvalidArgument, message: e.message } : statusOfError(e));
      return;
    }
    const md = metadataOf(req.headers);
    if (route.kind === 'unary') {
      const call = new LocalCall(route.grpcPath, md, peerOf(req));
      res.once('close', () => {
        if (!res.writableFinished) call.cancel('client');
      });
      let answered = false;
      const disarm = armDeadline(timeoutMs, () => {
        answered = true;
        call.cancel('deadline');
        sendError(res, deadlineExceeded);
      });
      try {
        const out = await method.handler(request, call);
        if (answered || res.destroyed) return;
        res.setHeader('Grpc-Metadata-Content-Type', 'application/grpc');
        sendJson(res, 200, snake(route.response.toJSON(out)));
      } catch (e) {
        if (!answered) sendError(res, statusOfError(e));
      } finally {
        answered = true;
        disarm();
      }
      return;
    }
    const sink = streamSink(res, route);
    const call = new LocalStreamCall(route.grpcPath, md, peerOf(req), sink);
    sink.bind(call);
    sink.deadline(timeoutMs);
    try {
      call.runHandler(method.handler(request, call));
    } catch (e) {
      call.end(statusOfError(e));
    }
  }

  /**
   * An HTTP response carrying a stream: lines of {"result": ...}; the status line goes out
   * with the first message (or is the error's when the stream fails before any).
   */
  function streamSink(res: Res, route: GatewayRoute): ConstructorParameters<typeof LocalStreamCall>[3] & { bind(call: LocalCall): void; deadline(ms: number | undefined): void } {
    let wrote = false;
    let ended = false;
    let call: LocalCall | undefined;
    const w = res as ServerResponse;
    /** The status line and headers; grpc-gateway forwards the call's header metadata once the server sent some (its first message). */
    const head = (status: number, withMetadata: boolean) => {
      if (res.headersSent) return;
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json');
      if (withMetadata) res.setHeader('Grpc-Metadata-Content-Type', 'application/grpc');
      // HTTP/1.1: chunked even when nothing comes (HTTP/2 has no such header)
      if ((res as Http2ServerResponse).stream === undefined) res.setHeader('Transfer-Encoding', 'chunked');
    };
    let disarm = (): void => undefined;
    const end = (status: CallStatus | undefined) => {
      if (ended) return;
      ended = true;
      disarm();
      openStreams.delete(shutdown);
      if (res.destroyed || res.writableEnded) return;
      if (status === undefined || status.code === GrpcCode.OK) {
        head(200, false);
        res.end();
        return;
      }
      if (!wrote) head(httpStatusOf[status.code] ?? 500, false);
      res.end(streamErrorChunk(status));
    };
    const shutdown = (status: CallStatus) => {
      end(status);
      call?.cancel('closing');
    };
    openStreams.add(shutdown);
    res.once('close', () => {
      openStreams.delete(shutdown);
      ended = true;
      disarm();
      call?.cancel('client');
    });
    return {
      bind(c) {
        call = c;
      },
      deadline(ms) {
        disarm = armDeadline(ms, () => {
          end(deadlineExceeded);
          call?.cancel('deadline');
        });
      },
      write(message) {
        if (ended || res.destroyed) return false;
        head(200, true);
        wrote = true;
        return w.write(`${JSON.stringify({ result: snake(route.response.toJSON(message)) })}\n`);
      },
      needDrain: () => !ended && !res.destroyed && w.writableNeedDrain,
      drained: () =>
        new Promise<void>((resolve) => {
          if (ended || res.destroyed || !w.writableNeedDrain) return resolve();
          const done = () => {
            w.off('drain', done);
            w.off('close', done);
            resolve();
          };
          w.once('drain', done);
          w.once('close', done);
        }),
      end,
    };
  }

  /**
   * Bidi routes (/v3/watch, /v3/lease/keepalive): the body is a stream of requests. The first
   * is read before the call starts (a bad one is refused as grpc-gateway refuses it: Unknown,
   * 500); later ones go to the call as they arrive, and a bad one ends the reading.
   */
  async function serveBidi(req: Req, res: Res, route: GatewayRoute, method: LocalMethod, timeoutMs: number | undefined): Promise<void> {
    let text = '';
    let pos = 0;
    let scanState: ScanState | undefined;
    let bodyEnded = false;
    let call: LocalBidiCall | undefined;
    let failed = false;
    const pending: Array<() => void> = [];
    const wake = () => {
      for (const f of pending.splice(0)) f();
    };
    req.on('data', (c: Buffer) => {
      if (failed) return;
      text += c.toString('latin1');
      wake();
    });
    req.on('end', () => {
      bodyEnded = true;
      wake();
    });
    req.on('error', () => {
      bodyEnded = true;
      wake();
    });
    res.once('close', () => {
      failed = true;
      wake();
    });
    /** The next request: a message, undefined at the end of the body, or a thrown error. */
    const next = async (): Promise<unknown> => {
      for (;;) {
        if (failed) return undefined;
        // each chunk goes on from where the last scan stopped: no value is scanned twice over
        const peek = peekValue(text, pos, scanState);
        scanState = peek.state;
        if (peek.verdict === 'value' || (bodyEnded && peek.verdict === 'more')) {
          scanState = undefined;
          const r = decodeNext(text, pos);
          if (r === undefined) return undefined;
          pos = r.end;
          if (pos > 64 * 1024) {
            text = text.slice(pos);
            pos = 0;
          }
          return toRequest(route, r.node);
        }
        if (bodyEnded) return undefined;
        if (text.length - pos > bodyLimit) throw Object.assign(new Error(`grpc: received message larger than max (${text.length - pos} vs. ${maxMessage})`), { grpcCode: GrpcCode.ResourceExhausted });
        await new Promise<void>((resolve) => pending.push(resolve));
      }
    };
    let first: unknown;
    try {
      first = await next();
    } catch (e) {
      // the first request's errors are not wrapped as InvalidArgument by grpc-gateway
      failed = true;
      sendError(res, statusOfError(e));
      return;
    }
    if (res.destroyed) return;
    const sink = streamSink(res, route);
    call = new LocalBidiCall(route.grpcPath, metadataOf(req.headers), peerOf(req), sink);
    sink.bind(call);
    sink.deadline(timeoutMs);
    // etcd's watch goes on after the client's half-close (its recvLoop ignores EOF); the
    // keep-alive stream ends with it
    const endsWithBody = route.grpcPath !== '/etcdserverpb.Watch/Watch';
    if (first !== undefined) call.push(first);
    else if (endsWithBody) call.closeReads();
    try {
      call.runHandler(method.handler(call));
    } catch (e) {
      call.end(statusOfError(e));
    }
    if (first === undefined) return;
    for (;;) {
      let m: unknown;
      try {
        m = await next();
      } catch {
        // a later request that cannot be read ends the reading (grpc-gateway's send loop
        // stops); what the client still sends is dropped, not kept
        failed = true;
        m = undefined;
      }
      if (m === undefined) break;
      call.push(m);
    }
    if (endsWithBody) call.closeReads();
  }

  return gateway;
}
