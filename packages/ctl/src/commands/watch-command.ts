// watch: a Watch stream printed event batch by event batch, optionally running a command per event.

import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { etcdserverpb, mvccpb } from '@tsetcd/proto';
import { EtcdError, GrpcCode, prefixEnd } from '@tsetcd/common';
import type { CommandDef, RunContext } from '../command.js';
import type { Connection } from '../connection.js';
import { grpcErrorText } from '../connection.js';
import { CtlExit, ExitCode } from '../errors.js';
import { FlagSet, type FlagSpec } from '../flag-set.js';
import { goQuote } from '../go-format.js';
import { argify } from './kv-commands.js';

const watchFlags: FlagSpec[] = [
  { name: 'interactive', short: 'i', kind: 'bool', def: 'false', usage: 'Interactive mode' },
  { name: 'prefix', kind: 'bool', def: 'false', usage: 'Watch on a prefix if prefix is set' },
  { name: 'rev', kind: 'int64', def: '0', usage: 'Revision to start watching' },
  { name: 'prev-kv', kind: 'bool', def: 'false', usage: 'get the previous key-value pair before the event happens' },
];

const errBadArgsNum = 'bad number of arguments';
const errBadArgsNumConflictEnv = 'bad number of arguments (found conflicting environment key)';
const errBadArgsNumSeparator = 'bad number of arguments (found separator --, but no commands)';

interface WatchOpts {
  prefix: boolean;
  rev: bigint;
  prevKv: boolean;
}

/** Splits watch arguments into the key range and the command to exec (etcdctl's parseWatchArgs, non-interactive). */
export function parseWatchArgs(rawArgs: string[], commandArgs: string[], envKey: string, envRange: string): { watchArgs: string[]; execArgs: string[] } {
  let watchArgs = [...commandArgs];
  const sepIdx = rawArgs.indexOf('--');
  const execExist = sepIdx >= 0;
  if (execExist && sepIdx === rawArgs.length - 1) throw new CtlExit(ExitCode.BadArgs, errBadArgsNumSeparator);
  if (!execExist && rawArgs.length < 1 && envKey === '') throw new CtlExit(ExitCode.BadArgs, errBadArgsNum);
  if (execExist && envKey !== '') {
    let ridx = rawArgs.length - 1;
    for (let widx = watchArgs.length - 1; widx >= 0; widx--) {
      if (watchArgs[widx] === rawArgs[ridx]) {
        ridx--;
        continue;
      }
      if (ridx === sepIdx) throw new CtlExit(ExitCode.BadArgs, errBadArgsNumConflictEnv);
    }
  }
  if (!execExist && watchArgs.length > 0 && envKey !== '') throw new CtlExit(ExitCode.BadArgs, errBadArgsNumConflictEnv);
  const execArgs = execExist ? rawArgs.slice(sepIdx + 1) : [];
  if (envKey !== '') watchArgs = [envKey, ...(envRange !== '' ? [envRange] : []), ...watchArgs];
  if (!execExist) return { watchArgs, execArgs };
  let endIdx = watchArgs.length - 1;
  for (; endIdx >= 0; endIdx--) if (watchArgs[endIdx] === rawArgs[sepIdx + 1]) break;
  return { watchArgs: watchArgs.slice(0, Math.max(endIdx, 0)), execArgs };
}

function createRequest(args: string[], o: WatchOpts): etcdserverpb.WatchCreateRequest {
  if (args.length < 1) throw new Error(errBadArgsNum);
  let key: Buffer = Buffer.from(args[0], "utf8");
  let rangeEnd: Buffer = Buffer.alloc(0);
  if (args.length === 2) {
    if (o.prefix) throw new Error('`range_end` and `--prefix` are mutually exclusive');
    rangeEnd = Buffer.from(args[1], 'utf8');
  }
  if (o.prefix) {
    if (key.length === 0) {
      key = Buffer.from([0]);
      rangeEnd = Buffer.from([0]);
    } else rangeEnd = prefixEnd(key);
  }
  return { key, rangeEnd, startRevision: o.rev, progressNotify: false, filters: [], prevKv: o.prevKv, watchId: 0n, fragment: false };
}

type WatchStream = grpc.ClientDuplexStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>;

/** gRPC codes after which clientv3 reopens the watch (the connection, not the watch, failed). */
const watchRetryCodes = new Set<number>([GrpcCode.Unavailable, GrpcCode.Internal, GrpcCode.Unknown]);
const watchRetryDelayMs = 500;

