// What a go-zero user expects beyond the config: both etcd target forms, the publisher's
// Pause/Resume, and dial/registration errors that name what failed (etcd and its endpoints,
// or the missing registration), and round_robin for calls that alternate (p2c_ewma does not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { fileURLToPath } from 'node:url';
import { RpcServer, RpcClient, unary, DialError, RegistryError, ClientRegistry, prefixEnd, loadClientConf } from '../src/index.js';
import { GreeterService, GreeterClient } from '../../../examples/greeter/gen/hello.js';
import { startEtcd, freePort } from './helpers/etcd.js';
import { waitFor } from '../../../test/kit/wait.js';

const silent = pino({ level: 'silent' });
const greeter = { sayHello: (call: { request: { name: string } }, cb: (e: null, r: { message: string }) => void) => cb(null, { message: `hi ${call.request.name}` }) };

async function registered(reg: ClientRegistry, key: string): Promise<string[]> {
  return (await reg.range(`${key}/`, prefixEnd(`${key}/`))).kvs.map((kv) => kv.value);
}

test("targets: go-zero's etcd:///h1,h2?key=k and the older etcd://h/k both discover the server", async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const server = new RpcServer({ Name: 'g', ListenOn: '127.0.0.1:0', Etcd: { Hosts: [etcd.endpoint], Key: 'greet.rpc' } }, { logger: silent, wrapUpTimeMs: 0 });
  server.addService(GreeterService, greeter);
  t.after(() => server.stop());
  await server.start();
  const dead = `127.0.0.1:${await freePort()}`; // a second etcd host that is down: the client fails over
  for (const Target of [`etcd:///${dead},${etcd.endpoint}?key=greet.rpc`, `etcd://${etcd.endpoint}/greet.rpc`]) {
    const client = await RpcClient.create({ Target }, { logger: silent });
    t.after(() => client.close());
    const g = client.service(GreeterClient);
    assert.equal((await unary(g.sayHello.bind(g), { name: Target })).message, `hi ${Target}`);
  }
  const fromConf = await RpcClient.create({ Etcd: { Hosts: [etcd.endpoint], Key: 'greet.rpc' } }, { logger: silent });
  t.after(() => fromConf.close());
  assert.equal(fromConf.target, `etcd:///${etcd.endpoint}?key=greet.rpc`, 'RpcClient names its target in the current form');
});

test('registration: pauseRegistration() revokes the lease (clients drop the server), resumeRegistration() puts it back', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const reg = new ClientRegistry({ Hosts: [etcd.endpoint] });
  t.after(() => reg.close());
  const server = new RpcServer({ Name: 'p', ListenOn: '127.0.0.1:0', Etcd: { Hosts: [etcd.endpoint], Key: 'pause.rpc' } }, { logger: silent, wrapUpTimeMs: 0 });
  server.addService(GreeterService, greeter);
  t.after(() => server.stop());
  const { address } = await server.start();
  assert.deepEqual(await registered(reg, 'pause.rpc'), [address]);

  await server.pauseRegistration();
  assert.deepEqual(await registered(reg, 'pause.rpc'), [], 'the key left etcd with its lease');
  // a client started now finds nothing registered, and says so
  await assert.rejects(
    RpcClient.create({ Etcd: { Hosts: [etcd.endpoint], Key: 'pause.rpc' } }, { logger: silent, dialTimeoutMs: 1500 }),
    (e: unknown) => e instanceof DialError && e.reason === 'no-server-registered' && e.message.includes('no server registered under "pause.rpc/"') && e.message.includes(etcd.endpoint),
  );
  await server.pauseRegistration(); // twice is harmless

  await server.resumeRegistration();
  assert.deepEqual(await registered(reg, 'pause.rpc'), [address]);
  const client = await RpcClient.create({ Etcd: { Hosts: [etcd.endpoint], Key: 'pause.rpc' } }, { logger: silent });
  t.after(() => client.close());
  const g = client.service(GreeterClient);
  assert.equal((await unary(g.sayHello.bind(g), { name: 'back' })).message, 'hi back');

  // the re-registration after a lost lease keeps working after a resume
  const [kv] = (await reg.range('pause.rpc/', prefixEnd('pause.rpc/'))).kvs;
  await reg.revoke(kv.lease);
  await waitFor('re-registered on a new lease', async () => {
    const kvs = (await reg.range('pause.rpc/', prefixEnd('pause.rpc/'))).kvs;
    return kvs.length === 1 && kvs[0].lease !== kv.lease && kvs[0].value === address;
  }, 10_000, 50);
});

