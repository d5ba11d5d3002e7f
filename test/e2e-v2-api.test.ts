// The v2 API (--enable-v2) of real ./bin/tsetcd processes: the real etcdctl 3.4.23 in v2 mode,
// HTTP requests as curl and confd-style clients send them, persistence across a crash (with
// raft snapshots taken), replication to followers (one of them catching up by snapshot), v2
// auth, and the same requests against real etcd 3.4.23 answered with the same JSON.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startTsetcd, tempDir, type TsetcdProcess } from './kit/tsetcd-process.js';
import { startRealEtcd } from './kit/real-etcd.js';
import { ProcessCluster } from './kit/cluster.js';
import { run } from './kit/processes.js';
import { waitFor } from './kit/wait.js';
import { hashPassword } from '@tsetcd/server/auth/password-hash';
import { mulberry32 } from '@tsetcd/common';

interface V2Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request; `form` goes in an urlencoded body (PUT/POST) as curl -d sends it. */
function v2(endpoint: string, method: string, path: string, form?: string, headers: Record<string, string> = {}): Promise<V2Answer> {
  const u = new URL(`http://${endpoint.replace(/^http:\/\//, '')}`);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path, headers: form === undefined ? headers : { 'Content-Type': 'application/x-www-form-urlencoded', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(form);
  });
}

function etcdctl2(endpoint: string, args: string[]) {
  return run('etcdctl', ['--endpoints', `http://${endpoint.replace(/^http:\/\//, '')}`, ...args], { env: { ETCDCTL_API: '2' } });
}

async function member(t: Parameters<typeof tempDir>[0], args: string[] = []): Promise<TsetcdProcess> {
  return startTsetcd(t, await tempDir(t), ['--enable-v2', ...args]);
}

test('etcdctl in v2 mode: set, get, mk, update, ls, rm, mkdir, rmdir, watch', async (t) => {
  const m = await member(t);
  const ep = m.endpoint;
  assert.equal((await etcdctl2(ep, ['set', '/dir/foo', 'bar'])).stdout, 'bar\n');
  assert.equal((await etcdctl2(ep, ['get', '/dir/foo'])).stdout, 'bar\n');
  assert.equal((await etcdctl2(ep, ['get', '--quorum', '/dir/foo'])).stdout, 'bar\n');
  const dup = await etcdctl2(ep, ['mk', '/dir/foo', 'x']);
  assert.equal(dup.code, 4);
  assert.match(dup.stderr, /^Error:  105: Key already exists \(\/dir\/foo\) \[\d+\]/);
  assert.equal((await etcdctl2(ep, ['update', '/dir/foo', 'baz'])).stdout, 'baz\n');
  assert.equal((await etcdctl2(ep, ['mkdir', '/empty'])).code, 0);
  assert.equal((await etcdctl2(ep, ['ls', '--sort'])).stdout, '/dir\n/empty\n');
  assert.equal((await etcdctl2(ep, ['ls', '--recursive', '/dir'])).stdout, '/dir/foo\n');
  assert.equal((await etcdctl2(ep, ['rmdir', '/empty'])).code, 0);
  const notEmpty = await etcdctl2(ep, ['rmdir', '/dir']);
  assert.match(notEmpty.stderr, /^Error:  108: Directory not empty \(\/dir\)/);
  // a watch from an index already in the history answers at once, a later one waits for the write
  assert.equal((await etcdctl2(ep, ['watch', '--after-index', '1', '/dir/foo'])).stdout, 'bar\n');
  const watching = etcdctl2(ep, ['watch', '/dir/foo']);
  await waitFor('the watcher registered', async () => JSON.parse((await v2(ep, 'GET', '/v2/stats/store')).body).watchers === 1);
  assert.equal((await etcdctl2(ep, ['set', '/dir/foo', 'qux'])).code, 0);
  assert.equal((await watching).stdout, 'qux\n');
  assert.equal((await etcdctl2(ep, ['rm', '/dir/foo'])).stdout, 'PrevNode.Value: qux\n');
  assert.match((await etcdctl2(ep, ['rm', '/dir/foo'])).stderr, /^Error:  100: Key not found \(\/dir\/foo\)/);
});

