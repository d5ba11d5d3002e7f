// get, put, del, txn and compaction.

import { etcdserverpb } from '@tsetcd/proto';
import type { CommandDef, RunContext } from '../command.js';
import { Command } from '../command.js';
import { CtlExit, CtlPanic, ExitCode } from '../errors.js';
import { FlagParseError, FlagSet, pflagUsages } from '../flag-set.js';
import { checkRequestSize } from '../connection.js';
import { goQuote, goUnquote, parseGoInt } from '../go-format.js';
import { SimplePrinter } from '../printers/simple-printer.js';
import { prefixEnd } from '@tsetcd/common';

const bad = (msg: string): never => {
  throw new CtlExit(ExitCode.BadArgs, msg);
};

const getFlags = [
  { name: 'consistency', kind: 'string' as const, def: 'l', usage: 'Linearizable(l) or Serializable(s)' },
  { name: 'order', kind: 'string' as const, def: '', usage: 'Order of results; ASCEND or DESCEND (ASCEND by default)' },
  { name: 'sort-by', kind: 'string' as const, def: '', usage: 'Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION' },
  { name: 'limit', kind: 'int64' as const, def: '0', usage: 'Maximum number of results' },
  { name: 'prefix', kind: 'bool' as const, def: 'false', usage: 'Get keys with matching prefix' },
  { name: 'from-key', kind: 'bool' as const, def: 'false', usage: 'Get keys that are greater than or equal to the given key using byte compare' },
  { name: 'rev', kind: 'int64' as const, def: '0', usage: 'Specify the kv revision' },
  { name: 'keys-only', kind: 'bool' as const, def: 'false', usage: 'Get only the keys' },
  { name: 'print-value-only', kind: 'bool' as const, def: 'false', usage: 'Only write values when using the "simple" output format' },
];
const putFlags = [
  { name: 'lease', kind: 'string' as const, def: '0', usage: 'lease ID (in hexadecimal) to attach to the key' },
  { name: 'prev-kv', kind: 'bool' as const, def: 'false', usage: 'return the previous key-value pair before modification' },
  { name: 'ignore-value', kind: 'bool' as const, def: 'false', usage: 'updates the key using its current value' },
  { name: 'ignore-lease', kind: 'bool' as const, def: 'false', usage: 'updates the key using its current lease' },
];
const delFlags = [
  { name: 'prefix', kind: 'bool' as const, def: 'false', usage: 'delete keys with matching prefix' },
  { name: 'prev-kv', kind: 'bool' as const, def: 'false', usage: 'return deleted key-value pairs' },
  { name: 'from-key', kind: 'bool' as const, def: 'false', usage: 'delete keys that are greater than or equal to the given key using byte compare' },
];

const putLong = `
Puts the given key into the store.

When <value> begins with '-', <value> is interpreted as a flag.
Insert '--' for workaround:

$ put <key> -- <value>
$ put -- <key> <value>

If <value> isn't given as a command line argument and '--ignore-value' is not specified,
this command tries to read the value from standard input.

If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
this command tries to read the value from standard input.

For example,
$ cat file | put <key>
will store the content of the file to <key>.
`;

const fromKeyEnd = Buffer.from([0]);

/** A key and its range end after etcdctl's --prefix/--from-key/range_end rules. */
function keyRange(key: string, rangeEnd: string | undefined, prefix: boolean, fromKey: boolean): { key: Buffer; rangeEnd: Buffer } {
  let k: Buffer = Buffer.from(key, "utf8");
  let end: Buffer = rangeEnd !== undefined ? Buffer.from(rangeEnd, "utf8") : Buffer.alloc(0);
  if (prefix) {
    if (k.length === 0) {
      k = Buffer.from([0]);
      end = fromKeyEnd;
    } else end = prefixEnd(k);
  }
  if (fromKey) {
    if (k.length === 0) k = Buffer.from([0]);
    end = fromKeyEnd;
  }
  return { key: k, rangeEnd: end };
}

