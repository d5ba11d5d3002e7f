// Greeter client: calls SayHello in a loop and prints which server answered.
// Run: node --import tsx examples/greeter/client.ts [-f client.yaml] [-n count] [-i intervalMs]
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
const client = await RpcClient.create(loadClientConf(values.f!));
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
