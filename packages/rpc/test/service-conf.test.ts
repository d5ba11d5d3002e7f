// go-zero's ServiceConf sections on RpcServer: each one does something or is refused.
// Prometheus and DevServer serve HTTP, Log writes where and how go-zero would, ${VAR} expands
// with useEnv (conf.UseEnv), Timeout is milliseconds and MethodTimeouts are Go durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { RpcServer, RpcClient, loadServerConf, parseServerConf, parseClientConf, unary, ConfigError } from '../src/index.js';
import { expandEnv } from '../src/config/env-expand.js';

const echo = {
  Echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
} as const;
const EchoClient = grpc.makeGenericClientConstructor(echo as unknown as grpc.ServiceDefinition, 'Echo');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-service-conf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

test('Prometheus {Host, Port, Path}: the agent serves the rpc metrics; no Host, no agent', async (t) => {
  const metricsRegistry = new Registry();
  const server = new RpcServer({ Name: 'prom.rpc', ListenOn: '127.0.0.1:0', Prometheus: { Host: '127.0.0.1', Port: 0, Path: '/prom' } }, { metricsRegistry, wrapUpTimeMs: 0 });
  server.addService(echo as unknown as grpc.ServiceDefinition, { Echo: async (call: grpc.ServerUnaryCall<Buffer, Buffer>) => call.request });
  const { port } = await server.start();
  t.after(() => server.stop());
  assert.ok(server.prometheusPort! > 0);
  const client = await RpcClient.create({ Endpoints: [`127.0.0.1:${port}`] }, { metricsRegistry: new Registry() });
  t.after(() => client.close());
  const echoClient = client.service(EchoClient as unknown as new (a: string, c: grpc.ChannelCredentials, o?: grpc.ClientOptions) => grpc.Client & { Echo: (...a: unknown[]) => unknown });
  await unary(echoClient.Echo.bind(echoClient) as never, Buffer.from('hi'));
  const m = await get(server.prometheusPort!, '/prom');
  assert.equal(m.status, 200);
  assert.match(m.type ?? '', /text\/plain/);
  assert.match(m.body, /rpc_server_requests_code_total\{[^}]*method="\/test.Echo\/Echo"[^}]*\} 1/);
  assert.equal((await get(server.prometheusPort!, '/metrics')).status, 404);
  assert.equal(parseServerConf({ Name: 'a', ListenOn: ':1', Prometheus: { Port: 9101 } }).Prometheus, undefined, 'go-zero starts no agent without Host');
  assert.deepEqual(parseServerConf({ Name: 'a', ListenOn: ':1', Prometheus: { Host: '0.0.0.0' } }).Prometheus, { Host: '0.0.0.0', Port: 9101, Path: '/metrics' });
});

test('DevServer {Enabled, Port, MetricsPath, HealthPath}: routes, health (503 while stopping), metrics', async (t) => {
  const metricsRegistry = new Registry();
  const server = new RpcServer(
    { Name: 'dev.rpc', ListenOn: '127.0.0.1:0', DevServer: { Host: '127.0.0.1', Port: 0, HealthPath: '/ready', MetricsPath: '/m', HealthResponse: 'fine' } },
    { metricsRegistry, wrapUpTimeMs: 0 },
  );
  await server.start();
  t.after(() => server.stop());
  const port = server.devServerPort!;
  assert.deepEqual(JSON.parse((await get(port, '/')).body), ['/', '/ready', '/m']);
  assert.deepEqual(await get(port, '/ready').then((r) => [r.status, r.body]), [200, 'fine']);
  assert.equal((await get(port, '/m')).status, 200);
  assert.equal((await get(port, '/debug/pprof/')).status, 404);
  server.health.shutdown();
  assert.deepEqual(await get(port, '/ready').then((r) => [r.status, r.body]), [503, 'Service Unavailable\n']);
  await server.stop();
  await assert.rejects(get(port, '/ready'), 'the dev server closes with the rpc server');

  const defaults = parseServerConf({ Name: 'a', ListenOn: ':1', DevServer: {} }).DevServer;
  assert.deepEqual(defaults, { Enabled: true, Host: '', Port: 6060, MetricsPath: '/metrics', HealthPath: '/healthz', EnableMetrics: true, HealthResponse: 'OK' });
  assert.equal(parseServerConf({ Name: 'a', ListenOn: ':1', DevServer: { Enabled: false } }).DevServer, undefined);
  assert.equal(parseServerConf({ Name: 'a', ListenOn: ':1' }).DevServer, undefined, 'no section, no server (a library does not open :6060 on its own)');
  assert.throws(() => parseServerConf({ Name: 'a', ListenOn: ':1', DevServer: { EnablePprof: true } }), /DevServer\.EnablePprof: Go pprof has no Node equivalent/);
});

