// The Auth service (etcd's v3rpc/auth.go and the Auth* methods of v3_server.go): mutations go
// through raft, reads are served from the member's auth store after a linearizable read.
// Passwords are hashed here, at the member that took the call; only the hash is proposed.

import { etcdserverpb, type Encodes } from '@tsetcd/proto';
import type { ServerView } from '../etcdserver/server-view.js';
import { Errors } from '../errors.js';
import { callerInfoOf, type CallerSource } from './caller.js';
import { hashPassword, verifyPassword } from '../auth/password-hash.js';
import { newSimpleTokenPrefix } from '../auth/simple-token.js';
import type { AuthStore } from '../auth/auth-store.js';

type Header = etcdserverpb.ResponseHeader;
const P = etcdserverpb;
/** Authenticate retries while the auth revision moved between the password check and the apply */
const maxAuthenticateAttempts = 3;

/** The Auth service. Mutations go through raft; reads are served from the member's state. */
export class AuthApi {
  constructor(
    private readonly s: ServerView,
    private readonly auth: AuthStore,
  ) {}

  private header(): Header {
    return this.s.header();
  }

  private async mutate<T extends { header: Header | undefined }>(r: Parameters<ServerView['propose']>[0]): Promise<T> {
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

  /**
   * etcd's Authenticate: the password is checked first; then, as every request that goes through
   * raft, the token the request carries, if any (an unknown one is "invalid auth token").
   */
  async authenticate(r: etcdserverpb.AuthenticateRequest, caller?: CallerSource): Promise<etcdserverpb.AuthenticateResponse> {
    for (let attempt = 1; ; attempt++) {
      const auth = this.auth;
      if (!auth.isEnabled()) throw Errors.authNotEnabled();
      const checkedRev = auth.revision();
      // etcd's CheckPassword: a no-password user is told so, whatever password came
      if (auth.isNoPasswordUser(r.name)) throw Errors.authStoreNoPasswordUser();
      const hash = auth.passwordHash(r.name);
      if (hash === undefined || !(await verifyPassword(r.password, hash))) throw Errors.authFailed();
      if (caller !== undefined) callerInfoOf(auth, caller);
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

interface Codec<T> extends Encodes<T> {
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
  /** `caller`: where the request's credentials come from (Authenticate checks them last) */
  fn: (r: any, caller?: CallerSource) => Promise<unknown>;
}

export function authMethods(api: AuthApi): AuthMethod[] {
  const m = <Req, Res>(name: string, gatewayPath: string, codec: Codec<Req>, out: Codec<Res>, fn: (r: Req, caller?: CallerSource) => Promise<Res>): AuthMethod => ({
    grpcPath: `/etcdserverpb.Auth/${name}`,
    gatewayPath,
    codec,
    out,
    fn: fn as (r: any, caller?: CallerSource) => Promise<unknown>,
  });
  return [
    m('AuthEnable', '/v3/auth/enable', P.AuthEnableRequest, P.AuthEnableResponse, () => api.authEnable()),
    m('AuthDisable', '/v3/auth/disable', P.AuthDisableRequest, P.AuthDisableResponse, () => api.authDisable()),
    m('Authenticate', '/v3/auth/authenticate', P.AuthenticateRequest, P.AuthenticateResponse, (r, caller) => api.authenticate(r, caller)),
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