/**
 * One watch, printed response by response until the server cancels it. Like clientv3, a lost
 * connection does not end it: the stream is reopened from the revision after the last event.
 */
class WatchRun {
  stream!: WatchStream;
  readonly done: Promise<void>;
  private finish!: () => void;
  private nextRev: bigint;
  private generation = 0;
  private stopped = false;

  constructor(
    private readonly ctx: RunContext,
    private readonly c: Connection,
    private readonly req: etcdserverpb.WatchCreateRequest,
    private readonly execArgs: string[],
  ) {
    this.nextRev = req.startRevision;
    this.done = new Promise((res) => (this.finish = res));
  }

  async open(): Promise<void> {
    const gen = ++this.generation;
    const stream = await this.c.raw.watch({ requireLeader: true });
    this.stream = stream;
    const current = () => gen === this.generation && !this.stopped;
    stream.on('data', (resp: etcdserverpb.WatchResponse) => {
      if (current()) this.onResponse(resp);
    });
    stream.on('error', (e: unknown) => {
      if (!current()) return;
      const code = (e as { code?: number }).code;
      if (code !== undefined && watchRetryCodes.has(code)) this.reopenLater();
      else {
        this.ctx.out.stderr(`watch was canceled (${grpcErrorText(e)})\n`);
        this.stop();
      }
    });
    stream.on('end', () => {
      if (current()) this.reopenLater();
    });
    stream.write({ requestUnion: { $case: 'createRequest', value: { ...this.req, startRevision: this.nextRev } } });
  }

  private reopenLater(): void {
    this.generation++;
    setTimeout(() => {
      if (this.stopped) return;
      this.open().catch(() => this.reopenLater());
    }, watchRetryDelayMs);
  }

  stop(): void {
    this.stopped = true;
    this.stream?.cancel();
    this.finish();
  }

  private onResponse(resp: etcdserverpb.WatchResponse): void {
    const ctx = this.ctx;
    const header = resp.header ?? { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n };
    if (resp.created && resp.events.length === 0 && !resp.canceled) {
      if (this.nextRev === 0n) this.nextRev = header.revision + 1n;
      return;
    }
    if (resp.events.length > 0) this.nextRev = (resp.events[resp.events.length - 1].kv?.modRevision ?? 0n) + 1n;
    if (resp.canceled) {
      let reason: string;
      if (resp.compactRevision !== 0n) reason = EtcdError.compacted.message;
      else if (resp.cancelReason) reason = resp.cancelReason;
      else reason = EtcdError.futureRev.message;
      ctx.out.stderr(`watch was canceled (${reason})\n`);
    }
    if (resp.events.length === 0 && !resp.canceled && !resp.created && resp.compactRevision === 0n && header.revision !== 0n) {
      ctx.out.stdout(`progress notify: ${header.revision}\n`);
    }
    ctx.session.display.watch({ header, events: resp.events, compactRevision: resp.compactRevision, canceled: resp.canceled, created: false });
    for (const ev of this.execArgs.length > 0 ? resp.events : []) {
      const env = {
        ...ctx.io.env,
        ETCD_WATCH_REVISION: String(header.revision),
        ETCD_WATCH_EVENT_TYPE: goQuote(ev.type === mvccpb.Event_EventType.DELETE ? 'DELETE' : 'PUT'),
        ETCD_WATCH_KEY: goQuote(ev.kv?.key ?? Buffer.alloc(0)),
        ETCD_WATCH_VALUE: goQuote(ev.kv?.value ?? Buffer.alloc(0)),
      };
      const r = spawnSync(this.execArgs[0], this.execArgs.slice(1), { env, stdio: 'inherit' });
      if (r.error || r.status !== 0) {
        const why = r.error ? r.error.message : `exit status ${r.status}`;
        ctx.out.stderr(`command [${this.execArgs.join(' ')}] error (${why})\n`);
        process.exit(1);
      }
    }
    if (resp.canceled) this.stop();
  }
}

/** Starts a watch; resolves once its stream is open. */
async function runWatch(ctx: RunContext, c: Connection, req: etcdserverpb.WatchCreateRequest, execArgs: string[]): Promise<WatchRun> {
  const w = new WatchRun(ctx, c, req, execArgs);
  try {
    await w.open();
  } catch (e) {
    throw new CtlExit(ExitCode.Error, grpcErrorText(e));
  }
  return w;
}