test('Log {ServiceName, Mode, Level, Path, Encoding}: file and volume modes, plain encoding, levels', async (t) => {
  const dir = tempDir(t);
  const conf = parseServerConf({ Name: 'log.rpc', ListenOn: '127.0.0.1:0', Log: { Mode: 'file', Path: join(dir, 'logs'), Level: 'info' } });
  assert.equal(conf.Log.ServiceName, 'log.rpc', 'ServiceName defaults to Name, as in go-zero');
  const server = new RpcServer(conf, { wrapUpTimeMs: 0 });
  await server.start();
  await server.stop();
  const access = readFileSync(join(dir, 'logs', 'access.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; name: string; level: number });
  assert.ok(access.some((l) => l.msg === 'rpc server started' && l.name === 'log.rpc'));
  assert.ok(existsSync(join(dir, 'logs', 'error.log')) && existsSync(join(dir, 'logs', 'severe.log')));

  // volume mode, plain encoding, level error: info lines are dropped, errors land in error.log as text
  const vconf = parseServerConf({ Name: 'vol.rpc', ListenOn: '127.0.0.1:0', Log: { ServiceName: 'svc', Mode: 'volume', Path: dir, Encoding: 'plain', Level: 'error' } });
  const vserver = new RpcServer(vconf, { wrapUpTimeMs: 0 });
  const vdir = join(dir, 'svc', hostname());
  await vserver.start();
  (vserver as unknown as { logger: import('pino').Logger }).logger.error({ key: 'v' }, 'something broke');
  await vserver.stop();
  (vserver as unknown as { logger: import('pino').Logger }).logger.error('late line after stop'); // files closed: dropped, no throw
  assert.equal(readFileSync(join(vdir, 'access.log'), 'utf8'), '', 'info is below Level error');
  const line = readFileSync(join(vdir, 'error.log'), 'utf8').trim();
  assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z\terror\tsomething broke\tkey=v$/);

  assert.throws(() => parseServerConf({ Name: 'a', ListenOn: ':1', Log: { Level: 'warn' } }), /Log\.Level: must be one of debug, info, error, severe/);
  assert.throws(() => parseServerConf({ Name: 'a', ListenOn: ':1', Log: { Mode: 'syslog' } }), /Log\.Mode: must be one of console, file, volume/);
  assert.throws(() => parseServerConf({ Name: 'a', ListenOn: ':1', Log: { Rotation: 'size' } }), /Log\.Rotation: not supported/);
});

test('useEnv expands $VAR and ${VAR} like go-zero conf.UseEnv (Go os.ExpandEnv)', (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'env.yaml');
  writeFileSync(f, 'Name: ${SVC_NAME}\nListenOn: 127.0.0.1:$SVC_PORT\nEtcd:\n  Hosts:\n    - ${ETCD_HOST}\n  Key: ${SVC_NAME}\n');
  const env = { SVC_NAME: 'env.rpc', SVC_PORT: '9099', ETCD_HOST: '10.0.0.1:2379' };
  const c = loadServerConf(f, { useEnv: true, env });
  assert.equal(c.Name, 'env.rpc');
  assert.equal(c.ListenOn, '127.0.0.1:9099');
  assert.deepEqual(c.Etcd?.Hosts, ['10.0.0.1:2379']);
  assert.throws(() => loadServerConf(f), /ListenOn: must be host:port, got "127.0.0.1:\$SVC_PORT"/, 'without useEnv the text is taken literally (go-zero default)');
  // Go's os.Expand corner cases
  assert.equal(expandEnv('a${X}b$X-$Y.${}c${unclosed', { X: '1' }), 'a1b1-.cunclosed', 'an unclosed "${" is dropped, the rest kept');
  assert.equal(expandEnv('cost: 5$', {}), 'cost: 5$');
  assert.equal(expandEnv('$1 ${#} $$', { '1': 'one', '#': 'n', $: 'pid' }), 'one n pid');
  assert.equal(expandEnv('$ x', {}), '$ x');
});

