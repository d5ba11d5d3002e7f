// Bootstrapping through etcd's v2 discovery protocol (--discovery <url>), as etcd 3.4 does it
// against a v2 keys API (e.g. a real etcd started with --enable-v2):
//   1. GET  <url>/_config/size                 → how many members to wait for
//   2. GET  <url>                              → refuse if already registered or full
//   3. PUT  <url>/<member ID hex>?prevExist=false value="name=peerURL,..."
//   4. poll <url>?recursive=true until `size` members registered; the first `size` by creation
//      index form the initial cluster ("name=url,..."), with the discovery URL as cluster token.

import * as http from 'node:http';
import * as https from 'node:https';
import { readUpTo } from '@tsetcd/common';
import { BootstrapError } from './errors.js';

/** Pause between polls while waiting for the other members to register. */
export const discoveryPollMs = 200;
/** Per-request budget of a discovery call. */
export const discoveryRequestTimeoutMs = 5000;
/** the largest answer read from a discovery service */
const maxDiscoveryAnswerBytes = 1 << 20;

interface V2Node {
  key: string;
  value?: string;
  dir?: boolean;
  nodes?: V2Node[];
  createdIndex?: number;
}

/**
 * etcd --discovery-proxy (newProxyFunc): an HTTP proxy for the discovery traffic; an address
 * without an http(s) scheme is read as http://<address>.
 */
export function parseDiscoveryProxy(proxy: string): URL | undefined {
  if (proxy === '') return undefined;
  try {
    const u = new URL(proxy);
    if (u.protocol.startsWith('http')) return u;
  } catch {
    // tried with http:// below
  }
  try {
    return new URL(`http://${proxy}`);
  } catch {
    throw new BootstrapError(`invalid proxy address "${proxy}"`);
  }
}

/** A socket to `url`'s host through the proxy (HTTP CONNECT), for https discovery URLs. */
function connectThrough(proxy: URL, url: URL): Promise<import('node:net').Socket> {
  const target = `${url.hostname}:${url.port || 443}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: target, headers: { host: target }, timeout: discoveryRequestTimeoutMs });
    req.on('connect', (res, socket) => (res.statusCode === 200 ? resolve(socket) : reject(new BootstrapError(`discovery: proxy CONNECT ${target} answered HTTP ${res.statusCode}`))));
    req.on('timeout', () => req.destroy(new Error(`discovery: proxy ${proxy.host} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function call(method: string, url: URL, body?: string, proxy?: URL): Promise<{ status: number; json: { node?: V2Node; errorCode?: number; message?: string } }> {
  const mod = url.protocol === 'https:' ? https : http;
  const tunnel = proxy !== undefined && url.protocol === 'https:' ? await connectThrough(proxy, url) : undefined;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    // a plain-http URL goes to the proxy as an absolute URI; https through a CONNECT tunnel
    const opts: https.RequestOptions = proxy !== undefined && tunnel === undefined
      ? { host: proxy.hostname, port: proxy.port || 80, path: url.href, method, timeout: discoveryRequestTimeoutMs, headers: { ...headers, host: url.host } }
      : { method, timeout: discoveryRequestTimeoutMs, headers, ...(tunnel ? { createConnection: () => tunnel } : {}) };
    const req = proxy !== undefined && tunnel === undefined ? http.request(opts, onResponse) : mod.request(url, opts, onResponse);
    function onResponse(res: http.IncomingMessage): void {
      void readUpTo(res, maxDiscoveryAnswerBytes).then((r) => {
        const text = r.bytes.toString('utf8');
        try {
          if (r.failed || r.total > maxDiscoveryAnswerBytes) throw new Error('unreadable answer');
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} });
        } catch {
          reject(new BootstrapError(`discovery: bad answer from ${url.origin} (HTTP ${res.statusCode})`));
        }
      });
    }
    req.on('timeout', () => req.destroy(new Error(`discovery: ${url.origin} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

function sub(durl: string, path: string, query = ''): URL {
  const u = new URL(durl.replace(/\/$/, '') + path);
  if (query) u.search = query;
  return u;
}

async function members(durl: string, proxy?: URL): Promise<V2Node[]> {
  const r = await call('GET', sub(durl, '', 'recursive=true'), undefined, proxy);
  if (r.status === 404) return [];
  if (r.status !== 200) throw new BootstrapError(`discovery: GET ${durl} answered HTTP ${r.status}`);
  return (r.json.node?.nodes ?? []).filter((n) => !n.key.endsWith('/_config') && !n.dir);
}

/** Registers this member and resolves with the initial cluster ("name=url,...") once complete. */
export async function joinDiscovery(durl: string, memberIdHex: string, selfConfig: string, stopped: () => boolean = () => false, proxy?: URL): Promise<string> {
  const sz = await call('GET', sub(durl, '/_config/size'), undefined, proxy);
  if (sz.status === 404) throw new BootstrapError('discovery: size key not found');
  const size = Number(sz.json.node?.value);
  if (!Number.isInteger(size) || size <= 0) throw new BootstrapError(`discovery: bad cluster size "${sz.json.node?.value}"`);
  const before = await members(durl, proxy);
  if (before.some((n) => n.key.endsWith(`/${memberIdHex}`))) throw new BootstrapError('discovery: found duplicate id');
  if (before.length >= size) throw new BootstrapError('discovery: cluster is full');
  const put = await call('PUT', sub(durl, `/${memberIdHex}`, 'prevExist=false'), `value=${encodeURIComponent(selfConfig)}`, proxy);
  if (put.status !== 201 && put.status !== 200) throw new BootstrapError(`discovery: registering ${memberIdHex} failed (HTTP ${put.status}: ${put.json.message ?? ''})`);
  for (;;) {
    if (stopped()) throw new BootstrapError('discovery: stopped');
    const all = await members(durl, proxy);
    if (all.length >= size) {
      const first = [...all].sort((a, b) => (a.createdIndex ?? 0) - (b.createdIndex ?? 0)).slice(0, size);
      if (!first.some((n) => n.key.endsWith(`/${memberIdHex}`))) throw new BootstrapError('discovery: cluster is full');
      return first.map((n) => n.value ?? '').join(',');
    }
    await new Promise((r) => setTimeout(r, discoveryPollMs));
  }
}
