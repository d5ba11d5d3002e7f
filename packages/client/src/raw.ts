// The RAW layer: every unary method of every etcd service as `(request) => Promise<response>`
// with the generated ts-proto types, plus the raw streams. Higher layers (and tsetcdctl, which
// prints etcd's responses verbatim) are built on it. Requests may be partial: missing fields
// take their proto3 defaults (`X.fromPartial`).
import type * as grpc from '@grpc/grpc-js';
import { etcdserverpb, v3electionpb, v3lockpb, healthpb } from '@tsetcd/proto';
import type { CallOptions, RetryKind, Transport, UnaryDef } from './transport.js';

/** Recursive optional version of a generated message (what `X.fromPartial` accepts). */
export type DeepPartial<T> = T extends Buffer | bigint | string | number | boolean | undefined
  ? T
  : T extends Array<infer U>
    ? Array<DeepPartial<U>>
    : T extends { $case: string; value: unknown }
      ? { $case: T['$case']; value: DeepPartial<T['value']> }
      : T extends object
        ? { [K in keyof T]?: DeepPartial<T[K]> }
        : T;

interface Fns<T> {
  fromPartial(object: never): T;
}

export type RawUnary<Req, Res> = (req?: DeepPartial<Req>, opts?: CallOptions) => Promise<Res>;

function unary<Req, Res>(t: Transport, def: UnaryDef<Req, Res>, fns: Fns<Req>, kind: RetryKind): RawUnary<Req, Res> {
  const fromPartial = fns.fromPartial as unknown as (o: unknown) => Req;
  return (req, opts) => t.unary(def, fromPartial(req ?? {}), kind, opts);
}

const KV = etcdserverpb.KVService;
const Lease = etcdserverpb.LeaseService;
const Cluster = etcdserverpb.ClusterService;
const Mt = etcdserverpb.MaintenanceService;
const Auth = etcdserverpb.AuthService;
const El = v3electionpb.ElectionService;
const Lk = v3lockpb.LockService;
const pb = etcdserverpb;

