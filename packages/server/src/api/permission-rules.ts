// The permission rules: what each gRPC method needs while auth is enabled (etcd's
// apply_auth.go / v3_server.go checks, by method path). Every method declares a rule here; a
// method without one cannot be registered (permission-interceptor.ts applies them). Key
// permissions are checked at the member that took the call, and the applier checks writes again
// when applying them (auth/caller-context.ts).

import { etcdserverpb, v3electionpb, v3lockpb } from '@tsetcd/proto';
import { Errors, ServerError } from '../errors.js';
import type { AuthStore, PermissionKind } from '../auth/auth-store.js';
import type { LeaseKeys, RequestPermissions } from '../auth/request-permissions.js';
import type { Caller } from '../auth/caller-context.js';
import { callerInfoOf, callerOf, type CallerSource } from './caller.js';
import { EtcdError, prefixEnd, type EtcdErrorKind } from '@tsetcd/common';
import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxn } from '../apply/validate.js';
import { checkPeerUrls } from '../membership/peer-urls.js';
import { leaderMissing } from './election-lock.js';
import { defaults as serverDefaults } from '../etcdserver/config.js';

const defaultMaxTxnOps = serverDefaults.maxTxnOps;

const P = etcdserverpb;
const noBytes = Buffer.alloc(0);

/** The key-permission checks of etcd's apply_auth.go / v3_server.go, by request kind. */
export class PermissionGate {
  constructor(
    readonly auth: AuthStore,
    private readonly requests: RequestPermissions,
    private readonly leaseKeys: LeaseKeys,
    /** etcd --max-txn-ops, for the request checks that precede the permission checks */
    private readonly maxTxnOps: number = defaultMaxTxnOps,
  ) {}

  private need(user: string | undefined, kind: PermissionKind, key: Buffer, rangeEnd: Buffer): void {
    this.auth.checkPermitted(user, kind, key, rangeEnd);
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
    for (const key of this.leaseKeys(id) ?? []) this.need(user, 'read', key, noBytes);
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
    if (rule === open || rule === watchCreates) return undefined;
    // etcd's request checks (v3rpc check*Request, URL parsing) come before any credential
    requestChecks[path]?.(req as never, this.maxTxnOps);
    const auth = this.auth;
    // etcd reads no credentials for a LeaseTimeToLive without keys
    if (rule === leaseTimeToLive && (!auth.isEnabled() || !(req as etcdserverpb.LeaseTimeToLiveRequest).keys)) return undefined;
    // the rest resolve a token the request carries even while auth is disabled (etcd's
    // AuthInfoFromCtx runs either way; a disabled store knows no token)
    if (rule === maintenanceAdmin) {
      untranslated(() => {
        const user = callerOf(auth, call);
        if (auth.isEnabled()) this.admin(user);
      });
      return undefined;
    }
    const caller = rule === tokenOnlyUntranslated ? untranslated(() => callerInfoOf(auth, call)) : callerInfoOf(auth, call);
    if (!auth.isEnabled()) return undefined;
    // key checks refuse credentials from before the last auth change (a JWT's revision)
    if (caller !== undefined && caller.authRevision < auth.revision() && keyCheckedServices.some((p) => path.startsWith(p))) throw Errors.authOldRevision();
    rule(this, caller?.user, req as never);
    return caller;
  }
}

