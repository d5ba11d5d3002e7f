// A small cobra: a tree of commands, prefix matching of command names, per-command local flags
// plus persistent flags inherited from ancestors, and etcdctl's help/usage text.

import { FlagParseError, FlagSet, flagUsages, type FlagSpec } from './flag-set.js';
import { tabAlign } from './text-columns.js';
import { CtlExit, ExitCode } from './errors.js';
import type { Output } from './output.js';
import type { Session } from './session.js';

export const etcdctlVersion = '3.4.23';
export const apiVersion = '3.4';

export interface RunContext {
  cmd: Command;
  args: string[];
  /** The raw arguments after the command path (watch needs them to find `--`). */
  rawArgs: string[];
  /** The whole command line (without the program name). */
  argv: string[];
  flags: FlagSet;
  out: Output;
  session: Session;
  io: CtlIo;
}

/** What a run reads from its environment (the process by default; tests pass their own). */
export interface CtlIo {
  env: NodeJS.ProcessEnv;
  readStdin(): Promise<string>;
  /** Stdin line by line as it arrives (interactive watch); defaults to splitting readStdin(). */
  stdinLines?(): AsyncIterable<string>;
  /** Whether stdin is a terminal (password prompts behave differently without one). */
  stdinIsTty?: boolean;
}

export interface CommandDef {
  use: string;
  short: string;
  long?: string;
  flags?: FlagSpec[];
  persistentFlags?: FlagSpec[];
  run?: (ctx: RunContext) => Promise<void> | void;
  children?: CommandDef[];
}

export class Command {
  readonly name: string;
  readonly children: Command[];
  parent: Command | undefined;

  constructor(readonly def: CommandDef) {
    this.name = def.use.split(' ')[0];
    this.children = (def.children ?? []).map((c) => new Command(c));
    for (const c of this.children) c.parent = this;
    this.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get runnable(): boolean {
    return this.def.run !== undefined;
  }

  path(): string {
    return this.parent ? `${this.parent.path()} ${this.name}` : this.name;
  }

  /** Command path without the root (as etcdctl's help names subcommands). */
  nameFrom(start: Command): string {
    const parts = [this.name];
    let c: Command = this;
    while (c.parent && c.parent.name !== start.name) {
      c = c.parent;
      parts.unshift(c.name);
    }
    return parts.join(' ');
  }

  helpFlag(): FlagSpec {
    return { name: 'help', short: 'h', kind: 'bool', def: 'false', usage: `help for ${this.name}` };
  }

  localFlags(withHelp = true): FlagSpec[] {
    return [...(this.def.flags ?? []), ...(this.def.persistentFlags ?? []), ...(withHelp ? [this.helpFlag()] : [])];
  }

  inheritedFlags(): FlagSpec[] {
    const out: FlagSpec[] = [];
    for (let c = this.parent; c; c = c.parent) out.push(...(c.def.persistentFlags ?? []));
    return out;
  }

  useLine(): string {
    const rest = this.def.use.split(' ').slice(1).join(' ');
    const p = this.parent ? `${this.parent.path()} ${this.name}` : this.name;
    let line = rest ? `${p} ${rest}` : p;
    if (this.localFlags().length + this.inheritedFlags().length > 0 && !line.includes('[flags]')) line += ' [flags]';
    return line;
  }

  allSubcommands(): Command[] {
    const out: Command[] = [];
    for (const c of this.children) {
      out.push(c, ...c.allSubcommands());
    }
    return out;
  }

  /** etcdctl's usage text (help.go's template, through text/tabwriter). */
  usage(withHelpFlag = true): string {
    const root = this.root();
    let t = 'NAME:\n';
    t += this.parent ? `\t${this.nameFrom(root)} - ${this.def.short}\n` : `\t${this.name} - ${this.def.short}\n`;
    t += `\nUSAGE:\n\t${this.useLine()}\n`;
    if (!this.parent) t += `\nVERSION:\n\t${etcdctlVersion}\n`;
    if (this.children.length > 0) {
      t += `\nAPI VERSION:\n\t${apiVersion}\n`;
      t += '\n\nCOMMANDS:\n';
      for (const c of this.allSubcommands()) if (c.runnable) t += `\t${c.nameFrom(this)}\t${c.def.short}\n`;
    }
    if (this.def.long) {
      t += '\nDESCRIPTION:\n';
      for (const line of this.def.long.replace(/^[\n\t ]+|[\n\t ]+$/g, '').split('\n')) t += `\t${line}\n`;
    }
    t += `\nOPTIONS:\n${flagUsages(this.localFlags(withHelpFlag))}`;
    const inherited = this.inheritedFlags();
    if (inherited.length > 0) t += `\nGLOBAL OPTIONS:\n${flagUsages(inherited)}`;
    t += '\n';
    return tabAlign(t);
  }

  root(): Command {
    return this.parent ? this.parent.root() : this;
  }

  /** Finds a child by exact name or unique prefix (cobra.EnablePrefixMatching). */
  findChild(name: string): Command | undefined {
    const exact = this.children.find((c) => c.name === name);
    if (exact) return exact;
    const matches = this.children.filter((c) => c.name.startsWith(name));
    return matches.length === 1 ? matches[0] : undefined;
  }
}

/** Drops flags (and the values of non-bool flags) to find the command path, like cobra's stripFlags. */
function stripFlags(args: string[], cmd: Command): string[] {
  const specs = [...cmd.localFlags(), ...cmd.inheritedFlags()];
  const isBool = (name: string) => specs.find((s) => s.name === name)?.kind === 'bool';
  const isBoolShort = (c: string) => specs.find((s) => s.short === c)?.kind === 'bool';
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (a.startsWith('--') && !a.includes('=')) {
      if (!isBool(a.slice(2))) i++;
    } else if (a.startsWith('-') && !a.startsWith('--') && a.length === 2 && !isBoolShort(a[1])) {
      i++;
    } else if (!a.startsWith('-')) out.push(a);
  }
  return out;
}

