// Two greeter server processes registered in a real etcd, one client calling
// continuously through discovery + p2c: kill -9, restart, SIGTERM and an etcd outage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { RpcClient, unary, ClientRegistry, prefixEnd } from '../src/index.js';
import { GreeterClient } from '../../../examples/greeter/gen/hello.js';
import { startEtcd } from './helpers/etcd.js';
import { startGreeter, killGreeter, greeterDir } from './helpers/greeter-process.js';
import { pino } from 'pino';
import { waitFor } from '../../../test/kit/wait.js';


class Load {
  ok = 0;
  failed: string[] = [];
  byServer = new Map<string, number>();
  private running = true;
  private loops: Promise<void>[] = [];
  constructor(greeter: InstanceType<typeof GreeterClient>, concurrency: number) {
    for (let i = 0; i < concurrency; i++) {
      this.loops.push(
        (async () => {
          while (this.running) {
            try {
              const res = await unary(greeter.sayHello.bind(greeter), { name: 'x' }, { deadline: Date.now() + 3000 });
              const server = res.message.split(' from ')[1];
              this.byServer.set(server, (this.byServer.get(server) ?? 0) + 1);
              this.ok++;
            } catch (err) {
              this.failed.push((err as grpc.ServiceError).details ?? String(err));
            }
            await sleep(5); // paces this background load; nothing waits on it
          }
        })(),
      );
    }
  }
  reset() {
    this.ok = 0;
    this.failed = [];
    this.byServer.clear();
  }
  async stop() {
    this.running = false;
    await Promise.all(this.loops);
  }
}

test('cluster: kill -9, restart, SIGTERM and etcd outage with continuous calls', { timeout: 180_000 }, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.close());
  const key = 'hello.rpc';
  const reg = new ClientRegistry({ Hosts: [etcd.endpoint] });
  t.after(() => reg.close());
  const ttl = 3;
  let a = await startGreeter({ etcd: etcd.endpoint, key, leaseTtlSec: ttl });
  let b = await startGreeter({ etcd: etcd.endpoint, key, leaseTtlSec: ttl });
  t.after(() => killGreeter(a));
  t.after(() => killGreeter(b));

  const registered = async () => (await reg.range(`${key}/`, prefixEnd(`${key}/`))).kvs.map((kv) => kv.value).sort();
  assert.deepEqual(await registered(), [a.address, b.address].sort());

  const client = await RpcClient.create({ Etcd: { Hosts: [etcd.endpoint], Key: key } }, { logger: pino({ level: 'silent' }) });
  t.after(() => client.close());
  const greeter = client.service(GreeterClient);
  const load = new Load(greeter, 4);
  t.after(() => load.stop());

  await waitFor('traffic on both servers', () => (load.byServer.get(a.address) ?? 0) > 20 && (load.byServer.get(b.address) ?? 0) > 20, 10_000);

  // kill -9 server a: only in-flight calls may fail; its key goes when the lease expires
  load.reset();
  await killGreeter(a, 'SIGKILL');
  await waitFor('calls to keep succeeding on b', () => load.ok > 20, 10_000);
  const failedAfterKill = load.failed.length;
  assert.ok(failedAfterKill <= 4, `at most the in-flight calls fail, got ${failedAfterKill}: ${load.failed.slice(0, 3)}`);
  await waitFor('dead server key to expire', async () => !(await registered()).includes(a.address), (ttl + 4) * 1000);
  assert.deepEqual(await registered(), [b.address]);

  // restart a on the same port: traffic returns to both
  const port = Number(a.address.split(':')[1]);
  a = await startGreeter({ etcd: etcd.endpoint, key, port, leaseTtlSec: ttl });
  load.reset();
  await waitFor('traffic back on restarted server', () => (load.byServer.get(a.address) ?? 0) > 20, 10_000);
  assert.equal(load.failed.length, 0, `no failures after restart: ${load.failed.slice(0, 3)}`);

  // SIGTERM b: graceful, zero failed calls
  load.reset();
  await killGreeter(b, 'SIGTERM');
  assert.deepEqual(await registered(), [a.address], 'b deregistered on shutdown');
  const okAtStop = load.ok;
  await waitFor('calls to go on to a after b stopped', () => load.ok > okAtStop + 20, 10_000);
  assert.equal(load.failed.length, 0, `SIGTERM must fail no call: ${load.failed.slice(0, 3)}`);

  // etcd outage: calls keep flowing to the known server
  await etcd.stop();
  load.reset();
  // the outage must outlast the servers' lease TTL: its length is what is under test
  await sleep(ttl * 1000 + 1500);
  assert.equal(load.failed.length, 0, `calls during etcd outage: ${load.failed.slice(0, 3)}`);
  assert.ok(load.ok > 20);

  // etcd back (same data dir): a re-registers, the client sees a new server again
  await etcd.start();
  await waitFor('server re-registered', async () => (await registered().catch(() => [])).includes(a.address), 10_000);
  b = await startGreeter({ etcd: etcd.endpoint, key, leaseTtlSec: ttl });
  load.reset();
  await waitFor('client sees the new server', () => (load.byServer.get(b.address) ?? 0) > 10, 10_000);
  assert.equal(load.failed.length, 0, `failures after etcd came back: ${load.failed.slice(0, 3)}`);

  // the example client, run as documented, prints which server answered
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', `${greeterDir}/client.ts`, '-n', '4', '-i', '10'], { env: { ...process.env, ETCD_HOSTS: etcd.endpoint, ETCD_KEY: key, RPC_LOG_LEVEL: 'warn' }, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 4, out);
  for (const [i, line] of lines.entries()) assert.match(line, new RegExp(`^hello call-${i} from (${a.address}|${b.address})$`));
});
