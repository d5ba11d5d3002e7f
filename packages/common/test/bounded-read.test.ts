import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { readUpTo, type BoundedBody } from '../src/index.js';

test('a body within the limit is read whole; past it only counted', async () => {
  const s = new PassThrough();
  const r = readUpTo(s, 5);
  s.end('hello');
  assert.deepEqual(await r, { bytes: Buffer.from('hello'), total: 5, failed: false });
  const t = new PassThrough();
  const r2 = readUpTo(t, 5);
  t.write('hello');
  t.end(' world');
  assert.deepEqual(await r2, { bytes: Buffer.alloc(0), total: 11, failed: false });
});

test('stopPastLimit answers at the first chunk past the limit and pauses the stream', async () => {
  const s = new PassThrough();
  const r = readUpTo(s, 4, { stopPastLimit: true });
  s.write('abc');
  s.write('defg');
  // the stream is never ended: the answer must not wait for it
  const got = await r;
  assert.deepEqual(got, { bytes: Buffer.alloc(0), total: 7, failed: false });
  assert.equal(s.isPaused(), true);
  s.destroy();
});

test('a sender that goes away mid-body fails the read instead of leaving it waiting', async (t) => {
  let result: Promise<BoundedBody> | undefined;
  const arrived = new Promise<void>((resolve) => {
    const srv = http.createServer((req, res) => {
      result = readUpTo(req, 1 << 20);
      req.once('data', () => resolve());
      res.on('close', () => undefined);
    });
    srv.listen(0, '127.0.0.1');
    t.after(() => new Promise<void>((r) => srv.close(() => r())));
    void once(srv, 'listening').then(() => {
      const { port } = srv.address() as { port: number };
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': '1000' } });
      req.on('error', () => undefined);
      req.write('partial');
      // cut the connection once the server has seen the first bytes
      void arrived.then(() => req.destroy());
    });
  });
  await arrived;
  const r = await result!;
  assert.equal(r.failed, true);
  assert.equal(r.total, 7);
});

test('a stream closed without an end or an error (destroyed) fails the read', async () => {
  const s = new PassThrough();
  const r = readUpTo(s, 10);
  s.write('ab');
  await new Promise((resolve) => setImmediate(resolve));
  s.destroy();
  assert.deepEqual(await r, { bytes: Buffer.from('ab'), total: 2, failed: true });
});
