// One side's TLS settings (etcd's transport.TLSInfo) and what follows from them for Node's TLS:
// server options, dialing options, the checks made on each accepted connection after the
// handshake, and the "rejected connection" log line with etcd's wording.
//
// Node cannot run a custom certificate check inside the handshake, so the server asks for the
// client certificate without rejecting at the TLS level and makes every check itself before the
// connection is handed to HTTP or gRPC: chain, allowed CN/hostname, SANs, CRL.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as https from 'node:https';
import * as tls from 'node:tls';
import { RefusalAlertAgent } from './refusal-alert.js';
import { certReloader } from './cert-reloader.js';
import { checkCrl } from './crl.js';
import { identityError, sanError, sans } from './cert-checks.js';

export interface TlsInfo {
  certFile: string;
  keyFile: string;
  trustedCaFile?: string;
  clientCertAuth?: boolean;
  crlFile?: string;
  allowedCn?: string;
  allowedHostname?: string;
  /** etcd --experimental-peer-skip-client-san-verification */
  skipClientSanVerify?: boolean;
  /** OpenSSL cipher string (opensslCiphers of --cipher-suites) */
  ciphers?: string;
  /** made by --auto-tls/--peer-auto-tls: whoever dials with it does not verify the other side */
  selfCert?: boolean;
}

/** Go requires and verifies client certificates when a trusted CA is given, or with client-cert-auth. */
export function requiresClientCert(info: TlsInfo): boolean {
  return Boolean(info.trustedCaFile) || Boolean(info.clientCertAuth);
}

/** Options for a TLS server (the files are read now). */
export function serverTlsOptions(info: TlsInfo): tls.TlsOptions {
  return {
    cert: readFileSync(info.certFile),
    key: readFileSync(info.keyFile),
    ca: info.trustedCaFile ? readFileSync(info.trustedCaFile) : undefined,
    requestCert: requiresClientCert(info),
    // verified by acceptedConnectionError, so that the refusal is logged with etcd's words
    rejectUnauthorized: false,
    ciphers: info.ciphers,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Options for dialing with these settings (peer streams, snapshots, /members). With an allowed
 * CN or hostname, an agent that refuses a server certificate with a TLS alert, as Go does. The
 * certificate and key are getters: replaced files are used from the next dial, as in etcd.
 */
export function clientTlsOptions(info: TlsInfo): tls.ConnectionOptions & { agent?: https.Agent } {
  // read when the options are spread into a request: replaced files are used from the next dial
  let pair: { cert: Buffer; key: Buffer } = { cert: readFileSync(info.certFile), key: readFileSync(info.keyFile) };
  const reload = certReloader(info.certFile, info.keyFile);
  const current = (): typeof pair => (pair = reload() ?? pair);
  return {
    ...(info.allowedCn || info.allowedHostname ? { agent: new RefusalAlertAgent() } : {}),
    get cert() {
      return current().cert;
    },
    get key() {
      return current().key;
    },
    ca: info.trustedCaFile ? readFileSync(info.trustedCaFile) : undefined,
    ciphers: info.ciphers,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: !info.selfCert,
    checkServerIdentity: (host, cert) => {
      const err = tls.checkServerIdentity(host, cert);
      if (err !== undefined) return err;
      const id = identityError(info, new X509Certificate(cert.raw));
      return id === undefined ? undefined : new Error(id);
    },
  };
}

/** Go's text for OpenSSL's chain verification result codes. */
function x509Message(code: string): string {
  switch (code) {
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'x509: certificate has expired or is not yet valid';
    case 'INVALID_PURPOSE':
      return 'x509: certificate specifies an incompatible key usage';
    default:
      return `x509: ${code}`;
  }
}

function chainSerials(socket: tls.TLSSocket): string[] {
  const out: string[] = [];
  let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c !== undefined && c.serialNumber !== undefined && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(c.serialNumber);
    c = c.issuerCertificate;
  }
  return out;
}

/**
 * What etcd would refuse an accepted connection for (undefined: accept). `checkSan`: the
 * listener checks the client certificate's SANs against the remote address (peer, metrics).
 */
export async function acceptedConnectionError(info: TlsInfo, socket: tls.TLSSocket, checkSan: boolean): Promise<string | undefined> {
  const peer = socket.getPeerX509Certificate();
  if (requiresClientCert(info)) {
    if (peer === undefined) return "tls: client didn't provide a certificate";
    if (!socket.authorized) return `tls: failed to verify client certificate: ${x509Message(String(socket.authorizationError))}`;
    const id = identityError(info, peer);
    if (id !== undefined) return id;
  }
  if (peer === undefined) return undefined;
  if (checkSan && !info.skipClientSanVerify) {
    const e = await sanError(peer, socket.remoteAddress ?? '');
    if (e !== undefined) return e;
  }
  if (info.crlFile) return checkCrl(info.crlFile, chainSerials(socket));
  return undefined;
}

/** Go's words for a failed handshake, from Node's error. */
export function handshakeErrorMessage(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
      return 'remote error: tls: bad certificate';
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
      return 'remote error: tls: unknown certificate authority';
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN':
      return 'remote error: tls: unknown certificate';
    case 'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR':
      return 'remote error: tls: error decrypting message';
    case 'ERR_SSL_NO_SHARED_CIPHER':
      return 'tls: no cipher suite supported by both client and server';
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return 'tls: client offered only unsupported versions';
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return "tls: client didn't provide a certificate";
    case 'ECONNRESET':
      return 'EOF';
    default:
      return err.message.replace(/\n$/, '');
  }
}

/** Fields of etcd's zap "rejected connection" warning. */
export function rejectedConnectionFields(socket: tls.TLSSocket, error: string): Record<string, unknown> {
  // a socket reset in its handshake has forgotten its address; the raw socket under it has not
  const raw = (socket as tls.TLSSocket & { _parent?: { remoteAddress?: string; remotePort?: number } })._parent;
  const addr = socket.remoteAddress ?? raw?.remoteAddress ?? '';
  const port = socket.remotePort ?? raw?.remotePort ?? 0;
  const fields: Record<string, unknown> = {
    'remote-addr': `${addr.includes(':') ? `[${addr}]` : addr}:${port}`,
    'server-name': typeof socket.servername === 'string' ? socket.servername : '',
  };
  let peer: X509Certificate | undefined;
  try {
    peer = socket.getPeerX509Certificate();
  } catch {
    peer = undefined;
  }
  if (peer !== undefined) {
    const s = sans(peer);
    fields['ip-addresses'] = s.ips;
    fields['dns-names'] = s.dns;
  }
  fields.error = error;
  return fields;
}
