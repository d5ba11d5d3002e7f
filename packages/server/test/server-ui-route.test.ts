// The dashboard's route on a member's client port (--enable-ui): the built files by name only,
// with a strict content security policy, and /ui/endpoint reaching only members' client URLs,
// only for the few per-member paths, only as JSON.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMember } from './server-helpers.js';

test('/ui/ serves the built app with its security headers; nothing else by path', async (t) => {
  const m = await startMember(t, { enableUi: true, listenClientUrls: ['http://127.0.0.1:0'] });
  await m.ready;
  const base = m.clientUrls[0];
  const page = await fetch(`${base}/ui/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  assert.match(await page.text(), /<script type="module" src="app.js"><\/script>/);
  const js = await fetch(`${base}/ui/app.js`);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.ok((await js.text()).length > 1000);
  const bare = await fetch(`${base}/ui`, { redirect: 'manual' });
  assert.deepEqual([bare.status, bare.headers.get('location')], [301, '/ui/']);
  for (const p of ['/ui/nope.js', '/ui/..%2f..%2fpackage.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/app.js/']) {
    assert.equal((await fetch(`${base}${p}`)).status, 404, p);
  }
  assert.equal((await fetch(`${base}/ui/`, { method: 'POST' })).status, 405);
});

test('/ui/endpoint: members only, listed paths only, JSON POSTs only', async (t) => {
  const m = await startMember(t, { enableUi: true, listenClientUrls: ['http://127.0.0.1:0'] });
  await m.ready;
  const base = m.clientUrls[0];
  const at = (url: string, path: string, init?: RequestInit) => fetch(`${base}/ui/endpoint?url=${encodeURIComponent(url)}&path=${encodeURIComponent(path)}`, init);
  const json = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' };

  const status = await at(base, 'v3/maintenance/status', json);
  assert.equal(status.status, 200);
  assert.equal(((await status.json()) as { version: string }).version, '3.4.23');
  const health = await at(`${base}/`, 'health');
  assert.deepEqual([health.status, await health.json()], [200, { health: 'true' }]);

  const refused = async (r: Response, code: number, message: RegExp) => {
    assert.equal(r.status, code);
    assert.match(((await r.json()) as { message: string }).message, message);
  };
  await refused(await at('http://127.0.0.1:1', 'health'), 403, /not a client URL of a member/);
  await refused(await at('http://169.254.169.254', 'health'), 403, /not a client URL of a member/);
  await refused(await at(base, 'v3/kv/put', json), 404, /not a member path/);
  await refused(await at(base, '../v3/kv/range', json), 404, /not a member path/);
  await refused(await at(base, 'health', json), 405, /health takes GET/);
  await refused(await at(base, 'v3/maintenance/status', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }), 415, /application\/json/);
  await refused(await at(base, 'v3/maintenance/transfer-leadership', { ...json, body: `{"targetID":"${'1'.repeat(5000)}"}` }), 413, /too large/);
});

test('without --enable-ui the member serves no /ui/', async (t) => {
  const m = await startMember(t, { listenClientUrls: ['http://127.0.0.1:0'] });
  await m.ready;
  for (const p of ['/ui/', '/ui/app.js', '/ui/endpoint?url=x&path=health']) assert.equal((await fetch(`${m.clientUrls[0]}${p}`)).status, 404, p);
});
