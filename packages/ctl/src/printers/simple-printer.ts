// `-w simple` (the default): etcdctl's human-readable lines.

import { etcdserverpb, mvccpb, authpb } from '@tsetcd/proto';
import { hex16, hexEscaped, hexPad16, hexU, humanizeBytes } from '../go-format.js';
import type { Output } from '../output.js';
import { memberListRows, Printer, type EpHashKV, type EpHealth, type EpStatus, type SnapshotStatus, type WatchResult } from './printer.js';
import { prefixEnd } from '@tsetcd/common';

/** Go's types.ID String(): hex without padding. */
const typesId = (v: bigint) => hexU(v);

export function statusRows(list: EpStatus[]): string[][] {
  return list.map(({ ep, resp }) => [
    ep,
    hexU(resp.header?.memberId ?? 0n),
    resp.version,
    humanizeBytes(resp.dbSize),
    String(resp.leader === (resp.header?.memberId ?? 0n)),
    String(resp.isLearner),
    String(resp.raftTerm),
    String(resp.raftIndex),
    String(resp.raftAppliedIndex),
    resp.errors.join(', '),
  ]);
}
export function healthRows(list: EpHealth[]): string[][] {
  return list.map((h) => [h.ep, String(h.health), h.took, h.error]);
}
export function hashRows(list: EpHashKV[]): string[][] {
  return list.map((h) => [h.ep, String(h.resp.hash)]);
}
export function dbStatusRows(s: SnapshotStatus): string[][] {
  return [[s.hash.toString(16), String(s.revision), String(s.totalKey), humanizeBytes(s.totalSize)]];
}

/** clientv3.GetPrefixRangeEnd. */
export class SimplePrinter extends Printer {
  valueOnly = false;

  constructor(
    out: Output,
    private readonly isHex: boolean,
  ) {
    super(out, 'simple');
  }

  private kv(kv: mvccpb.KeyValue): void {
    const k = this.isHex ? Buffer.from(hexEscaped(kv.key)) : kv.key;
    const v = this.isHex ? Buffer.from(hexEscaped(kv.value)) : kv.value;
    if (!this.valueOnly) this.out.stdout(Buffer.concat([k, Buffer.from('\n')]));
    this.out.stdout(Buffer.concat([v, Buffer.from('\n')]));
  }

  override del(r: etcdserverpb.DeleteRangeResponse): void {
    this.line(String(r.deleted));
    for (const kv of r.prevKvs) this.kv(kv);
  }
  override get(r: etcdserverpb.RangeResponse): void {
    for (const kv of r.kvs) this.kv(kv);
  }
  override put(r: etcdserverpb.PutResponse): void {
    this.line('OK');
    if (r.prevKv) this.kv(r.prevKv);
  }
  override txn(r: etcdserverpb.TxnResponse): void {
    this.line(r.succeeded ? 'SUCCESS' : 'FAILURE');
    for (const op of r.responses) {
      this.line('');
      const resp = op.response;
      if (resp?.$case === 'responseDeleteRange') this.del(resp.value);
      else if (resp?.$case === 'responsePut') this.put(resp.value);
      else if (resp?.$case === 'responseRange') this.get(resp.value);
      else this.line(`unexpected response ${JSON.stringify(op)}`);
    }
  }
  override watch(r: WatchResult): void {
    for (const e of r.events) {
      this.line(e.type === mvccpb.Event_EventType.DELETE ? 'DELETE' : 'PUT');
      if (e.prevKv) this.kv(e.prevKv);
      if (e.kv) this.kv(e.kv);
    }
  }

  override grant(r: etcdserverpb.LeaseGrantResponse): void {
    this.line(`lease ${hex16(r.ID)} granted with TTL(${r.TTL}s)`);
  }
  override revoke(id: bigint): void {
    this.line(`lease ${hex16(id)} revoked`);
  }
  override keepAlive(r: etcdserverpb.LeaseKeepAliveResponse): void {
    this.line(`lease ${hex16(r.ID)} keepalived with TTL(${r.TTL})`);
  }
  override timeToLive(r: etcdserverpb.LeaseTimeToLiveResponse, keys: boolean): void {
    if (r.grantedTTL === 0n && r.TTL === -1n) {
      this.line(`lease ${hex16(r.ID)} already expired`);
      return;
    }
    let txt = `lease ${hex16(r.ID)} granted with TTL(${r.grantedTTL}s), remaining(${r.TTL}s)`;
    if (keys) txt += `, attached keys([${r.keys.map((k) => k.toString('utf8')).join(' ')}])`;
    this.line(txt);
  }
  override leases(r: etcdserverpb.LeaseLeasesResponse): void {
    this.line(`found ${r.leases.length} leases`);
    for (const l of r.leases) this.line(hex16(l.ID));
  }

