// Forwards one dashboard request to one etcd client URL (a member's, or an endpoint of
// `tsetcd ui`) and streams the answer back. Only the Authorization header goes along; the
// answer keeps its status, content type and body (a watch stream stays a stream).

import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { ConnectionOptions } from 'node:tls';
import { GrpcCode } from '@tsetcd/common';
import { readUpTo } from '@tsetcd/common';

export type Req = IncomingMessage | Http2ServerRequest;
export type Res = ServerResponse | Http2ServerResponse;

/** TLS for https endpoints: the CA to trust, a client certificate where the cluster asks for one. */
export type EndpointTls = ConnectionOptions;

export interface ForwardOptions {
  method: 'GET' | 'POST';
  /** the request body (already read and bounded by the caller) */
  body?: Buffer;
  authorization?: string;
  tls?: EndpointTls;
  /** answer 504 when the endpoint sends no status line within this time (default 5 s) */
  headerTimeoutMs?: number;
}

export function sendProxyError(res: Res, status: number, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify({ error: message, message, code: GrpcCode.Unavailable }));
}

/**
 * Sends `opts.body` to `base` + `path` and pipes the answer into `res`. Resolves true once
 * the answer started, false when the endpoint could not be reached (nothing was sent yet,
 * so the caller may try another endpoint).
 */
export function forward(base: string, path: string, res: Res, opts: ForwardOptions): Promise<boolean> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(path, base.endsWith('/') ? base : `${base}/`);
    } catch {
      resolve(false);
      return;
    }
    const headers: Record<string, string> = {};
    if (opts.authorization !== undefined) headers.authorization = opts.authorization;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(opts.body.length);
    }
    const https = target.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    const tls = opts.tls;
    const out = send(target, {
      method: opts.method,
      headers,
      ...(https ? tls : {}),
    });
    let started = false;
    const timer = setTimeout(() => out.destroy(new Error(`no answer from ${base} within ${opts.headerTimeoutMs ?? 5000} ms`)), opts.headerTimeoutMs ?? 5000);
    out.on('response', (answer) => {
      clearTimeout(timer);
      started = true;
      resolve(true);
      if (res.destroyed) {
        answer.destroy();
        return;
      }
      res.statusCode = answer.statusCode ?? 502;
      const type = answer.headers['content-type'];
      if (type !== undefined) res.setHeader('Content-Type', type);
      res.setHeader('Cache-Control', 'no-store');
      answer.on('data', (c: Buffer) => {
        if (!(res as ServerResponse).write(c)) {
          answer.pause();
          (res as ServerResponse).once('drain', () => answer.resume());
        }
      });
      answer.on('end', () => res.end());
      answer.on('error', () => res.end());
      answer.on('aborted', () => res.end());
    });
    out.on('error', () => {
      clearTimeout(timer);
      if (started) res.end();
      else resolve(false);
    });
    res.once('close', () => {
      clearTimeout(timer);
      out.destroy();
    });
    out.end(opts.body);
  });
}

/** The request body, or undefined once it passes `limit` bytes. */
export async function readBounded(req: Req, limit: number): Promise<Buffer | undefined> {
  const r = await readUpTo(req, limit);
  return r.failed || r.total > limit ? undefined : r.bytes;
}
