// Formatting helpers that reproduce what Go's fmt/strconv/time/humanize print, since etcdctl's
// output is built from those and we must match it byte for byte.

import { goQuote } from '@tsetcd/common';

/** strconv.Quote / fmt's %q (in @tsetcd/common, shared with the server's gateway). */
export { goQuote };

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Unquotes a Go double-quoted string literal (as fmt.Sscanf("%q") does); returns undefined when malformed. */
export function goUnquote(s: string): { value: string; rest: string } | undefined {
  if (s[0] === '`') {
    const end = s.indexOf('`', 1);
    if (end < 0) return undefined;
    return { value: s.slice(1, end), rest: s.slice(end + 1) };
  }
  if (s[0] !== '"') return undefined;
  const bytes: number[] = [];
  let i = 1;
  const pushStr = (str: string) => bytes.push(...Buffer.from(str, 'utf8'));
  while (i < s.length) {
    const ch = s[i];
    if (ch === '"') return { value: Buffer.from(bytes).toString('latin1') === '' ? '' : Buffer.from(bytes).toString('utf8'), rest: s.slice(i + 1) };
    if (ch === '\n') return undefined;
    if (ch !== '\\') {
      const cp = s.codePointAt(i)!;
      pushStr(String.fromCodePoint(cp));
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = s[i + 1];
    i += 2;
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39 };
    if (e in simple) bytes.push(simple[e]);
    else if (e === 'x') {
      const h = s.slice(i, i + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (e === 'u' || e === 'U') {
      const len = e === 'u' ? 4 : 8;
      const h = s.slice(i, i + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) return undefined;
      pushStr(String.fromCodePoint(parseInt(h, 16)));
      i += len;
    } else if (e !== undefined && e >= '0' && e <= '7') {
      const o = s.slice(i - 1, i + 2);
      if (!/^[0-7]{3}$/.test(o)) return undefined;
      bytes.push(parseInt(o, 8) & 0xff);
      i += 2;
    } else return undefined;
  }
  return undefined;
}

/** fmt's %016x of an int64 (two's complement for negatives, as Go prints a LeaseID). */
export function hex16(v: bigint): string {
  const u = BigInt.asUintN(64, v);
  return u.toString(16).padStart(16, '0');
}

/** fmt's %x of a uint64. */
export function hexU(v: bigint): string {
  return BigInt.asUintN(64, v).toString(16);
}

/** fmt's %16x: hex, padded with spaces to 16. */
export function hexPad16(v: bigint): string {
  return hexU(v).padStart(16, ' ');
}

/** fmt's %.0f: Go rounds exact halves to even. */
function goRoundHalfEven(v: number): string {
  const f = Math.floor(v);
  const diff = v - f;
  if (Math.abs(diff - 0.5) < 1e-9) return String(f % 2 === 0 ? f : f + 1);
  return String(Math.round(v));
}

/** github.com/dustin/go-humanize Bytes(): SI units, one decimal below 10. */
export function humanizeBytes(n: bigint | number): string {
  const s = Number(n);
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  if (s < 10) return `${s} B`;
  const e = Math.floor(Math.log(s) / Math.log(1000));
  const suffix = sizes[e];
  const val = Math.floor((s / Math.pow(1000, e)) * 10 + 0.5) / 10;
  return val < 10 ? `${val.toFixed(1)} ${suffix}` : `${goRoundHalfEven(val)} ${suffix}`;
}

/** strconv.ParseInt(s, base, 64) with Go's error text. */
export function parseGoInt(s: string, base: number, fn = 'strconv.ParseInt'): bigint {
  const syntax = new Error(`${fn}: parsing ${goQuote(s)}: invalid syntax`);
  let body = s;
  let neg = false;
  if (body[0] === '+' || body[0] === '-') {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  if (fn === 'strconv.ParseUint' && s !== body) throw syntax;
  const digits = base === 16 ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/;
  if (!digits.test(body)) throw syntax;
  const v = BigInt(base === 16 ? '0x' + body : body);
  const r = neg ? -v : v;
  const range = new Error(`${fn}: parsing ${goQuote(s)}: value out of range`);
  if (fn === 'strconv.ParseUint') {
    if (r > 0xffffffffffffffffn) throw range;
  } else if (r > 0x7fffffffffffffffn || r < -0x8000000000000000n) throw range;
  return r;
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
}

/** `\x..` per byte, as etcdctl's --hex printing does. */
export function hexEscaped(b: Uint8Array): string {
  let out = '';
  for (const c of b) out += '\\x' + hex2(c);
  return out;
}
