// `-w protobuf`: the raw protobuf encoding of the etcdserverpb response (no trailing newline).

import { etcdserverpb } from '@tsetcd/proto';
import { CtlExit, ExitCode } from '../errors.js';
import type { Output } from '../output.js';
import { Printer, type WatchResult } from './printer.js';

interface Encoder<T> {
  encode(m: T): { finish(): Uint8Array };
}

export class ProtobufPrinter extends Printer {
  constructor(out: Output) {
    super(out, 'protobuf');
  }
  private pb<T>(enc: Encoder<T>, m: T): void {
    this.out.stdout(enc.encode(m).finish());
  }
  /** clientv3's lease responses embed *pb.ResponseHeader, whose Marshal gets promoted. */
  private headerOf(r: { header?: etcdserverpb.ResponseHeader }): void {
    if (!r.header) throw new CtlExit(ExitCode.BadFeature, 'marshal unsupported for type clientv3 response without header');
    this.pb(etcdserverpb.ResponseHeader, r.header);
  }

  override del(r: etcdserverpb.DeleteRangeResponse): void { this.pb(etcdserverpb.DeleteRangeResponse, r); }
  override get(r: etcdserverpb.RangeResponse): void { this.pb(etcdserverpb.RangeResponse, r); }
  override put(r: etcdserverpb.PutResponse): void { this.pb(etcdserverpb.PutResponse, r); }
  override txn(r: etcdserverpb.TxnResponse): void { this.pb(etcdserverpb.TxnResponse, r); }
  override watch(r: WatchResult): void {
    this.pb(etcdserverpb.WatchResponse, {
      header: r.header, watchId: 0n, created: r.created, canceled: r.canceled, compactRevision: r.compactRevision,
      cancelReason: '', fragment: false, events: r.events,
    });
  }
  override grant(r: etcdserverpb.LeaseGrantResponse): void { this.headerOf(r); }
  override revoke(_id: bigint, r: etcdserverpb.LeaseRevokeResponse): void { this.pb(etcdserverpb.LeaseRevokeResponse, r); }
  override keepAlive(r: etcdserverpb.LeaseKeepAliveResponse): void { this.headerOf(r); }
  override timeToLive(r: etcdserverpb.LeaseTimeToLiveResponse): void { this.headerOf(r); }
  override leases(r: etcdserverpb.LeaseLeasesResponse): void { this.headerOf(r); }
  override memberAdd(r: etcdserverpb.MemberAddResponse): void { this.pb(etcdserverpb.MemberAddResponse, r); }
  override memberRemove(_id: bigint, r: etcdserverpb.MemberRemoveResponse): void { this.pb(etcdserverpb.MemberRemoveResponse, r); }
  override memberUpdate(_id: bigint, r: etcdserverpb.MemberUpdateResponse): void { this.pb(etcdserverpb.MemberUpdateResponse, r); }
  override memberPromote(_id: bigint, r: etcdserverpb.MemberPromoteResponse): void { this.pb(etcdserverpb.MemberPromoteResponse, r); }
  override memberList(r: etcdserverpb.MemberListResponse): void { this.pb(etcdserverpb.MemberListResponse, r); }
  override moveLeader(_l: bigint, _t: bigint, r: etcdserverpb.MoveLeaderResponse): void { this.pb(etcdserverpb.MoveLeaderResponse, r); }
  override alarm(r: etcdserverpb.AlarmResponse): void { this.pb(etcdserverpb.AlarmResponse, r); }
  override roleAdd(_x: string, r: etcdserverpb.AuthRoleAddResponse): void { this.pb(etcdserverpb.AuthRoleAddResponse, r); }
  override roleGet(_x: string, r: etcdserverpb.AuthRoleGetResponse): void { this.pb(etcdserverpb.AuthRoleGetResponse, r); }
  override roleDelete(_x: string, r: etcdserverpb.AuthRoleDeleteResponse): void { this.pb(etcdserverpb.AuthRoleDeleteResponse, r); }
  override roleList(r: etcdserverpb.AuthRoleListResponse): void { this.pb(etcdserverpb.AuthRoleListResponse, r); }
  override roleGrantPermission(_x: string, r: etcdserverpb.AuthRoleGrantPermissionResponse): void { this.pb(etcdserverpb.AuthRoleGrantPermissionResponse, r); }
  override roleRevokePermission(_x: string, _k: string, _e: string, r: etcdserverpb.AuthRoleRevokePermissionResponse): void { this.pb(etcdserverpb.AuthRoleRevokePermissionResponse, r); }
  override userAdd(_x: string, r: etcdserverpb.AuthUserAddResponse): void { this.pb(etcdserverpb.AuthUserAddResponse, r); }
  override userGet(_x: string, r: etcdserverpb.AuthUserGetResponse): void { this.pb(etcdserverpb.AuthUserGetResponse, r); }
  override userList(r: etcdserverpb.AuthUserListResponse): void { this.pb(etcdserverpb.AuthUserListResponse, r); }
  override userChangePassword(r: etcdserverpb.AuthUserChangePasswordResponse): void { this.pb(etcdserverpb.AuthUserChangePasswordResponse, r); }
  override userGrantRole(_u: string, _r: string, r: etcdserverpb.AuthUserGrantRoleResponse): void { this.pb(etcdserverpb.AuthUserGrantRoleResponse, r); }
  override userRevokeRole(_u: string, _r: string, r: etcdserverpb.AuthUserRevokeRoleResponse): void { this.pb(etcdserverpb.AuthUserRevokeRoleResponse, r); }
  override userDelete(_x: string, r: etcdserverpb.AuthUserDeleteResponse): void { this.pb(etcdserverpb.AuthUserDeleteResponse, r); }
}
