// The one entry point of a member's peer listener. Every request goes through here:
//   1. the route is looked up (unknown path: Go's 404 "404 page not found"; known path with
//      another method: 405 "Method Not Allowed" with an Allow header, as etcd);
//   2. a member-only route admits the sender first (peer-checks.ts: cluster ID, sender
//      membership, removed members, receiver) — its handler never runs for anyone else;
//   3. the handler runs inside an error boundary: whatever it throws, synchronously, from a
//      promise or from a stream callback it reports through `fail`, becomes an HTTP answer on
//      that connection (a PeerRefusal's status and text, anything else 500), never an exception
//      that reaches the process.

import type * as http from 'node:http';
import { admitPeer, type AdmitOptions, type PeerDirectory } from './peer-checks.js';
import { answerRefusal, discardRest } from './peer-http.js';
import { PeerRefusal } from './errors.js';

export interface PeerRoute {
  method: 'GET' | 'POST';
  /** exact path, or a prefix when it ends with '/' */
  path: string;
  /** 'member': only admitted members reach the handler; 'public': anyone (read-only answers) */
  access: 'member' | 'public';
  /** how a member route names its sender and whether it is a raft route (default: X-Server-From, no version check) */
  admit?(path: string): AdmitOptions;
  /** headers of every answer once the method matched, refusals included (etcd's stream handler: X-Server-Version) */
  headers?: Record<string, string>;
  /** `from` is the admitted sender (0n on public routes) */
  serve(req: http.IncomingMessage, res: http.ServerResponse, ctx: PeerRequestContext): void | Promise<void>;
}

export interface PeerRequestContext {
  from: bigint;
  /** the request path (no query) */
  path: string;
  /** answers with a refusal or, for any other error, 500 (callbacks of a handler report here) */
  fail(e: unknown): void;
}

export interface PeerHandlerLog {
  warn(m: string, f?: Record<string, unknown>): void;
}

function routeMatches(r: PeerRoute, path: string): boolean {
  return r.path.endsWith('/') ? path.startsWith(r.path) && path.length > r.path.length : path === r.path;
}

export function createPeerHandler(routes: PeerRoute[], dir: PeerDirectory, opts: { closed(): boolean; log?: PeerHandlerLog }): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    // errors on the sockets of a peer request are the connection's business, never the process's
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const path = (req.url ?? '/').split('?')[0];
    let from = 0n;
    const fail = (e: unknown): void => {
      try {
        const refusal = e instanceof PeerRefusal ? e : new PeerRefusal(500, 'error processing raft message');
        const f: Record<string, unknown> = { path, status: refusal.status, 'remote-addr': req.socket.remoteAddress, error: e instanceof Error ? e.message : String(e) };
        if (from !== 0n) f['remote-peer-id'] = from.toString(16);
        opts.log?.warn(refusal.status >= 500 ? 'failed to process peer request' : 'refused peer request', f);
        answerRefusal(req, res, refusal, dir.clusterId);
      } catch {
        req.destroy();
      }
    };
    try {
      if (opts.closed()) throw new PeerRefusal(503, 'member is stopping');
      const onPath = routes.filter((r) => routeMatches(r, path));
      if (onPath.length === 0) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
        res.end('404 page not found\n');
        discardRest(req);
        return;
      }
      const route = onPath.find((r) => r.method === req.method);
      if (route === undefined) {
        res.setHeader('allow', onPath.map((r) => r.method).join(', '));
        throw new PeerRefusal(405, 'Method Not Allowed');
      }
      for (const [k, v] of Object.entries(route.headers ?? {})) res.setHeader(k, v);
      if (route.access === 'member') from = admitPeer(req.headers, dir, route.admit?.(path));
      const out = route.serve(req, res, { from, path, fail });
      if (out instanceof Promise) out.catch(fail);
    } catch (e) {
      fail(e);
    }
  };
}
