// `tsetcd ui --endpoints URL[,URL...]`: the dashboard for any etcd-compatible cluster (real
// etcd 3.4 included). A small HTTP server: /ui/ is the app; /v3/..., /metrics, /health and
// /version go to the first endpoint that answers, so the app talks to the cluster's own JSON
// gateway exactly as it does when a tsetcd member serves it.

import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { forward, readBounded, sendProxyError, type EndpointTls } from './endpoint-proxy.js';
import { createUiRoute, isJsonRequest } from './ui-route.js';
import { readUpTo } from '@tsetcd/common';

/** the largest member-list answer read from an endpoint */
const maxMemberListBytes = 4 << 20;

export interface UiServerOptions {
  endpoints: string[];
  /** host:port to listen on (port 0: any free port) */
  listen: string;
  tls?: EndpointTls;
}

export interface UiServer {
  /** the dashboard's address, http://host:port/ui/ */
  url: string;
  close(): Promise<void>;
}

/** Largest request body passed on to an endpoint (etcd's own limit is 1.5 MiB of protobuf). */
const maxBody = 8 * 1024 * 1024;
const memberListCacheMs = 2000;

const usageText = `Usage:
  tsetcd ui [flags]

Serves the tsetcd dashboard for an etcd-compatible cluster.

Flags:
  --endpoints 'http://127.0.0.1:2379'
      Comma-separated client URLs of the cluster.
  --listen-addr '127.0.0.1:8080'
      host:port the dashboard listens on.
  --cacert ''
      Verify endpoints' certificates using this CA bundle.
  --cert '', --key ''
      Client certificate and key for endpoints that ask for one.
  --insecure-skip-tls-verify
      Do not verify endpoints' certificates.
`;

export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ''));
  if (endpoints.length === 0) throw new Error('no endpoints');
  for (const e of endpoints) {
    const u = new URL(e);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`endpoint ${e}: scheme must be http or https`);
  }
  let preferred = 0;
  let url = '';
  let members: { at: number; urls: Promise<string[]> } | undefined;

  /** Members' client URLs from the first endpoint that lists them (cached briefly). */
  const memberClientUrls = (): Promise<string[]> => {
    if (members === undefined || Date.now() - members.at > memberListCacheMs) {
      members = { at: Date.now(), urls: listMembers(endpoints, opts.tls) };
      members.urls.catch(() => (members = undefined));
    }
    return members.urls;
  };
  const ui = createUiRoute({ memberClientUrls, tls: opts.tls });

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // a page of another site reaching this port through DNS rebinding names another host
    if (!hostAllowed(req.headers.host)) {
      res.statusCode = 421;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`tsetcd ui: unknown Host ${JSON.stringify(req.headers.host ?? '')}; open ${url}\n`);
      return;
    }
    if (path === '/') {
      res.statusCode = 302;
      res.setHeader('Location', '/ui/');
      res.end();
      return;
    }
    if (ui(req, res, path)) return;
    const toCluster = path.startsWith('/v3/') || path.startsWith('/v3beta/') || path === '/metrics' || path === '/health' || path === '/version';
    if (!toCluster) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('404 page not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.statusCode = 405;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('Method Not Allowed\n');
      return;
    }
    void (async () => {
      if (req.method === 'POST' && !isJsonRequest(req)) return sendProxyError(res, 415, 'Content-Type must be application/json');
      const body = req.method === 'POST' ? await readBounded(req, maxBody) : undefined;
      if (req.method === 'POST' && body === undefined) return sendProxyError(res, 413, 'request body too large');
      const auth = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
      const pathAndQuery = (req.url ?? '/').replace(/^\/+/, '');
      // the endpoint that answered last, then the others
      for (let i = 0; i < endpoints.length; i++) {
        const at = (preferred + i) % endpoints.length;
        const ok = await forward(endpoints[at], pathAndQuery, res, { method: req.method as 'GET' | 'POST', body, authorization: auth, tls: opts.tls });
        if (ok) {
          preferred = at;
          return;
        }
        if (res.destroyed) return;
      }
      sendProxyError(res, 502, `no endpoint answered (${endpoints.join(', ')})`);
    })();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const colon = opts.listen.lastIndexOf(':');
  const host = colon > 0 ? opts.listen.slice(0, colon).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const port = Number(colon >= 0 ? opts.listen.slice(colon + 1) : opts.listen);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen-addr ${opts.listen}: not host:port`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  url = `http://${shownHost}:${bound}/ui/`;
  const anyHost = host === '0.0.0.0' || host === '::' || host === '';
  const names = new Set([shownHost, 'localhost', '127.0.0.1', '[::1]'].map((n) => `${n}:${bound}`));
  function hostAllowed(h: string | undefined): boolean {
    return anyHost || (h !== undefined && names.has(h.toLowerCase()));
  }
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function listMembers(endpoints: string[], tls: EndpointTls | undefined): Promise<string[]> {
  let last: unknown;
  for (const e of endpoints) {
    try {
      const r = await fetchJson(`${e}/v3/cluster/member/list`, tls);
      const ms = (r as { members?: Array<{ clientURLs?: string[] }> }).members ?? [];
      return [...endpoints, ...ms.flatMap((m) => m.clientURLs ?? [])];
    } catch (err) {
      last = err;
    }
  }
  throw last instanceof Error ? last : new Error('no endpoint answered');
}

