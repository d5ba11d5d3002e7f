// Auth: the Auth gRPC service (etcd's v3rpc/auth.go + the Auth* methods of v3_server.go) and the
// permission gate in front of every other service while auth is enabled.
//
// Who calls: the `token` (or `authorization`) metadata names a simple token; without one, the
// CN of a verified TLS client certificate is the user. Tokens are checked here, at the member
// that took the call, and so are key permissions (etcd checks writes again when applying them;
// tsetcd checks them once, before proposing — see auth/README.md for the gap).

import { etcdserverpb, v3electionpb, v3lockpb } from '@tsetcd/proto';
import type { EtcdServer } from '../etcdserver/server.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import { GrpcServer, type GrpcServerOptions, type HandlerFor, type MethodDefinitionLike, type UnaryHandler, type ServerStreamHandler, type BidiHandler, type BidiCall, type Decoder, type Encoder } from '../grpc/index.js';
import { toGrpcError } from './errors.js';
import { Errors, GrpcCode, ServerError } from '../errors.js';
import { hashPassword, verifyPassword } from '../auth/password-hash.js';
import { newSimpleTokenPrefix } from '../auth/simple-token.js';
import type { AuthStore, PermissionKind } from '../auth/auth-store.js';
import type { RequestPermissions } from '../auth/request-permissions.js';
import { runAsCaller, type Caller } from '../auth/caller-context.js';

type Header = etcdserverpb.ResponseHeader;
const P = etcdserverpb;
const noBytes = Buffer.alloc(0);
/** Authenticate retries while the auth revision moved between the password check and the apply */
const maxAuthenticateAttempts = 3;

function firstHeader(v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) return v[0];
  return v;
}

function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.of(0);
}

/** Where the caller's identity comes from: a gRPC call, or an HTTP request of the JSON gateway. */
export interface CallerSource {
  readonly metadata: IncomingHttpHeaders;
  readonly peerCertificate: PeerCertificate | undefined;
}

/**
 * The caller's user name: from the token, else the verified client certificate's CN; undefined
 * when anonymous. An unknown or expired token is "invalid auth token". Nothing is looked up while
 * auth is disabled.
 */
export function callerOf(auth: AuthStore, call: CallerSource): string | undefined {
  return callerInfoOf(auth, call)?.user;
}

/** The caller and the auth revision its credentials stand for (a JWT's own; otherwise now). */
export function callerInfoOf(auth: AuthStore, call: CallerSource): Caller | undefined {
  if (!auth.isEnabled()) return undefined;
  const token = firstHeader(call.metadata['token']) ?? firstHeader(call.metadata['authorization']);
  if (token !== undefined && token !== '') {
    const info = auth.tokens.info(token);
    if (info === undefined) throw Errors.invalidAuthToken();
    return { user: info.user, authRevision: info.revision ?? auth.revision() };
  }
  const cn = call.peerCertificate?.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return name !== undefined && name !== '' ? { user: name, authRevision: auth.revision() } : undefined;
}

/** The key-permission checks of etcd's apply_auth.go / v3_server.go, by request kind. */
export class PermissionGate {
  constructor(private readonly s: EtcdServer) {}

  private get auth(): AuthStore {
    return this.s.applier.auth;
  }

  private need(user: string | undefined, kind: PermissionKind, key: Buffer, rangeEnd: Buffer): void {
    this.auth.checkPermitted(user, kind, key, rangeEnd);
  }

  private get requests(): RequestPermissions {
    return this.s.applier.authRequests;
  }

  range(user: string | undefined, r: etcdserverpb.RangeRequest): void {
    this.requests.range(user, r);
  }

  put(user: string | undefined, r: etcdserverpb.PutRequest): void {
    this.requests.put(user, r);
  }

  deleteRange(user: string | undefined, r: etcdserverpb.DeleteRangeRequest): void {
    this.requests.deleteRange(user, r);
  }

  txn(user: string | undefined, r: etcdserverpb.TxnRequest): void {
    this.requests.txn(user, r);
  }

  leaseRevoke(user: string | undefined, id: bigint): void {
    this.requests.lease(user, id);
  }

  /** etcd's checkLeaseTimeToLive: every key attached to the lease must be readable by `user`. */
  leaseKeysReadable(user: string, id: bigint): void {
    const l = this.s.lessor.lookup(id);
    if (l === undefined) return;
    for (const key of l.keyBuffers()) this.need(user, 'read', key, noBytes);
  }

