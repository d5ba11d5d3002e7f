// One member in this process, loaded with `keys` keys (each written twice, so a compaction has
// history to remove), then, while a client keeps doing puts and reads: an idle baseline, a
// snapshot stream, HashKV, Hash, a physical compaction, a defragment and a restart. A StallProbe
// measures the event loop's longest stall in each phase. Used by the event-loop stall test and
// bench/event-loop-stalls.ts.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@tsetcd/proto';
import { startServer, type Member } from '../src/embed/index.js';
import { StallProbe, type PhaseStalls } from './stall-probe.js';

const P = etcdserverpb;
const txnPuts = 128; // etcd's default --max-txn-ops
const loadConcurrency = 4;
const valueBytes = 100;

export interface StallScenarioOptions {
  keys: number;
  /** how long the idle baseline phase lasts */
  baselineMs?: number;
  /** WAL and backend fsync as in production (default: --unsafe-no-fsync, a faster load) */
  fsync?: boolean;
  /** where to keep the snapshot received */
  snapshotFile?: string;
  /** told each phase's result as it ends */
  onPhase?: (p: PhaseStalls) => void;
}

export interface StallScenarioResult {
  phases: PhaseStalls[];
  measuresCpu: boolean;
  /** operations the background client completed / failed */
  clientOps: number;
  clientErrors: number;
  /** HashKV at one revision before and after the restart */
  hashBefore: number;
  hashAfterRestart: number;
  snapshotBytes: number;
  /** the revision a read saw just before the snapshot was asked for */
  snapshotRevision: bigint;
}

type Kv = InstanceType<typeof etcdserverpb.KVClient>;
type Mt = InstanceType<typeof etcdserverpb.MaintenanceClient>;

function unary<Req, Res>(fn: (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

const keyOf = (i: number): Buffer => Buffer.from(`/stall/key-${i.toString().padStart(8, '0')}`);

async function load(kv: Kv, keys: number, round: number): Promise<void> {
  const value = Buffer.alloc(valueBytes, 0x61 + round);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys) {
      const from = next;
      next = Math.min(keys, next + txnPuts);
      const success: etcdserverpb.RequestOp[] = [];
      for (let i = from; i < next; i++) success.push({ request: { $case: 'requestPut', value: P.PutRequest.fromPartial({ key: keyOf(i), value }) } });
      await unary(kv.txn.bind(kv), P.TxnRequest.fromPartial({ success }));
    }
  };
  await Promise.all(Array.from({ length: loadConcurrency }, worker));
}

