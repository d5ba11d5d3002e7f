// make-mirror, check (perf, datascale) and migrate.

import { etcdserverpb, mvccpb } from '@tsetcd/proto';
import type { CommandDef, RunContext } from '../command.js';
import { checkCommand } from './check-commands.js';
import { grpcErrorText } from '../connection.js';
import { CtlExit, ExitCode } from '../errors.js';
import { EtcdError, prefixEnd } from '@tsetcd/common';

const mirrorProgressIntervalMs = 30_000;
const mirrorBatchKeys = 1000n;

/** make-mirror: copies the keys under --prefix at one revision, then replays every later change. */
async function makeMirrorRun(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) throw new CtlExit(ExitCode.BadArgs, 'make-mirror takes one destination argument');
  const f = ctx.flags;
  const s = ctx.session;
  const srcCfg = await s.clientConfig();
  const destCfg = {
    ...srcCfg,
    endpoints: [ctx.args[0]],
    insecureTransport: f.getBool('dest-insecure-transport'),
    cert: f.getString('dest-cert') || undefined,
    key: f.getString('dest-key') || undefined,
    cacert: f.getString('dest-cacert') || undefined,
    user: undefined,
  };
  const dest = await s.clientFor(ctx.args[0], destCfg);
  const src = await s.client();
  const prefix = f.getString('prefix');
  let destPrefix = f.getString('dest-prefix');
  const noDestPrefix = f.getBool('no-dest-prefix');
  if (noDestPrefix && destPrefix.length > 0) throw new CtlExit(ExitCode.BadArgs, '`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one');
  if (!noDestPrefix && destPrefix.length === 0) destPrefix = prefix;
  const rename = (key: Buffer): Buffer => {
    const k = key.toString('latin1');
    const p = Buffer.from(prefix, 'utf8').toString('latin1');
    const i = k.indexOf(p);
    return i < 0 ? key : Buffer.from(k.slice(0, i) + Buffer.from(destPrefix, 'utf8').toString('latin1') + k.slice(i + p.length), 'latin1');
  };
  let total = 0;
  const progress = setInterval(() => ctx.out.stdout(`${total}\n`), mirrorProgressIntervalMs);
  const fail = (e: unknown): never => {
    throw new CtlExit(ExitCode.Error, e instanceof CtlExit ? e.message : grpcErrorText(e));
  };
  try {
    const key = prefix === '' ? Buffer.from([0]) : Buffer.from(prefix, 'utf8');
    const rangeEnd = prefix === '' ? Buffer.from([0]) : prefixEnd(key);
    // Base: everything at one revision, in batches.
    let rev = 0n;
    let from = key;
    for (;;) {
      const r = await src.call(src.raw.kv.range, etcdserverpb.RangeRequest.fromPartial({ key: from, rangeEnd, revision: rev, limit: mirrorBatchKeys }), 0).catch(fail);
      if (rev === 0n) rev = r.header?.revision ?? 0n;
      for (const kv of r.kvs) {
        await dest.call(dest.raw.kv.put, etcdserverpb.PutRequest.fromPartial({ key: rename(kv.key), value: kv.value }), 0).catch(fail);
        total++;
      }
      if (!r.more || r.kvs.length === 0) break;
      from = Buffer.concat([r.kvs[r.kvs.length - 1].key, Buffer.from([0])]);
    }
    // Updates: one destination txn per source revision.
    const stream = await src.raw.watch().catch(fail);
    await new Promise<void>((resolve, reject) => {
      let chain = Promise.resolve();
      stream.on('data', (wr: etcdserverpb.WatchResponse) => {
        chain = chain.then(async () => {
          if (wr.compactRevision !== 0n) throw new CtlExit(ExitCode.Error, EtcdError.compacted.message);
          let ops: etcdserverpb.RequestOp[] = [];
          let lastRev = 0n;
          const flush = async () => {
            if (ops.length === 0) return;
            await dest.call(dest.raw.kv.txn, { compare: [], success: ops, failure: [] }, 0);
            ops = [];
          };
          for (const ev of wr.events) {
            const kv = ev.kv!;
            if (lastRev !== 0n && kv.modRevision > lastRev) await flush();
            lastRev = kv.modRevision;
            if (ev.type === mvccpb.Event_EventType.DELETE) ops.push({ request: { $case: 'requestDeleteRange', value: etcdserverpb.DeleteRangeRequest.fromPartial({ key: rename(kv.key) }) } });
            else ops.push({ request: { $case: 'requestPut', value: etcdserverpb.PutRequest.fromPartial({ key: rename(kv.key), value: kv.value }) } });
            total++;
          }
          await flush();
        });
        chain.catch((e) => {
          stream.cancel();
          reject(e);
        });
      });
      stream.on('error', reject);
      stream.on('end', () => resolve());
      stream.write({ requestUnion: { $case: 'createRequest', value: etcdserverpb.WatchCreateRequest.fromPartial({ key, rangeEnd, startRevision: rev + 1n }) } });
    }).catch(fail);
    // etcdctl exits with an error whenever mirroring stops.
    throw new CtlExit(ExitCode.Error, '<nil>');
  } finally {
    clearInterval(progress);
  }
}

function notYet(name: string) {
  return (_ctx: RunContext): void => {
    throw new CtlExit(ExitCode.BadFeature, `${name} is not implemented by tsetcdctl yet`);
  };
}

export const mirrorCommands: CommandDef[] = [
  {
    use: 'make-mirror [options] <destination>',
    short: 'Makes a mirror at the destination etcd cluster',
    flags: [
      { name: 'prefix', kind: 'string', def: '', usage: 'Key-value prefix to mirror' },
      { name: 'dest-prefix', kind: 'string', def: '', usage: 'destination prefix to mirror a prefix to a different prefix in the destination cluster' },
      { name: 'no-dest-prefix', kind: 'bool', def: 'false', usage: 'mirror key-values to the root of the destination cluster' },
      { name: 'dest-cacert', kind: 'string', def: '', usage: 'Verify certificates of TLS enabled secure servers using this CA bundle' },
      { name: 'dest-cert', kind: 'string', def: '', usage: 'Identify secure client using this TLS certificate file for the destination cluster' },
      { name: 'dest-key', kind: 'string', def: '', usage: 'Identify secure client using this TLS key file' },
      { name: 'dest-insecure-transport', kind: 'bool', def: 'true', usage: 'Disable transport security for client connections' },
    ],
    run: makeMirrorRun,
  },
  {
    use: 'migrate',
    short: 'Migrates keys in a v2 store to a mvcc store',
    flags: [
      { name: 'no-ttl', kind: 'bool', def: 'false', usage: 'Do not convert TTL keys' },
      { name: 'data-dir', kind: 'string', def: '', usage: 'Path to the data directory' },
      { name: 'wal-dir', kind: 'string', def: '', usage: 'Path to the WAL directory' },
      { name: 'transformer', kind: 'string', def: '', usage: 'Path to the user-provided transformer program' },
    ],
    run: notYet('migrate'),
  },
  checkCommand,
];
