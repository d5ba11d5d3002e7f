// The v2 API on the client port (etcd 3.4 with --enable-v2, v2http's handleV2): /v2/keys,
// /v2/auth, /v2/stats, /v2/machines. /v2/members stays with api/http-handler.ts (served with
// or without --enable-v2). Paths are matched as Go's ServeMux matches them: unescaped, and a
// path that is not clean is redirected (301) to its cleaned form.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { KeysHandler, keysPrefix, type KeyAccess } from './keys.js';
import { muxCleanPath, parseTarget } from './form.js';
import { httpError } from './http-util.js';
import type { V2Member } from './v2-member.js';
import { StatsHandler } from './stats.js';
import { AuthHandler } from './auth-routes.js';
import { V2AuthStore } from './auth-store.js';
import { MembersHandler, type MemberChanges } from './members.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

export interface V2Handler {
  /** Serves the request when it is a v2 route; false otherwise. */
  (req: Req, res: Res): boolean;
  closeStreams(): void;
}

export interface V2HandlerOptions {
  /** --client-cert-auth: a verified client certificate's CN names the v2 user */
  clientCertAuth: boolean;
  /** membership changes for POST/PUT/DELETE /v2/members (none: a member without peers) */
  members?: MemberChanges;
}

function owned(p: string): boolean {
  return p === keysPrefix || p.startsWith(keysPrefix + '/') || p === '/v2/members' || p.startsWith('/v2/members/') || p === '/v2/machines' || p.startsWith('/v2/stats/') || p === '/v2/auth' || p.startsWith('/v2/auth/');
}

export function createV2Handler(m: V2Member, o: V2HandlerOptions): V2Handler {
  const auth = new V2AuthStore(m);
  const authHandler = new AuthHandler(m, auth, o.clientCertAuth);
  const access: KeyAccess = { hasKeyPrefixAccess: (req, key, recursive) => authHandler.hasKeyPrefixAccess(req, key, recursive) };
  const keys = new KeysHandler(m, access);
  const stats = new StatsHandler(m);
  const members = new MembersHandler(m, o.members, (req) => authHandler.hasWriteRootAccess(req));
  const handler = ((req: Req, res: Res): boolean => {
    const url = req.url ?? '/';
    if (!url.startsWith('/v2') && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url)) return false;
    const t = parseTarget(url);
    if (t === undefined) {
      if (!url.startsWith('/v2/')) return false;
      httpError(res, 400, 'Bad Request');
      return true;
    }
    const clean = muxCleanPath(t.path);
    if (!owned(t.path) && !owned(clean)) return false;
    if (clean !== t.path) {
      // Go's ServeMux: a redirect to the clean path, the query kept
      const loc = encodeURI(clean) + (t.rawQuery === '' ? '' : '?' + t.rawQuery);
      res.statusCode = 301;
      res.setHeader('Location', loc);
      if (req.method === 'GET' || req.method === 'HEAD') {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(`<a href="${loc.replace(/&/g, '&amp;').replace(/"/g, '&#34;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}">Moved Permanently</a>.\n\n`);
      } else {
        res.end();
      }
      return true;
    }
    const p = t.path;
    const failed = (e: unknown): void => {
      m.log.warn('v2 request failed', { path: p, error: String((e as Error)?.message ?? e) });
      if (!res.headersSent) httpError(res, 500, 'Internal Server Error');
      else res.end();
    };
    if (p === keysPrefix || p.startsWith(keysPrefix + '/')) {
      keys.serve(req, res, p, t.rawQuery).catch(failed);
    } else if (p === '/v2/members' || p.startsWith('/v2/members/')) {
      members.serve(req, res, p).catch(failed);
    } else if (p.startsWith('/v2/stats/') || p === '/v2/machines') {
      stats.serve(req, res, p);
    } else {
      authHandler.serve(req, res, p).catch(failed);
    }
    return true;
  }) as V2Handler;
  handler.closeStreams = () => keys.closeWatches();
  return handler;
}
