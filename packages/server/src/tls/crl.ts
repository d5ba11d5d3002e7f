// --client-crl-file / --peer-crl-file: etcd reads the CRL file on every accepted TLS connection
// and refuses a certificate whose serial number is listed (`transport: certificate serial <hex>
// revoked`). Like etcd, only serial numbers are compared; the CRL's signature and dates are not
// checked. The file may be PEM ("X509 CRL") or DER.

import { readFileSync } from 'node:fs';
import { children } from './der.js';

/** A serial as etcd prints it: lowercase hex of the magnitude bytes, no leading zero bytes. */
export function normalizeSerial(hex: string): string {
  let h = hex.toLowerCase();
  if (h.length % 2 === 1) h = '0' + h;
  while (h.length > 2 && h.startsWith('00')) h = h.slice(2);
  return h;
}

function crlDer(bytes: Buffer): Buffer {
  const text = bytes.toString('latin1');
  const m = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(text);
  return m === null ? bytes : Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

/** The revoked serial numbers of a CRL (normalized hex). Throws on a malformed CRL. */
export function revokedSerials(bytes: Buffer): Set<string> {
  const [list] = children(crlDer(bytes));
  if (list === undefined || list.tag !== 0x30) throw new Error('x509: malformed crl');
  const [tbs] = children(list.body);
  if (tbs === undefined || tbs.tag !== 0x30) throw new Error('x509: malformed crl');
  const out = new Set<string>();
  const fields = children(tbs.body);
  let i = 0;
  if (fields[i]?.tag === 0x02) i++; // version
  i += 3; // signature algorithm, issuer, thisUpdate
  if (fields[i]?.tag === 0x17 || fields[i]?.tag === 0x18) i++; // nextUpdate
  const revoked = fields[i];
  if (revoked?.tag !== 0x30) return out;
  for (const entry of children(revoked.body)) {
    const [serial] = children(entry.body);
    if (serial?.tag === 0x02) out.add(normalizeSerial(serial.body.toString('hex')));
  }
  return out;
}

/** etcd's checkCRL: reads `crlFile` now; an error message when one of `serials` is revoked. */
export function checkCrl(crlFile: string, serials: string[]): string | undefined {
  let revoked: Set<string>;
  try {
    revoked = revokedSerials(readFileSync(crlFile));
  } catch (e) {
    return (e as Error).message;
  }
  for (const s of serials) {
    const n = normalizeSerial(s);
    if (revoked.has(n)) return `transport: certificate serial ${n} revoked`;
  }
  return undefined;
}
