// The serving flags: --listen-metrics-urls (plain), --max-concurrent-streams (HTTP/2 SETTINGS of
// the client port, and the JSON gateway: with N watches open the next request waits, as in
// etcd's max-streams e2e tests), --cors and --host-whitelist (etcd's 421 answer).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { startMember } from './server-helpers.js';
import { freePort } from './auth-test-kit.js';
import { waitFor } from '../../../test/kit/wait.js';

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

function request(url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

test('--listen-metrics-urls (http): a separate listener serving /metrics and /health only', async (t) => {
  const port = await freePort();
  await startMember(t, { listenMetricsUrls: [`http://localhost:${port}`] });
  const metrics = await request(`http://127.0.0.1:${port}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /etcd_server_version\{server_version="3\.4\.23"\} 1/);
  const health = await request(`http://127.0.0.1:${port}/health`);
  assert.deepEqual([health.status, health.body], [200, '{"health":"true"}']);
  const post = await request(`http://127.0.0.1:${port}/health`, { method: 'POST' });
  assert.deepEqual([post.status, post.headers.allow, post.body], [405, 'GET', 'Method Not Allowed\n']);
  const other = await request(`http://127.0.0.1:${port}/v3/kv/range`, { method: 'POST', body: '{"key":"Zm9v"}' });
  assert.deepEqual([other.status, other.body], [404, '404 page not found\n']);
});

test('--max-concurrent-streams: advertised in the client port\'s HTTP/2 SETTINGS', async (t) => {
  const m = await startMember(t, { maxConcurrentStreams: 3 });
  const session = http2.connect(m.clientUrls[0]);
  t.after(() => session.close());
  // (an h2c connection first gets an empty SETTINGS frame, then node's own)
  await waitFor('SETTINGS with MAX_CONCURRENT_STREAMS 3', () => session.remoteSettings?.maxConcurrentStreams === 3);
});

test('--max-concurrent-streams on the JSON gateway: with N watches open a range waits until one closes', async (t) => {
  const m = await startMember(t, { maxConcurrentStreams: 3 });
  const ep = m.clientUrls[0];
  const watches: http.ClientRequest[] = [];
  const created: Promise<void>[] = [];
  for (let i = 0; i < 3; i++) {
    created.push(new Promise((resolve, reject) => {
      const req = http.request(`${ep}/v3/watch`, { method: 'POST', agent: false }, (res) => {
        res.once('data', () => resolve());
      });
      req.on('error', () => undefined);
      req.once('error', reject);
      req.end('{"create_request":{"key":"Zm9v","start_revision":"1"}}');
      watches.push(req);
    }));
  }
  t.after(() => {
    for (const w of watches) w.destroy();
  });
  await Promise.all(created);
  let done = false;
  const range = request(`${ep}/v3/kv/range`, { method: 'POST', body: '{"key":"Zm9v"}' }).then((r) => {
    done = true;
    return r;
  });
  // the fourth request holds no stream: it must not be answered while the three watches run.
  // A negative check, so the wait is the behaviour: an answered range returns within a few ms
  // of its request, and nothing signals "still held back" to wait on instead.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(done, false, 'the range was answered while all streams were taken');
  watches[0].destroy();
  const r = await range;
  assert.equal(r.status, 200);
  assert.match(r.body, /"revision":"1"/);
});

test('--cors: "*" by default (any origin, OPTIONS answered 200); a list echoes only listed origins', async (t) => {
  const any = await startMember(t);
  const r1 = await request(`${any.clientUrls[0]}/version`, { headers: { origin: 'http://x.example' } });
  assert.equal(r1.headers['access-control-allow-origin'], '*');
  assert.equal(r1.headers['access-control-allow-methods'], 'POST, GET, OPTIONS, PUT, DELETE');
  assert.equal(r1.headers['access-control-allow-headers'], 'accept, content-type, authorization');
  const pre = await request(`${any.clientUrls[0]}/v3/kv/put`, { method: 'OPTIONS' });
  assert.deepEqual([pre.status, pre.body], [200, '']);

  const listed = await startMember(t, { cors: ['http://a.example:8080'] });
  const ok = await request(`${listed.clientUrls[0]}/version`, { headers: { origin: 'http://a.example:8080' } });
  assert.equal(ok.headers['access-control-allow-origin'], 'http://a.example:8080');
  const no = await request(`${listed.clientUrls[0]}/version`, { headers: { origin: 'http://b.example:8080' } });
  assert.equal(no.headers['access-control-allow-origin'], undefined);
  assert.equal(no.status, 200);
});

test('--host-whitelist: a plaintext request for another Host gets etcd\'s 421 answer', async (t) => {
  const m = await startMember(t, { hostWhitelist: ['allowed.example', '127.0.0.1'] });
  const port = new URL(m.clientUrls[0]).port;
  const bad = await request(`${m.clientUrls[0]}/version`, { headers: { host: `evil.example:${port}` } });
  assert.equal(bad.status, 421);
  assert.equal(bad.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(bad.body, `
etcd received your request, but the Host header was unrecognized.

To fix this, choose one of the following options:
- Enable TLS, then any HTTPS request will be allowed.
- Add the hostname you want to use to the whitelist in settings.
  - e.g. etcd --host-whitelist "evil.example"

This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).

`);
  const good = await request(`${m.clientUrls[0]}/version`, { headers: { host: `allowed.example:${port}` } });
  assert.equal(good.status, 200);
  const byIp = await request(`${m.clientUrls[0]}/health`);
  assert.equal(byIp.status, 200);
});
