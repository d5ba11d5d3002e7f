// The checks etcd makes on a peer's certificate beyond chain verification, with etcd's messages:
//   - --peer-cert-allowed-cn / --peer-cert-allowed-hostname / --client-cert-allowed-hostname:
//     the leaf's CN, or its SANs, must match ("client certificate authentication failed"); Go
//     makes this check on both ends of a connection, on the certificate the other side shows;
//   - on peer and metrics listeners (unless --experimental-peer-skip-client-san-verification),
//     a client certificate with SANs must name the connecting address (checkSAN).

import { X509Certificate } from 'node:crypto';
import { lookup, lookupService } from 'node:dns/promises';
import { isIP } from 'node:net';
import { goQuote } from '@tsetcd/common';

export const certAuthFailed = 'client certificate authentication failed';

export interface AllowedIdentity {
  allowedCn?: string;
  allowedHostname?: string;
}

/** Go's Subject.CommonName: the last CN attribute. */
export function commonName(cert: X509Certificate): string {
  const cns = cert.subject.split('\n').filter((l) => l.startsWith('CN=')).map((l) => l.slice(3));
  return cns.length > 0 ? cns[cns.length - 1] : '';
}

/** The DNS and IP SANs of a certificate. */
export function sans(cert: X509Certificate): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4));
    else if (part.startsWith('IP Address:')) ips.push(part.slice(11));
  }
  return { dns, ips };
}

/** Go's Certificate.VerifyHostname (SANs only, never the CN). */
export function matchesHostname(cert: X509Certificate, host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(h) !== 0) return cert.checkIP(h) !== undefined;
  return cert.checkHost(h, { subject: 'never' }) !== undefined;
}

/**
 * The allowed-CN/hostname check of a verified leaf (undefined when the chain did not verify:
 * Go then has no verified chain to match, and refuses).
 */
export function identityError(allowed: AllowedIdentity, verifiedLeaf: X509Certificate | undefined): string | undefined {
  if (!allowed.allowedCn && !allowed.allowedHostname) return undefined;
  if (verifiedLeaf === undefined) return certAuthFailed;
  if (allowed.allowedCn && commonName(verifiedLeaf) !== allowed.allowedCn) return certAuthFailed;
  if (allowed.allowedHostname && !matchesHostname(verifiedLeaf, allowed.allowedHostname)) return certAuthFailed;
  return undefined;
}

function goQuoteList(items: string[]): string {
  return `[${items.map((s) => goQuote(s)).join(' ')}]`;
}

/** etcd's checkCertSAN: the connecting address must be one of the certificate's SANs. */
export async function sanError(cert: X509Certificate, remoteAddress: string): Promise<string | undefined> {
  const { dns, ips } = sans(cert);
  if (dns.length === 0 && ips.length === 0) return undefined;
  const host = remoteAddress.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  if (ips.length > 0) {
    if (cert.checkIP(host) !== undefined) return undefined;
    if (dns.length === 0) return `x509: certificate is valid for ${ips.join(', ')}, not ${host}`;
  }
  let lastErr: string | undefined;
  // reverse lookup of the address, then forward lookups of the certificate's names
  try {
    const { hostname } = await lookupService(host, 0);
    const name = hostname.replace(/\.$/, '');
    if (dns.some((d) => (d.startsWith('*.') ? name.endsWith(d.slice(1)) : d === name))) return undefined;
  } catch (e) {
    lastErr = `lookup ${host}: ${(e as Error).message}`;
  }
  for (const d of dns.filter((x) => !x.startsWith('*.'))) {
    try {
      const addrs = await lookup(d, { all: true });
      if (addrs.some((a) => a.address === host)) return undefined;
    } catch {
      lastErr = `lookup ${d}: no such host`;
    }
  }
  return `tls: ${JSON.stringify(host)} does not match any of DNSNames ${goQuoteList(dns)}${lastErr ? ` (${lastErr})` : ''}`;
}
