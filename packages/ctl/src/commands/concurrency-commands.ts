// lock and elect. Like etcdctl, a session is a lease kept alive by this process; the lock and
// the campaign go through etcd's v3lock / v3election services, which use the same key layout as
// clientv3/concurrency ("<name>/<lease id in hex>"), so etcdctl and tsetcdctl contend correctly.

import { spawnSync } from 'node:child_process';
import type { etcdserverpb, v3electionpb } from '@tsetcd/proto';
import type { CommandDef, RunContext } from '../command.js';
import type { Connection } from '../connection.js';
import { grpcErrorText } from '../connection.js';
import { CtlExit, ExitCode } from '../errors.js';

const bad = (msg: string): never => {
  throw new CtlExit(ExitCode.BadArgs, msg);
};

const defaultSessionTtlSeconds = 60n;

/** A lease kept alive every TTL/3 on a LeaseKeepAlive stream; `lost` resolves if it expires. */
class Session {
  private stream: Awaited<ReturnType<Connection['raw']['leaseKeepAlive']>> | undefined;
  private timer: NodeJS.Timeout | undefined;
  readonly lost: Promise<void>;
  private markLost!: () => void;

  private constructor(
    private readonly c: Connection,
    readonly leaseId: bigint,
    private readonly ttlSeconds: bigint,
  ) {
    this.lost = new Promise((res) => (this.markLost = res));
  }

  static async open(c: Connection, ttlSeconds: bigint): Promise<Session> {
    const resp = await c.must(c.raw.lease.leaseGrant, { TTL: ttlSeconds, ID: 0n }, ExitCode.Error, undefined, 0);
    const s = new Session(c, resp.ID, resp.TTL);
    await s.keepAlive().catch((e) => {
      throw new CtlExit(ExitCode.Error, grpcErrorText(e));
    });
    return s;
  }

  private async keepAlive(): Promise<void> {
    const stream = await this.c.raw.leaseKeepAlive();
    this.stream = stream;
    const periodMs = Math.max(500, (Number(this.ttlSeconds) * 1000) / 3);
    stream.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
      if (r.TTL <= 0n) this.markLost();
    });
    stream.on('error', () => this.markLost());
    const tick = () => {
      stream.write({ ID: this.leaseId });
      this.timer = setTimeout(tick, periodMs);
    };
    tick();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.stream?.cancel();
  }
}

/** Resolves on SIGINT/SIGTERM (etcdctl's signal.Notify). */
function untilSignal(): { done: Promise<void>; dispose: () => void } {
  let handler: () => void = () => undefined;
  const done = new Promise<void>((res) => (handler = () => res()));
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return { done, dispose: () => (process.off('SIGINT', handler), process.off('SIGTERM', handler)) };
}

