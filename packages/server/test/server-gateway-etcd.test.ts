// The JSON gateway side by side with real etcd 3.4.23: bodies etcd refuses (bad base64, bad
// JSON, wrong types, unknown enum names, oversize messages) get etcd's status and body; the
// routes etcd serves (v3beta alias, election, lock, lease grant with an ID, unknown paths)
// answer the same; streams end with etcd's last line when the member stops; a client
// certificate's CN is refused on the gateway with --client-cert-auth and auth on; a lease's
// keys are listed only to who may read them (CVE-2023-32082); the permission gate is closed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { etcdserverpb } from '@tsetcd/proto';
import { startMember, startCertAuthMember, b } from './server-helpers.js';
import { startRealEtcd, connectAuth, setupAuth, login, callAs, rejectsWith, run } from './auth-test-kit.js';
import { GrpcServer } from '../src/grpc/index.js';
import { permissionInterceptor } from '../src/api/permission-interceptor.js';
import { permissionGate } from '../src/api/grpc-services.js';
import { serverView } from '../src/etcdserver/server-view.js';
import { eventually } from '../../../test/kit/wait.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

async function ask(base: string, path: string, body: string, method = 'POST'): Promise<Answer> {
  const r = await fetch(base + path, { method, body: method === 'GET' || method === 'HEAD' ? undefined : body, redirect: 'manual' });
  const text = await r.text();
  // what legitimately differs: the header (cluster and member IDs, revisions, terms)
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', body: text.replace(/"header":\{[^}]*\},?/, '') };
}

