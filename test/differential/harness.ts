// Shared by the differential tests: a real etcd 3.4.23 and a tsetcd started side by side (random
// ports, temp dirs, stopped by t.after), raw grpc-js clients from @tsetcd/proto, and the
// normalisation of what may legitimately differ between two servers.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import type { TestContext } from 'node:test';
import { etcdserverpb } from '@tsetcd/proto';
import { startServer } from '@tsetcd/server';
import { freePort, startRealEtcd, type RealEtcd } from '../kit/real-etcd.js';
import { connectEtcd, type EtcdClients } from '../kit/etcd-clients.js';

export const P = etcdserverpb;

/** etcd's defaults, given to both servers explicitly */
export const heartbeatIntervalMs = 100;
export const electionTimeoutMs = 1000;
const startTimeoutMs = 20_000;

export { freePort };

export interface Endpoints {
  /** host:port of the client listener */
  client: string;
  peerPort: number;
  clientPort: number;
  /** the data directory (kept until the test ends) */
  dir: string;
  /** stops the server (its data stays, for a restart with the same ports and dir) */
  stop(): Promise<void>;
}

/** Where to start: a fresh temp dir and ports by default, or those of a stopped server. */
export interface StartAt {
  dir: string;
  clientPort: number;
  peerPort: number;
}

async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A real etcd on random ports in a temp dir (test/kit); stopped by t.after. */
export async function startEtcd(t: TestContext, at?: StartAt): Promise<Endpoints> {
  const dir = at?.dir ?? (await tempDir(t, 'diff-etcd-'));
  let etcd: RealEtcd | undefined;
  t.after(() => etcd?.stop());
  etcd = await startRealEtcd({
    dir,
    clientPort: at?.clientPort,
    peerPort: at?.peerPort,
    args: ['--heartbeat-interval', String(heartbeatIntervalMs), '--election-timeout', String(electionTimeoutMs)],
    readyTimeoutMs: startTimeoutMs,
  });
  return { client: etcd.endpoint, clientPort: etcd.clientPort, peerPort: etcd.peerPort, dir, stop: etcd.stop };
}

/** tsetcd in this process with the same flags; closed by t.after. */
export async function startTsetcd(t: TestContext, at?: StartAt): Promise<Endpoints> {
  const dir = at?.dir ?? (await tempDir(t, 'diff-tsetcd-'));
  const clientPort = at?.clientPort ?? (await freePort());
  const peerPort = at?.peerPort ?? (await freePort());
  const c = `http://127.0.0.1:${clientPort}`;
  const p = `http://127.0.0.1:${peerPort}`;
  const m = await startServer({
    dataDir: join(dir, 'data'),
    listenClientUrls: [c],
    advertiseClientUrls: [c],
    initialAdvertisePeerUrls: [p],
    heartbeatIntervalMs,
    electionTimeoutMs,
  });
  let closed: Promise<void> | undefined;
  const stop = () => (closed ??= m.close());
  t.after(stop);
  await m.ready;
  return { client: `127.0.0.1:${clientPort}`, clientPort, peerPort, dir, stop };
}

export { connectEtcd as connect, type EtcdClients as Clients };

export interface RpcError {
  error: { code: number; details: string };
}

/** A unary call resolved with the response or { error: { code, details } } (never rejects). */
export function unary<Req, Res>(
  client: object,
  method: string,
  req: Req,
): Promise<Res | RpcError> {
  const fn = (client as Record<string, (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown>)[method];
  return new Promise((resolve) =>
    fn.call(client, req, (err, res) => resolve(err ? { error: { code: err.code, details: err.details } } : res)),
  );
}

export function isError(x: unknown): x is RpcError {
  return typeof x === 'object' && x !== null && 'error' in x && typeof (x as RpcError).error === 'object';
}

/**
 * Per-server labels for values a server chooses itself (lease IDs without a requested ID,
 * member and cluster IDs): the n-th distinct value seen becomes the same label on both sides.
 */
export class Labels {
  private readonly byValue = new Map<bigint, string>();
  label(v: bigint, kind: string): string {
    let l = this.byValue.get(v);
    if (l === undefined) {
      l = `<${kind}#${this.byValue.size}>`;
      this.byValue.set(v, l);
    }
    return l;
  }
  has(v: bigint): boolean {
    return this.byValue.has(v);
  }
}

export interface NormaliseContext {
  labels: Labels;
  /** lease IDs this server chose (granted with ID 0) */
  serverLeaseIds: Set<bigint>;
  memberIds: Set<bigint>;
  ports: number[];
}

/** Replaces what legitimately differs between two servers, keeping everything else verbatim. */
export function normalise(v: unknown, ctx: NormaliseContext, parentKey = '', parent?: object): unknown {
  if (Array.isArray(v)) return v.map((x) => normalise(x, ctx, parentKey, parent));
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (typeof v === 'bigint') {
    if ((parentKey === 'ID' || parentKey === 'lease') && ctx.serverLeaseIds.has(v)) return ctx.labels.label(v, 'lease');
    if ((parentKey === 'ID' || parentKey === 'memberId' || parentKey === 'memberID' || parentKey === 'leader') && ctx.memberIds.has(v)) return ctx.labels.label(v, 'member');
    return v;
  }
  if (typeof v === 'string') {
    let s = v;
    for (const p of ctx.ports) s = s.split(`:${p}`).join(':<port>');
    // member IDs inside texts (status errors: "memberID:<id> alarm:NOSPACE")
    for (const id of ctx.memberIds) s = s.split(`memberID:${id} `).join(`memberID:${ctx.labels.label(id, 'member')} `);
    return s;
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'clusterId' || k === 'raftTerm') continue;
      if (k === 'memberId' && parentKey === 'header') continue;
      // the remaining TTL of a lease counts down with the wall clock
      if (k === 'TTL' && 'grantedTTL' in v && typeof x === 'bigint' && x > 0n) {
        const granted = (v as { grantedTTL: bigint }).grantedTTL;
        out[k] = x <= granted ? '<counting down>' : x;
        continue;
      }
      // the backend's file layout differs (bbolt vs lmdb); only "non-zero" is comparable
      if ((k === 'dbSize' || k === 'dbSizeInUse') && typeof x === 'bigint') {
        out[k] = x > 0n ? '<non-zero>' : x;
        continue;
      }
      // etcd lists a lease's keys in Go map order
      if (k === 'keys' && 'grantedTTL' in v && Array.isArray(x)) {
        out[k] = (normalise(x, ctx, k, v) as string[]).sort();
        continue;
      }
      out[k] = normalise(x, ctx, k, v);
    }
    return out;
  }
  return v;
}

/** First difference between a and b as a path and both values, or undefined when equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): { path: string; etcd: unknown; tsetcd: unknown } | undefined {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return { path: path || '.', etcd: a, tsetcd: b };
  if (Array.isArray(a) !== Array.isArray(b)) return { path: path || '.', etcd: a, tsetcd: b };
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

/** JSON with bigints shown as numbers (for messages). */
export function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
}
