// etcdctl 3.4's per-endpoint maintenance calls (endpoint status/hashkv, --cluster) send the
// endpoint URL ("http://host:port") as the HTTP/2 :authority; tsetcd must answer them as etcd
// does instead of resetting the stream (node:http2 refuses such an authority on its own).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTsetcd, tempDir } from './kit/tsetcd-process.js';
import { bareAuthority, huffmanDecodeString, rewriteAuthority } from '../packages/server/src/grpc/h2c-authority.js';
import { run } from './kit/processes.js';

const etcdctl = (args: string[]) => run('etcdctl', ['--command-timeout', '5s', ...args], { timeoutMs: 20_000 });

test('HPACK pieces: Huffman decoding (RFC 7541 C.4.1) and the :authority rewrite', () => {
  assert.equal(huffmanDecodeString(Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex')).toString(), 'www.example.com');
  assert.equal(bareAuthority('http://127.0.0.1:2379'), '127.0.0.1:2379');
  assert.equal(bareAuthority('https://etcd-0.etcd:2379/'), 'etcd-0.etcd:2379');
  assert.equal(bareAuthority('127.0.0.1:2379'), undefined);
  // ":method: POST" (indexed 3), then ":authority" literal with incremental indexing (name index 1)
  const value = Buffer.from('http://127.0.0.1:2379');
  const block = Buffer.concat([Buffer.from([0x83, 0x41, value.length]), value, Buffer.from([0x86])]);
  const fixed = rewriteAuthority(block)!;
  assert.deepEqual(fixed, Buffer.concat([Buffer.from([0x83, 0x41, 14]), Buffer.from('127.0.0.1:2379'), Buffer.from([0x86])]));
  // Huffman-coded value: www.example.com has no scheme, so nothing changes
  const plain = Buffer.concat([Buffer.from([0x41, 0x8c]), Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex')]);
  assert.equal(rewriteAuthority(plain), undefined);
});

test('etcdctl endpoint status/hashkv with http:// endpoints and --cluster answer like etcd', async (t) => {
  const dir = await tempDir(t);
  const srv = await startTsetcd(t, dir);
  const url = `http://${srv.endpoint}`;
  const put = await etcdctl(['--endpoints', url, 'put', 'k', 'v']);
  assert.equal(put.code, 0, put.stderr);
  const status = await etcdctl(['--endpoints', url, 'endpoint', 'status', '-w', 'json']);
  assert.equal(status.code, 0, status.stderr);
  const st = JSON.parse(status.stdout);
  assert.equal(st[0].Endpoint, url);
  assert.equal(st[0].Status.version, '3.4.23');
  const hash = await etcdctl(['--endpoints', url, 'endpoint', 'hashkv']);
  assert.equal(hash.code, 0, hash.stderr);
  assert.match(hash.stdout, new RegExp(`^${url}, \\d+\\n$`));
  const cluster = await etcdctl(['--endpoints', srv.endpoint, 'endpoint', 'status', '--cluster']);
  assert.equal(cluster.code, 0, cluster.stderr);
  assert.equal(cluster.stdout.split('\n').filter(Boolean).length, 1);
  assert.match(cluster.stdout, /^http:\/\/[^,]+, [0-9a-f]{16}, 3\.4\.23, /);
  // the ordinary client path keeps working on the same port
  const get = await etcdctl(['--endpoints', url, 'get', 'k', '--print-value-only']);
  assert.equal(get.stdout, 'v\n');
});