/** Bodies etcd's gateway refuses, each with a different reason (status and body compared whole). */
const refused: Array<[string, string]> = [
  ['/v3/kv/put', '{"key":"my-config","value":"hello world"}'],
  ['/v3/kv/put', 'null'],
  ['/v3/kv/put', '{"key":5}'],
  ['/v3/kv/put', '{"key":"Zm9v","lease":"abc"}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":"BLAH"}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":"2"}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":"B\\"L"}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":"é"}'],
  ['/v3/maintenance/alarm', '{"alarm":"X"}'],
  ['/v3/auth/role/grant', '{"perm":{"permType":"X"}}'],
  ['/v3/auth/role/grant', '{"perm":{"permType":2.5}}'],
  ['/v3/auth/role/grant', '{"perm":{"permType":true}}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"1e3"}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":1.5}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"01"}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":""}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"-"}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":99999999999999999999}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":true}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":[1]}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":{}}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"\\"1\\""}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"1\\u0032"}'],
  ['/v3/kv/range', '{"key":"Zm9v","serializable":"true"}'],
  ['/v3/kv/range', '{"key":"Zm9v","serializable":1}'],
  ['/v3/kv/range', '{"key":[256]}'],
  ['/v3/kv/range', '{"key":["a"]}'],
  ['/v3/kv/range', '{"key":[null,1.5]}'],
  ['/v3/kv/range', '{"key":{}}'],
  ['/v3/kv/range', '{"key":"Zm8"}'],
  ['/v3/kv/range', '{"key":"Zm9=Zm9v"}'],
  ['/v3/kv/range', '{"key":"Zm\\\\n9v"}'],
  ['/v3/kv/range', '{"key":"Z==="}'],
  ['/v3/kv/range', '{"key":"Zg=x"}'],
  ['/v3/kv/range', '{"key":"Zm9vYg="}'],
  ['/v3/kv/range', '{"key":"Zm9-"}'],
  ['/v3/kv/range', '{"key":"=Zm9"}'],
  ['/v3/cluster/member/remove', '{"ID":-1}'],
  ['/v3/cluster/member/remove', '{"ID":"-1"}'],
  ['/v3/auth/user/add', '{"name":5}'],
  ['/v3/kv/txn', '{"compare":{}}'],
  ['/v3/kv/txn', '{"compare":[5]}'],
  // oneofs: the oneof's own name fits nothing but null; members come after the other fields
  // etcd's e2e TestV3CurlTxn: an op without a request ("was crashing etcd server")
  ['/v3/kv/txn', '{"compare":[{"result":0,"target":1,"key":"Zm9v","TargetUnion":null}],"success":[{"Request":{"RequestPut":{"key":"Zm9v","value":"YmFy"}}}]}'],
  ['/v3/kv/txn', '{"compare":[{"target_union":5}]}'],
  ['/v3/kv/txn', '{"success":[{"request":{}}]}'],
  ['/v3/kv/txn', '{"compare":[{"version":"x","key":5}]}'],
  ['/v3/kv/txn', '{"compare":[{"version":"x","result":"X"}]}'],
  ['/v3/watch', '{"request_union":{}}'],
  // an enum name is looked at before the field's shape
  ['/v3/watch', '{"create_request":{"key":"YQ==","filters":"NOPUT"}}'],
  ['/v3/watch', '{"create_request":{"key":"YQ==","filters":"X"}}'],
  ['/v3/watch', '{"create_request":{"key":"YQ==","filters":["X"]}}'],
  ['/v3/kv/range', '5'],
  ['/v3/kv/range', '"x"'],
  ['/v3/kv/range', 'true'],
  ['/v3/kv/range', '-'],
  ['/v3/kv/range', '{"key":"Zm9v"'],
  ['/v3/kv/range', '{"key":"Zm9v",}'],
  ['/v3/kv/range', '{"key" "Zm9v"}'],
  ['/v3/kv/range', '{key:1}'],
  ['/v3/kv/range', '{"key":"\\q"}'],
  ['/v3/kv/range', '{"key":"\\u00"}'],
  ['/v3/kv/range', '{"key":"\u0001"}'],
  ['/v3/kv/range', '{"key":tru}'],
  ['/v3/kv/range', '{"key":-x}'],
  ['/v3/kv/range', '{"key":1.x}'],
  ['/v3/kv/range', '{"key":1ex}'],
  ['/v3/kv/range', '[1,]'],
  ['/v3/kv/range', '{"a":[1 2]}'],
  ["/v3/kv/range", "{\"a\":'x'}"],
  ['/v3/kv/range', '  '],
  ['/v3/kv/range', '{"range_end":"Zm9v","rangeEnd":"AA=="}'],
  ['/v3/watch', 'nope'],
  ['/v3/watch', '{"create_request":{"key":5}}'],
  ['/v3/watch', '[]'],
  ['/v3/lease/keepalive', '{"ID":"x"}'],
  ['/v3/election/proclaim', '{}'],
  ['/v3/election/resign', '{}'],
  ['/v3/election/leader', '{"name":"eA=="}'],
  // routes and methods
  ['/v3/nope', '{}'],
  ['/v3/kv/range/', '{}'],
  ['/v3/', '{}'],
  ['/v3', '{}'],
  ['/v3beta/kv/range', '{"key":"bm9wZQ=="}'],
  ['/v3beta/nope', '{}'],
];

/** Bodies etcd accepts, answered alike (headers aside): oddities of Go's readers included. */
const accepted: Array<[string, string]> = [
  ['/v3/kv/put', '{"key":"Zm9v","value":"YmFy"}'],
  ['/v3/kv/range', '{"key":"Zm9v"} trailing garbage is never read'],
  ['/v3/kv/range', '{"key":"Zm9v"}}'],
  ['/v3/kv/range', '{"key":"Zm\\n9v"}'],
  ['/v3/kv/range', '{"key":"Zm9v\\r\\n"}'],
  ['/v3/kv/range', '{"key":[102,111,111]}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":" 1 "}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":99}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":null,"unknown":{"x":[1,2,{}]}}'],
  ['/v3/kv/range', '{"key":"YmFy","key":"Zm9v"}'],
  ['/v3/kv/range', '{"rangeEnd":"AA==","range_end":"Zm9v","key":"Zm9v","keysOnly":true}'],
  ['/v3/kv/txn', '{"compare":[{"key":"YQ==","version":null,"target":"VERSION"}]}'],
  ['/v3/kv/txn', '{"compare":[{"key":"Zm9v","target":"VALUE","result":"EQUAL","value":"YmFy"}],"success":[{"requestRange":{"key":"Zm9v"}}]}'],
  ['/v3/lease/grant', '{"TTL":60,"ID":"123"}'],
  ['/v3/lease/timetolive', '{"ID":"123","keys":true}'],
  ['/v3/kv/lease/timetolive', '{"ID":123}'],
  ['/v3/lease/keepalive', '{"ID":"123"}'],
  ['/v3/lease/keepalive', ''],
  ['/v3/lease/revoke', '{"ID":"123"}'],
  ['/v3/kv/lease/leases', '{}'],
  ['/v3/cluster/member/promote', '{"ID":"1"}'],
  ['/v3/maintenance/transfer-leadership', '{"targetID":"1"}'],
  ['/v3/lock/unlock', '{"key":"bm9uZQ=="}'],
  ['/v3/election/resign', '{"leader":{"name":"ZQ==","key":"ZS8x","rev":"1","lease":"5"}}'],
  ['/v3/election/proclaim', '{"leader":{"name":"ZQ==","key":"ZS8x","rev":"1","lease":"5"},"value":"eA=="}'],
  ['/v3/auth/authenticate', '{"name":"x","password":"y"}'],
  ['/v3/auth/user/get', '{"name":"nobody"}'],
  ['/v3/auth/role/get', '{"role":"nobody"}'],
  ['/v3/auth/disable', '{}'],
];