/** POST {} to a gateway URL, the JSON answer (for the member list, which needs no auth). */
function fetchJson(url: string, tls: EndpointTls | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const https = u.protocol === 'https:';
    const body = Buffer.from('{}');
    const req = (https ? httpsRequest : httpRequest)(u, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      timeout: 5000,
      ...(https ? tls : {}),
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer`)));
    req.on('error', reject);
    req.on('response', (res) => {
      void readUpTo(res, maxMemberListBytes).then((r) => {
        if (r.failed) return reject(new Error(`${url}: connection closed before the end of the answer`));
        if (r.total > maxMemberListBytes) return reject(new Error(`${url}: answer larger than ${maxMemberListBytes} bytes`));
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(r.bytes.toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.end(body);
  });
}

function parseUiArgs(argv: string[]): { opts: UiServerOptions; help: boolean } {
  const v: Record<string, string> = { 'endpoints': 'http://127.0.0.1:2379', 'listen-addr': '127.0.0.1:8080' };
  const bools = new Set(['insecure-skip-tls-verify', 'help', 'h']);
  const known = new Set(['endpoints', 'listen-addr', 'cacert', 'cert', 'key', ...bools]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) throw new Error(`unexpected argument ${a}`);
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (!known.has(name)) throw new Error(`flag provided but not defined: -${name}`);
    if (eq >= 0) v[name] = body.slice(eq + 1);
    else if (bools.has(name)) v[name] = 'true';
    else if (i + 1 < argv.length) v[name] = argv[++i];
    else throw new Error(`flag needs an argument: -${name}`);
  }
  const file = (k: string) => (v[k] ? readFileSync(v[k]) : undefined);
  const tls: EndpointTls = { ca: file('cacert'), cert: file('cert'), key: file('key'), rejectUnauthorized: v['insecure-skip-tls-verify'] !== 'true' };
  return {
    help: v.help === 'true' || v.h === 'true',
    opts: { endpoints: v.endpoints.split(',').map((s) => s.trim()).filter((s) => s !== ''), listen: v['listen-addr'], tls },
  };
}

/** `tsetcd ui ...`: serves until SIGINT/SIGTERM. */
export async function runUiCommand(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseUiArgs(argv);
  } catch (e) {
    process.stderr.write(`tsetcd ui: ${(e as Error).message}\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(usageText);
    return;
  }
  let ui: UiServer;
  try {
    ui = await startUiServer(parsed.opts);
  } catch (e) {
    process.stderr.write(`tsetcd ui: ${(e as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`tsetcd ui: open ${ui.url} (cluster: ${parsed.opts.endpoints.join(',')})\n`);
  const stop = () => void ui.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
