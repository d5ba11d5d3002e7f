// lock and elect, through etcd's v3lock / v3election gRPC services (server-side sessions are
// not used: like etcdctl we hold a lease kept alive for the session).

import type { CommandDef, RunContext } from '../command.js';
import { CtlExit, ExitCode } from '../errors.js';

const bad = (msg: string): never => {
  throw new CtlExit(ExitCode.BadArgs, msg);
};

async function lockRun(ctx: RunContext): Promise<void> {
  if (ctx.args.length === 0) bad('lock takes a lock name argument and an optional command to execute.');
  throw new CtlExit(ExitCode.BadFeature, 'lock is not implemented by tsetcdctl yet');
}

async function electRun(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1 && ctx.args.length !== 2) bad('elect takes one election name argument and an optional proposal argument.');
  throw new CtlExit(ExitCode.BadFeature, 'elect is not implemented by tsetcdctl yet');
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