export type Rule = (g: PermissionGate, user: string | undefined, req: never) => void;
const admin: Rule = (g, user) => g.admin(user);
/** etcd 3.4's authMaintenanceServer returns the auth store's own errors untranslated (gRPC Unknown). */
const rawAuthErrors: Record<string, EtcdErrorKind> = {
  ERR_USER_EMPTY: EtcdError.authStoreUserEmpty,
  ERR_USER_NOT_FOUND: EtcdError.authStoreUserNotFound,
  ERR_PERMISSION_DENIED: EtcdError.authStorePermissionDenied,
  ERR_INVALID_AUTH_TOKEN: EtcdError.authStoreInvalidAuthToken,
};
function untranslated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const raw = e instanceof ServerError ? rawAuthErrors[e.code] : undefined;
    if (raw === undefined) throw e;
    throw new ServerError(raw.code, raw.grpcCode, raw.message);
  }
}
/** Requests that go through raft carry the caller: a bad token fails even without a key check. */
const tokenOnly: Rule = () => undefined;
/** tokenOnly, the token's error untranslated (etcd 3.4's maintenanceServer.Alarm returns it as is). */
const tokenOnlyUntranslated: Rule = () => undefined;
/** No check at all, not even of the token (as etcd 3.4 serves Status, MemberList, ...). */
export const open: Rule = () => undefined;
/** etcd's authMaintenanceServer: admin only, its errors untranslated (gRPC Unknown). */
const maintenanceAdmin: Rule = () => undefined;
/** The Watch stream: each create request is checked as it arrives (gatedWatchCall). */
export const watchCreates: Rule = () => undefined;

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
 * without a rule here fails (permission-interceptor.ts), so no RPC is open by accident.
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
  '/etcdserverpb.Maintenance/Alarm': tokenOnlyUntranslated,
  '/etcdserverpb.Maintenance/Status': open,
  '/etcdserverpb.Maintenance/MoveLeader': open,
  '/etcdserverpb.Maintenance/Defragment': maintenanceAdmin,
  '/etcdserverpb.Maintenance/Hash': maintenanceAdmin,
  '/etcdserverpb.Maintenance/HashKV': maintenanceAdmin,
  '/etcdserverpb.Maintenance/Snapshot': maintenanceAdmin,
  '/etcdserverpb.Cluster/MemberList': open,
  '/grpc.health.v1.Health/Check': open,
  '/grpc.health.v1.Health/Watch': open,
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
  '/v3electionpb.Election/Proclaim': (g, u, r: v3electionpb.ProclaimRequest) => g.election(u, r.leader!.name),
  '/v3electionpb.Election/Resign': (g, u, r: v3electionpb.ResignRequest) => g.election(u, r.leader!.name),
  '/v3electionpb.Election/Leader': (g, u, r: v3electionpb.LeaderRequest) => g.election(u, r.name),
  '/v3electionpb.Election/Observe': (g, u, r: v3electionpb.LeaderRequest) => g.election(u, r.name),
};

type RequestCheck = (req: never, maxTxnOps: number) => void;
/** Proclaim/Resign without a leader fail in the election service itself, before any KV call. */
const leaderGiven = (r: { leader?: unknown }): void => {
  if (r.leader === undefined) throw leaderMissing();
};

/**
 * etcd's stateless request checks, which its API layer runs before the call's credentials are
 * looked at (an empty key is "key is not provided" whoever asks). The handlers run them again.
 */
const requestChecks: Record<string, RequestCheck> = {
  '/etcdserverpb.KV/Range': (r: etcdserverpb.RangeRequest) => checkRangeRequest(r),
  '/etcdserverpb.KV/Put': (r: etcdserverpb.PutRequest) => checkPutRequest(r),
  '/etcdserverpb.KV/DeleteRange': (r: etcdserverpb.DeleteRangeRequest) => checkDeleteRequest(r),
  '/etcdserverpb.KV/Txn': (r: etcdserverpb.TxnRequest, maxTxnOps) => checkTxn(r, maxTxnOps),
  '/etcdserverpb.Cluster/MemberAdd': (r: etcdserverpb.MemberAddRequest) => checkPeerUrls(r.peerURLs),
  '/etcdserverpb.Cluster/MemberUpdate': (r: etcdserverpb.MemberUpdateRequest) => checkPeerUrls(r.peerURLs),
  '/v3lockpb.Lock/Unlock': (r: v3lockpb.UnlockRequest) => checkDeleteRequest(P.DeleteRangeRequest.fromPartial({ key: r.key })),
  '/v3electionpb.Election/Proclaim': (r: v3electionpb.ProclaimRequest) => leaderGiven(r),
  '/v3electionpb.Election/Resign': (r: v3electionpb.ResignRequest) => leaderGiven(r),
};

const keyCheckedServices = ['/etcdserverpb.KV/', '/etcdserverpb.Lease/', '/v3lockpb.', '/v3electionpb.'];

/** The rule declared for a gRPC method; registering one without a rule is refused. */
export function declaredRule(path: string): Rule {
  const rule = rules[path];
  if (rule === undefined) throw new Error(`gRPC method ${path} has no permission rule: declare one in api/permission-rules.ts (rules) before registering it`);
  return rule;
}