test('/v2/keys over HTTP: headers, in-order keys, CAS, hidden keys, TTL expiry seen by a watch, stream watch', async (t) => {
  const m = await member(t);
  const ep = m.endpoint;
  const put = await v2(ep, 'PUT', '/v2/keys/foo', 'value=bar');
  assert.equal(put.status, 201);
  assert.equal(put.headers['content-type'], 'application/json');
  // etcd's own numbering: the store's index counts the membership writes under /0 first
  assert.equal(put.body, '{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":4,"createdIndex":4}}\n');
  assert.equal(put.headers['x-etcd-index'], '4');
  assert.ok(Number(put.headers['x-raft-index']) >= 5);
  assert.ok(Number(put.headers['x-raft-term']) >= 1);
  assert.match(String(put.headers['x-etcd-cluster-id']), /^[0-9a-f]+$/);

  const cas = await v2(ep, 'PUT', '/v2/keys/foo?prevValue=nope', 'value=x');
  assert.equal(cas.status, 412);
  assert.equal(cas.body, '{"errorCode":101,"message":"Compare failed","cause":"[nope != bar]","index":4}\n');
  const casOk = await v2(ep, 'PUT', '/v2/keys/foo?prevIndex=4', 'value=y');
  assert.equal(casOk.body, '{"action":"compareAndSwap","node":{"key":"/foo","value":"y","modifiedIndex":5,"createdIndex":4},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":4,"createdIndex":4}}\n');
  assert.equal((await v2(ep, 'PUT', '/v2/keys/foo?prevExist=false', 'value=z')).status, 412);

  const q1 = await v2(ep, 'POST', '/v2/keys/queue', 'value=a');
  const q2 = await v2(ep, 'POST', '/v2/keys/queue', 'value=b');
  assert.equal(q1.status, 201);
  assert.match(q1.body, /"key":"\/queue\/00000000000000000006"/);
  assert.match(q2.body, /"key":"\/queue\/00000000000000000007"/);
  await v2(ep, 'PUT', '/v2/keys/queue/_hidden', 'value=h');
  const listing = await v2(ep, 'GET', '/v2/keys/queue?sorted=true');
  assert.deepEqual(JSON.parse(listing.body).node.nodes.map((n: { value: string }) => n.value), ['a', 'b']);
  assert.equal(JSON.parse((await v2(ep, 'GET', '/v2/keys/queue/_hidden')).body).node.value, 'h');

  // a key with a TTL: the leader's SYNC request expires it, and a watch sees the expire event
  const ttl = await v2(ep, 'PUT', '/v2/keys/lease', 'value=v&ttl=1');
  const ttlNode = JSON.parse(ttl.body).node;
  assert.equal(ttlNode.ttl, 1);
  assert.match(ttlNode.expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const expired = await v2(ep, 'GET', `/v2/keys/lease?wait=true&waitIndex=${ttlNode.modifiedIndex + 1}`);
  const ev = JSON.parse(expired.body);
  assert.equal(ev.action, 'expire');
  assert.equal(ev.prevNode.value, 'v');
  assert.equal((await v2(ep, 'GET', '/v2/keys/lease')).status, 404);

  // a stream watch gets every event until the client goes away
  const events: string[] = [];
  const streamed = new Promise<void>((resolve, reject) => {
    const u = new URL(`http://${ep}`);
    const req = request({ host: u.hostname, port: u.port, path: '/v2/keys/s?wait=true&stream=true&recursive=true' }, (res) => {
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          events.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
          if (events.length === 2) {
            req.destroy();
            resolve();
          }
        }
      });
    });
    req.on('error', (e) => (events.length === 2 ? resolve() : reject(e)));
    req.end();
  });
  await waitFor('the stream watcher registered', async () => JSON.parse((await v2(ep, 'GET', '/v2/stats/store')).body).watchers === 1);
  await v2(ep, 'PUT', '/v2/keys/s/a', 'value=1');
  await v2(ep, 'PUT', '/v2/keys/s/b', 'value=2');
  await streamed;
  assert.deepEqual(events.map((e) => JSON.parse(e).node.key), ['/s/a', '/s/b']);
  await waitFor('the stream watcher removed', async () => JSON.parse((await v2(ep, 'GET', '/v2/stats/store')).body).watchers === 0);
});