  override alarm(r: etcdserverpb.AlarmResponse): void {
    // %+v of *pb.AlarmMember uses its proto String(): compact text format.
    for (const a of r.alarms) {
      const parts: string[] = [];
      if (a.memberID !== 0n) parts.push(`memberID:${a.memberID}`);
      if (a.alarm !== 0) parts.push(`alarm:${etcdserverpb.alarmTypeToJSON(a.alarm)}`);
      this.line(parts.map((p) => p + ' ').join(''));
    }
  }

  override memberAdd(r: etcdserverpb.MemberAddResponse): void {
    this.line(`Member ${hexPad16(r.member?.ID ?? 0n)} added to cluster ${hexPad16(r.header?.clusterId ?? 0n)}`);
  }
  override memberRemove(id: bigint, r: etcdserverpb.MemberRemoveResponse): void {
    this.line(`Member ${hexPad16(id)} removed from cluster ${hexPad16(r.header?.clusterId ?? 0n)}`);
  }
  override memberUpdate(id: bigint, r: etcdserverpb.MemberUpdateResponse): void {
    this.line(`Member ${hexPad16(id)} updated in cluster ${hexPad16(r.header?.clusterId ?? 0n)}`);
  }
  override memberPromote(id: bigint, r: etcdserverpb.MemberPromoteResponse): void {
    this.line(`Member ${hexPad16(id)} promoted in cluster ${hexPad16(r.header?.clusterId ?? 0n)}`);
  }
  override memberList(r: etcdserverpb.MemberListResponse): void {
    for (const row of memberListRows(r, hexU)) this.line(row.join(', '));
  }

  override endpointHealth(list: EpHealth[]): void {
    for (const h of list) {
      if (h.error === '') this.out.stderr(`${h.ep} is healthy: successfully committed proposal: took = ${h.took}\n`);
      else this.out.stderr(`${h.ep} is unhealthy: failed to commit proposal: ${h.error}\n`);
    }
  }
  override endpointStatus(list: EpStatus[]): void {
    for (const row of statusRows(list)) this.line(row.join(', '));
  }
  override endpointHashKV(list: EpHashKV[]): void {
    for (const row of hashRows(list)) this.line(row.join(', '));
  }
  override dbStatus(s: SnapshotStatus): void {
    for (const row of dbStatusRows(s)) this.line(row.join(', '));
  }
  override moveLeader(leader: bigint, target: bigint): void {
    this.line(`Leadership transferred from ${typesId(leader)} to ${typesId(target)}`);
  }

  override roleAdd(role: string): void {
    this.line(`Role ${role} created`);
  }
  override roleGet(role: string, r: etcdserverpb.AuthRoleGetResponse): void {
    this.line(`Role ${role}`);
    const printPerm = (p: authpb.Permission) => {
      if (p.rangeEnd.length === 0) {
        this.out.stdout(Buffer.concat([Buffer.from('\t'), p.key, Buffer.from('\n')]));
        return;
      }
      const key = p.key.toString('utf8');
      const end = p.rangeEnd.toString('utf8');
      let s = end !== '\x00' ? `\t[${key}, ${end})` : `\t[${key}, <open ended>`;
      if (prefixEnd(p.key).equals(p.rangeEnd)) s += ` (prefix ${key})`;
      this.line(s);
    };
    this.line('KV Read:');
    for (const p of r.perm) if (p.permType === authpb.Permission_Type.READ || p.permType === authpb.Permission_Type.READWRITE) printPerm(p);
    this.line('KV Write:');
    for (const p of r.perm) if (p.permType === authpb.Permission_Type.WRITE || p.permType === authpb.Permission_Type.READWRITE) printPerm(p);
  }
  override roleList(r: etcdserverpb.AuthRoleListResponse): void {
    for (const role of r.roles) this.line(role);
  }
  override roleDelete(role: string): void {
    this.line(`Role ${role} deleted`);
  }
  override roleGrantPermission(role: string): void {
    this.line(`Role ${role} updated`);
  }
  override roleRevokePermission(role: string, key: string, end: string): void {
    if (end.length === 0) this.line(`Permission of key ${key} is revoked from role ${role}`);
    else if (end !== '\x00') this.line(`Permission of range [${key}, ${end}) is revoked from role ${role}`);
    else this.line(`Permission of range [${key}, <open ended> is revoked from role ${role}`);
  }
  override userAdd(user: string): void {
    this.line(`User ${user} created`);
  }
  override userGet(user: string, r: etcdserverpb.AuthUserGetResponse): void {
    this.line(`User: ${user}`);
    this.line('Roles:' + r.roles.map((x) => ' ' + x).join(''));
  }
  override userChangePassword(): void {
    this.line('Password updated');
  }
  override userGrantRole(user: string, role: string): void {
    this.line(`Role ${role} is granted to user ${user}`);
  }
  override userRevokeRole(user: string, role: string): void {
    this.line(`Role ${role} is revoked from user ${user}`);
  }
  override userDelete(user: string): void {
    this.line(`User ${user} deleted`);
  }
  override userList(r: etcdserverpb.AuthUserListResponse): void {
    for (const u of r.users) this.line(u);
  }
}
