// The auth state machine (etcd's auth/store.go): users, roles, the enabled flag and the auth
// revision, persisted in the backend's auth buckets in the same batch as the entry that changed
// them. Mutations arrive as committed InternalRaftRequests and run on every member in log order;
// reads (user/role get and list, permission checks) are served from the in-memory copy.

import { authpb, etcdserverpb, tsetcdpb } from '@tsetcd/proto';
import type { Backend } from '../backend/backend.js';
import { Buckets } from '../backend/backend.js';
import { Errors } from '../errors.js';
import { UnifiedPermissions } from './range-perms.js';
import { SimpleTokenProvider, defaultTokenTtlMs } from './simple-token.js';
import { JwtTokenProvider, parseJwtOptions } from './jwt-token.js';
import { AuthOptionsError } from './errors.js';
import type { TokenProvider } from './token-provider.js';
import { defaultScryptLog2N } from './password-hash.js';

export const rootUser = 'root';
export const rootRole = 'root';

const enabledKey = Buffer.from('authEnabled');
const revisionKey = Buffer.from('authRevision');
const enabledByte = Buffer.of(1);
const disabledByte = Buffer.of(0);
const revisionBytes = 8;

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`auth store invariant violated: ${msg}`);
}

/** What one committed auth request produced: its response body (the API fills the header). */
export type AuthApplyResult = { resp: unknown; err?: undefined } | { resp?: undefined; err: Error };

export type PermissionKind = 'read' | 'write';

/** etcd's bcrypt cost bounds (--bcrypt-cost) and default */
export const minBcryptCost = 4;
export const maxBcryptCost = 31;
export const defaultBcryptCost = 10;
/** scrypt's log2(N) for a bcrypt cost: the same default strength (10 -> 14), capped for memory */
const maxScryptLog2N = 20;
export function scryptLog2NForBcryptCost(cost: number): number {
  const c = Number.isInteger(cost) && cost >= minBcryptCost && cost <= maxBcryptCost ? cost : defaultBcryptCost;
  return Math.min(maxScryptLog2N, c + (defaultScryptLog2N - defaultBcryptCost));
}

export interface AuthStoreOptions {
  /** simple token TTL (etcd --auth-token-ttl, default 300 s) */
  tokenTtlMs?: number;
  /** the raft index of the entry being applied (the simple token's suffix) */
  applyingIndex?: () => number;
}

export class AuthStore {
  private tokenProvider: TokenProvider;
  private enabled = false;
  private rev = 0n;
  private readonly users = new Map<string, authpb.User>();
  private readonly roles = new Map<string, authpb.Role>();
  /** user name -> merged permissions, dropped whenever the user or any role changes */
  private readonly permCache = new Map<string, UnifiedPermissions>();
  private readonly applyingIndex: () => number;
  /** scrypt cost (log2 N) of new password hashes (from --bcrypt-cost) */
  passwordCostLog2N = defaultScryptLog2N;

  constructor(
    private readonly backend: Backend,
    opts: AuthStoreOptions = {},
  ) {
    this.tokenProvider = new SimpleTokenProvider(opts.tokenTtlMs ?? defaultTokenTtlMs);
    this.applyingIndex = opts.applyingIndex ?? (() => 0);
    this.recover();
  }

  /** Loads the persisted state: at start-up, and after a snapshot replaced the backend's content. */
  recover(): void {
    const b = this.backend;
    this.users.clear();
    this.roles.clear();
    this.permCache.clear();
    const en = b.getAux(Buckets.auth, enabledKey);
    this.enabled = en !== undefined && en.equals(enabledByte);
    const rv = b.getAux(Buckets.auth, revisionKey);
    this.rev = rv !== undefined && rv.length === revisionBytes ? rv.readBigUInt64BE(0) : 0n;
    // a new store starts at auth revision 1, as etcd's (0 is "no credentials")
    if (this.rev === 0n) this.commitRevision();
    for (const [k, v] of b.rangeAux(Buckets.authUsers)) this.users.set(k.toString(), authpb.User.decode(v));
    for (const [k, v] of b.rangeAux(Buckets.authRoles)) this.roles.set(k.toString(), authpb.Role.decode(v));
    if (this.enabled) this.tokenProvider.enable();
    else this.tokenProvider.disable();
  }

  /** The token kind in use (--auth-token). */
  get tokens(): TokenProvider {
    return this.tokenProvider;
  }

