// One TCP port serving, like etcd's client port: gRPC (HTTP/2, h2c prior knowledge or TLS
// with ALPN h2), HTTP/2 non-gRPC requests and HTTP/1.1 (health, version, metrics, JSON
// gateway) — in plaintext, TLS, or both on the same port. Each connection's first bytes
// decide: 0x16 (TLS handshake record) → TLS, then the same choice again on the decrypted
// stream (by ALPN, else by sniffing); the HTTP/2 preface "PRI * HTTP/2.0" → HTTP/2;
// anything else → HTTP/1.1.
//
// The net/tls/http/http2 servers are never listening themselves: connections are handed to
// them with emit('connection'), after the sniffed bytes are put back with unshift() (node's
// TLS, HTTP/1 and HTTP/2 layers all take over data already buffered on the socket).
//
// An HTTP/2 connection is served by our own HTTP/2 layer (http2/, cheaper per call) when its
// first request is gRPC, or when the client sends no request soon after connecting (gRPC
// clients connect ahead of their calls); otherwise by node:http2, which also serves gRPC
// streams. A non-gRPC request on a connection our layer took (a proxy asking /health beside
// its calls) is served through http2-compat's request/response objects. `leanHttp2: false` (or
// TSETCD_LEAN_HTTP2=0) switches this off: node:http2 then serves every HTTP/2 connection.
//
// About 500 lines on purpose: sniffing, the TLS hand-over and the listener's lifecycle (serve
// after the member publishes, graceful close) act on the same connection set; the h2c authority
// fix, ping policy, call aborts and the HTTP/2 layer itself already live apart.

import { fixH2cAuthority, type FirstRequest } from './h2c-authority.js';
import { Http2Connection } from '../http2/http2-connection.js';
import { serveCompat } from '../http2/http2-compat.js';
import { PingStrikes } from './ping-policy.js';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { enforcePingPolicy } from './ping-policy.js';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { GrpcCode, TransportUsageError } from './errors.js';
import { abortSessionCalls, markServerClosing } from './grpc-call.js';
import type { GrpcServer } from './grpc-server.js';

export type HttpHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface ClientPortTlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** CA certificates trusted for client certificates. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask clients for a certificate (etcd --client-cert-auth). */
  requestCert?: boolean;
  /** Refuse clients whose certificate does not verify (or who sent none) when requestCert is set. */
  rejectUnauthorized?: boolean;
  /** OpenSSL cipher list for TLS 1.2 (etcd --cipher-suites, mapped). */
  ciphers?: string;
  /**
   * Checks each connection after its handshake, before any byte of it is served: a reason to
   * refuse it, or undefined (chain, CRL, allowed hostname: see tls/tls-info.ts).
   */
  verify?: (socket: tls.TLSSocket) => Promise<string | undefined>;
  /** A connection refused in its handshake or by `verify` (etcd logs "rejected connection"). */
  onRejected?: (socket: tls.TLSSocket, reason: string | Error) => void;
  /**
   * Asked before each TLS handshake: a new certificate and key to serve from now on (etcd
   * reads its certificate files for every handshake, so replaced files take effect), or
   * undefined to keep the current ones.
   */
  reload?: () => { cert: Buffer; key: Buffer } | undefined;
}

