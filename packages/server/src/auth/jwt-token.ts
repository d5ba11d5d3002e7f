// etcd's "jwt" tokens (--auth-token jwt,pub-key=<file>,priv-key=<file>,sign-method=<alg>,ttl=<dur>):
// compact JWS with the claims {username, revision, exp}, signed by the member that applies the
// Authenticate entry and verified by any member with the public key. Nothing is kept in memory,
// so a password change does not revoke a JWT: the auth revision in it does (requests with an
// older revision are refused with "revision of auth store is old").

import { createHmac, createPrivateKey, createPublicKey, sign, verify, timingSafeEqual, constants, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseGoDurationMs } from '@tsetcd/common';
import type { TokenInfo, TokenProvider } from './token-provider.js';
import { AuthOptionsError } from './errors.js';

/** etcd's default JWT lifetime (5m) */
export const defaultJwtTtlMs = 5 * 60_000;

type Family = 'RS' | 'PS' | 'ES' | 'HS';
const hashOf: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
/** ECDSA signature bytes (r || s) per curve size */
const ecSignatureBytes: Record<string, number> = { '256': 64, '384': 96, '512': 132 };

export interface JwtOptions {
  signMethod: string;
  ttlMs: number;
  /** asymmetric: the private key (absent on verify-only members); HS*: the secret */
  signKey: KeyObject | Buffer | undefined;
  verifyKey: KeyObject | Buffer;
}

function b64url(b: Buffer): string {
  return b.toString('base64url');
}

/** Go durations as etcd's ttl option takes them: "5m", "30s", "1h30m", "250ms". */
function parseTtlMs(s: string): number {
  try {
    return parseGoDurationMs(s);
  } catch {
    throw new AuthOptionsError(`auth: invalid auth options (ttl ${JSON.stringify(s)})`);
  }
}

/** Parses the --auth-token value after "jwt," (etcd's jwtOptions.ParseWithDefaults + Key). */
export function parseJwtOptions(spec: string): JwtOptions {
  const opts = new Map<string, string>();
  for (const part of spec.split(',')) {
    if (part === '' || part === 'jwt') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new AuthOptionsError('auth: invalid auth options');
    opts.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const signMethod = opts.get('sign-method') ?? '';
  const m = /^(RS|PS|ES|HS)(256|384|512)$/.exec(signMethod);
  if (m === null) throw new AuthOptionsError('auth: invalid auth signature method');
  const family = m[1] as Family;
  const ttlMs = opts.has('ttl') ? parseTtlMs(opts.get('ttl')!) : defaultJwtTtlMs;
  const pub = opts.get('pub-key');
  const priv = opts.get('priv-key');
  if (family === 'HS') {
    if (priv === undefined) throw new AuthOptionsError('auth: missing key data');
    const secret = readFileSync(priv);
    return { signMethod, ttlMs, signKey: secret, verifyKey: secret };
  }
  if (pub === undefined) throw new AuthOptionsError('auth: missing key data');
  const verifyKey = createPublicKey(readFileSync(pub));
  const signKey = priv !== undefined ? createPrivateKey(readFileSync(priv)) : undefined;
  const type = verifyKey.asymmetricKeyType;
  if ((family === 'ES') !== (type === 'ec') || (family !== 'ES' && type !== 'rsa' && type !== 'rsa-pss')) throw new AuthOptionsError('auth: invalid auth signature method');
  if (signKey !== undefined) {
    // the pair must match: the public key derived from the private one is the configured one
    const derived = createPublicKey(signKey).export({ format: 'der', type: 'spki' });
    if (!derived.equals(verifyKey.export({ format: 'der', type: 'spki' }))) throw new AuthOptionsError("auth: public and private keys don't match");
  }
  return { signMethod, ttlMs, signKey, verifyKey };
}

export class JwtTokenProvider implements TokenProvider {
  readonly kind = 'jwt' as const;
  ttlMs: number;
  private readonly family: Family;
  private readonly bits: string;
  private readonly header: string;

  constructor(
    private readonly opts: JwtOptions,
    private readonly nowMs: () => number = () => Date.now(),
  ) {
    this.ttlMs = opts.ttlMs;
    this.family = opts.signMethod.slice(0, 2) as Family;
    this.bits = opts.signMethod.slice(2);
    this.header = b64url(Buffer.from(JSON.stringify({ alg: opts.signMethod, typ: 'JWT' })));
  }

  enable(): void {}
  disable(): void {}
  invalidateUser(): void {}

  assign(_prefix: string, _index: number, user: string, revision: bigint): string {
    const exp = Math.floor((this.nowMs() + this.ttlMs) / 1000);
    const payload = b64url(Buffer.from(JSON.stringify({ exp, revision: Number(revision), username: user })));
    const input = `${this.header}.${payload}`;
    return `${input}.${b64url(this.sign(Buffer.from(input)))}`;
  }

  info(token: string): TokenInfo | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    let header: { alg?: unknown };
    let claims: { username?: unknown; revision?: unknown; exp?: unknown };
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return undefined;
    }
    if (header.alg !== this.opts.signMethod) return undefined;
    if (!this.verify(Buffer.from(`${parts[0]}.${parts[1]}`), Buffer.from(parts[2], 'base64url'))) return undefined;
    if (typeof claims.username !== 'string' || typeof claims.revision !== 'number' || !Number.isInteger(claims.revision) || claims.revision < 0) return undefined;
    if (typeof claims.exp === 'number' && claims.exp * 1000 <= this.nowMs()) return undefined;
    return { user: claims.username, revision: BigInt(claims.revision) };
  }

  private sign(data: Buffer): Buffer {
    const key = this.opts.signKey;
    if (key === undefined) throw new AuthOptionsError('auth: token signing attempted with verify-only key');
    const hash = hashOf[this.bits];
    switch (this.family) {
      case 'HS':
        return createHmac(hash, key as Buffer).update(data).digest();
      case 'RS':
        return sign(hash, data, key as KeyObject);
      case 'PS':
        return sign(hash, data, { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
      case 'ES':
        return sign(hash, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
    }
  }

  private verify(data: Buffer, sig: Buffer): boolean {
    const key = this.opts.verifyKey;
    const hash = hashOf[this.bits];
    try {
      switch (this.family) {
        case 'HS': {
          const want = createHmac(hash, key as Buffer).update(data).digest();
          return want.length === sig.length && timingSafeEqual(want, sig);
        }
        case 'RS':
          return verify(hash, data, key as KeyObject, sig);
        case 'PS':
          return verify(hash, data, { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig);
        case 'ES':
          return sig.length === ecSignatureBytes[this.bits] && verify(hash, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' }, sig);
      }
    } catch {
      return false;
    }
  }
}