test('JSON gateway answers bad bodies, odd bodies and unknown paths as etcd 3.4.23 does', async (t) => {
  const [m, real] = await Promise.all([startMember(t), startRealEtcd(t)]);
  const bases = { ours: m.clientUrls[0], etcd: `http://${real}` };
  for (const [path, body] of [...refused, ...accepted]) {
    const [ours, etcd] = await Promise.all([ask(bases.ours, path, body), ask(bases.etcd, path, body)]);
    // election/lock errors: etcd's v3lock/v3election answer Unknown; compare the text
    if (path.startsWith('/v3/lock/') || path.startsWith('/v3/election/')) {
      assert.equal(JSON.parse(ours.body).message ?? ours.body, JSON.parse(etcd.body).message ?? etcd.body, `${path} ${body}`);
      continue;
    }
    assert.deepEqual(ours, etcd, `${path} ${body}`);
  }
  // methods other than POST: 405 on a route, 404 elsewhere
  for (const [method, path] of [['GET', '/v3/kv/range'], ['PUT', '/v3/kv/range'], ['DELETE', '/v3/watch'], ['GET', '/v3/nope']]) {
    const [ours, etcd] = await Promise.all([ask(bases.ours, path, '{}', method), ask(bases.etcd, path, '{}', method)]);
    assert.deepEqual(ours, etcd, `${method} ${path}`);
  }
});

test('JSON gateway: a message over the gRPC limit is refused as etcd refuses it (429), a huge body gets an answer', async (t) => {
  const [m, real] = await Promise.all([startMember(t), startRealEtcd(t)]);
  const big = JSON.stringify({ key: b64('k'), value: Buffer.alloc(2 * 1024 * 1024, 'x').toString('base64') });
  const [ours, etcd] = await Promise.all([ask(m.clientUrls[0], '/v3/kv/put', big), ask(`http://${real}`, '/v3/kv/put', big)]);
  assert.deepEqual(ours, etcd);
  assert.equal(ours.status, 429);
  // a body past what the gateway reads at all: still an answer, and the member serves on
  const huge = `{"key":"${b64('k')}","value":"${'A'.repeat(12 * 1024 * 1024)}"}`;
  const r = await ask(m.clientUrls[0], '/v3/kv/put', huge);
  assert.equal(r.status, 429);
  assert.match(JSON.parse(r.body).message, /^grpc: received message larger than max \(\d+ vs\. 2097152\)$/);
  const ok = await ask(m.clientUrls[0], '/v3/kv/range', JSON.stringify({ key: b64('k') }));
  assert.equal(ok.status, 200);
});

/** Raw HTTP/1.1 so the chunked framing itself is checked. Resolves with everything received. */
function rawStream(url: string, path: string, body: string, onData: (all: string) => void, holdBodyOpen = false): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = netConnect(Number(u.port), u.hostname);
    let all = '';
    sock.on('data', (d) => {
      all += d.toString('latin1');
      onData(all);
    });
    sock.on('error', reject);
    sock.on('close', () => resolve(all));
    const head = `POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\n`;
    if (holdBodyOpen) {
      // a chunked request body that stays open: the stream runs while the client may send more
      sock.write(`${head}Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n`);
    } else {
      sock.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
  });
}

