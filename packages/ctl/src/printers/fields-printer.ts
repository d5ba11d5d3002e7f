// `-w fields`: one `"Name" : value` line per field (values as Go's fmt prints them).

import { authpb, etcdserverpb, mvccpb } from '@tsetcd/proto';
import { CtlPanic } from '../errors.js';
import { goQuote } from '../go-format.js';
import type { Output } from '../output.js';
import { Printer, type EpHashKV, type EpHealth, type EpStatus, type SnapshotStatus, type WatchResult } from './printer.js';

export class FieldsPrinter extends Printer {
  constructor(out: Output) {
    super(out, 'fields');
  }

  private kv(pfx: string, kv: mvccpb.KeyValue): void {
    this.line(`"${pfx}Key" : ${goQuote(kv.key)}`);
    this.line(`"${pfx}CreateRevision" : ${kv.createRevision}`);
    this.line(`"${pfx}ModRevision" : ${kv.modRevision}`);
    this.line(`"${pfx}Version" : ${kv.version}`);
    this.line(`"${pfx}Value" : ${goQuote(kv.value)}`);
    this.line(`"${pfx}Lease" : ${kv.lease}`);
  }

  private hdr(h: etcdserverpb.ResponseHeader | undefined): void {
    // etcdctl dereferences the header unconditionally (a nil header crashes it).
    if (!h) throw new CtlPanic('runtime error: invalid memory address or nil pointer dereference');
    this.line(`"ClusterID" : ${h.clusterId}`);
    this.line(`"MemberID" : ${h.memberId}`);
    this.line(`"Revision" : ${h.revision}`);
    this.line(`"RaftTerm" : ${h.raftTerm}`);
  }

  override del(r: etcdserverpb.DeleteRangeResponse): void {
    this.hdr(r.header);
    this.line(`"Deleted" : ${r.deleted}`);
    for (const kv of r.prevKvs) this.kv('Prev', kv);
  }
  override get(r: etcdserverpb.RangeResponse): void {
    this.hdr(r.header);
    for (const kv of r.kvs) this.kv('', kv);
    this.line(`"More" : ${r.more}`);
    this.line(`"Count" : ${r.count}`);
  }
  override put(r: etcdserverpb.PutResponse): void {
    this.hdr(r.header);
    if (r.prevKv) this.kv('Prev', r.prevKv);
  }
  override txn(r: etcdserverpb.TxnResponse): void {
    this.hdr(r.header);
    this.line(`"Succeeded" : ${r.succeeded}`);
    for (const op of r.responses) {
      const resp = op.response;
      if (resp?.$case === 'responseDeleteRange') this.del(resp.value);
      else if (resp?.$case === 'responsePut') this.put(resp.value);
      else if (resp?.$case === 'responseRange') this.get(resp.value);
      else this.line(`"Unknown" : ${goQuote(JSON.stringify(resp))}`);
    }
  }
  override watch(r: WatchResult): void {
    this.hdr(r.header);
    for (const e of r.events) {
      this.line(`"Type" : ${e.type === mvccpb.Event_EventType.DELETE ? 'DELETE' : 'PUT'}`);
      if (e.prevKv) this.kv('Prev', e.prevKv);
      this.kv('', e.kv ?? { key: Buffer.alloc(0), value: Buffer.alloc(0), createRevision: 0n, modRevision: 0n, version: 0n, lease: 0n });
    }
  }

  override grant(r: etcdserverpb.LeaseGrantResponse): void {
    this.hdr(r.header);
    this.line(`"ID" : ${r.ID}`);
    this.line(`"TTL" : ${r.TTL}`);
  }
  override revoke(_id: bigint, r: etcdserverpb.LeaseRevokeResponse): void {
    this.hdr(r.header);
  }
  override keepAlive(r: etcdserverpb.LeaseKeepAliveResponse): void {
    this.hdr(r.header);
    this.line(`"ID" : ${r.ID}`);
    this.line(`"TTL" : ${r.TTL}`);
  }
  override timeToLive(r: etcdserverpb.LeaseTimeToLiveResponse): void {
    this.hdr(r.header);
    this.line(`"ID" : ${r.ID}`);
    this.line(`"TTL" : ${r.TTL}`);
    this.line(`"GrantedTTL" : ${r.grantedTTL}`);
    for (const k of r.keys) this.line(`"Key" : ${goQuote(k)}`);
  }
  override leases(r: etcdserverpb.LeaseLeasesResponse): void {
    this.hdr(r.header);
    for (const l of r.leases) this.line(`"ID" : ${l.ID}`);
  }

