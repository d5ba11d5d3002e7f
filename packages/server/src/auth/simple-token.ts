// etcd's "simple" tokens: `<16 random letters>.<raft index>`, kept in memory by every member,
// valid for a TTL that every use renews (etcd's simpleTokenTTLKeeper). etcd's keeper drops a
// token on the first of its once-a-second ticks (counted from enable) strictly after the
// token's deadline, so a token outlives its TTL by up to a second; we compute that tick instead
// of running a timer: expiry is checked on lookup and swept when tokens are assigned, so nothing
// keeps the process alive.

import { randomInt } from 'node:crypto';
import type { TokenInfo, TokenProvider } from './token-provider.js';

export const defaultTokenTtlMs = 300_000;
export const simpleTokenPrefixLetters = 16;
const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** etcd's simpleTokenTTLResolution: the keeper's tick; also our sweep period (on assign) */
export const simpleTokenTtlResolutionMs = 1000;
const sweepIntervalMs = simpleTokenTtlResolutionMs;

export function newSimpleTokenPrefix(): string {
  let s = '';
  for (let i = 0; i < simpleTokenPrefixLetters; i++) s += letters[randomInt(letters.length)];
  return s;
}

interface TokenEntry {
  user: string;
  expiresAtMs: number;
}

export class SimpleTokenProvider implements TokenProvider {
  readonly kind = 'simple' as const;
  private readonly tokens = new Map<string, TokenEntry>();
  private enabled = false;
  private lastSweepMs = 0;
  /** when the keeper "started" (enable): its ticks fall at keeperStartMs + k * resolution */
  private keeperStartMs = 0;

  constructor(
    public ttlMs: number = defaultTokenTtlMs,
    private readonly now: () => number = () => performance.now(),
  ) {}

  enable(): void {
    if (!this.enabled) this.keeperStartMs = this.now();
    this.enabled = true;
  }

  /** Disabling forgets every token (etcd's simpleTokenTTLKeeper stops). */
  disable(): void {
    this.enabled = false;
    this.tokens.clear();
  }

  assign(prefix: string, index: number, user: string, _revision?: bigint): string {
    const token = `${prefix}.${index}`;
    const now = this.now();
    if (now - this.lastSweepMs >= sweepIntervalMs) this.sweep(now);
    this.tokens.set(token, { user, expiresAtMs: now + this.ttlMs });
    return token;
  }

  info(token: string): TokenInfo | undefined {
    const user = this.lookup(token);
    return user === undefined ? undefined : { user, revision: undefined };
  }

  /** The token's user, renewing its TTL; undefined when unknown or expired. */
  lookup(token: string): string | undefined {
    if (!this.enabled) return undefined;
    const e = this.tokens.get(token);
    if (e === undefined) return undefined;
    const now = this.now();
    if (this.expired(e, now)) {
      this.tokens.delete(token);
      return undefined;
    }
    e.expiresAtMs = now + this.ttlMs;
    return e.user;
  }

  /** Drops every token of `user` (deleted, or password changed). */
  invalidateUser(user: string): void {
    for (const [t, e] of this.tokens) if (e.user === user) this.tokens.delete(t);
  }

  get size(): number {
    return this.tokens.size;
  }

  private sweep(now: number): void {
    this.lastSweepMs = now;
    for (const [t, e] of this.tokens) if (this.expired(e, now)) this.tokens.delete(t);
  }

  /** True once the keeper's first tick strictly after the token's deadline has passed. */
  private expired(e: TokenEntry, now: number): boolean {
    const res = simpleTokenTtlResolutionMs;
    const firstTickAfter = this.keeperStartMs + (Math.floor((e.expiresAtMs - this.keeperStartMs) / res) + 1) * res;
    return now >= firstTickAfter;
  }
}
