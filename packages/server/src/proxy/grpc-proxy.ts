// The forwarding core of `tsetcd grpc-proxy`: every gRPC call (unary or streaming, any etcd
// service) and every plain HTTP request (/health, /metrics, /version, the /v3 JSON gateway)
// that reaches the proxy is relayed over HTTP/2 to one of the cluster's client endpoints:
// headers and metadata (the auth token included), messages, trailers and cancellation. An
// endpoint that cannot be reached is skipped until the others fail too.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import type * as tls from 'node:tls';
import type { ServerLogger } from '../etcdserver/config.js';

export interface Upstream {
  /** "http://host:port" or "https://host:port" */
  url: string;
}

export interface GrpcForwarderOptions {
  endpoints: string[];
  /** client TLS for https endpoints (--cert, --key, --cacert, --insecure-skip-tls-verify) */
  tls?: tls.ConnectionOptions;
  log: ServerLogger;
}

/** hop-by-hop and pseudo headers are not relayed */
const dropHeaders = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

function relayable(h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(':') || dropHeaders.has(k) || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

export class GrpcForwarder {
  private readonly endpoints: string[];
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private next = 0;
  private closed = false;

  constructor(private readonly o: GrpcForwarderOptions) {
    this.endpoints = o.endpoints.map((e) => (/^[a-z]+:\/\//i.test(e) ? e : `${o.tls ? 'https' : 'http'}://${e}`));
  }

  /** The endpoints in the order to try them for one call: round-robin start. */
  private order(): string[] {
    const n = this.endpoints.length;
    const start = this.next++ % n;
    return Array.from({ length: n }, (_, i) => this.endpoints[(start + i) % n]);
  }

  private session(ep: string): Promise<http2.ClientHttp2Session> {
    const have = this.sessions.get(ep);
    if (have !== undefined && !have.closed && !have.destroyed) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const s = http2.connect(ep, ep.startsWith('https:') ? { ...this.o.tls, ALPNProtocols: ['h2'] } : {});
      const fail = (e: Error): void => {
        this.sessions.delete(ep);
        reject(e);
      };
      s.once('error', fail);
      s.once('connect', () => {
        s.off('error', fail);
        s.on('error', () => undefined);
        this.sessions.set(ep, s);
        resolve(s);
      });
      s.once('close', () => {
        if (this.sessions.get(ep) === s) this.sessions.delete(ep);
      });
      s.setTimeout(0);
    });
  }

  /** A session to the first endpoint that accepts one (an endpoint that refuses is logged and skipped). */
  private async pick(): Promise<http2.ClientHttp2Session> {
    let last: Error | undefined;
    for (const ep of this.order()) {
      try {
        return await this.session(ep);
      } catch (e) {
        last = e as Error;
        this.o.log.warn('failed to connect to an endpoint', { endpoint: ep, error: last.message });
      }
    }
    throw last ?? new Error('no endpoints');
  }

  /** Relays one gRPC call (HTTP/2 stream) to the cluster. Always takes the stream. */
  handleStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean => {
    stream.on('error', () => undefined);
    stream.pause();
    void this.relayStream(stream, headers);
    return true;
  };

  private async relayStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Promise<void> {
    let session: http2.ClientHttp2Session;
    try {
      if (this.closed) throw new Error('grpc proxy is closing');
      session = await this.pick();
    } catch (e) {
      if (!stream.destroyed && !stream.headersSent) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': encodeURIComponent(`all endpoints unavailable: ${(e as Error).message}`) }, { endStream: true });
      }
      return;
    }
    if (stream.destroyed) return;
    const up = session.request({ ':method': headers[':method'] ?? 'POST', ':path': headers[':path'] ?? '/', ...relayable(headers) });
    let trailers: http2.OutgoingHttpHeaders | undefined;
    up.on('response', (h, flags) => {
      if (stream.destroyed) return;
      const out = { ':status': h[':status'] ?? 200, ...relayable(h) };
      // a trailers-only answer (an error status without messages)
      if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
        stream.respond(out, { endStream: true });
        return;
      }
      stream.respond(out, { waitForTrailers: true });
    });
    up.on('trailers', (t) => (trailers = relayable(t)));
    stream.on('wantTrailers', () => {
      if (trailers !== undefined) stream.sendTrailers(trailers);
      else stream.close();
    });
    up.on('data', (d: Buffer) => {
      if (!stream.destroyed && stream.headersSent && !stream.writableEnded && !stream.write(d)) up.pause();
    });
    stream.on('drain', () => up.resume());
    up.on('end', () => {
      if (!stream.destroyed && stream.headersSent && !stream.writableEnded) stream.end();
    });
    up.on('error', (e) => {
      if (stream.destroyed) return;
      if (!stream.headersSent) stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': encodeURIComponent(e.message) }, { endStream: true });
      else stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    up.on('close', () => {
      if (!stream.destroyed && !stream.headersSent) stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    // the client cancels: so does the upstream call
    stream.on('close', () => {
      if (!up.destroyed && !up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
    });
    stream.pipe(up);
    stream.resume();
  }

  /** Relays a plain HTTP request (HTTP/1.1 or HTTP/2) to the cluster. */
  handleHttp = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    void (async () => {
      let session: http2.ClientHttp2Session;
      try {
        session = await this.pick();
      } catch (e) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`all endpoints unavailable: ${(e as Error).message}\n`);
        return;
      }
      const up = session.request({ ':method': req.method ?? 'GET', ':path': req.url ?? '/', ...relayable(req.headers) });
      up.on('response', (h) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(relayable(h))) out[k] = v as string | string[];
        res.writeHead(Number(h[':status'] ?? 502), out);
        up.pipe(res as NodeJS.WritableStream);
      });
      up.on('error', (e) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${e.message}\n`);
      });
      res.on('close', () => {
        if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
      });
      (req as NodeJS.ReadableStream).pipe(up);
    })();
  };

  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}