export interface ClientPortListenerOptions {
  host?: string;
  /** 0 lets the OS choose; see address() after listen(). */
  port?: number;
  grpc?: GrpcServer;
  /** Non-gRPC requests, HTTP/1.1 or HTTP/2. Default: 404. */
  httpHandler?: HttpHandler;
  /** Enables TLS connections (https:// URLs). */
  tls?: ClientPortTlsOptions;
  /** Accept plaintext connections (http:// URLs). Default: true without tls, false with it. */
  plaintext?: boolean;
  /** HTTP/2 stream flow-control window, bytes. */
  streamWindowBytes?: number;
  /** HTTP/2 connection flow-control window, bytes. */
  connectionWindowBytes?: number;
  /** Server keepalive: PING an idle-or-not client this often (etcd --grpc-keepalive-interval, 2h). 0 disables. */
  keepaliveIntervalMs?: number;
  /** Close the connection if a PING is not answered within this (etcd --grpc-keepalive-timeout, 20s). */
  keepaliveTimeoutMs?: number;
  /** Client PINGs closer together than this are refused with GOAWAY (etcd --grpc-keepalive-min-time, 5s). 0 allows any. */
  keepaliveMinTimeMs?: number;
  /** A connection must show its first bytes (or finish its TLS handshake) within this. */
  handshakeTimeoutMs?: number;
  /** close(): how long unary calls and HTTP requests still running may take before sockets are destroyed. */
  closeGraceMs?: number;
  /** HTTP/2 streams one connection may have open at once (etcd --max-concurrent-streams). */
  maxConcurrentStreams?: number;
  /**
   * Connections are accepted at once (the port is bound, so port 0 resolves) but nothing of them is
   * read until this resolves, as etcd serves its client port only once the member is ready. Until
   * then at most `heldConnectionsLimit` wait; more are dropped, as a full accept backlog would.
   */
  serveAfter?: Promise<unknown>;
  /**
   * Serve gRPC connections with our own HTTP/2 layer (http2/) rather than node:http2. Default:
   * true, unless the environment sets TSETCD_LEAN_HTTP2=0 (node:http2 for all, to compare).
   */
  leanHttp2?: boolean;
}

const defaultStreamWindowBytes = 4 * 1024 * 1024;
const defaultConnectionWindowBytes = 16 * 1024 * 1024;
const defaultKeepaliveIntervalMs = 2 * 60 * 60 * 1000;
const defaultKeepaliveTimeoutMs = 20 * 1000;
const defaultKeepaliveMinTimeMs = 5 * 1000;
const defaultHandshakeTimeoutMs = 10 * 1000;
const defaultCloseGraceMs = 1000;
/** After the grace period: time for the final statuses to reach clients before sockets are dropped. */
const statusFlushMs = 250;
const http2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const tlsHandshakeRecord = 0x16;
/** Enough of the preface to tell it from an HTTP/1 method ("PRI " vs "POST", "PUT ", "PATCH"). */
const prefaceSniffBytes = 4;
const defaultMaxConcurrentStreams = 0xffff_ffff;
/** Connections waiting for serveAfter (node's default listen backlog). */
export const heldConnectionsLimit = 511;
/** nghttp2 session memory budget, MB (node's default 10 is low for watch floods). */
const maxSessionMemoryMegabytes = 128;
/** SETTINGS_MAX_HEADER_LIST_SIZE (grpc-go's default). */
const maxHeaderListBytes = 16 * 1024 * 1024;

function isGrpcRequest(first: FirstRequest): boolean {
  const ct = first.headers?.['content-type'];
  return ct !== undefined && ct.startsWith('application/grpc') && (ct.length === 16 || ct[16] === '+' || ct[16] === ';');
}

type Route = 'h2' | 'http1';

const kKey = Symbol('tsetcd.connectionKey');
/**
 * A connection's identity shared by its raw socket and the TLS socket over it (HTTP handlers
 * see the latter): the remote address and port, remembered while the socket is alive.
 */
function keyOf(socket: net.Socket): string {
  const s = socket as net.Socket & { [kKey]?: string };
  return (s[kKey] ??= `${socket.remoteAddress}|${socket.remotePort}`);
}

function notFound(_req: unknown, res: http.ServerResponse | http2.Http2ServerResponse): void {
  res.statusCode = 404;
  res.end('404 page not found\n');
}

/** The route for the first bytes, or undefined when more bytes are needed. */
function sniff(head: Buffer): Route | undefined {
  const n = Math.min(head.length, http2Preface.length);
  if (head.compare(http2Preface, 0, n, 0, n) !== 0) return 'http1';
  return n >= prefaceSniffBytes ? 'h2' : undefined;
}

