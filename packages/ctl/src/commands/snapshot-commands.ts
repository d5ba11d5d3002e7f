// snapshot save | status | restore.

import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { etcdserverpb } from '@tsetcd/proto';
import type { CommandDef, RunContext } from '../command.js';
import { grpcErrorText } from '../connection.js';
import { CtlExit, ExitCode } from '../errors.js';
import { humanizeBytes } from '../go-format.js';
import { goJsonString } from '../go-json.js';
import { readBoltStatus } from '../snapshot-status.js';
import { restoreSnapshot } from './snapshot-restore.js';

const bad = (msg: string): never => {
  throw new CtlExit(ExitCode.BadArgs, msg);
};

/** A zap production-style JSON log line on stderr (etcdctl logs snapshot progress this way). */
function zapLog(ctx: RunContext, caller: string, msg: string, fields: Record<string, string | number> = {}, isoTs = false): void {
  const now = Date.now();
  const ts = isoTs ? goJsonString(new Date(now).toISOString()) : (now / 1000).toFixed(7);
  let line = `{"level":"info","ts":${ts},"caller":${goJsonString(caller)},"msg":${goJsonString(msg)}`;
  for (const [k, v] of Object.entries(fields)) line += `,${goJsonString(k)}:${typeof v === 'number' ? v : goJsonString(v)}`;
  ctx.out.stderr(line + '}\n');
}

async function snapshotSave(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('snapshot save expects one argument');
  const s = ctx.session;
  const cfg = await s.clientConfig();
  if (cfg.endpoints.length !== 1) throw new CtlExit(ExitCode.Interrupted, `snapshot must be requested to one selected node, not multiple [${cfg.endpoints.join(' ')}]`);
  const path = ctx.args[0];
  const partPath = path + '.part';
  rmSync(partPath, { force: true });
  let fd: number;
  try {
    fd = openSync(partPath, 'w', 0o600);
  } catch (e) {
    throw new CtlExit(ExitCode.Interrupted, `could not open ${partPath} (${(e as Error).message})`);
  }
  zapLog(ctx, 'snapshot/v3_snapshot.go:119', 'created temporary db file', { path: partPath });
  const started = process.hrtime.bigint();
  const c = await s.clientFor(cfg.endpoints[0], cfg);
  // Without --command-timeout the snapshot has no deadline (as in etcdctl).
  const timeoutMs = ctx.flags.isChanged('command-timeout') ? s.commandTimeoutMs() : 0;
  let stream: Awaited<ReturnType<typeof c.raw.maintenance.snapshot>>;
  try {
    stream = await c.raw.maintenance.snapshot(timeoutMs > 0 ? { timeout: timeoutMs } : undefined);
  } catch (e) {
    closeSync(fd);
    throw new CtlExit(ExitCode.Interrupted, grpcErrorText(e));
  }
  zapLog(ctx, 'clientv3/maintenance.go:200', 'opened snapshot stream; downloading', {}, true);
  zapLog(ctx, 'snapshot/v3_snapshot.go:127', 'fetching snapshot', { endpoint: cfg.endpoints[0] });
  let size = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (r: etcdserverpb.SnapshotResponse) => {
        writeSync(fd, r.blob);
        size += r.blob.length;
      });
      stream.on('error', reject);
      stream.on('end', resolve);
    });
  } catch (e) {
    closeSync(fd);
    throw new CtlExit(ExitCode.Interrupted, grpcErrorText(e));
  }
  zapLog(ctx, 'clientv3/maintenance.go:208', 'completed snapshot read; closing', {}, true);
  fsyncSync(fd);
  closeSync(fd);
  const took = Number(process.hrtime.bigint() - started) / 1e9;
  zapLog(ctx, 'snapshot/v3_snapshot.go:142', 'fetched snapshot', { endpoint: cfg.endpoints[0], size: humanizeBytes(size), took });
  renameSync(partPath, path);
  zapLog(ctx, 'snapshot/v3_snapshot.go:152', 'saved', { path });
  ctx.out.stdout(`Snapshot saved at ${path}\n`);
}

function snapshotStatus(ctx: RunContext): void {
  if (ctx.args.length !== 1) bad('snapshot status requires exactly one argument');
  const display = ctx.session.display;
  const path = ctx.args[0];
  if (!existsSync(path)) throw new CtlExit(ExitCode.Error, `stat ${path}: no such file or directory`);
  if (statSync(path).isDirectory()) throw new CtlExit(ExitCode.Error, `read ${path}: is a directory`);
  let st;
  try {
    st = readBoltStatus(path);
  } catch (e) {
    throw new CtlExit(ExitCode.Error, (e as Error).message);
  }
  display.dbStatus(st);
}

async function snapshotRestoreRun(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('snapshot restore requires exactly one argument');
  const f = ctx.flags;
  const name = f.getString('name');
  const dataDir = f.getString('data-dir') || `${name}.etcd`;
  const walDir = f.getString('wal-dir') || `${dataDir}/member/wal`;
  try {
    restoreSnapshot({
      snapshotPath: ctx.args[0],
      name,
      outputDataDir: dataDir,
      outputWalDir: walDir,
      peerURLs: f.getString('initial-advertise-peer-urls').split(','),
      initialCluster: f.getString('initial-cluster'),
      initialClusterToken: f.getString('initial-cluster-token'),
      skipHashCheck: f.getBool('skip-hash-check'),
      log: (msg, fields) => zapLog(ctx, 'snapshot/v3_snapshot.go:306', msg, fields),
    });
  } catch (e) {
    if (e instanceof CtlExit) throw e;
    throw new CtlExit(ExitCode.Error, (e as Error).message);
  }
}

export const snapshotCommand: CommandDef = {
  use: 'snapshot <subcommand>',
  short: 'Manages etcd node snapshots',
  children: [
    { use: 'save <filename>', short: 'Stores an etcd node backend snapshot to a given file', run: snapshotSave },
    {
      use: 'restore <filename> [options]',
      short: 'Restores an etcd member snapshot to an etcd directory',
      flags: [
        { name: 'data-dir', kind: 'string', def: '', usage: 'Path to the data directory' },
        { name: 'wal-dir', kind: 'string', def: '', usage: 'Path to the WAL directory (use --data-dir if none given)' },
        { name: 'initial-cluster', kind: 'string', def: 'default=http://localhost:2380', usage: 'Initial cluster configuration for restore bootstrap' },
        { name: 'initial-cluster-token', kind: 'string', def: 'etcd-cluster', usage: 'Initial cluster token for the etcd cluster during restore bootstrap' },
        { name: 'initial-advertise-peer-urls', kind: 'string', def: 'http://localhost:2380', usage: "List of this member's peer URLs to advertise to the rest of the cluster" },
        { name: 'name', kind: 'string', def: 'default', usage: 'Human-readable name for this member' },
        { name: 'skip-hash-check', kind: 'bool', def: 'false', usage: 'Ignore snapshot integrity hash value (required if copied from data directory)' },
      ],
      run: snapshotRestoreRun,
    },
    {
      use: 'status <filename>',
      short: 'Gets backend snapshot status of a given file',
      long: 'When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.\nThe items in the lists are hash, revision, total keys, total size.\n',
      run: snapshotStatus,
    },
  ],
};
