// `-w json`: Go's encoding/json of the structs etcdctl prints (see go-json.ts for the schemas).

import type { etcdserverpb } from '@tsetcd/proto';
import * as J from '../go-json.js';
import type { Output } from '../output.js';
import { Printer, type EpHashKV, type EpHealth, type EpStatus, type SnapshotStatus, type WatchResult } from './printer.js';

export class JsonPrinter extends Printer {
  constructor(out: Output) {
    super(out, 'json');
  }

  private p(schema: J.Schema, v: unknown): void {
    this.line(J.goJson(schema, v));
  }

  override del(r: etcdserverpb.DeleteRangeResponse): void { this.p(J.DeleteRangeResponseSchema, r); }
  override get(r: etcdserverpb.RangeResponse): void { this.p(J.RangeResponseSchema, r); }
  override put(r: etcdserverpb.PutResponse): void { this.p(J.PutResponseSchema, r); }
  override txn(r: etcdserverpb.TxnResponse): void { this.line(J.txnResponseJson(r)); }
  override watch(r: WatchResult): void { this.p(J.WatchResponseSchema, r); }

  override grant(r: etcdserverpb.LeaseGrantResponse): void { this.p(J.LeaseGrantSchema, r); }
  override revoke(_id: bigint, r: etcdserverpb.LeaseRevokeResponse): void { this.p(J.HeaderOnlySchema, r); }
  override keepAlive(r: etcdserverpb.LeaseKeepAliveResponse): void { this.p(J.LeaseKeepAliveSchema, r); }
  override timeToLive(r: etcdserverpb.LeaseTimeToLiveResponse): void { this.p(J.LeaseTimeToLiveSchema, r); }
  override leases(r: etcdserverpb.LeaseLeasesResponse): void { this.p(J.LeaseLeasesSchema, r); }

  override memberAdd(r: etcdserverpb.MemberAddResponse): void { this.p(J.MemberAddResponseSchema, r); }
  override memberRemove(_id: bigint, r: etcdserverpb.MemberRemoveResponse): void { this.p(J.MembersResponseSchema, r); }
  override memberUpdate(_id: bigint, r: etcdserverpb.MemberUpdateResponse): void { this.p(J.MembersResponseSchema, r); }
  override memberPromote(_id: bigint, r: etcdserverpb.MemberPromoteResponse): void { this.p(J.MembersResponseSchema, r); }
  override memberList(r: etcdserverpb.MemberListResponse): void { this.p(J.MembersResponseSchema, r); }

  override endpointHealth(l: EpHealth[]): void { this.line(J.goJsonList(J.EpHealthSchema, l)); }
  override endpointStatus(l: EpStatus[]): void { this.line(J.goJsonList(J.EpStatusSchema, l)); }
  override endpointHashKV(l: EpHashKV[]): void { this.line(J.goJsonList(J.EpHashKVSchema, l)); }
  override moveLeader(_l: bigint, _t: bigint, r: etcdserverpb.MoveLeaderResponse): void { this.p(J.HeaderOnlySchema, r); }
  override alarm(r: etcdserverpb.AlarmResponse): void { this.p(J.AlarmResponseSchema, r); }
  override dbStatus(s: SnapshotStatus): void { this.p(J.SnapshotStatusSchema, s); }

  override roleAdd(_role: string, r: etcdserverpb.AuthRoleAddResponse): void { this.p(J.HeaderOnlySchema, r); }
  override roleGet(_role: string, r: etcdserverpb.AuthRoleGetResponse): void { this.p(J.AuthRoleGetResponseSchema, r); }
  override roleDelete(_role: string, r: etcdserverpb.AuthRoleDeleteResponse): void { this.p(J.HeaderOnlySchema, r); }
  override roleList(r: etcdserverpb.AuthRoleListResponse): void { this.p(J.AuthRoleListResponseSchema, r); }
  override roleGrantPermission(_role: string, r: etcdserverpb.AuthRoleGrantPermissionResponse): void { this.p(J.HeaderOnlySchema, r); }
  override roleRevokePermission(_role: string, _k: string, _e: string, r: etcdserverpb.AuthRoleRevokePermissionResponse): void { this.p(J.HeaderOnlySchema, r); }
  override userAdd(_user: string, r: etcdserverpb.AuthUserAddResponse): void { this.p(J.HeaderOnlySchema, r); }
  override userGet(_user: string, r: etcdserverpb.AuthUserGetResponse): void { this.p(J.AuthUserGetResponseSchema, r); }
  override userList(r: etcdserverpb.AuthUserListResponse): void { this.p(J.AuthUserListResponseSchema, r); }
  override userChangePassword(r: etcdserverpb.AuthUserChangePasswordResponse): void { this.p(J.HeaderOnlySchema, r); }
  override userGrantRole(_u: string, _r: string, r: etcdserverpb.AuthUserGrantRoleResponse): void { this.p(J.HeaderOnlySchema, r); }
  override userRevokeRole(_u: string, _r: string, r: etcdserverpb.AuthUserRevokeRoleResponse): void { this.p(J.HeaderOnlySchema, r); }
  override userDelete(_user: string, r: etcdserverpb.AuthUserDeleteResponse): void { this.p(J.HeaderOnlySchema, r); }
}
