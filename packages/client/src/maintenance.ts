// Maintenance: status, alarms, defragment, hashes, snapshot, move-leader. Most of these are about
// one member, so they take `endpoint` (CallOptions) to pin the call; default is the active one.
import { Readable } from 'node:stream';
import { etcdserverpb } from '@tsetcd/proto';
import { toClientError } from './errors.js';
import { header, type ResponseHeader } from './kv.js';
import type { RawClient } from './raw.js';
import type { CallOptions } from './transport.js';

export type AlarmKind = 'none' | 'nospace' | 'corrupt';
export interface AlarmMember {
  memberId: bigint;
  alarm: AlarmKind;
}

const alarmNames: Record<number, AlarmKind> = {
  [etcdserverpb.AlarmType.NONE]: 'none',
  [etcdserverpb.AlarmType.NOSPACE]: 'nospace',
  [etcdserverpb.AlarmType.CORRUPT]: 'corrupt',
};
const alarmTypes: Record<AlarmKind, etcdserverpb.AlarmType> = {
  none: etcdserverpb.AlarmType.NONE,
  nospace: etcdserverpb.AlarmType.NOSPACE,
  corrupt: etcdserverpb.AlarmType.CORRUPT,
};

export class Maintenance {
  constructor(private readonly raw: RawClient) {}

  status(opts?: CallOptions): Promise<etcdserverpb.StatusResponse> {
    return this.raw.maintenance.status({}, opts);
  }

  async alarmList(opts?: CallOptions): Promise<AlarmMember[]> {
    const r = await this.raw.maintenance.alarm({ action: etcdserverpb.AlarmRequest_AlarmAction.GET }, opts);
    return r.alarms.map((a) => ({ memberId: a.memberID, alarm: alarmNames[a.alarm] ?? 'none' }));
  }

  /** Deactivates alarms: the given one, or (default) every active alarm, as etcdctl alarm disarm. */
  async alarmDisarm(which?: AlarmMember, opts?: CallOptions): Promise<AlarmMember[]> {
    const targets = which !== undefined ? [which] : await this.alarmList(opts);
    const out: AlarmMember[] = [];
    for (const a of targets) {
      const r = await this.raw.maintenance.alarm(
        { action: etcdserverpb.AlarmRequest_AlarmAction.DEACTIVATE, memberID: a.memberId, alarm: alarmTypes[a.alarm] },
        opts,
      );
      out.push(...r.alarms.map((x) => ({ memberId: x.memberID, alarm: alarmNames[x.alarm] ?? 'none' })));
    }
    return out;
  }

  async defragment(opts?: CallOptions): Promise<{ header: ResponseHeader }> {
    const r = await this.raw.maintenance.defragment({}, opts);
    return { header: header(r.header) };
  }

  hash(opts?: CallOptions): Promise<etcdserverpb.HashResponse> {
    return this.raw.maintenance.hash({}, opts);
  }

  hashKV(revision: bigint = 0n, opts?: CallOptions): Promise<etcdserverpb.HashKVResponse> {
    return this.raw.maintenance.hashKV({ revision }, opts);
  }

  async moveLeader(targetId: bigint, opts?: CallOptions): Promise<{ header: ResponseHeader }> {
    const r = await this.raw.maintenance.moveLeader({ targetID: targetId }, opts);
    return { header: header(r.header) };
  }

  /**
   * The member's backend as a byte stream (a Node Readable, which is also an async iterable of
   * Buffers). Errors are typed client errors.
   */
  snapshot(opts?: CallOptions): Readable {
    const raw = this.raw;
    async function* chunks(): AsyncGenerator<Buffer> {
      const stream = await raw.maintenance.snapshot(opts);
      try {
        for await (const r of stream as AsyncIterable<etcdserverpb.SnapshotResponse>) {
          if (r.blob.length > 0) yield r.blob;
        }
      } catch (err) {
        throw toClientError(err);
      } finally {
        stream.cancel();
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }
}
