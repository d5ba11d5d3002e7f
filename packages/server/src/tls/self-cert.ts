// --auto-tls / --peer-auto-tls: a self-signed certificate in <data-dir>/fixtures/{client,peer}, made
// the way etcd 3.4's transport.SelfCert makes it: ECDSA P-521 key, subject O=etcd, valid for one
// year, key usages digitalSignature+keyEncipherment, extended usage serverAuth (plus any extra),
// not a CA, with the listen URLs' hosts as SANs (IPs as IP SANs, names as DNS SANs). Existing
// cert.pem/key.pem are reused as they are, so a restarted member keeps its certificate.

import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { der, oid, seq, set, time, uint } from './der.js';

export interface SelfCertFiles {
  certFile: string;
  keyFile: string;
}

interface Log {
  info(msg: string, fields?: Record<string, unknown>): void;
}

/** Extended key usages by name (etcd passes clientAuth for the grpc-proxy's certificates). */
const ekuOids = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;
export type ExtKeyUsage = keyof typeof ekuOids;

/** The host part of "host:port" as Go's net.SplitHostPort gives it ("" when there is no port). */
function hostOf(hostPort: string): string {
  const m = /^\[([^\]]*)\]:[^:]*$/.exec(hostPort) ?? /^([^:[\]]*):[^:]*$/.exec(hostPort);
  return m === null ? '' : m[1];
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand "::" and write 8 groups
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  // an IPv4-mapped address is an IPv4 address for Go (To4 != nil)
  if (out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff) return out.subarray(12);
  return out;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), der(0x04, value));
}

/** A DER certificate for `hosts` ("host:port" each), self-signed with `key`. */
export function selfSignedCertificate(key: KeyObject, publicSpki: Buffer, hosts: string[], usages: ExtKeyUsage[] = [], now = new Date()): Buffer {
  const serial = uint(randomBytes(16)); // < 2^128, as etcd draws it
  const sigAlg = seq(oid('1.2.840.10045.4.3.4')); // ecdsa-with-SHA512 (Go's choice for a P-521 key)
  const name = seq(set(seq(oid('2.5.4.10'), der(0x13, Buffer.from('etcd')))));
  const notAfter = new Date(now.getTime() + 365 * 24 * 3600 * 1000);
  const sans: Buffer[] = [];
  for (const hp of hosts) {
    const h = hostOf(hp);
    sans.push(isIP(h) !== 0 ? der(0x87, ipBytes(h)) : der(0x82, Buffer.from(h, 'ascii')));
  }
  const exts = [
    extension('2.5.29.15', true, der(0x03, Buffer.from([0x05, 0xa0]))), // digitalSignature, keyEncipherment
    extension('2.5.29.37', false, seq(...['serverAuth' as const, ...usages].map((u) => oid(ekuOids[u])))),
    extension('2.5.29.19', true, seq()), // basicConstraints: not a CA
    ...(sans.length > 0 ? [extension('2.5.29.17', false, seq(...sans))] : []),
  ];
  const tbs = seq(
    der(0xa0, uint(Buffer.from([2]))),
    serial,
    sigAlg,
    name,
    seq(time(now), time(notAfter)),
    name,
    publicSpki,
    der(0xa3, seq(...exts)),
  );
  const signature = sign('sha512', tbs, { key, dsaEncoding: 'der' });
  return seq(tbs, sigAlg, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

function pem(type: string, body: Buffer): string {
  const b64 = body.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${type}-----\n${b64}\n-----END ${type}-----\n`;
}

/**
 * etcd's SelfCert: reuses dir/cert.pem and dir/key.pem when both exist, else writes new ones.
 * Throws when the directory or the files cannot be written.
 */
export function selfCert(dir: string, hosts: string[], log?: Log, usages: ExtKeyUsage[] = []): SelfCertFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const cert = selfSignedCertificate(privateKey, publicKey.export({ type: 'spki', format: 'der' }), hosts, usages);
  writeFileSync(certFile, pem('CERTIFICATE', cert));
  log?.info('created cert file', { path: certFile });
  const sec1 = createPrivateKey(privateKey.export({ type: 'sec1', format: 'pem' })).export({ type: 'sec1', format: 'der' });
  writeFileSync(keyFile, pem('EC PRIVATE KEY', sec1), { mode: 0o600 });
  log?.info('created key file', { path: keyFile });
  return { certFile, keyFile };
}
