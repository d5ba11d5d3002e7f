// The tsetcdctl command tree and `runCtl`, which runs one command line and returns the exit code.

import { createInterface } from 'node:readline';
import { Command, execute, type CommandDef, type CtlIo } from './command.js';
import { CtlExit, CtlPanic, ExitCode } from './errors.js';
import type { Output } from './output.js';
import { globalFlagSpecs, Session } from './session.js';
import { kvCommands } from './commands/kv-commands.js';
import { clusterCommands } from './commands/cluster-commands.js';
import { snapshotCommand } from './commands/snapshot-commands.js';
import { watchCommand } from './commands/watch-command.js';
import { authCommands } from './commands/auth-commands.js';
import { concurrencyCommands } from './commands/concurrency-commands.js';
import { mirrorCommands } from './commands/mirror-commands.js';

function cobraExtras(): CommandDef[] {
  const shells = ['bash', 'fish', 'powershell', 'zsh'];
  return [
    {
      use: 'completion',
      short: 'Generate the autocompletion script for the specified shell',
      long: "Generate the autocompletion script for etcdctl for the specified shell.\nSee each sub-command's help for details on how to use the generated script.\n",
      children: shells.map((sh) => ({
        use: sh,
        short: `Generate the autocompletion script for ${sh}`,
        run: () => {
          throw new CtlExit(ExitCode.BadFeature, `completion for ${sh} is not supported by tsetcdctl`);
        },
      })),
    },
    {
      use: 'help [command]',
      short: 'Help about any command',
      run: (ctx) => {
        let cmd: Command = ctx.cmd.root();
        for (const a of ctx.args) {
          const next = cmd.findChild(a);
          if (!next && cmd !== ctx.cmd.root()) break;
          if (!next) {
            // cobra: unknown topic, then the root's usage (its help flag not yet added).
            ctx.out.stderr(`Unknown help topic [\`${ctx.args.join(' ')}\`]\n`);
            ctx.out.stdout(ctx.cmd.root().usage(false));
            return;
          }
          cmd = next;
        }
        ctx.out.stdout(cmd.usage());
      },
    },
  ];
}

export function buildCommandTree(): Command {
  return new Command({
    use: 'etcdctl',
    short: 'A simple command line client for etcd3.',
    persistentFlags: globalFlagSpecs,
    children: [...kvCommands, ...clusterCommands, snapshotCommand, watchCommand, ...authCommands, ...concurrencyCommands, ...mirrorCommands, ...cobraExtras()],
  });
}

export const processIo: CtlIo = {
  env: process.env,
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  stdinIsTty: process.stdin.isTTY === true,
  stdinLines() {
    return createInterface({ input: process.stdin, crlfDelay: Infinity });
  },
};

/** Runs one etcdctl command line (without the program name); returns the process exit code. */
export async function runCtl(argv: string[], out: Output, io: CtlIo = processIo): Promise<number> {
  const root = buildCommandTree();
  try {
    await execute(root, argv, out, io, (ctx) => new Session(ctx));
    return ExitCode.Success;
  } catch (e) {
    if (e instanceof CtlExit) {
      out.stderr(e.stderrText());
      return e.exitCode;
    }
    if (e instanceof CtlPanic) {
      // Go prints the panic, the signal for nil dereferences, then goroutine traces (not emulated).
      const signal = e.message.includes('nil pointer dereference') ? '[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]\n' : '';
      out.stderr(`panic: ${e.message}\n${signal}\n`);
      return 2;
    }
    out.stderr(`Error: ${(e as Error).stack ?? String(e)}\n`);
    return ExitCode.Error;
  }
}
