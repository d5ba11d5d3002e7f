// The seed's Go demo with @tsetcd/client: connect to 127.0.0.1:2379, put /demo/demo1_key, get it,
// get the /demo/ prefix, update it with prevKv and print the previous value, then delete it.
// Run: node --import tsx examples/client-demo.ts   (ETCD_ENDPOINTS=host:port,... to override)
import { Client } from '@tsetcd/client';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
const client = new Client({ endpoints, dialTimeout: 5_000 });

try {
  const put = await client.put('/demo/demo1_key', 'demo1_value');
  console.log(`put /demo/demo1_key at revision ${put.revision}`);

  const got = await client.get('/demo/demo1_key');
  for (const kv of got.kvs) console.log(`get ${kv.key.toString()} = ${kv.value.toString()}`);

  const all = await client.get('/demo/', { prefix: true });
  console.log(`prefix /demo/: ${all.count} key(s)`);
  for (const kv of all.kvs) console.log(`  ${kv.key.toString()} = ${kv.value.toString()}`);

  const updated = await client.put('/demo/demo1_key', 'demo1_value_v2', { prevKv: true });
  console.log(`previous value: ${updated.prevKv?.value.toString() ?? '(none)'}`);

  const deleted = await client.delete('/demo/demo1_key');
  console.log(`deleted ${deleted.deleted} key(s)`);
} finally {
  await client.close();
}
