// Greeter client: calls SayHello in a loop and prints which server answered.
// Run: node --import tsx examples/greeter/client.ts [-f client.yaml] [-n count] [-i intervalMs]
// Env: ETCD_HOSTS (comma list) and ETCD_KEY override the yaml.
import { parseArgs } from 'node:util';
import { RpcClient, loadClientConf, unary } from '@tsetcd/rpc';
import { GreeterClient } from './gen/hello.js';

const { values } = parseArgs({
  options: {
    f: { type: 'string', default: new URL('./client.yaml', import.meta.url).pathname },
    n: { type: 'string', default: '0' },
    i: { type: 'string', default: '500' },
  },
});
const conf = loadClientConf(values.f!);
if (process.env.ETCD_HOSTS && conf.Etcd) conf.Etcd.Hosts = process.env.ETCD_HOSTS.split(',');
if (process.env.ETCD_KEY && conf.Etcd) conf.Etcd.Key = process.env.ETCD_KEY;
const client = await RpcClient.create(conf);
const greeter = client.service(GreeterClient);
const count = Number(values.n);
for (let i = 0; count === 0 || i < count; i++) {
  try {
    const res = await unary(greeter.sayHello.bind(greeter), { name: `call-${i}` });
    console.log(res.message);
  } catch (err) {
    console.log(`error: ${(err as Error).message}`);
  }
  await new Promise((r) => setTimeout(r, Number(values.i)));
}
client.close();
