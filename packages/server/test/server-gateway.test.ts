// etcd's JSON gateway on the client port: /v3/kv/*, /v3/lease/*, /v3/maintenance/status,
// /v3/cluster/member/list, /v3/watch (streamed lines), errors as grpc-gateway shapes them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startMember } from './server-helpers.js';
import { GrpcCode } from '@tsetcd/common';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('JSON gateway: kv, txn, lease, status, member list, errors', async (t) => {
  const m = await startMember(t);
  const base = m.clientUrls[0];
  const post = async (path: string, body: unknown) => {
    const r = await fetch(base + path, { method: 'POST', body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as Record<string, any> };
  };
  const p1 = await post('/v3/kv/put', { key: b64('foo'), value: b64('bar') });
  assert.equal(p1.status, 200);
  assert.equal(p1.json.header.member_id, m.server.memberId.toString());
  assert.equal(typeof p1.json.header.revision, 'string');
  const p2 = await post('/v3/kv/put', { key: b64('foo'), value: b64('baz'), prev_kv: true });
  assert.equal(Buffer.from(p2.json.prev_kv.value, 'base64').toString(), 'bar');
  const g = await post('/v3/kv/range', { key: b64('foo') });
  assert.equal(g.json.count, '1');
  assert.equal(Buffer.from(g.json.kvs[0].value, 'base64').toString(), 'baz');
  assert.equal(g.json.kvs[0].version, '2');
  const tx = await post('/v3/kv/txn', { compare: [{ key: b64('foo'), result: 'EQUAL', target: 'VALUE', value: b64('baz') }], success: [{ request_put: { key: b64('t'), value: b64('1') } }] });
  assert.equal(tx.json.succeeded, true);
  assert.ok(tx.json.responses[0].response_put);
  const e = await post('/v3/kv/range', { key: '' });
  assert.equal(e.status, 400);
  assert.deepEqual(e.json, { error: 'etcdserver: key is not provided', message: 'etcdserver: key is not provided', code: GrpcCode.InvalidArgument });
  const lg = await post('/v3/lease/grant', { TTL: 60, ID: 99 });
  assert.deepEqual([lg.json.ID, lg.json.TTL], ['99', '60']);
  const ttl = await post('/v3/kv/lease/timetolive', { ID: 99 });
  assert.equal(ttl.json.grantedTTL, '60');
  const st = await post('/v3/maintenance/status', {});
  assert.equal(st.json.version, '3.4.23');
  assert.ok(Number(st.json.dbSize) > 0);
  const ml = await post('/v3/cluster/member/list', {});
  assert.equal(ml.json.members[0].name, 'default');
  assert.deepEqual(ml.json.members[0].clientURLs, m.clientUrls);

  // watch: created line, then the event line
  const lines: any[] = [];
  let putDone: Promise<unknown> = Promise.resolve();
  const req = request(base + '/v3/watch', { method: 'POST' });
  t.after(() => req.destroy());
  const got = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
          if (lines.length === 1) putDone = post('/v3/kv/put', { key: b64('w'), value: b64('1') });
          if (lines.length === 2) resolve();
        }
      });
    });
    req.on('error', reject);
  });
  req.end(JSON.stringify({ create_request: { key: b64('w') } }));
  await got;
  await putDone;
  assert.equal(lines[0].result.created, true);
  assert.equal(Buffer.from(lines[1].result.events[0].kv.value, 'base64').toString(), '1');
  req.destroy();
});