  /**
   * Server flags: --auth-token ("simple", or "jwt,pub-key=...,priv-key=...,sign-method=...,ttl=..."),
   * --auth-token-ttl (seconds, simple tokens) and --bcrypt-cost (an invalid cost means the
   * default, as etcd). A bad --auth-token throws AuthOptionsError with etcd's text.
   */
  configure(opts: { authToken?: string; tokenTtlSeconds?: number; bcryptCost?: number }): void {
    if (opts.authToken !== undefined) this.tokenProvider = createTokenProvider(opts.authToken, this.tokenProvider);
    if (this.enabled) this.tokenProvider.enable();
    // --auth-token-ttl is for simple tokens; a JWT's lifetime is its ttl option
    if (opts.tokenTtlSeconds !== undefined && opts.tokenTtlSeconds > 0 && this.tokenProvider.kind === 'simple') this.tokenProvider.ttlMs = opts.tokenTtlSeconds * 1000;
    if (opts.bcryptCost !== undefined) this.passwordCostLog2N = scryptLog2NForBcryptCost(opts.bcryptCost);
  }

  isEnabled(): boolean {
    return this.enabled;
  }

  /** Bumped by every change of users, roles or the enabled flag. */
  revision(): bigint {
    return this.rev;
  }

  /** Whether `r` is an auth request (this store applies it). */
  static isAuthRequest(r: tsetcdpb.InternalRaftRequest): boolean {
    return (
      r.authEnable !== undefined || r.authDisable !== undefined || r.authenticate !== undefined ||
      r.authUserAdd !== undefined || r.authUserDelete !== undefined || r.authUserChangePassword !== undefined ||
      r.authUserGrantRole !== undefined || r.authUserRevokeRole !== undefined || r.authRoleAdd !== undefined ||
      r.authRoleDelete !== undefined || r.authRoleGrantPermission !== undefined || r.authRoleRevokePermission !== undefined
    );
  }

  /** Applies one committed auth request. Request-level errors are returned, not thrown. */
  apply(r: tsetcdpb.InternalRaftRequest): AuthApplyResult {
    try {
      if (r.authEnable) return { resp: this.authEnable() };
      if (r.authDisable) return { resp: this.authDisable() };
      if (r.authenticate) return { resp: this.authenticate(r.authenticate) };
      if (r.authUserAdd) return { resp: this.userAdd(r.authUserAdd) };
      if (r.authUserDelete) return { resp: this.userDelete(r.authUserDelete) };
      if (r.authUserChangePassword) return { resp: this.userChangePassword(r.authUserChangePassword) };
      if (r.authUserGrantRole) return { resp: this.userGrantRole(r.authUserGrantRole) };
      if (r.authUserRevokeRole) return { resp: this.userRevokeRole(r.authUserRevokeRole) };
      if (r.authRoleAdd) return { resp: this.roleAdd(r.authRoleAdd) };
      if (r.authRoleDelete) return { resp: this.roleDelete(r.authRoleDelete) };
      if (r.authRoleGrantPermission) return { resp: this.roleGrantPermission(r.authRoleGrantPermission) };
      if (r.authRoleRevokePermission) return { resp: this.roleRevokePermission(r.authRoleRevokePermission) };
      throw new Error('auth store: not an auth request');
    } catch (e) {
      if (e instanceof Error && (e as { grpcCode?: unknown }).grpcCode !== undefined) return { err: e };
      throw e;
    }
  }

  // ---- mutations (applied) ----

  private commitRevision(): void {
    this.rev++;
    const b = Buffer.alloc(revisionBytes);
    b.writeBigUInt64BE(this.rev, 0);
    this.backend.putAux(Buckets.auth, revisionKey, b);
  }

  private putUser(u: authpb.User): void {
    const name = u.name.toString();
    this.users.set(name, u);
    this.backend.putAux(Buckets.authUsers, u.name, Buffer.from(authpb.User.encode(u).finish()));
    this.permCache.delete(name);
  }

  private putRole(r: authpb.Role): void {
    this.roles.set(r.name.toString(), r);
    this.backend.putAux(Buckets.authRoles, r.name, Buffer.from(authpb.Role.encode(r).finish()));
    this.permCache.clear();
  }

  private authEnable(): etcdserverpb.AuthEnableResponse {
    if (this.enabled) return { header: undefined };
    const root = this.users.get(rootUser);
    if (root === undefined) throw Errors.rootUserNotExist();
    if (!root.roles.includes(rootRole)) throw Errors.rootRoleNotExist();
    this.backend.putAux(Buckets.auth, enabledKey, enabledByte);
    this.enabled = true;
    this.tokenProvider.enable();
    this.permCache.clear();
    return { header: undefined };
  }

  private authDisable(): etcdserverpb.AuthDisableResponse {
    if (!this.enabled) return { header: undefined };
    this.backend.putAux(Buckets.auth, enabledKey, disabledByte);
    this.commitRevision();
    this.enabled = false;
    this.tokenProvider.disable();
    return { header: undefined };
  }

