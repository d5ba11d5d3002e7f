// go-zero's registration contract checked key by key in a real etcd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { RpcServer, RpcClient, unary, ClientRegistry, Publisher, prefixEnd, ServingStatus } from '../src/index.js';
import { GreeterService, GreeterClient } from '../../../examples/greeter/gen/hello.js';
import { startEtcd } from './helpers/etcd.js';
import { waitFor } from '../../../test/kit/wait.js';

const silent = pino({ level: 'silent' });

function etcdctl(endpoint: string, ...args: string[]): string {
  return execFileSync('etcdctl', ['--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' } }).toString();
}

test('registration: <Key>/<lease decimal> = host:port on a 10 s lease, meta sibling, revoked on stop', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const reg = new ClientRegistry({ Hosts: [etcd.endpoint] });
  t.after(() => reg.close());

  const server = new RpcServer({ Name: 'hello.rpc', ListenOn: '127.0.0.1:0', Etcd: { Hosts: [etcd.endpoint], Key: 'hello.rpc' } }, { logger: silent, meta: { weight: 10, zone: 'z1', version: '1.2.3' } });
  t.after(() => server.stop());
  const { port, address } = await server.start();
  assert.equal(address, `127.0.0.1:${port}`);

  const all = await reg.range('hello.rpc', prefixEnd('hello.rpc'));
  const keys = all.kvs.map((kv) => kv.key).sort();
  assert.equal(keys.length, 2, `exactly the registration and its meta: ${keys}`);
  const main = all.kvs.find((kv) => kv.key.startsWith('hello.rpc/'))!;
  const lease = main.lease;
  assert.ok(lease > 0n);
  assert.equal(main.key, `hello.rpc/${lease.toString(10)}`);
  assert.equal(main.value, `127.0.0.1:${port}`, 'value is the bare host:port');
  const meta = all.kvs.find((kv) => kv.key.startsWith('hello.rpc.meta/'))!;
  assert.equal(meta.key, `hello.rpc.meta/${lease}`);
  assert.equal(meta.lease, lease);
  assert.deepEqual(JSON.parse(meta.value), { weight: 10, zone: 'z1', version: '1.2.3' });
  const ttl = etcdctl(etcd.endpoint, 'lease', 'timetolive', lease.toString(16));
  assert.match(ttl, /granted with TTL\(10s\)/);
  assert.equal(server.health.get(''), ServingStatus.SERVING);

  await server.stop();
  assert.equal(server.health.get(''), ServingStatus.NOT_SERVING);
  assert.equal((await reg.range('hello.rpc', prefixEnd('hello.rpc'))).kvs.length, 0, 'lease revoked → keys gone');
  assert.match(etcdctl(etcd.endpoint, 'lease', 'timetolive', lease.toString(16)), /already expired/);
});

test('registration: Etcd.ID names the key; 0.0.0.0 advertises POD_IP', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const reg = new ClientRegistry({ Hosts: [etcd.endpoint] });
  t.after(() => reg.close());
  const before = process.env.POD_IP;
  process.env.POD_IP = '10.1.2.3';
  t.after(() => (before === undefined ? delete process.env.POD_IP : (process.env.POD_IP = before)));
  const server = new RpcServer({ Name: 'a', ListenOn: '0.0.0.0:0', Etcd: { Hosts: [etcd.endpoint], Key: 'svc.rpc', ID: '9007199254740993' } }, { logger: silent });
  t.after(() => server.stop());
  const { port } = await server.start();
  const { kvs } = await reg.range('svc.rpc/', prefixEnd('svc.rpc/'));
  assert.deepEqual(kvs.map((kv) => [kv.key, kv.value]), [['svc.rpc/9007199254740993', `10.1.2.3:${port}`]]);
});

test('registration: key deleted under us is put back; lost lease is re-granted', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const reg = new ClientRegistry({ Hosts: [etcd.endpoint] });
  t.after(() => reg.close());
  const pub = new Publisher(reg, { key: 'k.rpc', value: '10.0.0.9:8080', logger: silent });
  t.after(() => pub.stop());
  await pub.start();
  const first = pub.leaseId;
  const current = async () => (await reg.range('k.rpc/', prefixEnd('k.rpc/'))).kvs;

  await reg.delete(`k.rpc/${first}`);
  await waitFor('key put back', async () => (await current()).length === 1, 5000);
  assert.equal((await current())[0].key, `k.rpc/${first}`);
  assert.equal((await current())[0].lease, first);

  await reg.revoke(first); // lease gone: keepalive reports it, publisher re-registers
  // (the key is in etcd a moment before the put's answer reaches the publisher: wait for both)
  await waitFor('re-registered on a new lease', async () => {
    const kvs = await current();
    return kvs.length === 1 && kvs[0].lease !== first && kvs[0].key === `k.rpc/${kvs[0].lease}` && pub.state === 'registered';
  }, 8000);
  assert.equal(pub.state, 'registered');
  assert.equal((await current())[0].value, '10.0.0.9:8080');
  await pub.stop();
  assert.equal((await current()).length, 0);
});

test('registration: etcd down at start refuses to start (go-zero behaviour)', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  await etcd.stop();
  const server = new RpcServer({ Name: 'a', ListenOn: '127.0.0.1:0', Etcd: { Hosts: [etcd.endpoint], Key: 'down.rpc' } }, { logger: silent });
  await assert.rejects(server.start(), /etcd/);
});

test('discovery: etcd://hosts/key and direct:// target strings reach the registered server', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const server = new RpcServer({ Name: 'g', ListenOn: '127.0.0.1:0', Etcd: { Hosts: [etcd.endpoint], Key: 'greet.rpc' } }, { logger: silent });
  server.addService(GreeterService, { sayHello: (call: { request: { name: string } }, cb: (e: null, r: { message: string }) => void) => cb(null, { message: `hi ${call.request.name}` }) });
  t.after(() => server.stop());
  const { port } = await server.start();
  for (const Target of [`etcd://${etcd.endpoint}/greet.rpc`, `direct://127.0.0.1:${port}`]) {
    const client = await RpcClient.create({ Target }, { logger: silent });
    t.after(() => client.close());
    const g = client.service(GreeterClient);
    assert.equal((await unary(g.sayHello.bind(g), { name: Target })).message, `hi ${Target}`);
  }
});