export function getRequest(args: string[], f: FlagSet): etcdserverpb.RangeRequest {
  if (args.length === 0) bad('get command needs one argument as key and an optional argument as range_end');
  const prefix = f.getBool('prefix');
  const fromKey = f.getBool('from-key');
  if (prefix && fromKey) bad('`--prefix` and `--from-key` cannot be set at the same time, choose one');
  const consistency = f.getString('consistency');
  if (consistency !== 's' && consistency !== 'l') throw new CtlExit(ExitCode.BadFeature, `unknown consistency flag ${goQuote(consistency)}`);
  if (args.length > 1 && (prefix || fromKey)) bad('too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
  const order = f.getString('order').toUpperCase();
  let sortOrder = etcdserverpb.RangeRequest_SortOrder.NONE;
  if (order === 'ASCEND') sortOrder = etcdserverpb.RangeRequest_SortOrder.ASCEND;
  else if (order === 'DESCEND') sortOrder = etcdserverpb.RangeRequest_SortOrder.DESCEND;
  else if (order !== '') throw new CtlExit(ExitCode.BadFeature, `bad sort order ${f.getString('order')}`);
  const targets: Record<string, etcdserverpb.RangeRequest_SortTarget> = {
    CREATE: etcdserverpb.RangeRequest_SortTarget.CREATE,
    KEY: etcdserverpb.RangeRequest_SortTarget.KEY,
    MODIFY: etcdserverpb.RangeRequest_SortTarget.MOD,
    VALUE: etcdserverpb.RangeRequest_SortTarget.VALUE,
    VERSION: etcdserverpb.RangeRequest_SortTarget.VERSION,
    '': etcdserverpb.RangeRequest_SortTarget.KEY,
  };
  const sortTarget = targets[f.getString('sort-by').toUpperCase()];
  if (sortTarget === undefined) throw new CtlExit(ExitCode.BadFeature, `bad sort target ${f.getString('sort-by')}`);
  // clientv3.WithSort: ascending by key is the server's natural order, sent as no sort.
  const effectiveOrder = sortTarget === etcdserverpb.RangeRequest_SortTarget.KEY && sortOrder === etcdserverpb.RangeRequest_SortOrder.ASCEND ? etcdserverpb.RangeRequest_SortOrder.NONE : sortOrder;
  const { key, rangeEnd } = keyRange(args[0], args[1], prefix, fromKey);
  const rev = f.getInt('rev');
  return {
    key,
    rangeEnd,
    limit: f.getInt('limit'),
    revision: rev > 0n ? rev : 0n,
    sortOrder: effectiveOrder,
    sortTarget,
    serializable: consistency === 's',
    keysOnly: f.getBool('keys-only'),
    countOnly: false,
    minModRevision: 0n,
    maxModRevision: 0n,
    minCreateRevision: 0n,
    maxCreateRevision: 0n,
  };
}

export function putRequest(args: string[], f: FlagSet, stdin: () => string): etcdserverpb.PutRequest {
  const usage = 'put command needs 1 argument and input from stdin or 2 arguments';
  if (args.length === 0) bad(usage);
  const ignoreValue = f.getBool('ignore-value');
  if (ignoreValue && args.length > 1) bad("put command needs only 1 argument when 'ignore-value' is set");
  let value = '';
  if (!ignoreValue) {
    if (args.length > 1) value = args[1];
    else {
      value = stdin();
      if (value === '') bad(usage);
    }
  }
  let lease: bigint;
  try {
    lease = parseGoInt(f.getString('lease'), 16);
  } catch (e) {
    return bad(`bad lease ID (${(e as Error).message}), expecting ID in Hex`);
  }
  return {
    key: Buffer.from(args[0], 'utf8'),
    value: Buffer.from(value, 'utf8'),
    lease,
    prevKv: f.getBool('prev-kv'),
    ignoreValue,
    ignoreLease: f.getBool('ignore-lease'),
  };
}

export function delRequest(args: string[], f: FlagSet): etcdserverpb.DeleteRangeRequest {
  if (args.length === 0 || args.length > 2) bad('del command needs one argument as key and an optional argument as range_end');
  const prefix = f.getBool('prefix');
  const fromKey = f.getBool('from-key');
  if (prefix && fromKey) bad('`--prefix` and `--from-key` cannot be set at the same time, choose one');
  if (args.length > 1 && (prefix || fromKey)) bad('too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
  const { key, rangeEnd } = keyRange(args[0], args[1], prefix, fromKey);
  return { key, rangeEnd, prevKv: f.getBool('prev-kv') };
}

async function stdinSync(ctx: RunContext): Promise<string> {
  return ctx.session.readStdin();
}

async function getRun(ctx: RunContext): Promise<void> {
  const req = getRequest(ctx.args, ctx.flags);
  const s = ctx.session;
  const c = await s.client();
  const resp = await c.must(c.raw.kv.range, req, ExitCode.Error);
  if (ctx.flags.getBool('print-value-only')) {
    if (!(s.display instanceof SimplePrinter)) bad('print-value-only is only for `--write-out=simple`');
    (s.display as SimplePrinter).valueOnly = true;
  }
  s.display.get(resp);
}

async function putRun(ctx: RunContext): Promise<void> {
  const needsStdin = ctx.args.length === 1 && !ctx.flags.getBool('ignore-value');
  const stdin = needsStdin ? await stdinSync(ctx) : '';
  const req = putRequest(ctx.args, ctx.flags, () => stdin);
  const c = await ctx.session.client();
  checkRequestSize(etcdserverpb.PutRequest.encode(req).finish().length);
  const resp = await c.must(c.raw.kv.put, req, ExitCode.Error);
  ctx.session.display.put(resp);
}

async function delRun(ctx: RunContext): Promise<void> {
  const req = delRequest(ctx.args, ctx.flags);
  const c = await ctx.session.client();
  const resp = await c.must(c.raw.kv.deleteRange, req, ExitCode.Error);
  ctx.session.display.del(resp);
}

// ---- txn ----

/** etcdctl's argify: splits a request line into arguments (its quirks included). */
export function argify(line: string): string[] {
  const re = /"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?/g;
  const args = line.match(re) ?? [];
  return args.map((a) => {
    if (a.length === 0) return a;
    if (a[0] === "'") {
      // etcdctl slices with the number of arguments instead of the argument's length.
      const end = args.length - 1;
      if (end < 1 || end > a.length) throw new CtlPanic(`runtime error: slice bounds out of range [1:${end}]`);
      return a.slice(1, end);
    }
    if (a[0] === '"') {
      const u = goUnquote(a);
      if (!u) throw new CtlExit(ExitCode.InvalidInput, 'unexpected EOF');
      return u.value;
    }
    return a;
  });
}

function compareResult(op: string): etcdserverpb.Compare_CompareResult {
  switch (op) {
    case '=':
    case '==':
      return etcdserverpb.Compare_CompareResult.EQUAL;
    case '!=':
      return etcdserverpb.Compare_CompareResult.NOT_EQUAL;
    case '>':
      return etcdserverpb.Compare_CompareResult.GREATER;
    case '<':
      return etcdserverpb.Compare_CompareResult.LESS;
  }
  throw new CtlPanic('Unknown result op');
}

/** Scans `"key") op "value"` as fmt.Sscanf("%q) %s %q") does; returns the fields read. */
function scanCompare(s: string): { n: number; key: string; op: string; val: string } {
  const res = { n: 0, key: '', op: '', val: '' };
  let rest = s.replace(/^[ \t]+/, '');
  const k = goUnquote(rest);
  if (!k) return res;
  res.key = k.value;
  res.n = 1;
  rest = k.rest;
  if (rest[0] !== ')') return res;
  rest = rest.slice(1).replace(/^[ \t]+/, '');
  const m = /^\S+/.exec(rest);
  if (!m) return res;
  res.op = m[0];
  res.n = 2;
  rest = rest.slice(m[0].length).replace(/^[ \t]+/, '');
  const v = goUnquote(rest);
  if (!v) return res;
  res.val = v.value;
  res.n = 3;
  return res;
}

export function parseCompare(line: string): etcdserverpb.Compare {
  const i = line.indexOf('(');
  if (i < 0) throw new CtlExit(ExitCode.InvalidInput, `malformed comparison: ${line}`);
  const target = line.slice(0, i);
  const { n, key, op, val } = scanCompare(line.slice(i + 1));
  if (n !== 3) throw new CtlExit(ExitCode.InvalidInput, `malformed comparison: ${line}; got ${target}(${goQuote(key)}) ${op} ${goQuote(val)}`);
  const base = { key: Buffer.from(key, 'utf8'), rangeEnd: Buffer.alloc(0) };
  const intVal = (): bigint => {
    try {
      return parseGoInt(val, 10);
    } catch {
      throw new CtlExit(ExitCode.InvalidInput, `invalid txn compare request: ${line}`);
    }
  };
  switch (target) {
    case 'ver':
    case 'version':
      return { ...base, target: etcdserverpb.Compare_CompareTarget.VERSION, result: compareResult(op), targetUnion: { $case: 'version', value: intVal() } };
    case 'c':
    case 'create':
      return { ...base, target: etcdserverpb.Compare_CompareTarget.CREATE, result: compareResult(op), targetUnion: { $case: 'createRevision', value: intVal() } };
    case 'm':
    case 'mod':
      return { ...base, target: etcdserverpb.Compare_CompareTarget.MOD, result: compareResult(op), targetUnion: { $case: 'modRevision', value: intVal() } };
    case 'val':
    case 'value':
      return { ...base, target: etcdserverpb.Compare_CompareTarget.VALUE, result: compareResult(op), targetUnion: { $case: 'value', value: Buffer.from(val, 'utf8') } };
    case 'lease':
      // etcdctl 3.4 hands the string to clientv3.Compare, which panics ("bad compare value").
      compareResult(op);
      throw new CtlPanic('bad compare value');
  }
  throw new CtlExit(ExitCode.InvalidInput, `malformed comparison: ${line} (unknown target ${target})`);
}

const txnOpRoot = new Command({
  use: '',
  short: '',
  children: [
    { use: 'put [options] <key> <value> (<value> can also be given from stdin)', short: '', flags: putFlags, run: () => undefined },
    { use: 'get [options] <key> [range_end]', short: '', flags: getFlags, run: () => undefined },
    { use: 'del [options] <key> [range_end]', short: '', flags: delFlags, run: () => undefined },
  ],
});

export function parseRequestOp(line: string): etcdserverpb.RequestOp {
  const args = argify(line);
  if (args.length < 2) throw new CtlExit(ExitCode.InvalidInput, `invalid txn compare request: ${line}`);
  const sub = txnOpRoot.findChild(args[0]);
  const invalid = () => new CtlExit(ExitCode.InvalidInput, `invalid txn request: ${line}`);
  if (!sub) throw invalid();
  const flags = new FlagSet(sub.localFlags());
  let rest: string[];
  try {
    rest = flags.parse(args.slice(1));
  } catch (e) {
    if (e instanceof FlagParseError) {
      const use = sub.def.use;
      const inv = invalid();
      throw new CtlExit(inv.exitCode, inv.message, false, `Usage:\n   ${use} [flags]\n\nFlags:\n${pflagUsages(sub.localFlags())}\n\n`);
    }
    throw e;
  }
  if (sub.name === 'put') return { request: { $case: 'requestPut', value: putRequest(rest, flags, () => '') } };
  if (sub.name === 'get') return { request: { $case: 'requestRange', value: getRequest(rest, flags) } };
  return { request: { $case: 'requestDeleteRange', value: delRequest(rest, flags) } };
}

/** Reads the three blank-line-terminated sections of a txn from text (stdin). */
class LineReader {
  private pos = 0;
  constructor(private readonly text: string) {}
  readLine(): string {
    const nl = this.text.indexOf('\n', this.pos);
    if (nl < 0) throw new CtlExit(ExitCode.InvalidInput, 'EOF');
    const line = this.text.slice(this.pos, nl + 1);
    this.pos = nl + 1;
    return line;
  }
}

async function txnRun(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 0) bad('txn command does not accept argument');
  const s = ctx.session;
  const c = await s.client();
  const interactive = ctx.flags.getBool('interactive');
  const prompt = (p: string) => {
    if (interactive) ctx.out.stdout(p + '\n');
  };
  const reader = new LineReader(await s.readStdin());
  const section = <T>(parse: (line: string) => T): T[] => {
    const out: T[] = [];
    for (;;) {
      const line = reader.readLine().trim();
      if (line.length === 0) return out;
      out.push(parse(line));
    }
  };
  prompt('compares:');
  const compare = section(parseCompare);
  prompt('success requests (get, put, del):');
  const success = section(parseRequestOp);
  prompt('failure requests (get, put, del):');
  const failure = section(parseRequestOp);
  checkRequestSize(etcdserverpb.TxnRequest.encode({ compare, success, failure }).finish().length);
  const resp = await c.must(c.raw.kv.txn, { compare, success, failure }, ExitCode.Error, undefined, 0);
  s.display.txn(resp);
}

async function compactionRun(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('compaction command needs 1 argument');
  let rev: bigint;
  try {
    rev = parseGoInt(ctx.args[0], 10);
  } catch (e) {
    throw new CtlExit(ExitCode.Error, (e as Error).message);
  }
  const c = await ctx.session.client();
  await c.must(c.raw.kv.compact, { revision: rev, physical: ctx.flags.getBool('physical') }, ExitCode.Error);
  ctx.out.stdout(`compacted revision ${rev}\n`);
}

export const kvCommands: CommandDef[] = [
  { use: 'get [options] <key> [range_end]', short: 'Gets the key or a range of keys', flags: getFlags, run: getRun },
  { use: 'put [options] <key> <value> (<value> can also be given from stdin)', short: 'Puts the given key into the store', long: putLong, flags: putFlags, run: putRun },
  { use: 'del [options] <key> [range_end]', short: 'Removes the specified key or range of keys [key, range_end)', flags: delFlags, run: delRun },
  {
    use: 'txn [options]',
    short: 'Txn processes all the requests in one transaction',
    flags: [{ name: 'interactive', short: 'i', kind: 'bool', def: 'false', usage: 'Input transaction in interactive mode' }],
    run: txnRun,
  },
  {
    use: 'compaction [options] <revision>',
    short: 'Compacts the event history in etcd',
    flags: [{ name: 'physical', kind: 'bool', def: 'false', usage: "'true' to wait for compaction to physically remove all old revisions" }],
    run: compactionRun,
  },
];