test('JSON gateway streams end with etcd\'s "transport is closing" line and the chunked terminator when the member stops', async (t) => {
  const m = await startMember(t);
  const created = { watch: signal(), keepalive: signal() };
  const grant = await ask(m.clientUrls[0], '/v3/lease/grant', '{"TTL":60,"ID":"7"}');
  assert.equal(grant.status, 200);
  const watch = rawStream(m.clientUrls[0], '/v3/watch', JSON.stringify({ create_request: { key: 'L3NlcnZpY2Uv', range_end: 'L3NlcnZpY2Uw' } }), (all) => {
    if (all.includes('"created":true')) created.watch.resolve();
  });
  const keepalive = rawStream(m.clientUrls[0], '/v3/lease/keepalive', '{"ID":"7"}', (all) => {
    if (all.includes('"TTL":"60"')) created.keepalive.resolve();
  }, true);
  await Promise.all([created.watch.promise, created.keepalive.promise]);
  await m.close();
  const last = '6f\r\n{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}\r\n0\r\n\r\n';
  for (const got of [await watch, await keepalive]) {
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(got.endsWith(last), JSON.stringify(got.slice(-200)));
  }
});

test('JSON gateway: watch requests sent on an open body start watches as they arrive; keep-alive answers each', async (t) => {
  const m = await startMember(t);
  await ask(m.clientUrls[0], '/v3/lease/grant', '{"TTL":30,"ID":"9"}');
  const u = new URL(m.clientUrls[0]);
  const lines: string[] = [];
  const got = signal();
  const sock = netConnect(Number(u.port), u.hostname);
  t.after(() => sock.destroy());
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString();
    for (const l of buf.split('\r\n')) if (l.startsWith('{')) lines.push(l);
    buf = '';
    if (lines.length >= 2) got.resolve();
  });
  const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
  sock.write(`POST /v3/lease/keepalive HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('{"ID":"9"}')}`);
  // the second request is split across chunks
  sock.write(chunk('{"ID":'));
  sock.write(chunk('"9"}'));
  await got.promise;
  assert.deepEqual(lines.map((l) => JSON.parse(l).result.ID), ['9', '9']);
  // a request that cannot be read ends the reading: the keep-alive stream ends, cleanly
  const ended = signal();
  let tail = '';
  sock.on('data', (d) => {
    tail += d.toString();
    if (tail.endsWith('0\r\n\r\n')) ended.resolve();
  });
  sock.write(chunk('nope'));
  await ended.promise;
});

