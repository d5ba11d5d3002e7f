// The dashboard's route on an HTTP port: /ui/ serves the built app (uiAsset), and
// /ui/endpoint?url=<client URL>&path=<path> reaches one member of the cluster for the few
// per-member calls the app makes (status, health, metrics, move-leader). The URL must be a
// client URL of a current member (from `memberClientUrls`): the route reaches nothing else.

import { forward, readBounded, sendProxyError, type EndpointTls, type Req, type Res } from './endpoint-proxy.js';
import { uiAsset } from './ui-assets.js';

/** The per-member paths the app may reach through /ui/endpoint, with their method. */
const memberPaths: Record<string, 'GET' | 'POST'> = {
  'health': 'GET',
  'metrics': 'GET',
  'v3/maintenance/status': 'POST',
  'v3/maintenance/transfer-leadership': 'POST',
};

const maxForwardBody = 4096;

/** Only this page's own scripts, styles and same-origin requests; never inside a frame. */
const securityHeaders: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

export interface UiRouteOptions {
  /** client URLs of the cluster's current members */
  memberClientUrls(): Promise<string[]> | string[];
  tls?: EndpointTls;
}

/** Serves the request if its path is /ui or under /ui/; false otherwise. */
export type UiRoute = (req: Req, res: Res, path: string) => boolean;

/**
 * A POST the app sent (it always says application/json). A form or a text/plain POST from
 * another site's page, which a browser sends without asking, is refused.
 */
export function isJsonRequest(req: Req): boolean {
  return /^application\/json\s*(;|$)/i.test(String(req.headers['content-type'] ?? ''));
}

function text(res: Res, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`${body}\n`);
}

export function createUiRoute(opts: UiRouteOptions): UiRoute {
  return (req, res, path) => {
    if (path !== '/ui' && !path.startsWith('/ui/')) return false;
    if (path === '/ui') {
      res.statusCode = 301;
      res.setHeader('Location', '/ui/');
      res.end();
      return true;
    }
    const name = path.slice('/ui/'.length);
    if (name === 'endpoint') {
      void toMember(req, res);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      text(res, 405, 'Method Not Allowed');
      return true;
    }
    let asset;
    try {
      asset = uiAsset(name === '' ? 'index.html' : name);
    } catch {
      text(res, 503, 'the dashboard is not built (run npm run build)');
      return true;
    }
    if (asset === undefined) {
      text(res, 404, '404 page not found');
      return true;
    }
    res.statusCode = 200;
    for (const [k, v] of Object.entries(securityHeaders)) res.setHeader(k, v);
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.method === 'HEAD') res.end();
    else res.end(asset.body);
    return true;
  };

  async function toMember(req: Req, res: Res): Promise<void> {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const url = q.get('url') ?? '';
    const path = q.get('path') ?? '';
    const method = memberPaths[path];
    if (method === undefined) return sendProxyError(res, 404, `not a member path: ${path}`);
    if (req.method !== method) return sendProxyError(res, 405, `${path} takes ${method}`);
    if (method === 'POST' && !isJsonRequest(req)) return sendProxyError(res, 415, 'Content-Type must be application/json');
    const body = method === 'POST' ? await readBounded(req, maxForwardBody) : undefined;
    if (method === 'POST' && body === undefined) return sendProxyError(res, 413, 'request body too large');
    let members: string[];
    try {
      members = await opts.memberClientUrls();
    } catch (e) {
      return sendProxyError(res, 502, `member list: ${(e as Error).message}`);
    }
    const norm = (u: string) => u.replace(/\/+$/, '');
    if (!members.map(norm).includes(norm(url))) return sendProxyError(res, 403, `not a client URL of a member: ${url}`);
    const auth = req.headers.authorization;
    const reached = await forward(url, path, res, { method, body: body?.length ? body : method === 'POST' ? Buffer.from('{}') : undefined, authorization: typeof auth === 'string' ? auth : undefined, tls: opts.tls });
    if (!reached) sendProxyError(res, 502, `${url} unreachable`);
  }
}