export class ClientPortListener {
  private readonly net: net.Server;
  private readonly h2: http2.Http2Server;
  private readonly http1: http.Server;
  private readonly tlsServer: tls.Server | undefined;
  private readonly plaintext: boolean;
  private readonly httpHandler: HttpHandler;
  private readonly grpc: GrpcServer | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly leanConnections = new Set<Http2Connection>();
  /** By connection key: in-flight HTTP/1 requests (0 = idle keep-alive), or 'h2' for HTTP/2 sessions. */
  private readonly connState = new Map<string, number | 'h2'>();
  private bound: net.AddressInfo | undefined;
  private closing: Promise<void> | undefined;
  private socketsGone: (() => void) | undefined;
  /** Connections accepted before serveAfter resolved; undefined once serving. */
  private held: Set<net.Socket> | undefined;

  constructor(private readonly options: ClientPortListenerOptions = {}) {
    this.grpc = options.grpc;
    this.httpHandler = options.httpHandler ?? notFound;
    this.plaintext = options.plaintext ?? options.tls === undefined;
    const streamWindowBytes = options.streamWindowBytes ?? defaultStreamWindowBytes;
    const connectionWindowBytes = options.connectionWindowBytes ?? defaultConnectionWindowBytes;
    const keepaliveIntervalMs = options.keepaliveIntervalMs ?? defaultKeepaliveIntervalMs;
    const keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? defaultKeepaliveTimeoutMs;

    this.net = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.net.on('error', () => {}); // accept errors (EMFILE...) must not kill the process
    if (options.serveAfter !== undefined) {
      const held = new Set<net.Socket>();
      this.held = held;
      options.serveAfter.then(
        () => {
          this.held = undefined;
          for (const socket of held) if (!socket.destroyed && this.closing === undefined) this.route(socket);
          held.clear();
        },
        () => undefined, // never ready: held connections end with close()
      );
    }

    this.h2 = http2.createServer({
      settings: {
        // 0 means no limit, as in grpc-go
        maxConcurrentStreams: options.maxConcurrentStreams || defaultMaxConcurrentStreams,
        initialWindowSize: streamWindowBytes,
        enablePush: false,
        maxHeaderListSize: maxHeaderListBytes,
      },
      maxSessionMemory: maxSessionMemoryMegabytes,
      maxSessionRejectedStreams: 1000,
      maxSessionInvalidFrames: 1000,
    });
    this.h2.on('session', (session) => {
      this.sessions.add(session);
      const key = keyOf(session.socket as unknown as net.Socket);
      this.connState.set(key, 'h2');
      session.on('error', () => {});
      try {
        session.setLocalWindowSize(connectionWindowBytes);
      } catch {
        // session already gone
      }
      if ((options.keepaliveMinTimeMs ?? defaultKeepaliveMinTimeMs) > 0) enforcePingPolicy(session, options.keepaliveMinTimeMs ?? defaultKeepaliveMinTimeMs);
      let keepalive: NodeJS.Timeout | undefined;
      if (keepaliveIntervalMs > 0) {
        keepalive = setInterval(() => {
          if (session.destroyed || session.closed) return;
          // a timeout of 0 never gives up on an unanswered PING
          const timer = keepaliveTimeoutMs > 0 ? setTimeout(() => session.destroy(), keepaliveTimeoutMs) : undefined;
          const sent = session.ping((err) => {
            clearTimeout(timer);
            if (err !== null && !session.destroyed) session.destroy();
          });
          if (!sent) clearTimeout(timer);
        }, keepaliveIntervalMs);
        keepalive.unref();
      }
      session.once('close', () => {
        if (keepalive !== undefined) clearInterval(keepalive);
        this.sessions.delete(session);
      });
    });
    this.h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      if (this.grpc !== undefined && this.grpc.handleStream(stream, headers)) return;
      stream.on('error', () => {});
      const req = new http2.Http2ServerRequest(stream, headers, {} as never, rawHeaders);
      const res = new http2.Http2ServerResponse(stream);
      try {
        this.httpHandler(req, res);
      } catch {
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      }
    });
    this.h2.on('sessionError', () => {});

    this.http1 = http.createServer({ noDelay: true }, (req, res) => {
      const socket = req.socket;
      const key = keyOf(socket);
      this.connState.set(key, ((this.connState.get(key) as number | undefined) ?? 0) + 1);
      if (this.closing !== undefined) res.shouldKeepAlive = false;
      res.once('close', () => {
        const n = ((this.connState.get(key) as number | undefined) ?? 1) - 1;
        this.connState.set(key, n);
        if (n === 0 && this.closing !== undefined) socket.destroy();
      });
      try {
        this.httpHandler(req, res);
      } catch {
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      }
    });
    this.http1.on('clientError', (_err, socket) => socket.destroy());

    if (options.tls !== undefined) {
      const t = options.tls;
      this.tlsServer = tls.createServer({
        key: t.key,
        cert: t.cert,
        ca: t.ca,
        requestCert: t.requestCert ?? false,
        rejectUnauthorized: t.rejectUnauthorized ?? (t.requestCert ?? false),
        ciphers: t.ciphers,
        ALPNProtocols: ['h2', 'http/1.1'],
        handshakeTimeout: options.handshakeTimeoutMs ?? defaultHandshakeTimeoutMs,
      });
      this.tlsServer.on('secureConnection', (socket) => this.onVerify(socket));
      this.tlsServer.on('tlsClientError', (err, socket) => {
        t.onRejected?.(socket, err);
        socket.destroy();
      });
    }
  }

  private reloadCertificate(): void {
    const t = this.options.tls;
    const fresh = t?.reload?.();
    if (t === undefined || fresh === undefined || this.tlsServer === undefined) return;
    this.tlsServer.setSecureContext({
      key: fresh.key,
      cert: fresh.cert,
      ca: t.ca,
      ciphers: t.ciphers,
    });
  }

  /** Bind and start accepting. Resolves with the bound address. */
  listen(): Promise<net.AddressInfo> {
    if (this.bound !== undefined || this.net.listening) throw new TransportUsageError('ClientPortListener: already listening');
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.net.once('error', onError);
      this.net.listen({ host: this.options.host ?? '127.0.0.1', port: this.options.port ?? 0 }, () => {
        this.net.off('error', onError);
        this.bound = this.net.address() as net.AddressInfo;
        resolve(this.bound);
      });
    });
  }

  /** The bound address (after listen()). */
  address(): net.AddressInfo {
    if (this.bound === undefined) throw new TransportUsageError('ClientPortListener: not listening');
    return this.bound;
  }

  /** Open connections (raw sockets), for tests and metrics. */
  get connections(): number {
    return this.sockets.size;
  }

  private onConnection(socket: net.Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const key = keyOf(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.connState.delete(key);
      if (this.sockets.size === 0 && this.socketsGone !== undefined) this.socketsGone();
    });
    socket.on('error', () => {});
    const held = this.held;
    if (held !== undefined) {
      if (held.size >= heldConnectionsLimit) return void socket.destroy();
      socket.pause();
      held.add(socket);
      socket.once('close', () => held.delete(socket));
      return;
    }
    this.route(socket);
  }

  /** Reads a new connection's first bytes and hands it to TLS, HTTP/2 or HTTP/1.1. */
  private route(socket: net.Socket): void {
    this.sniffFirstBytes(socket, (head) => {
      if (head[0] === tlsHandshakeRecord) {
        if (this.tlsServer === undefined) return socket.destroy();
        this.reloadCertificate();
        this.tlsServer.emit('connection', socket);
        return;
      }
      if (!this.plaintext) return socket.destroy();
      const route = sniff(head);
      // The sniffed bytes are back on the socket; fixH2cAuthority reads them again.
      if (route === 'h2') fixH2cAuthority(socket, Buffer.alloc(0), (first) => this.toHttp2(socket, first));
      else this.toHttp1(socket);
    });
  }

  /** Runs the configured post-handshake check; nothing of the connection is read before it passes. */
  private onVerify(socket: tls.TLSSocket): void {
    socket.on('error', () => {});
    const t = this.options.tls;
    if (t?.verify === undefined) return this.onSecure(socket);
    socket.pause();
    t.verify(socket).then(
      (reason) => {
        if (socket.destroyed) return;
        if (reason === undefined) return this.onSecure(socket);
        t.onRejected?.(socket, reason);
        socket.destroy();
      },
      () => socket.destroy(),
    );
  }

  private onSecure(socket: tls.TLSSocket): void {
    if (socket.alpnProtocol === 'h2') {
      if (!this.leanEnabled) this.h2.emit('connection', socket);
      else fixH2cAuthority(socket, Buffer.alloc(0), (first) => this.toHttp2(socket, first), false);
    } else if (socket.alpnProtocol === 'http/1.1') {
      this.toHttp1(socket);
    } else {
      // No ALPN: look at the decrypted bytes.
      this.sniffFirstBytes(socket, (head) => {
        if (sniff(head) === 'h2') {
          // node's HTTP/2 server would take a TLS socket without ALPN for HTTP/1.1.
          (socket as { alpnProtocol: string | false }).alpnProtocol = 'h2';
          if (!this.leanEnabled) this.h2.emit('connection', socket);
          else fixH2cAuthority(socket, Buffer.alloc(0), (first) => this.toHttp2(socket, first), false);
        } else {
          this.toHttp1(socket);
        }
      });
    }
  }

  /** Whether gRPC connections go to our own HTTP/2 layer. */
  private get leanEnabled(): boolean {
    const on = this.options.leanHttp2 ?? process.env.TSETCD_LEAN_HTTP2 !== '0';
    return on && typeof this.grpc?.serveHttp2Stream === 'function';
  }

  /** An HTTP/2 connection whose first request (if any came) was looked at: our layer or node's. */
  private toHttp2(socket: net.Socket, first: FirstRequest): void {
    if (socket.destroyed) return;
    if (this.closing !== undefined) return void socket.destroy();
    if (!this.leanEnabled || (first.requestSeen && !isGrpcRequest(first))) {
      this.h2.emit('connection', socket);
      return;
    }
    const grpc = this.grpc!;
    const o = this.options;
    const minTime = o.keepaliveMinTimeMs ?? defaultKeepaliveMinTimeMs;
    const conn: Http2Connection = new Http2Connection(socket, {
      onStream: (stream, headers) => {
        if (grpc.serveHttp2Stream(stream, headers)) return;
        serveCompat(stream, headers, socket, this.httpHandler as unknown as Parameters<typeof serveCompat>[3]);
      },
      onClose: () => this.leanConnections.delete(conn),
      maxConcurrentStreams: o.maxConcurrentStreams || defaultMaxConcurrentStreams,
      initialWindowSize: o.streamWindowBytes ?? defaultStreamWindowBytes,
      connectionWindowSize: o.connectionWindowBytes ?? defaultConnectionWindowBytes,
      maxHeaderListSize: maxHeaderListBytes,
      pingPolicy: minTime > 0 ? new PingStrikes(minTime) : undefined,
      keepaliveIntervalMs: o.keepaliveIntervalMs ?? defaultKeepaliveIntervalMs,
      keepaliveTimeoutMs: o.keepaliveTimeoutMs ?? defaultKeepaliveTimeoutMs,
    });
    this.leanConnections.add(conn);
    this.connState.set(keyOf(socket), 'h2');
    conn.start();
  }

  private toHttp1(socket: net.Socket): void {
    this.http1.emit('connection', socket);
    // The HTTP/1 parser reads the bytes we put back through a 'data' listener; the socket
    // was paused while sniffing.
    socket.resume();
  }

  /** Read until the route is known, put the bytes back, then call `route` with them. */
  private sniffFirstBytes(socket: net.Socket, route: (head: Buffer) => void): void {
    let head: Buffer | undefined;
    const onTimeout = (): void => {
      socket.destroy();
    };
    socket.setTimeout(this.options.handshakeTimeoutMs ?? defaultHandshakeTimeoutMs);
    socket.once('timeout', onTimeout);
    const onData = (chunk: Buffer): void => {
      head = head === undefined ? chunk : Buffer.concat([head, chunk]);
      if (head[0] !== tlsHandshakeRecord && sniff(head) === undefined) return;
      socket.off('data', onData);
      socket.off('timeout', onTimeout);
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(head);
      if (this.closing !== undefined) {
        socket.destroy();
        return;
      }
      route(head);
    };
    socket.on('data', onData);
    // a TLS socket may have been paused while its certificate was checked
    socket.resume();
  }

  /**
   * Stop accepting; end open gRPC streams with UNAVAILABLE "transport is closing", send GOAWAY
   * on HTTP/2 sessions and close idle HTTP/1 connections; unary calls and HTTP requests still
   * running get `closeGraceMs` to finish, then whatever is still open is destroyed. Resolves
   * when every socket is closed.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      let graceTimer: NodeJS.Timeout | undefined;
      const netClosed = new Promise<void>((r) => {
        if (this.net.listening) this.net.close(() => r());
        else r();
      });
      for (const session of this.sessions) {
        markServerClosing(session);
        // Streams (watches, lease keepalives) would hold the grace period for nothing: they end
        // now with what grpc-go clients of a stopping etcd get, and fail over on.
        abortSessionCalls(session, GrpcCode.Unavailable, 'transport is closing', true);
        if (!session.closed) session.close();
      }
      for (const conn of this.leanConnections) {
        markServerClosing(conn);
        abortSessionCalls(conn, GrpcCode.Unavailable, 'transport is closing', true);
        conn.close();
      }
      for (const socket of this.sockets) {
        // Idle HTTP/1 keep-alive, or still sniffing / in the TLS handshake: nothing to wait for.
        const state = this.connState.get(keyOf(socket));
        if (state === 0 || state === undefined) socket.destroy();
      }
      const allClosed = (): Promise<void> =>
        this.sockets.size === 0 ? Promise.resolve() : new Promise<void>((r) => { this.socketsGone = r; });
      const graceMs = this.options.closeGraceMs ?? defaultCloseGraceMs;
      graceTimer = setTimeout(() => {
        // Calls still open get a real status, UNAVAILABLE "transport is closing" (what grpc-go
        // clients report when a server stops; etcd clients fail over on it). Clients then close
        // their streams and the GOAWAY'd sessions end by themselves.
        for (const session of this.sessions) abortSessionCalls(session, GrpcCode.Unavailable, 'transport is closing');
        for (const conn of this.leanConnections) abortSessionCalls(conn, GrpcCode.Unavailable, 'transport is closing');
        graceTimer = setTimeout(() => {
          graceTimer = undefined;
          // Then drop what is left by its connection, not its session: destroying an HTTP/2
          // session sends RST_STREAM(NO_ERROR) on open streams, which clients read as INTERNAL.
          for (const socket of this.sockets) socket.destroy();
        }, Math.min(graceMs, statusFlushMs));
      }, graceMs);
      void Promise.all([netClosed, allClosed()]).then(async () => {
        // Sockets may have been handed to sessions closing just now; wait for sessions too.
        await Promise.all([...this.sessions].map((s) => (s.destroyed ? undefined : new Promise<void>((r) => s.once('close', () => r())))));
        if (graceTimer !== undefined) clearTimeout(graceTimer);
        resolve();
      });
    });
    return this.closing;
  }
}

/** Listeners for etcd-style client URLs (http://host:port, https://host:port), one per host:port. */
export function clientPortListeners(
  urls: string[],
  options: Omit<ClientPortListenerOptions, 'host' | 'port' | 'plaintext'>,
): ClientPortListener[] {
  const byHostPort = new Map<string, { host: string; port: number; plaintext: boolean; secure: boolean }>();
  for (const raw of urls) {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TransportUsageError(`client URL ${raw}: scheme must be http or https`);
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const key = `${host}|${port}`;
    const entry = byHostPort.get(key) ?? { host, port, plaintext: false, secure: false };
    if (url.protocol === 'https:') entry.secure = true;
    else entry.plaintext = true;
    byHostPort.set(key, entry);
  }
  const out: ClientPortListener[] = [];
  for (const e of byHostPort.values()) {
    if (e.secure && options.tls === undefined) {
      throw new TransportUsageError(`client URL https://${e.host}:${e.port} needs TLS options (cert, key)`);
    }
    out.push(new ClientPortListener({
      ...options,
      host: e.host,
      port: e.port,
      plaintext: e.plaintext,
      tls: e.secure ? options.tls : undefined,
    }));
  }
  return out;
}