test('JSON gateway with --client-cert-auth and auth on: a client certificate with a CommonName is refused', async (t) => {
  const { m, pki, etcdctlTls: tls } = await startCertAuthMember(t);
  const post = (path: string, body: unknown) =>
    new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = httpsRequest(m.clientUrls[0] + path, { method: 'POST', ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: text }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  // auth off: the certificate is just TLS
  assert.equal((await post('/v3/kv/put', { key: b64('k'), value: b64('v') })).status, 200);
  for (const args of [['user', 'add', 'root:pw'], ['user', 'grant-role', 'root', 'root'], ['auth', 'enable']]) {
    const r = await run('etcdctl', [...tls, ...args]);
    assert.equal(r.code, 0, r.stderr);
  }
  // auth on: the gateway refuses to act as the certificate's CN ("root"); gRPC still accepts it
  const refusedPut = await post('/v3/kv/put', { key: b64('k'), value: b64('w') });
  assert.deepEqual(refusedPut, { status: 400, type: 'text/plain; charset=utf-8', body: 'CommonName of client sending a request against gateway will be ignored and not used as expected\n' });
  const get = await run('etcdctl', [...tls, 'get', 'k', '--print-value-only']);
  assert.equal(get.stdout, 'v\n');
  // other client-port paths are not the gateway's (no 400: the health handler's own 405 for a POST, as etcd's)
  assert.equal((await post('/health', {})).status, 405);
});

test('LeaseTimeToLive with keys lists them only to a user who may read them (CVE-2023-32082, etcd 3.4.26)', async (t) => {
  const m = await startMember(t, { bcryptCost: 4 });
  const c = connectAuth(t, m.clientUrls[0]);
  await setupAuth(c); // root:pw, role ro = READ /app/, alice:apw with ro
  const root = await login(c, 'root', 'pw');
  const alice = await login(c, 'alice', 'apw');
  const lease = etcdserverpb.LeaseGrantRequest.fromPartial({ ID: 77n, TTL: 60n });
  await callAs(c.lease.leaseGrant.bind(c.lease), lease, root);
  await callAs(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b('/app/a'), value: b('1'), lease: 77n }), root);
  const ttl = (keys: boolean, token?: string) => callAs(c.lease.leaseTimeToLive.bind(c.lease), etcdserverpb.LeaseTimeToLiveRequest.fromPartial({ ID: 77n, keys }), token);
  // alice may read every key of the lease
  assert.deepEqual((await ttl(true, alice)).keys.map((k) => k.toString()), ['/app/a']);
  await callAs(c.kv.put.bind(c.kv), etcdserverpb.PutRequest.fromPartial({ key: b('/secret'), value: b('s'), lease: 77n }), root);
  // now one key is not hers: refused, with keys; the TTL alone is still hers to see
  await rejectsWith(ttl(true, alice), 7, 'etcdserver: permission denied');
  assert.equal((await ttl(false, alice)).grantedTTL, 60n);
  assert.deepEqual((await ttl(true, root)).keys.map((k) => k.toString()).sort(), ['/app/a', '/secret']);
  // anonymous: "user name is empty" with keys
  await rejectsWith(ttl(true), 3, 'etcdserver: user name is empty');
  // the gateway takes the same path
  const gw = await fetch(`${m.clientUrls[0]}/v3/lease/timetolive`, { method: 'POST', headers: { authorization: alice }, body: '{"ID":"77","keys":true}' });
  assert.deepEqual([gw.status, await gw.json()], [403, { error: 'etcdserver: permission denied', message: 'etcdserver: permission denied', code: 7 }]);
});

test('the permission gate is closed by default: a gRPC method without a declared rule cannot be registered', async (t) => {
  const m = await startMember(t);
  const g = new GrpcServer({ interceptor: permissionInterceptor(permissionGate(serverView(m.server)), () => m.server.header()) });
  const noop = () => ({});
  assert.throws(() => g.addUnary('/etcdserverpb.KV/Undeclared', (x) => x, () => new Uint8Array(), noop), /has no permission rule/);
  assert.throws(() => g.addServerStream('/etcdserverpb.Maintenance/Undeclared', (x) => x, () => new Uint8Array(), noop), /has no permission rule/);
  assert.throws(() => g.addBidi('/etcdserverpb.Lease/Undeclared', (x) => x, () => new Uint8Array(), noop), /has no permission rule/);
  // a bidi stream other than Watch cannot carry per-request key checks: it must be declared open
  assert.throws(() => g.addBidi('/etcdserverpb.KV/Put', (x) => x, () => new Uint8Array(), noop), /bidi streams can only be open/);
});

