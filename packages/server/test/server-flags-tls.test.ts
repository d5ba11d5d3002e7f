// The TLS and serving flags on the command line: every form (--f v, --f=v, ETCD_F, the
// --config-file keys etcd reads), defaults, and etcd's refusals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfigFile, parseFlags, usage } from '../src/cmd/flags.js';
import { tempDir } from './server-helpers.js';
import { run } from './auth-test-kit.js';

const bin = new URL('../../../bin/tsetcd', import.meta.url).pathname;

test('TLS and serving flags: defaults, --f v, --f=v and ETCD_* forms', () => {
  const d = parseFlags([], {}).values;
  assert.equal(d['auto-tls'], false);
  assert.equal(d['peer-auto-tls'], false);
  assert.deepEqual(d['cipher-suites'], []);
  assert.deepEqual(d['listen-metrics-urls'], []);
  assert.equal(d['max-concurrent-streams'], 4294967295);
  assert.deepEqual(d.cors, ['*']);
  assert.deepEqual(d['host-whitelist'], ['*']);
  assert.equal(d['experimental-peer-skip-client-san-verification'], false);

  const { values } = parseFlags([
    '--auto-tls', '--peer-auto-tls=true', '--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    '--client-crl-file=/c.crl', '--client-cert-allowed-hostname', 'client.example', '--peer-crl-file', '/p.crl',
    '--peer-cert-allowed-cn=peer.example', '--experimental-peer-skip-client-san-verification',
    '--listen-metrics-urls', 'http://localhost:2381', '--max-concurrent-streams=0x10', '--cors', 'http://a.example:80', '--host-whitelist=a,b',
  ], {});
  assert.equal(values['auto-tls'], true);
  assert.equal(values['peer-auto-tls'], true);
  assert.deepEqual(values['cipher-suites'], ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256']);
  assert.equal(values['client-crl-file'], '/c.crl');
  assert.equal(values['client-cert-allowed-hostname'], 'client.example');
  assert.equal(values['peer-crl-file'], '/p.crl');
  assert.equal(values['peer-cert-allowed-cn'], 'peer.example');
  assert.equal(values['experimental-peer-skip-client-san-verification'], true);
  assert.deepEqual(values['listen-metrics-urls'], ['http://localhost:2381']);
  assert.equal(values['max-concurrent-streams'], 16);
  assert.deepEqual(values.cors, ['http://a.example:80']);
  assert.deepEqual(values['host-whitelist'], ['a', 'b']);

  const env = parseFlags([], {
    ETCD_AUTO_TLS: 'true', ETCD_PEER_CERT_ALLOWED_HOSTNAME: 'peer.example', ETCD_MAX_CONCURRENT_STREAMS: '100', ETCD_CIPHER_SUITES: 'TLS_AES_128_GCM_SHA256',
    ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION: 'true',
  }).values;
  assert.equal(env['auto-tls'], true);
  assert.equal(env['peer-cert-allowed-hostname'], 'peer.example');
  assert.equal(env['max-concurrent-streams'], 100);
  assert.deepEqual(env['cipher-suites'], ['TLS_AES_128_GCM_SHA256']);
  assert.equal(env['experimental-peer-skip-client-san-verification'], true);
});

test('--max-concurrent-streams: Go\'s uint32 parsing errors', () => {
  assert.throws(() => parseFlags(['--max-concurrent-streams', 'many'], {}), { message: 'invalid value "many" for flag -max-concurrent-streams: strconv.ParseUint: parsing "many": invalid syntax' });
  assert.throws(() => parseFlags(['--max-concurrent-streams=4294967296'], {}), { message: 'invalid value "4294967296" for flag -max-concurrent-streams: strconv.ParseUint: parsing "4294967296": value out of range' });
  assert.throws(() => parseFlags(['--max-concurrent-streams=-1'], {}), /invalid syntax/);
});

test('config file: etcd\'s YAML keys for the TLS and serving settings', async (t) => {
  const f = join(await tempDir(t), 'etcd.yaml');
  await writeFile(f, [
    'client-transport-security:',
    '  auto-tls: true',
    '  cert-file: /c.pem',
    'peer-transport-security:',
    '  cert-file: /p.pem',
    '  key-file: /p.key',
    '  client-cert-auth: true',
    '  trusted-ca-file: /ca.pem',
    '  auto-tls: true',
    'cipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]',
    'max-concurrent-streams: 7',
    'listen-metrics-urls: http://127.0.0.1:2381,http://127.0.0.1:2382',
    'cors: http://a.example:80',
    'host-whitelist: a.example',
    // the TLSInfo fields etcd's YAML reaches only by Go field name
    'ClientTLSInfo:',
    '  CRLFile: /c.crl',
    '  AllowedHostname: client.example',
    'peertlsinfo:',
    '  crlfile: /p.crl',
    '  AllowedCN: peer.example',
    '  SkipClientSANVerify: true',
  ].join('\n'));
  const { values } = loadConfigFile(f);
  assert.equal(values['auto-tls'], true);
  assert.equal(values['cert-file'], '/c.pem');
  assert.equal(values['peer-cert-file'], '/p.pem');
  assert.equal(values['peer-key-file'], '/p.key');
  assert.equal(values['peer-client-cert-auth'], true);
  assert.equal(values['peer-trusted-ca-file'], '/ca.pem');
  assert.equal(values['peer-auto-tls'], true);
  assert.deepEqual(values['cipher-suites'], ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384']);
  assert.equal(values['max-concurrent-streams'], 7);
  assert.deepEqual(values['listen-metrics-urls'], ['http://127.0.0.1:2381', 'http://127.0.0.1:2382']);
  assert.deepEqual(values.cors, ['http://a.example:80']);
  assert.deepEqual(values['host-whitelist'], ['a.example']);
  assert.equal(values['client-crl-file'], '/c.crl');
  assert.equal(values['client-cert-allowed-hostname'], 'client.example');
  assert.equal(values['peer-crl-file'], '/p.crl');
  assert.equal(values['peer-cert-allowed-cn'], 'peer.example');
  assert.equal(values['experimental-peer-skip-client-san-verification'], true);
});

test('bin/tsetcd refuses bad URLs in --cors / --listen-metrics-urls and unknown --cipher-suites with etcd\'s messages', async (t) => {
  const dir = await tempDir(t);
  const cors = await run(bin, ['--data-dir', join(dir, 'a'), '--cors', 'a.example']);
  assert.equal(cors.code, 2);
  assert.match(cors.stderr, /invalid value "a\.example" for flag -cors: URL scheme must be http, https, unix, or unixs: a\.example/);
  const corsPort = await run(bin, ['--data-dir', join(dir, 'a'), '--cors', 'http://a.example']);
  assert.match(corsPort.stderr, /for flag -cors: URL address does not have the form "host:port": http:\/\/a\.example/);
  const metrics = await run(bin, ['--data-dir', join(dir, 'a'), '--listen-metrics-urls', 'http://127.0.0.1:2381/metrics']);
  assert.equal(metrics.code, 2);
  assert.match(metrics.stderr, /for flag -listen-metrics-urls: URL must not contain a path: http:\/\/127\.0\.0\.1:2381\/metrics/);
  const cipher = await run(bin, ['--data-dir', join(dir, 'b'), '--listen-client-urls', 'http://127.0.0.1:0', '--cipher-suites', 'TLS_NOPE']);
  assert.equal(cipher.code, 1);
  assert.match(cipher.stderr + cipher.stdout, /unexpected TLS cipher suite \\"TLS_NOPE\\"/);
});

test('--help lists the TLS and serving flags', () => {
  const text = usage();
  for (const f of ['auto-tls', 'peer-auto-tls', 'cipher-suites', 'client-crl-file', 'client-cert-allowed-hostname', 'peer-crl-file', 'peer-cert-allowed-cn',
    'peer-cert-allowed-hostname', 'experimental-peer-skip-client-san-verification', 'listen-metrics-urls', 'max-concurrent-streams', 'cors', 'host-whitelist']) {
    assert.match(text, new RegExp(`^  --${f}\\b`, 'm'), f);
  }
});