  /** Lock / election on `name`: its keys live under "<name>/". */
  election(user: string | undefined, name: Buffer): void {
    const prefix = Buffer.concat([name, Buffer.from('/')]);
    this.need(user, 'read', prefix, prefixEnd(prefix));
    this.need(user, 'write', prefix, prefixEnd(prefix));
  }

  admin(user: string | undefined): void {
    this.auth.checkAdmin(user);
  }

  userHasRole(user: string, role: string): boolean {
    return this.auth.hasRole(user, role);
  }

  /**
   * Checks a unary/server-stream request of `path` against its declared rule and returns the
   * caller its proposals run as; undefined while auth is disabled, for anonymous callers and
   * for open methods. A path without a rule is refused (registration refuses it first).
   */
  check(path: string, req: unknown, call: CallerSource): Caller | undefined {
    const rule = rules[path];
    if (rule === undefined) throw Errors.permissionDenied();
    const auth = this.auth;
    if (!auth.isEnabled() || rule === open || rule === watchCreates) return undefined;
    // etcd reads no credentials for a LeaseTimeToLive without keys
    if (rule === leaseTimeToLive && !(req as etcdserverpb.LeaseTimeToLiveRequest).keys) return undefined;
    if (rule === maintenanceAdmin) {
      maintenanceAdminCheck(this, () => callerOf(auth, call));
      return undefined;
    }
    const caller = callerInfoOf(auth, call);
    // key checks refuse credentials from before the last auth change (a JWT's revision)
    if (caller !== undefined && caller.authRevision < auth.revision() && keyCheckedServices.some((p) => path.startsWith(p))) throw Errors.authOldRevision();
    rule(this, caller?.user, req as never);
    return caller;
  }
}

type Rule = (g: PermissionGate, user: string | undefined, req: never) => void;
const admin: Rule = (g, user) => g.admin(user);
/** etcd 3.4's authMaintenanceServer returns the auth store's own errors untranslated (gRPC Unknown). */
const rawAuthTexts: Record<string, string> = {
  ERR_USER_EMPTY: 'auth: user name is empty',
  ERR_USER_NOT_FOUND: 'auth: user not found',
  ERR_PERMISSION_DENIED: 'auth: permission denied',
  ERR_INVALID_AUTH_TOKEN: 'auth: invalid auth token',
};
const maintenanceAdminCheck = (g: PermissionGate, user: () => string | undefined): void => {
  try {
    g.admin(user());
  } catch (e) {
    const raw = e instanceof ServerError ? rawAuthTexts[e.code] : undefined;
    if (raw === undefined) throw e;
    throw new ServerError(e instanceof ServerError ? e.code : 'ERR_UNKNOWN', GrpcCode.Unknown, raw);
  }
};
/** Requests that go through raft carry the caller: a bad token fails even without a key check. */
const tokenOnly: Rule = () => undefined;
/** No check at all, not even of the token (as etcd 3.4 serves Status, MemberList, ...). */
const open: Rule = () => undefined;
/** etcd's authMaintenanceServer: admin only, its errors untranslated (gRPC Unknown). */
const maintenanceAdmin: Rule = () => undefined;
/** The Watch stream: each create request is checked as it arrives (gatedWatchCall). */
const watchCreates: Rule = () => undefined;

/**
 * LeaseTimeToLive with keys (etcd 3.4.26's fix of CVE-2023-32082): the caller must be someone
 * and may read every key attached to the lease; without keys, no check.
 */
const leaseTimeToLive = (g: PermissionGate, u: string | undefined, r: etcdserverpb.LeaseTimeToLiveRequest): void => {
  if (!r.keys) return;
  if (u === undefined) throw Errors.userEmpty();
  g.leaseKeysReadable(u, r.ID);
};

/**
 * Every gRPC method's permission rule. The gate is closed by default: registering a method
 * without a rule here fails (AuthorizingGrpcServer), so no RPC is open by accident.
 */
