// Certificates for the TLS flag tests, made with the openssl command line: a CA, leaf
// certificates with chosen CN, SANs and usages, and a CRL revoking some of them; and a logger
// that keeps a member's log lines for the tests to look for.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { ServerLogger } from '../src/etcdserver/config.js';

export interface Leaf {
  cert: string;
  key: string;
  /** serial as openssl prints it (uppercase hex) */
  serial: string;
}

export interface TestCa {
  dir: string;
  ca: string;
  /** a leaf signed by this CA; san like "IP:127.0.0.1,DNS:localhost" */
  issue(name: string, o: { cn: string; san?: string; usage?: string }): Leaf;
  /** a CRL (PEM) listing `revoked` */
  crl(name: string, revoked: Leaf[]): string;
}

export function makeCa(t: TestContext, caName = 'ca'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', `${caName}.key`, '-out', `${caName}.crt`, '-days', '2', '-subj', `/CN=${caName}`);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = d', '[d]', `database = ${join(dir, 'index.txt')}`, `certificate = ${join(dir, `${caName}.crt`)}`,
    `private_key = ${join(dir, `${caName}.key`)}`, 'default_md = sha256', 'default_crl_days = 1', '',
  ].join('\n'));
  return {
    dir,
    ca: join(dir, `${caName}.crt`),
    issue(name, o) {
      ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${o.cn}`);
      const ext = [`extendedKeyUsage=${o.usage ?? 'serverAuth,clientAuth'}`, ...(o.san ? [`subjectAltName=${o.san}`] : [])];
      writeFileSync(join(dir, `${name}.ext`), ext.join('\n') + '\n');
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial',
        '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
      const serial = ssl('x509', '-in', `${name}.crt`, '-noout', '-serial').trim().replace(/^serial=/, '');
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), serial };
    },
    crl(name, revoked) {
      for (const l of revoked) ssl('ca', '-config', 'ca.cnf', '-revoke', l.cert);
      ssl('ca', '-config', 'ca.cnf', '-gencrl', '-out', `${name}.crl`);
      return join(dir, `${name}.crl`);
    },
  };
}

export function read(path: string): Buffer {
  return readFileSync(path);
}

export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A member logger that records its lines. */
export function captureLog(): ServerLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>): void => {
    lines.push({ level, msg, fields: fields ?? {} });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
