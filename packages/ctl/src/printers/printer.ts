// The display interface of tsetcdctl (one method per etcdctl result kind) and the base class whose
// methods all fail with etcdctl's "<format> not supported as output format".

import type { authpb, etcdserverpb, mvccpb } from '@tsetcd/proto';
import { CtlExit, ExitCode } from '../errors.js';
import type { Output } from '../output.js';

export interface WatchResult {
  header: etcdserverpb.ResponseHeader;
  events: mvccpb.Event[];
  compactRevision: bigint;
  canceled: boolean;
  created: boolean;
}

export interface EpHealth {
  ep: string;
  health: boolean;
  took: string;
  error: string;
}
export interface EpStatus {
  ep: string;
  resp: etcdserverpb.StatusResponse;
}
export interface EpHashKV {
  ep: string;
  resp: etcdserverpb.HashKVResponse;
}
export interface SnapshotStatus {
  hash: number;
  revision: bigint;
  totalKey: number;
  totalSize: bigint;
}

export abstract class Printer {
  constructor(
    protected readonly out: Output,
    protected readonly format: string,
  ) {}

  protected unsupported(): never {
    throw new CtlExit(ExitCode.BadFeature, `${this.format} not supported as output format`);
  }

  protected line(s = ''): void {
    this.out.stdout(s + '\n');
  }

  del(_r: etcdserverpb.DeleteRangeResponse): void { this.unsupported(); }
  get(_r: etcdserverpb.RangeResponse): void { this.unsupported(); }
  put(_r: etcdserverpb.PutResponse): void { this.unsupported(); }
  txn(_r: etcdserverpb.TxnResponse): void { this.unsupported(); }
  watch(_r: WatchResult): void { this.unsupported(); }

  grant(_r: etcdserverpb.LeaseGrantResponse): void { this.unsupported(); }
  revoke(_id: bigint, _r: etcdserverpb.LeaseRevokeResponse): void { this.unsupported(); }
  keepAlive(_r: etcdserverpb.LeaseKeepAliveResponse): void { this.unsupported(); }
  timeToLive(_r: etcdserverpb.LeaseTimeToLiveResponse, _keys: boolean): void { this.unsupported(); }
  leases(_r: etcdserverpb.LeaseLeasesResponse): void { this.unsupported(); }

  memberAdd(_r: etcdserverpb.MemberAddResponse): void { this.unsupported(); }
  memberRemove(_id: bigint, _r: etcdserverpb.MemberRemoveResponse): void { this.unsupported(); }
  memberUpdate(_id: bigint, _r: etcdserverpb.MemberUpdateResponse): void { this.unsupported(); }
  memberPromote(_id: bigint, _r: etcdserverpb.MemberPromoteResponse): void { this.unsupported(); }
  memberList(_r: etcdserverpb.MemberListResponse): void { this.unsupported(); }

  endpointHealth(_l: EpHealth[]): void { this.unsupported(); }
  endpointStatus(_l: EpStatus[]): void { this.unsupported(); }
  endpointHashKV(_l: EpHashKV[]): void { this.unsupported(); }
  moveLeader(_leader: bigint, _target: bigint, _r: etcdserverpb.MoveLeaderResponse): void { this.unsupported(); }

  alarm(_r: etcdserverpb.AlarmResponse): void { this.unsupported(); }
  dbStatus(_s: SnapshotStatus): void { this.unsupported(); }

  roleAdd(_role: string, _r: etcdserverpb.AuthRoleAddResponse): void { this.unsupported(); }
  roleGet(_role: string, _r: etcdserverpb.AuthRoleGetResponse): void { this.unsupported(); }
  roleDelete(_role: string, _r: etcdserverpb.AuthRoleDeleteResponse): void { this.unsupported(); }
  roleList(_r: etcdserverpb.AuthRoleListResponse): void { this.unsupported(); }
  roleGrantPermission(_role: string, _r: etcdserverpb.AuthRoleGrantPermissionResponse): void { this.unsupported(); }
  roleRevokePermission(_role: string, _key: string, _end: string, _r: etcdserverpb.AuthRoleRevokePermissionResponse): void { this.unsupported(); }

  userAdd(_user: string, _r: etcdserverpb.AuthUserAddResponse): void { this.unsupported(); }
  userGet(_user: string, _r: etcdserverpb.AuthUserGetResponse): void { this.unsupported(); }
  userList(_r: etcdserverpb.AuthUserListResponse): void { this.unsupported(); }
  userChangePassword(_r: etcdserverpb.AuthUserChangePasswordResponse): void { this.unsupported(); }
  userGrantRole(_user: string, _role: string, _r: etcdserverpb.AuthUserGrantRoleResponse): void { this.unsupported(); }
  userRevokeRole(_user: string, _role: string, _r: etcdserverpb.AuthUserRevokeRoleResponse): void { this.unsupported(); }
  userDelete(_user: string, _r: etcdserverpb.AuthUserDeleteResponse): void { this.unsupported(); }
}

export type Permission = authpb.Permission;

/** Rows shared by the simple and table printers (etcdctl's printer.go). */
export function memberListRows(r: etcdserverpb.MemberListResponse, hexU: (v: bigint) => string): string[][] {
  return r.members.map((m) => [
    hexU(m.ID),
    m.name.length === 0 ? 'unstarted' : 'started',
    m.name,
    m.peerURLs.join(','),
    m.clientURLs.join(','),
    m.isLearner ? 'true' : 'false',
  ]);
}
export const memberListHeader = ['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'];
export const endpointHealthHeader = ['endpoint', 'health', 'took', 'error'];
export const endpointStatusHeader = ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'];
export const endpointHashKVHeader = ['endpoint', 'hash'];
export const dbStatusHeader = ['hash', 'revision', 'total keys', 'total size'];
