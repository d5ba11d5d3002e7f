// Greeter server. Run: node --import tsx examples/greeter/server.ts -f examples/greeter/hello.yaml
// Env: ETCD_HOSTS (comma list) overrides Etcd.Hosts, LISTEN_ON overrides ListenOn,
// GREETER_DELAY_MS adds latency, GREETER_FAIL=1 answers INTERNAL (for demos and tests).
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { RpcServer, parseServerConf, StatusError, grpc } from '@tsetcd/rpc';
import { GreeterService, type GreeterServer } from './gen/hello.js';

const { values } = parseArgs({ options: { f: { type: 'string', default: new URL('./hello.yaml', import.meta.url).pathname } } });
const raw = parse(readFileSync(values.f!, 'utf8')) as Record<string, any>;
if (process.env.ETCD_HOSTS && raw.Etcd) raw.Etcd.Hosts = process.env.ETCD_HOSTS.split(',');
if (process.env.LISTEN_ON) raw.ListenOn = process.env.LISTEN_ON;
if (process.env.ETCD_KEY && raw.Etcd) raw.Etcd.Key = process.env.ETCD_KEY;
const conf = parseServerConf(raw, values.f);

const delayMs = Number(process.env.GREETER_DELAY_MS ?? 0);
const server = new RpcServer(conf, { leaseTtlSec: process.env.LEASE_TTL_SEC ? Number(process.env.LEASE_TTL_SEC) : undefined });
const greeter: GreeterServer = {
  sayHello(call, callback) {
    const reply = () => {
      if (process.env.GREETER_FAIL === '1') return callback(new StatusError(grpc.status.INTERNAL, 'greeter failing on purpose'));
      callback(null, { message: `hello ${call.request.name} from ${server.advertised}` });
    };
    if (delayMs > 0) setTimeout(reply, delayMs);
    else reply();
  },
};
server.addService(GreeterService, greeter);
const { address } = await server.start({ installSignalHandlers: true });
console.log(`READY ${address}`);
