// etcd's accessController in front of the client port's HTTP handlers:
//   - --host-whitelist: a plaintext request whose Host is not listed is refused with 421 and
//     etcd's DNS-rebinding (CVE-2018-5702) explanation; TLS requests are not checked;
//   - --cors: with "*" (the default) every response allows any origin; otherwise an Origin
//     that is listed is echoed back; OPTIONS (a preflight) is answered 200 with no body.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { ServerLogger } from '../etcdserver/config.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;
type Handler = (req: Req, res: Res) => void;

export interface AccessOptions {
  /** origins (etcd --cors); "*" or empty allows all */
  cors?: string[];
  /** hosts (etcd --host-whitelist); "*" or empty allows all */
  hostWhitelist?: string[];
  log?: ServerLogger;
}

function allowsAll(list: string[] | undefined): boolean {
  return list === undefined || list.length === 0 || list.includes('*');
}

/** Go's httputil.GetHostname: the Host without its port (as it is when there is no port). */
export function hostnameOf(host: string): string {
  const m = /^\[([^\]]*)\]:[^:]*$/.exec(host) ?? /^([^:[\]]*):[^:]*$/.exec(host);
  return m === null ? host : m[1];
}

function rebindingMessage(host: string): string {
  return `
etcd received your request, but the Host header was unrecognized.

To fix this, choose one of the following options:
- Enable TLS, then any HTTPS request will be allowed.
- Add the hostname you want to use to the whitelist in settings.
  - e.g. etcd --host-whitelist ${JSON.stringify(host)}

This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).
`;
}

export function withAccessControl(next: Handler, o: AccessOptions): Handler {
  const anyHost = allowsAll(o.hostWhitelist);
  const hosts = new Set(o.hostWhitelist ?? []);
  const anyOrigin = allowsAll(o.cors);
  const origins = new Set(o.cors ?? []);
  return (req, res) => {
    const secure = (req.socket as { encrypted?: boolean } | null)?.encrypted === true;
    if (!secure && !anyHost) {
      const raw = req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '';
      const host = hostnameOf(raw);
      if (!hosts.has(host)) {
        o.log?.warn('rejecting HTTP request to prevent DNS rebinding attacks', { host });
        res.statusCode = 421;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.end(rebindingMessage(host) + '\n');
        return;
      }
    }
    const origin = anyOrigin ? '*' : req.headers.origin;
    if (origin !== undefined && (anyOrigin || origins.has(origin))) {
      res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS, PUT, DELETE');
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Headers', 'accept, content-type, authorization');
    }
    if (req.method === 'OPTIONS') {
      res.statusCode = 200;
      res.end();
      return;
    }
    next(req, res);
  };
}