const rules: Record<string, Rule> = {
  '/etcdserverpb.KV/Range': (g, u, r: etcdserverpb.RangeRequest) => g.range(u, r),
  '/etcdserverpb.KV/Put': (g, u, r: etcdserverpb.PutRequest) => g.put(u, r),
  '/etcdserverpb.KV/DeleteRange': (g, u, r: etcdserverpb.DeleteRangeRequest) => g.deleteRange(u, r),
  '/etcdserverpb.KV/Txn': (g, u, r: etcdserverpb.TxnRequest) => g.txn(u, r),
  '/etcdserverpb.KV/Compact': tokenOnly,
  '/etcdserverpb.Lease/LeaseGrant': tokenOnly,
  '/etcdserverpb.Lease/LeaseRevoke': (g, u, r: etcdserverpb.LeaseRevokeRequest) => g.leaseRevoke(u, r.ID),
  '/etcdserverpb.Lease/LeaseTimeToLive': leaseTimeToLive,
  '/etcdserverpb.Lease/LeaseLeases': open,
  '/etcdserverpb.Lease/LeaseKeepAlive': open,
  '/etcdserverpb.Watch/Watch': watchCreates,
  '/etcdserverpb.Maintenance/Alarm': tokenOnly,
  '/etcdserverpb.Maintenance/Status': open,
  '/etcdserverpb.Maintenance/MoveLeader': open,
  '/etcdserverpb.Maintenance/Defragment': maintenanceAdmin,
  '/etcdserverpb.Maintenance/Hash': maintenanceAdmin,
  '/etcdserverpb.Maintenance/HashKV': maintenanceAdmin,
  '/etcdserverpb.Maintenance/Snapshot': maintenanceAdmin,
  '/etcdserverpb.Cluster/MemberList': open,
  '/etcdserverpb.Auth/Authenticate': open,
  '/etcdserverpb.Cluster/MemberAdd': admin,
  '/etcdserverpb.Cluster/MemberRemove': admin,
  '/etcdserverpb.Cluster/MemberUpdate': admin,
  '/etcdserverpb.Cluster/MemberPromote': admin,
  '/etcdserverpb.Auth/AuthEnable': admin,
  '/etcdserverpb.Auth/AuthDisable': admin,
  '/etcdserverpb.Auth/UserAdd': admin,
  // a user may read itself; a role's holders may read the role
  '/etcdserverpb.Auth/UserGet': (g, u, r: etcdserverpb.AuthUserGetRequest) => {
    if (u === undefined || r.name !== u) g.admin(u);
  },
  '/etcdserverpb.Auth/UserList': admin,
  '/etcdserverpb.Auth/UserDelete': admin,
  '/etcdserverpb.Auth/UserChangePassword': admin,
  '/etcdserverpb.Auth/UserGrantRole': admin,
  '/etcdserverpb.Auth/UserRevokeRole': admin,
  '/etcdserverpb.Auth/RoleAdd': admin,
  '/etcdserverpb.Auth/RoleGet': (g, u, r: etcdserverpb.AuthRoleGetRequest) => {
    if (u === undefined || !g.userHasRole(u, r.role)) g.admin(u);
  },
  '/etcdserverpb.Auth/RoleList': admin,
  '/etcdserverpb.Auth/RoleDelete': admin,
  '/etcdserverpb.Auth/RoleGrantPermission': admin,
  '/etcdserverpb.Auth/RoleRevokePermission': admin,
  '/v3lockpb.Lock/Lock': (g, u, r: v3lockpb.LockRequest) => g.election(u, r.name),
  '/v3lockpb.Lock/Unlock': (g, u, r: v3lockpb.UnlockRequest) => g.deleteRange(u, P.DeleteRangeRequest.fromPartial({ key: r.key })),
  '/v3electionpb.Election/Campaign': (g, u, r: v3electionpb.CampaignRequest) => g.election(u, r.name),
  '/v3electionpb.Election/Proclaim': (g, u, r: v3electionpb.ProclaimRequest) => g.election(u, r.leader?.name ?? noBytes),
  '/v3electionpb.Election/Resign': (g, u, r: v3electionpb.ResignRequest) => g.election(u, r.leader?.name ?? noBytes),
  '/v3electionpb.Election/Leader': (g, u, r: v3electionpb.LeaderRequest) => g.election(u, r.name),
  '/v3electionpb.Election/Observe': (g, u, r: v3electionpb.LeaderRequest) => g.election(u, r.name),
};

const keyCheckedServices = ['/etcdserverpb.KV/', '/etcdserverpb.Lease/', '/v3lockpb.', '/v3electionpb.'];

/** The rule declared for a gRPC method; registering one without a rule is refused. */
function declaredRule(path: string): Rule {
  const rule = rules[path];
  if (rule === undefined) throw new Error(`gRPC method ${path} has no permission rule: declare one in api/auth.ts (rules) before registering it`);
  return rule;
}

/**
 * The Watch stream as its handler sees it: create requests the caller may not read are answered
 * here — created and canceled at once with "permission denied", as etcd does — and never reach
 * the handler. Everything else is the call itself.
 */