async function watchRun(ctx: RunContext): Promise<void> {
  const envKey = ctx.io.env.ETCDCTL_WATCH_KEY ?? '';
  const envRange = ctx.io.env.ETCDCTL_WATCH_RANGE_END ?? '';
  if (envKey === '' && envRange !== '') throw new CtlExit(ExitCode.BadArgs, `ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=${goQuote(envRange)}`);
  const f = ctx.flags;
  const opts: WatchOpts = { prefix: f.getBool('prefix'), rev: f.getInt('rev'), prevKv: f.getBool('prev-kv') };
  const extraEnv = ['ETCDCTL_WATCH_KEY', 'ETCDCTL_WATCH_RANGE_END'];
  if (f.getBool('interactive')) {
    const c = await ctx.session.client(extraEnv);
    await interactiveWatch(ctx, c, envKey, envRange);
    return;
  }
  // etcdctl looks at the raw command line after the word "watch" to find `--`.
  const watchIdx = ctx.argv.indexOf('watch');
  const rawArgs = watchIdx >= 0 ? ctx.argv.slice(watchIdx + 1) : ctx.argv;
  const { watchArgs, execArgs } = parseWatchArgs(rawArgs, ctx.args, envKey, envRange);
  const c = await ctx.session.client(extraEnv);
  let req: etcdserverpb.WatchCreateRequest;
  try {
    req = createRequest(watchArgs, opts);
  } catch (e) {
    throw new CtlExit(ExitCode.BadArgs, (e as Error).message);
  }
  const { done } = await runWatch(ctx, c, req, execArgs);
  await done;
  throw new CtlExit(ExitCode.Interrupted, 'watch is canceled by the server');
}

async function* linesOf(ctx: RunContext): AsyncIterable<string> {
  if (ctx.io.stdinLines) {
    yield* ctx.io.stdinLines();
    return;
  }
  const lines = (await ctx.session.readStdin()).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  yield* lines;
}

/** watch -i: reads `watch ...` and `progress` requests from stdin until it ends. */
async function interactiveWatch(ctx: RunContext, c: Connection, envKey: string, envRange: string): Promise<void> {
  const watches: WatchRun[] = [];
  try {
    for await (const l of linesOf(ctx)) {
      const args = argify(l);
      if (args.length < 1) {
        ctx.out.stderr(`Invalid command: ${l} (watch and progress supported)\n`);
        continue;
      }
      if (args[0] === 'watch') {
        if (args.length < 2 && envKey === '') {
          ctx.out.stderr(`Invalid command ${l} (command type or key is not provided)\n`);
          continue;
        }
        const rest = args.slice(1);
        const sep = rest.indexOf('--');
        if (sep >= 0 && sep === rest.length - 1) throw new CtlExit(ExitCode.BadArgs, errBadArgsNumSeparator);
        const fs = new FlagSet(watchFlags);
        let pArgs: string[];
        try {
          pArgs = fs.parse(sep >= 0 ? rest.slice(0, sep) : rest);
        } catch (e) {
          throw new CtlExit(ExitCode.BadArgs, (e as Error).message);
        }
        if (envKey !== '') pArgs = [envKey, ...(envRange ? [envRange] : []), ...pArgs];
        let req: etcdserverpb.WatchCreateRequest;
        try {
          req = createRequest(pArgs, { prefix: fs.getBool('prefix'), rev: fs.getInt('rev'), prevKv: fs.getBool('prev-kv') });
        } catch (e) {
          ctx.out.stderr(`Invalid command ${l} (${(e as Error).message})\n`);
          continue;
        }
        watches.push(await runWatch(ctx, c, req, sep >= 0 ? rest.slice(sep + 1) : []));
      } else if (args[0] === 'progress') {
        for (const w of watches) w.stream.write({ requestUnion: { $case: 'progressRequest', value: {} } });
      } else {
        ctx.out.stderr(`Invalid command ${l} (only support watch)\n`);
      }
    }
  } finally {
    for (const w of watches) w.stop();
  }
  throw new CtlExit(ExitCode.InvalidInput, 'Error reading watch request line: EOF');
}

export const watchCommand: CommandDef = {
  use: 'watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]',
  short: 'Watches events stream on keys or prefixes',
  flags: watchFlags,
  run: watchRun,
};
