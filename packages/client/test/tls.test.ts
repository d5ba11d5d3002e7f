import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessCluster, targetBin } from '../../../test/kit/cluster.js';
import { Client, UnavailableError } from '../src/index.js';

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate. */
function makeCerts(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const p = (n: string): string => join(dir, n);
  const ossl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '1', '-subj', '/CN=tsetcd-test-ca');
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(p(`${name}.ext`), ext);
    ossl('req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${name}`);
    ossl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '1', '-extfile', p(`${name}.ext`));
  }
  return { ca: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key') };
}

test('TLS with client certificates', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const certs = makeCerts(dir);
  const tls = { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
  const cluster = await ProcessCluster.start(t, {
    bin: targetBin,
    size: 1,
    args: [`--cert-file=${certs.serverCert}`, `--key-file=${certs.serverKey}`, `--trusted-ca-file=${certs.ca}`, '--client-cert-auth'],
    clientTls: tls,
  });

  await t.test('https endpoint with ca/cert/key: KV and watch work', async () => {
    assert.match(cluster.endpoints[0], /^https:/);
    const c = new Client({ endpoints: cluster.endpoints, tls });
    try {
      const w = c.watch('/tls/k');
      await w.ready;
      await c.put('/tls/k', 'secure');
      assert.equal((await c.get('/tls/k')).kvs[0].value.toString(), 'secure');
      for await (const ev of w) {
        assert.equal(ev.kv.value.toString(), 'secure');
        break;
      }
    } finally {
      await c.close();
    }
  });

  await t.test('bare host:port uses TLS when tls options are given', async () => {
    const c = new Client({ endpoints: [cluster.endpoints[0].replace('https://', '')], tls });
    try {
      assert.equal((await c.get('/tls/k')).kvs[0].value.toString(), 'secure');
    } finally {
      await c.close();
    }
  });

  await t.test('without a client certificate the handshake fails: Unavailable after the dial timeout', async () => {
    const c = new Client({ endpoints: cluster.endpoints, tls: { ca: tls.ca }, dialTimeout: 500 });
    try {
      await assert.rejects(c.get('/tls/k'), UnavailableError);
    } finally {
      await c.close();
    }
  });
});