  override memberList(r: etcdserverpb.MemberListResponse): void {
    this.hdr(r.header);
    for (const m of r.members) {
      this.line(`"ID" : ${m.ID}`);
      this.line(`"Name" : ${goQuote(m.name)}`);
      for (const u of m.peerURLs) this.line(`"PeerURL" : ${goQuote(u)}`);
      for (const u of m.clientURLs) this.line(`"ClientURL" : ${goQuote(u)}`);
      this.line(`"IsLearner" : ${m.isLearner}`);
      this.line();
    }
  }

  override endpointHealth(list: EpHealth[]): void {
    for (const h of list) {
      this.line(`"Endpoint" : ${goQuote(h.ep)}`);
      this.line(`"Health" : ${h.health}`);
      this.line(`"Took" : ${h.took}`);
      this.line(`"Error" : ${h.error}`);
      this.line();
    }
  }
  override endpointStatus(list: EpStatus[]): void {
    for (const { ep, resp } of list) {
      this.hdr(resp.header);
      this.line(`"Version" : ${goQuote(resp.version)}`);
      this.line(`"DBSize" : ${resp.dbSize}`);
      this.line(`"Leader" : ${resp.leader}`);
      this.line(`"IsLearner" : ${resp.isLearner}`);
      this.line(`"RaftIndex" : ${resp.raftIndex}`);
      this.line(`"RaftTerm" : ${resp.raftTerm}`);
      this.line(`"RaftAppliedIndex" : ${resp.raftAppliedIndex}`);
      this.line(`"Errors" : [${resp.errors.join(' ')}]`);
      this.line(`"Endpoint" : ${goQuote(ep)}`);
      this.line();
    }
  }
  override endpointHashKV(list: EpHashKV[]): void {
    for (const { ep, resp } of list) {
      this.hdr(resp.header);
      this.line(`"Endpoint" : ${goQuote(ep)}`);
      this.line(`"Hash" : ${resp.hash}`);
      this.line();
    }
  }
  override alarm(r: etcdserverpb.AlarmResponse): void {
    this.hdr(r.header);
    for (const a of r.alarms) {
      this.line(`"MemberID" : ${a.memberID}`);
      this.line(`"AlarmType" : ${etcdserverpb.alarmTypeToJSON(a.alarm)}`);
      this.line();
    }
  }
  override dbStatus(s: SnapshotStatus): void {
    this.line(`"Hash" : ${s.hash}`);
    this.line(`"Revision" : ${s.revision}`);
    this.line(`"Keys" : ${s.totalKey}`);
    this.line(`"Size" : ${s.totalSize}`);
  }

  override roleAdd(_role: string, r: etcdserverpb.AuthRoleAddResponse): void {
    this.hdr(r.header);
  }
  override roleGet(_role: string, r: etcdserverpb.AuthRoleGetResponse): void {
    this.hdr(r.header);
    for (const p of r.perm) {
      this.line(`"PermType" :  ${authpb.permission_TypeToJSON(p.permType)}`);
      this.line(`"Key" : ${goQuote(p.key)}`);
      this.line(`"RangeEnd" : ${goQuote(p.rangeEnd)}`);
    }
  }
  override roleDelete(_role: string, r: etcdserverpb.AuthRoleDeleteResponse): void {
    this.hdr(r.header);
  }
  override roleList(r: etcdserverpb.AuthRoleListResponse): void {
    this.hdr(r.header);
    this.line(`"Roles" :` + r.roles.map((x) => ' ' + goQuote(x)).join(''));
  }
  override roleGrantPermission(_role: string, r: etcdserverpb.AuthRoleGrantPermissionResponse): void {
    this.hdr(r.header);
  }
  override roleRevokePermission(_role: string, _key: string, _end: string, r: etcdserverpb.AuthRoleRevokePermissionResponse): void {
    this.hdr(r.header);
  }
  override userAdd(_user: string, r: etcdserverpb.AuthUserAddResponse): void {
    this.hdr(r.header);
  }
  override userChangePassword(r: etcdserverpb.AuthUserChangePasswordResponse): void {
    this.hdr(r.header);
  }
  override userGrantRole(_user: string, _role: string, r: etcdserverpb.AuthUserGrantRoleResponse): void {
    this.hdr(r.header);
  }
  override userRevokeRole(_user: string, _role: string, r: etcdserverpb.AuthUserRevokeRoleResponse): void {
    this.hdr(r.header);
  }
  override userDelete(_user: string, r: etcdserverpb.AuthUserDeleteResponse): void {
    this.hdr(r.header);
  }
}
