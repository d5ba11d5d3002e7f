// HTTP/1.1 (and non-gRPC HTTP/2) on the client port: the JSON gateway (/v3/...), /health, /version, /metrics, /v2/members (and /ui/ with --enable-ui).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Registry } from 'prom-client';
import type { ServerView } from '../etcdserver/server-view.js';
import { clusterVersion, serverVersion } from '../etcdserver/config.js';
import { idToHex } from '@tsetcd/common';
import { createJsonGateway, type JsonGatewayOptions } from './json-gateway.js';
import { GatewayStreamLimit } from './gateway-stream-limit.js';
import type { UiRoute } from '../ui/ui-route.js';
import type { V2Handler } from '../v2http/v2-handler.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

function json(res: Res, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(text);
}

/**
 * etcd's /health answer: healthy is the JSON written plain (Go sniffs text/plain), unhealthy goes
 * through http.Error (503, nosniff, a trailing newline).
 */
function health(res: Res, healthy: boolean): void {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  if (healthy) {
    res.statusCode = 200;
    res.end('{"health":"true"}');
    return;
  }
  res.statusCode = 503;
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end('{"health":"false"}\n');
}

export interface HttpHandler {
  (req: Req, res: Res): void;
  /** The member is shutting down: end the JSON gateway's open streams. */
  closeStreams(): void;
}

/** `gatewayStreams`: etcd --max-concurrent-streams as it limits the JSON gateway (0: no limit). */
/** `v2`: the v2 API (--enable-v2); without it /v2/keys, /v2/auth, /v2/stats, /v2/machines answer 404 as etcd 3.4's do. */
export function createHttpHandler(s: ServerView, metrics: Registry, gatewayOptions: JsonGatewayOptions, gatewayStreams = 0, ui?: UiRoute, v2?: V2Handler): HttpHandler {
  const gateway = createJsonGateway(s, gatewayOptions);
  const limit = gatewayStreams > 0 ? new GatewayStreamLimit(gatewayStreams) : undefined;
  const handler = ((req: Req, res: Res) => {
    if (v2?.(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const served = gatewayOptions.disabled !== true;
    if (served && limit !== undefined && /^\/v3(beta)?(\/|$)/.test(path)) {
      limit.run(req, res, () => void gateway(req, res, path));
      return;
    }
    if (served && gateway(req, res, path)) return;
    if (ui?.(req, res, path)) return;
    if (path === '/health') {
      if (req.method !== 'GET') {
        // etcd's health handler answers only GET
        res.statusCode = 405;
        res.setHeader('Allow', 'GET');
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.end('Method Not Allowed\n');
        return;
      }
      const healthy = s.leader() !== 0n && !s.isStopped() && s.alarmList().length === 0;
      if (!healthy) {
        health(res, false);
        return;
      }
      // like etcd 3.4, the health check goes through a linearizable read path
      s.linearizableReadNotify().then(
        () => health(res, true),
        () => health(res, false),
      );
      return;
    }
    if (path === '/version') {
      json(res, 200, { etcdserver: serverVersion, etcdcluster: s.cluster.version ?? clusterVersion });
      return;
    }
    if (path === '/metrics') {
      metrics.metrics().then(
        (text) => {
          res.statusCode = 200;
          res.setHeader('Content-Type', metrics.contentType);
          res.end(text);
        },
        (e) => json(res, 500, { message: String(e) }),
      );
      return;
    }
    if (path === '/v2/members' || path === '/v2/members/') {
      const members = s.cluster.members().map((m) => ({ id: idToHex(m.id), name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls }));
      json(res, 200, { members });
      return;
    }
    if (path === '/v2/members/leader') {
      const m = s.cluster.member(s.leader());
      if (m === undefined) {
        json(res, 503, { message: 'During election' });
        return;
      }
      json(res, 200, { id: idToHex(m.id), name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls });
      return;
    }
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('404 page not found\n');
  }) as HttpHandler;
  handler.closeStreams = () => {
    gateway.closeStreams();
    v2?.closeStreams();
  };
  return handler;
}
