// The JSON gateway's routes: etcd 3.4's google.api.http bindings (rpc.proto, v3lock.proto,
// v3election.proto), every one a POST, each to the gRPC method it proxies. /v3beta/... is
// served as /v3/... (etcd's accessController rewrites it).

import { etcdserverpb, v3electionpb, v3lockpb } from '@tsetcd/proto';

export type RouteKind = 'unary' | 'server_stream' | 'bidi_stream';

interface Codec {
  fromPartial(o: object): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  toJSON(m: unknown): unknown;
}

export interface GatewayRoute {
  path: string;
  grpcPath: string;
  kind: RouteKind;
  /** full name of the request message (the JSON schema's key) */
  requestType: string;
  request: Codec;
  response: Codec;
}

const namespaces: Record<string, Record<string, unknown>> = { etcdserverpb, v3electionpb, v3lockpb };

function codecOf(fullName: string): Codec {
  const [pkg, name] = fullName.split('.');
  const c = namespaces[pkg]?.[name] as Codec | undefined;
  if (c === undefined) throw new Error(`gateway route: no codec for ${fullName}`);
  return c;
}

function r(path: string, grpcPath: string, req: string, res: string, kind: RouteKind = 'unary'): GatewayRoute {
  return { path, grpcPath, kind, requestType: req, request: codecOf(req), response: codecOf(res) };
}

const E = 'etcdserverpb';