async function lockRun(ctx: RunContext): Promise<void> {
  if (ctx.args.length === 0) bad('lock takes a lock name argument and an optional command to execute');
  const c = await ctx.session.client();
  const session = await Session.open(c, ctx.flags.getInt('ttl'));
  const signal = untilSignal();
  try {
    const name = ctx.args[0];
    const lockCall = c.call(c.raw.lock.lock, { name: Buffer.from(name, 'utf8'), lease: session.leaseId }, 0);
    const first = await Promise.race([lockCall.then((r) => ({ r })), signal.done.then(() => undefined)]);
    if (!first) throw new CtlExit(ExitCode.Error, 'context canceled');
    const key = first.r.key;
    const cmdArgs = ctx.args.slice(1);
    if (cmdArgs.length > 0) {
      const env = { ETCD_LOCK_KEY: key.toString('utf8'), ETCD_LOCK_REV: String(first.r.header?.revision ?? 0n), ...ctx.io.env };
      const r = spawnSync(cmdArgs[0], cmdArgs.slice(1), { env, stdio: 'inherit' });
      await c.call(c.raw.lock.unlock, { key });
      if (r.error) throw new CtlExit(ExitCode.Error, `exec: ${JSON.stringify(cmdArgs[0])}: executable file not found in $PATH`);
      if (r.status !== 0) throw new CtlExit(ExitCode.Error, `exit status ${r.status ?? 1}`);
      return;
    }
    const got = await c.must(c.raw.kv.range, { key, rangeEnd: Buffer.alloc(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n }, ExitCode.Error);
    if (got.kvs.length === 0) throw new CtlExit(ExitCode.Error, 'lock lost on init');
    ctx.session.display.get(got);
    const ended = await Promise.race([signal.done.then(() => 'signal'), session.lost.then(() => 'lost')]);
    if (ended === 'lost') throw new CtlExit(ExitCode.Error, 'session expired');
    await c.must(c.raw.lock.unlock, { key }, ExitCode.Error);
  } finally {
    signal.dispose();
    session.close();
  }
}

async function electRun(ctx: RunContext): Promise<void> {
  const args = ctx.args;
  if (args.length !== 1 && args.length !== 2) bad('elect takes one election name argument and an optional proposal argument');
  const listen = ctx.flags.getBool('listen');
  const c = await ctx.session.client();
  if (args.length === 1) {
    if (!listen) bad('no proposal argument but -l not set');
    await observe(ctx, c, args[0]);
    return;
  }
  if (listen) bad('proposal given but -l is set');
  const session = await Session.open(c, defaultSessionTtlSeconds);
  const signal = untilSignal();
  try {
    const campaign = c.call(c.raw.election.campaign, { name: Buffer.from(args[0], 'utf8'), lease: session.leaseId, value: Buffer.from(args[1], 'utf8') }, 0);
    const won = await Promise.race([campaign.then((r) => ({ r })), signal.done.then(() => undefined)]);
    if (!won) throw new CtlExit(ExitCode.Error, 'context canceled');
    const leader = won.r.leader!;
    const got = await c.must(c.raw.kv.range, { key: leader.key, rangeEnd: Buffer.alloc(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n }, ExitCode.Error);
    ctx.session.display.get(got);
    const ended = await Promise.race([signal.done.then(() => 'signal'), session.lost.then(() => 'lost')]);
    if (ended === 'lost') throw new CtlExit(ExitCode.Error, 'elect: session expired');
    await c.must(c.raw.election.resign, { leader }, ExitCode.Error);
  } finally {
    signal.dispose();
    session.close();
  }
}

async function observe(ctx: RunContext, c: Connection, name: string): Promise<void> {
  const signal = untilSignal();
  const stream = await c.raw.election.observe({ name: Buffer.from(name, 'utf8') }).catch((e) => {
    signal.dispose();
    throw new CtlExit(ExitCode.Error, grpcErrorText(e));
  });
  try {
    const outcome = await new Promise<'signal' | 'lost'>((resolve) => {
      stream.on('data', (r: v3electionpb.LeaderResponse) => {
        ctx.session.display.get({ header: r.header, kvs: r.kv ? [r.kv] : [], more: false, count: r.kv ? 1n : 0n });
      });
      stream.on('error', (e: unknown) => {
        if (grpcErrorText(e) !== 'context canceled') resolve('lost');
      });
      stream.on('end', () => resolve('lost'));
      void signal.done.then(() => resolve('signal'));
    });
    if (outcome === 'lost') throw new CtlExit(ExitCode.Error, 'elect: observer lost');
  } finally {
    stream.cancel();
    signal.dispose();
  }
}

export const concurrencyCommands: CommandDef[] = [
  {
    use: 'lock <lockname> [exec-command arg1 arg2 ...]',
    short: 'Acquires a named lock',
    flags: [{ name: 'ttl', kind: 'int64', def: '10', usage: 'timeout for session' }],
    run: lockRun,
  },
  {
    use: 'elect <election-name> [proposal]',
    short: 'Observes and participates in leader election',
    flags: [{ name: 'listen', short: 'l', kind: 'bool', def: 'false', usage: 'observation mode' }],
    run: electRun,
  },
];