/** Puts and reads one after another until stopped; failures (the member restarting) are counted. */
function backgroundClient(kv: Kv, keys: number): { stop(): Promise<void>; ops(): number; errors(): number } {
  let stopped = false;
  let ops = 0;
  let errors = 0;
  const value = Buffer.alloc(valueBytes, 0x7a);
  const run = async (): Promise<void> => {
    for (let i = 0; !stopped; i++) {
      const key = keyOf((i * 7919) % keys);
      try {
        if (i % 2 === 0) await unary(kv.put.bind(kv), P.PutRequest.fromPartial({ key, value }));
        else await unary(kv.range.bind(kv), P.RangeRequest.fromPartial({ key }));
        ops++;
      } catch {
        errors++;
        // the member is restarting: pace the retries instead of spinning on failed calls
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  const done = run();
  return { stop: () => ((stopped = true), done), ops: () => ops, errors: () => errors };
}

/** Receives a snapshot, checks its sha256 trailer; writes it to `file` if given. Returns its size. */
async function receiveSnapshot(mt: Mt, file: string | undefined): Promise<number> {
  // the client's own work stays in small pieces too: hashed and written blob by blob
  const out = file === undefined ? undefined : createWriteStream(file);
  const h = createHash('sha256');
  let size = 0;
  let last: Buffer | undefined;
  await new Promise<void>((resolve, reject) => {
    const s = mt.snapshot(P.SnapshotRequest.fromPartial({}));
    s.on('data', (r: etcdserverpb.SnapshotResponse) => {
      if (last !== undefined) {
        h.update(last);
        out?.write(last);
        size += last.length;
      }
      last = Buffer.from(r.blob.buffer, r.blob.byteOffset, r.blob.byteLength);
    });
    s.on('end', resolve);
    s.on('error', reject);
  });
  if (out !== undefined) await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  if (last === undefined || !h.digest().equals(last)) throw new Error('snapshot sha256 trailer does not match its data');
  return size;
}

export async function runStallScenario(opts: StallScenarioOptions): Promise<StallScenarioResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tsetcd-stalls-'));
  const memberOpts = { dataDir, heartbeatIntervalMs: 100, electionTimeoutMs: 1000, unsafeNoFsync: !opts.fsync };
  let m: Member | undefined;
  let probe: StallProbe | undefined;
  const clients: Array<{ close(): void }> = [];
  try {
    m = await startServer({ ...memberOpts, listenClientUrls: ['http://127.0.0.1:0'] });
    await m.ready;
    const url = m.clientUrls[0];
    const addr = new URL(url).host;
    const grpcOpts = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
    const kv = new P.KVClient(addr, credentials.createInsecure(), grpcOpts);
    const mt = new P.MaintenanceClient(addr, credentials.createInsecure(), grpcOpts);
    clients.push(kv, mt);

    probe = new StallProbe(5, 'load');
    const end = (name: string): void => {
      const done = probe!.phase(name);
      opts.onPhase?.(done);
    };
    await load(kv, opts.keys, 0);
    await load(kv, opts.keys, 1);
    end('baseline');

    const client = backgroundClient(kv, opts.keys);
    const baselineMs = opts.baselineMs ?? 2000;
    const t0 = performance.now();
    // the baseline is the client's load alone, for as long as asked
    while (performance.now() - t0 < baselineMs) await unary(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: keyOf(0) }));
    end('snapshot');

    const revisionNow = async (): Promise<bigint> => (await unary<etcdserverpb.RangeRequest, etcdserverpb.RangeResponse>(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: keyOf(0) }))).header!.revision;
    const hashAt = async (revision: bigint): Promise<number> => (await unary<etcdserverpb.HashKVRequest, etcdserverpb.HashKVResponse>(mt.hashKv.bind(mt), P.HashKVRequest.fromPartial({ revision }))).hash;
    const snapshotRevision = await revisionNow();
    const snapBytes = await receiveSnapshot(mt, opts.snapshotFile);
    end('hashKV');

    const rev = await revisionNow();
    await hashAt(rev);
    end('hash');

    await unary(mt.hash.bind(mt), P.HashRequest.fromPartial({}));
    end('compaction');

    await unary(kv.compact.bind(kv), P.CompactionRequest.fromPartial({ revision: rev, physical: true }));
    end('defragment');

    await unary(mt.defragment.bind(mt), P.DefragmentRequest.fromPartial({}));
    end('hashKV-2');

    const rev2 = await revisionNow();
    const hashBefore = await hashAt(rev2);
    end('restart');

    await m.close();
    m = undefined;
    m = await startServer({ ...memberOpts, listenClientUrls: [url] });
    await m.ready;
    // the channel may be backing off after the refused connections: wait until it reconnects
    await new Promise<void>((resolve, reject) => kv.waitForReady(Date.now() + 30_000, (e) => (e ? reject(e) : resolve())));
    await unary(kv.range.bind(kv), P.RangeRequest.fromPartial({ key: keyOf(0) }));
    end('hashKV-3');

    const hashAfterRestart = await hashAt(rev2);
    await client.stop();
    const last = probe.stop();
    opts.onPhase?.(last);
    return { phases: probe.phases, measuresCpu: probe.measuresCpu, clientOps: client.ops(), clientErrors: client.errors(), hashBefore, hashAfterRestart, snapshotBytes: snapBytes, snapshotRevision };
  } finally {
    probe?.stop();
    for (const c of clients) c.close();
    await m?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