export interface Resolved {
  cmd: Command;
  rest: string[];
}

/** Walks the command path in argv; returns the command and the arguments left for it. */
export function resolveCommand(root: Command, argv: string[]): Resolved {
  let cmd = root;
  let rest = argv;
  for (;;) {
    const stripped = stripFlags(rest, cmd);
    if (stripped.length === 0) break;
    const next = cmd.findChild(stripped[0]);
    if (!next) break;
    const idx = rest.indexOf(stripped[0]);
    rest = [...rest.slice(0, idx), ...rest.slice(idx + 1)];
    cmd = next;
  }
  if (cmd === root && cmd.children.length > 0) {
    const stripped = stripFlags(rest, cmd);
    if (stripped.length > 0) {
      throw new CtlExit(ExitCode.Error, `unknown command ${JSON.stringify(stripped[0])} for ${JSON.stringify(root.name)}\nRun '${root.name} --help' for usage.`, true);
    }
  }
  return { cmd, rest };
}

export async function execute(root: Command, argv: string[], out: Output, io: CtlIo, makeSession: (ctx: RunContext) => Session): Promise<void> {
  const { cmd, rest } = resolveCommand(root, argv);
  const flags = new FlagSet([...cmd.localFlags(), ...cmd.inheritedFlags()]);
  let args: string[];
  try {
    args = flags.parse(rest);
  } catch (e) {
    if (e instanceof FlagParseError) {
      out.stdout(cmd.usage());
      // cobra prints the error, then the (empty) usage string to stderr; etcdctl prints it again.
      throw new CtlExit(ExitCode.Error, e.message, false, `Error: ${e.message}\n\n`);
    }
    throw e;
  }
  if (flags.getBool('help') || !cmd.runnable) {
    out.stdout(cmd.usage());
    return;
  }
  const ctx = { cmd, args, rawArgs: rest, argv, flags, out, io } as RunContext;
  ctx.session = makeSession(ctx);
  try {
    await cmd.def.run!(ctx);
  } finally {
    await ctx.session.close();
  }
}