export const gatewayRoutes: GatewayRoute[] = [
  r('/v3/kv/range', '/etcdserverpb.KV/Range', `${E}.RangeRequest`, `${E}.RangeResponse`),
  r('/v3/kv/put', '/etcdserverpb.KV/Put', `${E}.PutRequest`, `${E}.PutResponse`),
  r('/v3/kv/deleterange', '/etcdserverpb.KV/DeleteRange', `${E}.DeleteRangeRequest`, `${E}.DeleteRangeResponse`),
  r('/v3/kv/txn', '/etcdserverpb.KV/Txn', `${E}.TxnRequest`, `${E}.TxnResponse`),
  r('/v3/kv/compaction', '/etcdserverpb.KV/Compact', `${E}.CompactionRequest`, `${E}.CompactionResponse`),
  r('/v3/watch', '/etcdserverpb.Watch/Watch', `${E}.WatchRequest`, `${E}.WatchResponse`, 'bidi_stream'),
  r('/v3/lease/grant', '/etcdserverpb.Lease/LeaseGrant', `${E}.LeaseGrantRequest`, `${E}.LeaseGrantResponse`),
  r('/v3/lease/revoke', '/etcdserverpb.Lease/LeaseRevoke', `${E}.LeaseRevokeRequest`, `${E}.LeaseRevokeResponse`),
  r('/v3/kv/lease/revoke', '/etcdserverpb.Lease/LeaseRevoke', `${E}.LeaseRevokeRequest`, `${E}.LeaseRevokeResponse`),
  r('/v3/lease/keepalive', '/etcdserverpb.Lease/LeaseKeepAlive', `${E}.LeaseKeepAliveRequest`, `${E}.LeaseKeepAliveResponse`, 'bidi_stream'),
  r('/v3/lease/timetolive', '/etcdserverpb.Lease/LeaseTimeToLive', `${E}.LeaseTimeToLiveRequest`, `${E}.LeaseTimeToLiveResponse`),
  r('/v3/kv/lease/timetolive', '/etcdserverpb.Lease/LeaseTimeToLive', `${E}.LeaseTimeToLiveRequest`, `${E}.LeaseTimeToLiveResponse`),
  r('/v3/lease/leases', '/etcdserverpb.Lease/LeaseLeases', `${E}.LeaseLeasesRequest`, `${E}.LeaseLeasesResponse`),
  r('/v3/kv/lease/leases', '/etcdserverpb.Lease/LeaseLeases', `${E}.LeaseLeasesRequest`, `${E}.LeaseLeasesResponse`),
  r('/v3/cluster/member/add', '/etcdserverpb.Cluster/MemberAdd', `${E}.MemberAddRequest`, `${E}.MemberAddResponse`),
  r('/v3/cluster/member/remove', '/etcdserverpb.Cluster/MemberRemove', `${E}.MemberRemoveRequest`, `${E}.MemberRemoveResponse`),
  r('/v3/cluster/member/update', '/etcdserverpb.Cluster/MemberUpdate', `${E}.MemberUpdateRequest`, `${E}.MemberUpdateResponse`),
  r('/v3/cluster/member/list', '/etcdserverpb.Cluster/MemberList', `${E}.MemberListRequest`, `${E}.MemberListResponse`),
  r('/v3/cluster/member/promote', '/etcdserverpb.Cluster/MemberPromote', `${E}.MemberPromoteRequest`, `${E}.MemberPromoteResponse`),
  r('/v3/maintenance/alarm', '/etcdserverpb.Maintenance/Alarm', `${E}.AlarmRequest`, `${E}.AlarmResponse`),
  r('/v3/maintenance/status', '/etcdserverpb.Maintenance/Status', `${E}.StatusRequest`, `${E}.StatusResponse`),
  r('/v3/maintenance/defragment', '/etcdserverpb.Maintenance/Defragment', `${E}.DefragmentRequest`, `${E}.DefragmentResponse`),
  // HashKV is bound to the same path in rpc.proto; grpc-gateway serves the first binding, Hash
  r('/v3/maintenance/hash', '/etcdserverpb.Maintenance/Hash', `${E}.HashRequest`, `${E}.HashResponse`),
  r('/v3/maintenance/snapshot', '/etcdserverpb.Maintenance/Snapshot', `${E}.SnapshotRequest`, `${E}.SnapshotResponse`, 'server_stream'),
  r('/v3/maintenance/transfer-leadership', '/etcdserverpb.Maintenance/MoveLeader', `${E}.MoveLeaderRequest`, `${E}.MoveLeaderResponse`),
  r('/v3/auth/enable', '/etcdserverpb.Auth/AuthEnable', `${E}.AuthEnableRequest`, `${E}.AuthEnableResponse`),
  r('/v3/auth/disable', '/etcdserverpb.Auth/AuthDisable', `${E}.AuthDisableRequest`, `${E}.AuthDisableResponse`),
  r('/v3/auth/authenticate', '/etcdserverpb.Auth/Authenticate', `${E}.AuthenticateRequest`, `${E}.AuthenticateResponse`),
  r('/v3/auth/user/add', '/etcdserverpb.Auth/UserAdd', `${E}.AuthUserAddRequest`, `${E}.AuthUserAddResponse`),
  r('/v3/auth/user/get', '/etcdserverpb.Auth/UserGet', `${E}.AuthUserGetRequest`, `${E}.AuthUserGetResponse`),
  r('/v3/auth/user/list', '/etcdserverpb.Auth/UserList', `${E}.AuthUserListRequest`, `${E}.AuthUserListResponse`),
  r('/v3/auth/user/delete', '/etcdserverpb.Auth/UserDelete', `${E}.AuthUserDeleteRequest`, `${E}.AuthUserDeleteResponse`),
  r('/v3/auth/user/changepw', '/etcdserverpb.Auth/UserChangePassword', `${E}.AuthUserChangePasswordRequest`, `${E}.AuthUserChangePasswordResponse`),
  r('/v3/auth/user/grant', '/etcdserverpb.Auth/UserGrantRole', `${E}.AuthUserGrantRoleRequest`, `${E}.AuthUserGrantRoleResponse`),
  r('/v3/auth/user/revoke', '/etcdserverpb.Auth/UserRevokeRole', `${E}.AuthUserRevokeRoleRequest`, `${E}.AuthUserRevokeRoleResponse`),
  r('/v3/auth/role/add', '/etcdserverpb.Auth/RoleAdd', `${E}.AuthRoleAddRequest`, `${E}.AuthRoleAddResponse`),
  r('/v3/auth/role/get', '/etcdserverpb.Auth/RoleGet', `${E}.AuthRoleGetRequest`, `${E}.AuthRoleGetResponse`),
  r('/v3/auth/role/list', '/etcdserverpb.Auth/RoleList', `${E}.AuthRoleListRequest`, `${E}.AuthRoleListResponse`),
  r('/v3/auth/role/delete', '/etcdserverpb.Auth/RoleDelete', `${E}.AuthRoleDeleteRequest`, `${E}.AuthRoleDeleteResponse`),
  r('/v3/auth/role/grant', '/etcdserverpb.Auth/RoleGrantPermission', `${E}.AuthRoleGrantPermissionRequest`, `${E}.AuthRoleGrantPermissionResponse`),
  r('/v3/auth/role/revoke', '/etcdserverpb.Auth/RoleRevokePermission', `${E}.AuthRoleRevokePermissionRequest`, `${E}.AuthRoleRevokePermissionResponse`),
  r('/v3/lock/lock', '/v3lockpb.Lock/Lock', 'v3lockpb.LockRequest', 'v3lockpb.LockResponse'),
  r('/v3/lock/unlock', '/v3lockpb.Lock/Unlock', 'v3lockpb.UnlockRequest', 'v3lockpb.UnlockResponse'),
  r('/v3/election/campaign', '/v3electionpb.Election/Campaign', 'v3electionpb.CampaignRequest', 'v3electionpb.CampaignResponse'),
  r('/v3/election/proclaim', '/v3electionpb.Election/Proclaim', 'v3electionpb.ProclaimRequest', 'v3electionpb.ProclaimResponse'),
  r('/v3/election/leader', '/v3electionpb.Election/Leader', 'v3electionpb.LeaderRequest', 'v3electionpb.LeaderResponse'),
  r('/v3/election/observe', '/v3electionpb.Election/Observe', 'v3electionpb.LeaderRequest', 'v3electionpb.LeaderResponse', 'server_stream'),
  r('/v3/election/resign', '/v3electionpb.Election/Resign', 'v3electionpb.ResignRequest', 'v3electionpb.ResignResponse'),
];
