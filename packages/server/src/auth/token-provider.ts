// What the auth store needs from a token kind (etcd's TokenProvider): simple tokens live in
// member memory; JWTs are self-contained and carry the auth revision they were signed at.

export interface TokenInfo {
  user: string;
  /** the auth revision the token was issued at; undefined: "now" (simple tokens carry none) */
  revision: bigint | undefined;
}

export interface TokenProvider {
  readonly kind: 'simple' | 'jwt';
  /** lifetime of a token (simple: renewed on use) */
  ttlMs: number;
  enable(): void;
  disable(): void;
  /** A new token for `user`; `prefix` and `index` make simple tokens unique, `revision` goes into JWTs. */
  assign(prefix: string, index: number, user: string, revision: bigint): string;
  /** The token's owner, or undefined when unknown, expired or forged. */
  info(token: string): TokenInfo | undefined;
  invalidateUser(user: string): void;
}