  private authenticate(r: tsetcdpb.InternalAuthenticateRequest): etcdserverpb.AuthenticateResponse {
    if (!this.enabled) throw Errors.authNotEnabled();
    const u = this.users.get(r.name);
    if (u === undefined || u.options?.noPassword === true) throw Errors.authFailed();
    const token = this.tokenProvider.assign(r.simpleToken, this.applyingIndex(), r.name, this.rev);
    return { header: undefined, token };
  }

  /** `r.password` holds the hash made by the member that took the call (never the password). */
  private userAdd(r: etcdserverpb.AuthUserAddRequest): etcdserverpb.AuthUserAddResponse {
    if (r.name.length === 0) throw Errors.userEmpty();
    if (this.users.has(r.name)) throw Errors.userAlreadyExist();
    const options = r.options ?? { noPassword: false };
    this.putUser({ name: Buffer.from(r.name), password: options.noPassword ? Buffer.alloc(0) : Buffer.from(r.password), roles: [], options });
    this.commitRevision();
    return { header: undefined };
  }

  private userDelete(r: etcdserverpb.AuthUserDeleteRequest): etcdserverpb.AuthUserDeleteResponse {
    if (this.enabled && r.name === rootUser) throw Errors.invalidAuthMgmt();
    if (!this.users.has(r.name)) throw Errors.userNotFound();
    this.users.delete(r.name);
    this.backend.deleteAux(Buckets.authUsers, Buffer.from(r.name));
    this.commitRevision();
    this.permCache.delete(r.name);
    this.tokenProvider.invalidateUser(r.name);
    return { header: undefined };
  }

  private userChangePassword(r: etcdserverpb.AuthUserChangePasswordRequest): etcdserverpb.AuthUserChangePasswordResponse {
    const u = this.users.get(r.name);
    if (u === undefined) throw Errors.userNotFound();
    this.putUser({ ...u, password: Buffer.from(r.password) });
    this.commitRevision();
    this.tokenProvider.invalidateUser(r.name);
    return { header: undefined };
  }

  private userGrantRole(r: etcdserverpb.AuthUserGrantRoleRequest): etcdserverpb.AuthUserGrantRoleResponse {
    const u = this.users.get(r.user);
    if (u === undefined) throw Errors.userNotFound();
    // the root role exists implicitly
    if (r.role !== rootRole && !this.roles.has(r.role)) throw Errors.roleNotFound();
    if (u.roles.includes(r.role)) return { header: undefined };
    this.putUser({ ...u, roles: [...u.roles, r.role].sort() });
    this.commitRevision();
    return { header: undefined };
  }

  private userRevokeRole(r: etcdserverpb.AuthUserRevokeRoleRequest): etcdserverpb.AuthUserRevokeRoleResponse {
    if (this.enabled && r.name === rootUser && r.role === rootRole) throw Errors.invalidAuthMgmt();
    const u = this.users.get(r.name);
    if (u === undefined) throw Errors.userNotFound();
    if (!u.roles.includes(r.role)) throw Errors.roleNotGranted();
    this.putUser({ ...u, roles: u.roles.filter((x) => x !== r.role) });
    this.commitRevision();
    return { header: undefined };
  }

  private roleAdd(r: etcdserverpb.AuthRoleAddRequest): etcdserverpb.AuthRoleAddResponse {
    if (r.name.length === 0) throw Errors.roleEmpty();
    if (this.roles.has(r.name)) throw Errors.roleAlreadyExist();
    this.putRole({ name: Buffer.from(r.name), keyPermission: [] });
    this.commitRevision();
    return { header: undefined };
  }

  private roleDelete(r: etcdserverpb.AuthRoleDeleteRequest): etcdserverpb.AuthRoleDeleteResponse {
    if (this.enabled && r.role === rootRole) throw Errors.invalidAuthMgmt();
    if (!this.roles.has(r.role)) throw Errors.roleNotFound();
    this.roles.delete(r.role);
    this.backend.deleteAux(Buckets.authRoles, Buffer.from(r.role));
    // the role leaves every user that had it
    for (const u of [...this.users.values()]) {
      if (u.roles.includes(r.role)) this.putUser({ ...u, roles: u.roles.filter((x) => x !== r.role) });
    }
    this.commitRevision();
    this.permCache.clear();
    return { header: undefined };
  }

