// A real Go client (etcdctl 3.4.23: grpc-go, h2c prior knowledge or TLS with ALPN h2) against
// the transport, with a toy in-memory KV + Watch registered from the generated etcd protos.
// The toy service is only here to give etcdctl something to talk to; the real one lives in
// the server's API layer.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { etcdserverpb as E, mvccpb } from '@tsetcd/proto';
import { type BidiCall, ClientPortListener, GrpcError, GrpcServer, GrpcCode } from '../src/grpc/index.js';
import { makePki } from './grpc-test-kit.js';
import { waitFor } from '../../../test/kit/wait.js';
import { run } from '../../../test/kit/processes.js';

function toyEtcd(server: GrpcServer) {
  const store = new Map<string, mvccpb.KeyValue>();
  let revision = 1n;
  const header = () => E.ResponseHeader.fromPartial({ clusterId: 0x1234n, memberId: 0x5678n, revision, raftTerm: 2n });
  const watchers = new Set<(ev: mvccpb.Event) => void>();
  const watchCancels: string[] = [];
  server.addService(E.KVService, {
    range: (req) => {
      const key = req.key.toString();
      if (key === 'forbidden') throw new GrpcError(GrpcCode.PermissionDenied, 'etcdserver: permission denied');
      const kv = store.get(key);
      return E.RangeResponse.fromPartial({ header: header(), kvs: kv ? [kv] : [], count: kv ? 1n : 0n });
    },
    put: async (req) => {
      revision++;
      const prev = store.get(req.key.toString());
      const kv = mvccpb.KeyValue.fromPartial({
        key: req.key, value: req.value, createRevision: prev?.createRevision ?? revision, modRevision: revision,
        version: (prev?.version ?? 0n) + 1n,
      });
      store.set(req.key.toString(), kv);
      for (const w of watchers) w(mvccpb.Event.fromPartial({ type: mvccpb.Event_EventType.PUT, kv }));
      return E.PutResponse.fromPartial({ header: header() });
    },
  });
  // addBidi with the message codecs directly (no Buffer.from copy of each encoded response).
  server.addBidi('/etcdserverpb.Watch/Watch', E.WatchRequest.decode, (m: E.WatchResponse) => E.WatchResponse.encode(m).finish(),
    async (call: BidiCall<E.WatchRequest>) => {
      let nextId = 0n;
      const mine = new Set<(ev: mvccpb.Event) => void>();
      call.on('cancelled', (reason) => {
        watchCancels.push(reason);
        for (const w of mine) watchers.delete(w);
      });
      for await (const req of call) {
        if (req.requestUnion?.$case !== 'createRequest') continue;
        const key = req.requestUnion.value.key.toString();
        const watchId = nextId++;
        const w = (ev: mvccpb.Event) => {
          if (ev.kv?.key.toString() === key) call.write(E.WatchResponse.fromPartial({ header: header(), watchId, events: [ev] }));
        };
        mine.add(w);
        watchers.add(w);
        call.write(E.WatchResponse.fromPartial({ header: header(), watchId, created: true }));
      }
    });
  return { watchers, watchCancels };
}

test('addService registers implemented methods by name; the rest are UNIMPLEMENTED; bad names throw', () => {
  const server = new GrpcServer();
  server.addService(E.KVService, { range: () => E.RangeResponse.fromPartial({}) });
  assert.deepEqual(server.paths(), ['/etcdserverpb.KV/Range']);
  assert.throws(() => server.addService(E.KVService, { range: () => E.RangeResponse.fromPartial({}) }), /already registered/);
  assert.throws(() => server.addService(E.KVService as never, { nope: () => ({}) } as never), /no method nope/);
});

const etcdctl = (args: string[]) => run('etcdctl', ['--dial-timeout=3s', '--command-timeout=5s', ...args], { timeoutMs: 20_000 });

test('etcdctl (grpc-go, h2c): put, get, error status, watch stream and its cancel', async (t) => {
  const server = new GrpcServer();
  const toy = toyEtcd(server);
  const listener = new ClientPortListener({ grpc: server, closeGraceMs: 200 });
  const { port } = await listener.listen();
  t.after(() => listener.close());
  const ep = `--endpoints=127.0.0.1:${port}`;

  assert.deepEqual(await etcdctl([ep, 'put', 'foo', 'bar']), { code: 0, stdout: 'OK\n', stderr: '' });
  assert.deepEqual(await etcdctl([ep, 'get', 'foo']), { code: 0, stdout: 'foo\nbar\n', stderr: '' });
  const json = await etcdctl([ep, 'get', 'foo', '-w', 'json']);
  assert.equal(json.code, 0);
  assert.equal(JSON.parse(json.stdout).header.revision, 2);
  const denied = await etcdctl([ep, 'get', 'forbidden']);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /etcdserver: permission denied/);

  const watch = spawn('etcdctl', [ep, 'watch', 'foo'], { env: { ...process.env, ETCDCTL_API: '3' } });
  t.after(() => watch.kill('SIGKILL'));
  let out = '';
  watch.stdout.on('data', (d) => { out += d; });
  await waitFor('the watcher', () => toy.watchers.size === 1, 10_000);
  assert.equal((await etcdctl([ep, 'put', 'foo', 'baz'])).code, 0);
  await waitFor('the PUT event printed', () => out === 'PUT\nfoo\nbaz\n', 10_000);
  watch.kill('SIGINT');
  await waitFor('the watch cancel', () => toy.watchCancels.length === 1, 10_000);
  assert.equal(toy.watchCancels[0], 'client');
  assert.equal(toy.watchers.size, 0);
});

test('etcdctl over TLS with a client certificate on a port that also serves plaintext', async (t) => {
  const pki = makePki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const server = new GrpcServer();
  toyEtcd(server);
  const listener = new ClientPortListener({
    grpc: server, closeGraceMs: 200, plaintext: true,
    tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
  });
  const { port } = await listener.listen();
  t.after(() => listener.close());
  const tlsArgs = [`--endpoints=https://127.0.0.1:${port}`, `--cacert=${join(pki.dir, 'ca.crt')}`,
    `--cert=${join(pki.dir, 'client.crt')}`, `--key=${join(pki.dir, 'client.key')}`];
  assert.deepEqual(await etcdctl([...tlsArgs, 'put', 'k', 'v']), { code: 0, stdout: 'OK\n', stderr: '' });
  assert.deepEqual(await etcdctl([`--endpoints=127.0.0.1:${port}`, 'get', 'k']), { code: 0, stdout: 'k\nv\n', stderr: '' });
  // Without a client certificate the handshake is refused.
  const noCert = await etcdctl(['--dial-timeout=1s', '--command-timeout=1s', `--endpoints=https://127.0.0.1:${port}`, `--cacert=${join(pki.dir, 'ca.crt')}`, 'get', 'k']);
  assert.notEqual(noCert.code, 0);
});
