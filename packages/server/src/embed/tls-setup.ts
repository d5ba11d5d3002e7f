// The client and peer TLS settings of a member, as etcd's embed.Config builds them: certificate
// files from the flags, or with --auto-tls/--peer-auto-tls (and no files given) a self-signed
// certificate in <data-dir>/fixtures/{client,peer} for the listen URLs' hosts; --cipher-suites
// applies to both sides.

import { join } from 'node:path';
import type { ServerLogger } from '../etcdserver/config.js';
import { opensslCiphers } from '../tls/cipher-suites.js';
import { selfCert } from '../tls/self-cert.js';
import { certReloader } from '../tls/cert-reloader.js';
import { acceptedConnectionError, handshakeErrorMessage, rejectedConnectionFields, serverTlsOptions, type TlsInfo } from '../tls/tls-info.js';
import type { ClientPortTlsOptions } from '../grpc/index.js';

export interface TlsFlags {
  certFile?: string;
  keyFile?: string;
  trustedCaFile?: string;
  clientCertAuth?: boolean;
  /** etcd --auto-tls */
  autoTls?: boolean;
  /** etcd --client-crl-file, --client-cert-allowed-hostname */
  clientCrlFile?: string;
  clientCertAllowedHostname?: string;
  peerCertFile?: string;
  peerKeyFile?: string;
  peerTrustedCaFile?: string;
  peerClientCertAuth?: boolean;
  /** etcd --peer-auto-tls */
  peerAutoTls?: boolean;
  /** etcd --peer-crl-file, --peer-cert-allowed-cn, --peer-cert-allowed-hostname */
  peerCrlFile?: string;
  peerCertAllowedCn?: string;
  peerCertAllowedHostname?: string;
  /** etcd --experimental-peer-skip-client-san-verification */
  peerSkipClientSanVerification?: boolean;
  /** etcd --cipher-suites (Go names) */
  cipherSuites?: string[];
}

function hostsOf(urls: string[]): string[] {
  return urls.map((u) => new URL(u).host);
}

function checkExclusive(info: TlsInfo): TlsInfo {
  if (info.allowedCn && info.allowedHostname) {
    throw new Error(`AllowedCN and AllowedHostname are mutually exclusive (cn=${JSON.stringify(info.allowedCn)}, hostname=${JSON.stringify(info.allowedHostname)})`);
  }
  return info;
}

/**
 * One side's TLS as etcd chooses it: the given certificate files (auto TLS then ignored), else
 * with auto TLS a self-signed certificate in <data-dir>/fixtures/<side> for the listen URLs'
 * hosts, which replaces the whole TLS info (so allowed CN/hostname, CRL and client-cert-auth do
 * not apply), else none.
 */
function chooseTls(
  side: 'client' | 'peer',
  given: Omit<TlsInfo, 'ciphers'> | undefined,
  autoTls: boolean | undefined,
  ciphers: TlsInfo['ciphers'],
  dataDir: string,
  listenUrls: string[],
  log: ServerLogger,
): TlsInfo | undefined {
  if (given !== undefined) {
    if (autoTls) log.warn(`ignoring ${side} auto TLS since certs given`);
    return checkExclusive({ ...given, ciphers });
  }
  if (!autoTls) return undefined;
  const files = selfCert(join(dataDir, 'fixtures', side), hostsOf(listenUrls), log);
  return { ...files, selfCert: true, ciphers };
}

/** Client TLS (undefined: none); throws etcd's errors (unknown cipher suite, files not writable). */
export function clientTlsInfo(o: TlsFlags, dataDir: string, listenClientUrls: string[], log: ServerLogger): TlsInfo | undefined {
  const ciphers = opensslCiphers(o.cipherSuites ?? []);
  const given =
    o.certFile && o.keyFile
      ? {
          certFile: o.certFile,
          keyFile: o.keyFile,
          trustedCaFile: o.trustedCaFile || undefined,
          clientCertAuth: o.clientCertAuth ?? false,
          crlFile: o.clientCrlFile || undefined,
          allowedHostname: o.clientCertAllowedHostname || undefined,
        }
      : undefined;
  return chooseTls('client', given, o.autoTls, ciphers, dataDir, listenClientUrls, log);
}

/** Peer TLS (undefined: none); a member dials its peers without verifying an auto TLS certificate. */
export function peerTlsInfo(o: TlsFlags, dataDir: string, listenPeerUrls: string[], log: ServerLogger): TlsInfo | undefined {
  const ciphers = opensslCiphers(o.cipherSuites ?? []);
  const given =
    o.peerCertFile && o.peerKeyFile
      ? {
          certFile: o.peerCertFile,
          keyFile: o.peerKeyFile,
          trustedCaFile: o.peerTrustedCaFile || undefined,
          clientCertAuth: o.peerClientCertAuth ?? false,
          crlFile: o.peerCrlFile || undefined,
          allowedCn: o.peerCertAllowedCn || undefined,
          allowedHostname: o.peerCertAllowedHostname || undefined,
          skipClientSanVerify: o.peerSkipClientSanVerification ?? false,
        }
      : undefined;
  return chooseTls('peer', given, o.peerAutoTls, ciphers, dataDir, listenPeerUrls, log);
}

/** A listener's TLS options for these settings, refusals logged as etcd's "rejected connection". */
export function listenerTls(info: TlsInfo, checkSan: boolean, log: ServerLogger): ClientPortTlsOptions {
  const o = serverTlsOptions(info);
  return {
    cert: o.cert as Buffer,
    key: o.key as Buffer,
    ca: o.ca as Buffer | undefined,
    requestCert: o.requestCert,
    rejectUnauthorized: false,
    ciphers: info.ciphers,
    verify: (socket) => acceptedConnectionError(info, socket, checkSan),
    reload: certReloader(info.certFile, info.keyFile, log),
    onRejected: (socket, reason) => log.warn('rejected connection', rejectedConnectionFields(socket, typeof reason === 'string' ? reason : handshakeErrorMessage(reason))),
  };
}