test('/v2/keys refuses bad input with etcd v2 errors, and never crashes', async (t) => {
  const m = await member(t);
  const ep = m.endpoint;
  const cases: Array<[string, string, string | undefined, number, string]> = [
    ['PUT', '/v2/keys/a?ttl=abc', 'value=1', 400, '{"errorCode":202,"message":"The given TTL in POST form is not a number","cause":"invalid value for \\"ttl\\"","index":0}\n'],
    ['PUT', '/v2/keys/a?prevIndex=-1', 'value=1', 400, '{"errorCode":203,"message":"The given index in POST form is not a number","cause":"invalid value for \\"prevIndex\\"","index":0}\n'],
    ['GET', '/v2/keys/a?recursive=maybe', undefined, 400, '{"errorCode":209,"message":"Invalid field","cause":"invalid value for \\"recursive\\"","index":0}\n'],
    ['PUT', '/v2/keys/a?prevValue=', 'value=1', 400, '{"errorCode":201,"message":"PrevValue is Required in POST form","cause":"\\"prevValue\\" cannot be empty","index":0}\n'],
    ['PUT', '/v2/keys/a?wait=true', 'value=1', 400, '{"errorCode":209,"message":"Invalid field","cause":"\\"wait\\" can only be used with GET requests","index":0}\n'],
    ['GET', '/v2/keys/a?x=%zz', undefined, 400, '{"errorCode":210,"message":"Invalid POST form","cause":"invalid URL escape \\"%zz\\"","index":0}\n'],
    ['PUT', '/v2/keys/a?refresh=true', 'value=1', 400, '{"errorCode":211,"message":"Value provided on refresh","cause":"A value was provided on a refresh","index":0}\n'],
    ['PUT', '/v2/keys/a?refresh=true', '', 400, '{"errorCode":212,"message":"A TTL must be provided on refresh","cause":"No TTL value set","index":0}\n'],
    ['GET', '/v2/keys/nothing', undefined, 404, '{"errorCode":100,"message":"Key not found","cause":"/nothing","index":3}\n'],
    ['PUT', '/v2/keys/', 'value=1', 400, '{"errorCode":107,"message":"Root is read only","cause":"/","index":3}\n'],
  ];
  for (const [method, path, form, status, body] of cases) {
    const r = await v2(ep, method, path, form);
    assert.equal(r.status, status, `${method} ${path}`);
    assert.equal(r.body, body, `${method} ${path}`);
  }
  const patch = await v2(ep, 'PATCH', '/v2/keys/a');
  assert.equal(patch.status, 405);
  assert.equal(patch.headers.allow, 'HEAD,GET,PUT,POST,DELETE');
  // an unclean path is redirected to its clean form (Go's ServeMux), never resolved above /v2/keys
  const dots = await v2(ep, 'GET', '/v2/keys/../0/members');
  assert.equal(dots.status, 301);
  assert.equal(dots.headers.location, '/v2/0/members');
  // a form body past Go's 10 MB limit
  const big = await v2(ep, 'PUT', '/v2/keys/big', 'value=' + 'x'.repeat((10 << 20) + 10));
  assert.equal(big.status, 400);
  assert.match(big.body, /"errorCode":210,.*"cause":"http: POST too large"/);
  // a key deeper than the store takes
  const deep = await v2(ep, 'PUT', '/v2/keys/' + 'd/'.repeat(600) + 'k', 'value=1');
  assert.equal(deep.status, 400);
  assert.match(deep.body, /"errorCode":209/);
  // waitIndex older than the 1000-event history
  for (let i = 0; i < 1005; i += 5) await Promise.all([0, 1, 2, 3, 4].map((k) => v2(ep, 'PUT', `/v2/keys/h${k}`, `value=${i}`)));
  const cleared = await v2(ep, 'GET', '/v2/keys/h0?wait=true&waitIndex=1');
  assert.equal(cleared.status, 400);
  assert.match(cleared.body, /^\{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared \[\d+\/1\]","index":\d+\}\n$/);
  assert.equal((await v2(ep, 'GET', '/health')).status, 200);
});

test('hostile requests to every v2 route: answers, no crash, the member stays healthy', async (t) => {
  const m = await member(t);
  const ep = m.endpoint;
  const rnd = mulberry32(0x5eed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const junk = (n: number) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(rnd() * 128))).join('');
  const enc = (x: string) => (rnd() < 0.2 ? x : encodeURIComponent(x));
  const params = ['value', 'ttl', 'prevValue', 'prevIndex', 'prevExist', 'recursive', 'sorted', 'wait', 'waitIndex', 'dir', 'quorum', 'stream', 'refresh', 'noValueOnSuccess'];
  const values = ['', 'true', 'false', '1', '0', '-1', '18446744073709551616', '99999999999999999999', 'x', '%', '%zz', '%E2%82', ';', '1e3'];
  const paths = ['/v2/keys', '/v2/keys/', '/v2/keys/a', '/v2/keys/a/b', '/v2/keys/_h', '/v2/auth/users/u', '/v2/auth/roles/r', '/v2/auth/enable', '/v2/auth/users', '/v2/members', '/v2/members/1', '/v2/stats/self', '/v2/machines'];
  let fiveHundreds = 0;
  for (let i = 0; i < 400; i++) {
    const method = pick(['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'PATCH']);
    let path = pick(paths);
    if (rnd() < 0.3) path += '/' + enc(junk(1 + Math.floor(rnd() * 12)));
    const q = Array.from({ length: Math.floor(rnd() * 4) }, () => `${pick(params)}=${pick(values)}`).join('&');
    if (q !== '' && !q.includes('wait=true')) path += '?' + q;
    const json = path.startsWith('/v2/auth') || path.startsWith('/v2/members');
    const body = method === 'PUT' || method === 'POST' ? (json ? pick(['{', '{"user":"u","password":"p"}', '{"role":"r","permissions":{"kv":{"read":7}}}', '{"peerURLs":["x"]}', '[]', 'null', junk(20)]) : `value=${enc(junk(8))}&${pick(params)}=${pick(values)}`) : undefined;
    const headers: Record<string, string> = json ? { 'Content-Type': 'application/json' } : {};
    if (rnd() < 0.1) headers.Authorization = 'Basic ' + Buffer.from(junk(10)).toString('base64');
    const r = await v2(ep, method, path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)), body, headers).catch((e: Error) => ({ status: -1, body: e.message, headers: {} }));
    assert.ok(r.status > 0, `${method} ${path}: ${r.body}`);
    if (r.status >= 500) fiveHundreds++;
  }
  // every refusal is a 4xx: no request here can reach a failure of the member itself
  assert.equal(fiveHundreds, 0);
  assert.equal((await v2(ep, 'GET', '/health')).status, 200);
  assert.equal((await v2(ep, 'PUT', '/v2/keys/after-fuzz', 'value=ok')).status, 201);
  assert.equal(m.child.exitCode, null);
});

test('without --enable-v2 the v2 keys, auth and stats paths answer 404 (etcd 3.4 default)', async (t) => {
  const m = await startTsetcd(t, await tempDir(t));
  for (const p of ['/v2/keys/foo', '/v2/auth/users', '/v2/stats/self', '/v2/machines']) {
    const r = await v2(m.endpoint, 'GET', p);
    assert.equal(r.status, 404, p);
    assert.equal(r.body, '404 page not found\n', p);
  }
  assert.equal((await v2(m.endpoint, 'GET', '/v2/members')).status, 200);
});

test('the v2 store survives a crash: snapshot data plus the entries after it, history included', async (t) => {
  const dir = await tempDir(t);
  const args = ['--enable-v2', '--snapshot-count', '5'];
  const m = await startTsetcd(t, dir, args);
  for (let i = 1; i <= 12; i++) assert.equal((await v2(m.endpoint, 'PUT', `/v2/keys/k${i}`, `value=v${i}`)).status, 201);
  await v2(m.endpoint, 'POST', '/v2/keys/q', 'value=in-order');
  await waitFor('a snapshot was taken', () => m.logs.some((l) => l.includes('"saved snapshot"')));
  const before = (await v2(m.endpoint, 'GET', '/v2/keys/?recursive=true&sorted=true')).body;
  m.child.kill('SIGKILL');
  await m.exited;
  const again = await startTsetcd(t, dir, args);
  assert.equal((await v2(again.endpoint, 'GET', '/v2/keys/?recursive=true&sorted=true')).body, before);
  // the event history came back too: a watch from an old index is answered from it
  const old = await v2(again.endpoint, 'GET', '/v2/keys/k3?wait=true&waitIndex=6');
  assert.equal(old.body, '{"action":"set","node":{"key":"/k3","value":"v3","modifiedIndex":6,"createdIndex":6}}\n');
});

test('three members: v2 writes replicate, a quorum read goes through raft, a follower catches up by snapshot', async (t) => {
  const c = await ProcessCluster.start(t, { size: 3, args: ['--enable-v2', '--snapshot-count', '10', '--experimental-snapshot-catchup-entries', '5'] });
  const ep = (i: number) => c.clientUrl(i);
  assert.equal((await v2(ep(0), 'PUT', '/v2/keys/a', 'value=1')).status, 201);
  await waitFor('member 2 applied the write', async () => (await v2(ep(2), 'GET', '/v2/keys/a')).status === 200);
  const q = await v2(ep(1), 'GET', '/v2/keys/a?quorum=true');
  assert.equal(JSON.parse(q.body).node.value, '1');

  // member 2 is the one stopped: not the leader, or the writes below would meet an election
  if ((await c.leader()) === 2) await c.client(2, 8000).maintenance.moveLeader((await c.status(0))!.id);
  await c.stopMember(2);
  for (let i = 0; i < 40; i++) assert.ok([200, 201].includes((await v2(ep(i % 2), 'PUT', `/v2/keys/b${i % 7}`, `value=${i}`)).status));
  const want = (await v2(ep(0), 'GET', '/v2/keys/?recursive=true&sorted=true&quorum=true')).body;
  await c.startMember(2, 'existing');
  await waitFor('member 2 caught up', async () => (await v2(ep(2), 'GET', '/v2/keys/?recursive=true&sorted=true')).body === want, 30_000);
  assert.ok(c.members[2].logs.some((l) => l.includes('"applied snapshot"')), 'member 2 caught up from a snapshot of the leader');
  // the stats: who leads, append requests sent by the leader and received by a follower
  const lead = await c.leader();
  // (a member that ran all along: the one just restarted may have had only a snapshot and heartbeats)
  const follower = [0, 1].find((i) => i !== lead)!;
  const self = JSON.parse((await v2(ep(lead), 'GET', '/v2/stats/self')).body);
  assert.equal(self.state, 'StateLeader');
  assert.ok(self.sendAppendRequestCnt > 0);
  assert.ok(JSON.parse((await v2(ep(follower), 'GET', '/v2/stats/self')).body).recvAppendRequestCnt > 0);
  assert.equal(JSON.parse((await v2(ep(lead), 'GET', '/v2/stats/leader')).body).leader, self.id);
  // every follower is listed, with heartbeat round trips counted
  await waitFor('both followers timed', async () => {
    const followers = JSON.parse((await v2(ep(lead), 'GET', '/v2/stats/leader')).body).followers as Record<string, { latency: { current: number; minimum: number }; counts: { success: number } }>;
    const list = Object.values(followers);
    return list.length === 2 && list.every((f) => f.counts.success > 0 && f.latency.minimum <= f.latency.current);
  });
  assert.equal((await v2(ep(follower), 'GET', '/v2/stats/leader')).body, '{"message":"not current leader"}');
  assert.equal((await v2(ep(lead), 'GET', '/v2/machines')).body.split(', ').length, 3);
  // and the member that caught up by snapshot serves its own writes too
  assert.equal((await v2(ep(2), 'PUT', '/v2/keys/after', 'value=x')).status, 201);
  await waitFor('member 0 has it', async () => (await v2(ep(0), 'GET', '/v2/keys/after')).status === 200);
});

test('v2 auth: users and roles by etcdctl and /v2/auth, root-only once enabled, key permissions by role', async (t) => {
  const m = await member(t);
  const ep = m.endpoint;
  assert.equal((await v2(ep, 'PUT', '/v2/keys/foo/bar', 'value=secret')).status, 201);
  assert.match((await etcdctl2(ep, ['user', 'add', 'root:rootpw'])).stdout, /User root created/);
  assert.match((await etcdctl2(ep, ['user', 'add', 'reader:pw'])).stdout, /User reader created/);
  assert.match((await etcdctl2(ep, ['role', 'add', 'foo-read'])).stdout, /Role foo-read created/);
  assert.match((await etcdctl2(ep, ['role', 'grant', '--read', '--path', '/foo/*', 'foo-read'])).stdout, /Role foo-read updated/);
  assert.match((await etcdctl2(ep, ['user', 'grant', '--roles', 'foo-read', 'reader'])).stdout, /User reader updated/);
  assert.match((await etcdctl2(ep, ['user', 'grant', '--roles', 'foo-read', 'reader'])).stderr, /duplicate/);
  assert.equal((await etcdctl2(ep, ['user', 'list'])).stdout, 'reader\nroot\n');
  assert.equal((await etcdctl2(ep, ['role', 'list'])).stdout, 'foo-read\nroot\n');
  const role = await v2(ep, 'GET', '/v2/auth/roles/foo-read');
  assert.equal(role.body, '{"role":"foo-read","permissions":{"kv":{"read":["/foo/*"],"write":[]}}}\n');
  assert.match((await etcdctl2(ep, ['auth', 'enable'])).stdout, /Authentication Enabled/);
  assert.equal((await v2(ep, 'GET', '/v2/auth/enable')).body, '{"enabled":true}\n');

  const basic = (u: string, p: string) => ({ Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
  assert.equal(JSON.parse((await v2(ep, 'GET', '/v2/keys/foo/bar', undefined, basic('reader', 'pw'))).body).node.value, 'secret');
  const denied = await v2(ep, 'PUT', '/v2/keys/foo/bar', 'value=x', basic('reader', 'pw'));
  assert.equal(denied.status, 401);
  assert.equal(denied.body, '{"errorCode":110,"message":"The request requires user authentication","cause":"Insufficient credentials","index":0}\n');
  assert.equal((await v2(ep, 'GET', '/v2/keys/foo/bar', undefined, basic('reader', 'wrong'))).status, 401);
  assert.equal((await v2(ep, 'PUT', '/v2/keys/foo/bar', 'value=root', basic('root', 'rootpw'))).status, 200);
  // the default guest role (made by auth enable) may read and write without credentials
  assert.equal((await v2(ep, 'GET', '/v2/keys/foo/bar')).status, 200);
  // the auth routes are root's now
  assert.equal((await v2(ep, 'GET', '/v2/auth/users')).body, '{"message":"Insufficient credentials"}');
  const users = await v2(ep, 'GET', '/v2/auth/users', undefined, basic('root', 'rootpw'));
  assert.equal(users.status, 200);
  assert.deepEqual(JSON.parse(users.body).users.map((u: { user: string }) => u.user), ['reader', 'root']);
  const rmRoot = await v2(ep, 'DELETE', '/v2/auth/users/root', undefined, basic('root', 'rootpw'));
  assert.equal(rmRoot.status, 403);
  assert.equal(rmRoot.body, '{"message":"auth: Cannot delete root user while auth is enabled."}');
  // a user name that walks out of /2/users cannot borrow a key written as a user record
  const forged = JSON.stringify({ user: 'x', password: await hashPassword('pw', 4), roles: ['root'] });
  assert.equal((await v2(ep, 'PUT', '/v2/keys/forged', 'value=' + encodeURIComponent(forged))).status, 201);
  assert.equal((await v2(ep, 'GET', '/v2/auth/users', undefined, basic('../../1/forged', 'pw'))).status, 401);
  assert.equal((await v2(ep, 'GET', '/v2/keys/foo/bar', undefined, basic('../../1/forged', 'pw'))).status, 401);
  const badJson = await v2(ep, 'PUT', '/v2/auth/users/x', '{"user":', { ...basic('root', 'rootpw'), 'Content-Type': 'application/json' });
  assert.equal(badJson.body, '{"message":"Invalid JSON in request body."}');
});

test("/v2/members with --enable-v2: list, leader, add, and etcd's v2 errors", async (t) => {
  const c = await ProcessCluster.start(t, { size: 1, args: ['--enable-v2'] });
  const ep = c.clientUrl(0);
  const list = await v2(ep, 'GET', '/v2/members');
  assert.equal(list.status, 200);
  assert.match(list.body, /^\{"members":\[\{"id":"[0-9a-f]+","name":"etcd01","peerURLs":\["http:\/\/127\.0\.0\.1:\d+"\],"clientURLs":\["http:\/\/127\.0\.0\.1:\d+"\]\}\]\}\n$/);
  assert.equal((await v2(ep, 'GET', '/v2/members/leader')).body, list.body.slice('{"members":['.length, -3) + '\n');
  assert.equal((await v2(ep, 'GET', '/v2/members/nope')).body, '{"message":"Not found"}');
  const json = { 'Content-Type': 'application/json' };
  const form = await v2(ep, 'POST', '/v2/members', 'peerURLs=x');
  assert.equal(form.status, 415);
  assert.equal(form.body, '{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}');
  const empty = await v2(ep, 'POST', '/v2/members', undefined, json);
  assert.equal(empty.status, 400);
  assert.equal(empty.body, '{"message":"unexpected end of JSON input"}');
  const exists = await request2(ep, 'POST', '/v2/members', JSON.stringify({ peerURLs: [c.peerUrl(0)] }));
  assert.equal(exists.status, 409);
  assert.equal(exists.body, '{"message":"membership: peerURL exists"}');
  const badUrl = await request2(ep, 'POST', '/v2/members', JSON.stringify({ peerURLs: ['ftp://x:1'] }));
  assert.equal(badUrl.body, '{"message":"URL scheme must be http, https, unix, or unixs: ftp://x:1"}');
  assert.equal((await v2(ep, 'DELETE', '/v2/members/zz')).body, '{"message":"No such member: zz"}');
  assert.equal((await v2(ep, 'DELETE', '/v2/members/1234')).body, '{"message":"No such member: 1234"}');
  // etcdctl's v2 member add goes through the same route
  const add = await etcdctl2(ep, ['member', 'add', 'm2', 'http://127.0.0.1:1']);
  assert.match(add.stdout, /^Added member named m2 with ID [0-9a-f]+ to cluster/);
  const after = JSON.parse((await v2(ep, 'GET', '/v2/members')).body).members as Array<{ name: string; peerURLs: string[] }>;
  assert.deepEqual(after.map((m) => m.peerURLs[0]).sort(), [c.peerUrl(0), 'http://127.0.0.1:1'].sort());
});

function request2(endpoint: string, method: string, path: string, body: string): Promise<V2Answer> {
  const u = new URL(`http://${endpoint.replace(/^http:\/\//, '')}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('real etcd 3.4.23 members bootstrap through a v2 discovery URL served by tsetcd --enable-v2', async (t) => {
  const disco = await ProcessCluster.start(t, { size: 1, args: ['--enable-v2'] });
  const durl = `${disco.clientUrl(0)}/v2/keys/_etcd/registry/tok-${process.pid}`;
  assert.equal((await v2(disco.clientUrl(0), 'PUT', `/v2/keys/_etcd/registry/tok-${process.pid}/_config/size`, 'value=3')).status, 201);
  const c = await ProcessCluster.create(t, { bin: 'etcd' });
  for (let i = 0; i < 3; i++) await c.addSpec();
  await Promise.all([0, 1, 2].map((i) => c.startMember(i, 'new', '', ['--discovery', durl])));
  const list = await c.client([0, 1, 2]).cluster.memberList();
  assert.deepEqual(list.members.map((m) => m.name).sort(), ['etcd01', 'etcd02', 'etcd03']);
  // each member registered itself under the token (etcd's discovery protocol: create, then wait for the others)
  const reg = JSON.parse((await v2(disco.clientUrl(0), 'GET', `/v2/keys/_etcd/registry/tok-${process.pid}?recursive=true&sorted=true`)).body);
  assert.equal(reg.node.nodes.filter((n: { key: string }) => !n.key.endsWith('/_config')).length, 3);
});

test('differential: real etcd 3.4.23 --enable-v2 answers the same requests with the same JSON', async (t) => {
  const dir = await tempDir(t);
  const etcd = await startRealEtcd({ dir, args: ['--enable-v2'] });
  t.after(() => etcd.kill());
  const ts = await member(t);
  const requests: Array<[string, string, string | undefined]> = [
    ['PUT', '/v2/keys/foo', 'value=bar'],
    ['GET', '/v2/keys/foo', undefined],
    ['PUT', '/v2/keys/foo?prevValue=nope', 'value=x'],
    ['PUT', '/v2/keys/foo?prevExist=false', 'value=x'],
    ['PUT', '/v2/keys/foo?prevExist=true', 'value=upd'],
    ['PUT', '/v2/keys/dir?dir=true', ''],
    ['POST', '/v2/keys/dir', 'value=first'],
    ['PUT', '/v2/keys/dir/_hid', 'value=h'],
    ['GET', '/v2/keys/?recursive=true&sorted=true', undefined],
    ['GET', '/v2/keys/dir/00000000000000000007?wait=true&waitIndex=7', undefined],
    ['GET', '/v2/keys/foo?wait=true&waitIndex=1', undefined],
    ['DELETE', '/v2/keys/dir', undefined],
    ['DELETE', '/v2/keys/dir?recursive=true', undefined],
    ['DELETE', '/v2/keys/foo?prevIndex=99', undefined],
    ['DELETE', '/v2/keys/foo?prevValue=upd', undefined],
    ['GET', '/v2/keys/foo', undefined],
    ['PUT', '/v2/keys/x?ttl=abc', 'value=1'],
    ['GET', '/v2/keys/x?recursive=nah', undefined],
    ['PUT', '/v2/keys/a/b', 'value=1'],
    ['PUT', '/v2/keys/a/b/c', 'value=2'],
    ['GET', '/v2/keys/a?noValueOnSuccess=true', undefined],
    ['PUT', '/v2/keys/a/b?noValueOnSuccess=true', 'value=3'],
    ['PUT', '/v2/keys/a', 'value=4'],
    ['GET', '/v2/keys/%E2%98%83?x=%41', undefined],
    ['PUT', '/v2/keys/esc', 'value=%3Cb%3E%26%22%5C%E2%80%A8'],
    ['GET', '/v2/keys/esc', undefined],
    ['GET', '/v2/keys/../0/members?a=1&b=%27', undefined],
    ['PUT', '/v2/keys//foo', 'value=1'],
    ['PUT', '/v2/keys/', 'value=1'],
    ['DELETE', '/v2/keys/', undefined],
    ['PUT', '/v2/keys/a?prevExist=true', 'value=5'],
  ];
  for (const [method, path, form] of requests) {
    const [a, b] = [await v2(etcd.endpoint, method, path, form), await v2(ts.endpoint, method, path, form)];
    assert.equal(b.status, a.status, `${method} ${path}`);
    assert.equal(b.body, a.body, `${method} ${path}`);
    assert.equal(b.headers['x-etcd-index'], a.headers['x-etcd-index'], `${method} ${path}: X-Etcd-Index`);
    assert.equal(b.headers.location, a.headers.location, `${method} ${path}: Location`);
  }
  // the store's counters (etcd counts one failed get of its own at start, and every request's
  // look at /2/enabled)
  const counters = async (ep: string) => {
    const s = JSON.parse((await v2(ep, 'GET', '/v2/stats/store')).body) as Record<string, number>;
    delete s.getsFail;
    return s;
  };
  assert.deepEqual(await counters(ts.endpoint), await counters(etcd.endpoint));
});

test('differential: etcdctl in v2 mode prints the same against real etcd 3.4.23 and tsetcd', async (t) => {
  const dir = await tempDir(t);
  const etcd = await startRealEtcd({ dir, args: ['--enable-v2'] });
  t.after(() => etcd.kill());
  const ts = await member(t);
  const script: string[][] = [
    ['set', '/a', '1'], ['set', '/a', '2', '--swap-with-value', '1'], ['set', '/a', '3', '--swap-with-value', 'nope'], ['set', '/a', '4', '--swap-with-index', '99'],
    ['mk', '/q', 'v1', '--in-order'], ['mk', '/q', 'v2', '--in-order'], ['ls', '/q', '--sort'], ['ls', '-p', '--sort'], ['ls', '--recursive', '--sort', '/'],
    ['mkdir', '/d'], ['mkdir', '/d'], ['setdir', '/d2'], ['updatedir', '/d2', '--ttl', '100'], ['update', '/nope', 'x'], ['get', '/d'],
    ['rmdir', '/q'], ['rm', '/q', '--recursive'], ['rm', '/a', '--with-value', 'nope'], ['rm', '/a', '--with-index', '1'], ['rm', '/a', '--with-value', '2'],
    ['set', '/t', 'x', '--ttl', '60'], ['update', '/t', 'y', '--ttl', '0'],
    ['role', 'add', 'r1'], ['role', 'add', 'r1'], ['role', 'grant', 'r1', '--path', '/x/*', '--readwrite'], ['role', 'grant', 'r1', '--path', '/x/*', '--read'],
    ['role', 'get', 'r1'], ['role', 'revoke', 'r1', '--path', '/x/*', '--write'], ['role', 'get', 'r1'], ['role', 'list'], ['role', 'remove', 'root'],
    ['user', 'add', 'u1:pw'], ['user', 'add', 'u1:pw'], ['user', 'get', 'u1'], ['user', 'grant', 'u1', '--roles', 'r1'], ['user', 'revoke', 'u1', '--roles', 'nope'],
    ['user', 'revoke', 'u1', '--roles', 'r1'], ['user', 'list'], ['user', 'remove', 'u1'], ['user', 'remove', 'u1'],
    ['auth', 'enable'], ['auth', 'disable'], ['user', 'add', 'root:rootpw'], ['auth', 'enable'], ['auth', 'enable'],
    ['--username', 'root:rootpw', 'set', '/after-auth', 'v'], ['--username', 'root:wrong', 'set', '/after-auth', 'w'],
    ['--username', 'root:rootpw', 'auth', 'disable'], ['--username', 'root:rootpw', 'role', 'remove', 'r1'], ['role', 'list'],
  ];
  for (const args of script) {
    const [a, b] = [await etcdctl2(etcd.endpoint, args), await etcdctl2(ts.endpoint, args)];
    assert.deepEqual({ out: b.stdout, err: b.stderr, code: b.code }, { out: a.stdout, err: a.stderr, code: a.code }, args.join(' '));
  }
});