test('errors name what failed: etcd unreachable (client and server name the endpoints)', async (t) => {
  const down1 = `127.0.0.1:${await freePort()}`;
  const down2 = `127.0.0.1:${await freePort()}`;
  const err = await RpcClient.create({ Etcd: { Hosts: [down1, down2], Key: 'nowhere.rpc' } }, { logger: silent, dialTimeoutMs: 1500 }).then(
    () => assert.fail('create should fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DialError, String(err));
  assert.equal(err.reason, 'etcd-unreachable');
  assert.match(err.message, new RegExp(`etcd unreachable at ${down1},${down2}`));

  const server = new RpcServer({ Name: 'lonely.rpc', ListenOn: '127.0.0.1:0', Etcd: { Hosts: [down1, down2], Key: 'lonely.rpc' } }, { logger: silent, wrapUpTimeMs: 0 });
  t.after(() => server.stop());
  const serr = await server.start().then(
    () => assert.fail('start should fail'),
    (e: unknown) => e,
  );
  assert.ok(serr instanceof RegistryError, String(serr));
  assert.match((serr as Error).message, new RegExp(`cannot register "lonely.rpc" \\(127\\.0\\.0\\.1:\\d+\\) in etcd at ${down1},${down2}: etcd grant`));
});

test('errors name what failed: registered servers that do not answer', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const reg = new ClientRegistry({ Hosts: [etcd.endpoint] });
  t.after(() => reg.close());
  const ghost = `127.0.0.1:${await freePort()}`;
  await reg.put('ghost.rpc/1', ghost);
  await assert.rejects(
    RpcClient.create({ Etcd: { Hosts: [etcd.endpoint], Key: 'ghost.rpc' } }, { logger: silent, dialTimeoutMs: 1500 }),
    (e: unknown) => e instanceof DialError && e.reason === 'servers-unreachable' && e.message.includes(`registered under "ghost.rpc/" (${ghost}), none reachable`),
  );
});

test('balancing: client-rr.yaml (round_robin) alternates between two servers, as the README shows', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const addresses: string[] = [];
  for (let i = 0; i < 2; i++) {
    const server = new RpcServer({ Name: 'rr', ListenOn: '127.0.0.1:0', Etcd: { Hosts: [etcd.endpoint], Key: 'hello.rpc' } }, { logger: silent, wrapUpTimeMs: 0 });
    server.addService(GreeterService, { sayHello: (_call: unknown, cb: (e: null, r: { message: string }) => void) => cb(null, { message: server.advertised }) });
    t.after(() => server.stop());
    addresses.push((await server.start()).address);
  }
  const conf = loadClientConf(fileURLToPath(new URL('../../../examples/greeter/client-rr.yaml', import.meta.url)));
  assert.equal(conf.BalancerName, 'round_robin');
  conf.Etcd!.Hosts = [etcd.endpoint];
  const client = await RpcClient.create(conf, { logger: silent });
  t.after(() => client.close());
  const g = client.service(GreeterClient);
  const call = async () => (await unary(g.sayHello.bind(g), { name: 'x' })).message;
  // until both connections are up, every answer may come from the first one
  const seen = new Set<string>();
  for (let i = 0; seen.size < 2; i++) {
    if (i > 200) assert.fail(`only ${[...seen]} answered`);
    seen.add(await call());
  }
  const answers: string[] = [];
  for (let i = 0; i < 10; i++) answers.push(await call());
  for (let i = 1; i < answers.length; i++) assert.notEqual(answers[i], answers[i - 1], `calls alternate: ${answers.join(' ')}`);
  assert.deepEqual([...new Set(answers)].sort(), [...addresses].sort());
});