function makeRaw(t: Transport) {
  return {
    kv: {
      range: unary(t, KV.range, pb.RangeRequest, 'read'),
      put: unary(t, KV.put, pb.PutRequest, 'write'),
      deleteRange: unary(t, KV.deleteRange, pb.DeleteRangeRequest, 'write'),
      txn: unary(t, KV.txn, pb.TxnRequest, 'write'),
      compact: unary(t, KV.compact, pb.CompactionRequest, 'write'),
    },
    lease: {
      leaseGrant: unary(t, Lease.leaseGrant, pb.LeaseGrantRequest, 'write'),
      leaseRevoke: unary(t, Lease.leaseRevoke, pb.LeaseRevokeRequest, 'write'),
      leaseTimeToLive: unary(t, Lease.leaseTimeToLive, pb.LeaseTimeToLiveRequest, 'read'),
      leaseLeases: unary(t, Lease.leaseLeases, pb.LeaseLeasesRequest, 'read'),
    },
    cluster: {
      memberAdd: unary(t, Cluster.memberAdd, pb.MemberAddRequest, 'write'),
      memberRemove: unary(t, Cluster.memberRemove, pb.MemberRemoveRequest, 'write'),
      memberUpdate: unary(t, Cluster.memberUpdate, pb.MemberUpdateRequest, 'write'),
      memberList: unary(t, Cluster.memberList, pb.MemberListRequest, 'read'),
      memberPromote: unary(t, Cluster.memberPromote, pb.MemberPromoteRequest, 'write'),
    },
    maintenance: {
      alarm: unary(t, Mt.alarm, pb.AlarmRequest, 'write'),
      status: unary(t, Mt.status, pb.StatusRequest, 'read'),
      defragment: unary(t, Mt.defragment, pb.DefragmentRequest, 'write'),
      hash: unary(t, Mt.hash, pb.HashRequest, 'read'),
      hashKV: unary(t, Mt.hashKv, pb.HashKVRequest, 'read'),
      moveLeader: unary(t, Mt.moveLeader, pb.MoveLeaderRequest, 'write'),
      /** Server stream of snapshot chunks. */
      snapshot: (opts?: CallOptions): Promise<grpc.ClientReadableStream<etcdserverpb.SnapshotResponse>> =>
        t.serverStream(Mt.snapshot, pb.SnapshotRequest.fromPartial({}), opts),
    },
    auth: {
      authEnable: unary(t, Auth.authEnable, pb.AuthEnableRequest, 'write'),
      authDisable: unary(t, Auth.authDisable, pb.AuthDisableRequest, 'write'),
      authenticate: unary(t, Auth.authenticate, pb.AuthenticateRequest, 'read'),
      userAdd: unary(t, Auth.userAdd, pb.AuthUserAddRequest, 'write'),
      userGet: unary(t, Auth.userGet, pb.AuthUserGetRequest, 'read'),
      userList: unary(t, Auth.userList, pb.AuthUserListRequest, 'read'),
      userDelete: unary(t, Auth.userDelete, pb.AuthUserDeleteRequest, 'write'),
      userChangePassword: unary(t, Auth.userChangePassword, pb.AuthUserChangePasswordRequest, 'write'),
      userGrantRole: unary(t, Auth.userGrantRole, pb.AuthUserGrantRoleRequest, 'write'),
      userRevokeRole: unary(t, Auth.userRevokeRole, pb.AuthUserRevokeRoleRequest, 'write'),
      roleAdd: unary(t, Auth.roleAdd, pb.AuthRoleAddRequest, 'write'),
      roleGet: unary(t, Auth.roleGet, pb.AuthRoleGetRequest, 'read'),
      roleList: unary(t, Auth.roleList, pb.AuthRoleListRequest, 'read'),
      roleDelete: unary(t, Auth.roleDelete, pb.AuthRoleDeleteRequest, 'write'),
      roleGrantPermission: unary(t, Auth.roleGrantPermission, pb.AuthRoleGrantPermissionRequest, 'write'),
      roleRevokePermission: unary(t, Auth.roleRevokePermission, pb.AuthRoleRevokePermissionRequest, 'write'),
    },
    election: {
      campaign: unary(t, El.campaign, v3electionpb.CampaignRequest, 'write'),
      proclaim: unary(t, El.proclaim, v3electionpb.ProclaimRequest, 'write'),
      leader: unary(t, El.leader, v3electionpb.LeaderRequest, 'read'),
      resign: unary(t, El.resign, v3electionpb.ResignRequest, 'write'),
      /** Server stream of leader changes. */
      observe: (req: DeepPartial<v3electionpb.LeaderRequest>, opts?: CallOptions): Promise<grpc.ClientReadableStream<v3electionpb.LeaderResponse>> =>
        t.serverStream(El.observe, v3electionpb.LeaderRequest.fromPartial(req as never), opts),
    },
    lock: {
      lock: unary(t, Lk.lock, v3lockpb.LockRequest, 'write'),
      unlock: unary(t, Lk.unlock, v3lockpb.UnlockRequest, 'write'),
    },
    health: {
      check: unary(t, healthpb.HealthService.check, healthpb.HealthCheckRequest, 'read'),
    },
    /** Raw bidirectional Watch stream (the Client's watch() multiplexes its own stream). */
    watch: (opts?: { signal?: AbortSignal; requireLeader?: boolean }) =>
      t.bidi(etcdserverpb.WatchService.watch, opts?.requireLeader ? { hasleader: 'true' } : undefined, opts?.signal).then((s) => s.stream),
    /** Raw bidirectional LeaseKeepAlive stream (the Client's keepAlive() shares its own stream). */
    leaseKeepAlive: (opts?: { signal?: AbortSignal }) =>
      t.bidi(etcdserverpb.LeaseService.leaseKeepAlive, undefined, opts?.signal).then((s) => s.stream),
  };
}

export type RawClient = ReturnType<typeof makeRaw>;
export { makeRaw };
