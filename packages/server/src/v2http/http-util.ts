// Small pieces of Go's net/http the v2 handlers answer with: 405 with Allow, http.Error's plain text.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Go's http.Error: plain text with a newline, nosniff. */
export function httpError(res: Res, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(text + '\n');
}

/** etcd's allowMethod: true when the method is one of `allowed`, else 405 (Allow lists them). */
export function allowMethod(req: Req, res: Res, allowed: string[]): boolean {
  if (allowed.includes(req.method ?? '')) return true;
  res.setHeader('Allow', allowed.join(','));
  httpError(res, 405, 'Method Not Allowed');
  return false;
}

export function writeJson(res: Res, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(text);
}