  private roleGrantPermission(r: etcdserverpb.AuthRoleGrantPermissionRequest): etcdserverpb.AuthRoleGrantPermissionResponse {
    const role = this.roles.get(r.name);
    if (role === undefined) throw Errors.roleNotFound();
    const p = r.perm ?? { permType: authpb.Permission_Type.READ, key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) };
    const perms = role.keyPermission.slice();
    const same = perms.findIndex((x) => x.key.equals(p.key) && x.rangeEnd.equals(p.rangeEnd));
    if (same >= 0) {
      // the same range granted again: only its type changes
      perms[same] = { ...perms[same], permType: p.permType };
    } else {
      perms.push({ permType: p.permType, key: Buffer.from(p.key), rangeEnd: Buffer.from(p.rangeEnd) });
      perms.sort((a, b) => Buffer.compare(a.key, b.key));
    }
    this.putRole({ name: role.name, keyPermission: perms });
    this.commitRevision();
    return { header: undefined };
  }

  private roleRevokePermission(r: etcdserverpb.AuthRoleRevokePermissionRequest): etcdserverpb.AuthRoleRevokePermissionResponse {
    const role = this.roles.get(r.role);
    if (role === undefined) throw Errors.roleNotFound();
    const kept = role.keyPermission.filter((x) => !(x.key.equals(r.key) && x.rangeEnd.equals(r.rangeEnd)));
    if (kept.length === role.keyPermission.length) throw Errors.permissionNotGranted();
    this.putRole({ name: role.name, keyPermission: kept });
    this.commitRevision();
    return { header: undefined };
  }

  // ---- reads ----

  getUser(name: string): authpb.User | undefined {
    return this.users.get(name);
  }

  userGet(name: string): string[] {
    const u = this.users.get(name);
    if (u === undefined) throw Errors.userNotFound();
    return u.roles.slice();
  }

  userList(): string[] {
    return [...this.users.keys()].sort();
  }

  roleGet(name: string): authpb.Permission[] {
    const r = this.roles.get(name);
    if (r === undefined) throw Errors.roleNotFound();
    return r.keyPermission.slice();
  }

  roleList(): string[] {
    return [...this.roles.keys()].sort();
  }

  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) ?? false;
  }

  /** Whether the user exists and was created with --no-password (may not log in with a password). */
  isNoPasswordUser(name: string): boolean {
    return this.users.get(name)?.options?.noPassword === true;
  }

  /** The stored password hash of a user who may log in with a password, else undefined. */
  passwordHash(name: string): string | undefined {
    const u = this.users.get(name);
    if (u === undefined || u.options?.noPassword === true) return undefined;
    return u.password.toString();
  }

  /**
   * etcd's isOpPermitted: nothing is checked while auth is disabled; an anonymous caller
   * (no token) gets "user name is empty"; root may do anything; others need the range
   * covered by their merged role permissions.
   */
  checkPermitted(user: string | undefined, kind: PermissionKind, key: Buffer, rangeEnd: Buffer): void {
    if (!this.enabled) return;
    if (user === undefined || user === '') throw Errors.userEmpty();
    const u = this.users.get(user);
    if (u === undefined) throw Errors.permissionDenied();
    if (u.roles.includes(rootRole)) return;
    if (!this.permissionsOf(user, u).allows(kind, key, rangeEnd)) throw Errors.permissionDenied();
  }

  /** etcd's IsAdminPermitted: the caller must hold the root role. */
  checkAdmin(user: string | undefined): void {
    if (!this.enabled) return;
    if (user === undefined || user === '') throw Errors.userEmpty();
    const u = this.users.get(user);
    if (u === undefined) throw Errors.userNotFound();
    if (!u.roles.includes(rootRole)) throw Errors.permissionDenied();
  }

  private permissionsOf(name: string, u: authpb.User): UnifiedPermissions {
    let p = this.permCache.get(name);
    if (p === undefined) {
      const all: authpb.Permission[] = [];
      for (const rn of u.roles) {
        const role = this.roles.get(rn);
        if (role !== undefined) all.push(...role.keyPermission);
      }
      p = UnifiedPermissions.fromRoles(all);
      this.permCache.set(name, p);
    }
    assert(p !== undefined, 'no merged permissions');
    return p;
  }
}

/** etcd's NewTokenProvider: "simple" (the current one is kept) or "jwt,<options>". */
export function createTokenProvider(spec: string, current: TokenProvider): TokenProvider {
  const kind = spec.split(',')[0];
  if (kind === 'simple') return current.kind === 'simple' ? current : new SimpleTokenProvider();
  if (kind === 'jwt') return new JwtTokenProvider(parseJwtOptions(spec));
  throw new AuthOptionsError('auth: invalid auth options');
}

/** Throws AuthOptionsError when `spec` (--auth-token) cannot make a token provider. */
export function validateAuthTokenSpec(spec: string): void {
  createTokenProvider(spec, new SimpleTokenProvider());
}