function gatedWatchCall(s: EtcdServer, gate: PermissionGate, call: BidiCall<etcdserverpb.WatchRequest>): BidiCall<etcdserverpb.WatchRequest> {
  const permitted = (c: etcdserverpb.WatchCreateRequest): boolean => {
    try {
      gate.range(callerOf(s.applier.auth, call), P.RangeRequest.fromPartial({ key: c.key, rangeEnd: c.rangeEnd }));
      return true;
    } catch {
      return false;
    }
  };
  async function* filtered(): AsyncGenerator<etcdserverpb.WatchRequest> {
    for await (const req of call) {
      const u = req.requestUnion;
      if (u?.$case === 'createRequest' && s.applier.auth.isEnabled() && !permitted(u.value)) {
        const denied = deniedWatchResponse(s, u.value.watchId);
        if (!call.write(denied)) await call.drained();
        continue;
      }
      yield req;
    }
  }
  return new Proxy(call, {
    get(target, prop) {
      if (prop === Symbol.asyncIterator) return () => filtered();
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The Auth service. Mutations go through raft; reads are served from the member's state. */
export class AuthApi {
  constructor(private readonly s: EtcdServer) {}

  private get auth(): AuthStore {
    return this.s.applier.auth;
  }

  private header(): Header {
    return this.s.header();
  }

  private async mutate<T extends { header: Header | undefined }>(r: Parameters<EtcdServer['propose']>[0]): Promise<T> {
    const resp = (await this.s.propose(r)) as T;
    resp.header = this.header();
    return resp;
  }

  async authEnable(): Promise<etcdserverpb.AuthEnableResponse> {
    return this.mutate({ authEnable: {} });
  }

  async authDisable(): Promise<etcdserverpb.AuthDisableResponse> {
    return this.mutate({ authDisable: {} });
  }

  async authenticate(r: etcdserverpb.AuthenticateRequest): Promise<etcdserverpb.AuthenticateResponse> {
    for (let attempt = 1; ; attempt++) {
      const auth = this.auth;
      if (!auth.isEnabled()) throw Errors.authNotEnabled();
      const checkedRev = auth.revision();
      const hash = auth.passwordHash(r.name);
      if (hash === undefined || !(await verifyPassword(r.password, hash))) throw Errors.authFailed();
      // the password stays here: only the name and a fresh token prefix go through raft
      const resp = await this.mutate<etcdserverpb.AuthenticateResponse>({ authenticate: { name: r.name, password: '', simpleToken: newSimpleTokenPrefix() } });
      if (auth.revision() === checkedRev || attempt >= maxAuthenticateAttempts) return resp;
    }
  }

  async userAdd(r: etcdserverpb.AuthUserAddRequest): Promise<etcdserverpb.AuthUserAddResponse> {
    if (r.name.length === 0) throw Errors.userEmpty();
    const noPassword = r.options?.noPassword === true;
    const password = noPassword ? '' : await hashPassword(r.password, this.auth.passwordCostLog2N);
    return this.mutate({ authUserAdd: { name: r.name, password, options: { noPassword } } });
  }

  async userDelete(r: etcdserverpb.AuthUserDeleteRequest): Promise<etcdserverpb.AuthUserDeleteResponse> {
    return this.mutate({ authUserDelete: r });
  }

  async userChangePassword(r: etcdserverpb.AuthUserChangePasswordRequest): Promise<etcdserverpb.AuthUserChangePasswordResponse> {
    if (this.auth.getUser(r.name) === undefined) throw Errors.userNotFound();
    return this.mutate({ authUserChangePassword: { name: r.name, password: await hashPassword(r.password, this.auth.passwordCostLog2N) } });
  }

  async userGrantRole(r: etcdserverpb.AuthUserGrantRoleRequest): Promise<etcdserverpb.AuthUserGrantRoleResponse> {
    return this.mutate({ authUserGrantRole: r });
  }

  async userRevokeRole(r: etcdserverpb.AuthUserRevokeRoleRequest): Promise<etcdserverpb.AuthUserRevokeRoleResponse> {
    return this.mutate({ authUserRevokeRole: r });
  }

  async roleAdd(r: etcdserverpb.AuthRoleAddRequest): Promise<etcdserverpb.AuthRoleAddResponse> {
    return this.mutate({ authRoleAdd: r });
  }

  async roleDelete(r: etcdserverpb.AuthRoleDeleteRequest): Promise<etcdserverpb.AuthRoleDeleteResponse> {
    return this.mutate({ authRoleDelete: r });
  }

  async roleGrantPermission(r: etcdserverpb.AuthRoleGrantPermissionRequest): Promise<etcdserverpb.AuthRoleGrantPermissionResponse> {
    return this.mutate({ authRoleGrantPermission: r });
  }

  async roleRevokePermission(r: etcdserverpb.AuthRoleRevokePermissionRequest): Promise<etcdserverpb.AuthRoleRevokePermissionResponse> {
    return this.mutate({ authRoleRevokePermission: r });
  }

  async userGet(r: etcdserverpb.AuthUserGetRequest): Promise<etcdserverpb.AuthUserGetResponse> {
    await this.s.linearizableReadNotify();
    return { header: this.header(), roles: this.auth.userGet(r.name) };
  }

  async userList(): Promise<etcdserverpb.AuthUserListResponse> {
    await this.s.linearizableReadNotify();
    return { header: this.header(), users: this.auth.userList() };
  }

  async roleGet(r: etcdserverpb.AuthRoleGetRequest): Promise<etcdserverpb.AuthRoleGetResponse> {
    await this.s.linearizableReadNotify();
    return { header: this.header(), perm: this.auth.roleGet(r.role) };
  }

  async roleList(): Promise<etcdserverpb.AuthRoleListResponse> {
    await this.s.linearizableReadNotify();
    return { header: this.header(), roles: this.auth.roleList() };
  }
}

interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): T;
  fromJSON(o: unknown): T;
  toJSON(m: T): unknown;
}

/** One Auth method: its gRPC path, its JSON gateway path (etcd's google.api.http), codecs, handler. */
export interface AuthMethod {
  grpcPath: string;
  gatewayPath: string;
  codec: Codec<any>;
  out: Codec<any>;
  fn: (r: any) => Promise<unknown>;
}

export function authMethods(api: AuthApi): AuthMethod[] {
  const m = <Req, Res>(name: string, gatewayPath: string, codec: Codec<Req>, out: Codec<Res>, fn: (r: Req) => Promise<Res>): AuthMethod => ({
    grpcPath: `/etcdserverpb.Auth/${name}`,
    gatewayPath,
    codec,
    out,
    fn: fn as (r: any) => Promise<unknown>,
  });
  return [
    m('AuthEnable', '/v3/auth/enable', P.AuthEnableRequest, P.AuthEnableResponse, () => api.authEnable()),
    m('AuthDisable', '/v3/auth/disable', P.AuthDisableRequest, P.AuthDisableResponse, () => api.authDisable()),
    m('Authenticate', '/v3/auth/authenticate', P.AuthenticateRequest, P.AuthenticateResponse, (r) => api.authenticate(r)),
    m('UserAdd', '/v3/auth/user/add', P.AuthUserAddRequest, P.AuthUserAddResponse, (r) => api.userAdd(r)),
    m('UserGet', '/v3/auth/user/get', P.AuthUserGetRequest, P.AuthUserGetResponse, (r) => api.userGet(r)),
    m('UserList', '/v3/auth/user/list', P.AuthUserListRequest, P.AuthUserListResponse, () => api.userList()),
    m('UserDelete', '/v3/auth/user/delete', P.AuthUserDeleteRequest, P.AuthUserDeleteResponse, (r) => api.userDelete(r)),
    m('UserChangePassword', '/v3/auth/user/changepw', P.AuthUserChangePasswordRequest, P.AuthUserChangePasswordResponse, (r) => api.userChangePassword(r)),
    m('UserGrantRole', '/v3/auth/user/grant', P.AuthUserGrantRoleRequest, P.AuthUserGrantRoleResponse, (r) => api.userGrantRole(r)),
    m('UserRevokeRole', '/v3/auth/user/revoke', P.AuthUserRevokeRoleRequest, P.AuthUserRevokeRoleResponse, (r) => api.userRevokeRole(r)),
    m('RoleAdd', '/v3/auth/role/add', P.AuthRoleAddRequest, P.AuthRoleAddResponse, (r) => api.roleAdd(r)),
    m('RoleGet', '/v3/auth/role/get', P.AuthRoleGetRequest, P.AuthRoleGetResponse, (r) => api.roleGet(r)),
    m('RoleList', '/v3/auth/role/list', P.AuthRoleListRequest, P.AuthRoleListResponse, () => api.roleList()),
    m('RoleDelete', '/v3/auth/role/delete', P.AuthRoleDeleteRequest, P.AuthRoleDeleteResponse, (r) => api.roleDelete(r)),
    m('RoleGrantPermission', '/v3/auth/role/grant', P.AuthRoleGrantPermissionRequest, P.AuthRoleGrantPermissionResponse, (r) => api.roleGrantPermission(r)),
    m('RoleRevokePermission', '/v3/auth/role/revoke', P.AuthRoleRevokePermissionRequest, P.AuthRoleRevokePermissionResponse, (r) => api.roleRevokePermission(r)),
  ];
}

function deniedWatchResponse(s: EtcdServer, watchId: bigint): etcdserverpb.WatchResponse {
  return P.WatchResponse.fromPartial({ header: s.header(), watchId, created: true, canceled: true, cancelReason: Errors.permissionDenied().message });
}

/**
 * A GrpcServer that puts the permission gate in front of every handler registered on it and
 * serves the Auth service. createGrpcServer builds this instead of a plain GrpcServer.
 */
export class AuthorizingGrpcServer extends GrpcServer {
  private readonly gate: PermissionGate;

  constructor(
    private readonly s: EtcdServer,
    options: GrpcServerOptions = {},
  ) {
    super(options);
    this.gate = new PermissionGate(s);
    this.registerAuthService();
  }

  override addUnary<Req, Res>(path: string, decode: Decoder<Req>, encode: Encoder<Res>, handler: UnaryHandler<Req, Res>): this {
    const rule = declaredRule(path);
    if (rule === watchCreates) throw new Error(`gRPC method ${path}: its rule is for the Watch stream`);
    return super.addUnary(path, decode, encode, (req, call) => {
      let caller: Caller | undefined;
      try {
        caller = this.gate.check(path, req, call);
      } catch (e) {
        throw toGrpcError(e);
      }
      return runAsCaller(caller, () => handler(req, call));
    });
  }

  override addServerStream<Req, Res>(path: string, decode: Decoder<Req>, encode: Encoder<Res>, handler: ServerStreamHandler<Req>): this {
    const rule = declaredRule(path);
    if (rule === watchCreates) throw new Error(`gRPC method ${path}: its rule is for the Watch stream`);
    return super.addServerStream(path, decode, encode, (req, call) => {
      let caller: Caller | undefined;
      try {
        caller = this.gate.check(path, req, call);
      } catch (e) {
        call.end(toGrpcError(e));
        return;
      }
      return runAsCaller(caller, () => handler(req, call));
    });
  }

  override addBidi<Req, Res>(path: string, decode: Decoder<Req>, encode: Encoder<Res>, handler: BidiHandler<Req>): this {
    // a bidi stream is checked per request; only the Watch stream's checks exist, others must be open
    const rule = declaredRule(path);
    if (rule === open) return super.addBidi(path, decode, encode, handler);
    if (rule !== watchCreates) throw new Error(`gRPC method ${path}: bidi streams can only be open or the Watch stream`);
    return super.addBidi(path, decode, encode, (call) =>
      (handler as unknown as BidiHandler<etcdserverpb.WatchRequest>)(gatedWatchCall(this.s, this.gate, call as unknown as BidiCall<etcdserverpb.WatchRequest>)),
    );
  }

  /** Generated service definitions go through the same checks, one method at a time. */
  override addService<D extends Record<string, MethodDefinitionLike<any, any, boolean, boolean>>>(definition: D, handlers: { [K in keyof D]?: HandlerFor<D[K]> }): this {
    for (const name of Object.keys(handlers)) {
      const m = definition[name];
      const handler = handlers[name] as never;
      if (m === undefined || handler === undefined) continue;
      const decode = m.requestDeserialize as Decoder<unknown>;
      const encode = m.responseSerialize as Encoder<unknown>;
      if (m.requestStream) this.addBidi(m.path, decode, encode, handler);
      else if (m.responseStream) this.addServerStream(m.path, decode, encode, handler);
      else this.addUnary(m.path, decode, encode, handler);
    }
    return this;
  }

  private registerAuthService(): void {
    for (const r of authMethods(new AuthApi(this.s))) {
      // through this.addUnary: the gate's rules cover the Auth service too
      this.addUnary(r.grpcPath, (b) => r.codec.decode(b), (m) => r.out.encode(m).finish(), async (req) => {
        try {
          if (this.s.isStopped()) throw Errors.stopped();
          return await r.fn(req);
        } catch (e) {
          throw toGrpcError(e);
        }
      });
    }
  }
}
