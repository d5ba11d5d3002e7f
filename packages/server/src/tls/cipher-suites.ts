// --cipher-suites: etcd takes Go's cipher suite names (crypto/tls CipherSuites() and
// InsecureCipherSuites(), plus two legacy CHACHA20 aliases) and refuses others with
// `unexpected TLS cipher suite "NAME"`. Node's TLS is OpenSSL, so each name maps to OpenSSL's.
// As in Go, the list restricts TLS 1.2; TLS 1.3 suites are not configurable and stay enabled.

import { createSecureContext } from 'node:tls';

const goToOpenssl: Record<string, string | undefined> = {
  // TLS 1.3 (accepted by etcd; no effect, Go always enables them)
  TLS_AES_128_GCM_SHA256: undefined,
  TLS_AES_256_GCM_SHA384: undefined,
  TLS_CHACHA20_POLY1305_SHA256: undefined,
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/** TLS 1.3 suites, for a list that names none OpenSSL still offers for TLS 1.2. */
const tls13Only = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

export class CipherSuiteError extends Error {}

/**
 * OpenSSL's cipher string for Go suite names (undefined for an empty list: the defaults).
 * Throws CipherSuiteError with etcd's message for a name Go does not know.
 */
export function opensslCiphers(names: string[]): string | undefined {
  if (names.length === 0) return undefined;
  const out: string[] = [];
  for (const n of names) {
    if (!(n in goToOpenssl)) throw new CipherSuiteError(`unexpected TLS cipher suite "${n}"`);
    const o = goToOpenssl[n];
    if (o !== undefined && !out.includes(o)) out.push(o);
  }
  // Go keeps TLS 1.3 on whatever the list; with no TLS 1.2 suite left (or none that this
  // OpenSSL still builds, like RC4) only TLS 1.3 works
  if (out.length === 0) return tls13Only;
  try {
    createSecureContext({ ciphers: out.join(':') });
  } catch {
    return tls13Only;
  }
  return out.join(':');
}