test('Timeout is milliseconds (an integer), MethodTimeouts and Shutdown are Go durations; unsupported fields are refused', () => {
  const c = parseServerConf({
    Name: 'a',
    ListenOn: ':1',
    Timeout: 1500,
    MethodTimeouts: [
      { FullMethod: '/p.S/Slow', Timeout: '1m30s' },
      { FullMethod: '/p.S/Fast', Timeout: 5_000_000 }, // a number is nanoseconds in go-zero
    ],
    Shutdown: { WrapUpTime: '200ms', WaitTime: '3s' },
  });
  assert.equal(c.Timeout, 1500);
  assert.deepEqual(c.MethodTimeouts, [
    { FullMethod: '/p.S/Slow', Timeout: 90_000 },
    { FullMethod: '/p.S/Fast', Timeout: 5 },
  ]);
  assert.deepEqual(c.Shutdown, { WrapUpTime: 200, WaitTime: 3000 });
  assert.deepEqual(parseServerConf({ Name: 'a', ListenOn: ':1' }).Shutdown, { WrapUpTime: 1000, WaitTime: 5500 });
  // parsing a parsed conf (RpcServer does) keeps the milliseconds, also through a spread copy
  assert.deepEqual(parseServerConf({ ...c }).MethodTimeouts, c.MethodTimeouts);
  assert.deepEqual(parseServerConf({ ...c }).Shutdown, c.Shutdown);
  assert.throws(() => parseServerConf({ Name: 'a', ListenOn: ':1', Timeout: '2s' }), /Timeout: must be an integer, got "2s"/);
  assert.throws(() => parseServerConf({ Name: 'a', ListenOn: ':1', MethodTimeouts: [{ FullMethod: '/p.S/M', Timeout: '500' }] }), /MethodTimeouts\[0\]\.Timeout: must be a Go duration/);
  assert.equal(parseClientConf({ Endpoints: ['a:1'], KeepaliveTime: '20s' }).KeepaliveTime, 20_000);
  for (const [field, re] of [
    ['Telemetry', /Telemetry: not supported by @tsetcd\/rpc/],
    ['MetricsUrl', /MetricsUrl: not supported/],
    ['Redis', /Redis: not supported/],
  ] as const) {
    assert.throws(() => parseServerConf({ Name: 'a', ListenOn: ':1', [field]: { Host: 'x' } }), (e: unknown) => e instanceof ConfigError && re.test(e.message), field);
  }
  assert.throws(() => parseClientConf({ Endpoints: ['a:1'], Log: { Mode: 'file' } }), /Log: RpcClientConf has no Log in go-zero/);
});

test('Mode dev/test/rt/pre disables load shedding (go-zero load.Disable), pro keeps it', () => {
  assert.ok(new RpcServer({ Name: 'a', ListenOn: '127.0.0.1:0' }).shedder !== undefined);
  for (const Mode of ['dev', 'test', 'rt', 'pre']) assert.equal(new RpcServer({ Name: 'a', ListenOn: '127.0.0.1:0', Mode }).shedder, undefined, Mode);
});
