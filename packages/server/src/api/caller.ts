// Caller identity: who is calling, from the `token` (or `authorization`) metadata, else the CN of
// a verified TLS client certificate. Tokens are checked here, at the member that took the call.

import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import { Errors } from '../errors.js';
import type { AuthStore } from '../auth/auth-store.js';
import type { Caller } from '../auth/caller-context.js';

/** Where the caller's identity comes from: a gRPC call, or an HTTP request of the JSON gateway. */
export interface CallerSource {
  readonly metadata: IncomingHttpHeaders;
  readonly peerCertificate: PeerCertificate | undefined;
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) return v[0];
  return v;
}

/**
 * The caller's user name: from the token, else the verified client certificate's CN; undefined
 * when anonymous or while auth is disabled. An unknown or expired token is "invalid auth token",
 * even while auth is disabled: etcd resolves any token a request carries (a disabled store
 * knows no simple token).
 */
export function callerOf(auth: AuthStore, call: CallerSource): string | undefined {
  return callerInfoOf(auth, call)?.user;
}

/** The caller and the auth revision its credentials stand for (a JWT's own; otherwise now). */
export function callerInfoOf(auth: AuthStore, call: CallerSource): Caller | undefined {
  const token = firstHeader(call.metadata['token']) ?? firstHeader(call.metadata['authorization']);
  if (token !== undefined && token !== '') {
    const info = auth.tokens.info(token);
    if (info === undefined) throw Errors.invalidAuthToken();
    return auth.isEnabled() ? { user: info.user, authRevision: info.revision ?? auth.revision() } : undefined;
  }
  if (!auth.isEnabled()) return undefined;
  const cn = call.peerCertificate?.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return name !== undefined && name !== '' ? { user: name, authRevision: auth.revision() } : undefined;
}
