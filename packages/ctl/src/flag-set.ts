// A flag parser with spf13/pflag's semantics (what etcdctl uses through cobra):
// `--name=value`, `--name value`, bool flags without a value, `-w json`, `-wjson`, `-w=json`,
// grouped bool shorthands, `--` ends the flags, flags may be interspersed with arguments.
// Error texts are pflag's.

import { parseGoDuration } from '@tsetcd/common';
import { goQuote, parseGoBool, parseGoInt } from './go-format.js';

export type FlagKind = 'bool' | 'string' | 'int64' | 'duration' | 'stringSlice';

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  /** The default, written as pflag's DefValue (what help prints). */
  def: string;
  usage: string;
}

export type FlagValue = boolean | string | bigint | string[];

export class FlagParseError extends Error {
  readonly code = 'FLAG_PARSE';
}

function parseStringSlice(s: string): string[] {
  if (s === '') return [];
  // pflag reads the value as one CSV record.
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function convertFlagValue(spec: FlagSpec, raw: string): FlagValue {
  switch (spec.kind) {
    case 'bool':
      return parseGoBool(raw);
    case 'string':
      return raw;
    case 'int64': {
      const m = /^([+-]?)0[xX]([0-9a-fA-F]+)$/.exec(raw);
      if (m) {
        const v = BigInt('0x' + m[2]);
        return m[1] === '-' ? -v : v;
      }
      return parseGoInt(raw, 10);
    }
    case 'duration':
      return parseGoDuration(raw);
    case 'stringSlice':
      return parseStringSlice(raw);
  }
}

export class FlagSet {
  private readonly specs = new Map<string, FlagSpec>();
  private readonly values = new Map<string, FlagValue>();
  private readonly changed = new Set<string>();
  private sliceSet = new Set<string>();

  constructor(specs: FlagSpec[]) {
    for (const s of specs) {
      this.specs.set(s.name, s);
      this.values.set(s.name, convertFlagValue(s, s.kind === 'stringSlice' ? s.def.replace(/^\[|\]$/g, '') : s.def));
    }
  }

  spec(name: string): FlagSpec | undefined {
    return this.specs.get(name);
  }

  all(): FlagSpec[] {
    return [...this.specs.values()];
  }

  isChanged(name: string): boolean {
    return this.changed.has(name);
  }

  get(name: string): FlagValue {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`flag accessed but not defined: ${name}`);
    return v;
  }
  getBool(name: string): boolean {
    return this.get(name) as boolean;
  }
  getString(name: string): string {
    return this.get(name) as string;
  }
  getInt(name: string): bigint {
    return this.get(name) as bigint;
  }
  getStrings(name: string): string[] {
    return this.get(name) as string[];
  }

  /** Sets a flag from text; throws pflag's "invalid argument" error. */
  set(name: string, raw: string, shorthandUsed = false): void {
    const spec = this.specs.get(name)!;
    let v: FlagValue;
    try {
      v = convertFlagValue(spec, raw);
    } catch (e) {
      const flagName = shorthandUsed && spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
      throw new FlagParseError(`invalid argument ${goQuote(raw)} for ${goQuote(flagName)} flag: ${(e as Error).message}`);
    }
    if (spec.kind === 'stringSlice' && this.sliceSet.has(name)) {
      v = [...(this.values.get(name) as string[]), ...(v as string[])];
    }
    if (spec.kind === 'stringSlice') this.sliceSet.add(name);
    this.values.set(name, v);
    this.changed.add(name);
  }

  /** Parses argv; returns the positional arguments (those after `--` included). */
  parse(argv: string[]): string[] {
    const args: string[] = [];
    const byShort = new Map<string, FlagSpec>();
    for (const s of this.specs.values()) if (s.short) byShort.set(s.short, s);
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--') {
        args.push(...argv.slice(i + 1));
        break;
      }
      if (a.startsWith('--')) {
        const body = a.slice(2);
        const eq = body.indexOf('=');
        const name = eq >= 0 ? body.slice(0, eq) : body;
        if (name.length === 0 || name[0] === '-' || name[0] === '=') throw new FlagParseError(`bad flag syntax: ${a}`);
        const spec = this.specs.get(name);
        if (!spec) throw new FlagParseError(`unknown flag: --${name}`);
        if (eq >= 0) this.set(name, body.slice(eq + 1));
        else if (spec.kind === 'bool') this.set(name, 'true');
        else if (i + 1 < argv.length) this.set(name, argv[++i]);
        else throw new FlagParseError(`flag needs an argument: ${a}`);
        continue;
      }
      if (a.startsWith('-') && a.length > 1) {
        let shorts = a.slice(1);
        while (shorts.length > 0) {
          const c = shorts[0];
          const spec = byShort.get(c);
          if (!spec) throw new FlagParseError(`unknown shorthand flag: ${goQuote(c).slice(1, -1) === c ? `'${c}'` : c} in ${a}`);
          if (shorts.length > 2 && shorts[1] === '=') {
            this.set(spec.name, shorts.slice(2), true);
            shorts = '';
          } else if (spec.kind === 'bool') {
            this.set(spec.name, 'true', true);
            shorts = shorts.slice(1);
          } else if (shorts.length > 1) {
            this.set(spec.name, shorts.slice(1), true);
            shorts = '';
          } else if (i + 1 < argv.length) {
            this.set(spec.name, argv[++i], true);
            shorts = '';
          } else throw new FlagParseError(`flag needs an argument: '${c}' in -${shorts}`);
        }
        continue;
      }
      args.push(a);
    }
    return args;
  }
}

/** The flag lines of etcdctl's help (before tab alignment). */
export function flagUsages(specs: FlagSpec[]): string {
  const sorted = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let out = '';
  for (const s of sorted) {
    let line = s.short ? `  -${s.short}, --${s.name}` : `      --${s.name}`;
    const noOpt = s.kind === 'bool';
    if (noOpt) line += '[';
    line += s.kind === 'string' ? `=${goQuote(s.def)}` : `=${s.def}`;
    if (noOpt) line += ']';
    out += `${line}\t${s.usage}\n`;
  }
  return out;
}

/** pflag's FlagUsages (cobra's default usage template), used by the txn request parser. */
export function pflagUsages(specs: FlagSpec[]): string {
  const sorted = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const typeNames: Record<FlagKind, string> = { bool: '', string: 'string', int64: 'int', duration: 'duration', stringSlice: 'strings' };
  const lines: string[] = [];
  let maxlen = 0;
  for (const s of sorted) {
    let line = s.short ? `  -${s.short}, --${s.name}` : `      --${s.name}`;
    const t = typeNames[s.kind];
    if (t) line += ' ' + t;
    line += '\x00';
    if (line.length > maxlen) maxlen = line.length;
    const isZero = s.kind === 'bool' ? s.def === 'false' : s.kind === 'string' ? s.def === '' : s.kind === 'stringSlice' ? s.def === '[]' : s.def === '0' || s.def === '0s';
    let usage = s.usage;
    if (!isZero) usage += s.kind === 'string' ? ` (default ${goQuote(s.def)})` : ` (default ${s.def})`;
    lines.push(line + usage);
  }
  return lines
    .map((l) => {
      const i = l.indexOf('\x00');
      return l.slice(0, i) + ' ' + ' '.repeat(maxlen - i) + ' ' + l.slice(i + 1);
    })
    .join('\n');
}