test('JSON gateway: Grpc-Timeout bounds the call as in etcd (a waiting lock gives up and leaves no key; a watch ends)', async (t) => {
  const [m, real] = await Promise.all([startMember(t), startRealEtcd(t)]);
  const bases = [m.clientUrls[0], `http://${real}`];
  const post = async (base: string, path: string, body: string, timeout?: string): Promise<Answer> => {
    const r = await fetch(base + path, { method: 'POST', body, headers: timeout === undefined ? {} : { 'grpc-timeout': timeout } });
    return { status: r.status, contentType: r.headers.get('content-type') ?? '', body: (await r.text()).replace(/"header":\{[^}]*\},?/g, '') };
  };
  const answers = await Promise.all(
    bases.map(async (base) => {
      await post(base, '/v3/lease/grant', '{"TTL":60,"ID":"777"}');
      const held = await post(base, '/v3/lock/lock', `{"name":"${b64('lk')}","lease":"777"}`);
      const invalid = await post(base, '/v3/kv/range', `{"key":"${b64('lk')}"}`, 'xx');
      const waited = await post(base, '/v3/lock/lock', `{"name":"${b64('lk')}"}`, '300m');
      // the waiter's key is deleted once its call gave up; the 504 may come first (in etcd too)
      const countKeys = () => post(base, '/v3/kv/range', `{"key":"${b64('lk/')}","range_end":"${b64('lk0')}","count_only":true}`);
      const keys = await eventually(`the lock waiter's key gone on ${base}`, 5000, async () => {
        const k = await countKeys();
        return k.body === '{"count":"1"}' ? k : undefined;
      });
      const watch = await post(base, '/v3/watch', `{"create_request":{"key":"${b64('w')}"}}`, '2S');
      return { held: held.status, invalid, waited, keys, watch };
    }),
  );
  // etcd's watch ends by one of two racing paths: the gateway's deadline (DeadlineExceeded, 504)
  // or the server handler's context error (Unknown, 500); tsetcd always gives the first
  const deadlineLine = '{"error":{"grpc_code":4,"http_code":504,"message":"context deadline exceeded","http_status":"Gateway Timeout"}}';
  const handlerLine = '{"error":{"grpc_code":2,"http_code":500,"message":"context deadline exceeded","http_status":"Internal Server Error"}}';
  const etcdWatch = answers[1].watch;
  assert.ok(etcdWatch.body.endsWith(deadlineLine) || etcdWatch.body.endsWith(handlerLine), etcdWatch.body);
  const sameRace = { ...etcdWatch, body: etcdWatch.body.replace(handlerLine, deadlineLine) };
  assert.deepEqual(answers[0], { ...answers[1], watch: sameRace });
  assert.equal(answers[0].waited.status, 504);
  assert.equal(answers[0].keys.body, '{"count":"1"}');
  assert.ok(answers[0].watch.body.endsWith(deadlineLine));
});

test('lock and campaign without a lease get a 60 s session lease, as etcd\'s concurrency.NewSession grants', async (t) => {
  const [m, real] = await Promise.all([startMember(t), startRealEtcd(t)]);
  for (const base of [m.clientUrls[0], `http://${real}`]) {
    const post = async (path: string, body: unknown) => (await (await fetch(base + path, { method: 'POST', body: JSON.stringify(body) })).json()) as Record<string, any>;
    const lock = await post('/v3/lock/lock', { name: b64('nolease') });
    const kv = await post('/v3/kv/range', { key: lock.key });
    const held = await post('/v3/lease/timetolive', { ID: kv.kvs[0].lease });
    assert.equal(held.grantedTTL, '60', base);
    const camp = await post('/v3/election/campaign', { name: b64('e0'), value: b64('v') });
    assert.equal((await post('/v3/lease/timetolive', { ID: camp.leader.lease })).grantedTTL, '60', base);
  }
});

test('bodies on which etcd 3.4.23 panics (connection dropped or process killed) get answers, and the member serves on', async (t) => {
  const m = await startMember(t);
  const base = m.clientUrls[0];
  const cases: Array<[string, string, number, string | undefined]> = [
    // etcd: gogo marshal of a nil list element panics in the gateway, the connection drops
    ['/v3/kv/txn', '{"compare":[null]}', 400, 'etcdserver: key is not provided'],
    ['/v3/kv/txn', '{"success":[null]}', 400, 'etcdserver: key not found'],
    // etcd: the applier returns a nil AlarmResponse for an unknown action; the process dies
    ['/v3/maintenance/alarm', '{"action":7}', 200, undefined],
    // etcd: sort.Sort(nil) for an unknown sort target; the process dies
    ['/v3/kv/range', '{"key":"AA==","range_end":"AA==","sort_order":"DESCEND","sort_target":9}', 200, undefined],
  ];
  for (const [path, body, status, message] of cases) {
    const r = await fetch(base + path, { method: 'POST', body });
    const j = (await r.json()) as { message?: string };
    assert.equal(r.status, status, `${path} ${body}`);
    assert.equal(j.message, message, `${path} ${body}`);
  }
  assert.deepEqual(await (await fetch(`${base}/health`)).json(), { health: 'true' });
});
