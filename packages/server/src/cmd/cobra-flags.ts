// Flags of etcd's cobra subcommands (gateway, grpc-proxy): pflag syntax, "--f v" / "--f=v",
// bare booleans, string slices that split on commas and accumulate, flags before or after the
// subcommand word. Positional words are returned in order.

import { parseGoDurationMs } from '@tsetcd/common';
import { FlagError } from './flags.js';

export type CobraKind = 'string' | 'strings' | 'bool' | 'duration' | 'int';

export interface CobraFlag {
  kind: CobraKind;
  def: string | string[] | boolean | number;
  help: string;
}

export type CobraValues = Record<string, string | string[] | boolean | number>;

export function parseCobraFlags(args: string[], specs: Record<string, CobraFlag>): { values: CobraValues; words: string[]; set: Set<string> } {
  const values: CobraValues = {};
  for (const [k, s] of Object.entries(specs)) values[k] = Array.isArray(s.def) ? [...s.def] : s.def;
  const words: string[] = [];
  const set = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--') || a === '--') {
      if (a.startsWith('-') && a.length > 1 && a !== '--') throw new FlagError(`unknown shorthand flag: '${a[1]}' in ${a}`);
      words.push(a);
      continue;
    }
    const body = a.slice(2);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = specs[name];
    if (spec === undefined) throw new FlagError(`unknown flag: --${name}`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.kind === 'bool') raw = 'true';
    else {
      if (i + 1 >= args.length) throw new FlagError(`flag needs an argument: --${name}`);
      raw = args[++i];
    }
    switch (spec.kind) {
      case 'string':
        values[name] = raw;
        break;
      case 'strings': {
        // pflag's StringSlice: the first use replaces the default, later uses append
        const parts = raw === '' ? [] : raw.split(',').map((s) => s.trim());
        values[name] = set.has(name) ? [...(values[name] as string[]), ...parts] : parts;
        break;
      }
      case 'bool': {
        const v = raw.toLowerCase();
        if (['1', 't', 'true'].includes(v)) values[name] = true;
        else if (['0', 'f', 'false'].includes(v)) values[name] = false;
        else throw new FlagError(`invalid argument "${raw}" for "--${name}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
        break;
      }
      case 'int':
        if (!/^-?\d+$/.test(raw)) throw new FlagError(`invalid argument "${raw}" for "--${name}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`);
        values[name] = Number(raw);
        break;
      case 'duration':
        try {
          values[name] = parseGoDurationMs(raw);
        } catch {
          throw new FlagError(`invalid argument "${raw}" for "--${name}" flag: time: invalid duration "${raw}"`);
        }
        break;
    }
    set.add(name);
  }
  return { values, words, set };
}

export function cobraUsage(use: string, short: string, specs: Record<string, CobraFlag>): string {
  const lines = [short, '', 'Usage:', `  ${use} [flags]`, '', 'Flags:'];
  for (const [k, s] of Object.entries(specs)) {
    const d = Array.isArray(s.def) ? `[${s.def.join(',')}]` : String(s.def);
    lines.push(`      --${k}${s.kind === 'bool' ? '' : ` ${s.kind === 'strings' ? 'strings' : s.kind}`}   ${s.help}${d !== '' && d !== 'false' ? ` (default ${s.kind === 'string' ? `"${d}"` : d})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The front of a cobra command whose one verb is `start` (etcd's gateway, grpc-proxy): -h/--help
 * prints the command's help (the start usage after `start`), a bad flag ends the process with
 * cobra's `Error: …` line and exit code 1, any word but `start` prints the help. Returns the
 * parsed flags for `start`, undefined when the command has nothing more to do.
 */
export function startVerbFlags(
  args: string[],
  o: { use: string; short: string; specs: Record<string, CobraFlag>; help: string },
): { values: CobraValues; set: Set<string> } | undefined {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(args.includes('start') ? cobraUsage(o.use, o.short, o.specs) : o.help);
    return undefined;
  }
  let parsed;
  try {
    parsed = parseCobraFlags(args, o.specs);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`Error: ${e.message}\n`);
    process.exit(1);
  }
  if (parsed.words[0] !== 'start') {
    process.stdout.write(o.help);
    return undefined;
  }
  return { values: parsed.values, set: parsed.set };
}
